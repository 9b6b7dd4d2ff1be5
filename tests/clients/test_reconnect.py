"""A stream cut in the middle of an event, through a proxy: the client (or, for
a client that does not reconnect by itself, its user) resumes with
Last-Event-ID and gets every event once: no gap, no duplicate, and never the
half-received event."""

MARKER = "CUT-HERE"


def event(event_id, data):
    return {"id": event_id, "event": "message", "data": data}


def test_a_cut_inside_an_event_resumes_with_no_gap_and_no_duplicate(client, engines, proxies, runs):
    engine = engines()
    proxy = proxies(engine)
    run = runs(client, proxy.url(engine.events_url(["feed"])))
    run.wait_open()
    publish = lambda data: engine.publish(data, topic="feed")
    a, b = publish("A"), publish("B")
    assert run.events(2) == [event(a, "A"), event(b, "B")]

    proxy.cut_after(MARKER.encode())
    cut_data = f"first line\n{MARKER}\nlast line"
    c = publish(cut_data)
    proxy.wait_for(lambda: proxy.cut_bytes is not None, "the cut")
    assert proxy.cut_bytes.endswith(f"id: {c}\ndata: first line\ndata: {MARKER}".encode())
    # Published while the client is away: it comes back from the history.
    d = publish("D")
    proxy.wait_for(
        lambda: len(proxy.connections) >= 2 and b"\r\n\r\n" in proxy.connections[1].head,
        "the client to reconnect",
    )
    resumed_from = proxy.connections[1].header("Last-Event-ID")
    e = publish("E")

    if client.resumes_after_half_event:
        # It took the id of the half-received event as its last one: that
        # event is lost (see the README's Clients section).
        assert resumed_from == c
        expected = [event(d, "D"), event(e, "E")]
    else:
        assert resumed_from == b
        expected = [event(c, "first line\nCUT-HERE\nlast line"), event(d, "D"), event(e, "E")]
    assert run.events(len(expected)) == expected
    # Nothing more is pending: the next event is the next one published.
    f = publish("F")
    assert run.events(1) == [event(f, "F")]
    assert len(proxy.connections) == 2
