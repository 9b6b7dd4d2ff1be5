"""What the stream's framing does to clients: a small event must be handed
over at once, and the frames that carry no event (the opening frame, the
keep-alives) must never become an event."""

import re

from harness.clients import PROMPT_SECONDS


def test_a_small_event_is_handed_over_at_once(client, engines, runs):
    """Clients that read fixed-size blocks (sseclient-py through requests reads
    128 bytes at a time) only see a small event at once when each write reaches
    them as a unit: a chunk of a chunked HTTP/1.1 body."""
    engine = engines()  # keep-alives every 15 s: none during the test
    run = runs(client, engine.events_url(["news"]))
    run.wait_open()
    event_id = engine.publish("hi", topic="news")
    assert run.events(1, timeout=PROMPT_SECONDS) == [
        {"id": event_id, "event": "message", "data": "hi"}
    ]


def comment_lines(received: bytes) -> int:
    return len(re.findall(rb"(?m)^:", received))


def test_keep_alives_are_never_an_event(client, engines, proxies, runs):
    engine = engines(keepalive_ms=1000)  # the shortest interval the engine accepts
    proxy = proxies(engine)
    run = runs(client, proxy.url(engine.events_url(["news"])))
    run.wait_open()
    first = engine.publish("first", topic="news")
    assert run.events(1) == [{"id": first, "event": "message", "data": "first"}]
    stream = proxy.connections[0]
    start = len(stream.received)
    proxy.wait_for(
        lambda: comment_lines(bytes(stream.received[start:])) >= 1, "a keep-alive comment"
    )
    second = engine.publish("second", topic="news")
    assert run.events(1) == [{"id": second, "event": "message", "data": "second"}]


def test_the_opening_retry_field_is_never_an_event(client, engines, runs):
    """With retry_ms set, the stream opens with a `retry:` field instead of a
    comment; it sets the client's reconnection delay and dispatches nothing."""
    engine = engines(retry_ms=1500)
    run = runs(client, engine.events_url(["news"]))
    run.wait_open()
    first = engine.publish("first", topic="news")
    assert run.events(1) == [{"id": first, "event": "message", "data": "first"}]
