"""Real parts for the backplane tests: Debian's ``redis-server`` on a free
loopback port with a temporary directory, standalone ``ssecast`` nodes (the
CLI binary, ``$SSECAST_BIN``) joined through it, and an SSE reader that keeps
what a stream sent. Nothing is a system service; everything stops with the test.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

REPO = Path(__file__).resolve().parents[2]
SSECAST_BIN = Path(os.environ.get("SSECAST_BIN", REPO / "target" / "release" / "ssecast"))
LISTENING = "ssecast listening on http://"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """``redis-server`` that writes every change to disk before answering
    (``appendfsync always``), so a restart keeps every acknowledged publish."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ssecast-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--dir", str(self.dir), "--save", "", "--appendonly", "yes"]
            + ["--appendfsync", "always", "--daemonize", "no"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if "Ready to accept connections" in line:
                break
        else:
            raise RuntimeError(f"redis-server did not start on port {self.port}")
        # Keep draining its log so that it never blocks on a full pipe.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def kill(self) -> None:
        """SIGKILL, as a crash."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Node:
    """The ``ssecast`` CLI on a free port, joined to ``backplane``."""

    def __init__(self, backplane: str, **config: Any) -> None:
        self.token = secrets.token_hex(16)
        args = [str(SSECAST_BIN), "--port", "0", "--bind", "127.0.0.1"]
        args += ["--publish-token", self.token, "--backplane", backplane]
        for key, value in config.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ, SSECAST_LOG="warn"),
        )
        assert self.process.stderr is not None
        first = self.process.stderr.readline()
        if not first.startswith(LISTENING):
            self.process.kill()
            raise RuntimeError(f"ssecast did not start: {first}")
        self.origin = "http://" + first[len(LISTENING) :].split("/", 1)[0]
        threading.Thread(target=self.process.stderr.read, daemon=True).start()
        self.http = httpx.Client(base_url=self.origin, timeout=10.0)

    def events_url(self, topics: Iterable[str]) -> str:
        return f"{self.origin}/events?" + urlencode([("topic", t) for t in topics])

    def try_publish(self, data: str, topic: str) -> httpx.Response:
        return self.http.post(
            "/publish",
            json={"topic": topic, "data": data},
            headers={"Authorization": f"Bearer {self.token}"},
        )

    def publish(self, data: str, topic: str) -> str:
        response = self.try_publish(data, topic)
        assert response.status_code == 200, response.text
        event_id: str = response.json()["id"]
        return event_id

    def wait_connected(self, timeout: float = 15.0) -> None:
        """Until a publish goes through (the node has reached Redis)."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.try_publish("ping", "_ready")
            if response.status_code == 200:
                return
            assert time.monotonic() < deadline, response.text
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL, as a crash."""
        self.http.close()
        self.process.kill()
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process.returncode is None:
            self.http.close()
            self.process.terminate()
            self.process.wait(timeout=20)


class Reader:
    """Reads one SSE stream on a thread; keeps its events ``(id, data)`` and
    counts keep-alive comments."""

    def __init__(self, url: str, last_event_id: str | None = None) -> None:
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        self.client = httpx.Client(timeout=httpx.Timeout(10.0, read=None))
        self.response = self.client.send(
            self.client.build_request("GET", url, headers=headers), stream=True
        )
        self.status = self.response.status_code
        self.events: list[tuple[str, str]] = []
        self.comments = 0
        self.ended = False
        self.changed = threading.Condition()
        self.opened = threading.Event()
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
            assert self.opened.wait(10), "no opening line"

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            for line in self.response.iter_lines():
                self.opened.set()
                if line.startswith(":"):
                    with self.changed:
                        self.comments += 1
                        self.changed.notify_all()
                elif line == "":
                    if "data" in fields:
                        with self.changed:
                            self.events.append((fields.get("id", ""), fields["data"]))
                            self.changed.notify_all()
                    fields = {}
                else:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
        except httpx.HTTPError:
            pass
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[tuple[str, str]]:
        """The first ``count`` events, once they have arrived."""
        with self.changed:
            ok = self.changed.wait_for(lambda: len(self.events) >= count, timeout)
            assert ok, f"{len(self.events)} of {count} events: {self.events[-3:]}"
            return list(self.events[:count])

    def wait_comments(self, count: int, timeout: float = 20.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.comments >= count, timeout)

    def close(self) -> None:
        self.response.close()
        self.client.close()
