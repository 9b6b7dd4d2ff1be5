//! The one error taxonomy of ssecast. Every binding maps [`ErrorKind`] to its own
//! error type (a C result code, a Python exception class, a Node `code`).

use std::fmt;

/// What kind of failure an [`Error`] is. The numeric values are stable: the C ABI
/// returns them as `ssecast_result` codes, so a value is never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u32)]
pub enum ErrorKind {
    /// An unknown configuration key or a value that does not parse or is out of range.
    InvalidConfig = 2,
    /// A topic name that is empty, too long or contains control characters.
    InvalidTopic = 3,
    /// An `event` name that is empty or contains CR, LF or NUL.
    InvalidEventName = 4,
    /// An `id` that is empty or contains CR, LF or NUL.
    InvalidId = 5,
    /// A payload that is not valid UTF-8 or could not be serialised.
    InvalidData = 6,
    /// A payload larger than `max_event_bytes`.
    TooLarge = 7,
    /// The engine has been stopped; nothing more can be published.
    Stopped = 8,
    /// The listening socket could not be bound (address in use, permission denied...).
    Bind = 9,
    /// Any other operating-system or runtime failure.
    Internal = 10,
    /// The backplane (Redis) cannot be reached: the event was not acknowledged, or
    /// history that only the backplane holds cannot be read now. Retry later.
    Unavailable = 11,
    /// The durable history (`history_dir`) cannot be opened, read or written:
    /// another engine holds the directory, it is not writable, the disk is
    /// full, the store is damaged or from a newer version. The message names
    /// `history_dir` and the cause.
    Storage = 12,
    /// `max_connections` streams are open; a new one (on the engine's port or
    /// in the host's process) is refused until one closes.
    TooManyConnections = 13,
    /// A publish or subscription would create a topic while `max_topics` exist.
    TooManyTopics = 14,
}

impl ErrorKind {
    /// Every kind, in numeric order.
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::InvalidConfig,
        ErrorKind::InvalidTopic,
        ErrorKind::InvalidEventName,
        ErrorKind::InvalidId,
        ErrorKind::InvalidData,
        ErrorKind::TooLarge,
        ErrorKind::Stopped,
        ErrorKind::Bind,
        ErrorKind::Internal,
        ErrorKind::Unavailable,
        ErrorKind::Storage,
        ErrorKind::TooManyConnections,
        ErrorKind::TooManyTopics,
    ];

    /// A stable, upper-case identifier such as `INVALID_ID`, used as the Node `code`
    /// (prefixed `ERR_SSECAST_`) and in HTTP error bodies.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidConfig => "INVALID_CONFIG",
            ErrorKind::InvalidTopic => "INVALID_TOPIC",
            ErrorKind::InvalidEventName => "INVALID_EVENT_NAME",
            ErrorKind::InvalidId => "INVALID_ID",
            ErrorKind::InvalidData => "INVALID_DATA",
            ErrorKind::TooLarge => "TOO_LARGE",
            ErrorKind::Stopped => "STOPPED",
            ErrorKind::Bind => "BIND",
            ErrorKind::Internal => "INTERNAL",
            ErrorKind::Unavailable => "UNAVAILABLE",
            ErrorKind::Storage => "STORAGE",
            ErrorKind::TooManyConnections => "TOO_MANY_CONNECTIONS",
            ErrorKind::TooManyTopics => "TOO_MANY_TOPICS",
        }
    }

    /// A one-line description of the kind, without the details of one occurrence.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorKind::InvalidConfig => "invalid configuration",
            ErrorKind::InvalidTopic => "invalid topic name",
            ErrorKind::InvalidEventName => "invalid event name",
            ErrorKind::InvalidId => "invalid event id",
            ErrorKind::InvalidData => "invalid event data",
            ErrorKind::TooLarge => "event data too large",
            ErrorKind::Stopped => "engine is stopped",
            ErrorKind::Bind => "could not bind the listening socket",
            ErrorKind::Internal => "internal error",
            ErrorKind::Unavailable => "backplane unavailable",
            ErrorKind::Storage => "durable history storage failure",
            ErrorKind::TooManyConnections => "too many open streams",
            ErrorKind::TooManyTopics => "too many topics",
        }
    }

    /// True for the kinds caused by a bad argument from the caller (these map to
    /// `ValueError` subclasses in Python).
    pub fn is_invalid_argument(self) -> bool {
        matches!(
            self,
            ErrorKind::InvalidConfig
                | ErrorKind::InvalidTopic
                | ErrorKind::InvalidEventName
                | ErrorKind::InvalidId
                | ErrorKind::InvalidData
                | ErrorKind::TooLarge
        )
    }
}

/// An ssecast failure: a [`ErrorKind`] and a message naming what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// Creates an error of `kind` with a message naming what was wrong.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message naming what was wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The result type of every fallible ssecast operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
