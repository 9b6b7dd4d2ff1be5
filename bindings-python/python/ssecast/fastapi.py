"""FastAPI integration: an engine that starts and stops with the app, and its
streams on your own routes.

::

    from fastapi import FastAPI
    import ssecast.fastapi

    app = FastAPI(lifespan=ssecast.fastapi.lifespan(port=8081, cors_origins=["http://localhost:8000"]))

    @app.post("/notify")
    def notify(text: str, engine: ssecast.fastapi.EngineDep) -> dict[str, str]:
        return {"id": engine.publish("notifications", {"text": text})}

The engine is also ``app.state.ssecast`` and ``request.state.ssecast``. To keep a
lifespan of your own, enter ours inside it::

    @asynccontextmanager
    async def my_lifespan(app):
        async with ssecast.fastapi.lifespan(port=8081)(app):
            yield

Streams on the app's own origin, behind its own dependencies (in-app streams)::

    @app.get("/notifications")
    async def notifications(request: Request, engine: EngineDep,
                            user: User = Depends(current_user)) -> EventStreamResponse:
        return EventStreamResponse(engine, [f"user/{user.id}"], request)

Or let browsers reach the engine's own port, which is another origin than the
app's: list the app's origin in ``cors_origins``, or put both behind one reverse
proxy (see the README, "Same-origin deployment"). FastAPI is imported only by
this module; install it with ``pip install "ssecast[fastapi]"``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, Callable

from fastapi import Depends, FastAPI, Request

from ._ssecast import Engine
from .starlette import EventStreamResponse, last_event_id

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._ssecast import _EngineConfig

__all__ = [
    "STATE_KEY",
    "EngineDep",
    "EventStreamResponse",
    "get_engine",
    "last_event_id",
    "lifespan",
]

STATE_KEY = "ssecast"
"""Name of the engine in ``app.state`` and in the lifespan state."""


def lifespan(
    **config: Unpack[_EngineConfig],
) -> Callable[[FastAPI], AbstractAsyncContextManager[dict[str, Any]]]:
    """A FastAPI ``lifespan`` that runs an :class:`~ssecast.Engine` with the app.

    Keyword arguments are the engine's configuration keys, as for
    ``ssecast.Engine(**config)``. The engine starts when the app starts (a bad
    configuration fails the startup), is stored as ``app.state.ssecast`` and in
    the lifespan state (``request.state.ssecast``), and is stopped when the app
    shuts down, in a worker thread so the event loop keeps serving meanwhile.
    """

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        engine = Engine(**config)
        setattr(app.state, STATE_KEY, engine)
        try:
            yield {STATE_KEY: engine}
        finally:
            await asyncio.get_running_loop().run_in_executor(None, engine.stop)

    return run


def get_engine(request: Request) -> Engine:
    """A FastAPI dependency returning the engine started by :func:`lifespan`."""
    engine = getattr(request.app.state, STATE_KEY, None)
    if not isinstance(engine, Engine):
        # The app was set up without our lifespan: a setup error, not a bad argument.
        raise RuntimeError(  # noqa: TRY004
            "no ssecast engine on this app: create it with "
            "FastAPI(lifespan=ssecast.fastapi.lifespan(...))"
        )
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]
"""Type of a route parameter that receives the engine: ``engine: EngineDep``."""
