"""The classic Server-Sent Events uses, streamed on this app's own port.

    pip install ./bindings-python fastapi uvicorn PyJWT
    JWT_SECRET=change-me uvicorn inapp:app --app-dir examples/fastapi --port 8000

Every stream is a route of this FastAPI app (same origin, behind its own
dependencies); ssecast does the rest: ids, history replay with Last-Event-ID,
keep-alive, fan-out. The engine's own port is not used.

- GET  /streams/notifications       per-user notifications; needs a JWT (HS256,
                                    JWT_SECRET) as `Authorization: Bearer` or
                                    `?token=` (what EventSource can send)
- POST /users/{user}/notifications  notifies one user (needs a JWT too)
- GET  /streams/chat/{room}         a chat room; POST /chat/{room} {"user", "text"}
- GET  /streams/dashboard           live counters every DASHBOARD_SECONDS
- POST /jobs                        starts a job; GET /streams/jobs/{job}?lastEventId=...
                                    replays it from its start: `progress` events,
                                    then one `complete`
- GET  /streams/ticker?symbol=AAPL  stock prices every TICK_SECONDS
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Optional

import jwt
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

import ssecast
import ssecast.fastapi
from ssecast.fastapi import EngineDep, EventStreamResponse

JWT_SECRET = os.environ.get("JWT_SECRET", "")
TICK_SECONDS = float(os.environ.get("TICK_SECONDS", "1"))
DASHBOARD_SECONDS = float(os.environ.get("DASHBOARD_SECONDS", "2"))
JOB_STEPS = 5
JOB_STEP_SECONDS = float(os.environ.get("JOB_STEP_SECONDS", "0.5"))
SYMBOLS = {"AAPL": 187.0, "MSFT": 415.0, "NVDA": 880.0}

background: set[asyncio.Task[None]] = set()
job_numbers = itertools.count(1)
chat_messages = itertools.count(1)


def spawn(coroutine: Any) -> None:
    """Runs `coroutine` in the background, kept referenced until it ends."""
    task = asyncio.get_running_loop().create_task(coroutine)
    background.add(task)
    task.add_done_callback(background.discard)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    if not JWT_SECRET:
        raise RuntimeError("set JWT_SECRET: the secret that signs the users' tokens (HS256)")
    async with ssecast.fastapi.lifespan(port=0)(app) as state:
        engine: ssecast.Engine = state[ssecast.fastapi.STATE_KEY]
        spawn(publish_prices(engine))
        spawn(publish_counters(engine))
        yield state
        for task in list(background):
            task.cancel()


app = FastAPI(title="ssecast in-app streams", lifespan=lifespan)


@app.exception_handler(ssecast.Error)
def bad_stream(_request: Request, error: ssecast.Error) -> JSONResponse:
    """A bad topic or id is the client's fault; anything else is ours."""
    status = 400 if isinstance(error, ValueError) else 503
    return JSONResponse({"error": str(error), "code": error.code}, status_code=status)


@app.get("/health")
def health(engine: EngineDep) -> dict[str, Any]:
    return {"stats": engine.stats()}


# ---- per-user notifications behind the app's own authentication ----


def current_user(
    authorization: Optional[str] = Header(default=None),
    token: Optional[str] = Query(default=None),
) -> str:
    """The `sub` of a valid JWT from the Authorization header or `?token=`."""
    raw = token
    if authorization and authorization.startswith("Bearer "):
        raw = authorization[len("Bearer ") :]
    if not raw:
        raise HTTPException(401, "a bearer token is required")
    try:
        claims = jwt.decode(
            raw, JWT_SECRET, algorithms=["HS256"], options={"require": ["sub", "exp"]}
        )
    except jwt.InvalidTokenError as error:
        raise HTTPException(401, f"invalid token: {error}") from error
    return str(claims["sub"])


@app.get("/streams/notifications")
def notifications(
    request: Request, engine: EngineDep, user: str = Depends(current_user)
) -> EventStreamResponse:
    return EventStreamResponse(engine, [f"user/{user}"], request)


class Notification(BaseModel):
    text: str = Field(min_length=1, max_length=500)


@app.post("/users/{user}/notifications")
def notify(
    user: str, note: Notification, engine: EngineDep, sender: str = Depends(current_user)
) -> dict[str, str]:
    body = {"from": sender, "text": note.text}
    return {"id": engine.publish(f"user/{user}", body, event="notification")}


# ---- a chat room ----


class ChatMessage(BaseModel):
    user: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1, max_length=500)


@app.get("/streams/chat/{room}")
def chat_stream(room: str, request: Request, engine: EngineDep) -> EventStreamResponse:
    return EventStreamResponse(engine, [f"chat/{room}"], request)


@app.post("/chat/{room}", status_code=201)
def chat_post(room: str, message: ChatMessage, engine: EngineDep) -> dict[str, str]:
    body = {"n": next(chat_messages), **message.model_dump()}
    return {"id": engine.publish(f"chat/{room}", body, event="message")}


# ---- a live dashboard ----


@app.get("/streams/dashboard")
def dashboard(request: Request, engine: EngineDep) -> EventStreamResponse:
    return EventStreamResponse(engine, ["dashboard"], request)


async def publish_counters(engine: ssecast.Engine) -> None:
    while not engine.stopped:
        engine.publish("dashboard", engine.stats(), event="stats")
        await asyncio.sleep(DASHBOARD_SECONDS)


# ---- job progress with a final `complete` event ----


@app.post("/jobs", status_code=202)
async def start_job(engine: EngineDep) -> dict[str, Any]:
    """Starts a job. Its stream, opened with the returned `lastEventId`, replays
    everything from the start: no event is missed however late it connects."""
    job = next(job_numbers)
    queued = engine.publish(f"job/{job}", {"job": job, "steps": JOB_STEPS}, event="queued")
    spawn(run_job(engine, job))
    return {"job": job, "stream": f"/streams/jobs/{job}?lastEventId={queued}"}


@app.get("/streams/jobs/{job}")
def job_stream(job: int, request: Request, engine: EngineDep) -> EventStreamResponse:
    return EventStreamResponse(engine, [f"job/{job}"], request)


async def run_job(engine: ssecast.Engine, job: int) -> None:
    for step in range(1, JOB_STEPS + 1):
        await asyncio.sleep(JOB_STEP_SECONDS)
        percent = step * 100 // JOB_STEPS
        engine.publish(f"job/{job}", {"job": job, "percent": percent}, event="progress")
    engine.publish(f"job/{job}", {"job": job, "result": "ok"}, event="complete")


# ---- a stock ticker ----


@app.get("/streams/ticker")
def ticker(
    request: Request, engine: EngineDep, symbol: Annotated[Optional[list[str]], Query()] = None
) -> EventStreamResponse:
    symbols = symbol or list(SYMBOLS)
    unknown = [s for s in symbols if s not in SYMBOLS]
    if unknown:
        raise HTTPException(404, f"unknown symbols: {', '.join(unknown)}")
    return EventStreamResponse(engine, [f"ticker/{s}" for s in symbols], request)


async def publish_prices(engine: ssecast.Engine) -> None:
    prices = dict(SYMBOLS)
    while not engine.stopped:
        for name, price in prices.items():
            prices[name] = round(max(1.0, price * (1 + random.gauss(0, 0.002))), 2)
            engine.publish(f"ticker/{name}", {"symbol": name, "price": prices[name]}, event="price")
        await asyncio.sleep(TICK_SECONDS)
