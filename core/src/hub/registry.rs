//! The topic registry: topic names to topics, and the holds streams keep on them.
//!
//! At most `max_topics` topics exist at once. The sweep that forgets unused
//! topics works through the registry a chunk at a time, so that publishers
//! never wait behind it for long, however many topics there are.

use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::task::Waker;
use std::time::Instant;

use bytes::Bytes;
use indexmap::IndexMap;

use super::log::{Bounds, Budget, Lagged};
use super::topic::Topic;
use super::waiters::Registration;

/// Topics the sweep looks at per step: a step holds the registry's write lock
/// for at most this many removals.
pub(crate) const SWEEP_CHUNK: usize = 256;

type Topics = IndexMap<Box<str>, Arc<Topic>>;

/// Every topic with history or holders.
pub(crate) struct Registry {
    topics: RwLock<Topics>,
    bounds: Bounds,
    max_topics: usize,
    /// Told when a topic gets its first holder and loses its last (the
    /// backplane subscribes to the topics its node's streams hold). The mutex
    /// keeps those calls in the order of the changes they report.
    hold_hooks: OnceLock<(Mutex<()>, Box<dyn HoldHooks>)>,
}

/// What a registry tells about holders coming and going.
pub(crate) trait HoldHooks: Send + Sync {
    /// `topic` got its first holder.
    fn first_holder(&self, topic: &Topic);
    /// The last holder of `topic` let go.
    fn last_holder_gone(&self, topic: &Topic);
}

/// A topic could not be created: `max_topics` topics exist.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Full;

impl Registry {
    /// An empty registry of at most `max_topics` topics, whose logs have `bounds`.
    pub(crate) fn new(bounds: Bounds, max_topics: usize) -> Self {
        Registry {
            topics: RwLock::new(IndexMap::new()),
            bounds,
            max_topics,
            hold_hooks: OnceLock::new(),
        }
    }

    /// Sets the hooks told about first and last holders (once; later calls
    /// are ignored). Topics held already are not reported.
    pub(crate) fn set_hold_hooks(&self, hooks: Box<dyn HoldHooks>) {
        let _ = self.hold_hooks.set((Mutex::new(()), hooks));
    }

    /// The most topics that exist at once.
    pub(crate) fn max_topics(&self) -> usize {
        self.max_topics
    }

    /// Runs `f` on the topic `name`, created if missing (its log then holds
    /// only events after `floor`), while the registry is read-locked (so the
    /// topic cannot be forgotten meanwhile). [`Full`] when the topic is
    /// missing and `max_topics` exist.
    pub(crate) fn with_topic<T>(
        &self,
        name: &str,
        floor: u64,
        f: impl FnOnce(&Arc<Topic>) -> T,
    ) -> Result<T, Full> {
        {
            let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
            if let Some(topic) = topics.get(name) {
                return Ok(f(topic));
            }
        }
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        if !topics.contains_key(name) && topics.len() >= self.max_topics {
            return Err(Full);
        }
        let topic = topics
            .entry(name.into())
            .or_insert_with(|| Arc::new(Topic::new(name.into(), self.bounds, floor)));
        Ok(f(topic))
    }

    /// Takes a hold on `name`, creating the topic if needed (with `floor`, as
    /// in [`Registry::with_topic`]).
    pub(crate) fn hold(self: &Arc<Self>, name: &str, floor: u64) -> Result<TopicHold, Full> {
        let topic = self.with_topic(name, floor, |topic| {
            match self.hold_hooks.get() {
                None => {
                    topic.add_holder();
                }
                Some((order, hooks)) => {
                    let _order = order.lock().unwrap_or_else(|e| e.into_inner());
                    if topic.add_holder() {
                        hooks.first_holder(topic);
                    }
                }
            }
            topic.clone()
        })?;
        Ok(TopicHold {
            registry: self.clone(),
            name: name.into(),
            topic,
        })
    }

    /// How many topics are known.
    pub(crate) fn len(&self) -> usize {
        self.topics.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Wakes every stream parked on any topic.
    pub(crate) fn wake_all(&self) {
        let topics: Vec<Arc<Topic>> = {
            let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
            topics.values().cloned().collect()
        };
        for topic in topics {
            topic.wake_all();
        }
    }

    /// One step of the sweep, which drops expired history and forgets topics
    /// with neither history nor holders: it looks at the [`SWEEP_CHUNK`]
    /// topics before position `end` (a sweep starts at `usize::MAX`) and
    /// returns where the next step ends, 0 once the sweep is done. Expiring
    /// takes no registry lock; forgetting takes the write lock for this
    /// chunk's removals only.
    ///
    /// The sweep walks from the end: a removal moves the last topic into the
    /// hole, and every topic after the chunk has been looked at already.
    pub(crate) fn sweep_step(&self, end: usize, now: Instant) -> usize {
        let (start, chunk) = {
            let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
            let end = end.min(topics.len());
            let start = end.saturating_sub(SWEEP_CHUNK);
            let chunk: Vec<(Box<str>, Arc<Topic>)> = (start..end)
                .filter_map(|i| topics.get_index(i))
                .map(|(name, topic)| (name.clone(), topic.clone()))
                .collect();
            (start, chunk)
        };
        let unused: Vec<(Box<str>, Arc<Topic>)> = chunk
            .into_iter()
            .filter(|(_, topic)| {
                topic.log().expire(now);
                topic.is_unused()
            })
            .collect();
        if !unused.is_empty() {
            let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
            for (name, topic) in unused {
                forget_if_unused(&mut topics, &name, &topic);
            }
        }
        start
    }
}

/// Removes `name` when it still maps to `topic` and `topic` is unused.
fn forget_if_unused(topics: &mut Topics, name: &str, topic: &Arc<Topic>) {
    if topic.is_unused() && topics.get(name).is_some_and(|t| Arc::ptr_eq(t, topic)) {
        topics.swap_remove(name);
    }
}

/// A stream's hold on one topic: the topic is forgotten when its last holder
/// lets go and it has no history.
pub(crate) struct TopicHold {
    registry: Arc<Registry>,
    name: Box<str>,
    topic: Arc<Topic>,
}

impl TopicHold {
    /// The topic held, for the hub's own bookkeeping.
    pub(super) fn topic(&self) -> &Topic {
        &self.topic
    }

    /// True when the topic's log holds every event of the topic after `after`.
    pub(crate) fn covers(&self, after: u64) -> bool {
        self.topic.covers(after)
    }

    /// The topic's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// When the topic's kept event `seq` was published, if the topic keeps it.
    pub(crate) fn published_at(&self, seq: u64) -> Option<Instant> {
        self.topic.log().published_at(seq)
    }

    /// True when events after `after` were published to the topic.
    pub(crate) fn has_news(&self, after: u64) -> bool {
        self.topic.has_news(after)
    }

    /// Hands `out` the frames with `after < seq <= upto`, within `budget`;
    /// true when it stopped early. [`Lagged`] when events after `after` were
    /// dropped from the history.
    pub(crate) fn read(
        &self,
        after: u64,
        upto: u64,
        budget: Budget,
        out: impl FnMut(u64, Bytes),
    ) -> Result<bool, Lagged> {
        self.topic.log().read(after, upto, budget, out)
    }

    /// Parks the stream until the topic's next event (or stop).
    pub(crate) fn park(&self, reg: &mut Registration, waker: &Waker) {
        self.topic.park(reg, waker);
    }

    /// Unparks the stream.
    pub(crate) fn unpark(&self, reg: &mut Registration) {
        self.topic.unpark(reg);
    }

    /// A handle on the topic for the stream's watchdog, which may outlive the hold.
    pub(crate) fn watch(&self) -> TopicWatch {
        TopicWatch(self.topic.clone())
    }
}

/// What a stream's watchdog needs of a topic: whether events were dropped from
/// its history, and a wake-up on each of its events. It holds no place in the
/// registry.
pub(crate) struct TopicWatch(Arc<Topic>);

impl TopicWatch {
    /// True when an event published after `after` has been dropped from the history.
    pub(crate) fn has_gap_after(&self, after: u64) -> bool {
        self.0.log().has_gap_after(after)
    }

    /// Parks the watchdog until the topic's next event (or stop).
    pub(crate) fn park(&self, reg: &mut Registration, waker: &Waker) {
        self.0.park(reg, waker);
    }

    /// Unparks the watchdog.
    pub(crate) fn unpark(&self, reg: &mut Registration) {
        self.0.unpark(reg);
    }
}

impl Drop for TopicHold {
    fn drop(&mut self) {
        let last = match self.registry.hold_hooks.get() {
            None => self.topic.remove_holder(),
            Some((order, hooks)) => {
                let _order = order.lock().unwrap_or_else(|e| e.into_inner());
                let last = self.topic.remove_holder();
                if last {
                    hooks.last_holder_gone(&self.topic);
                }
                last
            }
        };
        if !last {
            return;
        }
        let mut topics = self
            .registry
            .topics
            .write()
            .unwrap_or_else(|e| e.into_inner());
        forget_if_unused(&mut topics, &self.name, &self.topic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const BOUNDS: Bounds = Bounds {
        max_events: 10,
        max_bytes: 1 << 20,
        max_age: Some(Duration::from_millis(1)),
    };

    /// Records what the hooks were told, in order.
    #[derive(Default)]
    struct Recorded(std::sync::Mutex<Vec<String>>);

    impl HoldHooks for Arc<Recorded> {
        fn first_holder(&self, topic: &Topic) {
            self.0.lock().unwrap().push(format!("+{}", topic.name()));
        }
        fn last_holder_gone(&self, topic: &Topic) {
            self.0.lock().unwrap().push(format!("-{}", topic.name()));
        }
    }

    #[test]
    fn hooks_hear_of_first_and_last_holders_only() {
        let registry = Arc::new(Registry::new(BOUNDS, 10));
        let recorded = Arc::new(Recorded::default());
        registry.set_hold_hooks(Box::new(recorded.clone()));
        let a1 = registry.hold("a", 0).unwrap();
        let a2 = registry.hold("a", 0).unwrap();
        let b = registry.hold("b", 0).unwrap();
        drop(a1);
        drop(b);
        drop(a2);
        let again = registry.hold("a", 0).unwrap();
        drop(again);
        assert_eq!(
            *recorded.0.lock().unwrap(),
            ["+a", "+b", "-b", "-a", "+a", "-a"]
        );
    }

    fn publish(registry: &Registry, name: &str, seq: u64) -> Result<(), Full> {
        registry.with_topic(name, 0, |topic| {
            drop(topic.append(seq, None, Bytes::from_static(b"x"), Instant::now()));
        })
    }

    #[test]
    fn at_most_max_topics_exist() {
        let registry = Arc::new(Registry::new(BOUNDS, 2));
        publish(&registry, "a", 1).unwrap();
        let held = registry.hold("b", 0).unwrap();
        assert_eq!(publish(&registry, "c", 2), Err(Full));
        assert!(registry.hold("c", 0).is_err());
        publish(&registry, "a", 3).unwrap();
        publish(&registry, "b", 4).unwrap();
        // Once `a` expires and is swept, there is room again.
        std::thread::sleep(Duration::from_millis(5));
        let mut end = usize::MAX;
        while end > 0 {
            end = registry.sweep_step(end, Instant::now());
        }
        assert_eq!(registry.len(), 1, "b is held");
        publish(&registry, "c", 5).unwrap();
        drop(held);
    }

    /// 100,000 expired topics are swept while another thread publishes: no
    /// publish waits long, where forgetting them under one lock stalled
    /// publishers for most of the sweep (with 100,000 topics, 180 ms of a
    /// 310 ms sweep here; 494 ms with 1,000,000). The bound is relative to
    /// the sweep's own duration, so that a loaded machine does not fail it.
    #[test]
    fn sweeping_many_topics_never_stalls_publishers() {
        const TOPICS: u64 = 100_000;
        let registry = Arc::new(Registry::new(BOUNDS, TOPICS as usize + 1));
        for seq in 1..=TOPICS {
            publish(&registry, &format!("t{seq}"), seq).unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
        let sweeper = registry.clone();
        let sweep = std::thread::spawn(move || {
            let start = std::time::Instant::now();
            let mut end = usize::MAX;
            while end > 0 {
                end = sweeper.sweep_step(end, Instant::now());
            }
            start.elapsed()
        });
        let mut longest = Duration::ZERO;
        let mut seq = TOPICS;
        while !sweep.is_finished() {
            seq += 1;
            let start = std::time::Instant::now();
            publish(&registry, "hot", seq).unwrap();
            longest = longest.max(start.elapsed());
        }
        let took = sweep.join().unwrap();
        eprintln!("sweep of {TOPICS} topics took {took:?}; longest publish {longest:?}");
        assert!(registry.len() <= 1, "{} topics left", registry.len());
        assert!(
            longest < took / 3,
            "a publish waited {longest:?} during a sweep of {took:?}"
        );
    }
}
