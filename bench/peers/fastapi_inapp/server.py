"""FastAPI with ssecast in-app streams, written the way its README shows: the
engine starts with the app, GET /events returns an EventStreamResponse, and
POST /publish publishes through the engine. Same surface as ssecast: GET
/events?topic=..., POST /publish (JSON {"topic", "data"}).

Usage: python server.py PORT
"""

import sys
from typing import Any, Optional

import uvicorn
from fastapi import FastAPI, Request
from pydantic import BaseModel

import ssecast.fastapi
from ssecast.fastapi import EngineDep, EventStreamResponse

# One engine thread, like every other server of the benchmark; its own port is unused.
app = FastAPI(lifespan=ssecast.fastapi.lifespan(port=0, worker_threads=1, max_connections=20000))


class Publish(BaseModel):
    topic: Optional[str] = None
    data: str


@app.get("/events")
async def events(
    request: Request, engine: EngineDep, topic: str = "default"
) -> EventStreamResponse:
    return EventStreamResponse(engine, topic, request)


@app.post("/publish")
async def publish(body: Publish, engine: EngineDep) -> dict[str, Any]:
    return {"id": engine.publish(body.topic or "default", body.data)}


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8085
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        backlog=4096,
        timeout_keep_alive=3600,
    )
