//! Durable history: every published event is also appended to an embedded,
//! crash-safe store in `history_dir`, so a restarted engine keeps its ids and
//! its history, and a client can be replayed events older than the in-memory
//! ring.
//!
//! The ring stays the fan-out path; this module only stores and reads back.
//! How the hub uses it:
//!
//! 1. [`DurableHistory::open`] at start: the [`Recovered`] incarnation and
//!    next sequence number replace the fresh ones, so old ids still parse and no
//!    sequence number is ever handed out twice.
//! 2. [`DurableHistory::append`] under the publish lock, right after the seq and
//!    frame are made and before the ring append: it only queues (a lock and a
//!    push; the [`Draft`] was made before the lock). When it fails the publish
//!    fails and the seq is not used.
//! 3. Outside the lock, [`DurableHistory::wait`] with the ticket `append`
//!    returned (`always` only): returns once the event is fsynced. Concurrent
//!    publishers share one commit. In `always`, streams send events only up to
//!    [`DurableHistory::durable_through`].
//! 4. On resume, when the ring cannot serve an id: [`DurableHistory::find_custom_id`]
//!    for a publisher-given id, [`DurableHistory::resume_after`] to know whether
//!    the replay is exact, and [`DurableHistory::read_after`] for the frames
//!    (with [`DurableHistory::trimmed_through`] to know whether trimming
//!    overtook the reader).
//! 5. [`DurableHistory::close`] at stop: writes what is queued, syncs, and
//!    marks the store closed cleanly.
//!
//! A writer thread does every write: group commit, sync, lease extension,
//! trimming by the disk bounds, retries after a failed write. Nothing on the
//! publish path touches the disk.
//!
//! ## Sequence lease
//!
//! The store keeps a lease: every seq an engine may hand out is at most the
//! lease, which is written and fsynced ahead of use ([`writer::LEASE_BLOCK`]
//! at a time, extended when half is used). A restarted engine starts after the
//! lease, so an id handed out and then lost in a crash is never reused; a client
//! holding such an id (only possible in `batch` and `none`) resumes into a
//! reset (`unknown-id`). Each restart skips
//! what remained of the lease, so engine ids grow by up to about a million per
//! restart.
//!
//! ## Crashes
//!
//! Commits are written in seq order, so a crash loses only a tail. In `always`
//! nothing acknowledged is in that tail: a lost event's publish had not
//! returned and no stream had sent it, so every client resumes exactly. In `batch` and `none` an
//! acknowledged event may be in it, so a start after a crash records a gap
//! `(last written, lease]`: a client whose position is before the gap gets
//! `history-gap` instead of a replay that would silently skip events.

mod dir_lock;
mod format;
mod options;
mod record;
mod store;
mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};

use bytes::Bytes;

use crate::error::{Error, ErrorKind, Result};
use crate::ResetReason;
use dir_lock::DirLock;
pub use options::HistorySync;
pub(crate) use options::Options;
use record::Record;
use store::{Store, STORE_DIR};
use writer::{Shared, State, LEASE_BLOCK};

/// The error of every storage failure ([`ErrorKind::Storage`]): the message
/// names `history_dir` and the cause.
fn storage_error(message: String) -> Error {
    Error::new(ErrorKind::Storage, message)
}

/// What a start recovers from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recovered {
    /// The id prefix of this history, the same across restarts.
    pub(crate) incarnation: String,
    /// The first sequence number this start may hand out: above every seq any
    /// earlier start may have handed out.
    pub(crate) next_seq: u64,
    /// Events kept on disk.
    pub(crate) events: u64,
}

/// The parts of a stored event that are known before the publish lock: made
/// there, so that [`DurableHistory::append`] only moves them.
#[derive(Debug)]
pub(crate) struct Draft {
    topic: Arc<str>,
    custom_id: Option<Box<str>>,
    /// Wall-clock time of the publish, in ms since the Unix epoch.
    pub(crate) at_ms: u64,
}

impl Draft {
    /// The draft of an event of `topic` (the topic's own name, shared), with
    /// the publisher's id if it chose one.
    pub(crate) fn new(topic: Arc<str>, custom_id: Option<&str>) -> Draft {
        Draft {
            topic,
            custom_id: custom_id.map(Into::into),
            at_ms: writer::now_ms(),
        }
    }
}

/// Proof that an event was queued in `always` mode; [`DurableHistory::wait`]
/// returns once it is fsynced.
#[derive(Debug)]
#[must_use = "wait for the ticket, or the publish returns before its event is durable"]
pub(crate) struct Ticket(u64);

/// Frames read back from disk.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Replay {
    /// `(seq, frame)` in publish order.
    pub(crate) frames: Vec<(u64, Bytes)>,
    /// True when frames up to `upto` may remain unread (the budget was spent):
    /// read again after the last seq returned.
    pub(crate) more: bool,
}

/// The durable history of one engine, stored in one directory.
pub(crate) struct DurableHistory {
    shared: Arc<Shared>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    lock: Mutex<Option<DirLock>>,
}

impl DurableHistory {
    /// Opens the history in `dir` (created if missing), or creates it with
    /// the incarnation `new_incarnation` returns. Fails with a clear error when
    /// the directory cannot be created or written, another engine holds it, it
    /// was written by a newer format, or the store cannot be opened.
    pub(crate) fn open(
        dir: &Path,
        options: Options,
        new_incarnation: impl FnOnce() -> String,
    ) -> Result<(DurableHistory, Recovered)> {
        std::fs::create_dir_all(dir).map_err(|e| {
            storage_error(format!(
                "history_dir {}: cannot create it: {e}",
                dir.display()
            ))
        })?;
        let lock = DirLock::acquire(dir)?;
        format::check_or_create(dir, dir.join(STORE_DIR).exists())?;
        let store = Store::open(dir)?;
        let meta = store.meta()?;
        let incarnation = meta.incarnation.clone().unwrap_or_else(new_incarnation);
        let next_seq = meta.lease + 1;
        let lease = meta.lease + LEASE_BLOCK;
        let counters = meta.counters;
        let acknowledged_before_durable = meta.sync.is_some_and(|s| s != HistorySync::Always);
        let gap = (!meta.clean && acknowledged_before_durable && meta.lease > counters.head)
            .then_some((counters.head, meta.lease));
        store.begin_run(&incarnation, lease, options.sync, gap)?;

        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            options,
            store: RwLock::new(Some(store)),
            state: Mutex::new(State {
                appended: next_seq - 1,
                durable: next_seq - 1,
                leased: lease,
                trimmed: counters.trimmed,
                ..State::default()
            }),
            durable: AtomicU64::new(next_seq - 1),
            work: Condvar::new(),
            progress: Condvar::new(),
        });
        let writer = std::thread::Builder::new()
            .name("ssecast-history".into())
            .spawn({
                let shared = shared.clone();
                move || writer::run(shared, counters)
            })
            .map_err(|e| storage_error(format!("cannot start the history writer: {e}")))?;
        let recovered = Recovered {
            incarnation,
            next_seq,
            events: counters.events,
        };
        Ok((
            DurableHistory {
                shared,
                writer: Mutex::new(Some(writer)),
                lock: Mutex::new(Some(lock)),
            },
            recovered,
        ))
    }

    /// Queues an event for the writer; call it under the publish lock with
    /// seqs in increasing order. Never touches the disk and allocates only
    /// when the queue grows (the [`Draft`] was made before the lock); waits
    /// only when the writer is far behind (64 MiB queued) or the sequence lease
    /// is exhausted. In `always` mode returns a ticket for [`DurableHistory::wait`].
    ///
    /// Fails, without queuing, after a write failed (until a retry succeeds) or
    /// after close.
    pub(crate) fn append(&self, seq: u64, draft: Draft, frame: &Bytes) -> Result<Option<Ticket>> {
        let shared = &self.shared;
        let mut state = shared.lock();
        loop {
            if let Some(error) = &state.failed {
                return Err(error.clone());
            }
            if state.closing {
                return Err(Error::new(ErrorKind::Stopped, "the history is closed"));
            }
            if seq <= state.leased && state.pending_bytes < writer::MAX_QUEUED_BYTES {
                break;
            }
            shared.work.notify_one();
            state = shared
                .progress
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
        debug_assert!(seq > state.appended, "seqs are appended in order");
        state.appended = seq;
        state.pending_bytes += frame.len();
        state.pending.push(Record {
            seq,
            topic: draft.topic,
            custom_id: draft.custom_id,
            frame: frame.clone(),
            at_ms: draft.at_ms,
        });
        let always = shared.options.sync == HistorySync::Always;
        if always && state.writer_idle {
            state.writer_idle = false;
            drop(state);
            shared.work.notify_one();
        }
        Ok(always.then_some(Ticket(seq)))
    }

    /// True when `publish` waits for the disk ([`HistorySync::Always`]).
    pub(crate) fn waits_for_disk(&self) -> bool {
        self.shared.options.sync == HistorySync::Always
    }

    /// Waits until the ticket's event is fsynced (`always` mode). Fails when a
    /// write failed meanwhile: the event may then be stored later or not at all.
    pub(crate) fn wait(&self, ticket: Ticket) -> Result<()> {
        let mut state = self.shared.lock();
        loop {
            if state.durable >= ticket.0 {
                return Ok(());
            }
            if let Some(error) = &state.failed {
                return Err(error.clone());
            }
            if state.writer_done {
                return Err(Error::new(ErrorKind::Stopped, "the history is closed"));
            }
            state = self
                .shared
                .progress
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The frames of `topics` with `after < seq <= upto`, in seq order, at most
    /// `max_frames` and, past the first frame, at most `max_bytes` of frames.
    /// Includes events still queued for the writer.
    pub(crate) fn read_after(
        &self,
        topics: &[&str],
        after: u64,
        upto: u64,
        max_frames: usize,
        max_bytes: usize,
    ) -> Result<Replay> {
        // Queued events first: one the writer stores meanwhile is then read
        // twice (and deduplicated), never missed.
        let mut frames: Vec<(u64, Bytes)> = {
            let state = self.shared.lock();
            state
                .committing
                .iter()
                .chain(&state.pending)
                .filter(|r| r.seq > after && r.seq <= upto && topics.contains(&&*r.topic))
                .map(|r| (r.seq, r.frame.clone()))
                .collect()
        };
        let mut more = false;
        self.shared.with_store(|store| {
            for topic in topics {
                more |= store.read_topic(topic, after, upto, max_frames, &mut frames)?;
            }
            Ok(())
        })?;
        frames.sort_unstable_by_key(|&(seq, _)| seq);
        frames.dedup_by_key(|(seq, _)| *seq);
        let mut bytes = 0;
        let keep = frames
            .iter()
            .enumerate()
            .position(|(i, (_, frame))| {
                bytes += frame.len();
                i == max_frames || (i > 0 && bytes > max_bytes)
            })
            .unwrap_or(frames.len());
        more |= keep < frames.len();
        frames.truncate(keep);
        Ok(Replay { frames, more })
    }

    /// The seq of the oldest kept event of `topics` whose publisher-given id
    /// is `id` (a reused id: a client that saw it resumes after its oldest
    /// occurrence, so that no event is skipped).
    pub(crate) fn find_custom_id(&self, topics: &[&str], id: &str) -> Result<Option<u64>> {
        let queued = {
            let state = self.shared.lock();
            state
                .committing
                .iter()
                .chain(&state.pending)
                .filter(|r| r.custom_id.as_deref() == Some(id) && topics.contains(&&*r.topic))
                .map(|r| r.seq)
                .min()
        };
        let stored = self.shared.with_store(|store| {
            let mut oldest: Option<u64> = None;
            for topic in topics {
                if let Some(seq) = store.find_id(topic, id)? {
                    oldest = Some(oldest.map_or(seq, |o| o.min(seq)));
                }
            }
            Ok(oldest)
        })?;
        Ok(stored.into_iter().chain(queued).min())
    }

    /// Whether a client whose last event is `seq` can be replayed exactly from
    /// disk: the event is kept, and nothing after it was trimmed or may have
    /// been lost in a crash. A read error counts as a gap (and is logged).
    pub(crate) fn resume_after(&self, seq: u64) -> std::result::Result<(), ResetReason> {
        let (trimmed, queued) = {
            let state = self.shared.lock();
            let queued = state
                .committing
                .iter()
                .chain(&state.pending)
                .any(|r| r.seq == seq);
            (state.trimmed, queued)
        };
        if seq <= trimmed {
            return Err(ResetReason::HistoryGap);
        }
        let checked = self.shared.with_store(|store| {
            if store.gap_after(seq)? {
                return Ok(Err(ResetReason::HistoryGap));
            }
            if queued || store.contains(seq)? {
                return Ok(Ok(()));
            }
            Ok(Err(ResetReason::UnknownId))
        });
        checked.unwrap_or_else(|error| {
            tracing::warn!("durable history: {error}");
            Err(ResetReason::HistoryGap)
        })
    }

    /// Every event up to this sequence number is written with the durability of
    /// the sync mode (in `always`: fsynced). Lock-free.
    pub(crate) fn durable_through(&self) -> u64 {
        self.shared.durable.load(Ordering::Acquire)
    }

    /// Every event with this sequence number or a lower one has been trimmed:
    /// a reader positioned before it has missed events.
    pub(crate) fn trimmed_through(&self) -> u64 {
        self.shared.lock().trimmed
    }

    /// Writes everything queued, syncs, marks the store closed cleanly and
    /// releases the directory. Idempotent. Fails when queued events could not
    /// be written (they are then lost, and the next start records a gap).
    pub(crate) fn close(&self) -> Result<()> {
        let Some(writer) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return Ok(());
        };
        self.shared.lock().closing = true;
        self.shared.work.notify_one();
        self.shared.progress.notify_all();
        let joined = writer.join();
        let result = {
            let state = self.shared.lock();
            match (&state.failed, joined) {
                (_, Err(_)) => Err(storage_error("the history writer panicked".into())),
                (Some(error), _) => Err(error.clone()),
                (None, Ok(())) => Ok(()),
            }
        };
        self.shared
            .store
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        self.lock.lock().unwrap_or_else(|e| e.into_inner()).take();
        result
    }
}

impl Drop for DurableHistory {
    fn drop(&mut self) {
        if let Err(error) = self.close() {
            tracing::error!("durable history: {error}");
        }
    }
}

#[cfg(test)]
mod tests;
