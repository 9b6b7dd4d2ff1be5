"""1,000 in-app streams in one uvicorn process, read by 1,000 real
connections: every stream receives every event in order, and a disconnect
storm releases every hold."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import TIMEOUT, wait_until_healthy

STREAMS = 1000
EVENTS = 20
HERE = Path(__file__).resolve().parent
DATA = re.compile(rb"\ndata: (\d+)\n")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, str(HERE / "serve_app.py"), "inapp_app:app"],
        cwd=HERE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = f"http://127.0.0.1:{int(process.stdout.readline())}"
    try:
        wait_until_healthy(f"{url}/health", lambda: process.poll() is None)
        yield url
    finally:
        process.terminate()
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert process.wait(timeout=15) in (0, -signal.SIGTERM)


def stats(url: str) -> dict[str, int]:
    result: dict[str, int] = httpx.get(f"{url}/health", timeout=TIMEOUT).json()["stats"]
    return result


async def open_stream(port: int, topic: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw HTTP/1.1 stream request; returns once the opening frame arrived."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /stream?topic={topic} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    head = await reader.readuntil(b": ok\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    return reader, writer


async def read_events(reader: asyncio.StreamReader, count: int) -> list[int]:
    """The data of the next `count` events (frames never straddle HTTP chunks)."""
    wire = b""
    while len(DATA.findall(wire)) < count:
        wire += await reader.read(65536)
    return [int(n) for n in DATA.findall(wire)]


def test_a_thousand_streams_receive_everything_then_a_storm_releases_them(server: str) -> None:
    port = int(server.rsplit(":", 1)[1])

    async def scenario() -> None:
        streams = await asyncio.gather(*(open_stream(port, "load") for _ in range(STREAMS)))
        assert stats(server)["connections"] == STREAMS
        async with httpx.AsyncClient(base_url=server, timeout=TIMEOUT) as client:
            published = await client.post(
                "/publish-many", params={"topic": "load", "count": EVENTS}
            )
            assert published.status_code == 200
        received = await asyncio.gather(*(read_events(r, EVENTS) for r, _ in streams))
        assert all(events == list(range(EVENTS)) for events in received)
        # The storm: every client leaves at once.
        for _, writer in streams:
            writer.transport.abort()

    asyncio.run(asyncio.wait_for(scenario(), 120))
    deadline = time.monotonic() + 20
    while stats(server)["connections"] != 0:
        assert time.monotonic() < deadline, f"holds left: {stats(server)}"
        time.sleep(0.05)
    assert stats(server)["topics"] == 1, "only the topic with history remains"
