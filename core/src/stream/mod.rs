//! One event stream: the body of a `GET /events` response.
//!
//! The stream holds a cursor per topic. When polled it takes every frame between
//! its cursors and the readable watermark ([`Hub::readable`]: the published
//! one, or the fsynced one in `history_sync = always`), in publish order, as
//! one [`Batch`]; when there is nothing it parks on its topics and on the
//! keep-alive clock (which also wakes it on stop, and lets it notice its
//! deadline: a stream opened with a token that expires ends then, with no
//! timer of its own).
//!
//! With a durable history, a stream whose position the logs no longer cover
//! reads from disk first ([`replay`]), then joins the logs.
//!
//! A stream closes itself on stop and, while the engine drains, when its drain
//! turn comes: it sends what was readable at that moment, then a `retry:`
//! field with a random delay within `reconnect_jitter_ms` (so that its client
//! and the others do not reconnect in the same instant), then ends. What it
//! delivered and why it ended are reported by [`telemetry`].

mod batch;
mod replay;
mod request;
mod telemetry;
mod unsent;
mod watch;

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use tokio::time::Instant;

pub(crate) use batch::Batch;
pub(crate) use request::StreamRequest;
pub(crate) use telemetry::StreamOrigin;
pub(crate) use watch::{Stall, StreamWatch};

use crate::config::Config;
use crate::encode::{encode_comment, encode_retry, encode_signal, KEEPALIVE};
use crate::error::Error;
use crate::hub::log::{Budget, Lagged};
use crate::hub::{Drain, Hub, Registration, StreamSlot, Subscription, TopicHold};
use crate::report::{EndReason, RESET_EVENT};
use replay::DiskReplay;
use telemetry::Telemetry;
use unsent::Unsent;

/// What polling a stream answers.
type Polled = Poll<Option<Result<Frame<Batch>, Infallible>>>;

/// The most one write takes: frames and bytes.
const BATCH_BUDGET: Budget = Budget {
    frames: 1024,
    bytes: 256 * 1024,
};

/// How a stream opens, keeps itself alive and closes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamSettings {
    /// The `retry:` sent first; 0 sends a `: ok` comment instead.
    pub(crate) retry_ms: u32,
    /// Send keep-alive comments when idle.
    pub(crate) keepalive: bool,
    /// The most the `retry:` sent before the stream closes on stop or drain
    /// may be; 0 sends none.
    pub(crate) reconnect_jitter_ms: u32,
}

impl StreamSettings {
    /// The settings `config` gives every stream.
    pub(crate) fn new(config: &Config) -> Self {
        StreamSettings {
            retry_ms: config.retry_ms,
            keepalive: config.keepalive_ms > 0,
            reconnect_jitter_ms: config.reconnect_jitter_ms,
        }
    }
}

/// Where a stream starts, for a long-poll's answer (see [`EventStream::take_start`]).
#[derive(Debug)]
pub(crate) struct Start {
    /// Every event after this sequence number is delivered.
    pub(crate) after: u64,
    /// The reset signal, when the client's id could not be resumed exactly.
    pub(crate) reset: Option<Bytes>,
    /// The client gave an id to resume from.
    pub(crate) resumed: bool,
}

struct Cursor {
    hold: TopicHold,
    /// The sequence number of the last event taken from this topic (or the
    /// position the stream started from).
    after: u64,
    reg: Registration,
}

/// The topic names of a stream, comma-separated, for its log lines.
struct TopicNames<'a>(&'a [Cursor]);

impl fmt::Display for TopicNames<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, cursor) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(cursor.hold.name())?;
        }
        Ok(())
    }
}

/// A stream that has to end: it sends what was readable up to `upto`, then
/// (unless `retry_sent` is already true) its goodbye `retry:`, then ends.
#[derive(Debug, Clone, Copy)]
struct Closing {
    reason: EndReason,
    upto: u64,
    retry_sent: bool,
}

/// The body of an event stream response.
pub(crate) struct EventStream {
    hub: Arc<Hub>,
    /// Counts the stream as open until it is dropped.
    _slot: StreamSlot,
    cursors: Vec<Cursor>,
    /// The topics' names, for reads from the durable history (with one only).
    topics: Option<Arc<[String]>>,
    /// Set while the stream reads from disk; the cursors wait meanwhile.
    replay: Option<DiskReplay>,
    clock: Registration,
    /// Frames that go out before any event (reset signal, retry field).
    opening: Option<Batch>,
    start: Start,
    keepalive: bool,
    reconnect_jitter_ms: u32,
    /// The clock's tick count at the last write.
    last_write: u64,
    /// What the writer has not taken yet, shared with the batches handed out.
    unsent: Arc<Unsent>,
    /// Frames of several topics, to merge: sequence number, topic, frame.
    scratch: Vec<(u64, usize, Bytes)>,
    /// When the stream ends (its token's expiry), on the runtime's clock.
    deadline: Option<Instant>,
    /// Set once the stream has to end (stop, its drain turn, its deadline).
    closing: Option<Closing>,
    /// The stream's turn in a drain, once it has seen one, and its place in
    /// the turn's waiters.
    drain_turn: Option<(usize, Registration)>,
    /// Set once the stream has ended, with why.
    ended: Option<EndReason>,
    telemetry: Telemetry,
}

impl EventStream {
    /// Subscribes to `topics` from `last_event_id` and opens a stream that first
    /// sends the reset signal (when the id cannot be resumed exactly) and the
    /// opening frame, then every event after its position; counted and logged
    /// as a stream from `origin`. Fails when a topic cannot be created
    /// ([`Hub::subscribe`]).
    pub(crate) fn open(
        hub: Arc<Hub>,
        slot: StreamSlot,
        topics: &[String],
        last_event_id: Option<&str>,
        settings: StreamSettings,
        origin: StreamOrigin,
    ) -> Result<Self, Error> {
        let live_from = hub.published();
        let subscription = hub.subscribe(topics, last_event_id)?;
        Ok(Self::start(
            hub,
            slot,
            topics,
            last_event_id,
            settings,
            origin,
            live_from,
            subscription,
        ))
    }

    /// [`EventStream::open`] from async code: with a backplane, the resume
    /// position is checked against Redis without blocking a worker thread;
    /// [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable) while Redis
    /// cannot be reached and the position needs it.
    pub(crate) async fn open_async(
        hub: Arc<Hub>,
        slot: StreamSlot,
        topics: &[String],
        last_event_id: Option<&str>,
        settings: StreamSettings,
        origin: StreamOrigin,
    ) -> Result<Self, Error> {
        let live_from = hub.published();
        let subscription = hub.subscribe_async(topics, last_event_id).await?;
        Ok(Self::start(
            hub,
            slot,
            topics,
            last_event_id,
            settings,
            origin,
            live_from,
            subscription,
        ))
    }

    /// The stream of a subscription made by [`EventStream::open`] or
    /// [`EventStream::open_async`]; `live_from` is the watermark before it.
    #[allow(
        clippy::too_many_arguments,
        reason = "the arguments of open, the watermark and the subscription"
    )]
    fn start(
        hub: Arc<Hub>,
        slot: StreamSlot,
        topics: &[String],
        last_event_id: Option<&str>,
        settings: StreamSettings,
        origin: StreamOrigin,
        live_from: u64,
        subscription: Subscription,
    ) -> Self {
        let Subscription {
            holds,
            after,
            reset,
            from_disk,
        } = subscription;
        let from_history = hub.has_history().then(|| topics.into());
        let mut opening = Batch::with_capacity(2);
        let reset = reset.map(|reason| {
            let data = serde_json::json!({
                "reason": reason.as_str(),
                "lastEventId": last_event_id,
            });
            hub.metrics().reset_sent(reason);
            encode_signal(RESET_EVENT, &data.to_string())
        });
        if let Some(signal) = &reset {
            opening.push(signal.clone());
        }
        opening.push(if settings.retry_ms > 0 {
            encode_retry(settings.retry_ms)
        } else {
            encode_comment("ok")
        });
        let cursors: Vec<Cursor> = holds
            .into_iter()
            .map(|hold| Cursor {
                hold,
                after,
                reg: Registration::NONE,
            })
            .collect();
        let telemetry = Telemetry::open(hub.metrics(), origin, live_from, TopicNames(&cursors));
        // A stream opened while the engine drains (an in-app one: HTTP requests
        // are told to go elsewhere before) sends what it has, then goodbye.
        let closing = hub.drain().map(|_| Closing {
            reason: EndReason::Drained,
            upto: hub.readable(),
            retry_sent: settings.reconnect_jitter_ms == 0,
        });
        EventStream {
            last_write: hub.clock().now(),
            unsent: Arc::new(Unsent::new(cursors.len(), after)),
            hub,
            _slot: slot,
            cursors,
            topics: from_history,
            replay: from_disk.then(|| DiskReplay::new(after)),
            clock: Registration::NONE,
            opening: Some(opening),
            start: Start {
                after,
                reset,
                resumed: last_event_id.is_some(),
            },
            keepalive: settings.keepalive,
            reconnect_jitter_ms: settings.reconnect_jitter_ms,
            scratch: Vec::new(),
            deadline: None,
            closing,
            drain_turn: None,
            ended: None,
            telemetry,
        }
    }

    /// Where the stream starts, for a long-poll, which answers with events only:
    /// the opening frames (reset signal, `: ok` or `retry:`) are dropped, and
    /// the poll sends the reset signal from [`Start`] itself.
    pub(crate) fn take_start(&mut self) -> Start {
        self.opening = None;
        Start {
            reset: self.start.reset.take(),
            ..self.start
        }
    }

    /// Marks a long-poll's stream as answered, for its close log line.
    pub(crate) fn answered(&mut self) {
        self.telemetry.ended("answered");
    }

    /// Ends the stream at `deadline`, after it has sent every event published
    /// before it noticed. It notices when polled: at once when busy, on the next
    /// tick of the keep-alive clock when idle.
    pub(crate) fn end_at(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
    }

    /// Starts closing on stop, at the deadline, or when the stream's drain
    /// turn has come (else parks the stream on the drain until its turn). A
    /// stream closed by stop or drain says goodbye with a `retry:`; one whose
    /// token expired just ends, as its client needs a new token first.
    fn check_closing(&mut self, waker: &Waker) {
        if self.closing.is_some() {
            return;
        }
        let reason = if self.hub.is_stopped() {
            EndReason::Stopped
        } else if self.deadline.is_some_and(|at| Instant::now() >= at) {
            EndReason::Expired
        } else if let Some(drain) = self.hub.drain() {
            let (turn, reg) = self
                .drain_turn
                .get_or_insert_with(|| (Drain::draw_turn(), Registration::NONE));
            if !drain.is_due(*turn) {
                drain.park(*turn, reg, waker);
                // The turn may have passed while parking (the same look twice
                // as for topics).
                if !drain.is_due(*turn) {
                    return;
                }
            }
            EndReason::Drained
        } else {
            return;
        };
        self.closing = Some(Closing {
            reason,
            upto: self.hub.readable(),
            retry_sent: reason == EndReason::Expired || self.reconnect_jitter_ms == 0,
        });
    }

    /// Moves the next frames into `batch`, in publish order, within
    /// [`BATCH_BUDGET`]: from disk while the logs do not cover the stream's
    /// position, then from the logs. A stream that falls behind the logs reads
    /// from disk when there is a durable history; [`Lagged`] otherwise, or when
    /// the disk no longer has what it needs.
    fn collect(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Result<(), Lagged> {
        if self.replay.is_none() {
            match self.collect_from_logs(batch) {
                Err(Lagged) if self.hub.has_history() => {
                    self.scratch.clear();
                    let position = self.cursors.iter().map(|c| c.after).min().unwrap_or(0);
                    tracing::debug!(
                        "a stream fell behind the history in memory: reading from disk"
                    );
                    self.replay = Some(DiskReplay::new(position));
                }
                done => return done,
            }
        }
        let (Some(replay), Some(topics)) = (&mut self.replay, &self.topics) else {
            return Ok(());
        };
        let position = replay.position();
        if self.cursors.iter().all(|c| c.hold.covers(position)) {
            // The logs hold every event after the position: join them there.
            self.replay = None;
            for cursor in &mut self.cursors {
                cursor.after = position;
            }
            return self.collect_from_logs(batch);
        }
        match replay.poll_read(&self.hub, topics, cx, batch) {
            Poll::Ready(read) => read,
            Poll::Pending => Ok(()),
        }
    }

    /// Moves every frame between the cursors and the readable watermark into
    /// `batch`, in publish order, within [`BATCH_BUDGET`].
    fn collect_from_logs(&mut self, batch: &mut Batch) -> Result<(), Lagged> {
        let upto = match self.closing {
            Some(closing) => closing.upto,
            None => self.hub.readable(),
        };
        if let [cursor] = self.cursors.as_mut_slice() {
            if !cursor.hold.has_news(cursor.after) {
                return Ok(());
            }
            let mut last = cursor.after;
            cursor
                .hold
                .read(cursor.after, upto, BATCH_BUDGET, |seq, frame| {
                    batch.push_event(0, seq, frame);
                    last = seq;
                })?;
            cursor.after = last;
            return Ok(());
        }
        self.collect_merged(upto, batch)
    }

    /// [`EventStream::collect`] for several topics: reads each, then merges by
    /// sequence number up to the point every topic was read to.
    fn collect_merged(&mut self, upto: u64, batch: &mut Batch) -> Result<(), Lagged> {
        let mut cutoff = upto;
        for (topic, cursor) in self.cursors.iter().enumerate() {
            if !cursor.hold.has_news(cursor.after) {
                continue;
            }
            let start = self.scratch.len();
            let scratch = &mut self.scratch;
            let more = cursor
                .hold
                .read(cursor.after, upto, BATCH_BUDGET, |seq, frame| {
                    scratch.push((seq, topic, frame));
                })?;
            if more {
                if let Some(&(last, _, _)) = self.scratch[start..].last() {
                    cutoff = cutoff.min(last);
                }
            }
        }
        if self.scratch.is_empty() {
            return Ok(());
        }
        self.scratch.sort_unstable_by_key(|&(seq, _, _)| seq);
        let (mut frames, mut bytes) = (0, 0);
        for &(seq, _, ref frame) in &self.scratch {
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
            .for_each(|(seq, topic, frame)| batch.push_event(topic, seq, frame));
        // Every topic's frames up to the cutoff were taken (those of a topic that
        // was read only in part reach at least the cutoff).
        for cursor in &mut self.cursors {
            cursor.after = cursor.after.max(cutoff);
        }
        Ok(())
    }

    fn keepalive_due(&self) -> bool {
        self.keepalive && self.hub.clock().idle_since(self.last_write)
    }

    /// Hands `batch` to the connection, counting what it carries.
    fn emit(&mut self, mut batch: Batch) -> Polled {
        self.last_write = self.hub.clock().now();
        let metrics = self.hub.metrics();
        let (events, oldest) = batch.events();
        self.telemetry
            .delivered(metrics, events, bytes::Buf::remaining(&batch));
        if let Some(oldest) = oldest.filter(|&seq| self.telemetry.wants_sample(seq)) {
            if let Some(at) = self.published_at(oldest) {
                metrics.publish_to_write(at.elapsed());
            }
        }
        batch.report_to(&self.unsent);
        Poll::Ready(Some(Ok(Frame::data(batch))))
    }

    /// When the event `seq` of one of the stream's topics was published, if a
    /// log still keeps it.
    fn published_at(&self, seq: u64) -> Option<std::time::Instant> {
        self.cursors
            .iter()
            .find_map(|cursor| cursor.hold.published_at(seq))
    }

    /// A watchdog that tells when this stream's client takes no byte for
    /// `write_timeout` while bytes are pending, or falls behind the history
    /// with bytes pending.
    pub(crate) fn watch(&self, write_timeout: Duration) -> StreamWatch {
        StreamWatch::new(
            self.hub.clone(),
            self.unsent.clone(),
            self.cursors.iter().map(|c| c.hold.watch()).collect(),
            write_timeout,
        )
    }

    fn end(&mut self, reason: EndReason) -> Polled {
        self.ended = Some(reason);
        self.telemetry.ended(reason.as_str());
        Poll::Ready(None)
    }

    /// Why the stream ended, once it has.
    pub(crate) fn end_reason(&self) -> Option<EndReason> {
        self.ended
    }

    /// What to answer when frames are pending or the stream is over; `None` when
    /// there is nothing to send yet.
    fn take_pending(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Option<Polled> {
        self.check_closing(cx.waker());
        if self.collect(cx, batch).is_err() {
            self.hub.count_slow_consumer();
            return Some(self.end(EndReason::SlowConsumer));
        }
        if !batch.is_empty() {
            return Some(self.emit(std::mem::take(batch)));
        }
        let closing = self.closing.as_mut()?;
        if !closing.retry_sent {
            closing.retry_sent = true;
            batch.push(encode_retry(fastrand::u32(0..=self.reconnect_jitter_ms)));
            return Some(self.emit(std::mem::take(batch)));
        }
        let reason = closing.reason;
        Some(self.end(reason))
    }
}

impl Body for EventStream {
    type Data = Batch;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled {
        let this = self.get_mut();
        if this.ended.is_some() {
            return Poll::Ready(None);
        }
        let mut batch = this.opening.take().unwrap_or_default();
        if let Some(ready) = this.take_pending(cx, &mut batch) {
            return ready;
        }
        for cursor in &mut this.cursors {
            cursor.hold.park(&mut cursor.reg, cx.waker());
        }
        this.hub.clock().park(&mut this.clock, cx.waker());
        // A publish between the first look and parking would have found no
        // waiter to wake: look once more now that the wakers are listed.
        if let Some(ready) = this.take_pending(cx, &mut batch) {
            return ready;
        }
        if this.keepalive_due() {
            batch.push(KEEPALIVE);
            return this.emit(batch);
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.ended.is_some()
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        for cursor in &mut self.cursors {
            cursor.hold.unpark(&mut cursor.reg);
        }
        self.hub.clock().unpark(&mut self.clock);
        if let (Some(drain), Some((turn, reg))) = (self.hub.drain(), self.drain_turn.as_mut()) {
            drain.unpark(*turn, reg);
        }
        self.telemetry
            .close(self.hub.metrics(), TopicNames(&self.cursors));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::event::Event;
    use bytes::Buf;
    use http_body_util::BodyExt;
    use std::time::Duration;
    use tokio::time::Instant;

    const INTERVAL: Duration = Duration::from_secs(15);

    /// A hub whose waker task and keep-alive clock run on the test's runtime.
    fn hub(config: Config) -> Arc<Hub> {
        let hub = Arc::new(Hub::new(&config).unwrap());
        tokio::spawn(hub.clone().run_waker());
        tokio::spawn(hub.clone().run_clock(INTERVAL));
        hub
    }

    fn stream(hub: &Arc<Hub>, topics: &[&str], keepalive: bool) -> EventStream {
        let topics: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        let slot = hub.take_stream_slot().expect("a free slot");
        let settings = StreamSettings {
            retry_ms: 0,
            keepalive,
            reconnect_jitter_ms: 0,
        };
        let origin = StreamOrigin {
            transport: crate::metrics::Transport::InApp,
            peer: None,
        };
        EventStream::open(hub.clone(), slot, &topics, None, settings, origin).unwrap()
    }

    async fn next(stream: &mut EventStream) -> Bytes {
        let mut batch = stream.frame().await.unwrap().unwrap().into_data().unwrap();
        batch.copy_to_bytes(batch.remaining())
    }

    #[tokio::test(start_paused = true)]
    async fn keepalive_only_when_idle_for_an_interval() {
        let hub = hub(Config::default());
        let mut stream = stream(&hub, &["k"], true);
        let start = Instant::now();
        assert_eq!(&next(&mut stream).await[..], b": ok\n");
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
        let hub = hub(Config::default());
        let mut stream = stream(&hub, &["q"], false);
        assert_eq!(&next(&mut stream).await[..], b": ok\n");
        let stopper = hub.clone();
        tokio::spawn(async move {
            tokio::time::sleep(INTERVAL * 3).await;
            stopper.publish("q", &Event::new("last")).unwrap();
            stopper.stop();
        });
        assert!(next(&mut stream).await.ends_with(b"data: last\n\n"));
        assert!(stream.frame().await.is_none(), "stop ends the stream");
        assert_eq!(stream.end_reason(), Some(EndReason::Stopped));
        drop(stream);
        assert_eq!(hub.stats().connections, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_ends_the_stream_after_what_was_published_before() {
        let hub = hub(Config::default());
        let mut stream = stream(&hub, &["e", "f"], false);
        let start = Instant::now();
        let lifetime = Duration::from_secs(60);
        stream.end_at(start + lifetime);
        assert_eq!(&next(&mut stream).await[..], b": ok\n");
        let publisher = hub.clone();
        tokio::spawn(async move {
            tokio::time::sleep(lifetime - Duration::from_millis(1)).await;
            publisher.publish("e", &Event::new("e-last")).unwrap();
            publisher.publish("f", &Event::new("f-last")).unwrap();
        });
        let text = String::from_utf8(next(&mut stream).await.to_vec()).unwrap();
        assert!(text.contains("e-last"), "{text}");
        let text = match text.contains("f-last") {
            true => text,
            false => String::from_utf8(next(&mut stream).await.to_vec()).unwrap(),
        };
        assert!(text.contains("f-last"), "{text}");
        assert!(
            stream.frame().await.is_none(),
            "the deadline ends the stream"
        );
        let ended = start.elapsed();
        assert!(
            ended >= lifetime && ended <= lifetime + INTERVAL / 4,
            "ended after {ended:?}"
        );
        assert!(stream.frame().await.is_none(), "and it stays ended");
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_stream_ends_at_its_deadline_too() {
        let hub = hub(Config {
            history_size: 100_000,
            ..Config::default()
        });
        let mut stream = stream(&hub, &["busy"], false);
        stream.end_at(Instant::now() + Duration::from_secs(5));
        let publisher = hub.clone();
        let feeding = tokio::spawn(async move {
            loop {
                publisher.publish("busy", &Event::new("x")).unwrap();
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        let mut frames = 0;
        let drain = async {
            while stream.frame().await.is_some() {
                frames += 1;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), drain)
            .await
            .expect("the stream ends at its deadline while events flow");
        feeding.abort();
        assert!(frames > 100, "events flowed until the deadline ({frames})");
    }

    #[tokio::test]
    async fn several_topics_keep_publish_order_across_full_batches() {
        let hub = hub(Config {
            history_size: 10_000,
            ..Config::default()
        });
        let mut stream = stream(&hub, &["a", "b"], false);
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
