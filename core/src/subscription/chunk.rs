//! What one read of a subscription gives: ready-encoded stream bytes.

use std::io::IoSlice;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::stream::Batch;

/// Stream bytes ready to write to a client as they are: every frame pending at
/// one read (events, the opening frame, a keep-alive, the reset signal), in
/// order, coalesced.
///
/// The frames are shared with the topics' history, not copied: read them with
/// [`Buf`] (`chunks_vectored` for one vectored write, `copy_to_slice` to
/// flatten into a buffer of [`Chunk::len`] bytes) or turn them into one
/// [`Bytes`] with [`Chunk::into_bytes`].
#[derive(Debug, Default)]
pub struct Chunk {
    batch: Batch,
}

impl Chunk {
    pub(crate) fn new(batch: Batch) -> Self {
        Chunk { batch }
    }

    /// The number of bytes left to read.
    pub fn len(&self) -> usize {
        self.batch.remaining()
    }

    /// True when no byte is left.
    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    /// The bytes as one buffer: the shared frame itself when the chunk holds
    /// one frame, else one copy of all of them.
    pub fn into_bytes(mut self) -> Bytes {
        if self.batch.chunk().len() == self.len() {
            return self.batch.copy_to_bytes(self.len());
        }
        let mut flat = BytesMut::with_capacity(self.len());
        flat.put(&mut self.batch);
        flat.freeze()
    }
}

impl Buf for Chunk {
    fn remaining(&self) -> usize {
        self.batch.remaining()
    }

    fn chunk(&self) -> &[u8] {
        self.batch.chunk()
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        self.batch.chunks_vectored(dst)
    }

    fn advance(&mut self, cnt: usize) {
        self.batch.advance(cnt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(frames: &[&'static [u8]]) -> Chunk {
        let mut batch = Batch::with_capacity(frames.len());
        for frame in frames {
            batch.push(Bytes::from_static(frame));
        }
        Chunk::new(batch)
    }

    #[test]
    fn one_frame_is_shared_and_several_are_joined() {
        let one = chunk(&[b"id: 1\ndata: a\n\n"]);
        assert_eq!(one.len(), 15);
        assert_eq!(&one.into_bytes()[..], b"id: 1\ndata: a\n\n");
        let two = chunk(&[b": ok\n", b"data: b\n\n"]);
        assert_eq!(&two.into_bytes()[..], b": ok\ndata: b\n\n");
        let mut flat = [0u8; 6];
        let mut c = chunk(&[b"ab", b"cdef"]);
        c.copy_to_slice(&mut flat);
        assert_eq!(&flat, b"abcdef");
        assert!(c.is_empty());
    }
}
