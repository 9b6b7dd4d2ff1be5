"""A FastAPI app as a user runs it under ``gunicorn -w 4 -k
uvicorn.workers.UvicornWorker``: every worker runs an engine on the same
stream port (``reuse_port``), joined by the same Redis (``backplane``), so an
event published by any worker reaches the streams of every worker.

Configured by ``APP_STREAM_PORT`` and ``APP_BACKPLANE``.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

import ssecast.fastapi

app = FastAPI(
    lifespan=ssecast.fastapi.lifespan(
        port=int(os.environ["APP_STREAM_PORT"]),
        reuse_port=True,
        backplane=os.environ["APP_BACKPLANE"],
    )
)


@app.post("/notify/{topic}")
def notify(topic: str, text: str, engine: ssecast.fastapi.EngineDep) -> dict[str, object]:
    """Publishes ``text``; says which worker did."""
    return {"id": engine.publish(topic, text), "worker": os.getpid()}


@app.get("/worker")
def worker(engine: ssecast.fastapi.EngineDep) -> dict[str, object]:
    """This worker's process id and its engine's stats."""
    return {"worker": os.getpid(), **engine.stats()}
