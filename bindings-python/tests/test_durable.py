"""The durable history (`history_dir`) from Python: a host process killed with
SIGKILL in the middle of a publish storm (`history_sync="always"`) loses no
event whose `publish` returned, and a client resumes on the restarted engine
with its Last-Event-ID, with no gap and no duplicate. A directory another
engine holds, or one that cannot be written, raises `StorageError`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse

import ssecast

TOPIC = "storm"

# The host: an engine on the history directory, then, once told to go, four
# threads publishing as fast as they can, each printing `ack <id> <data>` once
# its publish returned.
HOST = r"""
import sys, threading
import ssecast

engine = ssecast.Engine(port=0, keepalive_ms=0, history_dir=sys.argv[1], history_sync="always")
print("port", engine.port, flush=True)
sys.stdin.readline()
lock = threading.Lock()

def storm(n):
    for i in range(10**9):
        data = f"p{n}-{i}"
        event_id = engine.publish("storm", data)
        with lock:
            print("ack", event_id, data, flush=True)

threads = [threading.Thread(target=storm, args=(n,)) for n in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def seq(event_id: str) -> int:
    return int(event_id.rsplit("-", 1)[1])


class LiveClient:
    """An httpx-sse client reading a stream in a thread until it ends."""

    def __init__(self, url: str) -> None:
        self.events: list[ServerSentEvent] = []
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self.thread.start()
        assert self.opened.wait(10), "the stream did not open"

    def _read(self, url: str) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10.0, read=30.0)) as http,
                connect_sse(http, "GET", url) as source,
            ):
                assert source.response.status_code == 200
                self.opened.set()
                for event in source.iter_sse():
                    self.events.append(event)
        except httpx.HTTPError:
            pass  # the engine died under it

    def join(self) -> list[ServerSentEvent]:
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the stream did not end with its engine"
        return self.events


def resume(port: int, last_event_id: str, until: str) -> list[ServerSentEvent]:
    """What a client gets when it reconnects with `last_event_id`, up to the
    event `until`."""
    got = []
    with httpx.Client(timeout=httpx.Timeout(10.0)) as http:
        url = f"http://127.0.0.1:{port}/events?topic={TOPIC}"
        with connect_sse(http, "GET", url, headers={"Last-Event-ID": last_event_id}) as source:
            for event in source.iter_sse():
                got.append(event)
                if event.id == until:
                    return got
    raise AssertionError(f"the stream ended after {len(got)} events")


def storm_until_killed(history: Path, acks: int) -> tuple[list[ServerSentEvent], dict[str, str]]:
    """Runs the host on `history` with a live client, kills it with SIGKILL once
    `acks` publishes returned. Returns what the client got and the
    acknowledged publishes (id to data)."""
    host = subprocess.Popen(
        [sys.executable, "-c", HOST, str(history)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert host.stdin is not None and host.stdout is not None
    try:
        port = int(host.stdout.readline().split()[1])
        client = LiveClient(f"http://127.0.0.1:{port}/events?topic={TOPIC}")
        host.stdin.write("go\n")
        host.stdin.flush()
        acked: dict[str, str] = {}
        for line in host.stdout:
            _, event_id, data = line.split()
            acked[event_id] = data
            if len(acked) == acks:
                os.kill(host.pid, signal.SIGKILL)
                break
        # What the host printed before it died is still in the pipe; a last
        # line the kill cut short names no event in full and is left out.
        for line in host.stdout:
            if not line.endswith("\n"):
                break
            fields = line.split()
            assert len(fields) == 3 and fields[0] == "ack", f"not an ack line: {line!r}"
            acked[fields[1]] = fields[2]
        assert host.wait(timeout=20) == -signal.SIGKILL
        return client.join(), acked
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()


def test_kill_9_mid_storm_loses_nothing_acknowledged_and_the_client_resumes_exactly(
    tmp_path: Path,
) -> None:
    live, acked = storm_until_killed(tmp_path, acks=300)
    assert len(live) > 10, "the client got events before the crash"
    with ssecast.Engine(
        port=0, keepalive_ms=0, history_dir=tmp_path, history_sync="always", history_size=10
    ) as engine:
        # More than the restarted engine keeps in memory: the client resumes from disk.
        away = [engine.publish(TOPIC, f"p-away-{i}") for i in range(50)]
        after = engine.publish(TOPIC, "after the restart")
        resumed = resume(engine.port, live[-1].id, until=after)
        assert [event.id for event in resumed][-51:] == [*away, after]
        got = live + resumed
        ids = [event.id for event in got]
        assert all(event.event == "message" for event in got), "no reset"
        assert len(set(ids)) == len(ids), "no duplicate"
        assert ids == sorted(ids, key=seq), "in publish order"
        assert set(acked) <= set(ids), "every acknowledged event"
        for event in live:
            assert re.fullmatch(r"p\d+-\d+", event.data), event.data
            assert acked.get(event.id, event.data) == event.data, "whole events"
        # A client further back gets the same events again, from disk.
        replayed = resume(engine.port, live[9].id, until=after)
        same = [(event.id, event.data) for event in got[10:]]
        assert [(event.id, event.data) for event in replayed] == same
        # The restarted engine continues the ids of the first one.
        assert after.rsplit("-", 1)[0] == ids[0].rsplit("-", 1)[0]
        assert seq(after) > max(seq(event_id) for event_id in acked)


@contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """`directory` made read-only: a read-only tmpfs as root (permissions do not
    stop root; CI runs as root), else its mode."""
    if os.geteuid() == 0:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(directory)], check=True
        )
        try:
            yield
        finally:
            subprocess.run(["umount", str(directory)], check=True)
    else:
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(0o755)


def test_a_second_engine_on_the_same_history_dir_raises_storage_error(tmp_path: Path) -> None:
    with ssecast.Engine(port=0, history_dir=tmp_path) as first:
        first.publish(TOPIC, "kept")
        with pytest.raises(ssecast.StorageError, match="in use by another engine") as raised:
            ssecast.Engine(port=0, history_dir=str(tmp_path))
        assert isinstance(raised.value, OSError)
        assert raised.value.code == "STORAGE"
        assert str(tmp_path) in str(raised.value)
    # Once the first has stopped, the directory is free again.
    with ssecast.Engine(port=0, history_dir=tmp_path) as second:
        second.publish(TOPIC, "after")


def test_a_history_dir_that_cannot_be_written_raises_storage_error(tmp_path: Path) -> None:
    history = tmp_path / "history"
    history.mkdir()
    with read_only(history), pytest.raises(ssecast.StorageError, match="history_dir"):
        ssecast.Engine(port=0, history_dir=history)
