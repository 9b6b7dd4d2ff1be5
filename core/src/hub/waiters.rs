//! A list of parked streams that one call wakes all at once (the waker task
//! for a topic's streams, the clock for every stream).
//!
//! Each stream keeps a [`Registration`] per list; registering again while
//! still listed only refreshes the waker, so a list never holds a stream
//! twice, and deregistering removes it.

use std::cell::RefCell;
use std::sync::Mutex;
use std::task::Waker;

use slab::Slab;

/// Parked streams waiting for the next change.
#[derive(Default)]
pub(crate) struct Waiters {
    list: Mutex<List>,
}

#[derive(Default)]
struct List {
    /// Bumped by every [`Waiters::wake_all`]; a registration of an older epoch
    /// is no longer listed.
    epoch: u64,
    wakers: Slab<Waker>,
}

/// Where one stream stands in one [`Waiters`] list.
#[derive(Debug)]
pub(crate) struct Registration {
    epoch: u64,
    key: usize,
}

impl Registration {
    /// A registration that is not listed anywhere yet.
    pub(crate) const NONE: Registration = Registration {
        epoch: u64::MAX,
        key: 0,
    };
}

thread_local! {
    /// Wakers taken out of a list, woken after its lock is released. Reused so
    /// that waking allocates nothing.
    static WAKE_BUFFER: RefCell<Vec<Waker>> = const { RefCell::new(Vec::new()) };
}

impl Waiters {
    /// Lists `waker` until the next [`Waiters::wake_all`].
    pub(crate) fn register(&self, reg: &mut Registration, waker: &Waker) {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        if reg.epoch == list.epoch {
            if let Some(listed) = list.wakers.get_mut(reg.key) {
                if !listed.will_wake(waker) {
                    listed.clone_from(waker);
                }
                return;
            }
        }
        reg.key = list.wakers.insert(waker.clone());
        reg.epoch = list.epoch;
    }

    /// Removes a registration, if it is still listed.
    pub(crate) fn deregister(&self, reg: &mut Registration) {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        if reg.epoch == list.epoch {
            list.wakers.try_remove(reg.key);
        }
        *reg = Registration::NONE;
    }

    /// Wakes and unlists every registered stream.
    pub(crate) fn wake_all(&self) {
        WAKE_BUFFER.with(|buffer| {
            match buffer.try_borrow_mut() {
                Ok(mut buffer) => self.take_into(&mut buffer),
                // Re-entered from a waker (tokio's never do): a buffer of its own.
                Err(_) => self.take_into(&mut Vec::new()),
            }
        });
    }

    /// Unlists every waker into `buffer`, then wakes them with the lock released.
    fn take_into(&self, buffer: &mut Vec<Waker>) {
        {
            let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
            if list.wakers.is_empty() {
                return;
            }
            list.epoch += 1;
            buffer.extend(list.wakers.drain());
        }
        buffer.drain(..).for_each(Waker::wake);
    }

    /// How many streams are listed.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.list.lock().unwrap().wakers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Counter(AtomicUsize);
    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn registers_once_and_wakes_once() {
        let waiters = Waiters::default();
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut reg = Registration::NONE;
        waiters.register(&mut reg, &waker);
        waiters.register(&mut reg, &waker);
        assert_eq!(waiters.len(), 1);
        waiters.wake_all();
        waiters.wake_all();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(waiters.len(), 0);
        waiters.register(&mut reg, &waker);
        assert_eq!(waiters.len(), 1);
        waiters.deregister(&mut reg);
        assert_eq!(waiters.len(), 0);
    }

    #[test]
    fn stale_registration_does_not_remove_another() {
        let waiters = Waiters::default();
        let waker = Waker::from(Arc::new(Counter(AtomicUsize::new(0))));
        let mut old = Registration::NONE;
        waiters.register(&mut old, &waker);
        waiters.wake_all();
        let mut new = Registration::NONE;
        waiters.register(&mut new, &waker);
        waiters.deregister(&mut old);
        assert_eq!(waiters.len(), 1);
    }
}
