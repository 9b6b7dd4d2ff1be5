"""Publishing from many threads at once and from asyncio code."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
from conftest import TIMEOUT, events_url, subscribe, take
from httpx_sse import aconnect_sse

import ssecast

THREADS = 8
PER_THREAD = 250


def test_eight_threads_every_event_delivered_once_in_order() -> None:
    total = THREADS * PER_THREAD
    with ssecast.Engine(port=0, keepalive_ms=0, history_size=total) as engine:
        with subscribe(engine, "fan") as source:
            start = threading.Barrier(THREADS)
            ids: dict[int, list[str]] = {}
            failures: list[BaseException] = []

            def publisher(thread: int) -> None:
                try:
                    start.wait()
                    ids[thread] = [
                        engine.publish("fan", {"thread": thread, "seq": seq})
                        for seq in range(PER_THREAD)
                    ]
                except BaseException as exc:  # noqa: BLE001 (the main thread reports it)
                    failures.append(exc)

            workers = [threading.Thread(target=publisher, args=(n,)) for n in range(THREADS)]
            for worker in workers:
                worker.start()
            events = take(source, total)
            for worker in workers:
                worker.join()
        assert failures == []
        assert engine.stats()["published"] == total

    received = [json.loads(event.data) for event in events]
    by_thread: dict[int, list[int]] = {n: [] for n in range(THREADS)}
    for item in received:
        by_thread[item["thread"]].append(item["seq"])
    # Once each, in each thread's order.
    assert by_thread == {n: list(range(PER_THREAD)) for n in range(THREADS)}
    event_ids = [event.id for event in events]
    assert len(set(event_ids)) == total
    assert sorted(event_ids) == sorted(i for thread_ids in ids.values() for i in thread_ids)


def test_publish_from_asyncio_code() -> None:
    async def main() -> list[str]:
        with ssecast.Engine(port=0, keepalive_ms=0) as engine:
            async with (
                httpx.AsyncClient(timeout=TIMEOUT) as client,
                aconnect_sse(
                    client, "GET", events_url(engine), params={"topic": "async"}
                ) as source,
            ):

                async def producer() -> list[str]:
                    published = []
                    for n in range(20):
                        published.append(engine.publish("async", f"tick {n}", event="tick"))
                        await asyncio.sleep(0)
                    return published

                async def consumer() -> list[str]:
                    seen = []
                    async for event in source.aiter_sse():
                        assert event.event == "tick"
                        seen.append(event.data)
                        if len(seen) == 20:
                            break
                    return seen

                published, seen = await asyncio.gather(producer(), consumer())
                assert seen == [f"tick {n}" for n in range(20)]
                return published

    published = asyncio.run(asyncio.wait_for(main(), timeout=30))
    assert len(set(published)) == 20
