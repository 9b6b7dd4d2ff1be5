//! The broadcaster: topics, their logs, engine-wide sequence numbers and ids.
//!
//! Publishing appends one encoded frame to the topic's log under a short
//! engine-wide lock (so sequence numbers are visible in order) and wakes the
//! parked subscribers of that topic. Subscribers read the log with cursors.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::Config;
use crate::encode::encode_event;
use crate::error::{Error, ErrorKind, Result};
use crate::event::{validate_topic, Event};
use crate::log::{Bounds, Log};
use crate::wake::Waiters;

/// The name of the signal event sent to a resuming client whose `Last-Event-ID`
/// cannot be resumed exactly.
pub const RESET_EVENT: &str = "ssecast-reset";

/// A topic: its log, the parked subscribers, and how many streams hold it.
pub(crate) struct Topic {
    pub(crate) log: Mutex<Log>,
    /// The sequence number of the newest event appended (0: none).
    pub(crate) head: AtomicU64,
    pub(crate) waiters: Waiters,
    /// Set by a publish that queued this topic for the waker task; cleared by
    /// the task before it wakes the waiters.
    wake_queued: AtomicBool,
    subscribers: AtomicUsize,
}

impl Topic {
    fn new(bounds: Bounds) -> Self {
        Topic {
            log: Mutex::new(Log::new(bounds)),
            head: AtomicU64::new(0),
            waiters: Waiters::default(),
            wake_queued: AtomicBool::new(false),
            subscribers: AtomicUsize::new(0),
        }
    }

    pub(crate) fn lock_log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why a resuming client gets [`RESET_EVENT`] instead of an exact replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetReason {
    /// The id is not in the history of any requested topic (another engine
    /// incarnation, a typo, or older than everything kept).
    UnknownId,
    /// The id is known but events after it were dropped from the history.
    HistoryGap,
}

impl ResetReason {
    /// The reason as sent in the signal's data.
    pub fn as_str(self) -> &'static str {
        match self {
            ResetReason::UnknownId => "unknown-id",
            ResetReason::HistoryGap => "history-gap",
        }
    }
}

/// Counters describing an engine at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Event streams open now.
    pub connections: usize,
    /// Topics that have subscribers or history.
    pub topics: usize,
    /// Events published since start.
    pub published: u64,
    /// Streams closed because they fell behind the history.
    pub slow_consumers_dropped: u64,
}

/// The engine-wide broadcaster shared by publishers and streams.
pub(crate) struct Hub {
    topics: RwLock<HashMap<Box<str>, Arc<Topic>>>,
    /// Serialises sequence assignment and append, so that every event up to
    /// `published` is in its log.
    publish_lock: Mutex<u64>,
    /// The newest sequence number whose event is in its log.
    published: AtomicU64,
    incarnation: String,
    bounds: Bounds,
    max_event_bytes: usize,
    stopped: AtomicBool,
    /// Topics with new events whose waiters the waker task has yet to wake.
    wake_queue: Mutex<Vec<Arc<Topic>>>,
    /// Wakes the waker task.
    wake_task: tokio::sync::Notify,
    /// Woken on every keep-alive tick and on stop.
    pub(crate) clock: Waiters,
    /// Keep-alive ticks so far.
    tick: AtomicU64,
    pub(crate) streams: AtomicUsize,
    /// Notified when the last open stream closes.
    streams_idle: tokio::sync::Notify,
    pub(crate) slow_consumers: AtomicU64,
}

impl Hub {
    /// A hub with the history bounds and limits of `config`.
    pub(crate) fn new(config: &Config) -> Self {
        Hub {
            topics: RwLock::new(HashMap::new()),
            publish_lock: Mutex::new(0),
            published: AtomicU64::new(0),
            incarnation: new_incarnation(),
            bounds: Bounds {
                max_events: config.history_size,
                max_bytes: config.history_bytes,
                max_age: (config.history_ttl_ms > 0)
                    .then(|| Duration::from_millis(config.history_ttl_ms)),
            },
            max_event_bytes: config.max_event_bytes,
            stopped: AtomicBool::new(false),
            wake_queue: Mutex::new(Vec::new()),
            wake_task: tokio::sync::Notify::new(),
            clock: Waiters::default(),
            tick: AtomicU64::new(0),
            streams: AtomicUsize::new(0),
            streams_idle: tokio::sync::Notify::new(),
            slow_consumers: AtomicU64::new(0),
        }
    }

    /// Validates, encodes and appends an event; returns its id.
    pub(crate) fn publish(&self, topic: &str, event: &Event<'_>) -> Result<String> {
        if self.is_stopped() {
            return Err(Error::new(ErrorKind::Stopped, "the engine is stopped"));
        }
        validate_topic(topic)?;
        event.validate()?;
        if event.data.len() > self.max_event_bytes {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "data is {} bytes; max_event_bytes is {}",
                    event.data.len(),
                    self.max_event_bytes
                ),
            ));
        }
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        let entry = match topics.get(topic) {
            Some(entry) => entry,
            None => {
                drop(topics);
                self.topics
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(topic.into())
                    .or_insert_with(|| Arc::new(Topic::new(self.bounds)));
                return self.publish(topic, event);
            }
        };
        let now = Instant::now();
        let id = {
            let mut last = self.publish_lock.lock().unwrap_or_else(|e| e.into_inner());
            let seq = *last + 1;
            let id = match event.id {
                Some(id) => id.to_owned(),
                None => self.engine_id(seq),
            };
            let frame = encode_event(event, &id);
            entry.lock_log().append(seq, event.id, frame, now);
            entry.head.store(seq, Ordering::Release);
            *last = seq;
            self.published.store(seq, Ordering::Release);
            id
        };
        // The caller never wakes subscribers itself: it queues the topic once
        // for the waker task, so publishing costs the same with one subscriber
        // or ten thousand.
        if !entry.wake_queued.swap(true, Ordering::AcqRel) {
            self.wake_queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(entry.clone());
            self.wake_task.notify_one();
        }
        Ok(id)
    }

    /// The waker task: wakes the parked subscribers of every topic that got
    /// events, until the hub stops. The engine runs it on its runtime.
    pub(crate) async fn wake_subscribers(self: Arc<Self>) {
        let mut topics = Vec::new();
        while !self.is_stopped() {
            self.wake_task.notified().await;
            std::mem::swap(
                &mut topics,
                &mut *self.wake_queue.lock().unwrap_or_else(|e| e.into_inner()),
            );
            for topic in topics.drain(..) {
                // Cleared before waking: a publish from now on queues the topic
                // again. The swap also makes that publish's event visible here.
                topic.wake_queued.swap(false, Ordering::AcqRel);
                topic.waiters.wake_all();
            }
        }
    }

    /// The id the engine assigns to the event with sequence number `seq`.
    fn engine_id(&self, seq: u64) -> String {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut n = seq;
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut id = String::with_capacity(self.incarnation.len() + 1 + digits.len() - at);
        id.push_str(&self.incarnation);
        id.push('-');
        id.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
        id
    }

    /// The newest sequence number whose event is readable in its log.
    pub(crate) fn published(&self) -> u64 {
        self.published.load(Ordering::Acquire)
    }

    /// Subscribes to `names` and places the cursors: after `last_event_id` when
    /// it can be resumed exactly, else at the live end with a reset reason.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        names: &[String],
        last_event_id: Option<&str>,
    ) -> (Vec<Subscriber>, u64, Option<ResetReason>) {
        let subscribers: Vec<Subscriber> = names.iter().map(|n| self.hold(n)).collect();
        // Everything up to `live` is already in the logs; later events arrive live.
        let live = self.published();
        let Some(id) = last_event_id else {
            return (subscribers, live, None);
        };
        let engine_seq = self.parse_engine_id(id).filter(|&seq| seq <= live);
        let found = engine_seq.or_else(|| {
            subscribers
                .iter()
                .find_map(|s| s.topic.lock_log().find(id, None))
        });
        let reset = match found {
            None => Some(ResetReason::UnknownId),
            Some(after)
                if subscribers
                    .iter()
                    .any(|s| s.topic.lock_log().has_gap_after(after)) =>
            {
                Some(ResetReason::HistoryGap)
            }
            Some(after) => return (subscribers, after, None),
        };
        (subscribers, live, reset)
    }

    fn hold(self: &Arc<Self>, name: &str) -> Subscriber {
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        if let Some(topic) = topics.get(name) {
            topic.subscribers.fetch_add(1, Ordering::AcqRel);
            return Subscriber {
                hub: self.clone(),
                name: name.into(),
                topic: topic.clone(),
            };
        }
        drop(topics);
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        let topic = topics
            .entry(name.into())
            .or_insert_with(|| Arc::new(Topic::new(self.bounds)));
        topic.subscribers.fetch_add(1, Ordering::AcqRel);
        Subscriber {
            hub: self.clone(),
            name: name.into(),
            topic: topic.clone(),
        }
    }

    fn parse_engine_id(&self, id: &str) -> Option<u64> {
        let (prefix, seq) = id.rsplit_once('-')?;
        if prefix != self.incarnation || seq.starts_with('+') {
            return None;
        }
        seq.parse().ok()
    }

    /// Drops expired history and forgets topics with neither history nor subscribers.
    pub(crate) fn sweep(&self) {
        let now = Instant::now();
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        topics.retain(|_, topic| {
            let mut log = topic.lock_log();
            log.expire(now);
            !log.is_empty() || topic.subscribers.load(Ordering::Acquire) > 0
        });
    }

    /// Advances the keep-alive clock and wakes the parked streams.
    pub(crate) fn tick(&self) {
        self.tick.fetch_add(1, Ordering::Release);
        self.clock.wake_all();
    }

    /// Keep-alive ticks so far.
    pub(crate) fn ticks(&self) -> u64 {
        self.tick.load(Ordering::Acquire)
    }

    /// Refuses further publishes and wakes every stream so that it ends.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.wake_task.notify_one();
        self.clock.wake_all();
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        for topic in topics.values() {
            topic.waiters.wake_all();
        }
    }

    /// True once [`Hub::stop`] has been called.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Uncounts a closed stream.
    pub(crate) fn stream_closed(&self) {
        if self.streams.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.streams_idle.notify_waiters();
        }
    }

    /// Resolves once no stream is open.
    pub(crate) async fn streams_closed(&self) {
        loop {
            let idle = self.streams_idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.streams.load(Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }

    /// The engine's counters now.
    pub(crate) fn stats(&self) -> Stats {
        Stats {
            connections: self.streams.load(Ordering::Relaxed),
            topics: self.topics.read().unwrap_or_else(|e| e.into_inner()).len(),
            published: self.published(),
            slow_consumers_dropped: self.slow_consumers.load(Ordering::Relaxed),
        }
    }
}

/// A stream's hold on one topic; the topic is forgotten when its last holder
/// goes and it has no history.
pub(crate) struct Subscriber {
    hub: Arc<Hub>,
    name: Box<str>,
    pub(crate) topic: Arc<Topic>,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        if self.topic.subscribers.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let mut topics = self.hub.topics.write().unwrap_or_else(|e| e.into_inner());
        let unused =
            self.topic.subscribers.load(Ordering::Acquire) == 0 && self.topic.lock_log().is_empty();
        if unused
            && topics
                .get(&self.name)
                .is_some_and(|t| Arc::ptr_eq(t, &self.topic))
        {
            topics.remove(&self.name);
        }
    }
}

/// A prefix unique to this start of the engine: the start time in milliseconds
/// and 16 random bits, in base 36.
fn new_incarnation() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        & 0xffff;
    base36((millis << 16) | random)
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(history: usize) -> Arc<Hub> {
        Arc::new(Hub::new(&Config {
            history_size: history,
            ..Config::default()
        }))
    }

    #[test]
    fn ids_are_unique_per_incarnation_and_ordered() {
        let a = hub(10);
        let b = hub(10);
        let id1 = a.publish("t", &Event::new("x")).unwrap();
        let id2 = a.publish("t", &Event::new("y")).unwrap();
        assert_ne!(id1, b.publish("t", &Event::new("x")).unwrap());
        assert_eq!(a.parse_engine_id(&id1), Some(1));
        assert_eq!(a.parse_engine_id(&id2), Some(2));
        for seq in [0, 9, 10, 12345, u64::MAX] {
            assert_eq!(a.engine_id(seq), format!("{}-{seq}", a.incarnation));
        }
        assert_eq!(b.parse_engine_id(&id1), None);
        assert_eq!(a.publish("t", &Event::new("z").id("mine")).unwrap(), "mine");
    }

    #[test]
    fn resume_positions() {
        let hub = hub(3);
        let topics = vec!["t".to_string()];
        let first = hub.publish("t", &Event::new("1")).unwrap();
        let second = hub.publish("t", &Event::new("2").id("custom")).unwrap();
        let (_, after, reset) = hub.subscribe(&topics, Some(&first));
        assert_eq!((after, reset), (1, None));
        let (_, after, reset) = hub.subscribe(&topics, Some(&second));
        assert_eq!((after, reset), (2, None));
        let (_, after, reset) = hub.subscribe(&topics, Some("nope"));
        assert_eq!((after, reset), (2, Some(ResetReason::UnknownId)));
        for i in 0..3 {
            hub.publish("t", &Event::new(&i.to_string())).unwrap();
        }
        let (_, after, reset) = hub.subscribe(&topics, Some(&first));
        assert_eq!((after, reset), (5, Some(ResetReason::HistoryGap)));
        let forged = format!("{}-999", hub.incarnation);
        let (_, _, reset) = hub.subscribe(&topics, Some(&forged));
        assert_eq!(reset, Some(ResetReason::UnknownId));
    }

    #[test]
    fn topics_are_forgotten_when_unused() {
        let hub = hub(3);
        let (subs, _, _) = hub.subscribe(&["a".into(), "b".into()], None);
        assert_eq!(hub.stats().topics, 2);
        hub.publish("a", &Event::new("kept")).unwrap();
        drop(subs);
        assert_eq!(hub.stats().topics, 1, "a keeps its history, b is gone");
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
