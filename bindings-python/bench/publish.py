"""Publish cost from Python, with one thread and with eight.

    python bindings-python/bench/publish.py          # after `pip install ./bindings-python`

Prints publishes per second for str, bytes and dict payloads. Used to decide
whether `Engine.publish` releases the GIL (see README, "The GIL").
"""

from __future__ import annotations

import threading
import time

import ssecast

COUNT = 200_000
THREADS = 8
PAYLOADS = {
    "str": "x" * 100,
    "bytes": b"x" * 100,
    "dict": {"user": "ada", "text": "x" * 80, "n": 1},
}


def one_thread(engine: ssecast.Engine, data: object) -> float:
    start = time.perf_counter()
    for _ in range(COUNT):
        engine.publish("bench", data)
    return COUNT / (time.perf_counter() - start)


def many_threads(engine: ssecast.Engine, data: object) -> float:
    per_thread = COUNT // THREADS
    barrier = threading.Barrier(THREADS + 1)

    def run(topic: str) -> None:
        barrier.wait()
        for _ in range(per_thread):
            engine.publish(topic, data)

    threads = [threading.Thread(target=run, args=(f"bench/{i}",)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return per_thread * THREADS / (time.perf_counter() - start)


def main() -> None:
    with ssecast.Engine(port=0, history_size=1000, worker_threads=1) as engine:
        for name, data in PAYLOADS.items():
            single = one_thread(engine, data)
            multi = many_threads(engine, data)
            print(f"{name:6} 1 thread: {single:>10,.0f}/s   {THREADS} threads: {multi:>10,.0f}/s")


if __name__ == "__main__":
    main()
