"""``gunicorn -w 4`` with uvicorn workers: four engines share one stream port
(``reuse_port``) and one Redis (``backplane``); every subscriber, whichever
engine the kernel handed its connection to, receives every event, whichever
worker published it, in the same order."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cluster import Reader, RedisServer, free_port

WORKERS = 4
HERE = Path(__file__).resolve().parent


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


def worker_stats(app_port: int, gunicorn: subprocess.Popen[bytes]) -> dict[int, dict[str, Any]]:
    """Each worker's stats, asked on fresh connections until all have answered."""
    seen: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + 30
    while len(seen) < WORKERS:
        assert gunicorn.poll() is None, "gunicorn exited"
        assert time.monotonic() < deadline, f"only workers {sorted(seen)} answered"
        try:
            answer = httpx.get(f"http://127.0.0.1:{app_port}/worker", timeout=5).json()
        except httpx.HTTPError:
            time.sleep(0.1)
            continue
        seen[answer["worker"]] = answer
    return seen


def test_every_subscriber_gets_every_event_whichever_worker_published(
    redis: RedisServer,
) -> None:
    app_port, stream_port = free_port(), free_port()
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "cluster_app:app", "-w", str(WORKERS)]
        + ["-k", "uvicorn.workers.UvicornWorker", "-b", f"127.0.0.1:{app_port}"]
        + ["--graceful-timeout", "5", "--log-level", "warning"],
        cwd=HERE,
        env=dict(os.environ, APP_STREAM_PORT=str(stream_port), APP_BACKPLANE=redis.url),
    )
    readers: list[Reader] = []
    try:
        deadline = time.monotonic() + 30
        while any(s["backplane"] != "connected" for s in worker_stats(app_port, gunicorn).values()):
            assert time.monotonic() < deadline, "the workers' engines never reached Redis"
            time.sleep(0.1)
        url = f"http://127.0.0.1:{stream_port}/events?topic=news"
        readers = [Reader(url) for _ in range(16)]
        holding = [s["connections"] for s in worker_stats(app_port, gunicorn).values()]
        assert sum(holding) == 16 and sum(1 for c in holding if c) >= 2, holding
        published = []
        for i in range(40):
            # A fresh connection each time: gunicorn's workers share the socket.
            answer = httpx.post(
                f"http://127.0.0.1:{app_port}/notify/news", params={"text": f"n{i}"}, timeout=10
            ).json()
            published.append(answer)
        assert len({p["worker"] for p in published}) >= 2, "one worker published everything"
        expected = [(p["id"], f"n{i}") for i, p in enumerate(published)]
        for reader in readers:
            assert reader.wait_for(40) == expected
    finally:
        for reader in readers:
            reader.close()
        gunicorn.terminate()
        assert gunicorn.wait(timeout=30) == 0
