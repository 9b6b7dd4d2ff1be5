//! What the durable history is asked to do: when to sync, and how much to keep.

use serde::{Deserialize, Serialize};

use crate::config::Config;

/// When a published event reaches the disk: the `history_sync` key.
///
/// | mode | `publish` returns | lost by a process crash (`kill -9`) | lost by a power loss |
/// |---|---|---|---|
/// | `always` | after the event is fsynced | nothing acknowledged | nothing acknowledged |
/// | `batch` | at once | the last few ms | the last few ms |
/// | `none` | at once | the last few ms | what the OS had not written back |
///
/// In every mode an id handed out is never handed out again, even when its event
/// was lost (see the README, "Durable history").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistorySync {
    /// Every publish waits until its event is fsynced; concurrent publishes
    /// share one commit and one fsync.
    Always,
    /// Events are committed and fsynced together every few milliseconds; a
    /// publish does not wait.
    #[default]
    Batch,
    /// Events are written to the operating system every few milliseconds and
    /// never fsynced explicitly; the OS writes them back when it likes.
    None,
}

impl HistorySync {
    /// The value as written in the configuration: `always`, `batch` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            HistorySync::Always => "always",
            HistorySync::Batch => "batch",
            HistorySync::None => "none",
        }
    }

    /// The mode named `value` (`always`, `batch` or `none`).
    pub fn parse(value: &str) -> Option<HistorySync> {
        [HistorySync::Always, HistorySync::Batch, HistorySync::None]
            .into_iter()
            .find(|mode| mode.as_str() == value)
    }
}

/// How much history the disk keeps, over all topics together: the oldest
/// events go first, whatever their topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DiskBounds {
    /// Most events kept.
    pub(crate) max_events: u64,
    /// Most bytes of events kept (frames, topics and ids; the store's own
    /// overhead is not counted).
    pub(crate) max_bytes: u64,
    /// Oldest event kept, in milliseconds; 0 keeps events regardless of age.
    pub(crate) max_age_ms: u64,
}

/// How a [`DurableHistory`](super::DurableHistory) is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options {
    /// When events reach the disk.
    pub(crate) sync: HistorySync,
    /// What trimming keeps.
    pub(crate) bounds: DiskBounds,
}

impl Options {
    /// The options set by the `history_sync` and `disk_history_*` keys.
    pub(crate) fn from_config(config: &Config) -> Options {
        Options {
            sync: config.history_sync,
            bounds: DiskBounds {
                max_events: config.disk_history_size,
                max_bytes: config.disk_history_bytes,
                max_age_ms: config.disk_history_ttl_ms,
            },
        }
    }
}
