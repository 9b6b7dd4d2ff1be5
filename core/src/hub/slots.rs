//! Stream slots: the count of open streams, bounded by `max_connections`. A
//! stream holds a [`StreamSlot`] for its whole life; the slot counts itself
//! when taken and uncounts itself when dropped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// The open-stream count and its bound.
pub(crate) struct StreamSlots {
    open: AtomicUsize,
    max: usize,
    /// Notified when the last open stream closes.
    idle: Notify,
}

/// One open stream's place in [`StreamSlots`].
pub(crate) struct StreamSlot {
    slots: Arc<StreamSlots>,
}

impl StreamSlots {
    /// No stream open, at most `max` at once.
    pub(crate) fn new(max: usize) -> Self {
        StreamSlots {
            open: AtomicUsize::new(0),
            max,
            idle: Notify::new(),
        }
    }

    /// A slot, or `None` when `max` streams are open.
    pub(crate) fn take(self: &Arc<Self>) -> Option<StreamSlot> {
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            });
        taken.ok().map(|_| StreamSlot {
            slots: self.clone(),
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

    /// Resolves once no stream is open.
    pub(crate) async fn all_closed(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.open() == 0 {
                return;
            }
            idle.await;
        }
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if self.slots.open.fetch_sub(1, Ordering::AcqRel) == 1 {
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
}
