"""Runs examples/fastapi/app.py under uvicorn, as its first lines say, and uses it
the way its page does."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from conftest import REPO, TIMEOUT, take, wait_until_healthy
from httpx_sse import connect_sse

EXAMPLE = REPO / "examples" / "fastapi"


@pytest.fixture(scope="module")
def example() -> Iterator[str]:
    """The example app under uvicorn on a socket the test bound, so the port is
    free and known; the engine gets a free port too."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    env = dict(os.environ, ENGINE_PORT="0", APP_ORIGINS=url, JOB_STEP_SECONDS="0.01")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app:app",
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
        wait_until_healthy(f"{url}/config", lambda: server.poll() is None)
        yield url
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=20)
        listener.close()
        # uvicorn shuts down gracefully (running the lifespan, which stops the
        # engine), then re-raises SIGTERM.
        assert server.returncode in (0, -signal.SIGTERM), stderr
        assert "Traceback" not in stderr, stderr


def test_page_is_served_and_listens_with_event_source(example: str) -> None:
    page = httpx.get(example, timeout=TIMEOUT)
    assert page.status_code == 200
    assert "new EventSource(" in page.text
    assert "topic=notifications&topic=jobs" in page.text


def test_notifications_and_job_progress_stream_to_the_page_origin(example: str) -> None:
    events_url = httpx.get(f"{example}/config", timeout=TIMEOUT).json()["events"]
    with (
        httpx.Client(timeout=TIMEOUT) as client,
        connect_sse(
            client,
            "GET",
            events_url,
            params=[("topic", "notifications"), ("topic", "jobs")],
            headers={"Origin": example},
        ) as source,
    ):
        # The page's origin is allowed by the engine's CORS configuration.
        assert source.response.headers["access-control-allow-origin"] == example
        note = client.post(
            f"{example}/notifications", json={"text": "Deploy finished ✓", "level": "info"}
        ).json()
        job = client.post(f"{example}/jobs").json()
        # The engine opens each stream with `retry: 2000` (retry_ms), which
        # httpx-sse reports as an event without data; a browser dispatches none.
        events = take((e for e in source.iter_sse() if e.data), 1 + job["steps"] + 1)

    notification, *progress, done = events
    assert (notification.event, notification.id) == ("notification", note["id"])
    assert json.loads(notification.data) == {"text": "Deploy finished ✓", "level": "info"}
    assert [e.event for e in progress] == ["progress"] * job["steps"]
    assert [json.loads(e.data)["percent"] for e in progress] == [20, 40, 60, 80, 100]
    assert all(json.loads(e.data)["job"] == job["job"] for e in progress)
    assert (done.event, json.loads(done.data)) == ("done", {"job": job["job"]})


def free_port() -> int:
    """A loopback port nothing listens on right now (the app binds it next)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_run_as_the_readme_says_allows_both_spellings_of_the_page_origin() -> None:
    """`PORT=... python examples/fastapi/app.py`: pages of http://127.0.0.1:PORT
    and http://localhost:PORT may both read the streams; other origins may not."""
    port = free_port()
    env = dict(os.environ, PORT=str(port), ENGINE_PORT="0")
    env.pop("APP_ORIGINS", None)
    server = subprocess.Popen(
        [sys.executable, str(EXAMPLE / "app.py")], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(f"{url}/config", lambda: server.poll() is None)
        config = httpx.get(f"{url}/config", timeout=TIMEOUT).json()
        origins = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
        assert config["origins"] == origins
        for origin in origins:
            with httpx.stream(
                "GET",
                config["events"],
                params={"topic": "notifications"},
                headers={"Origin": origin},
                timeout=TIMEOUT,
            ) as response:
                assert response.status_code == 200
                assert response.headers["access-control-allow-origin"] == origin
        refused = httpx.get(
            config["events"], headers={"Origin": "http://localhost:1"}, timeout=TIMEOUT
        )
        assert refused.status_code == 403
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=20)
    assert "Traceback" not in stderr, stderr


def test_a_logged_in_user_streams_their_own_inbox_only(example: str) -> None:
    events_url = httpx.get(f"{example}/config", timeout=TIMEOUT).json()["events"]
    origin = {"Origin": example}
    assert httpx.post(f"{example}/inbox/token", timeout=TIMEOUT).status_code == 401
    # Each client keeps its cookies, as a browser does; cookies ignore ports, so
    # the stream token cookie the app sets reaches the engine's port too.
    with httpx.Client(timeout=TIMEOUT) as ada, httpx.Client(timeout=TIMEOUT) as bob:
        for client, name in [(ada, "ada"), (bob, "bob")]:
            assert client.post(f"{example}/login", json={"user": name}).status_code == 200
            minted = client.post(f"{example}/inbox/token").json()
            assert minted == {"topic": f"user/{name}/inbox", "expires_in": 600}
        # Without a token, and with another user's, the engine refuses the inbox.
        anonymous = httpx.get(events_url, params={"topic": "user/ada/inbox"}, timeout=TIMEOUT)
        assert anonymous.status_code == 401
        refused = bob.get(events_url, params={"topic": "user/ada/inbox"}, headers=origin)
        assert refused.status_code == 403
        assert refused.headers["access-control-allow-origin"] == example
        # The public topics need no token.
        with connect_sse(ada, "GET", events_url, params={"topic": "notifications"}) as public:
            assert public.response.status_code == 200
        with connect_sse(
            ada, "GET", events_url, params={"topic": "user/ada/inbox"}, headers=origin
        ) as source:
            assert source.response.status_code == 200
            assert source.response.headers["access-control-allow-credentials"] == "true"
            sent = bob.post(f"{example}/users/ada/inbox", json={"text": "hi ada"}).json()
            event = take((e for e in source.iter_sse() if e.data), 1)[0]
    assert (event.event, event.id) == ("private", sent["id"])
    assert json.loads(event.data) == {"from": "bob", "text": "hi ada"}
