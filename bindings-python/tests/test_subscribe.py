"""In-app subscriptions (`engine.subscribe`): the engine's streams read by the
application from asyncio, without a thread per stream; bad input, ends and
misuse."""

from __future__ import annotations

import asyncio
import resource
import threading
import time
from collections.abc import Awaitable, Iterator
from typing import Any, Callable, TypeVar

import pytest

import ssecast

T = TypeVar("T")
DEADLINE = 20.0


def run(coroutine: Awaitable[T]) -> T:
    """Runs `coroutine` on a fresh event loop, failing it after DEADLINE seconds."""

    async def bounded() -> T:
        return await asyncio.wait_for(coroutine, DEADLINE)

    return asyncio.run(bounded())


def frames(wire: bytes) -> list[bytes]:
    """The frames of a stream (each ends with a blank line)."""
    return [frame + b"\n\n" for frame in wire.split(b"\n\n")[:-1]]


def data_of(wire: bytes) -> list[str]:
    """The data of every event in `wire` (one-line payloads)."""
    return [
        line[len(b"data: ") :].decode()
        for frame in frames(wire)
        for line in frame.split(b"\n")
        if line.startswith(b"data: ")
    ]


async def read_events(subscription: ssecast.Subscription, count: int) -> bytes:
    """Reads until `count` events arrived."""
    wire = b""
    async for chunk in subscription:
        wire += chunk
        if len(data_of(wire)) >= count:
            return wire
    raise AssertionError(f"ended after {len(data_of(wire))} of {count} events")


@pytest.fixture
def engine() -> Iterator[ssecast.Engine]:
    with ssecast.Engine(port=0, keepalive_ms=0) as running:
        yield running


def test_opening_frame_then_events_coalesced_in_one_chunk(engine: ssecast.Engine) -> None:
    subscription = engine.subscribe("c")

    async def scenario() -> list[bytes]:
        first = await subscription.__anext__()
        for i in range(300):
            engine.publish("c", str(i))
        return [first, await subscription.__anext__()]

    first, second = run(scenario())
    assert first == b": ok\n"
    assert data_of(second) == [str(i) for i in range(300)], "one chunk per wake"
    assert engine.stats()["connections"] == 1
    subscription.close()
    assert engine.stats()["connections"] == 0
    assert engine.stats()["topics"] == 1, "the topic keeps its history only"


def test_resume_after_an_id_and_reset_for_an_unknown_one(engine: ssecast.Engine) -> None:
    ids = [engine.publish("r", f"e{i}") for i in range(5)]
    resumed = engine.subscribe(["r"], last_event_id=ids[1])
    engine.publish("r", "live")
    wire = run(read_events(resumed, 4))
    assert data_of(wire) == ["e2", "e3", "e4", "live"], "no gap, no duplicate"
    assert f"id: {ids[2]}\n".encode() in wire

    reset = engine.subscribe(["r"], "not-an-id")
    wire = run(read_events(reset, 1))
    assert wire.startswith(b'event: ssecast-reset\ndata: {"reason":"unknown-id"')
    assert engine.subscribe("r", "   ").read_nowait() == b": ok\n", "blank id: none"


def test_bad_arguments_raise_the_engines_typed_errors() -> None:
    with ssecast.Engine(port=0, max_topics_per_connection=2, max_connections=1) as engine:
        for topic in ["", "a\nb", "x" * 257]:
            with pytest.raises(ssecast.InvalidTopicError):
                engine.subscribe([topic])
        with pytest.raises(ssecast.InvalidTopicError, match="max_topics_per_connection"):
            engine.subscribe(["a", "b", "c"])
        with pytest.raises(ValueError):
            engine.subscribe("\ud800")
        for bad_id in ["a\nb", "a\0b", "i" * 1025]:
            with pytest.raises(ssecast.InvalidIdError):
                engine.subscribe("a", bad_id)
        bad_types: list[Callable[[], Any]] = [
            lambda: engine.subscribe(42),  # type: ignore[arg-type]
            lambda: engine.subscribe([b"bytes"]),  # type: ignore[list-item]
            lambda: engine.subscribe("a", 7),  # type: ignore[arg-type]
        ]
        for call in bad_types:
            with pytest.raises(TypeError):
                call()
        held = engine.subscribe([])
        with pytest.raises(ssecast.TooManyConnectionsError, match="max_connections") as caught:
            engine.subscribe("a")
        assert caught.value.code == "TOO_MANY_CONNECTIONS"
        assert engine.stats()["connections"] == 1
        held.close()
        engine.stop()
        with pytest.raises(ssecast.StoppedError):
            engine.subscribe("a")


def test_stop_delivers_what_came_before_then_ends(engine: ssecast.Engine) -> None:
    subscription = engine.subscribe("s")
    engine.publish("s", "last")
    started = time.monotonic()
    engine.stop()
    assert time.monotonic() - started < 3, "stop does not wait for in-app readers"

    async def drain() -> bytes:
        return b"".join([chunk async for chunk in subscription])

    assert data_of(run(drain())) == ["last"]
    assert subscription.ended and subscription.end_reason == "stopped"
    assert subscription.read_nowait() is None
    assert run(drain()) == b"", "reading after the end ends at once"


def test_close_ends_a_reader_waiting_in_another_task(engine: ssecast.Engine) -> None:
    subscription = engine.subscribe(["x", "y"])

    async def scenario() -> bytes:
        opened = asyncio.Event()

        async def reader() -> bytes:
            wire = b""
            async for chunk in subscription:
                wire += chunk
                opened.set()  # then, in the same step, it waits for the next chunk
            return wire

        task = asyncio.create_task(reader())
        await opened.wait()
        subscription.close()
        return await task

    assert run(scenario()) == b": ok\n"
    assert subscription.end_reason == "closed"
    assert engine.stats() == {**engine.stats(), "connections": 0, "topics": 0}


def test_two_tasks_reading_one_subscription(engine: ssecast.Engine) -> None:
    subscription = engine.subscribe("t")

    async def scenario() -> None:
        await subscription.__anext__()
        first = asyncio.ensure_future(subscription.__anext__())
        await asyncio.sleep(0)  # the first reader runs until it waits
        with pytest.raises(RuntimeError, match="another task"):
            await subscription.__anext__()
        engine.publish("t", "for the first")
        assert data_of(await first) == ["for the first"]

    run(scenario())


def test_two_threads_reading_one_subscription(engine: ssecast.Engine) -> None:
    subscription = engine.subscribe("t")
    assert subscription.read_nowait() == b": ok\n"
    got: list[Any] = []
    reader = threading.Thread(target=lambda: got.append(subscription.read(timeout=DEADLINE)))
    reader.start()
    deadline = time.monotonic() + DEADLINE
    refused = None
    while refused is None and time.monotonic() < deadline:
        try:
            subscription.read_nowait()
        except RuntimeError as error:
            refused = error
    assert refused is not None and "another thread" in str(refused)
    engine.publish("t", "for the thread")
    reader.join(DEADLINE)
    assert data_of(got[0]) == ["for the thread"]


def test_blocking_read_with_timeout(engine: ssecast.Engine) -> None:
    subscription = engine.subscribe("b")
    assert subscription.read(timeout=0) == b": ok\n"
    started = time.monotonic()
    assert subscription.read(timeout=0.05) is None
    assert time.monotonic() - started >= 0.05
    timer = threading.Timer(0.05, lambda: engine.publish("b", "woke"))
    timer.start()
    assert data_of(subscription.read() or b"") == ["woke"]
    timer.join()
    with pytest.raises(ValueError, match="timeout"):
        subscription.read(timeout=-1)


def test_a_host_that_never_reads_holds_bounded_memory_and_ends_slow() -> None:
    payload = "x" * 1024
    with ssecast.Engine(port=0, keepalive_ms=0, history_size=100) as engine:
        subscription = engine.subscribe("slow")
        for _ in range(5_000):  # warm up the allocator
            engine.publish("slow", payload)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for _ in range(100_000):  # 100 MiB published, never read
            engine.publish("slow", payload)
        grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        assert grown_kib < 20 * 1024, f"memory grew by {grown_kib} KiB"

        async def drain() -> list[bytes]:
            return [chunk async for chunk in subscription]

        assert run(drain()) == [], "ended before anything: events were lost"
        assert subscription.end_reason == "slow-consumer"
        assert engine.stats()["slow_consumers_dropped"] == 1
        assert engine.stats()["connections"] == 0


def test_a_thousand_subscriptions_in_one_loop_all_receive_everything(
    engine: ssecast.Engine,
) -> None:
    subscriptions = [engine.subscribe(["all", f"own/{n}"]) for n in range(1000)]

    async def scenario() -> list[list[str]]:
        readers = [asyncio.create_task(read_events(s, 100)) for s in subscriptions]
        await asyncio.sleep(0)
        for i in range(100):
            engine.publish("all", str(i))
        return [data_of(wire) for wire in await asyncio.gather(*readers)]

    expected = [str(i) for i in range(100)]
    for received in run(scenario()):
        assert received == expected
    assert engine.stats()["connections"] == 1000
    for subscription in subscriptions:
        subscription.close()
    assert engine.stats()["connections"] == 0
    assert engine.stats()["topics"] == 1
