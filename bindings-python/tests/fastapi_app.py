"""The FastAPI app the suite runs under uvicorn: its POST route publishes through
the engine that `ssecast.fastapi.lifespan` starts with the app."""

from __future__ import annotations

from typing import Any, Optional

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

import ssecast
import ssecast.fastapi
from ssecast.fastapi import EngineDep

PAGE_ORIGIN = "http://page.example"

app = FastAPI(lifespan=ssecast.fastapi.lifespan(port=0, keepalive_ms=0, cors_origins=[PAGE_ORIGIN]))


class PublishRequest(BaseModel):
    topic: str
    data: Any
    event: Optional[str] = None
    id: Optional[str] = None
    retry: Optional[int] = None


@app.get("/health")
def health(engine: EngineDep) -> dict[str, Any]:
    return {"engine_port": engine.port, "stats": engine.stats()}


@app.post("/publish")
def publish(body: PublishRequest, engine: EngineDep) -> dict[str, str]:
    event_id = engine.publish(body.topic, body.data, event=body.event, id=body.id, retry=body.retry)
    return {"id": event_id}


@app.exception_handler(ssecast.Error)
def ssecast_error(_request: Any, exc: ssecast.Error) -> JSONResponse:
    status = 422 if isinstance(exc, ValueError) else 503
    return JSONResponse({"error": str(exc), "code": exc.code}, status_code=status)
