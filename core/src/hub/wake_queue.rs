//! The wake queue: publishers queue the topics that got events, and one task
//! wakes their parked streams, so that a publish costs the same with one
//! subscriber or ten thousand and never runs wakers on the caller's thread.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::topic::Topic;

/// Topics with new events whose streams the waker task has yet to wake.
#[derive(Default)]
pub(crate) struct WakeQueue {
    topics: Mutex<Vec<Arc<Topic>>>,
    /// Wakes the waker task.
    task: Notify,
}

impl WakeQueue {
    /// Queues `topic` unless it is queued already.
    pub(crate) fn push(&self, topic: &Arc<Topic>) {
        if topic.mark_wake_queued() {
            self.topics
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(topic.clone());
            self.task.notify_one();
        }
    }

    /// Wakes the waker task without a topic (on stop).
    pub(crate) fn nudge(&self) {
        self.task.notify_one();
    }

    /// The waker task: wakes the streams of every queued topic until `stopped`
    /// says so.
    pub(crate) async fn run(&self, stopped: impl Fn() -> bool) {
        let mut topics = Vec::new();
        while !stopped() {
            self.task.notified().await;
            std::mem::swap(
                &mut topics,
                &mut *self.topics.lock().unwrap_or_else(|e| e.into_inner()),
            );
            for topic in topics.drain(..) {
                topic.wake_queued();
            }
        }
    }
}
