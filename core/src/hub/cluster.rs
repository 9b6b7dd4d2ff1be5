//! The hub's side of the backplane: what the feed delivers goes into the
//! topic logs ([`FeedSink`]), and the topics the node's streams hold are the
//! ones the feed subscribes to ([`FeedHolds`]).
//!
//! Every event reaches the logs through the feed, the node's own publishes
//! included (they are delivered when their announcement comes back), so the
//! logs of every node receive the events of each topic in the same order and
//! streams merge topics by the same sequence numbers everywhere.

use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use super::log::UNKNOWN_START;
use super::registry::HoldHooks;
use super::topic::Topic;
use super::Hub;
use crate::backplane::{Backplane, BackplaneState, Received, Sink};
use crate::metrics;

/// Delivers the feed's events to the hub's logs.
pub(super) struct FeedSink {
    /// Weak: the hub owns the backplane, whose feed task owns this.
    hub: Weak<Hub>,
    /// Topics appended to since the watermark last moved: woken once it has
    /// (a stream woken earlier would not read past the old watermark).
    appended: Mutex<Vec<Arc<Topic>>>,
}

impl FeedSink {
    pub(super) fn new(hub: &Arc<Hub>) -> Self {
        FeedSink {
            hub: Arc::downgrade(hub),
            appended: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on `topic`'s entry (created when missing: a feed delivers
    /// only held topics, but a release may have raced the delivery).
    fn on_topic(&self, topic: &str, f: impl FnOnce(&Hub, &Arc<Topic>)) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        let done = hub
            .registry
            .with_topic(topic, UNKNOWN_START, |entry| f(&hub, entry));
        if done.is_err() {
            tracing::warn!("backplane: {topic:?} dropped: the node holds max_topics topics");
        }
    }

    fn lock_appended(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Topic>>> {
        self.appended.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Sink for FeedSink {
    fn append(&self, topic: &str, event: Received) {
        let now = Instant::now();
        self.on_topic(topic, |_, entry| {
            let evicted = entry.append(event.seq, event.custom_id, event.frame, now);
            self.lock_appended().push(entry.clone());
            drop(evicted);
        });
    }

    fn advance(&self, seq: u64) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        hub.published
            .fetch_max(seq, std::sync::atomic::Ordering::AcqRel);
        let woken = std::mem::take(&mut *self.lock_appended());
        for topic in &woken {
            hub.wake_queue.push(topic);
        }
    }

    fn history_starts_after(&self, topic: &str, seq: u64) {
        self.on_topic(topic, |hub, entry| {
            entry.log().starts_after(seq);
            // Its streams look again: they may now join the log (and again
            // once the watermark has moved).
            hub.wake_queue.push(entry);
            self.lock_appended().push(entry.clone());
        });
    }

    fn reset(&self, incarnation: &str) {
        // The new incarnation continues the counter from the highest seq this
        // node saw, so positions in the logs stay ordered; ids of the old one
        // resume no more (they are unknown ids from now on).
        tracing::warn!("backplane: ids now use the incarnation {incarnation}");
    }
}

/// Tells the backplane which topics the node's streams hold.
pub(super) struct FeedHolds(pub(super) Arc<Backplane>);

impl HoldHooks for FeedHolds {
    fn first_holder(&self, topic: &Topic) {
        self.0.hold(topic.name());
    }

    fn last_holder_gone(&self, topic: &Topic) {
        // The node stops receiving the topic: its log no longer knows what
        // it lacks until a new holder's sync says.
        topic.log().forget_coverage();
        self.0.release(topic.name());
    }
}

/// Keeps the metrics' view of the backplane current (`ssecast_backplane_up`,
/// and `/readyz` answering 503 while Redis is unreachable), until the hub or
/// the backplane is gone.
pub(super) async fn report_state(hub: Weak<Hub>, backplane: Arc<Backplane>) {
    loop {
        let changed = backplane.changed();
        let Some(hub) = hub.upgrade() else {
            return;
        };
        hub.metrics().set_backplane(match backplane.state() {
            BackplaneState::Down => metrics::BackplaneState::Unreachable,
            BackplaneState::Connected | BackplaneState::Reconnecting => metrics::BackplaneState::Up,
        });
        drop(hub);
        if !changed.await {
            return;
        }
    }
}
