"""How the engine should wake an asyncio loop for in-app subscriptions.

    python bindings-python/bench/inapp_wakeup.py     # after `pip install ./bindings-python`

1,000 subscriptions read by 1,000 tasks of one loop; a publisher thread sends
bursts of events at a fixed rate. Compares two ways of waking the loop:

- ``shared``: one eventfd per loop (``ReadySet``), what ``ssecast`` ships: the
  engine queues the woken subscriptions' tokens and raises the descriptor once;
- ``per-subscription``: one eventfd per subscription, each registered with
  ``loop.add_reader``.

Prints, for each, the events delivered per second to the readers and the CPU
time of the process per delivered event. Used to choose the shipped design
(see README, "In-app streams").
"""

from __future__ import annotations

import asyncio
import resource
import threading
import time
from typing import Callable

import ssecast
from ssecast._ssecast import ReadySet, Subscription

SUBSCRIBERS = 1000
BURSTS = 200
PER_BURST = 10
BURST_INTERVAL = 0.005


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def shared(subscriptions: list[Subscription], total: int) -> None:
    """The shipped glue: `async for` over each subscription."""

    async def reader(subscription: Subscription) -> None:
        events = 0
        async for chunk in subscription:
            events += chunk.count(b"\ndata: ")
            if events >= total:
                return

    await asyncio.gather(*(reader(s) for s in subscriptions))


async def per_subscription(subscriptions: list[Subscription], total: int) -> None:
    """One ReadySet (eventfd) and one add_reader per subscription."""
    loop = asyncio.get_running_loop()
    sets = [ReadySet() for _ in subscriptions]

    async def reader(subscription: Subscription, ready: ReadySet) -> None:
        woken: asyncio.Event = asyncio.Event()
        loop.add_reader(ready.fd, woken.set)
        subscription._attach(ready)
        events = 0
        try:
            while events < total:
                chunk = subscription.read_nowait()
                if chunk is not None:
                    events += chunk.count(b"\ndata: ")
                    continue
                woken.clear()
                ready.take()
                chunk = subscription.read_nowait()
                if chunk is not None:
                    events += chunk.count(b"\ndata: ")
                    continue
                await woken.wait()
        finally:
            loop.remove_reader(ready.fd)

    await asyncio.gather(*(reader(s, r) for s, r in zip(subscriptions, sets)))


def measure(name: str, read_all: Callable[[list[Subscription], int], asyncio.Future[None]]) -> None:
    total = BURSTS * PER_BURST
    with ssecast.Engine(port=0, keepalive_ms=0, history_size=total) as engine:
        subscriptions = [engine.subscribe("bench") for _ in range(SUBSCRIBERS)]
        for subscription in subscriptions:
            assert subscription.read_nowait() == b": ok\n"

        def publish() -> None:
            for _ in range(BURSTS):
                for _ in range(PER_BURST):
                    engine.publish("bench", "x" * 64)
                time.sleep(BURST_INTERVAL)

        publisher = threading.Thread(target=publish)
        cpu = cpu_seconds()
        start = time.perf_counter()
        publisher.start()
        asyncio.run(read_all(subscriptions, total))  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        cpu = cpu_seconds() - cpu
        publisher.join()
    delivered = total * SUBSCRIBERS
    print(
        f"{name:>17}: {delivered / elapsed:>10,.0f} events/s delivered, "
        f"{cpu / delivered * 1e9:>6.0f} ns CPU per event, {elapsed:.2f} s "
        f"(publishing alone takes {BURSTS * BURST_INTERVAL:.2f} s)"
    )


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4096), hard), hard))
    designs: dict[str, Callable[..., asyncio.Future[None]]] = {
        "shared": shared,  # type: ignore[dict-item]
        "per-subscription": per_subscription,  # type: ignore[dict-item]
    }
    for _ in range(2):
        for name, design in designs.items():
            measure(name, design)


if __name__ == "__main__":
    main()
