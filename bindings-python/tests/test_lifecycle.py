"""Starting, stopping and dropping engines: many clients, context managers,
garbage collection and interpreter exit."""

from __future__ import annotations

import gc
import socket
import subprocess
import sys
import textwrap
import threading
import time

import httpx
import pytest
from conftest import TIMEOUT, events_url
from httpx_sse import connect_sse

import ssecast

CLIENTS = 500


class RawStream:
    """A raw HTTP/1.1 event stream, opened once `: ok` has arrived."""

    def __init__(self, port: int, topic: str) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.socket.sendall(
            f"GET /events?topic={topic} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        )
        received = b""
        while b": ok\n" not in received:
            chunk = self.socket.recv(4096)
            assert chunk, "stream closed before it opened"
            received += chunk
        head = received.split(b"\r\n\r\n", 1)[0].lower()
        assert head.startswith(b"http/1.1 200")
        self.chunked = b"transfer-encoding: chunked" in head

    def read_to_end(self) -> bytes:
        """Everything the server sends until it ends the body and closes; fails
        if the connection is reset instead, or a chunked body is cut short."""
        received = b""
        while chunk := self.socket.recv(65536):
            received += chunk
        if self.chunked:
            assert received.endswith(b"0\r\n\r\n"), "the chunked body was cut short"
        return received

    def close(self) -> None:
        self.socket.close()


def test_stop_with_500_clients_connected_flushes_and_closes_every_stream() -> None:
    engine = ssecast.Engine(port=0, keepalive_ms=0, max_connections=CLIENTS + 10)
    clients: list[RawStream] = []
    try:
        for _ in range(CLIENTS):
            clients.append(RawStream(engine.port, "crowd"))
        assert engine.stats()["connections"] == CLIENTS
        engine.publish("crowd", "goodbye", id="last")
        engine.stop()
        assert engine.stopped
        for client in clients:
            # Published before stop: delivered; then the body ends.
            assert b"id: last\ndata: goodbye\n\n" in client.read_to_end()
    finally:
        for client in clients:
            client.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", engine.port), timeout=5)


def test_stop_is_idempotent_and_the_context_manager_stops() -> None:
    with ssecast.Engine(port=0) as engine:
        assert not engine.stopped
        assert f"127.0.0.1:{engine.port} running" in repr(engine)
    assert engine.stopped and "stopped" in repr(engine)
    engine.stop()
    engine.stop()
    assert engine.stopped


def test_context_manager_stops_on_exception_and_lets_it_through() -> None:
    with pytest.raises(KeyError), ssecast.Engine(port=0) as engine:
        raise KeyError("boom")
    assert engine.stopped


def test_garbage_collected_engine_closes_its_port_and_streams() -> None:
    engine = ssecast.Engine(port=0, keepalive_ms=0)
    port = engine.port
    with (
        httpx.Client(timeout=TIMEOUT) as client,
        connect_sse(client, "GET", events_url(engine), params={"topic": "gc"}) as source,
    ):
        engine.publish("gc", "before drop")
        del engine  # the last reference: dropping it stops the engine
        gc.collect()
        events = list(source.iter_sse())  # ends when the engine closes the stream
    assert [event.data for event in events] == ["before drop"]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


def test_collecting_a_running_engine_lets_other_threads_run() -> None:
    """The stop that garbage collection makes can wait for a stalled subscriber
    (up to shutdown_timeout_ms); it must not hold the GIL meanwhile."""
    engine = ssecast.Engine(
        port=0, keepalive_ms=0, shutdown_timeout_ms=1500, send_buffer_bytes=65536
    )
    # A subscriber that stops reading with a big event pending: the stop waits for it.
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    stalled.settimeout(10)
    stalled.connect(("127.0.0.1", engine.port))
    stalled.sendall(b"GET /events?topic=stall HTTP/1.0\r\nHost: localhost\r\n\r\n")
    received = b""
    while b": ok\n" not in received:
        received += stalled.recv(4096)
    for _ in range(2):
        engine.publish("stall", "x" * 256 * 1024)

    gaps: list[float] = []
    done = threading.Event()

    def measure_own_progress() -> None:
        last = time.monotonic()
        while not done.is_set():
            time.sleep(0.005)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    other = threading.Thread(target=measure_own_progress)
    other.start()
    try:
        started = time.monotonic()
        del engine  # the last reference
        gc.collect()
        took = time.monotonic() - started
    finally:
        done.set()
        other.join()
        stalled.close()
    assert took >= 1.0, f"the stop did not wait for the stalled subscriber ({took:.2f} s)"
    assert max(gaps) < 0.5, f"another thread was frozen for {max(gaps):.2f} s"


def test_program_exiting_without_stop_exits_cleanly_and_closes_streams() -> None:
    program = textwrap.dedent(
        """
        import sys
        import ssecast
        engine = ssecast.Engine(port=0, keepalive_ms=0)
        print(engine.port, flush=True)
        sys.stdin.readline()          # a client is connected now
        engine.publish("exit", "last words")
        # no stop(): the interpreter exits with the engine still running
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", program],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        port = int(child.stdout.readline())
        client = RawStream(port, "exit")
        child.stdin.write("go\n")
        child.stdin.flush()
        _, stderr = child.communicate(timeout=20)
        assert child.returncode == 0, stderr
        assert stderr == ""
        assert b"data: last words\n\n" in client.read_to_end()
        client.close()
    finally:
        child.kill()
        child.wait()
