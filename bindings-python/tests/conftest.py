"""Shared fixtures: engines, SSE clients, and a FastAPI app under uvicorn.

The suite runs against the installed package (`pip install ./bindings-python`),
never against the source tree: `make test-python` runs pytest from this folder
with the venv's interpreter, and `test_installed_package` checks where `ssecast`
was imported from.
"""

from __future__ import annotations

import resource
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Optional

import httpx
import pytest
import uvicorn
from httpx_sse import ServerSentEvent, connect_sse

import ssecast

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = httpx.Timeout(10.0)


def raise_fd_limit(wanted: int = 4096) -> None:
    """500 clients and their server ends need more descriptors than 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


raise_fd_limit()


@pytest.fixture
def engine() -> Iterator[ssecast.Engine]:
    """A fresh engine on a free port, stopped after the test."""
    with ssecast.Engine(port=0, keepalive_ms=0) as running:
        yield running


def events_url(engine: ssecast.Engine) -> str:
    return f"http://127.0.0.1:{engine.port}/events"


def take(source: Iterator[ServerSentEvent], count: int) -> list[ServerSentEvent]:
    """The next `count` events of a stream (the client's read timeout bounds the wait)."""
    events = []
    for event in source:
        events.append(event)
        if len(events) == count:
            break
    assert len(events) == count, f"stream ended after {len(events)} of {count} events"
    return events


@contextmanager
def subscribe(
    engine: ssecast.Engine, *topics: str, headers: Optional[dict[str, str]] = None
) -> Iterator[Iterator[ServerSentEvent]]:
    """An open stream on `topics`. The engine registers the subscription before it
    answers, so once the response headers are here no event can be missed."""
    with httpx.Client(timeout=TIMEOUT) as client:
        params = [("topic", topic) for topic in topics]
        with connect_sse(
            client, "GET", events_url(engine), params=params, headers=headers or {}
        ) as source:
            assert source.response.status_code == 200
            yield source.iter_sse()


class UvicornServer:
    """A real uvicorn server in a thread, on a socket bound to a free port."""

    def __init__(self, app: Any) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        wait_until_healthy(f"{self.url}/health", self.thread.is_alive)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.socket.close()
        assert not self.thread.is_alive(), "uvicorn did not shut down"


def wait_until_healthy(url: str, running: Callable[[], bool], attempts: int = 200) -> None:
    """Polls `url` until it answers 200, failing at once if the server died."""
    for _ in range(attempts):
        assert running(), "server died while starting"
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            threading.Event().wait(0.05)
    raise AssertionError(f"{url} never became healthy")
