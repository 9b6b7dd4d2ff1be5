"""Fixtures of the client matrix: one test per client for every check, each
client run against the real `ssecast` binary (`make release`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Callable

import pytest
from harness.clients import CLIENTS, Client, Run
from harness.engine import Engine
from harness.proxy import CuttingProxy


@pytest.fixture(params=CLIENTS, ids=lambda client: client.name)
def client(request: pytest.FixtureRequest) -> Client:
    chosen: Client = request.param
    return chosen


@pytest.fixture
def engines() -> Iterator[Callable[..., Engine]]:
    """Starts engines with the given configuration; stops them after the test."""
    started: list[Engine] = []

    def start(**config: object) -> Engine:
        engine = Engine(**config)
        started.append(engine)
        return engine

    yield start
    for engine in started:
        engine.stop()


@pytest.fixture
def proxies() -> Iterator[Callable[[Engine], CuttingProxy]]:
    """Puts a cutting proxy in front of an engine; closes it after the test."""
    started: list[CuttingProxy] = []

    def start(engine: Engine) -> CuttingProxy:
        proxy = CuttingProxy(int(engine.origin.rsplit(":", 1)[1]))
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.close()


@pytest.fixture
def runs() -> Iterator[Callable[..., Run]]:
    """Starts client programs on a URL (listening for the given event types,
    `message` by default); stops them after the test."""
    started: list[Run] = []

    def start(client: Client, url: str, event_names: Sequence[str] = ("message",)) -> Run:
        run = client.start(url, list(event_names))
        started.append(run)
        return run

    yield start
    for run in started:
        run.stop()
