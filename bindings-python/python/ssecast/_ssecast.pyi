"""Type stubs of the Rust extension module ``ssecast._ssecast``."""

from types import TracebackType
from typing import Any, ClassVar, Optional, Sequence, Type, Union, final

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
    "TooLargeError",
    "__version__",
]

__version__: str
CONFIG_KEYS: dict[str, str]
"""Every keyword ``Engine`` accepts, mapped to a line saying what it sets."""

_ConfigValue = Union[int, str, bool, None, Sequence[str]]

@final
class Engine:
    """A running Server-Sent Events engine, started on construction."""

    def __new__(cls, **config: _ConfigValue) -> Engine: ...
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
        event: Optional[str] = None,
        id: Optional[str] = None,
        retry: Optional[int] = None,
    ) -> str:
        """Publishes one event to ``topic`` and returns its id."""
    def stats(self) -> dict[str, int]:
        """The engine's counters now."""
    def stop(self) -> None:
        """Stops the engine and closes every stream; idempotent."""
    def __enter__(self) -> Engine: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

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

class InternalError(Error):
    """Any other failure inside the engine."""
