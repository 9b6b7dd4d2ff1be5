//! A stream's watchdog: tells when a client stopped taking bytes for too long,
//! or fell so far behind that an event it has not been sent whole has left the
//! history. Either way its stream must be closed, with whatever batch it has
//! pending, so that no client pins frames the history has let go of; it
//! resumes from history when it comes back. With a durable history
//! (`history_dir`), a stream behind the history in memory is read from disk
//! instead (`stream/replay.rs`): only the write deadline closes it.
//!
//! The watchdog runs beside the writer, in the writer's task: it is woken by
//! its stream's topics (an event may push one out of the history) and by a
//! timer at the write deadline.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use super::unsent::Unsent;
use crate::hub::{Hub, Registration, TopicWatch};

/// Why a stream must close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stall {
    /// An event the client has not been sent whole has left the history.
    Behind,
    /// The client took no byte for `write_timeout_ms` while bytes were pending.
    WriteTimeout,
}

/// The watchdog of one stream.
pub(crate) struct StreamWatch {
    hub: Arc<Hub>,
    unsent: Arc<Unsent>,
    /// The stream's topics, in its order, each with the watchdog's place in
    /// its list of parked wakers.
    topics: Vec<(TopicWatch, Registration)>,
    /// True while listed on the topics.
    parked: bool,
    /// The writer's progress count when the watchdog last saw it change, and
    /// when that was.
    seen: Option<(u64, Instant)>,
    timeout: Duration,
    timer: Option<Pin<Box<Sleep>>>,
}

impl StreamWatch {
    /// A watchdog over `unsent`, for a stream of `topics`.
    pub(crate) fn new(
        hub: Arc<Hub>,
        unsent: Arc<Unsent>,
        topics: Vec<TopicWatch>,
        timeout: Duration,
    ) -> Self {
        StreamWatch {
            hub,
            unsent,
            topics: topics
                .into_iter()
                .map(|t| (t, Registration::NONE))
                .collect(),
            parked: false,
            seen: None,
            timeout,
            timer: None,
        }
    }

    /// Ready when the stream must close; pending while its client keeps up or
    /// nothing is pending. The writer polls it after each write that could not
    /// complete.
    pub(crate) fn poll_stalled(&mut self, cx: &mut Context<'_>) -> Poll<Stall> {
        if self.unsent.pending() == 0 {
            self.unpark();
            self.seen = None;
            return Poll::Pending;
        }
        // Listed before looking, so that an event dropping a frame meanwhile
        // wakes the writer's task.
        for (topic, reg) in &mut self.topics {
            topic.park(reg, cx.waker());
        }
        self.parked = true;
        // With a durable history a stream behind the logs reads from disk and
        // holds one batch of its own, so only the write deadline applies.
        let behind = !self.hub.has_history()
            && self
                .topics
                .iter()
                .enumerate()
                .any(|(i, (topic, _))| topic.has_gap_after(self.unsent.written(i)));
        if behind {
            return self.fire(Stall::Behind);
        }
        let now = Instant::now();
        let progress = self.unsent.progress();
        let since = match self.seen {
            Some((seen, since)) if seen == progress => since,
            _ => {
                self.seen = Some((progress, now));
                now
            }
        };
        let deadline = since + self.timeout;
        if now >= deadline {
            return self.fire(Stall::WriteTimeout);
        }
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        match timer.as_mut().poll(cx) {
            // The deadline passed between the check and the poll.
            Poll::Ready(()) => self.fire(Stall::WriteTimeout),
            Poll::Pending => Poll::Pending,
        }
    }

    fn fire(&mut self, stall: Stall) -> Poll<Stall> {
        self.unpark();
        self.hub.count_slow_consumer();
        tracing::debug!("closing a stream whose client fell behind: {stall:?}");
        Poll::Ready(stall)
    }

    fn unpark(&mut self) {
        if std::mem::take(&mut self.parked) {
            for (topic, reg) in &mut self.topics {
                topic.unpark(reg);
            }
        }
    }
}

impl Drop for StreamWatch {
    fn drop(&mut self) {
        self.unpark();
    }
}
