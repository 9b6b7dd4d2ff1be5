"""ssecast: a Server-Sent Events engine written in Rust.

Your Python service keeps its web framework; ssecast serves every SSE connection
on a port of its own, with history replay (``Last-Event-ID``) and fan-out::

    import ssecast

    with ssecast.Engine(port=0) as engine:
        print(f"streams on http://127.0.0.1:{engine.port}/events?topic=chat")
        engine.publish("chat", {"text": "hello"}, event="message")

To serve the streams on your own routes instead, ``engine.subscribe(topics,
last_event_id)`` gives a :class:`Subscription` (``async for chunk in it``), and
``ssecast.fastapi.EventStreamResponse`` streams one as a response.

Errors are :class:`Error` subclasses whose ``code`` is the engine's code
(``"INVALID_ID"``...); those caused by a bad argument are also ``ValueError``.
``ssecast.fastapi`` (imported on first use) starts an engine with a FastAPI app.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ._ssecast import (
    CONFIG_KEYS,
    BindError,
    ConfigError,
    Engine,
    Error,
    InternalError,
    InvalidDataError,
    InvalidEventNameError,
    InvalidIdError,
    InvalidTopicError,
    StoppedError,
    StorageError,
    Subscription,
    TooLargeError,
    TooManyConnectionsError,
    TooManyTopicsError,
    UnavailableError,
    __version__,
)

__all__ = [
    "CONFIG_KEYS",
    "BindError",
    "ConfigError",
    "Engine",
    "Error",
    "InternalError",
    "InvalidDataError",
    "InvalidEventNameError",
    "InvalidIdError",
    "InvalidTopicError",
    "StoppedError",
    "StorageError",
    "Subscription",
    "TooLargeError",
    "TooManyConnectionsError",
    "TooManyTopicsError",
    "UnavailableError",
    "__version__",
]


def __getattr__(name: str) -> ModuleType:
    """Imports ``ssecast.fastapi`` and ``ssecast.starlette`` on first access, so
    FastAPI and Starlette stay optional."""
    if name in ("fastapi", "starlette"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
