"""Attacks on the HTTP/2 connections of the real `ssecast` binary, written with
the `h2` protocol library (harness/h2peer.py): openings that never end, idle
connections, streams whose window never opens while big events are published,
a socket that is no longer read, and a peer that stops answering PINGs. The
server's descriptors and RSS are read from /proc/<pid>; /healthz and an honest
client on the same topic must keep working throughout."""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from typing import Callable

import h2.events
import httpx
from harness.engine import Engine
from harness.h2peer import H2Peer, client_connection
from httpx_sse import connect_sse

# How late a deadline may fire on a loaded machine, in seconds.
SLACK = 3.0


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Polls `predicate` until it holds (state read from /proc or /healthz,
    which signal nothing)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def assert_on_time(what: str, elapsed: float, deadline_ms: int) -> None:
    deadline = deadline_ms / 1000
    assert deadline * 0.9 <= elapsed <= deadline + SLACK, (
        f"{what} after {elapsed:.2f} s, deadline {deadline} s"
    )


def server_fds(engine: Engine) -> int:
    return len(os.listdir(f"/proc/{engine.process.pid}/fd"))


def server_rss_kib(engine: Engine) -> int:
    with open(f"/proc/{engine.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/<pid>/status")


def health(engine: Engine) -> dict[str, object]:
    response = engine.http.get("/healthz", timeout=5.0)
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


def open_streams(engine: Engine) -> int:
    count = health(engine)["connections"]
    assert isinstance(count, int)
    return count


def read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Everything the engine sends until it closes the connection (a reset is
    a close too)."""
    sock.settimeout(timeout)
    received = b""
    try:
        while chunk := sock.recv(65_536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


class Honest:
    """An HTTP/1.1 subscriber (httpx-sse) that reads everything at once and
    reports each event's number (the first word of its data), in order."""

    def __init__(self, engine: Engine, topic: str) -> None:
        self.received: queue.Queue[int] = queue.Queue()
        opened = threading.Event()

        def run() -> None:
            with (
                httpx.Client(base_url=engine.origin, timeout=None) as client,
                connect_sse(client, "GET", f"/events?topic={topic}") as source,
            ):
                opened.set()
                for event in source.iter_sse():
                    self.received.put(int(event.data.split(" ", 1)[0]))

        threading.Thread(target=run, daemon=True).start()
        assert opened.wait(10), "the honest stream did not open"

    def got(self, number: int) -> None:
        assert self.received.get(timeout=20) == number


def test_openings_that_never_end_are_closed_at_the_head_deadline(engines):
    """The first bytes of the preface, the whole preface without SETTINGS:
    each connection is closed, without an answer, at head_timeout_ms, while
    /healthz answers."""
    head_ms = 800
    engine = engines(head_timeout_ms=head_ms, idle_timeout_ms=60_000)
    conn = client_connection()
    conn.initiate_connection()
    opening = conn.data_to_send()  # the 24-byte preface, then SETTINGS
    cuts = [1, 10, 24]
    before = server_fds(engine)
    start = time.monotonic()
    attackers = []
    for cut in cuts:
        for _ in range(20):
            sock = socket.create_connection(("127.0.0.1", engine.port))
            sock.sendall(opening[:cut])
            attackers.append(sock)
    wait_until(lambda: server_fds(engine) >= before + len(attackers), "the engine to accept all")
    assert health(engine)["status"] == "ok"
    for i, sock in enumerate(attackers):
        received = read_until_closed(sock, timeout=head_ms / 1000 + SLACK)
        if len(opening[: cuts[i // 20]]) < 24:
            assert received == b"", "no answer before the whole preface"
        else:
            # After the preface, the engine's SETTINGS (and GOAWAY), no response.
            reader = client_connection()
            reader.initiate_connection()
            kinds = {type(e) for e in reader.receive_data(received)}
            assert h2.events.RemoteSettingsChanged in kinds, kinds
            assert h2.events.ResponseReceived not in kinds, kinds
    assert_on_time("every opening closed", time.monotonic() - start, head_ms)
    # The engine let go of its side of every connection; ours are still open.
    # (+1: /healthz's keep-alive connection, if still open.)
    wait_until(lambda: server_fds(engine) <= before + 1, "the engine to close its descriptors")
    for sock in attackers:
        sock.close()
    assert health(engine)["status"] == "ok"


def test_http2_connections_without_streams_are_closed(engines):
    """A connection that completed the preface and SETTINGS but never opens a
    stream is closed at head_timeout_ms; one whose last stream ended, at
    idle_timeout_ms after that end, although it answers the PINGs it gets
    meanwhile. /healthz answers meanwhile."""
    head_ms, idle_ms = 600, 1_800
    engine = engines(head_timeout_ms=head_ms, idle_timeout_ms=idle_ms, keepalive_ms=1_000)
    before = server_fds(engine)

    start = time.monotonic()
    silent = [H2Peer(engine.port) for _ in range(20)]
    assert health(engine)["status"] == "ok"
    for peer in silent:
        assert_on_time("a connection without a stream", peer.wait_closed() - start, head_ms)
        assert not peer.of(h2.events.ResponseReceived)

    idle = [H2Peer(engine.port) for _ in range(20)]
    answered = []
    for peer in idle:
        stream = peer.request("/healthz")
        assert peer.status(stream) == 200
        assert peer.body(stream).startswith(b"{")
        answered.append(time.monotonic())
    assert health(engine)["status"] == "ok"
    for peer, end in zip(idle, answered):
        assert_on_time("an idle connection", peer.wait_closed() - end, idle_ms)
        assert peer.of(h2.events.PingReceived), "PINGed while idle"

    wait_until(lambda: server_fds(engine) <= before + 1, "the engine to close its descriptors")
    for peer in silent + idle:
        peer.close()


# 1 MB events; the history keeps three of them.
EVENT_BYTES = 1_000_000
HISTORY_BYTES = 3 * EVENT_BYTES + 4096


def big(number: int) -> str:
    return f"{number} " + "m" * EVENT_BYTES


def test_streams_whose_window_never_opens_pin_nothing_the_history_dropped(engines):
    """One connection, 128 streams, each with an 8 KiB window never handed
    back; each stream is stuck in a different 1 MB event. The engine's RSS
    stays within the history and a small constant per stream (without the
    bound, each stream would pin its event: 128 MB); each stuck stream is reset
    once its event leaves the history; the honest subscriber gets every event,
    and the connection itself still serves requests."""
    streams = 128
    engine = engines(
        history_bytes=HISTORY_BYTES,
        send_buffer_bytes=65_536,
        keepalive_ms=0,
        write_timeout_ms=600_000,  # only falling behind the history closes them
    )
    honest = Honest(engine, "big")
    peer = H2Peer(engine.port, stream_window=8 * 1024, connection_window=1 << 30)
    rss_before = server_rss_kib(engine)
    stuck = []
    for number in range(streams):
        stream = peer.request("/events?topic=big")
        assert peer.status(stream) == 200
        stuck.append(stream)
        engine.publish(big(number), topic="big")
        honest.got(number)
    # The last streams' events are still in the history: those wait.
    peer.wait_until(
        lambda: len(peer.of(h2.events.StreamReset)) >= streams - 3,
        "the streams behind the history to be reset",
    )
    assert {e.stream_id for e in peer.of(h2.events.StreamReset)} <= set(stuck)
    grown = server_rss_kib(engine) - rss_before
    bound = HISTORY_BYTES // 1024 + streams * 64 + 16 * 1024
    print(f"RSS grew by {grown} KiB with {streams} stuck streams; bound {bound} KiB")
    assert grown <= bound, f"RSS grew by {grown} KiB with {streams} stuck streams"
    stream = peer.request("/healthz")
    assert peer.status(stream) == 200
    assert peer.closed_at is None
    peer.close()


def test_stuck_streams_and_sockets_are_cut_at_the_write_deadline(engines):
    """Streams whose window never opens are reset write_timeout_ms after their
    window closed on an event the history still keeps, and a connection whose
    socket is no longer read is closed at the same deadline; the honest
    subscriber gets everything, and the windowless connection still serves."""
    write_ms = 1_000
    engine = engines(write_timeout_ms=write_ms, keepalive_ms=0, send_buffer_bytes=65_536)
    honest = Honest(engine, "w")
    windowless = H2Peer(engine.port, stream_window=1024, connection_window=1 << 30)
    # Windows wide enough for every event: only the socket holds them back.
    unread = H2Peer(engine.port, stream_window=1 << 24, connection_window=1 << 30)
    stuck = [windowless.request("/events?topic=w") for _ in range(64)]
    for stream in stuck:
        assert windowless.status(stream) == 200
    unread_streams = [unread.request("/events?topic=w") for _ in range(64)]
    for stream in unread_streams:
        assert unread.status(stream) == 200
    unread.stop_reading()
    wait_until(lambda: open_streams(engine) == 1 + 64 + 64, "every stream to open")

    start = time.monotonic()
    for number in range(3):  # all three stay in the default history
        engine.publish(big(number), topic="w")
        honest.got(number)
    windowless.wait_until(
        lambda: {e.stream_id for e in windowless.of(h2.events.StreamReset)} == set(stuck),
        "every windowless stream to be reset",
    )
    assert_on_time("the windowless streams reset", time.monotonic() - start, write_ms)
    # The unread connection's streams are gone with it: only the honest one is left.
    wait_until(lambda: open_streams(engine) == 1, "the stuck streams to close")
    assert time.monotonic() - start <= write_ms / 1000 + SLACK

    engine.publish(big(3), topic="w")
    honest.got(3)
    stream = windowless.request("/healthz")
    assert windowless.status(stream) == 200
    windowless.close()
    unread.close()


def test_a_peer_that_stops_answering_pings_is_closed(engines):
    """With streams open, the engine PINGs a connection whose client has sent
    nothing for keepalive_ms, and closes it when the PING is unanswered for
    write_timeout_ms. A peer that answers stays, through many PINGs, and keeps
    receiving events."""
    keepalive_ms, write_ms = 1_000, 1_000
    engine = engines(keepalive_ms=keepalive_ms, write_timeout_ms=write_ms, idle_timeout_ms=60_000)
    answering = H2Peer(engine.port)
    dead = H2Peer(engine.port)
    live_stream = answering.request("/events?topic=p")
    dead_stream = dead.request("/events?topic=p")
    assert answering.status(live_stream) == 200
    assert dead.status(dead_stream) == 200
    assert open_streams(engine) == 2

    pings_before = len(dead.of(h2.events.PingReceived))
    dead.stop_answering()
    stopped = time.monotonic()
    closed_at = dead.wait_closed()
    pings = len(dead.of(h2.events.PingReceived)) - pings_before
    assert pings == 1, f"{pings} PINGs before the close"
    assert_on_time("the dead peer closed", closed_at - stopped, keepalive_ms + write_ms)
    wait_until(lambda: open_streams(engine) == 1, "the dead peer's stream to close")

    # The answering peer has been PINGed all along, and stays.
    answering.wait_until(
        lambda: len(answering.of(h2.events.PingReceived)) >= 4, "four PINGs answered"
    )
    assert answering.closed_at is None
    engine.publish("still here", topic="p")
    answering.wait_until(
        lambda: (
            b"data: still here"
            in b"".join(e.data or b"" for e in answering.of(h2.events.DataReceived, live_stream))
        ),
        "the event on the answering peer's stream",
    )
    dead.close()
    answering.close()
