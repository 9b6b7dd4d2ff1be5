//! What a stream has handed to its writer and the writer has not taken yet,
//! shared by the stream, the batches it hands out and its watchdog.
//!
//! The writer (the fast path, hyper's HTTP/1 writer or the HTTP/2 connection
//! task) takes a batch's bytes as the socket or the HTTP/2 window accepts
//! them. The record says how many bytes are still pending, counts the times
//! the writer took some (the watchdog times the count), and keeps, per topic,
//! the newest event the client has been sent whole: the position it would
//! resume from. Writers only touch atomics.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// One stream's unsent bytes and the progress of its writer.
pub(crate) struct Unsent {
    /// Bytes handed out and not yet taken by the writer.
    pending: AtomicUsize,
    /// Bumped each time the writer takes bytes, and when bytes become pending
    /// after none were.
    progress: AtomicU64,
    /// Per topic of the stream, in its order: the sequence number of the
    /// newest event taken whole by the writer (at first, the stream's start).
    written: Box<[AtomicU64]>,
}

impl Unsent {
    /// Nothing unsent yet, on a stream of `topics` topics starting after `start`.
    pub(crate) fn new(topics: usize, start: u64) -> Self {
        Unsent {
            pending: AtomicUsize::new(0),
            progress: AtomicU64::new(0),
            written: (0..topics).map(|_| AtomicU64::new(start)).collect(),
        }
    }

    /// `bytes` more were handed to the writer.
    pub(crate) fn handed(&self, bytes: usize) {
        if self.pending.fetch_add(bytes, Ordering::AcqRel) == 0 {
            self.progress.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// The writer took `bytes`.
    pub(crate) fn taken(&self, bytes: usize) {
        self.pending.fetch_sub(bytes, Ordering::AcqRel);
        self.progress.fetch_add(1, Ordering::AcqRel);
    }

    /// A batch was dropped with `bytes` never taken (its stream is over).
    pub(crate) fn abandoned(&self, bytes: usize) {
        self.pending.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// The writer took the whole frame of event `seq` of topic `topic`.
    pub(crate) fn wrote(&self, topic: usize, seq: u64) {
        if let Some(written) = self.written.get(topic) {
            written.fetch_max(seq, Ordering::AcqRel);
        }
    }

    /// Bytes handed out and not taken yet.
    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// The progress count: it changes whenever the writer takes bytes.
    pub(crate) fn progress(&self) -> u64 {
        self.progress.load(Ordering::Acquire)
    }

    /// The newest event of topic `topic` the client was sent whole.
    pub(crate) fn written(&self, topic: usize) -> u64 {
        self.written[topic].load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_pending_bytes_progress_and_positions() {
        let unsent = Unsent::new(2, 10);
        unsent.handed(100);
        let started = unsent.progress();
        unsent.handed(50);
        assert_eq!(unsent.progress(), started, "still the same pending run");
        unsent.taken(120);
        assert_ne!(unsent.progress(), started);
        assert_eq!(unsent.pending(), 30);
        unsent.abandoned(30);
        assert_eq!(unsent.pending(), 0);
        assert_eq!((unsent.written(0), unsent.written(1)), (10, 10));
        unsent.wrote(1, 12);
        unsent.wrote(1, 11);
        assert_eq!((unsent.written(0), unsent.written(1)), (10, 12));
    }
}
