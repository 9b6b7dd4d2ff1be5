"""A TCP proxy between a client and the engine that records what passes and can
cut a connection in the middle of an event, as a network failure would, or
send new connections to an engine restarted on another port."""

from __future__ import annotations

import socket
import threading
from typing import Callable, Optional


class Connection:
    """One client connection through the proxy: the request head the client
    sent and every byte the engine sent back."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.head = b""
        self.received = bytearray()

    def header(self, name: str) -> Optional[str]:
        """A request header the client sent, or None."""
        for line in self.head.decode("latin-1").split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


class CuttingProxy:
    """Listens on a free loopback port and forwards each connection to the
    engine at `target_port`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.connections: list[Connection] = []
        self.changed = threading.Condition()
        self._cut_marker: Optional[bytes] = None
        self.cut_bytes: Optional[bytes] = None
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, engine_url: str) -> str:
        """`engine_url` with the proxy in place of the engine."""
        return engine_url.replace(f":{self.target_port}/", f":{self.port}/", 1)

    def retarget(self, target_port: int) -> None:
        """Sends new connections to the engine at `target_port` (an engine
        restarted on another port); the URL clients use stays the same."""
        with self.changed:
            self.target_port = target_port

    def cut_after(self, marker: bytes) -> None:
        """Arms one cut: when `marker` next passes from the engine to a client,
        the proxy forwards the bytes up to its end, then ends that connection
        (the client sees the stream end there, in the middle of an event)."""
        with self.changed:
            self._cut_marker = marker
            self.cut_bytes = None

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        """Waits until `condition()` holds, re-checked whenever bytes pass."""
        with self.changed:
            if not self.changed.wait_for(condition, timeout):
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def close(self) -> None:
        self.listener.close()
        with self.changed:
            for connection in self.connections:
                connection.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                # No engine there (it is down): the client sees the connection
                # close, as it would with the engine itself gone.
                client.close()
                continue
            connection = Connection(client, upstream)
            with self.changed:
                self.connections.append(connection)
                self.changed.notify_all()
            threading.Thread(target=self._requests, args=(connection,), daemon=True).start()
            threading.Thread(target=self._responses, args=(connection,), daemon=True).start()

    def _requests(self, connection: Connection) -> None:
        """Client to engine, recording the request head."""
        while True:
            try:
                chunk = connection.client.recv(65536)
                if not chunk:
                    break
                if b"\r\n\r\n" not in connection.head:
                    with self.changed:
                        connection.head += chunk
                        self.changed.notify_all()
                connection.upstream.sendall(chunk)
            except OSError:
                break
        connection.close()

    def _responses(self, connection: Connection) -> None:
        """Engine to client, cutting when armed."""
        while True:
            try:
                chunk = connection.upstream.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            with self.changed:
                marker = self._cut_marker
                cut_at = -1
                if marker is not None:
                    # The marker may straddle two reads: search with the tail
                    # of what passed before (too short to hold it whole).
                    keep = len(marker) - 1
                    tail = (
                        bytes(connection.received[len(connection.received) - keep :])
                        if keep
                        else b""
                    )
                    seen = tail + chunk
                    found = seen.find(marker)
                    if found >= 0:
                        cut_at = found + len(marker) - (len(seen) - len(chunk))
                if cut_at >= 0:
                    chunk = chunk[:cut_at]
                    self._cut_marker = None
                    self.cut_bytes = bytes(connection.received[-200:]) + chunk
                connection.received += chunk
                self.changed.notify_all()
            try:
                connection.client.sendall(chunk)
            except OSError:
                break
            if cut_at >= 0:
                break
        connection.close()
