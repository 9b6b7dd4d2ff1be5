"""Three standalone ``ssecast`` nodes (the CLI) joined by a real
``redis-server``: publishes on any node reach the clients of every node in
order, a client moves to another node with its Last-Event-ID and misses
nothing, a Redis outage fails publishes clearly and loses nothing that was
acknowledged, and 2,000 topics spread over the nodes all flow."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from cluster import Node, Reader, RedisServer


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


@pytest.fixture
def nodes(redis: RedisServer) -> Iterator[list[Node]]:
    started = [Node(redis.url, keepalive_ms=1000) for _ in range(3)]
    for node in started:
        node.wait_connected()
    yield started
    for node in started:
        node.stop()


@pytest.fixture
def readers() -> Iterator[list[Reader]]:
    opened: list[Reader] = []
    yield opened
    for reader in opened:
        reader.close()


def test_publishes_on_one_node_reach_the_others_in_order(
    nodes: list[Node], readers: list[Reader]
) -> None:
    a, b, c = nodes
    on_a = Reader(a.events_url(["chat", "news"]))
    on_b = Reader(b.events_url(["chat"]))
    readers += [on_a, on_b]
    sent = []
    for i in range(30):
        topic = "chat" if i % 3 else "news"
        sent.append((c.publish(f"m{i}", topic), f"m{i}", topic))
    assert on_a.wait_for(30) == [(id, data) for id, data, _ in sent]
    assert on_b.wait_for(20) == [(id, data) for id, data, topic in sent if topic == "chat"]
    # Ids are the cluster's: ordered by one sequence whatever node published.
    seqs = [int(id.rsplit("-", 1)[1]) for id, _, _ in sent]
    assert seqs == sorted(seqs) and len({id.rsplit("-", 1)[0] for id, _, _ in sent}) == 1


def test_a_client_of_a_killed_node_resumes_on_another_and_misses_nothing(
    nodes: list[Node], readers: list[Reader]
) -> None:
    a, b, c = nodes
    on_a = Reader(a.events_url(["feed"]))
    readers.append(on_a)
    before = [c.publish(f"before {i}", "feed") for i in range(10)]
    seen = on_a.wait_for(10)
    assert [id for id, _ in seen] == before
    a.kill()
    during = [c.publish(f"during {i}", "feed") for i in range(10)]
    # The client reconnects to B (which never held the topic) with its last id.
    moved = Reader(b.events_url(["feed"]), last_event_id=seen[-1][0])
    readers.append(moved)
    after = [c.publish(f"after {i}", "feed") for i in range(5)]
    got = moved.wait_for(15)
    assert [id for id, _ in got] == during + after
    assert [data for _, data in got][:2] == ["during 0", "during 1"]
    time.sleep(0.3)
    assert len(moved.events) == 15, "no duplicate after the resume"


def test_a_redis_outage_fails_publishes_clearly_and_loses_nothing(
    redis: RedisServer, nodes: list[Node], readers: list[Reader]
) -> None:
    a, b, c = nodes
    on_a = Reader(a.events_url(["t"]))
    readers.append(on_a)
    acknowledged = [c.publish(f"before {i}", "t") for i in range(5)]
    on_a.wait_for(5)
    redis.kill()
    refused = c.try_publish("during", "t")
    assert refused.status_code == 503, refused.text
    assert refused.json()["code"] == "UNAVAILABLE", refused.text
    assert refused.headers["Retry-After"]
    # A resume that needs Redis's history is refused the same way...
    needs_history = Reader(b.events_url(["t"]), last_event_id=acknowledged[0])
    readers.append(needs_history)
    assert needs_history.status == 503
    assert needs_history.response.headers["Retry-After"]
    # ...while the open stream stays open, with keep-alives.
    comments = on_a.comments
    on_a.wait_comments(comments + 2)
    assert not on_a.ended
    redis.start()
    deadline = time.monotonic() + 20
    while True:
        response = c.try_publish("after", "t")
        if response.status_code == 200:
            acknowledged.append(response.json()["id"])
            break
        assert response.status_code == 503 and time.monotonic() < deadline, response.text
        time.sleep(0.05)
    acknowledged += [b.publish(f"after {i}", "t") for i in range(5)]
    assert [id for id, _ in on_a.wait_for(len(acknowledged))] == acknowledged
    # A client moving to B now resumes from Redis.
    moved = Reader(b.events_url(["t"]), last_event_id=acknowledged[0])
    readers.append(moved)
    assert [id for id, _ in moved.wait_for(len(acknowledged) - 1)] == acknowledged[1:]


def test_two_thousand_topics_across_three_nodes(nodes: list[Node], readers: list[Reader]) -> None:
    topics = [f"room/{i}" for i in range(2000)]
    per_stream = 32
    groups = [topics[i : i + per_stream] for i in range(0, len(topics), per_stream)]
    owners: dict[str, Reader] = {}
    for n, group in enumerate(groups):
        reader = Reader(nodes[n % 3].events_url(group))
        readers.append(reader)
        owners.update(dict.fromkeys(group, reader))
    # Every node publishes a third of the topics, interleaved.
    ids = {topic: nodes[i % 3].publish(topic, topic) for i, topic in enumerate(topics)}
    for group in groups:
        reader = owners[group[0]]
        got = reader.wait_for(len(group))
        assert got == [(ids[topic], topic) for topic in group]
