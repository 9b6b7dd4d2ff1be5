//! A counter that many threads add to without a locked instruction, for the
//! per-batch counts of the delivery path: each thread owns a slot of its own
//! and adds with a plain load and store; a read sums the slots. Threads past
//! the last owned slot share one, with an atomic add.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Slots per counter; the last one is shared.
const SLOTS: usize = 64;

/// The next thread index to hand out (process-wide, never reused).
static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's slot index, `usize::MAX` until first used.
    static THREAD: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's slot: its own below `SLOTS - 1`, else the shared last one.
fn slot_index() -> usize {
    THREAD.with(|index| {
        if index.get() == usize::MAX {
            index.set(NEXT_THREAD.fetch_add(1, Ordering::Relaxed).min(SLOTS - 1));
        }
        index.get()
    })
}

/// One slot, alone on its cache line so that writers do not share lines.
#[derive(Default)]
#[repr(align(64))]
struct Slot(AtomicU64);

/// A monotonic counter added to from many threads.
pub(crate) struct ShardedCounter {
    slots: Box<[Slot]>,
}

impl Default for ShardedCounter {
    fn default() -> Self {
        ShardedCounter {
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
        }
    }
}

impl ShardedCounter {
    /// Adds `n`.
    pub(crate) fn add(&self, n: u64) {
        let index = slot_index();
        let slot = &self.slots[index].0;
        if index < SLOTS - 1 {
            // Only this thread ever writes this slot: no read-modify-write needed.
            slot.store(
                slot.load(Ordering::Relaxed).wrapping_add(n),
                Ordering::Relaxed,
            );
        } else {
            slot.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// The total so far (each thread's adds appear in order).
    pub(crate) fn get(&self) -> u64 {
        self.slots
            .iter()
            .map(|slot| slot.0.load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_every_thread_exactly_even_past_the_owned_slots() {
        let counter = ShardedCounter::default();
        // More threads than slots: the last ones share the atomic slot.
        std::thread::scope(|scope| {
            for _ in 0..SLOTS + 16 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        counter.add(3);
                    }
                });
            }
        });
        assert_eq!(counter.get(), (SLOTS as u64 + 16) * 3000);
        counter.add(1);
        assert_eq!(counter.get(), (SLOTS as u64 + 16) * 3000 + 1);
    }
}
