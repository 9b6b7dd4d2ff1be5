"""An HTTP/2 peer written with the `h2` protocol library: one h2c connection
(prior knowledge) to the engine, whose frames a reader thread feeds to the
library as they arrive. The attacks are written with it: a window that never
opens, a socket that is no longer read, PINGs left unanswered."""

from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Optional, TypeVar

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from h2.settings import SettingCodes

E = TypeVar("E", bound=h2.events.Event)


def client_connection(stream_window: int = 65_535) -> h2.connection.H2Connection:
    """A client-side connection whose first SETTINGS give each stream a window
    of `stream_window` bytes; `initiate_connection` is left to the caller."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.local_settings = h2.settings.Settings(
        client=True,
        initial_values={
            SettingCodes.INITIAL_WINDOW_SIZE: stream_window,
            SettingCodes.MAX_CONCURRENT_STREAMS: 100,
        },
    )
    return conn


class H2Peer:
    """An h2c connection to `127.0.0.1:port`.

    Every frame the engine sends is fed to the library and kept as an event.
    While the peer `answers`, what the library has to send goes out at once
    (SETTINGS acknowledgements, PING answers); it never hands back the window
    of data it received, so each stream's window closes after `stream_window`
    bytes. `connection_window` bytes are added to the connection's window, so
    only the streams' windows count."""

    def __init__(
        self,
        port: int,
        stream_window: int = 65_535,
        connection_window: int = 0,
    ) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.conn = client_connection(stream_window)
        self.conn.initiate_connection()
        if connection_window:
            self.conn.increment_flow_control_window(connection_window)
        self.changed = threading.Condition()
        self.events: list[h2.events.Event] = []
        self.closed_at: Optional[float] = None
        self.answers = True
        self.reading = threading.Event()
        self.reading.set()
        self._send()
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for(h2.events.SettingsAcknowledged, "the engine to acknowledge our settings")

    def _send(self) -> None:
        data = self.conn.data_to_send()
        if data and self.answers:
            try:
                self.sock.sendall(data)
            except OSError:
                pass

    def _read(self) -> None:
        while True:
            self.reading.wait()
            try:
                data = self.sock.recv(65_536)
            except OSError:
                data = b""
            with self.changed:
                if data:
                    try:
                        self.events.extend(self.conn.receive_data(data))
                        self._send()
                    except h2.exceptions.ProtocolError:
                        data = b""  # frames after a GOAWAY: the connection is over
                if not data:
                    self.closed_at = time.monotonic()
                self.changed.notify_all()
            if not data:
                return

    def request(self, path: str) -> int:
        """Sends `GET path` on a new stream; returns the stream's id."""
        with self.changed:
            stream_id = self.conn.get_next_available_stream_id()
            headers = [
                (":method", "GET"),
                (":scheme", "http"),
                (":authority", f"127.0.0.1:{self.port}"),
                (":path", path),
            ]
            self.conn.send_headers(stream_id, headers, end_stream=True)
            self._send()
        return stream_id

    def of(self, kind: type[E], stream_id: Optional[int] = None) -> list[E]:
        """The events of `kind` so far (on `stream_id` if given)."""
        with self.changed:
            return [
                e
                for e in self.events
                if isinstance(e, kind)
                and (stream_id is None or getattr(e, "stream_id", None) == stream_id)
            ]

    def wait_until(self, predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
        """Waits until `predicate` (called under the peer's lock) holds."""
        with self.changed:
            if not self.changed.wait_for(predicate, timeout):
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def wait_for(self, kind: type[E], what: str, stream_id: Optional[int] = None) -> E:
        """Waits for the first event of `kind` (on `stream_id` if given)."""
        self.wait_until(lambda: bool(self.of(kind, stream_id)), what)
        return self.of(kind, stream_id)[0]

    def status(self, stream_id: int) -> int:
        """The status of the response on `stream_id`, once its head came."""
        response = self.wait_for(h2.events.ResponseReceived, "a response", stream_id)
        assert response.headers is not None
        return int(dict(response.headers)[b":status"])

    def body(self, stream_id: int) -> bytes:
        """The whole body of the response on `stream_id`, once it ended."""
        self.wait_for(h2.events.StreamEnded, "the end of a response", stream_id)
        return b"".join(e.data or b"" for e in self.of(h2.events.DataReceived, stream_id))

    def stop_answering(self) -> None:
        """From now on the peer reads every frame and writes nothing: no PING
        answer, no acknowledgement, as a peer whose HTTP/2 stack hangs."""
        with self.changed:
            self.answers = False

    def stop_reading(self) -> None:
        """From now on the socket is not read (after the read in progress, if
        any): the engine's writes pile up until the socket takes no more."""
        self.reading.clear()

    def wait_closed(self, timeout: float = 20.0) -> float:
        """Waits until the engine closes the connection; returns when it did."""
        self.wait_until(lambda: self.closed_at is not None, "the engine to close", timeout)
        assert self.closed_at is not None
        return self.closed_at

    def close(self) -> None:
        self.reading.set()
        self.sock.close()
