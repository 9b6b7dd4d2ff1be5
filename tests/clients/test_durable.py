"""The durable history of the `ssecast` binary across a crash: the process is
killed with SIGKILL in the middle of a publish storm and restarted on the same
`--history-dir`. Every client of the matrix, connected through a proxy that
sends new connections to the restarted engine, resumes with its own
Last-Event-ID: no gap, no duplicate, and every event whose `POST /publish`
returned is there, whole. In `batch` mode, a client positioned before the
crash is told of a possible gap (`history-gap`), as the README says."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable

import httpx
from harness.clients import CLIENTS, Run
from harness.engine import Engine
from harness.proxy import CuttingProxy
from httpx_sse import connect_sse

TOPIC = "storm"
PUBLISHERS = 4
RESET = "ssecast-reset"
# What the clients are told to wait before reconnecting, in ms.
RETRY_MS = 300
# A small ring: clients that fall behind, and clients resuming after the
# restart, are read from disk.
HISTORY_SIZE = 10
# Events published on the restarted engine before clients can reach it.
WHILE_AWAY = 50


def seq(event_id: str) -> int:
    return int(event_id.rsplit("-", 1)[1])


class Storm:
    """Publishers POSTing to one engine from several threads until it dies;
    `acked` maps the id of every publish that returned 200 to its data."""

    def __init__(self, engine: Engine) -> None:
        self.acked: dict[str, str] = {}
        self.lock = threading.Condition()
        self.threads = [
            threading.Thread(target=self._publish, args=(engine, n), daemon=True)
            for n in range(PUBLISHERS)
        ]
        for thread in self.threads:
            thread.start()

    def _publish(self, engine: Engine, n: int) -> None:
        headers = {"Authorization": f"Bearer {engine.token}"}
        with httpx.Client(base_url=engine.origin, timeout=10.0) as http:
            for i in range(1_000_000):
                data = f"p{n}-{i}"
                try:
                    response = http.post(
                        "/publish", json={"topic": TOPIC, "data": data}, headers=headers
                    )
                except httpx.HTTPError:
                    return  # the engine is gone
                assert response.status_code == 200, response.text
                with self.lock:
                    self.acked[response.json()["id"]] = data
                    self.lock.notify_all()

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        with self.lock:
            assert self.lock.wait_for(lambda: len(self.acked) >= count, timeout), (
                f"only {len(self.acked)} publishes returned"
            )

    def join(self) -> dict[str, str]:
        for thread in self.threads:
            thread.join(timeout=20)
            assert not thread.is_alive(), "a publisher hung after the crash"
        return self.acked


def events_until(run: Run, last_id: str, timeout: float = 30.0) -> list[dict[str, str]]:
    """Every event a client hands over until the one with `last_id`."""
    got: list[dict[str, str]] = []
    deadline = time.monotonic() + timeout
    while not got or got[-1]["id"] != last_id:
        line = run.next(f"the event {last_id} (got {got[-2:]})", deadline - time.monotonic())
        if line["kind"] == "event":
            got.append({k: line[k] for k in ("id", "event", "data")})
    return got


def read_from(engine: Engine, last_event_id: str, until: Callable[[Any], bool]) -> list[Any]:
    """Events from the engine after `last_event_id`, read with httpx-sse until
    `until(event)` holds."""
    got = []
    with httpx.Client(timeout=httpx.Timeout(10.0)) as http:
        url = engine.events_url([TOPIC])
        with connect_sse(http, "GET", url, headers={"Last-Event-ID": last_event_id}) as source:
            for event in source.iter_sse():
                got.append(event)
                if until(event):
                    return got
    raise AssertionError(f"the stream ended after {len(got)} events")


def crash_and_restart(
    engines: Callable[..., Engine],
    history: Path,
    sync: str,
    acks: int,
    before_storm: Callable[[Engine], None] = lambda engine: None,
) -> tuple[Engine, dict[str, str]]:
    """Runs a storm on an engine with its history in `history` (after
    `before_storm`), kills it with SIGKILL once `acks` publishes returned, and
    restarts it on the same directory. Returns the restarted engine and the
    acknowledged publishes."""
    config = {
        "history_dir": history,
        "history_sync": sync,
        "retry_ms": RETRY_MS,
        "history_size": HISTORY_SIZE,
    }
    first = engines(**config)
    before_storm(first)
    storm = Storm(first)
    storm.wait_for(acks)
    first.kill()
    acked = storm.join()
    return engines(**config), acked


def test_kill_9_in_always_mode_loses_nothing_acknowledged_and_every_client_resumes_exactly(
    engines: Callable[..., Engine], tmp_path: Path
) -> None:
    proxy: list[CuttingProxy] = []
    runs: list[tuple[str, Run]] = []

    def connect_clients(engine: Engine) -> None:
        proxy.append(CuttingProxy(engine.port))
        for client in CLIENTS:
            url = proxy[0].url(engine.events_url([TOPIC]))
            run = client.start(url, ["message", RESET])
            runs.append((client.name, run))
        for _, run in runs:
            run.wait_open()

    try:
        engine, acked = crash_and_restart(
            engines, tmp_path, "always", acks=300, before_storm=connect_clients
        )
        # Published before the clients can reach the restarted engine: more
        # than its memory holds, so they resume from disk.
        away = {engine.publish(f"away-{i}", topic=TOPIC): f"away-{i}" for i in range(WHILE_AWAY)}
        proxy[0].retarget(engine.port)
        after = engine.publish("after the restart", topic=TOPIC)

        for name, run in runs:
            got = events_until(run, after)
            ids = [event["id"] for event in got]
            assert all(event["event"] == "message" for event in got), (
                f"{name} got a reset: {[e for e in got if e['event'] == RESET]}"
            )
            assert len(set(ids)) == len(ids), f"{name} got duplicates"
            assert ids == sorted(ids, key=seq), f"{name} got events out of order"
            expected = {**acked, **away}
            missing = [event_id for event_id in expected if event_id not in set(ids)]
            assert not missing, f"{name} missed acknowledged events {missing[:5]}"
            for event in got:
                if event["id"] in expected:
                    assert event["data"] == expected[event["id"]], f"{name}: {event}"
            print(f"{name}: {len(got)} events across the crash")

        # On disk: every acknowledged event, whole, once, in publish order,
        # with nothing missing before the crash point.
        first_acked = min(acked, key=seq)
        stored = read_from(engine, first_acked, lambda event: event.id == after)
        before = stored[: -1 - WHILE_AWAY]
        assert [event.id for event in stored[-1 - WHILE_AWAY : -1]] == list(away)
        seqs = [seq(event.id) for event in before]
        assert seqs == list(range(seq(first_acked) + 1, seq(first_acked) + 1 + len(seqs)))
        stored_ids = {event.id for event in before}
        assert set(acked) - {first_acked} <= stored_ids
        for event in before:
            assert re.fullmatch(r"p\d+-\d+", event.data), event.data
            assert acked.get(event.id, event.data) == event.data
        assert seq(after) > max(seqs), "ids are never reused"
    finally:
        for _, run in runs:
            run.stop()
        for p in proxy:
            p.close()


def test_kill_9_in_batch_mode_tells_clients_before_the_crash_of_a_gap(
    engines: Callable[..., Engine], tmp_path: Path
) -> None:
    engine, acked = crash_and_restart(engines, tmp_path, "batch", acks=2000)
    first_acked = min(acked, key=seq)
    got = read_from(engine, first_acked, lambda event: True)
    assert got[0].event == RESET
    reset = json.loads(got[0].data)
    assert reset == {"reason": "history-gap", "lastEventId": first_acked}
    # The engine goes on: its ids continue after every id handed out before.
    after = engine.publish("after the restart", topic=TOPIC)
    assert seq(after) > max(seq(event_id) for event_id in acked)
