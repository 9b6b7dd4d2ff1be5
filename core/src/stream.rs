//! One event stream: the response body of `GET /events`.
//!
//! The stream holds a cursor per topic. When polled it takes every frame between
//! its cursors and the published head, in publish order, as one [`Batch`]; when
//! there is nothing it parks on its topics and on the engine clock (keep-alive
//! ticks and stop).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame};

use crate::batch::Batch;
use crate::encode::KEEPALIVE;
use crate::hub::{Hub, Subscriber};
use crate::log::{Budget, Lagged};
use crate::wake::Registration;

/// What polling a stream answers.
type Polled = Poll<Option<Result<Frame<Batch>, Infallible>>>;

/// The most one write takes: frames and bytes.
const BATCH_BUDGET: Budget = Budget {
    frames: 1024,
    bytes: 256 * 1024,
};

/// Clock ticks per keep-alive interval. A comment goes out on the first tick at
/// which the stream has been idle for a whole interval, so idle gaps last from
/// one interval to one and a quarter.
pub(crate) const KEEPALIVE_TICKS: u64 = 4;

struct Cursor {
    sub: Subscriber,
    /// The sequence number of the last event taken from this topic (or the
    /// position the stream started from).
    after: u64,
    reg: Registration,
}

/// The body of an event stream response.
pub(crate) struct EventStream {
    hub: Arc<Hub>,
    cursors: Vec<Cursor>,
    clock: Registration,
    /// Frames that go out before any event (reset signal, retry field).
    head: Option<Batch>,
    keepalive: bool,
    last_write_tick: u64,
    scratch: Vec<(u64, Bytes)>,
    done: bool,
}

impl EventStream {
    /// A stream over `subscribers`, each starting after `after`, that first sends `head`.
    /// The caller has counted the stream in `hub.streams`; the stream uncounts itself.
    pub(crate) fn new(
        hub: Arc<Hub>,
        subscribers: Vec<Subscriber>,
        after: u64,
        head: Vec<Bytes>,
        keepalive: bool,
    ) -> Self {
        let mut first = Batch::with_capacity(head.len());
        head.into_iter().for_each(|frame| first.push(frame));
        EventStream {
            last_write_tick: hub.ticks(),
            hub,
            cursors: subscribers
                .into_iter()
                .map(|sub| Cursor {
                    sub,
                    after,
                    reg: Registration::NONE,
                })
                .collect(),
            clock: Registration::NONE,
            head: Some(first),
            keepalive,
            scratch: Vec::new(),
            done: false,
        }
    }

    /// Moves every frame between the cursors and the published head into `batch`,
    /// in publish order, within [`BATCH_BUDGET`].
    fn collect(&mut self, batch: &mut Batch) -> Result<(), Lagged> {
        let upto = self.hub.published();
        if let [cursor] = self.cursors.as_mut_slice() {
            if cursor.sub.topic.head.load(Ordering::Acquire) <= cursor.after {
                return Ok(());
            }
            cursor.sub.topic.lock_log().read(
                cursor.after,
                upto,
                BATCH_BUDGET,
                &mut self.scratch,
            )?;
            if let Some(&(last, _)) = self.scratch.last() {
                cursor.after = last;
            }
            self.scratch
                .drain(..)
                .for_each(|(_, frame)| batch.push(frame));
            return Ok(());
        }
        self.collect_merged(upto, batch)
    }

    /// [`EventStream::collect`] for several topics: reads each, then merges by
    /// sequence number up to the point every topic was read to.
    fn collect_merged(&mut self, upto: u64, batch: &mut Batch) -> Result<(), Lagged> {
        let mut cutoff = upto;
        for cursor in &self.cursors {
            if cursor.sub.topic.head.load(Ordering::Acquire) <= cursor.after {
                continue;
            }
            let start = self.scratch.len();
            let more = cursor.sub.topic.lock_log().read(
                cursor.after,
                upto,
                BATCH_BUDGET,
                &mut self.scratch,
            )?;
            if more {
                if let Some(&(last, _)) = self.scratch[start..].last() {
                    cutoff = cutoff.min(last);
                }
            }
        }
        if self.scratch.is_empty() {
            return Ok(());
        }
        self.scratch.sort_unstable_by_key(|&(seq, _)| seq);
        let (mut frames, mut bytes) = (0, 0);
        for &(seq, ref frame) in &self.scratch {
            if seq > cutoff {
                break;
            }
            if frames == BATCH_BUDGET.frames
                || (frames > 0 && bytes + frame.len() > BATCH_BUDGET.bytes)
            {
                cutoff = seq - 1;
                break;
            }
            frames += 1;
            bytes += frame.len();
        }
        self.scratch
            .drain(..)
            .take(frames)
            .for_each(|(_, frame)| batch.push(frame));
        // Every topic's frames up to the cutoff were taken (those of a topic that
        // was read only in part reach at least the cutoff).
        for cursor in &mut self.cursors {
            cursor.after = cursor.after.max(cutoff);
        }
        Ok(())
    }

    fn keepalive_due(&self) -> bool {
        // The last write happened somewhere after tick `last_write_tick`, so only
        // one tick more than an interval's worth proves a whole idle interval.
        self.keepalive && self.hub.ticks().wrapping_sub(self.last_write_tick) > KEEPALIVE_TICKS
    }

    fn emit(&mut self, batch: Batch) -> Polled {
        self.last_write_tick = self.hub.ticks();
        Poll::Ready(Some(Ok(Frame::data(batch))))
    }

    fn end(&mut self) -> Polled {
        self.done = true;
        Poll::Ready(None)
    }

    /// What to answer when frames are pending or the stream is over; `None` when
    /// there is nothing to send yet.
    fn take_pending(&mut self, batch: &mut Batch) -> Option<Polled> {
        if self.collect(batch).is_err() {
            self.hub.slow_consumers.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("closing a stream that fell behind the history");
            return Some(self.end());
        }
        if !batch.is_empty() {
            return Some(self.emit(std::mem::take(batch)));
        }
        if self.hub.is_stopped() {
            return Some(self.end());
        }
        None
    }
}

impl Body for EventStream {
    type Data = Batch;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let mut batch = this.head.take().unwrap_or_default();
        if let Some(ready) = this.take_pending(&mut batch) {
            return ready;
        }
        for cursor in &mut this.cursors {
            cursor
                .sub
                .topic
                .waiters
                .register(&mut cursor.reg, cx.waker());
        }
        this.hub.clock.register(&mut this.clock, cx.waker());
        // A publish between the first look and registering would have found no
        // waiter to wake: look once more now that the wakers are listed.
        if let Some(ready) = this.take_pending(&mut batch) {
            return ready;
        }
        if this.keepalive_due() {
            batch.push(KEEPALIVE);
            return this.emit(batch);
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        for cursor in &mut self.cursors {
            cursor.sub.topic.waiters.deregister(&mut cursor.reg);
        }
        self.hub.clock.deregister(&mut self.clock);
        self.hub.stream_closed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::encode::encode_comment;
    use crate::engine::tick;
    use crate::event::Event;
    use bytes::Buf;
    use http_body_util::BodyExt;
    use std::time::Duration;
    use tokio::time::Instant;

    const INTERVAL: Duration = Duration::from_secs(15);

    fn stream(hub: &Arc<Hub>, topic: &str) -> EventStream {
        let (subs, after, _) = hub.subscribe(&[topic.to_string()], None);
        hub.streams.fetch_add(1, Ordering::AcqRel);
        EventStream::new(hub.clone(), subs, after, vec![encode_comment("ok")], true)
    }

    async fn next(stream: &mut EventStream) -> Bytes {
        let mut batch = stream.frame().await.unwrap().unwrap().into_data().unwrap();
        batch.copy_to_bytes(batch.remaining())
    }

    #[tokio::test(start_paused = true)]
    async fn keepalive_only_when_idle_for_an_interval() {
        let hub = Arc::new(Hub::new(&Config::default()));
        tokio::spawn(hub.clone().wake_subscribers());
        tokio::spawn(tick(hub.clone(), INTERVAL / KEEPALIVE_TICKS as u32));
        let mut stream = stream(&hub, "k");
        let start = Instant::now();
        assert_eq!(&next(&mut stream).await[..], b": ok\n\n");
        assert_eq!(next(&mut stream).await, KEEPALIVE);
        let idle = start.elapsed();
        assert!(
            idle >= INTERVAL && idle <= INTERVAL + INTERVAL / 4,
            "{idle:?}"
        );

        // Activity resets the idle time: an event 10 s later, then silence.
        let publisher = hub.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            publisher.publish("k", &Event::new("tick")).unwrap();
        });
        let before = Instant::now();
        assert!(next(&mut stream).await.ends_with(b"data: tick\n\n"));
        let event_at = Instant::now();
        assert!(
            event_at - before < INTERVAL,
            "no keep-alive while events flow"
        );
        assert_eq!(next(&mut stream).await, KEEPALIVE);
        let idle = event_at.elapsed();
        assert!(
            idle >= INTERVAL && idle <= INTERVAL + INTERVAL / 4,
            "{idle:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_keepalive_when_disabled_and_stop_ends_the_stream() {
        let hub = Arc::new(Hub::new(&Config::default()));
        tokio::spawn(hub.clone().wake_subscribers());
        tokio::spawn(tick(hub.clone(), INTERVAL / KEEPALIVE_TICKS as u32));
        let (subs, after, _) = hub.subscribe(&["q".to_string()], None);
        hub.streams.fetch_add(1, Ordering::AcqRel);
        let mut stream = EventStream::new(hub.clone(), subs, after, vec![], false);
        let stopper = hub.clone();
        tokio::spawn(async move {
            tokio::time::sleep(INTERVAL * 3).await;
            stopper.publish("q", &Event::new("last")).unwrap();
            stopper.stop();
        });
        assert!(next(&mut stream).await.ends_with(b"data: last\n\n"));
        assert!(stream.frame().await.is_none(), "stop ends the stream");
        drop(stream);
        assert_eq!(hub.stats().connections, 0);
    }

    #[tokio::test]
    async fn several_topics_keep_publish_order_across_full_batches() {
        let hub = Arc::new(Hub::new(&Config {
            history_size: 10_000,
            ..Config::default()
        }));
        tokio::spawn(hub.clone().wake_subscribers());
        let (subs, after, _) = hub.subscribe(&["a".to_string(), "b".to_string()], None);
        hub.streams.fetch_add(1, Ordering::AcqRel);
        let mut stream = EventStream::new(hub.clone(), subs, after, vec![], false);
        // More than one batch of `a`, then one `b` published after all of them.
        let total = BATCH_BUDGET.frames + 500;
        for i in 0..total {
            hub.publish("a", &Event::new(&i.to_string())).unwrap();
        }
        hub.publish("b", &Event::new("b")).unwrap();
        let mut seen = Vec::new();
        let read_all = async {
            while seen.len() < total + 1 {
                let bytes = next(&mut stream).await;
                let text = std::str::from_utf8(&bytes).unwrap();
                seen.extend(
                    text.lines()
                        .filter_map(|l| l.strip_prefix("data: "))
                        .map(str::to_owned),
                );
            }
        };
        tokio::time::timeout(Duration::from_secs(10), read_all)
            .await
            .expect("every event arrives");
        let expected: Vec<String> = (0..total)
            .map(|i| i.to_string())
            .chain(["b".to_string()])
            .collect();
        assert_eq!(seen, expected);
    }
}
