//! What the engine reports to its host: its counters, why a resuming client
//! was sent the reset signal, and why a stream ended.

/// The name of the signal event sent to a resuming client whose `Last-Event-ID`
/// cannot be resumed exactly.
pub const RESET_EVENT: &str = "ssecast-reset";

/// Why a resuming client gets [`RESET_EVENT`] instead of an exact replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetReason {
    /// The id is not in the history of any requested topic (another engine
    /// incarnation, a typo, or older than everything kept).
    UnknownId,
    /// The id is known but events after it were dropped from the history.
    HistoryGap,
}

impl ResetReason {
    /// The reason as sent in the signal's data.
    pub fn as_str(self) -> &'static str {
        match self {
            ResetReason::UnknownId => "unknown-id",
            ResetReason::HistoryGap => "history-gap",
        }
    }
}

/// Why a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// The engine was stopped; everything published before the stop was
    /// delivered first.
    Stopped,
    /// The reader fell behind the oldest event the history keeps (a slow
    /// consumer): its client should reconnect with its last id and resume.
    SlowConsumer,
    /// The token the stream was opened with expired (streams on the engine's
    /// port only: in-app subscriptions carry no token).
    Expired,
    /// The engine is draining (`drain`) and the stream's turn came: its
    /// client should reconnect, after the `retry:` it was sent, to another
    /// instance.
    Drained,
}

impl EndReason {
    /// A short name: `"stopped"`, `"slow-consumer"`, `"expired"` or `"drained"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Stopped => "stopped",
            EndReason::SlowConsumer => "slow-consumer",
            EndReason::Expired => "expired",
            EndReason::Drained => "drained",
        }
    }
}

/// How an engine's link to its backplane (Redis) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackplaneState {
    /// Subscribed, and every held topic is caught up: events flow.
    Connected = 0,
    /// Connecting, or connected and catching up after a lost connection.
    Reconnecting = 1,
    /// Redis cannot be reached: the last attempt failed; retrying.
    /// Publishes fail with `UNAVAILABLE`.
    Down = 2,
}

impl BackplaneState {
    /// `"connected"`, `"reconnecting"` or `"down"`, as stats and metrics report it.
    pub fn as_str(self) -> &'static str {
        match self {
            BackplaneState::Connected => "connected",
            BackplaneState::Reconnecting => "reconnecting",
            BackplaneState::Down => "down",
        }
    }
}

/// Counters describing an engine at one moment: the numbers `GET /metrics`
/// exports, without their labels. Counters count from the engine's start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Event streams open now.
    pub connections: usize,
    /// Topics that have subscribers or history.
    pub topics: usize,
    /// Events published since start.
    pub published: u64,
    /// Streams closed because their client fell behind the history, or took
    /// no byte for `write_timeout_ms` while bytes were pending.
    pub slow_consumers_dropped: u64,
    /// Event streams opened since start, over every transport.
    pub streams_opened: u64,
    /// Stream requests refused before a stream opened: malformed, from an
    /// origin or for a host not allowed, over `max_connections` or
    /// `max_topics`, while draining or stopping (access control counts its
    /// own refusals in `auth_failures` and `rate_limited`).
    pub streams_refused: u64,
    /// Events handed to subscribers' connections (an event sent to 1,000
    /// subscribers counts 1,000).
    pub events_delivered: u64,
    /// Bytes of stream bodies handed to connections: events, comments, `retry:` fields.
    pub bytes_delivered: u64,
    /// `ssecast-reset` signals sent to resuming clients.
    pub resets_sent: u64,
    /// Requests refused by access control (token missing, invalid, expired, or
    /// not granting a topic).
    pub auth_failures: u64,
    /// Requests refused by a per-address limit.
    pub rate_limited: u64,
    /// The link to the backplane, when `backplane` is configured.
    pub backplane: Option<BackplaneState>,
}
