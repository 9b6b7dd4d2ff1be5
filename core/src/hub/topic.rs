//! One topic: its log, the newest sequence number in it, and the streams
//! parked on it.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::Instant;

use bytes::Bytes;

use super::log::{Bounds, Log};
use super::waiters::{Registration, Waiters};

/// A topic shared by its publishers and the streams that hold it.
pub(crate) struct Topic {
    /// The topic's name, shared with the durable history's records.
    name: Arc<str>,
    log: Mutex<Log>,
    /// The sequence number of the newest event appended (0: none).
    newest: AtomicU64,
    waiters: Waiters,
    /// Set by a publish that queued this topic for the waker task; cleared by
    /// the task before it wakes the waiters.
    wake_queued: AtomicBool,
    /// Streams holding the topic.
    holders: AtomicUsize,
}

impl Topic {
    /// An empty topic `name` whose log has `bounds` and holds only events
    /// after `floor` (see [`Log::new`]).
    pub(crate) fn new(name: Arc<str>, bounds: Bounds, floor: u64) -> Self {
        Topic {
            name,
            log: Mutex::new(Log::new(bounds, floor)),
            newest: AtomicU64::new(0),
            waiters: Waiters::default(),
            wake_queued: AtomicBool::new(false),
            holders: AtomicUsize::new(0),
        }
    }

    /// The topic's name.
    pub(crate) fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The topic's log, locked.
    pub(crate) fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends an event; returns the frame evicted to make room, for the caller
    /// to drop after its locks.
    pub(crate) fn append(
        &self,
        seq: u64,
        custom_id: Option<Box<str>>,
        frame: Bytes,
        now: Instant,
    ) -> Option<Bytes> {
        let evicted = self.log().append(seq, custom_id, frame, now);
        self.newest.store(seq, Ordering::Release);
        evicted
    }

    /// True when events after `after` were appended.
    pub(crate) fn has_news(&self, after: u64) -> bool {
        self.newest.load(Ordering::Acquire) > after
    }

    /// True when the log holds every event of the topic after `after`.
    pub(crate) fn covers(&self, after: u64) -> bool {
        !self.log().has_gap_after(after)
    }

    /// Parks a stream until the next event (or stop).
    pub(crate) fn park(&self, reg: &mut Registration, waker: &Waker) {
        self.waiters.register(reg, waker);
    }

    /// Removes a parked stream.
    pub(crate) fn unpark(&self, reg: &mut Registration) {
        self.waiters.deregister(reg);
    }

    /// Wakes every parked stream.
    pub(crate) fn wake_all(&self) {
        self.waiters.wake_all();
    }

    /// Marks the topic as queued for waking; false when it already was.
    pub(crate) fn mark_wake_queued(&self) -> bool {
        !self.wake_queued.swap(true, Ordering::AcqRel)
    }

    /// Clears the queued mark (a publish from now on queues the topic again)
    /// and wakes the parked streams. The swap also makes the events of the
    /// publishes that queued it visible to the woken streams.
    pub(crate) fn wake_queued(&self) {
        self.wake_queued.swap(false, Ordering::AcqRel);
        self.waiters.wake_all();
    }

    /// Counts one more holder; true when it is the first.
    pub(crate) fn add_holder(&self) -> bool {
        self.holders.fetch_add(1, Ordering::AcqRel) == 0
    }

    /// Uncounts a holder; true when it was the last.
    pub(crate) fn remove_holder(&self) -> bool {
        self.holders.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// True when no stream holds the topic and its log is empty, so it can be
    /// forgotten.
    pub(crate) fn is_unused(&self) -> bool {
        self.holders.load(Ordering::Acquire) == 0 && self.log().is_empty()
    }
}
