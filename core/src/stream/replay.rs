//! The disk phase of a stream (with `history_dir`): while its topics' logs do
//! not hold every event after its position, a stream reads its events from the
//! durable history, one bounded batch at a time on a blocking thread, and joins
//! the logs at the position the reads reached: no gap, no duplicate. (An
//! in-app subscription, polled by its host's own thread outside any runtime,
//! reads on that thread.)
//!
//! A stream is in this phase when it resumes from an id older than the logs
//! (or a publisher's id found only on disk), and when it falls behind the logs
//! while live: with a durable history such a stream is read from disk instead
//! of being ended as a slow consumer, since its client would reconnect and be
//! read from disk anyway. Either way it holds only the batch being written
//! (at most [`BATCH_BUDGET`](super::BATCH_BUDGET)), never a queue of its own.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::task::JoinHandle;

use super::{Batch, BATCH_BUDGET};
use crate::hub::log::Lagged;
use crate::hub::{HistoryRead, Hub};

/// A stream's reads from the durable history.
pub(super) struct DiskReplay {
    /// Every event of the stream's topics up to this sequence number was sent.
    after: u64,
    /// The read in flight, if any.
    reading: Option<JoinHandle<Result<HistoryRead, Lagged>>>,
}

impl DiskReplay {
    /// Reads from disk every event after `after`.
    pub(super) fn new(after: u64) -> Self {
        DiskReplay {
            after,
            reading: None,
        }
    }

    /// Every event up to this sequence number was sent.
    pub(super) fn position(&self) -> u64 {
        self.after
    }

    /// Reads the next batch of `topics` into `batch`, starting the read when
    /// none is in flight. `Pending` while it runs (the read wakes the stream).
    /// [`Lagged`] when the events after the position are no longer on disk or
    /// cannot be read: the stream ends and its client resumes.
    pub(super) fn poll_read(
        &mut self,
        hub: &Arc<Hub>,
        topics: &Arc<[String]>,
        cx: &mut Context<'_>,
        batch: &mut Batch,
    ) -> Poll<Result<(), Lagged>> {
        let after = self.after;
        let read = match (&mut self.reading, tokio::runtime::Handle::try_current()) {
            (None, Err(_)) => {
                // Polled by its host's own thread (an in-app subscription):
                // that thread reads.
                hub.read_history(topics, after, BATCH_BUDGET)?
            }
            (reading, _) => {
                let reading = reading.get_or_insert_with(|| {
                    let (hub, topics) = (hub.clone(), topics.clone());
                    tokio::task::spawn_blocking(move || {
                        hub.read_history(&topics, after, BATCH_BUDGET)
                    })
                });
                let joined = ready!(Pin::new(reading).poll(cx));
                self.reading = None;
                joined.map_err(|_| Lagged)??
            }
        };
        for (_, frame) in read.frames {
            batch.push(frame);
        }
        self.after = read.reached;
        Poll::Ready(Ok(()))
    }
}
