//! The engines running in this process, by port, so that `Engine.attach(port)`
//! can hand another JavaScript thread (a `worker_threads` worker, which has its
//! own copy of the addon's JavaScript objects but shares its native memory) a
//! handle on the same engine.
//!
//! Entries are weak: the registry never keeps an engine alive, and a stopped or
//! dropped engine cannot be attached.

use std::sync::{Arc, Mutex, Weak};

use crate::running::Running;

/// Every engine started by this addon, weakly held.
static ENGINES: Mutex<Vec<Weak<Running>>> = Mutex::new(Vec::new());

/// Records a newly started engine, forgetting engines that are gone.
pub fn register(engine: &Arc<Running>) {
    let mut engines = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
    engines.retain(|weak| weak.strong_count() > 0);
    engines.push(Arc::downgrade(engine));
}

/// The running engine listening on `port`, if this process started one.
pub fn find(port: u16) -> Option<Arc<Running>> {
    let engines = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
    engines
        .iter()
        .filter_map(Weak::upgrade)
        .find(|running| running.engine().port() == port && !running.engine().is_stopped())
}
