//! What the engine reports to its host: its counters, and why a resuming
//! client was sent the reset signal.

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

/// Counters describing an engine at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
}
