"""Type stubs of the Rust extension module ``ssecast._ssecast``."""

import os
from collections.abc import Awaitable, Iterable, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, ClassVar, Literal, final

from typing_extensions import TypedDict, Unpack

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
    "ReadySet",
    "StoppedError",
    "StorageError",
    "Subscription",
    "TooLargeError",
    "TooManyConnectionsError",
    "TooManyTopicsError",
    "UnavailableError",
    "__version__",
]

__version__: str
CONFIG_KEYS: dict[str, str]
"""Every keyword ``Engine`` accepts, mapped to a line saying what it sets."""

class _Stats(TypedDict):
    connections: int
    topics: int
    published: int
    slow_consumers_dropped: int
    streams_opened: int
    streams_refused: int
    events_delivered: int
    bytes_delivered: int
    resets_sent: int
    auth_failures: int
    rate_limited: int
    backplane: str | None

class _EngineConfig(TypedDict, total=False):
    """The keyword arguments of ``Engine`` and ``ssecast.fastapi.lifespan``: one
    per key of ``CONFIG_KEYS``, with the type each is documented with."""

    port: int
    bind: str
    publish_token: str | None
    history_size: int
    history_bytes: int
    history_ttl_ms: int
    history_dir: str | os.PathLike[str] | None
    history_sync: Literal["always", "batch", "none"]
    disk_history_size: int
    disk_history_bytes: int
    disk_history_ttl_ms: int
    cors_origins: str | list[str] | tuple[str, ...] | None
    allowed_hosts: str | list[str] | tuple[str, ...] | None
    keepalive_ms: int
    retry_ms: int
    max_connections: int
    max_topics_per_connection: int
    max_topics: int
    max_event_bytes: int
    events_path: str
    publish_path: str
    health_path: str
    send_buffer_bytes: int
    worker_threads: int
    shutdown_timeout_ms: int
    poll_timeout_ms: int
    client_script: bool
    jwt_secret: str | None
    jwt_public_key: str | None
    jwt_algorithms: str | list[str] | tuple[str, ...] | None
    jwt_issuer: str | None
    jwt_audience: str | None
    jwt_cookie: str
    jwt_query_token: bool
    public_topics: str | list[str] | tuple[str, ...] | None
    max_connections_per_ip: int
    connection_rate_per_ip: int
    connection_burst_per_ip: int
    trusted_proxies: str | list[str] | tuple[str, ...] | None
    trusted_proxy_header: str
    head_timeout_ms: int
    idle_timeout_ms: int
    body_timeout_ms: int
    write_timeout_ms: int
    reconnect_jitter_ms: int
    metrics_bind: str | None
    metrics_token: str | None
    log_level: Literal["trace", "debug", "info", "warn", "error", "off"] | None
    log_format: Literal["text", "json"]
    backplane: str | None
    reuse_port: bool

@final
class Engine:
    """A running Server-Sent Events engine, started on construction."""

    def __new__(cls, **config: Unpack[_EngineConfig]) -> Engine: ...
    @property
    def port(self) -> int:
        """The TCP port the engine listens on (the one picked when ``port=0``)."""
    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` has been called."""
    def publish(
        self,
        topic: str,
        data: Any,
        *,
        event: str | None = None,
        id: str | None = None,
        retry: int | None = None,
    ) -> str:
        """Publishes one event to ``topic`` and returns its id."""
    def subscriber_token(
        self,
        topics: Sequence[str],
        ttl: float | timedelta,
        subject: str | None = None,
    ) -> str:
        """A token (signed with ``jwt_secret``) to stream ``topics`` for ``ttl`` seconds."""
    def publisher_token(self, topics: Sequence[str], ttl: float | timedelta) -> str:
        """A token (signed with ``jwt_secret``) to publish on ``topics`` over HTTP for ``ttl``."""
    def subscribe(
        self, topics: str | Iterable[str], last_event_id: str | None = None
    ) -> Subscription:
        """Opens an in-app stream of ``topics``, resumed after ``last_event_id``."""
    def stats(self) -> _Stats:
        """The engine's counters now: connections, topics, published,
        slow_consumers_dropped, streams_opened, streams_refused,
        events_delivered, bytes_delivered, resets_sent, auth_failures,
        rate_limited, and backplane (its state, or None)."""
    def drain(self, seconds: float) -> None:
        """Closes the streams gradually over ``seconds`` for a rolling deploy;
        returns once they are closed."""
    def stop(self) -> None:
        """Stops the engine and closes every stream; idempotent."""
    def __enter__(self) -> Engine: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

@final
class Subscription:
    """An in-app stream: ``async for chunk in subscription`` gives ``bytes``."""

    def __aiter__(self) -> Subscription: ...
    def __anext__(self) -> Awaitable[bytes]: ...
    def read_nowait(self) -> bytes | None:
        """The next chunk if one is ready, else ``None``."""
    def read(self, timeout: float | None = None) -> bytes | None:
        """Waits on this thread up to ``timeout`` seconds for the next chunk."""
    def _attach(self, ready: ReadySet) -> int: ...
    @property
    def ended(self) -> bool:
        """True once the stream is over."""
    @property
    def end_reason(self) -> str | None:
        """``"stopped"``, ``"drained"``, ``"slow-consumer"``, ``"closed"``, or ``None``."""
    def close(self) -> None:
        """Releases the subscription's topics at once; idempotent."""

@final
class ReadySet:
    """Where an event loop learns which subscriptions have something to read."""

    def __new__(cls) -> ReadySet: ...
    @property
    def fd(self) -> int:
        """The descriptor to watch for readability."""
    def take(self) -> list[int]:
        """The tokens of the subscriptions woken since the last call."""

class Error(Exception):
    """Base class of every ssecast error."""

    code: ClassVar[str]

class ConfigError(Error, ValueError):
    """An unknown configuration key, or a bad value."""

class InvalidTopicError(Error, ValueError):
    """A topic name that is empty, too long or contains control characters."""

class InvalidEventNameError(Error, ValueError):
    """An event name that is empty, too long or contains CR, LF or NUL."""

class InvalidIdError(Error, ValueError):
    """An event id that is empty, too long or contains CR, LF or NUL."""

class InvalidDataError(Error, ValueError):
    """A payload that is not valid UTF-8 or cannot be serialised as JSON."""

class TooLargeError(Error, ValueError):
    """A payload larger than the engine's max_event_bytes."""

class StoppedError(Error, RuntimeError):
    """The engine has been stopped; nothing more can be published."""

class BindError(Error, OSError):
    """The listening socket could not be bound."""

class TooManyTopicsError(Error):
    """A publish or subscription would create a topic while max_topics exist."""

class InternalError(Error):
    """Any other failure inside the engine."""

class UnavailableError(Error, ConnectionError):
    """The backplane (Redis) cannot be reached: the event was not acknowledged."""

class TooManyConnectionsError(Error):
    """max_connections streams are open (in-app subscriptions included)."""

class StorageError(Error, OSError):
    """The durable history (history_dir) cannot be opened, read or written."""
