//! A run of encoded frames written to a socket in one vectored write.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes};

/// Frames shared with the topic logs (no copy), presented as one buffer whose
/// `chunks_vectored` lets the connection write them all with one `writev`.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    frames: VecDeque<Bytes>,
    remaining: usize,
}

impl Batch {
    /// An empty batch with room for `frames` frames.
    pub(crate) fn with_capacity(frames: usize) -> Self {
        Batch {
            frames: VecDeque::with_capacity(frames),
            remaining: 0,
        }
    }

    /// Appends a frame.
    pub(crate) fn push(&mut self, frame: Bytes) {
        if !frame.is_empty() {
            self.remaining += frame.len();
            self.frames.push_back(frame);
        }
    }

    /// Puts a frame in front of the others.
    pub(crate) fn push_front(&mut self, frame: Bytes) {
        if !frame.is_empty() {
            self.remaining += frame.len();
            self.frames.push_front(frame);
        }
    }

    /// True when the batch holds no bytes.
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining == 0
    }
}

impl Buf for Batch {
    fn remaining(&self) -> usize {
        self.remaining
    }

    fn chunk(&self) -> &[u8] {
        self.frames.front().map_or(&[], |f| f.as_ref())
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, frame) in dst.iter_mut().zip(&self.frames) {
            *slot = IoSlice::new(frame);
            n += 1;
        }
        n
    }

    fn advance(&mut self, mut cnt: usize) {
        assert!(cnt <= self.remaining, "advance past the end of a batch");
        self.remaining -= cnt;
        while cnt > 0 {
            let front = self
                .frames
                .front_mut()
                .expect("remaining counts the frames");
            if cnt < front.len() {
                front.advance(cnt);
                return;
            }
            cnt -= front.len();
            self.frames.pop_front();
        }
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
}
