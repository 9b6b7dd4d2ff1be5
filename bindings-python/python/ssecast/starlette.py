"""The engine's event streams served on your own Starlette or FastAPI route.

::

    @app.get("/notifications")
    async def notifications(request: Request, user: User = Depends(current_user)):
        return EventStreamResponse(engine, [f"user/{user.id}"], request)

The stream is what the engine's ``GET /events`` would send (resume with
``Last-Event-ID``, the reset signal, keep-alive, the slow-consumer rule), on
your origin, behind your own authentication. Starlette is imported only by
this module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Optional, Union

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ._ssecast import Engine, Subscription

__all__ = ["EventStreamResponse", "last_event_id"]

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""Headers every stream response carries besides its content type."""


def last_event_id(request: Request) -> Optional[str]:
    """The id a client resumes after: the ``Last-Event-ID`` header (what
    ``EventSource`` sends when it reconnects), else the ``lastEventId`` query
    parameter (for a page that stored its last id), as the engine reads them."""
    return request.headers.get("last-event-id", request.query_params.get("lastEventId"))


class EventStreamResponse(Response):
    """A ``text/event-stream`` response that streams an engine subscription.

    Subscribes at once, so a bad topic or id raises in your route
    (:class:`~ssecast.InvalidTopicError`, :class:`~ssecast.InvalidIdError`),
    as do :class:`~ssecast.StoppedError` and
    :class:`~ssecast.TooManyConnectionsError`. The response sends the
    subscription's bytes as they come, without a thread, and ends when the
    stream ends (engine stopped, slow consumer) or as soon as the client
    disconnects; either way the subscription's topics are released at once.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        engine: Engine,
        topics: Union[str, Iterable[str]],
        request: Request,
        *,
        status_code: int = 200,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.subscription: Subscription = engine.subscribe(topics, last_event_id(request))
        self.status_code = status_code
        self.background = None
        self.init_headers({**STREAM_HEADERS, **(headers or {})})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        subscription = self.subscription
        watcher = asyncio.get_running_loop().create_task(
            _close_on_disconnect(receive, subscription)
        )
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            async for chunk in subscription:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if subscription.end_reason != "closed":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            # The server reports a client gone mid-write (uvicorn's ClientDisconnected).
            pass
        finally:
            watcher.cancel()
            subscription.close()


async def _close_on_disconnect(receive: Receive, subscription: Subscription) -> None:
    """Closes the subscription when the client disconnects, which ends the
    response's iteration even while it waits for events."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            subscription.close()
            return
