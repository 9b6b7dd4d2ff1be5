"""Runs examples/fastapi/inapp.py under uvicorn, as its first lines say, and
reads each of its streams with a real SSE client; tokens are minted by PyJWT."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from conftest import REPO, TIMEOUT, take, wait_until_healthy
from httpx_sse import ServerSentEvent, connect_sse

EXAMPLE = REPO / "examples" / "fastapi"
SECRET = "a test secret of at least 32 bytes, for HS256"


def token(user: str, secret: str = SECRET, ttl: int = 300) -> str:
    return jwt.encode({"sub": user, "exp": int(time.time()) + ttl}, secret, algorithm="HS256")


@pytest.fixture(scope="module")
def example() -> Iterator[str]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    env = dict(
        os.environ,
        JWT_SECRET=SECRET,
        TICK_SECONDS="0.02",
        DASHBOARD_SECONDS="0.05",
        JOB_STEP_SECONDS="0.01",
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "inapp:app",
            "--app-dir",
            str(EXAMPLE),
            "--fd",
            str(listener.fileno()),
            "--log-level",
            "warning",
        ],
        env=env,
        pass_fds=[listener.fileno()],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_healthy(f"{url}/health", lambda: server.poll() is None)
        yield url
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=20)
        listener.close()
        assert server.returncode in (0, -signal.SIGTERM), stderr
        assert "Traceback" not in stderr, stderr


def events(url: str, count: int, **kwargs: Any) -> list[ServerSentEvent]:
    """The first `count` events (keep-alives and the opening are not events)."""
    with (
        httpx.Client(timeout=TIMEOUT) as client,
        connect_sse(client, "GET", url, **kwargs) as source,
    ):
        assert source.response.status_code == 200, source.response.read()
        assert source.response.headers["content-type"].startswith("text/event-stream")
        return take(source.iter_sse(), count)


def test_notifications_reach_only_their_user_behind_a_jwt(example: str) -> None:
    stream = f"{example}/streams/notifications"
    with httpx.Client(timeout=TIMEOUT) as client:
        headers = {"Authorization": f"Bearer {token('alice')}"}
        with connect_sse(client, "GET", stream, headers=headers) as alice:
            assert alice.response.status_code == 200
            bob_url = f"{stream}?token={token('bob')}"
            with connect_sse(client, "GET", bob_url) as bob:
                assert bob.response.status_code == 200
                carol = {"Authorization": f"Bearer {token('carol')}"}
                for user, text in [("alice", "for alice"), ("bob", "for bob")]:
                    response = client.post(
                        f"{example}/users/{user}/notifications", json={"text": text}, headers=carol
                    )
                    assert response.status_code == 200, response.text
                (to_alice,) = take(alice.iter_sse(), 1)
                (to_bob,) = take(bob.iter_sse(), 1)
    assert to_alice.event == "notification"
    assert json.loads(to_alice.data) == {"from": "carol", "text": "for alice"}
    assert json.loads(to_bob.data) == {"from": "carol", "text": "for bob"}


@pytest.mark.parametrize(
    "auth",
    [
        {},
        {"headers": {"Authorization": "Bearer not-a-jwt"}},
        {
            "headers": {
                "Authorization": f"Bearer {token('mallory', secret='another secret of at least 32 bytes!')}"
            }
        },
        {"headers": {"Authorization": f"Bearer {token('late', ttl=-60)}"}},
        {"params": {"token": jwt.encode({"sub": "nobody"}, SECRET, algorithm="HS256")}},
    ],
    ids=["no token", "garbage", "wrong key", "expired", "no exp"],
)
def test_notifications_refuse_bad_tokens(example: str, auth: dict[str, Any]) -> None:
    response = httpx.get(f"{example}/streams/notifications", timeout=TIMEOUT, **auth)
    assert response.status_code == 401
    assert httpx.get(f"{example}/health", timeout=TIMEOUT).json()["stats"]["connections"] == 0


def test_chat_room(example: str) -> None:
    chat = f"{example}/streams/chat/lobby"
    with (
        httpx.Client(timeout=TIMEOUT) as client,
        connect_sse(client, "GET", chat) as first,
        connect_sse(client, "GET", chat) as second,
    ):
        for text in ["hello", "world"]:
            response = client.post(f"{example}/chat/lobby", json={"user": "ada", "text": text})
            assert response.status_code == 201, response.text
        bad = client.post(f"{example}/chat/lobby", json={"user": "", "text": "x"})
        assert bad.status_code == 422
        seen = [take(s.iter_sse(), 2) for s in (first, second)]
    for received in seen:
        assert [json.loads(e.data)["text"] for e in received] == ["hello", "world"]
        assert all(e.event == "message" for e in received)


def test_live_dashboard(example: str) -> None:
    (stats,) = events(f"{example}/streams/dashboard", 1)
    assert stats.event == "stats"
    assert json.loads(stats.data)["connections"] >= 1, "it counts its own stream"


def test_job_progress_replayed_from_its_start_then_complete(example: str) -> None:
    started = httpx.post(f"{example}/jobs", timeout=TIMEOUT).json()
    assert started["stream"].startswith(f"/streams/jobs/{started['job']}?lastEventId=")
    received = events(f"{example}{started['stream']}", 6)
    assert [e.event for e in received] == ["progress"] * 5 + ["complete"]
    assert [json.loads(e.data).get("percent") for e in received[:5]] == [20, 40, 60, 80, 100]
    assert json.loads(received[-1].data) == {"job": started["job"], "result": "ok"}


def test_stock_ticker(example: str) -> None:
    prices = events(f"{example}/streams/ticker", 6, params={"symbol": ["AAPL", "NVDA"]})
    symbols = {json.loads(e.data)["symbol"] for e in prices}
    assert symbols == {"AAPL", "NVDA"}
    assert all(e.event == "price" and json.loads(e.data)["price"] > 0 for e in prices)
    assert httpx.get(f"{example}/streams/ticker?symbol=NOPE", timeout=TIMEOUT).status_code == 404
