//! A run of encoded frames written to a socket in one vectored write.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::Arc;

use bytes::{Buf, Bytes};

use super::unsent::Unsent;

/// Frames shared with the topic logs (no copy), presented as one buffer whose
/// `chunks_vectored` lets the connection write them all with one `writev`.
///
/// A batch handed out by a stream reports to the stream's [`Unsent`] record
/// what the writer takes, so the stream's watchdog can tell a stalled or
/// behind client while the batch sits in a writer's queue.
#[derive(Default)]
pub(crate) struct Batch {
    frames: VecDeque<Queued>,
    remaining: usize,
    unsent: Option<Arc<Unsent>>,
    /// Events pushed, and the sequence number of the first (the oldest: a
    /// stream pushes in publish order).
    events: usize,
    oldest: Option<u64>,
}

/// One frame, and the event it carries, if any.
struct Queued {
    frame: Bytes,
    /// The topic (index in the stream) and sequence number of the event.
    event: Option<(usize, u64)>,
}

impl Batch {
    /// An empty batch with room for `frames` frames.
    pub(crate) fn with_capacity(frames: usize) -> Self {
        Batch {
            frames: VecDeque::with_capacity(frames),
            remaining: 0,
            unsent: None,
            events: 0,
            oldest: None,
        }
    }

    /// Appends a frame that carries no event (a comment, a signal).
    pub(crate) fn push(&mut self, frame: Bytes) {
        self.push_queued(Queued { frame, event: None });
    }

    /// Appends the frame of event `seq` of the stream's topic `topic`.
    pub(crate) fn push_event(&mut self, topic: usize, seq: u64, frame: Bytes) {
        self.events += 1;
        self.oldest.get_or_insert(seq);
        self.push_queued(Queued {
            frame,
            event: Some((topic, seq)),
        });
    }

    fn push_queued(&mut self, queued: Queued) {
        if self.count(&queued.frame) {
            self.frames.push_back(queued);
        }
    }

    /// Puts a frame that carries no event (a chunk's size line) in front of
    /// the others.
    pub(crate) fn push_front(&mut self, frame: Bytes) {
        if self.count(&frame) {
            self.frames.push_front(Queued { frame, event: None });
        }
    }

    /// Counts a frame's bytes (also as pending, once handed out); false for an
    /// empty frame, which is not kept.
    fn count(&mut self, frame: &Bytes) -> bool {
        if frame.is_empty() {
            return false;
        }
        self.remaining += frame.len();
        if let Some(unsent) = &self.unsent {
            unsent.handed(frame.len());
        }
        true
    }

    /// How many events were pushed, and the sequence number of the oldest.
    pub(crate) fn events(&self) -> (usize, Option<u64>) {
        (self.events, self.oldest)
    }

    /// True when the batch holds no bytes.
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining == 0
    }

    /// From now on, reports what the writer takes to `unsent`.
    pub(crate) fn report_to(&mut self, unsent: &Arc<Unsent>) {
        unsent.handed(self.remaining);
        self.unsent = Some(unsent.clone());
    }
}

impl Buf for Batch {
    fn remaining(&self) -> usize {
        self.remaining
    }

    fn chunk(&self) -> &[u8] {
        self.frames.front().map_or(&[], |q| q.frame.as_ref())
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, queued) in dst.iter_mut().zip(&self.frames) {
            *slot = IoSlice::new(&queued.frame);
            n += 1;
        }
        n
    }

    fn advance(&mut self, cnt: usize) {
        assert!(cnt <= self.remaining, "advance past the end of a batch");
        self.remaining -= cnt;
        let mut left = cnt;
        while left > 0 {
            let front = self
                .frames
                .front_mut()
                .expect("remaining counts the frames");
            if left < front.frame.len() {
                front.frame.advance(left);
                break;
            }
            left -= front.frame.len();
            let done = self.frames.pop_front().expect("just looked at it");
            if let (Some(unsent), Some((topic, seq))) = (&self.unsent, done.event) {
                unsent.wrote(topic, seq);
            }
        }
        if let Some(unsent) = &self.unsent {
            unsent.taken(cnt);
        }
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        if let Some(unsent) = &self.unsent {
            unsent.abandoned(self.remaining);
        }
    }
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("frames", &self.frames.len())
            .field("remaining", &self.remaining)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_across_frames() {
        let mut batch = Batch::with_capacity(2);
        batch.push(Bytes::from_static(b"abc"));
        batch.push(Bytes::new());
        batch.push(Bytes::from_static(b"e"));
        batch.push_front(Bytes::from_static(b"d"));
        batch.push_front(Bytes::new());
        assert_eq!(batch.remaining(), 5);
        let mut slices = [IoSlice::new(&[]); 4];
        assert_eq!(batch.chunks_vectored(&mut slices), 3);
        assert_eq!(&*slices[0], b"d", "pushed in front");
        batch.advance(4);
        assert_eq!(batch.chunk(), b"e");
        assert_eq!(batch.copy_to_bytes(1), Bytes::from_static(b"e"));
        assert!(batch.is_empty());
    }

    #[test]
    fn reports_what_the_writer_takes() {
        let unsent = Arc::new(Unsent::new(2, 0));
        let mut batch = Batch::with_capacity(3);
        batch.push(Bytes::from_static(b": ok\n\n"));
        batch.push_event(1, 7, Bytes::from_static(b"id: 7\n\n"));
        batch.push_event(0, 9, Bytes::from_static(b"id: 9\n\n"));
        batch.report_to(&unsent);
        assert_eq!(unsent.pending(), 20);
        batch.advance(8);
        assert_eq!(
            (unsent.written(0), unsent.written(1)),
            (0, 0),
            "7 is half-sent"
        );
        batch.advance(5);
        assert_eq!((unsent.written(0), unsent.written(1)), (0, 7));
        assert_eq!(unsent.pending(), 7);
        batch.push_front(Bytes::from_static(b"7\r\n"));
        batch.push(Bytes::from_static(b"\r\n"));
        assert_eq!(unsent.pending(), 12, "framing added once out counts too");
        batch.advance(3);
        assert_eq!(unsent.pending(), 9);
        drop(batch);
        assert_eq!(
            unsent.pending(),
            0,
            "a dropped batch leaves nothing pending"
        );
        assert_eq!(unsent.written(0), 0, "9 was never sent");
    }
}
