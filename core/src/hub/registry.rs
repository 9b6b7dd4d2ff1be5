//! The topic registry: topic names to topics, and the holds streams keep on them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::task::Waker;
use std::time::Instant;

use bytes::Bytes;

use super::log::{Bounds, Budget, Lagged};
use super::topic::Topic;
use super::waiters::Registration;

/// Every topic with history or holders.
pub(crate) struct Registry {
    topics: RwLock<HashMap<Box<str>, Arc<Topic>>>,
    bounds: Bounds,
}

impl Registry {
    /// An empty registry whose topics' logs have `bounds`.
    pub(crate) fn new(bounds: Bounds) -> Self {
        Registry {
            topics: RwLock::new(HashMap::new()),
            bounds,
        }
    }

    /// Runs `f` on the topic `name`, created if missing, while the registry is
    /// read-locked (so the topic cannot be forgotten meanwhile).
    pub(crate) fn with_topic<T>(&self, name: &str, f: impl FnOnce(&Arc<Topic>) -> T) -> T {
        {
            let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
            if let Some(topic) = topics.get(name) {
                return f(topic);
            }
        }
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        let topic = topics
            .entry(name.into())
            .or_insert_with(|| Arc::new(Topic::new(self.bounds)));
        f(topic)
    }

    /// Takes a hold on `name`, creating the topic if needed.
    pub(crate) fn hold(self: &Arc<Self>, name: &str) -> TopicHold {
        let topic = self.with_topic(name, |topic| {
            topic.add_holder();
            topic.clone()
        });
        TopicHold {
            registry: self.clone(),
            name: name.into(),
            topic,
        }
    }

    /// How many topics are known.
    pub(crate) fn len(&self) -> usize {
        self.topics.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The topics now, to work on without holding the registry's lock.
    fn snapshot(&self) -> Vec<(Box<str>, Arc<Topic>)> {
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        topics
            .iter()
            .map(|(name, topic)| (name.clone(), topic.clone()))
            .collect()
    }

    /// Wakes every stream parked on any topic.
    pub(crate) fn wake_all(&self) {
        for (_, topic) in self.snapshot() {
            topic.wake_all();
        }
    }

    /// Drops expired history and forgets topics with neither history nor
    /// holders. Works from a snapshot: publishers wait only for the removal of
    /// the unused topics, never for the expiry of every log.
    pub(crate) fn sweep(&self, now: Instant) {
        let unused: Vec<(Box<str>, Arc<Topic>)> = self
            .snapshot()
            .into_iter()
            .filter(|(_, topic)| {
                topic.log().expire(now);
                topic.is_unused()
            })
            .collect();
        if unused.is_empty() {
            return;
        }
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        for (name, topic) in unused {
            self.forget_if_unused(&mut topics, &name, &topic);
        }
    }

    /// Removes `name` when it still maps to `topic` and `topic` is unused.
    fn forget_if_unused(
        &self,
        topics: &mut HashMap<Box<str>, Arc<Topic>>,
        name: &str,
        topic: &Arc<Topic>,
    ) {
        if topic.is_unused() && topics.get(name).is_some_and(|t| Arc::ptr_eq(t, topic)) {
            topics.remove(name);
        }
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
        if !self.topic.remove_holder() {
            return;
        }
        let mut topics = self
            .registry
            .topics
            .write()
            .unwrap_or_else(|e| e.into_inner());
        self.registry
            .forget_if_unused(&mut topics, &self.name, &self.topic);
    }
}
