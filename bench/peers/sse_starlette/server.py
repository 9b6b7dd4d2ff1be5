"""The sse-starlette peer, written the way its users write one: a queue per
client and an EventSourceResponse over a generator; POST /publish puts each
event on every queue. Same surface as ssecast: GET /events, POST /publish
(JSON {"data": ...}).

Usage: python server.py PORT
"""

import asyncio
import itertools
import sys
from collections.abc import AsyncIterator
from typing import Any, Optional

import uvicorn
from fastapi import FastAPI, Request
from pydantic import BaseModel
from sse_starlette import EventSourceResponse

app = FastAPI()
clients: set["asyncio.Queue[dict[str, str]]"] = set()
ids = itertools.count(1)


class Publish(BaseModel):
    topic: Optional[str] = None
    data: str


@app.get("/events")
async def events(request: Request) -> EventSourceResponse:
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    clients.add(queue)

    async def stream() -> AsyncIterator[dict[str, str]]:
        try:
            while True:
                yield await queue.get()
        finally:
            clients.discard(queue)

    return EventSourceResponse(stream())


@app.post("/publish")
async def publish(body: Publish) -> dict[str, Any]:
    event = {"id": str(next(ids)), "data": body.data}
    for queue in clients:
        queue.put_nowait(event)
    return {"id": event["id"]}


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8086
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        backlog=4096,
        timeout_keep_alive=3600,
    )
