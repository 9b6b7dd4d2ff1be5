"""Every shared wire vector, published over HTTP to the real server, reaches
each client as the spec reads its bytes: id, event type and data exactly."""

from harness.wire import VECTORS, event_names, interpret, topics, wire_vectors


def test_every_wire_vector_as_the_client_hands_it_over(client, engines, runs):
    engine = engines(**VECTORS["config"])
    run = runs(client, engine.events_url(topics()), event_names())
    run.wait_open()
    expected = []
    for vector in wire_vectors():
        event_id = engine.publish(**vector["publish"])
        wire = vector["wire"].replace("{id}", event_id)
        expected.append((vector["name"], client.sees(interpret(wire))))
    assert len(expected) >= 20
    got = run.events(len(expected))
    wrong = [(name, seen, want) for (name, want), seen in zip(expected, got) if seen != want]
    assert wrong == []
