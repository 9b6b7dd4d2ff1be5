//! Stream slots: the count of open streams, bounded by `max_connections`. A
//! stream holds a [`StreamSlot`] for its whole life; the slot counts itself
//! when taken and uncounts itself when dropped.
//!
//! Streams the engine serves on its own port are also counted apart: stop
//! waits for them to flush. Streams a host reads in its own process (in-app
//! subscriptions) count towards the bound but are never waited for, since
//! only the host's own thread can finish reading them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// The open-stream count and its bound.
pub(crate) struct StreamSlots {
    open: AtomicUsize,
    /// The open streams the engine's server writes itself.
    served: AtomicUsize,
    max: usize,
    /// Notified when the last served stream closes.
    idle: Notify,
}

/// One open stream's place in [`StreamSlots`].
pub(crate) struct StreamSlot {
    slots: Arc<StreamSlots>,
    served: bool,
}

impl StreamSlots {
    /// No stream open, at most `max` at once.
    pub(crate) fn new(max: usize) -> Self {
        StreamSlots {
            open: AtomicUsize::new(0),
            served: AtomicUsize::new(0),
            max,
            idle: Notify::new(),
        }
    }

    /// A slot for a stream the server writes, or `None` when `max` streams
    /// are open.
    pub(crate) fn take(self: &Arc<Self>) -> Option<StreamSlot> {
        self.take_slot(true)
    }

    /// A slot for a stream its host reads in process, or `None` when `max`
    /// streams are open.
    pub(crate) fn take_hosted(self: &Arc<Self>) -> Option<StreamSlot> {
        self.take_slot(false)
    }

    fn take_slot(self: &Arc<Self>, served: bool) -> Option<StreamSlot> {
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            });
        taken.ok()?;
        if served {
            self.served.fetch_add(1, Ordering::AcqRel);
        }
        Some(StreamSlot {
            slots: self.clone(),
            served,
        })
    }

    /// Streams open now.
    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// The most streams open at once.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Resolves once no served stream is open.
    pub(crate) async fn all_closed(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.served.load(Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.slots.open.fetch_sub(1, Ordering::AcqRel);
        if self.served && self.slots.served.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.slots.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_refuses_and_reports_idle() {
        let slots = Arc::new(StreamSlots::new(2));
        let a = slots.take().unwrap();
        let b = slots.take().unwrap();
        assert!(slots.take().is_none(), "the third is refused");
        assert_eq!(slots.open(), 2);
        drop(a);
        let c = slots.take().expect("a freed slot is reused");
        drop((b, c));
        assert_eq!(slots.open(), 0);
        tokio::time::timeout(std::time::Duration::from_secs(1), slots.all_closed())
            .await
            .expect("idle at once");
    }

    #[tokio::test]
    async fn hosted_slots_count_but_are_not_waited_for() {
        let slots = Arc::new(StreamSlots::new(2));
        let hosted = slots.take_hosted().unwrap();
        let served = slots.take().unwrap();
        assert!(slots.take_hosted().is_none(), "both kinds share the bound");
        assert_eq!(slots.open(), 2);
        drop(served);
        tokio::time::timeout(std::time::Duration::from_secs(1), slots.all_closed())
            .await
            .expect("a hosted stream does not hold up stop");
        drop(hosted);
        assert_eq!(slots.open(), 0);
    }
}
