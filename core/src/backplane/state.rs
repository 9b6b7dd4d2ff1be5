//! What the node's parts share: the connection state, the cluster incarnation,
//! the topics the node holds and whether each is in sync, and the counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::{mpsc, watch};

pub(crate) use crate::report::BackplaneState;

fn state_from_u8(value: u8) -> BackplaneState {
    match value {
        0 => BackplaneState::Connected,
        1 => BackplaneState::Reconnecting,
        _ => BackplaneState::Down,
    }
}

/// Counters for stats and metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counters {
    /// Events published through this node.
    pub(crate) published: u64,
    /// Publishes that failed because Redis could not be reached.
    pub(crate) publish_failures: u64,
    /// Announcements received and delivered.
    pub(crate) received: u64,
    /// Missed announcements noticed (a topic's previous seq was not the last one
    /// delivered) and filled from the stream.
    pub(crate) gaps_filled: u64,
    /// Events that could not be filled because Redis no longer had them.
    pub(crate) gaps_lost: u64,
    /// Times every held topic was caught up after a new connection.
    pub(crate) resyncs: u64,
}

/// The counters, updated by the feed and the publisher.
#[derive(Debug, Default)]
pub(super) struct AtomicCounters {
    pub(super) published: AtomicU64,
    pub(super) publish_failures: AtomicU64,
    pub(super) received: AtomicU64,
    pub(super) gaps_filled: AtomicU64,
    pub(super) gaps_lost: AtomicU64,
    pub(super) resyncs: AtomicU64,
}

impl AtomicCounters {
    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Counters {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counters {
            published: get(&self.published),
            publish_failures: get(&self.publish_failures),
            received: get(&self.received),
            gaps_filled: get(&self.gaps_filled),
            gaps_lost: get(&self.gaps_lost),
            resyncs: get(&self.resyncs),
        }
    }
}

/// A request from the hub to the feed, applied in order.
#[derive(Debug)]
pub(super) enum Command {
    /// Subscribe to the topic and sync it; `u64` is the hold's generation.
    Hold(Box<str>, u64),
    /// Unsubscribe from the topic.
    Release(Box<str>),
    /// Read the cluster's incarnation again (a publish found it changed).
    Recheck,
}

/// A topic the hub holds: the generation of its latest hold, and whether the
/// feed has synced that hold.
#[derive(Debug, Clone, Copy)]
struct Wanted {
    generation: u64,
    synced: bool,
}

/// The state shared by the hub's calls, the publisher and the feed task.
pub(super) struct Shared {
    state: AtomicU8,
    incarnation: RwLock<Option<Arc<str>>>,
    wanted: Mutex<HashMap<Box<str>, Wanted>>,
    generations: AtomicU64,
    /// The highest seq the node has seen under the current incarnation
    /// (delivered or published); Redis counting below it lost writes.
    seen: AtomicU64,
    commands: mpsc::UnboundedSender<Command>,
    /// Bumped on every change of state or of a topic's sync.
    changed: watch::Sender<u64>,
    pub(super) counters: AtomicCounters,
    /// Test-only fault injection.
    #[cfg(test)]
    pub(super) faults: super::faults::Faults,
}

impl Shared {
    /// Shared state, and the receiving end of the feed's commands.
    pub(super) fn new() -> (Arc<Shared>, mpsc::UnboundedReceiver<Command>) {
        let (commands, receiver) = mpsc::unbounded_channel();
        let shared = Shared {
            state: AtomicU8::new(BackplaneState::Reconnecting as u8),
            incarnation: RwLock::new(None),
            wanted: Mutex::new(HashMap::new()),
            generations: AtomicU64::new(0),
            seen: AtomicU64::new(0),
            commands,
            changed: watch::channel(0).0,
            counters: AtomicCounters::default(),
            #[cfg(test)]
            faults: super::faults::Faults::default(),
        };
        (Arc::new(shared), receiver)
    }

    pub(super) fn state(&self) -> BackplaneState {
        state_from_u8(self.state.load(Ordering::Acquire))
    }

    pub(super) fn set_state(&self, state: BackplaneState) {
        let old = self.state.swap(state as u8, Ordering::AcqRel);
        if old != state as u8 {
            tracing::info!("backplane {}", state.as_str());
            self.bump();
        }
    }

    pub(super) fn incarnation(&self) -> Option<Arc<str>> {
        self.incarnation
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn set_incarnation(&self, incarnation: Arc<str>) {
        *self.incarnation.write().unwrap_or_else(|e| e.into_inner()) = Some(incarnation);
    }

    /// The highest seq seen under the current incarnation.
    pub(super) fn seen(&self) -> u64 {
        self.seen.load(Ordering::Acquire)
    }

    /// Records a seq delivered or published.
    pub(super) fn note_seen(&self, seq: u64) {
        self.seen.fetch_max(seq, Ordering::AcqRel);
    }

    /// Adopts a new incarnation whose counter is at `counter`.
    pub(super) fn set_incarnation_from(&self, incarnation: Arc<str>, counter: u64) {
        self.seen.store(counter, Ordering::Release);
        self.set_incarnation(incarnation);
    }

    pub(super) fn counters(&self) -> Counters {
        self.counters.snapshot()
    }

    /// Asks the feed to hold `topic`; it is not synced until the feed says so.
    pub(super) fn hold(&self, topic: &str) {
        let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        self.lock_wanted().insert(
            topic.into(),
            Wanted {
                generation,
                synced: false,
            },
        );
        self.send(Command::Hold(topic.into(), generation));
    }

    /// Asks the feed to let `topic` go.
    pub(super) fn release(&self, topic: &str) {
        self.lock_wanted().remove(topic);
        self.send(Command::Release(topic.into()));
    }

    pub(super) fn recheck(&self) {
        self.send(Command::Recheck);
    }

    fn send(&self, command: Command) {
        // Fails only once the feed has ended (the backplane is stopping).
        let _ = self.commands.send(command);
    }

    /// Records that the feed synced the hold of `topic` with `generation`
    /// (ignored when a later hold or a release came since).
    pub(super) fn mark_synced(&self, topic: &str, generation: u64) {
        if let Some(wanted) = self.lock_wanted().get_mut(topic) {
            if wanted.generation == generation {
                wanted.synced = true;
            }
        }
    }

    /// Marks every held topic as out of sync (the connection was lost).
    pub(super) fn mark_all_unsynced(&self) {
        for wanted in self.lock_wanted().values_mut() {
            wanted.synced = false;
        }
        self.bump();
    }

    /// True when every topic of `topics` is held and synced.
    #[cfg(test)]
    pub(super) fn all_synced(&self, topics: &[&str]) -> bool {
        let wanted = self.lock_wanted();
        topics
            .iter()
            .all(|t| wanted.get(*t).is_some_and(|w| w.synced))
    }

    /// Wakes the callers waiting in [`Shared::changes`].
    pub(super) fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that sees every later [`Shared::bump`].
    pub(super) fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn lock_wanted(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Wanted>> {
        self.wanted.lock().unwrap_or_else(|e| e.into_inner())
    }
}
