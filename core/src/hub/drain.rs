//! Draining: streams close gradually over a window instead of all at once.
//!
//! The window is cut into [`TURNS`] equal turns. Each stream draws a turn at
//! random when it first sees the drain and closes once the drain has passed it;
//! the drain task advances one turn at a time and wakes only the streams whose
//! turn came, so every stream is woken once, and no stream needs a timer of its
//! own (in-app streams are polled outside the engine's runtime).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Waker;
use std::time::Duration;

use tokio::time::Instant;

use super::waiters::{Registration, Waiters};

/// How many turns a drain window is cut into.
pub(crate) const TURNS: usize = 100;

/// A drain in progress.
pub(crate) struct Drain {
    started: Instant,
    window: Duration,
    /// Turns completed: a stream whose turn is below this closes.
    passed: AtomicUsize,
    /// The streams waiting for each turn.
    waiting: Box<[Waiters]>,
}

impl Drain {
    /// A drain over `window`, starting now.
    pub(crate) fn new(window: Duration) -> Self {
        Drain {
            started: Instant::now(),
            window,
            passed: AtomicUsize::new(0),
            waiting: (0..TURNS).map(|_| Waiters::default()).collect(),
        }
    }

    /// A turn drawn at random, for a stream that has just seen the drain.
    pub(crate) fn draw_turn() -> usize {
        fastrand::usize(0..TURNS)
    }

    /// True once the drain has reached `turn`.
    pub(crate) fn is_due(&self, turn: usize) -> bool {
        self.passed.load(Ordering::Acquire) > turn
    }

    /// Parks a stream until its turn.
    pub(crate) fn park(&self, turn: usize, reg: &mut Registration, waker: &Waker) {
        self.waiting[turn].register(reg, waker);
    }

    /// Unparks a stream.
    pub(crate) fn unpark(&self, turn: usize, reg: &mut Registration) {
        self.waiting[turn].deregister(reg);
    }

    /// The drain task: passes the turns one by one, evenly over the window,
    /// waking the streams of each.
    pub(crate) async fn run(&self) {
        for turn in 0..TURNS {
            let end = self.window.mul_f64((turn + 1) as f64 / TURNS as f64);
            tokio::time::sleep_until(self.started + end).await;
            self.passed.store(turn + 1, Ordering::Release);
            self.waiting[turn].wake_all();
        }
    }

    /// When the last turn passes.
    pub(crate) fn ends_at(&self) -> Instant {
        self.started + self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn turns_pass_evenly_over_the_window() {
        let drain = std::sync::Arc::new(Drain::new(Duration::from_secs(10)));
        let task = tokio::spawn({
            let drain = drain.clone();
            async move { drain.run().await }
        });
        tokio::time::sleep(Duration::from_millis(2_550)).await;
        assert!(drain.is_due(24) && !drain.is_due(25), "a quarter passed");
        task.await.unwrap();
        assert!(drain.is_due(TURNS - 1), "every turn passed");
        assert_eq!(Instant::now(), drain.ends_at());
    }

    #[tokio::test(start_paused = true)]
    async fn a_drain_of_zero_passes_every_turn_at_once() {
        let drain = Drain::new(Duration::ZERO);
        let before = Instant::now();
        drain.run().await;
        assert!(drain.is_due(TURNS - 1));
        assert_eq!(Instant::now(), before);
    }
}
