//! Test-only fault injection in the feed: announcements dropped as if Redis
//! had lost them, and reconnection held back so that events pile up in the
//! streams meanwhile.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;

/// Faults a test switches on.
pub(in crate::backplane) struct Faults {
    drops: Mutex<HashMap<Box<str>, usize>>,
    reconnect_held: watch::Sender<bool>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            drops: Mutex::new(HashMap::new()),
            reconnect_held: watch::channel(false).0,
        }
    }
}

impl Faults {
    /// The feed ignores the next `count` announcements of `topic`.
    pub(in crate::backplane) fn drop_announcements(&self, topic: &str, count: usize) {
        self.drops.lock().unwrap().insert(topic.into(), count);
    }

    /// True when this announcement of `topic` is to be ignored.
    pub(in crate::backplane) fn take_drop(&self, topic: &str) -> bool {
        let mut drops = self.drops.lock().unwrap();
        match drops.get_mut(topic) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        }
    }

    /// Holds (true) or lets go (false) the feed's next reconnection.
    pub(in crate::backplane) fn hold_reconnect(&self, held: bool) {
        self.reconnect_held.send_replace(held);
    }

    /// Resolves once reconnecting is allowed.
    pub(in crate::backplane) async fn reconnect_allowed(&self) {
        let mut held = self.reconnect_held.subscribe();
        let _ = held.wait_for(|held| !held).await;
    }
}
