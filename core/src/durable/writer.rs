//! The queue between publishers and the writer thread, and the thread itself:
//! it commits everything queued in one batch (group commit), syncs per the
//! sync mode, wakes the publishers waiting for durability, extends the sequence
//! lease, trims by the disk bounds, and retries after a failed write.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use std::path::PathBuf;

use super::options::{HistorySync, Options};
use super::record::Record;
use super::storage_error;
use super::store::{Counters, Store};
use crate::error::{Error, Result};

/// How often `batch` and `none` commit what is queued.
pub(crate) const COMMIT_INTERVAL: Duration = Duration::from_millis(5);
/// How often the writer checks the age bound when nothing else happens.
const TRIM_INTERVAL: Duration = Duration::from_secs(1);
/// How long the writer waits before retrying after a failed write.
const RETRY_INTERVAL: Duration = Duration::from_millis(500);
/// Most events dropped by one trimming batch.
const TRIM_CHUNK: usize = 4096;
/// Sequence numbers reserved (durably) ahead of those handed out; the writer
/// extends the lease when half of it is used. Small in tests, so that they
/// extend it (and wait for it) often.
#[cfg(not(test))]
pub(crate) const LEASE_BLOCK: u64 = 1 << 20;
#[cfg(test)]
pub(crate) const LEASE_BLOCK: u64 = 64;
/// Most bytes of frames queued before `append` waits for the writer.
pub(crate) const MAX_QUEUED_BYTES: usize = 64 << 20;
/// The largest queue allocation kept for reuse (a burst's is freed).
const MAX_SPARE_RECORDS: usize = 1 << 16;
/// Failed attempts to write what is queued before `close` gives up.
const CLOSE_ATTEMPTS: u32 = 2;

/// What publishers, readers and the writer share.
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    pub(crate) options: Options,
    /// `None` only while the writer reopens it after a failed write, and after close.
    pub(crate) store: RwLock<Option<Store>>,
    pub(crate) state: Mutex<State>,
    /// `State::durable`, readable without the lock (streams read it on every poll).
    pub(crate) durable: AtomicU64,
    /// Wakes the writer.
    pub(crate) work: Condvar,
    /// Wakes publishers waiting for durability, for the lease or for room.
    pub(crate) progress: Condvar,
}

/// The queue and the writer's progress.
#[derive(Default)]
pub(crate) struct State {
    /// Appended, not yet taken by the writer, ascending seqs.
    pub(crate) pending: Vec<Record>,
    pub(crate) pending_bytes: usize,
    /// Taken by the writer and being written (kept until written, for readers
    /// and for retries).
    pub(crate) committing: Arc<Vec<Record>>,
    /// The highest seq appended.
    pub(crate) appended: u64,
    /// The highest seq written with the durability of the sync mode.
    pub(crate) durable: u64,
    /// Seqs up to this may be handed out: the lease is on disk.
    pub(crate) leased: u64,
    /// The highest seq trimmed.
    pub(crate) trimmed: u64,
    /// The last write failed with this error; appends are refused until a retry succeeds.
    pub(crate) failed: Option<Error>,
    /// The writer waits for a signal (set and cleared by the writer).
    pub(crate) writer_idle: bool,
    /// `close` was called: appends are refused, the writer drains and stops.
    pub(crate) closing: bool,
    /// The writer has stopped.
    pub(crate) writer_done: bool,
}

impl State {
    fn has_work(&self) -> bool {
        !self.pending.is_empty() || !self.committing.is_empty()
    }

    fn lease_low(&self) -> bool {
        self.appended + LEASE_BLOCK / 2 > self.leased
    }
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The open store, or an error while it is being reopened or after close.
    pub(crate) fn with_store<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        let guard: RwLockReadGuard<'_, Option<Store>> =
            self.store.read().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(store) => f(store),
            None => Err(storage_error(format!(
                "history_dir {}: the store is closed or being reopened",
                self.dir.display()
            ))),
        }
    }

    /// Waits until the writer has something to do: a commit (at once in
    /// `always`, every [`COMMIT_INTERVAL`] otherwise), a lease to extend, a
    /// retry, a trim, or closing.
    fn wait_for_work<'a>(
        &self,
        mut state: MutexGuard<'a, State>,
        next_trim: Instant,
        trim_more: bool,
    ) -> MutexGuard<'a, State> {
        let interval = if state.failed.is_some() {
            RETRY_INTERVAL
        } else if self.options.sync == HistorySync::Always {
            TRIM_INTERVAL
        } else {
            COMMIT_INTERVAL
        };
        let deadline = (Instant::now() + interval).min(next_trim.max(Instant::now()));
        loop {
            if state.closing || trim_more {
                return state;
            }
            if state.failed.is_none()
                && (state.lease_low()
                    || (self.options.sync == HistorySync::Always && state.has_work()))
            {
                return state;
            }
            let now = Instant::now();
            if now >= deadline {
                return state;
            }
            state.writer_idle = true;
            state = self
                .work
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            state.writer_idle = false;
        }
    }
}

/// The writer thread's body. `counters` are the store's at open.
pub(crate) fn run(shared: Arc<Shared>, mut counters: Counters) {
    let mut next_trim = Instant::now();
    let mut trim_more = false;
    let mut close_failures = 0;
    // The allocation of the last written batch, handed back to publishers as
    // their next queue (swapped in under the lock, never copied there).
    let mut spare: Vec<Record> = Vec::new();
    loop {
        let mut state = shared.wait_for_work(shared.lock(), next_trim, trim_more);
        if state.failed.is_some() {
            drop(state);
            reopen(&shared);
            state = shared.lock();
        }
        if !state.pending.is_empty() {
            let queued = std::mem::replace(&mut state.pending, std::mem::take(&mut spare));
            state.committing = if state.committing.is_empty() {
                Arc::new(queued)
            } else {
                // A retry: what failed before, then what came since.
                let mut retry: Vec<Record> = state.committing.iter().cloned().collect();
                retry.extend(queued);
                Arc::new(retry)
            };
            state.pending_bytes = 0;
        }
        let batch = state.committing.clone();
        let lease = state.lease_low().then_some(state.appended + LEASE_BLOCK);
        let closing = state.closing;
        drop(state);

        let result = write(&shared, &batch, &mut counters, lease, closing);
        let failed = result.is_err();
        {
            let mut state = shared.lock();
            match result {
                Ok(()) => {
                    if let Some(last) = batch.last() {
                        state.durable = last.seq;
                        shared.durable.store(last.seq, Ordering::Release);
                    }
                    if let Some(lease) = lease {
                        state.leased = lease;
                    }
                    state.committing = Arc::default();
                    state.failed = None;
                }
                Err(error) => {
                    tracing::error!("durable history: {error}");
                    state.failed = Some(error);
                }
            }
            shared.progress.notify_all();
        }
        // Written: its records are freed here, outside the lock, and its
        // allocation becomes the next queue.
        if !failed {
            if let Ok(mut written) = Arc::try_unwrap(batch) {
                written.clear();
                if written.capacity() <= MAX_SPARE_RECORDS {
                    spare = written;
                }
            }
        }

        if !failed
            && (trim_more || Instant::now() >= next_trim || over_count_or_bytes(&shared, &counters))
        {
            next_trim = Instant::now() + TRIM_INTERVAL;
            let trimmed = shared.with_store(|store| {
                store.trim(&mut counters, &shared.options.bounds, now_ms(), TRIM_CHUNK)
            });
            let mut state = shared.lock();
            match trimmed {
                Ok(more) => {
                    trim_more = more;
                    state.trimmed = counters.trimmed;
                }
                Err(error) => {
                    tracing::error!("durable history: {error}");
                    trim_more = false;
                    state.failed = Some(error);
                }
            }
        }

        if closing {
            let mut state = shared.lock();
            close_failures += u32::from(state.failed.is_some());
            let drained = !state.has_work() && state.failed.is_none();
            if drained || close_failures >= CLOSE_ATTEMPTS {
                if drained {
                    if let Err(error) = shared.with_store(Store::end_run) {
                        state.failed = Some(error);
                    }
                }
                state.writer_done = true;
                shared.progress.notify_all();
                return;
            }
        }
    }
}

fn over_count_or_bytes(shared: &Shared, counters: &Counters) -> bool {
    let bounds = &shared.options.bounds;
    counters.events > bounds.max_events || counters.bytes > bounds.max_bytes
}

/// Writes `batch` and the lease, and syncs as the mode asks (a new lease and
/// the last write before close are always synced).
fn write(
    shared: &Shared,
    batch: &[Record],
    counters: &mut Counters,
    lease: Option<u64>,
    closing: bool,
) -> Result<()> {
    if batch.is_empty() && lease.is_none() {
        return Ok(());
    }
    let mut next = *counters;
    for record in batch {
        next.head = record.seq;
        next.events += 1;
        next.bytes += record.stored_bytes();
    }
    shared.with_store(|store| {
        store.append(batch, &next, lease)?;
        if shared.options.sync != HistorySync::None || lease.is_some() || closing {
            store.sync()?;
        }
        Ok(())
    })?;
    *counters = next;
    Ok(())
}

/// Reopens the store after a failed write (fjall refuses further writes on a
/// handle whose write failed); a failure here is retried later.
fn reopen(shared: &Shared) {
    let mut slot = shared.store.write().unwrap_or_else(|e| e.into_inner());
    slot.take();
    match Store::open(&shared.dir) {
        Ok(store) => *slot = Some(store),
        Err(error) => tracing::warn!("durable history: {error}"),
    }
}

/// Wall-clock time in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
