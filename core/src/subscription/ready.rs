//! Readiness: how the engine tells a host that a subscription has something to
//! read, without a thread, a task or a channel per subscription.
//!
//! A [`ReadySet`] collects the tokens of the subscriptions that were woken and
//! raises one signal for any number of them: an eventfd that an event loop
//! polls, or a callback (which must not block). A subscription's waker is a
//! [`TokenWaker`]: waking it queues its token once until the host reads the
//! subscription again.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Wake;
use std::time::Duration;

use rustix::event::{eventfd, poll, EventfdFlags, PollFd, PollFlags, Timespec};
use rustix::io::Errno;

use crate::error::{Error, ErrorKind, Result};

/// Where woken subscriptions are announced: a set of tokens and one signal.
///
/// Cheap to clone (a shared handle). Subscriptions join it with
/// [`Subscription::attach`](super::Subscription::attach); the host waits for
/// the signal, then calls [`ReadySet::take`] and reads the subscriptions whose
/// tokens it got until each has nothing more to give.
#[derive(Clone)]
pub struct ReadySet {
    inner: Arc<Inner>,
}

struct Inner {
    signal: Signal,
    /// True from the first token queued until the host takes the tokens, so
    /// that many wakes raise the signal once.
    raised: AtomicBool,
    tokens: Mutex<Vec<u64>>,
}

enum Signal {
    /// An eventfd, readable while raised.
    EventFd(OwnedFd),
    /// A function called (on an engine thread) when the set goes from empty to
    /// not empty.
    Callback(Box<dyn Fn() + Send + Sync>),
}

impl ReadySet {
    /// A set whose signal is an eventfd: it becomes readable when a token is
    /// queued, and [`ReadySet::take`] makes it unreadable again.
    pub fn eventfd() -> Result<ReadySet> {
        let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("cannot create an eventfd: {e}"),
            )
        })?;
        Ok(ReadySet::with_signal(Signal::EventFd(fd)))
    }

    /// A set that calls `notify` when it goes from empty to not empty. It is
    /// called on an engine thread, with no lock held, and must return at once
    /// (for example by queueing a call on the host's own event loop).
    pub fn callback(notify: impl Fn() + Send + Sync + 'static) -> ReadySet {
        ReadySet::with_signal(Signal::Callback(Box::new(notify)))
    }

    fn with_signal(signal: Signal) -> ReadySet {
        ReadySet {
            inner: Arc::new(Inner {
                signal,
                raised: AtomicBool::new(false),
                tokens: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The eventfd to poll for readability, or `None` for a callback set. It
    /// stays owned by the set: never close it.
    pub fn fd(&self) -> Option<RawFd> {
        match &self.inner.signal {
            Signal::EventFd(fd) => Some(fd.as_raw_fd()),
            Signal::Callback(_) => None,
        }
    }

    /// Moves the tokens queued since the last call into `out` (appended) and
    /// lowers the signal. A token queued while this runs raises it again.
    pub fn take(&self, out: &mut Vec<u64>) {
        self.lower();
        let mut tokens = self.inner.tokens.lock().unwrap_or_else(|e| e.into_inner());
        out.append(&mut tokens);
    }

    /// Forgets the queued tokens and lowers the signal (for a set with one
    /// subscription, whose token says nothing new).
    pub(crate) fn clear(&self) {
        self.lower();
        self.inner
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn lower(&self) {
        // The descriptor is read first, then the flag goes down, and only then
        // are the tokens taken. A waker that finds the flag up has pushed its
        // token before this lowering took the tokens; one that finds it down
        // writes after the read, so its write is never swallowed by it (the
        // other order lost the signal for good: the flag up, the descriptor
        // drained, tokens waiting behind it).
        if let Signal::EventFd(fd) = &self.inner.signal {
            let mut counter = [0u8; 8];
            // EAGAIN: nothing to lower. Nothing else can fail on an eventfd.
            let _ = rustix::io::read(fd, &mut counter);
        }
        self.inner.raised.store(false, Ordering::SeqCst);
    }

    /// Queues `token` and raises the signal if the set was empty, as a wake of
    /// its subscription does. A host calls it to wake its own reader, for
    /// example when it closes a subscription another task is waiting on.
    pub fn notify(&self, token: u64) {
        self.inner
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(token);
        if !self.inner.raised.swap(true, Ordering::SeqCst) {
            match &self.inner.signal {
                Signal::EventFd(fd) => {
                    // EAGAIN only if the counter were about to overflow, which
                    // one write per lowering never reaches.
                    let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
                }
                Signal::Callback(notify) => notify(),
            }
        }
    }

    /// Waits until the eventfd is readable or `timeout` passes (`None`: no
    /// limit); true when it is readable. A callback set cannot be waited on.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> Result<bool> {
        let Signal::EventFd(fd) = &self.inner.signal else {
            return Err(Error::new(
                ErrorKind::Internal,
                "a callback ready set has no descriptor to wait on",
            ));
        };
        let timeout = timeout.map(|t| Timespec {
            tv_sec: t.as_secs().try_into().unwrap_or(i64::MAX),
            tv_nsec: t.subsec_nanos().into(),
        });
        let mut fds = [PollFd::new(fd, PollFlags::IN)];
        loop {
            match poll(&mut fds, timeout.as_ref()) {
                Ok(n) => return Ok(n > 0),
                Err(Errno::INTR) => continue,
                Err(e) => {
                    return Err(Error::new(
                        ErrorKind::Internal,
                        format!("cannot wait for the subscription: {e}"),
                    ))
                }
            }
        }
    }
}

impl std::fmt::Debug for ReadySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadySet").field("fd", &self.fd()).finish()
    }
}

/// A subscription's waker: queues its token in its set, once until rearmed.
pub(crate) struct TokenWaker {
    set: ReadySet,
    token: u64,
    queued: AtomicBool,
}

impl TokenWaker {
    /// A waker that queues `token` in `set`.
    pub(crate) fn new(set: ReadySet, token: u64) -> Arc<Self> {
        Arc::new(TokenWaker {
            set,
            token,
            queued: AtomicBool::new(false),
        })
    }

    /// The set this waker queues into.
    pub(crate) fn set(&self) -> &ReadySet {
        &self.set
    }

    /// Lets the next wake queue the token again; called before each read.
    pub(crate) fn rearm(&self) {
        self.queued.store(false, Ordering::SeqCst);
    }
}

impl Wake for TokenWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::SeqCst) {
            self.set.notify(self.token);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::Waker;

    #[test]
    fn many_wakes_raise_one_signal_and_queue_each_token_once() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let set = ReadySet::callback(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        let a = TokenWaker::new(set.clone(), 1);
        let b = TokenWaker::new(set.clone(), 2);
        let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
        wa.wake_by_ref();
        wa.wake_by_ref();
        wb.wake_by_ref();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let mut tokens = Vec::new();
        set.take(&mut tokens);
        assert_eq!(tokens, [1, 2]);
        wa.wake_by_ref();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "not rearmed: no token");
        a.rearm();
        wa.wake_by_ref();
        assert_eq!(calls.load(Ordering::SeqCst), 2, "raised again after take");
    }

    #[test]
    fn an_eventfd_set_stays_readable_while_tokens_wait_under_concurrent_wakes() {
        // A taker that lowers the descriptor while a waker raises it must
        // never leave tokens queued behind a descriptor that is not readable.
        const TOKENS: u64 = 200_000;
        let set = ReadySet::eventfd().unwrap();
        let notifier = {
            let set = set.clone();
            std::thread::spawn(move || (0..TOKENS).for_each(|token| set.notify(token)))
        };
        let mut taken = Vec::new();
        while (taken.len() as u64) < TOKENS {
            assert!(
                set.wait(Some(Duration::from_secs(5))).unwrap(),
                "{} tokens queued behind a descriptor that is not readable",
                TOKENS - taken.len() as u64
            );
            set.take(&mut taken);
        }
        notifier.join().unwrap();
        assert!(taken.iter().copied().eq(0..TOKENS));
    }

    #[test]
    fn eventfd_is_readable_while_raised() {
        let set = ReadySet::eventfd().unwrap();
        assert!(set.fd().is_some());
        assert!(!set.wait(Some(Duration::ZERO)).unwrap());
        let waker = Waker::from(TokenWaker::new(set.clone(), 7));
        waker.wake();
        assert!(set.wait(Some(Duration::ZERO)).unwrap());
        let mut tokens = Vec::new();
        set.take(&mut tokens);
        assert_eq!(tokens, [7]);
        assert!(!set.wait(Some(Duration::from_millis(10))).unwrap());
        assert!(ReadySet::callback(|| ()).wait(None).is_err());
    }
}
