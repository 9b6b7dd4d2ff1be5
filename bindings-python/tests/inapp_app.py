"""The FastAPI app of the in-app stream tests: its own route streams engine
subscriptions with `EventStreamResponse`."""

from __future__ import annotations

from typing import Annotated, Any, Optional

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse

import ssecast
import ssecast.fastapi
from ssecast.fastapi import EngineDep, EventStreamResponse

app = FastAPI(
    lifespan=ssecast.fastapi.lifespan(
        port=0, keepalive_ms=0, history_size=100_000, history_bytes=64 * 1024 * 1024
    )
)


@app.get("/health")
def health(engine: EngineDep) -> dict[str, Any]:
    return {"engine_port": engine.port, "stats": engine.stats()}


@app.get("/stream")
async def stream(
    request: Request, engine: EngineDep, topic: Annotated[Optional[list[str]], Query()] = None
) -> EventStreamResponse:
    return EventStreamResponse(engine, topic or [], request)


@app.post("/publish-many")
def publish_many(topic: str, count: int, engine: EngineDep) -> dict[str, str]:
    ids = [engine.publish(topic, str(n)) for n in range(count)]
    return {"first": ids[0], "last": ids[-1]}


@app.exception_handler(ssecast.Error)
def ssecast_error(_request: Any, exc: ssecast.Error) -> JSONResponse:
    status = 400 if isinstance(exc, ValueError) else 503
    return JSONResponse({"error": str(exc), "code": exc.code}, status_code=status)
