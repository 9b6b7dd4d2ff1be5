"""The release `ssecast` binary as a child process on a free port, published to
over HTTP as any publisher would."""

from __future__ import annotations

import os
import secrets
import subprocess
import threading
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlencode

import httpx

REPO = Path(__file__).resolve().parents[3]
BINARY = Path(os.environ.get("SSECAST_BIN", REPO / "target" / "release" / "ssecast"))
LISTENING = "ssecast listening on http://"


class Engine:
    """`ssecast --port 0` with the given configuration keys as flags; the port
    is read back from its start-up line, so no port is ever guessed."""

    def __init__(self, **config: Any) -> None:
        self.token = secrets.token_hex(16)
        args = [str(BINARY), "--port", "0", "--bind", "127.0.0.1", "--publish-token", self.token]
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
            rest = self.process.stderr.read() if self.process.poll() is not None else ""
            self.process.kill()
            raise RuntimeError(f"ssecast did not start: {first}{rest}")
        self.origin = "http://" + first[len(LISTENING) :].split("/", 1)[0]
        self.stderr: list[str] = [first]
        threading.Thread(target=self._drain, daemon=True).start()
        self.http = httpx.Client(base_url=self.origin, timeout=10.0)

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)

    def events_url(self, topics: list[str]) -> str:
        """The stream URL for `topics`, percent-encoded as a client sends it."""
        return f"{self.origin}/events?" + urlencode([("topic", t) for t in topics])

    def publish(
        self,
        data: str,
        topic: Optional[str] = None,
        event: Optional[str] = None,
        id: Optional[str] = None,
        retry: Optional[int] = None,
    ) -> str:
        """POST /publish with the bearer token; returns the event's id."""
        body: dict[str, Any] = {"data": data}
        for key, value in (("topic", topic), ("event", event), ("id", id), ("retry", retry)):
            if value is not None:
                body[key] = value
        response = self.http.post(
            "/publish", json=body, headers={"Authorization": f"Bearer {self.token}"}
        )
        assert response.status_code == 200, response.text
        event_id: str = response.json()["id"]
        return event_id

    def kill(self) -> None:
        """SIGKILL, as a crash: no clean close of anything."""
        self.http.close()
        self.process.kill()
        self.process.wait(timeout=20)

    @property
    def port(self) -> int:
        return int(self.origin.rsplit(":", 1)[1])

    def stop(self) -> None:
        """SIGTERM, as an operator stops it; it must exit cleanly (nothing to
        do after `kill`)."""
        if self.process.returncode is not None:
            return
        self.http.close()
        self.process.terminate()
        code = self.process.wait(timeout=20)
        assert code == 0, f"ssecast exited with {code}: {''.join(self.stderr)}"
