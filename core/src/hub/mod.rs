//! The hub: topics, sequence numbers and ids, and the parts that wake streams.
//!
//! - [`registry`]: topic names to topics, and the holds streams keep on them;
//! - [`topic`] and [`log`]: one topic's ring of encoded events, read with cursors;
//! - [`ids`]: the engine's id format;
//! - [`wake_queue`]: publishers queue topics, one task wakes their streams;
//! - [`clock`]: the keep-alive clock;
//! - [`slots`]: the open-stream count and its bound;
//! - [`drain`]: closing streams gradually over a window.
//!
//! A publish validates and encodes its event first, then, under one short
//! engine-wide lock, takes the next sequence number, writes the id line into
//! the frame, queues it for the durable history (with `history_dir`) and
//! appends it to the topic's log, so that every event up to the `published`
//! watermark is in its log (and on disk or in the disk queue). It then queues
//! the topic for the waker task; it never wakes streams itself. In
//! `history_sync = always` streams send an event only once it is fsynced
//! ([`Hub::readable`]): its publisher queues the topic after its wait.
//!
//! With a durable history, the engine's ids and sequence numbers continue those
//! of the previous start, and a subscription the logs cannot serve (its id is
//! older than a log, or a publisher's id found only on disk) starts from disk:
//! [`Subscription::from_disk`], read with [`Hub::read_history`].
//!
//! With a backplane ([`cluster`]), a publish goes through Redis instead of
//! the publish lock, the feed appends every node's events to the logs and
//! moves `published`, and what the logs lack is read from Redis by the same
//! [`Hub::read_history`].

mod clock;
mod cluster;
mod drain;
mod ids;
pub(crate) mod log;
mod registry;
mod slots;
mod topic;
mod waiters;
mod wake_queue;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::backplane::{self, Backplane, BackplaneState};
use crate::config::Config;
use crate::durable::{self, DurableHistory};
use crate::encode::{encode_event, encode_unnumbered};
use crate::error::{Error, ErrorKind, Result};
use crate::event::{validate_topic, Event};
use crate::metrics::Metrics;
use crate::report::{ResetReason, Stats};

pub(crate) use clock::Clock;
pub(crate) use drain::Drain;
pub use ids::MAX_ENGINE_ID_BYTES;
pub(crate) use registry::{TopicHold, TopicWatch};
pub(crate) use slots::StreamSlot;
pub(crate) use waiters::Registration;

use ids::{Incarnation, MAX_ID_LINE_BYTES};
use log::{Bounds, Budget, Lagged, UNKNOWN_START};
use registry::{Full, Registry};
use slots::StreamSlots;
use wake_queue::WakeQueue;

/// The engine-wide broadcaster shared by publishers and streams.
pub(crate) struct Hub {
    registry: Arc<Registry>,
    /// The newest sequence number assigned. Held while a sequence number is
    /// taken and its event appended, so events enter their logs in order.
    publish_lock: Mutex<u64>,
    /// The newest sequence number whose event is in its log.
    published: AtomicU64,
    incarnation: Incarnation,
    /// The sequence number before the first one of this start (not 0 when a
    /// durable history continues an earlier start).
    first_seq: u64,
    /// The durable history, with `history_dir`.
    history: Option<Arc<DurableHistory>>,
    /// `history_sync = always`: streams send only events already on disk.
    readable_when_durable: bool,
    /// The backplane, with `backplane` (set once the runtime runs, by
    /// [`Hub::start_backplane`]): publishes go through Redis, and the feed
    /// fills the logs and moves `published`.
    backplane: OnceLock<Arc<Backplane>>,
    /// True when `backplane` is configured.
    clustered: bool,
    max_event_bytes: usize,
    stopped: AtomicBool,
    wake_queue: WakeQueue,
    clock: Clock,
    slots: Arc<StreamSlots>,
    metrics: Metrics,
    /// Set once by the first [`Hub::start_drain`].
    drain: OnceLock<Drain>,
}

/// Where a new subscription starts: its holds, the sequence number its cursors
/// start after, and the reset signal it owes its client, if any.
pub(crate) struct Subscription {
    /// One hold per topic, in the order asked for.
    pub(crate) holds: Vec<TopicHold>,
    /// Every event after this sequence number is delivered.
    pub(crate) after: u64,
    /// Set when the requested id could not be resumed exactly.
    pub(crate) reset: Option<ResetReason>,
    /// True when the logs do not hold every event after `after`: the stream
    /// reads them from the durable history ([`Hub::read_history`]) until the
    /// logs cover its position.
    pub(crate) from_disk: bool,
}

/// Events read from the durable history for one stream.
#[derive(Debug, Default)]
pub(crate) struct HistoryRead {
    /// `(seq, frame)` in publish order.
    pub(crate) frames: Vec<(u64, bytes::Bytes)>,
    /// The stream's position after these frames: every event of its topics up
    /// to this sequence number has been read.
    pub(crate) reached: u64,
}

impl HistoryRead {
    /// `frames` read up to `upto`: the stream has reached `upto` unless the
    /// read stopped early (`more`), at its last frame.
    fn new(frames: Vec<(u64, bytes::Bytes)>, more: bool, upto: u64) -> Self {
        let reached = match frames.last() {
            Some(&(last, _)) if more => last,
            _ => upto,
        };
        HistoryRead { frames, reached }
    }
}

impl Hub {
    /// A hub with the history bounds and limits of `config`. With
    /// `history_dir`, opens the durable history and continues its ids; fails
    /// with [`ErrorKind::Storage`] when it cannot.
    pub(crate) fn new(config: &Config) -> Result<Self> {
        let (history, incarnation, last_seq) = match &config.history_dir {
            None => (None, Incarnation::new(), 0),
            Some(dir) => {
                let (history, recovered) =
                    DurableHistory::open(dir, durable::Options::from_config(config), || {
                        Incarnation::new().prefix().to_owned()
                    })?;
                let incarnation =
                    Incarnation::from_prefix(&recovered.incarnation).ok_or_else(|| {
                        Error::new(
                            ErrorKind::Storage,
                            format!(
                                "history_dir {}: the store is damaged (its id prefix {:?} \
                                 is not one ssecast makes)",
                                dir.display(),
                                recovered.incarnation
                            ),
                        )
                    })?;
                tracing::info!(
                    "durable history in {}: {} events kept, ids continue from {}",
                    dir.display(),
                    recovered.events,
                    incarnation.id(recovered.next_seq)
                );
                (Some(Arc::new(history)), incarnation, recovered.next_seq - 1)
            }
        };
        Ok(Hub {
            registry: Arc::new(Registry::new(
                Bounds {
                    max_events: config.history_size,
                    max_bytes: config.history_bytes,
                    max_age: (config.history_ttl_ms > 0)
                        .then(|| Duration::from_millis(config.history_ttl_ms)),
                },
                config.max_topics,
            )),
            publish_lock: Mutex::new(last_seq),
            published: AtomicU64::new(last_seq),
            incarnation,
            first_seq: last_seq,
            readable_when_durable: history.as_ref().is_some_and(|h| h.waits_for_disk()),
            history,
            backplane: OnceLock::new(),
            clustered: config.backplane.is_some(),
            max_event_bytes: config.max_event_bytes,
            stopped: AtomicBool::new(false),
            wake_queue: WakeQueue::default(),
            clock: Clock::default(),
            slots: Arc::new(StreamSlots::new(config.max_connections)),
            metrics: Metrics::new(),
            drain: OnceLock::new(),
        })
    }

    /// Validates, encodes and appends an event; returns its id. In
    /// `history_sync = always` it returns once the event is on disk, so call it
    /// off async worker threads then ([`Hub::waits_for_disk`]). Fails with
    /// [`ErrorKind::Storage`] when the durable history refuses the event (it is
    /// then not published) or fails to make it durable (it may then have reached
    /// live subscribers and may still be stored).
    pub(crate) fn publish(&self, topic: &str, event: &Event<'_>) -> Result<String> {
        if let Some(backplane) = self.backplane.get() {
            return backplane.block_on(self.publish_through(backplane, topic, event));
        }
        self.check_publish(topic, event)?;
        // Everything that does not need the sequence number happens before the
        // engine-wide lock: encoding, the custom id's copy, the clock.
        let frame = match event.id {
            Some(id) => Frame::Complete(encode_event(event, id)),
            None => Frame::Unnumbered(encode_unnumbered(event, MAX_ID_LINE_BYTES)),
        };
        let custom_id = event.id.map(Box::from);
        let now = Instant::now();
        let published = self
            .registry
            .with_topic(topic, self.new_topic_floor(), move |entry| {
                let draft = self
                    .history
                    .as_ref()
                    .map(|_| durable::Draft::new(entry.name().clone(), event.id));
                let mut last = self.publish_lock.lock().unwrap_or_else(|e| e.into_inner());
                let seq = *last + 1;
                let frame =
                    frame.finish(|room, end| self.incarnation.write_id_line(seq, room, end));
                // The disk queue first: a refused event takes no seq and
                // reaches no subscriber.
                let ticket = match (&self.history, draft) {
                    (Some(history), Some(draft)) => history.append(seq, draft, &frame)?,
                    _ => None,
                };
                let evicted = entry.append(seq, custom_id, frame, now);
                *last = seq;
                self.published.store(seq, Ordering::Release);
                drop(last);
                // In `always`, streams see the event once it is on disk:
                // its topic is queued for waking after the wait.
                let wake_later = ticket.as_ref().map(|_| entry.clone());
                if wake_later.is_none() {
                    self.wake_queue.push(entry);
                }
                Ok::<_, Error>((seq, evicted, ticket, wake_later))
            });
        let (seq, evicted, ticket, wake_later) = published
            .map_err(|Full| self.too_many_topics())?
            .inspect_err(|e| self.count_storage_error(e))?;
        drop(evicted);
        if let (Some(history), Some(ticket)) = (&self.history, ticket) {
            let waited = history.wait(ticket);
            if let Some(topic) = &wake_later {
                self.wake_queue.push(topic);
            }
            waited.inspect_err(|e| self.count_storage_error(e))?;
        }
        Ok(match event.id {
            Some(id) => id.to_owned(),
            None => self.incarnation.id(seq),
        })
    }

    /// [`Hub::publish`] from async code: through the backplane without
    /// blocking a worker thread. Without a backplane, the same as
    /// [`Hub::publish`] (which then waits for no socket).
    pub(crate) async fn publish_async(&self, topic: &str, event: &Event<'_>) -> Result<String> {
        match self.backplane.get() {
            Some(backplane) => self.publish_through(backplane, topic, event).await,
            None => self.publish(topic, event),
        }
    }

    /// Publishes through Redis: once Redis has the event, its id is returned;
    /// the event reaches the logs (this node's too) through the feed.
    /// [`ErrorKind::Unavailable`] while Redis cannot be reached.
    async fn publish_through(
        &self,
        backplane: &Backplane,
        topic: &str,
        event: &Event<'_>,
    ) -> Result<String> {
        self.check_publish(topic, event)?;
        let body = encode_unnumbered(event, 0).number(|_, end| end);
        let published = backplane.publish(topic, &body, event.id).await?;
        Ok(published.id)
    }

    /// The checks of every publish: not stopped, topic, fields, size.
    fn check_publish(&self, topic: &str, event: &Event<'_>) -> Result<()> {
        if self.is_stopped() {
            return Err(Error::new(ErrorKind::Stopped, "the engine is stopped"));
        }
        validate_topic(topic)?;
        event.validate()?;
        self.check_data_len(event.data.len())
    }

    /// Joins the backplane when `backplane` is configured: starts its feed
    /// (which connects by itself; an unreachable Redis is a state, not an
    /// error) and subscribes it to the topics streams hold. Call once, inside
    /// the engine's runtime.
    pub(crate) fn start_backplane(self: &Arc<Self>, config: &Config) -> Result<()> {
        let Some(url) = &config.backplane else {
            return Ok(());
        };
        let options =
            backplane::Options::new(url, config.history_size, config.history_ttl_ms, || {
                Incarnation::new().prefix().to_owned()
            });
        let started = Arc::new(Backplane::start(
            options,
            Arc::new(cluster::FeedSink::new(self)),
        )?);
        self.registry
            .set_hold_hooks(Box::new(cluster::FeedHolds(started.clone())));
        tokio::spawn(cluster::report_state(Arc::downgrade(self), started.clone()));
        let _ = self.backplane.set(started);
        Ok(())
    }

    /// The link to the backplane, when there is one.
    pub(crate) fn backplane_state(&self) -> Option<BackplaneState> {
        self.backplane.get().map(|b| b.state())
    }

    /// Fails with [`ErrorKind::TooLarge`] for a payload of `len` bytes over
    /// `max_event_bytes`.
    pub(crate) fn check_data_len(&self, len: usize) -> Result<()> {
        if len > self.max_event_bytes {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "data is {len} bytes; max_event_bytes is {}",
                    self.max_event_bytes
                ),
            ));
        }
        Ok(())
    }

    /// True when [`Hub::publish`] waits for the disk (`history_sync = always`).
    pub(crate) fn waits_for_disk(&self) -> bool {
        self.readable_when_durable
    }

    /// The floor of a topic created now (see [`log::Log::new`]): with a durable
    /// history, its earlier events are on disk only; without one, a new topic's
    /// log misses nothing that is kept anywhere.
    fn new_topic_floor(&self) -> u64 {
        match self.history {
            _ if self.clustered => UNKNOWN_START,
            Some(_) => self.published(),
            None => 0,
        }
    }

    /// The newest sequence number whose event is in its log.
    pub(crate) fn published(&self) -> u64 {
        self.published.load(Ordering::Acquire)
    }

    /// The engine id of sequence number `seq`: resuming from it delivers every
    /// event after `seq`, whatever topic it was published on.
    pub(crate) fn id_of(&self, seq: u64) -> String {
        match self.cluster_ids() {
            Some(cluster) => cluster.id(seq),
            None => self.incarnation.id(seq),
        }
    }

    /// With a backplane, the cluster's id format (once the feed has reached
    /// Redis): engine ids are the cluster's, not this node's.
    fn cluster_ids(&self) -> Option<Incarnation> {
        let incarnation = self.backplane.get()?.incarnation()?;
        Incarnation::from_prefix(&incarnation)
    }

    /// The newest sequence number streams may send: [`Hub::published`], or in
    /// `history_sync = always` the newest fsynced, so that no client ever sees
    /// an event a crash can lose.
    pub(crate) fn readable(&self) -> u64 {
        let published = self.published();
        match &self.history {
            Some(history) if self.readable_when_durable => published.min(history.durable_through()),
            _ => published,
        }
    }

    /// The error for a topic that cannot be created.
    fn too_many_topics(&self) -> Error {
        Error::new(
            ErrorKind::TooManyTopics,
            format!(
                "the engine holds its maximum of {} topics (max_topics)",
                self.registry.max_topics()
            ),
        )
    }

    /// Holds `names` and places the cursors: after `last_event_id` when it can
    /// be resumed exactly (from the logs, or from the durable history when the
    /// logs no longer hold what follows it), else at the live end with a reset
    /// reason. With a durable history, looking the id up may read the disk
    /// (point reads). Fails with [`ErrorKind::TooManyTopics`] when a topic
    /// would be created while `max_topics` exist.
    pub(crate) fn subscribe(
        &self,
        names: &[String],
        last_event_id: Option<&str>,
    ) -> Result<Subscription> {
        if let Some(backplane) = self.backplane.get() {
            return backplane.block_on(self.subscribe_async(names, last_event_id));
        }
        let holds = self.hold_all(names)?;
        // Everything up to `live` is already in the logs; later events arrive live.
        let live = self.published();
        let (after, reset, from_disk) = match last_event_id {
            None => (live, None, false),
            Some(id) => match self.resume_position(&holds, names, id, live) {
                Ok((after, from_disk)) => (after, None, from_disk),
                Err(reason) => (live, Some(reason), false),
            },
        };
        Ok(Subscription {
            holds,
            after,
            reset,
            from_disk,
        })
    }

    /// [`Hub::subscribe`] from async code. With a backplane, a position the
    /// logs cannot serve is checked against Redis (one round trip), and the
    /// stream reads from Redis until the logs cover it; that fails with
    /// [`ErrorKind::Unavailable`] while Redis cannot be reached. A stream
    /// without `last_event_id` starts after the newest event its node has
    /// (or, for a topic the node does not receive yet, after the cluster's
    /// newest).
    pub(crate) async fn subscribe_async(
        &self,
        names: &[String],
        last_event_id: Option<&str>,
    ) -> Result<Subscription> {
        let Some(backplane) = self.backplane.get() else {
            return self.subscribe(names, last_event_id);
        };
        let holds = self.hold_all(names)?;
        let covered = |after: u64| holds.iter().all(|h| h.covers(after));
        let live = self.published();
        let (after, reset) = match last_event_id {
            None if covered(live) => (live, None),
            None => (backplane.counter().await?, None),
            Some(id) => match self.resume_point(&holds, id, live) {
                Some(after) if covered(after) => (after, None),
                _ => {
                    let topics: Vec<&str> = names.iter().map(String::as_str).collect();
                    self.resume_from_redis(backplane, &topics, id).await?
                }
            },
        };
        Ok(Subscription {
            from_disk: !covered(after),
            holds,
            after,
            reset,
        })
    }

    /// Where a client whose last event is `id` resumes when the logs lack
    /// what follows it: after `id`'s event when Redis still has every event
    /// of `topics` after it, else after the cluster's newest with a reset.
    async fn resume_from_redis(
        &self,
        backplane: &Backplane,
        topics: &[&str],
        id: &str,
    ) -> Result<(u64, Option<ResetReason>)> {
        let seq = match self.cluster_ids().and_then(|ids| ids.parse(id)) {
            Some(seq) => Some(seq),
            None => backplane.find_custom_id(topics, id).await?,
        };
        let verdict = match seq {
            Some(seq) => backplane.resume_after(topics, seq).await?,
            None => Some(ResetReason::UnknownId),
        };
        match (seq, verdict) {
            (Some(seq), None) => Ok((seq, None)),
            (_, reason) => Ok((backplane.counter().await?, reason)),
        }
    }

    /// One hold per name, creating topics as needed; [`ErrorKind::TooManyTopics`]
    /// when one would be created while `max_topics` exist.
    fn hold_all(&self, names: &[String]) -> Result<Vec<TopicHold>> {
        let floor = self.new_topic_floor();
        names
            .iter()
            .map(|n| self.registry.hold(n, floor))
            .collect::<Result<Vec<TopicHold>, Full>>()
            .map_err(|Full| self.too_many_topics())
    }

    /// Where a client whose last event is `id` resumes: the sequence number of
    /// that event and whether the stream must start from disk, or why it
    /// cannot resume exactly.
    fn resume_position(
        &self,
        holds: &[TopicHold],
        names: &[String],
        id: &str,
        live: u64,
    ) -> std::result::Result<(u64, bool), ResetReason> {
        let in_logs = self.resume_point(holds, id, live);
        let covered = |after: u64| holds.iter().all(|h| h.covers(after));
        let Some(history) = &self.history else {
            return match in_logs {
                None => Err(ResetReason::UnknownId),
                Some(after) if !covered(after) => Err(ResetReason::HistoryGap),
                Some(after) => Ok((after, false)),
            };
        };
        // A publisher's id may also name older events that only the disk
        // keeps: resume after the oldest kept anywhere, as in memory.
        let topics: Vec<&str> = names.iter().map(String::as_str).collect();
        let on_disk = match history.find_custom_id(&topics, id) {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!("durable history: {error}");
                return Err(ResetReason::HistoryGap);
            }
        };
        let Some(after) = in_logs.into_iter().chain(on_disk).min() else {
            return Err(ResetReason::UnknownId);
        };
        if covered(after) {
            return Ok((after, false));
        }
        history.resume_after(after).map(|()| (after, true))
    }

    /// The sequence number a client that last saw `id` resumes after, if `id`
    /// names a position at all: the oldest kept event of these topics whose
    /// publisher gave it `id` (with a reused id, the client may see events
    /// again; none is skipped), and the position an engine id of this start
    /// names (whatever topic its event was on, as [`Hub::id_of`] hands out);
    /// when a publisher's id has the form of an engine id, the older of the
    /// two, so that nothing is skipped.
    fn resume_point(&self, holds: &[TopicHold], id: &str, live: u64) -> Option<u64> {
        let by_publisher = holds
            .iter()
            .filter_map(|h| h.topic().log().oldest_with_id(id))
            .min();
        let by_engine = match (self.clustered, self.cluster_ids()) {
            (false, _) => self.incarnation.parse(id),
            (true, Some(cluster)) => cluster.parse(id),
            (true, None) => None,
        }
        .filter(|&seq| seq <= live);
        by_publisher.into_iter().chain(by_engine).min()
    }

    /// Reads, for a stream that starts from disk, the events of `topics` after
    /// `after` up to [`Hub::readable`], within `budget`. [`Lagged`]
    /// when events after `after` were trimmed from the disk meanwhile, or the
    /// disk cannot be read (logged): the stream ends and its client resumes.
    /// Reads the disk: call it off async worker threads.
    pub(crate) fn read_history(
        &self,
        topics: &[String],
        after: u64,
        budget: Budget,
    ) -> std::result::Result<HistoryRead, Lagged> {
        if let Some(backplane) = self.backplane.get() {
            return self.read_from_redis(backplane, topics, after, budget);
        }
        let history = self.history.as_ref().ok_or(Lagged)?;
        let upto = self.readable();
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        let replay = history
            .read_after(&names, after, upto, budget.frames, budget.bytes)
            .map_err(|error| {
                tracing::warn!("durable history: {error}");
                self.count_storage_error(&error);
                Lagged
            })?;
        if history.trimmed_through() > after {
            return Err(Lagged);
        }
        Ok(HistoryRead::new(replay.frames, replay.more, upto))
    }

    /// [`Hub::read_history`] with a backplane: from the topics' Redis Streams
    /// (within `budget.frames`). [`Lagged`] when Redis cannot be reached or
    /// no longer has an event after `after`.
    fn read_from_redis(
        &self,
        backplane: &Backplane,
        topics: &[String],
        after: u64,
        budget: Budget,
    ) -> std::result::Result<HistoryRead, Lagged> {
        let upto = self.readable();
        if after >= upto {
            // The node has not received that far yet: wait for its feed.
            return Ok(HistoryRead {
                frames: Vec::new(),
                reached: after,
            });
        }
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        let replay = backplane
            .block_on(backplane.read_after(&names, after, upto, budget.frames))
            .map_err(|error| {
                tracing::warn!("{error}");
                Lagged
            })?;
        if replay.gap {
            return Err(Lagged);
        }
        Ok(HistoryRead::new(replay.frames, replay.more, upto))
    }

    /// True when the engine has a durable history or a backplane: a stream
    /// behind its logs reads from disk or Redis instead of ending.
    pub(crate) fn has_history(&self) -> bool {
        self.history.is_some() || self.clustered
    }

    /// Writes what the durable history still queues, syncs and releases its
    /// directory; call it once the streams are closed. Logs a failure.
    pub(crate) fn close_history(&self) {
        if let Some(history) = &self.history {
            if let Err(error) = history.close() {
                tracing::error!("durable history: {error}");
            }
        }
    }

    /// A slot for a new stream, or `None` when `max_connections` are open.
    pub(crate) fn take_stream_slot(&self) -> Option<StreamSlot> {
        self.slots.take()
    }

    /// A slot for a stream its host reads in process (counted, bounded, but
    /// not waited for by stop), or `None` when `max_connections` are open.
    pub(crate) fn take_hosted_stream_slot(&self) -> Option<StreamSlot> {
        self.slots.take_hosted()
    }

    /// The most streams open at once (`max_connections`).
    pub(crate) fn max_streams(&self) -> usize {
        self.slots.max()
    }

    /// Resolves once no stream the server writes is open.
    pub(crate) async fn all_streams_closed(&self) {
        self.slots.all_closed().await;
    }

    /// The keep-alive clock.
    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The engine's metrics.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Counts a stream closed because its client fell behind the history or
    /// stalled.
    pub(crate) fn count_slow_consumer(&self) {
        self.metrics.slow_consumer();
    }

    /// Counts `error` when the durable history caused it.
    fn count_storage_error(&self, error: &Error) {
        if error.kind() == ErrorKind::Storage {
            self.metrics.storage_error();
        }
    }

    /// Starts draining over `window` and wakes every stream so that each draws
    /// its turn; false (and nothing changes) when a drain had already started.
    pub(crate) fn start_drain(&self, window: Duration) -> bool {
        let mut started = false;
        self.drain.get_or_init(|| {
            started = true;
            Drain::new(window)
        });
        if started {
            self.clock.wake_all();
            self.registry.wake_all();
        }
        started
    }

    /// The drain in progress, if [`Hub::start_drain`] was called.
    pub(crate) fn drain(&self) -> Option<&Drain> {
        self.drain.get()
    }

    /// The drain task: passes the drain's turns until the last, if a drain started.
    pub(crate) async fn run_drain(self: Arc<Self>) {
        if let Some(drain) = self.drain() {
            drain.run().await;
        }
    }

    /// The waker task: wakes the streams of topics that got events, until stop.
    pub(crate) async fn run_waker(self: Arc<Self>) {
        self.wake_queue.run(|| self.is_stopped()).await;
    }

    /// The keep-alive clock task: ticks until stop.
    pub(crate) async fn run_clock(self: Arc<Self>, keepalive: Duration) {
        self.clock.run(keepalive, || self.is_stopped()).await;
    }

    /// The sweep task: every `every`, drops expired history and forgets
    /// topics with neither history nor holders, a chunk at a time (yielding
    /// between chunks), until stop.
    pub(crate) async fn run_sweep(self: Arc<Self>, every: Duration) {
        let mut interval = tokio::time::interval(every);
        interval.tick().await;
        while !self.is_stopped() {
            interval.tick().await;
            let mut end = usize::MAX;
            while end > 0 && !self.is_stopped() {
                end = self.registry.sweep_step(end, Instant::now());
                tokio::task::yield_now().await;
            }
        }
    }

    /// A whole sweep at once (see [`Hub::run_sweep`]).
    #[cfg(test)]
    pub(crate) fn sweep(&self) {
        let mut end = usize::MAX;
        while end > 0 {
            end = self.registry.sweep_step(end, Instant::now());
        }
    }

    /// Refuses further publishes and wakes every stream so that it ends.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        if let Some(backplane) = self.backplane.get() {
            backplane.stop();
        }
        self.wake_queue.nudge();
        self.clock.wake_all();
        self.registry.wake_all();
    }

    /// True once [`Hub::stop`] has been called.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// The engine's counters now.
    pub(crate) fn stats(&self) -> Stats {
        let mut stats = Stats {
            connections: self.slots.open(),
            topics: self.registry.len(),
            published: match self.backplane.get() {
                Some(backplane) => backplane.counters().published,
                None => self.published() - self.first_seq,
            },
            backplane: self.backplane_state(),
            ..Stats::default()
        };
        self.metrics.fill(&mut stats);
        stats
    }
}

/// An event's frame on its way into the log.
enum Frame {
    /// Encoded with the publisher's own id.
    Complete(bytes::Bytes),
    /// Encoded without its id line, which needs the sequence number.
    Unnumbered(crate::encode::Unnumbered),
}

impl Frame {
    /// The finished frame; `write_id_line` numbers an unnumbered one.
    fn finish(self, write_id_line: impl FnOnce(&mut [u8], usize) -> usize) -> bytes::Bytes {
        match self {
            Frame::Complete(frame) => frame,
            Frame::Unnumbered(frame) => frame.number(write_id_line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(history: usize) -> Arc<Hub> {
        Arc::new(
            Hub::new(&Config {
                history_size: history,
                ..Config::default()
            })
            .unwrap(),
        )
    }

    #[test]
    fn ids_are_unique_per_incarnation_and_ordered() {
        let a = hub(10);
        let b = hub(10);
        let id1 = a.publish("t", &Event::new("x")).unwrap();
        let id2 = a.publish("t", &Event::new("y")).unwrap();
        assert_ne!(id1, b.publish("t", &Event::new("x")).unwrap());
        assert_eq!(a.incarnation.parse(&id1), Some(1));
        assert_eq!(a.incarnation.parse(&id2), Some(2));
        assert_eq!(b.incarnation.parse(&id1), None);
        assert_eq!(a.publish("t", &Event::new("z").id("mine")).unwrap(), "mine");
    }

    #[test]
    fn frames_carry_their_ids() {
        let hub = hub(10);
        let id = hub.publish("t", &Event::new("x").event("e")).unwrap();
        hub.publish("t", &Event::new("y").id("mine")).unwrap();
        let sub = hub.subscribe(&["t".to_string()], None).unwrap();
        let mut out = Vec::new();
        let budget = log::Budget {
            frames: 10,
            bytes: 1 << 20,
        };
        sub.holds[0]
            .read(0, hub.published(), budget, |_, frame| out.push(frame))
            .unwrap();
        let frames: Vec<&[u8]> = out.iter().map(|f| f.as_ref()).collect();
        assert_eq!(
            frames,
            [
                format!("id: {id}\nevent: e\ndata: x\n\n").as_bytes(),
                b"id: mine\ndata: y\n\n".as_slice()
            ]
        );
    }

    #[test]
    fn resume_positions() {
        let hub = hub(3);
        let topics = vec!["t".to_string()];
        let at = |id: &str| {
            let sub = hub.subscribe(&topics, Some(id)).unwrap();
            (sub.after, sub.reset)
        };
        let first = hub.publish("t", &Event::new("1")).unwrap();
        let second = hub.publish("t", &Event::new("2").id("custom")).unwrap();
        assert_eq!(at(&first), (1, None));
        assert_eq!(at(&second), (2, None));
        assert_eq!(at("nope"), (2, Some(ResetReason::UnknownId)));
        for i in 0..3 {
            hub.publish("t", &Event::new(&i.to_string())).unwrap();
        }
        assert_eq!(at(&first), (5, Some(ResetReason::HistoryGap)));
        let forged = hub.incarnation.id(999);
        assert_eq!(at(&forged).1, Some(ResetReason::UnknownId));
    }

    #[test]
    fn ids_that_look_like_engine_ids_or_repeat_never_skip_events() {
        let hub = hub(100);
        let a = vec!["a".to_string()];
        let at = |id: &str| {
            let sub = hub.subscribe(&a, Some(id)).unwrap();
            (sub.after, sub.reset)
        };
        hub.publish("a", &Event::new("1")).unwrap();
        // A publisher id with the form of an engine id of a later position:
        // a client that saw event 2 resumes after event 2, not after that
        // position (which skipped events 3 to 5).
        hub.publish("a", &Event::new("2").id(&hub.incarnation.id(5)))
            .unwrap();
        for i in 3..=6 {
            hub.publish("a", &Event::new(&i.to_string())).unwrap();
        }
        assert_eq!(at(&hub.incarnation.id(5)), (2, None));
        // A reused id resumes after its oldest kept occurrence: event 8 is not
        // skipped for a client that saw the first `x` (resuming after the
        // newest `x` skipped it).
        hub.publish("a", &Event::new("7").id("x")).unwrap();
        hub.publish("a", &Event::new("8")).unwrap();
        hub.publish("a", &Event::new("9").id("x")).unwrap();
        assert_eq!(at("x"), (7, None));
        // An engine id is a position in the sequence, whatever its event (on
        // another topic, or one whose publisher gave it an id of its own).
        let elsewhere = hub.publish("b", &Event::new("10")).unwrap();
        assert_eq!(at(&elsewhere), (10, None));
        assert_eq!(at(&hub.id_of(7)), (7, None));
    }

    #[test]
    fn topics_are_forgotten_when_unused() {
        let hub = hub(3);
        let sub = hub.subscribe(&["a".into(), "b".into()], None).unwrap();
        assert_eq!(hub.stats().topics, 2);
        hub.publish("a", &Event::new("kept")).unwrap();
        drop(sub);
        assert_eq!(hub.stats().topics, 1, "a keeps its history, b is gone");
    }

    #[test]
    fn sweep_forgets_expired_topics_only() {
        let hub = Arc::new(
            Hub::new(&Config {
                history_ttl_ms: 1,
                ..Config::default()
            })
            .unwrap(),
        );
        hub.publish("old", &Event::new("x")).unwrap();
        let held = hub.subscribe(&["held".into()], None).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        hub.sweep();
        assert_eq!(hub.stats().topics, 1, "only the held topic remains");
        drop(held);
        assert_eq!(hub.stats().topics, 0);
    }

    #[test]
    fn publishing_or_subscribing_past_max_topics_is_refused() {
        let hub = Hub::new(&Config {
            max_topics: 2,
            ..Config::default()
        })
        .unwrap();
        hub.publish("a", &Event::new("x")).unwrap();
        let held = hub.subscribe(&["b".into()], None).unwrap();
        let err = hub.publish("c", &Event::new("x")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooManyTopics);
        assert!(err.message().contains("max_topics"), "{}", err.message());
        let err = hub
            .subscribe(&["a".into(), "c".into()], None)
            .err()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::TooManyTopics);
        hub.publish("b", &Event::new("existing topics take events"))
            .unwrap();
        assert_eq!(hub.stats().topics, 2);
        drop(held);
    }

    #[test]
    fn publish_checks_arguments() {
        let hub = hub(3);
        let big = "x".repeat(Config::default().max_event_bytes + 1);
        assert_eq!(
            hub.publish("t", &Event::new(&big)).unwrap_err().kind(),
            ErrorKind::TooLarge
        );
        assert_eq!(
            hub.publish("", &Event::new("x")).unwrap_err().kind(),
            ErrorKind::InvalidTopic
        );
        assert_eq!(
            hub.publish("t", &Event::new("x").id("a\nb"))
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidId
        );
        hub.stop();
        assert_eq!(
            hub.publish("t", &Event::new("x")).unwrap_err().kind(),
            ErrorKind::Stopped
        );
        assert_eq!(hub.stats().published, 0, "nothing rejected was published");
    }
}
