"""EventStreamResponse under uvicorn over real sockets: the engine's streams on
the app's own route, read by real SSE clients."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Optional

import httpx
import inapp_app
import pytest
from conftest import TIMEOUT, UvicornServer, take
from httpx_sse import connect_sse


class App:
    def __init__(self, server: UvicornServer) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=TIMEOUT)

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = self.http.get("/health").json()["stats"]
        return stats

    def publish_many(self, topic: str, count: int) -> dict[str, str]:
        response = self.http.post("/publish-many", params={"topic": topic, "count": count})
        assert response.status_code == 200, response.text
        ids: dict[str, str] = response.json()
        return ids

    def wait_connections(self, count: int) -> None:
        """Polls the app's stats until `count` streams are open (or fails)."""
        deadline = time.monotonic() + 10
        while self.stats()["connections"] != count:
            assert time.monotonic() < deadline, f"connections: {self.stats()}"
            time.sleep(0.02)

    def events(
        self, params: Any, count: int, headers: Optional[dict[str, str]] = None
    ) -> list[Any]:
        with (
            httpx.Client(base_url=self.http.base_url, timeout=TIMEOUT) as client,
            connect_sse(client, "GET", "/stream", params=params, headers=headers or {}) as source,
        ):
            return take(source.iter_sse(), count)


@pytest.fixture(scope="module")
def app() -> Iterator[App]:
    server = UvicornServer(inapp_app.app)
    server.start()
    running = App(server)
    yield running
    running.http.close()
    server.stop()


def test_stream_headers_and_events(app: App) -> None:
    with (
        httpx.Client(base_url=app.http.base_url, timeout=TIMEOUT) as client,
        connect_sse(client, "GET", "/stream", params={"topic": ["h1", "h2"]}) as source,
    ):
        headers = source.response.headers
        assert headers["content-type"].startswith("text/event-stream")
        assert headers["cache-control"] == "no-cache"
        assert headers["x-accel-buffering"] == "no"
        app.publish_many("h2", 3)
        events = take(source.iter_sse(), 3)
    assert [e.data for e in events] == ["0", "1", "2"]
    assert all(e.id for e in events)


def test_resume_through_the_route_header_then_query(app: App) -> None:
    ids = app.publish_many("resume", 5)
    first = ids["first"]
    by_header = app.events({"topic": "resume"}, 4, headers={"Last-Event-ID": first})
    assert [e.data for e in by_header] == ["1", "2", "3", "4"], "no gap, no duplicate"
    assert by_header[-1].id == ids["last"]
    by_query = app.events({"topic": "resume", "lastEventId": first}, 4)
    assert [e.data for e in by_query] == ["1", "2", "3", "4"]
    header_wins = app.events(
        {"topic": "resume", "lastEventId": "unknown"}, 4, headers={"Last-Event-ID": first}
    )
    assert [e.data for e in header_wins] == ["1", "2", "3", "4"], "the header wins, no reset"
    reset = app.events({"topic": "resume"}, 1, headers={"Last-Event-ID": "nope"})
    assert reset[0].event == "ssecast-reset"


@pytest.mark.parametrize(
    "params, code",
    [
        ({"topic": ""}, "INVALID_TOPIC"),
        ({"topic": [str(n) for n in range(40)]}, "INVALID_TOPIC"),
        ({"topic": "t", "lastEventId": "x" * 2000}, "INVALID_ID"),
    ],
)
def test_bad_requests_are_typed_errors_in_the_route(
    app: App, params: dict[str, Any], code: str
) -> None:
    response = app.http.get("/stream", params=params)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert app.stats()["connections"] == 0


def test_a_disconnected_client_releases_its_stream_at_once(app: App) -> None:
    app.wait_connections(0)
    with (
        httpx.Client(base_url=app.http.base_url, timeout=TIMEOUT) as client,
        connect_sse(client, "GET", "/stream", params={"topic": "bye"}) as source,
    ):
        assert source.response.status_code == 200
        app.wait_connections(1)
    app.wait_connections(0)
    assert app.stats()["topics"] >= 0


def test_disconnect_in_the_middle_of_replaying_100000_events(app: App) -> None:
    ids = app.publish_many("replay", 100_000)
    app.wait_connections(0)
    with (
        httpx.Client(base_url=app.http.base_url, timeout=TIMEOUT) as client,
        client.stream(
            "GET", "/stream", params={"topic": "replay"}, headers={"Last-Event-ID": ids["first"]}
        ) as response,
    ):
        received = 0
        for chunk in response.iter_raw():
            received += len(chunk)
            if received > 256 * 1024:
                break
    assert 256 * 1024 < received < 100_000 * 20, "left in the middle of the replay"
    app.wait_connections(0)
