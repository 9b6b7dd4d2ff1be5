"""Operations from Python: ``GET /metrics`` parsed by the official Prometheus
parser (``prometheus_client``) and checked against a known workload, the same
counters from ``stats()``, ``drain()``, and the queries of the example Grafana
dashboard checked against a real scrape."""

from __future__ import annotations

import json
import math
import re
import socket
import threading
import time
from typing import Any, Optional

import httpx
import pytest
from conftest import REPO, TIMEOUT, subscribe, take
from prometheus_client.parser import text_string_to_metric_families

import ssecast

FAST_READERS = 6
EVENTS = 200
STUCK_READERS = 3
FLOOD = 1000


def scrape(engine: ssecast.Engine) -> dict[str, Any]:
    """The metrics families of a scrape, by family name, parsed by prometheus_client."""
    response = httpx.get(f"http://127.0.0.1:{engine.port}/metrics", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def value(families: dict[str, Any], sample: str, **labels: str) -> float:
    """The value of the sample named `sample` with exactly `labels`."""
    for family in families.values():
        for s in family.samples:
            if s.name == sample and s.labels == labels:
                return float(s.value)
    raise AssertionError(f"no sample {sample}{labels}")


def dechunk(body: bytes) -> bytes:
    """The payload of a chunked HTTP/1.1 body."""
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


class StuckStream:
    """A raw HTTP/1.1 stream, read only when asked to: with `small_buffer`, a
    client whose small receive buffer makes the engine's writes block."""

    def __init__(self, port: int, topic: str, small_buffer: bool = True) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if small_buffer:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.socket.settimeout(10)
        self.socket.connect(("127.0.0.1", port))
        self.socket.sendall(
            f"GET /events?topic={topic} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
        )
        self.received = b""
        while b": ok\n" not in self.received:
            chunk = self.socket.recv(4096)
            assert chunk, "closed before it opened"
            self.received += chunk

    def events_until_closed(self) -> int:
        """Reads to the end (the engine closes the stream) and counts the events;
        `received` then holds the de-chunked body."""
        while chunk := self.socket.recv(65536):
            self.received += chunk
        self.socket.close()
        head, _, body = self.received.partition(b"\r\n\r\n")
        if b"transfer-encoding: chunked" in head.lower():
            body = dechunk(body)
        self.received = body
        return body.count(b"\ndata: ") + body.startswith(b"data: ")


class Reader(threading.Thread):
    """A client reading `count` events of `topic` with httpx-sse, then holding
    its stream open until `release` is set."""

    def __init__(
        self, engine: ssecast.Engine, topic: str, count: int, release: threading.Event
    ) -> None:
        super().__init__(daemon=True)
        self.engine, self.topic, self.count, self.release = engine, topic, count, release
        self.subscribed = threading.Event()
        self.received: list[str] = []
        self.error: Optional[BaseException] = None

    def run(self) -> None:
        try:
            with subscribe(self.engine, self.topic) as events:
                self.subscribed.set()
                self.received = [e.data for e in take(events, self.count)]
                self.release.wait(30)
        except BaseException as error:  # noqa: BLE001 (the test reports it)
            self.error = error
            self.subscribed.set()


def wait_for(predicate: Any, what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_scrape_counts_a_known_workload() -> None:
    engine = ssecast.Engine(
        port=0, keepalive_ms=0, history_size=300, send_buffer_bytes=16384, reconnect_jitter_ms=0
    )
    release = threading.Event()
    try:
        stuck = [StuckStream(engine.port, "s") for _ in range(STUCK_READERS)]
        readers = [Reader(engine, "w", EVENTS, release) for _ in range(FAST_READERS)]
        for reader in readers:
            reader.start()
            assert reader.subscribed.wait(10) and reader.error is None, reader.error
        for i in range(EVENTS):
            engine.publish("w", {"n": i})
        wait_for(lambda: all(len(r.received) == EVENTS for r in readers), "the fast readers")
        assert all(r.error is None for r in readers)
        # The stuck clients' cursors fall off a 300-event history; reading again,
        # each gets what was written to it, then the cut.
        padding = "p" * 2048
        for i in range(FLOOD):
            engine.publish("s", f"{i} {padding}")
        stuck_events = sum(s.events_until_closed() for s in stuck)
        with subscribe(engine, "w", headers={"Last-Event-ID": "unknown-7"}) as resumed:
            assert take(resumed, 1)[0].event == "ssecast-reset"
            bad = httpx.get(f"http://127.0.0.1:{engine.port}/events?topic=", timeout=TIMEOUT)
            assert bad.status_code == 400
            wait_for(lambda: engine.stats()["slow_consumers_dropped"] == STUCK_READERS, "the cuts")
            families = scrape(engine)
            stats = engine.stats()

        http1 = {"transport": "http1"}
        assert families["ssecast_streams_open"].type == "gauge"
        assert families["ssecast_events_published"].type == "counter"
        assert families["ssecast_stream_duration_seconds"].type == "histogram"
        assert value(families, "ssecast_streams_open", **http1) == FAST_READERS + 1
        assert value(families, "ssecast_streams_open", transport="http2") == 0
        assert (
            value(families, "ssecast_streams_opened_total", **http1)
            == FAST_READERS + STUCK_READERS + 1
        )
        assert value(families, "ssecast_events_published_total") == EVENTS + FLOOD
        # Every event reached the fast readers; a stuck reader is cut with a
        # batch handed to its connection but not all read (the watchdog frees
        # it), so it was handed at least what it read, at most the flood.
        delivered = value(families, "ssecast_events_delivered_total")
        fast = FAST_READERS * EVENTS
        assert fast + stuck_events <= delivered <= fast + STUCK_READERS * FLOOD
        assert value(families, "ssecast_slow_consumers_total") == STUCK_READERS
        assert value(families, "ssecast_resets_total", reason="unknown-id") == 1
        assert value(families, "ssecast_resets_total", reason="history-gap") == 0
        assert value(families, "ssecast_streams_refused_total", reason="bad_request") == 1
        assert value(families, "ssecast_stream_duration_seconds_count") == STUCK_READERS
        assert value(families, "ssecast_stream_duration_seconds_bucket", le="+Inf") == STUCK_READERS
        assert value(families, "ssecast_topics") == 2
        assert value(families, "ssecast_publish_to_write_seconds_count") >= FAST_READERS
        assert value(families, "ssecast_delivered_bytes_total") == stats["bytes_delivered"]
        assert stats["bytes_delivered"] > FAST_READERS * EVENTS * len('data: {"n":0}\n\n')

        # stats() reports the same numbers.
        assert stats["connections"] == FAST_READERS + 1
        assert stats["streams_opened"] == FAST_READERS + STUCK_READERS + 1
        assert stats["published"] == EVENTS + FLOOD
        assert stats["events_delivered"] == delivered
        assert stats["slow_consumers_dropped"] == STUCK_READERS
        assert (stats["resets_sent"], stats["streams_refused"]) == (1, 1)
        assert (stats["auth_failures"], stats["rate_limited"]) == (0, 0)
    finally:
        release.set()
        engine.stop()


def test_drain_closes_streams_with_a_retry_and_answers_clearly() -> None:
    engine = ssecast.Engine(port=0, keepalive_ms=0, reconnect_jitter_ms=500)
    retries: list[Optional[int]] = []

    def read(stream: StuckStream) -> None:
        # Reads to the end; the goodbye is a lone `retry:` line, which clients
        # apply without dispatching anything (so httpx-sse would not show it).
        stream.events_until_closed()
        found = re.findall(rb"\nretry: (\d+)\n", stream.received)
        retries.append(int(found[-1]) if found else None)

    try:
        streams = [StuckStream(engine.port, "d", small_buffer=False) for _ in range(10)]
        threads = [threading.Thread(target=read, args=(s,), daemon=True) for s in streams]
        for thread in threads:
            thread.start()
        url = f"http://127.0.0.1:{engine.port}"
        assert httpx.get(f"{url}/readyz").json() == {"status": "ready"}
        drainer = threading.Thread(target=engine.drain, args=(1.0,))
        started = time.monotonic()
        drainer.start()
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 503, "readyz to say 503")
        assert httpx.get(f"{url}/readyz").json() == {"status": "draining"}
        assert httpx.get(f"{url}/healthz").status_code == 200
        engine.publish("d", "publishing goes on")
        drainer.join(10)
        assert not drainer.is_alive()
        # It returns once the last stream closed: its turn is random, but ten
        # turns all in the first fifth of the window have odds of 1e-7.
        assert 0.2 < time.monotonic() - started < 8
        for thread in threads:
            thread.join(10)
        assert len(retries) == 10 and all(r is not None and 0 <= r <= 500 for r in retries), retries
        assert engine.stats()["connections"] == 0

        engine.drain(60)  # the same drain, already over: returns at once
        for bad in (-1, math.nan, math.inf):
            with pytest.raises(ValueError, match="non-negative"):
                engine.drain(bad)
        for wrong in ("1", True, None):
            with pytest.raises(TypeError, match="seconds"):
                engine.drain(wrong)  # type: ignore[arg-type]
    finally:
        engine.stop()
    with pytest.raises(ssecast.StoppedError, match="stopped"):
        engine.drain(0)


GRAFANA = REPO / "examples" / "grafana" / "ssecast-dashboard.json"


def test_every_metric_the_grafana_dashboard_queries_exists() -> None:
    dashboard = json.loads(GRAFANA.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    queried = {name for expr in exprs for name in re.findall(r"\bssecast_[a-z_]+\b", expr)}
    assert len(queried) >= 10, queried
    with ssecast.Engine(port=0, keepalive_ms=0) as engine:
        with subscribe(engine, "g") as events:
            engine.publish("g", "x")
            take(events, 1)
        families = scrape(engine)
    exported = {s.name for family in families.values() for s in family.samples}
    assert queried <= exported, f"not exported: {sorted(queried - exported)}"
