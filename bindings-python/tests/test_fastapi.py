"""A real FastAPI app under uvicorn publishes through ssecast; real SSE clients
read the engine's port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import fastapi_app
import httpx
import pytest
from conftest import TIMEOUT, UvicornServer, take
from httpx_sse import connect_sse


class App:
    """The running test app and the engine it started."""

    def __init__(self, server: UvicornServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=TIMEOUT)
        self.engine_port = self.http.get("/health").json()["engine_port"]
        self.events = f"http://127.0.0.1:{self.engine_port}/events"

    def publish(self, **body: Any) -> str:
        response = self.http.post("/publish", json=body)
        assert response.status_code == 200, response.text
        event_id: str = response.json()["id"]
        return event_id

    def stream(self, topic: str, headers: dict[str, str] | None = None) -> Any:
        client = httpx.Client(timeout=TIMEOUT)
        return client, connect_sse(
            client, "GET", self.events, params={"topic": topic}, headers=headers or {}
        )


@pytest.fixture(scope="module")
def app() -> Iterator[App]:
    server = UvicornServer(fastapi_app.app)
    server.start()
    running = App(server)
    yield running
    running.http.close()
    server.stop()
    # The lifespan stopped the engine with the app: its port is closed.
    with pytest.raises(httpx.ConnectError):
        httpx.get(running.events, timeout=2)


def test_ids_event_types_and_payloads(app: App) -> None:
    client, stream = app.stream("fastapi/kinds")
    with client, stream as source:
        ids = [
            app.publish(topic="fastapi/kinds", data="plain"),
            app.publish(topic="fastapi/kinds", data="typed", event="price", id="p-1"),
            app.publish(topic="fastapi/kinds", data="line 1\nline 2\r\nline 3", retry=1500),
            app.publish(topic="fastapi/kinds", data="héllo ✓ 🎉 日本語"),
            app.publish(topic="fastapi/kinds", data={"user": "zoë", "n": [1, 2.5, None]}),
        ]
        events = take(source.iter_sse(), 5)
    assert [e.id for e in events] == ids
    assert ids[1] == "p-1"
    assert ids[0] != ids[2] and "\n" not in ids[0]
    assert [e.event for e in events] == ["message", "price", "message", "message", "message"]
    assert events[0].data == "plain"
    assert events[2].data == "line 1\nline 2\nline 3"
    assert events[2].retry == 1500
    assert events[3].data == "héllo ✓ 🎉 日本語"
    assert events[4].data == '{"user":"zoë","n":[1,2.5,null]}'
    assert json.loads(events[4].data) == {"user": "zoë", "n": [1, 2.5, None]}


def test_last_event_id_resumes_after_the_given_event(app: App) -> None:
    first, second, third = (
        app.publish(topic="fastapi/resume", data=f"event {n}") for n in (1, 2, 3)
    )
    client, stream = app.stream("fastapi/resume", headers={"Last-Event-ID": first})
    with client, stream as source:
        live = app.publish(topic="fastapi/resume", data="event 4")
        events = take(source.iter_sse(), 3)
    assert [(e.id, e.data) for e in events] == [
        (second, "event 2"),
        (third, "event 3"),
        (live, "event 4"),
    ]


def test_unknown_last_event_id_gets_the_reset_signal(app: App) -> None:
    client, stream = app.stream("fastapi/reset", headers={"Last-Event-ID": "no-such-id"})
    with client, stream as source:
        after = app.publish(topic="fastapi/reset", data="fresh")
        reset, fresh = take(source.iter_sse(), 2)
    assert reset.event == "ssecast-reset"
    assert json.loads(reset.data)["lastEventId"] == "no-such-id"
    assert (fresh.id, fresh.data) == (after, "fresh")


def test_bad_publish_through_the_app_is_a_clear_422(app: App) -> None:
    response = app.http.post(
        "/publish", json={"topic": "fastapi/bad", "data": "x", "event": "a\nb"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "INVALID_EVENT_NAME"
    assert "line feed" in response.json()["error"]


def test_cors_allows_the_configured_page_origin_only(app: App) -> None:
    allowed = httpx.options(
        app.events,
        headers={"Origin": fastapi_app.PAGE_ORIGIN, "Access-Control-Request-Method": "GET"},
        timeout=TIMEOUT,
    )
    assert allowed.headers.get("access-control-allow-origin") == fastapi_app.PAGE_ORIGIN
    other = httpx.options(
        app.events,
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
        timeout=TIMEOUT,
    )
    assert other.headers.get("access-control-allow-origin") is None


def test_engine_dependency_and_app_state_are_the_same_engine(app: App) -> None:
    engine = fastapi_app.app.state.ssecast
    assert engine.port == app.engine_port
    before = engine.stats()["published"]
    app.publish(topic="fastapi/state", data="counted")
    assert app.http.get("/health").json()["stats"]["published"] == before + 1
