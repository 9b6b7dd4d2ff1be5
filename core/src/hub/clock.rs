//! The keep-alive clock: one engine-wide tick count instead of a timer per
//! stream. Streams park on it and compare tick counts to decide when they have
//! been idle long enough for a keep-alive comment.

use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Waker;
use std::time::Duration;

use super::waiters::{Registration, Waiters};

/// Clock ticks per keep-alive interval. A comment goes out on the first tick at
/// which the stream has been idle for a whole interval, so idle gaps last from
/// one interval to one and a quarter.
pub(crate) const TICKS_PER_KEEPALIVE: u64 = 4;

/// The engine-wide keep-alive clock.
#[derive(Default)]
pub(crate) struct Clock {
    ticks: AtomicU64,
    /// Streams woken on every tick and on stop.
    waiters: Waiters,
}

impl Clock {
    /// Ticks so far.
    pub(crate) fn now(&self) -> u64 {
        self.ticks.load(Ordering::Acquire)
    }

    /// True when `ticks` (a value of [`Clock::now`] taken at a write) lies a whole
    /// keep-alive interval in the past. The write happened somewhere after that
    /// tick, so only one tick more than an interval's worth proves it.
    pub(crate) fn idle_since(&self, ticks: u64) -> bool {
        self.now().wrapping_sub(ticks) > TICKS_PER_KEEPALIVE
    }

    /// Parks a stream until the next tick.
    pub(crate) fn park(&self, reg: &mut Registration, waker: &Waker) {
        self.waiters.register(reg, waker);
    }

    /// Unparks a stream.
    pub(crate) fn unpark(&self, reg: &mut Registration) {
        self.waiters.deregister(reg);
    }

    /// Advances one tick and wakes the parked streams.
    pub(crate) fn advance(&self) {
        self.ticks.fetch_add(1, Ordering::Release);
        self.waiters.wake_all();
    }

    /// Wakes the parked streams without a tick (on stop).
    pub(crate) fn wake_all(&self) {
        self.waiters.wake_all();
    }

    /// The clock task: ticks [`TICKS_PER_KEEPALIVE`] times per `keepalive`
    /// until `stopped` says so.
    pub(crate) async fn run(&self, keepalive: Duration, stopped: impl Fn() -> bool) {
        let mut interval = tokio::time::interval(keepalive / TICKS_PER_KEEPALIVE as u32);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval.tick().await;
        while !stopped() {
            interval.tick().await;
            self.advance();
        }
    }
}
