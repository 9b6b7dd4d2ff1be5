"""The README's standalone-server walk-through, pasted as written into three
shells (with the port replaced by a free one and the build already done by
make release), works: the server says publishing is on, curl subscribes, and
curl's publish reaches the subscriber."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from pathlib import Path

from harness.engine import BINARY, REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def standalone_blocks() -> list[str]:
    """The shell blocks of the README's standalone-server section, in order."""
    section = README.split("### Any language: the standalone server", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```", section, re.MULTILINE | re.DOTALL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def shell(script: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(["bash", "-euc", script], cwd=REPO, text=True, **kwargs)  # type: ignore[call-overload]


def test_the_standalone_walk_through_works_as_written(tmp_path: Path) -> None:
    server_block, subscribe_block, publish_block = standalone_blocks()
    assert "cargo build --release -p ssecast-cli" in server_block
    assert "export TOKEN=" in server_block and "export TOKEN=" in publish_block
    port = str(free_port())
    # The build is make release's; the binary is the one it built.
    server_script = "\n".join(
        line for line in server_block.splitlines() if not line.startswith("cargo build")
    ).replace("./target/release/ssecast", f"exec {BINARY}")
    server = shell(
        server_script.replace("8080", port), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    subscriber = None
    try:
        assert server.stderr is not None
        # The engine's own log line (SSECAST_LOG defaults to info) may come first.
        listening = server.stderr.readline()
        while listening and not listening.startswith("ssecast listening"):
            listening = server.stderr.readline()
        publishing = server.stderr.readline()
        assert listening.startswith(f"ssecast listening on http://127.0.0.1:{port}/"), listening
        assert "HTTP publishing is on" in publishing, publishing

        subscriber = shell(
            "exec " + subscribe_block.strip().replace("8080", port).replace("curl -N", "curl -sN"),
            stdout=subprocess.PIPE,
        )
        assert subscriber.stdout is not None
        assert subscriber.stdout.readline() == ": ok\n"  # subscribed

        published = subprocess.run(
            ["bash", "-euc", publish_block.replace("8080", port).replace("curl ", "curl -s ", 1)],
            cwd=REPO,
            text=True,
            capture_output=True,
            timeout=30,
            check=True,
        )
        event_id = json.loads(published.stdout)["id"]
        first = subscriber.stdout.readline()
        while first == "\n":  # the blank line that may close the opening comment
            first = subscriber.stdout.readline()
        lines = [first] + [subscriber.stdout.readline() for _ in range(3)]
        assert lines == [f"id: {event_id}\n", "event: message\n", 'data: {"text":"hi"}\n', "\n"]
    finally:
        for process in (subscriber, server):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)
