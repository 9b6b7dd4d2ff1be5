"""The SSE clients under test. Each runs as a small program (python/, node/,
rust/ beside this folder) that reads one stream URL the way the client's own
documentation shows and prints one JSON line per thing the client hands over:

    {"kind": "open"}                                   a (re)connection opened
    {"kind": "event", "id": ..., "event": ..., "data": ...}
    {"kind": "error", "message": ...}                  the client reported an error
    {"kind": "closed"}                                 the client gave up

Clients that do not reconnect by themselves are run by a program that does what
their users must: open a new stream with Last-Event-ID set to the last id the
client handed over.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from .wire import Expected

HERE = Path(__file__).resolve().parents[1]
# Where make test-clients installed the npm clients and built the Rust one.
NODE_MODULES = os.environ.get(
    "CLIENTS_NODE_MODULES", str(HERE.parents[1] / "build" / "clients" / "node" / "node_modules")
)
REQWEST_CLIENT = os.environ.get(
    "REQWEST_EVENTSOURCE_CLIENT",
    str(HERE.parents[1] / "target" / "release" / "reqwest-eventsource-client"),
)
# How long a client may take to hand over an event that is on the wire.
PROMPT_SECONDS = float(os.environ.get("CLIENTS_PROMPT_SECONDS", "5"))


def join_lines(lines: list[str]) -> str:
    """The spec: data lines joined with LF."""
    return "\n".join(lines)


def join_skipping_leading_empty_lines(lines: list[str]) -> str:
    """@microsoft/fetch-event-source appends a line only to non-empty data, so
    empty data lines before the first non-empty one are lost."""
    data = ""
    for line in lines:
        data = f"{data}\n{line}" if data else line
    return data


@dataclass(frozen=True)
class Client:
    """One client under test, and what it does where it departs from the spec
    (each departure is written up in the README's Clients section)."""

    name: str
    argv: Callable[[str, list[str]], list[str]]
    reconnects_itself: bool
    join_data: Callable[[list[str]], str] = join_lines
    # Sets Last-Event-ID from an `id:` line before the event is complete, so a
    # stream cut inside an event resumes after it: that event is lost.
    resumes_after_half_event: bool = False

    def sees(self, expected: Expected) -> dict[str, str]:
        """`expected` as this client hands it over."""
        return {
            "id": expected.id,
            "event": expected.event,
            "data": self.join_data(expected.data_lines),
        }

    def start(self, url: str, event_names: list[str]) -> Run:
        return Run(self.name, self.argv(url, event_names))


def _python(script: str) -> Callable[[str, list[str]], list[str]]:
    return lambda url, _names: [sys.executable, str(HERE / "python" / script), url]


def _node(script: str) -> Callable[[str, list[str]], list[str]]:
    return lambda url, names: ["node", str(HERE / "node" / script), url, *names]


CLIENTS = [
    Client("sseclient-py", _python("sseclient_py_client.py"), reconnects_itself=False),
    Client("httpx-sse", _python("httpx_sse_client.py"), reconnects_itself=False),
    Client("eventsource", _node("eventsource_client.js"), reconnects_itself=True),
    Client(
        "fetch-event-source",
        _node("fetch_event_source_client.js"),
        reconnects_itself=True,
        join_data=join_skipping_leading_empty_lines,
        resumes_after_half_event=True,
    ),
    Client(
        "reqwest-eventsource", lambda url, _names: [REQWEST_CLIENT, url], reconnects_itself=True
    ),
]


class Run:
    """A client program reading one stream; its output lines, as they come."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.lines: queue.Queue[Optional[dict[str, Any]]] = queue.Queue()
        self.stderr: list[str] = []
        env = dict(os.environ, NODE_PATH=NODE_MODULES, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=env,
        )
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)

    def next(self, what: str, timeout: float) -> dict[str, Any]:
        """The next line, or a failure saying what did not come."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"{self.name}: no {what} within {timeout} s; stderr: {''.join(self.stderr)[-2000:]}"
            ) from None
        if line is None:
            raise AssertionError(
                f"{self.name}: exited ({self.process.wait()}) before {what}; "
                f"stderr: {''.join(self.stderr)[-2000:]}"
            )
        return line

    def wait_open(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Waits for the next `open`; returns what came before it."""
        before = []
        deadline = time.monotonic() + timeout
        while True:
            line = self.next("open", max(0.01, deadline - time.monotonic()))
            if line["kind"] == "open":
                return before
            before.append(line)

    def events(self, count: int, timeout: float = PROMPT_SECONDS) -> list[dict[str, str]]:
        """The next `count` events (errors and re-opens in between are skipped),
        each within `timeout` of the previous one."""
        got: list[dict[str, str]] = []
        while len(got) < count:
            line = self.next(f"event {len(got) + 1} of {count} (got {got[-3:]})", timeout)
            if line["kind"] == "event":
                got.append({k: line[k] for k in ("id", "event", "data")})
        return got

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
