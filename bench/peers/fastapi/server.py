"""The FastAPI SSE peer, written the way FastAPI users write one: a set of
per-client queues and a publish endpoint that puts each event on all of them.
Same surface as ssecast: GET /events, POST /publish (JSON {"data": ...}).

Usage: python server.py PORT
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sys

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

app = FastAPI()
clients: set[asyncio.Queue] = set()
ids = itertools.count(1)
LINE_BREAK = re.compile(r"\r\n|\r|\n")


class Publish(BaseModel):
    topic: str | None = None
    data: str


@app.get("/events")
async def events(request: Request):
    queue: asyncio.Queue = asyncio.Queue()
    clients.add(queue)

    async def stream():
        try:
            yield ": ok\n\n"
            while True:
                yield await queue.get()
        finally:
            clients.discard(queue)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache"},
    )


@app.post("/publish")
async def publish(body: Publish):
    event_id = next(ids)
    data = "\ndata: ".join(LINE_BREAK.split(body.data))
    frame = f"id: {event_id}\ndata: {data}\n\n"
    for queue in clients:
        queue.put_nowait(frame)
    return {"id": str(event_id)}


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8083
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        backlog=4096,
        timeout_keep_alive=3600,
    )
