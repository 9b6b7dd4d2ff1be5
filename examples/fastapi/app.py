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
"""

from __future__ import annotations

import asyncio
import itertools
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

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

app = FastAPI(
    title="ssecast example",
    lifespan=ssecast.fastapi.lifespan(
        port=ENGINE_PORT,
        cors_origins=APP_ORIGINS,
        retry_ms=2000,
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


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=PORT)
