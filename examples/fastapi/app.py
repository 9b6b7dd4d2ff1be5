"""Notifications and job progress over Server-Sent Events, streamed by ssecast.

Run it (README.md beside this file says more), from the repository root:

    python3 -m venv .venv && . .venv/bin/activate
    pip install "./bindings-python[fastapi]" uvicorn
    python examples/fastapi/app.py        # then open http://127.0.0.1:8000 or http://localhost:8000

FastAPI serves the page and the POST routes and publishes through ssecast; the
ssecast engine serves the event streams on a port of its own and lets the
page's origins connect through CORS. Environment variables: PORT (the app,
default 8000), ENGINE_PORT (the engine, default 8001), APP_ORIGINS (the page
origins the engine allows, comma-separated; default both spellings of
http://127.0.0.1:PORT and http://localhost:PORT), JOB_STEP_SECONDS (how long
each step of a demo job takes).

Each user also has a private inbox, `user/<name>/inbox`: the engine checks a
token on every stream (SSECAST_JWT_SECRET, or a random secret per run) and
`notifications` and `jobs` stay public. The app logs its user in its own way
(here a bare name in a cookie; use your real session), mints the user's stream
token into an HttpOnly cookie that the browser also sends to the engine's port,
and refreshes it before it expires; the page streams with
`EventSource(url, { withCredentials: true })`.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Optional

from fastapi import Cookie, Depends, FastAPI, HTTPException, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

import ssecast
import ssecast.fastapi
from ssecast.fastapi import EngineDep

PORT = int(os.environ.get("PORT", "8000"))
APP_ORIGINS = os.environ.get(
    "APP_ORIGINS", f"http://127.0.0.1:{PORT},http://localhost:{PORT}"
).split(",")
ENGINE_PORT = int(os.environ.get("ENGINE_PORT", "8001"))
JOB_STEPS = 5
JOB_STEP_SECONDS = float(os.environ.get("JOB_STEP_SECONDS", "0.6"))
PAGE = Path(__file__).with_name("index.html").read_text(encoding="utf-8")
JWT_SECRET = os.environ.get("SSECAST_JWT_SECRET") or secrets.token_urlsafe(32)
STREAM_TOKEN_TTL = timedelta(minutes=10)
USER_NAME = r"^[A-Za-z0-9_-]{1,32}$"

app = FastAPI(
    title="ssecast example",
    lifespan=ssecast.fastapi.lifespan(
        port=ENGINE_PORT,
        cors_origins=APP_ORIGINS,
        retry_ms=2000,
        jwt_secret=JWT_SECRET,
        public_topics=["notifications", "jobs"],
    ),
)

# Background jobs, kept referenced until they finish.
running_jobs: set[asyncio.Task[None]] = set()
job_numbers = itertools.count(1)


class Notification(BaseModel):
    """A message for everyone watching the page."""

    text: str
    level: str = "info"


@app.get("/", response_class=HTMLResponse)
def page() -> str:
    """The page that listens to both streams."""
    return PAGE


@app.get("/config")
def config(request: Request, engine: EngineDep) -> dict[str, Any]:
    """Where the page finds the event stream (the engine's port on this host),
    and the page origins the engine allows, so the page can say why it fails."""
    host = request.url.hostname or "127.0.0.1"
    return {"events": f"http://{host}:{engine.port}/events", "origins": APP_ORIGINS}


@app.post("/notifications")
def notify(note: Notification, engine: EngineDep) -> dict[str, str]:
    """Sends a notification to every open page; answers with the event id."""
    return {"id": engine.publish("notifications", note.model_dump(), event="notification")}


@app.post("/jobs")
async def start_job(engine: EngineDep) -> dict[str, Any]:
    """Starts a job whose progress events go to the `jobs` topic."""
    job = next(job_numbers)
    task = asyncio.create_task(run_job(engine, job))
    running_jobs.add(task)
    task.add_done_callback(running_jobs.discard)
    return {"job": job, "steps": JOB_STEPS}


async def run_job(engine: ssecast.Engine, job: int) -> None:
    """A stand-in for real work: a progress event per step, then `done`."""
    for step in range(1, JOB_STEPS + 1):
        await asyncio.sleep(JOB_STEP_SECONDS)
        engine.publish("jobs", {"job": job, "percent": step * 100 // JOB_STEPS}, event="progress")
    engine.publish("jobs", {"job": job}, event="done")


class Login(BaseModel):
    """Who the user says they are (the stand-in for your real login)."""

    user: str = Field(pattern=USER_NAME)


class Message(BaseModel):
    """A private message for one user's inbox."""

    text: str = Field(min_length=1, max_length=500)


def current_user(demo_user: Annotated[Optional[str], Cookie()] = None) -> str:
    """The logged-in user, from the cookie `/login` set; use your real session."""
    if demo_user is None:
        raise HTTPException(status_code=401, detail="log in first")
    return demo_user


User = Annotated[str, Depends(current_user)]


@app.post("/login")
def login(body: Login, response: Response) -> dict[str, str]:
    """Remembers who this browser is. Demo only: there is no password."""
    response.set_cookie("demo_user", body.user, httponly=True, samesite="lax")
    return {"user": body.user}


@app.post("/inbox/token")
def inbox_token(user: User, response: Response, engine: EngineDep) -> dict[str, Any]:
    """Mints the user's stream token into the engine's cookie (`ssecast_token`).

    Cookies ignore ports, so the browser sends it to the engine too. The page
    calls this again before `expires_in`; when the old token runs out its
    stream ends and the browser reconnects with the fresh cookie and
    Last-Event-ID, missing nothing.
    """
    token = engine.subscriber_token(["user/{sub}/inbox"], STREAM_TOKEN_TTL, subject=user)
    ttl = int(STREAM_TOKEN_TTL.total_seconds())
    response.set_cookie("ssecast_token", token, max_age=ttl, httponly=True, samesite="lax")
    return {"topic": f"user/{user}/inbox", "expires_in": ttl}


@app.post("/users/{recipient}/inbox")
def send_private(
    recipient: Annotated[str, PathParam(pattern=USER_NAME)],
    message: Message,
    sender: User,
    engine: EngineDep,
) -> dict[str, str]:
    """Sends a message that only `recipient`'s token can stream."""
    data = {"from": sender, "text": message.text}
    return {"id": engine.publish(f"user/{recipient}/inbox", data, event="private")}


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=PORT)
