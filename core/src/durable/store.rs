//! The embedded store (fjall, a log-structured key-value store) and the few
//! operations the durable history makes of it. Every write is one atomic batch
//! across keyspaces; the journal is checksummed, and a torn last write is
//! dropped when the store is opened again.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use super::options::{DiskBounds, HistorySync};
use super::record::{be_u64, event_key, event_key_seq, id_key, OrderEntry, Record};
use super::storage_error;
use crate::error::{Error, Result};

/// The store's own directory inside `history_dir`.
pub(crate) const STORE_DIR: &str = "store";

/// Bounds the journal replayed when the store opens (fjall's smallest allowed).
const MAX_JOURNAL_BYTES: u64 = 64 << 20;
/// Memtables flushed at this size, so the journal they pin stays small.
const MAX_MEMTABLE_BYTES: u64 = 8 << 20;

mod meta_key {
    pub(super) const INCARNATION: &str = "incarnation";
    pub(super) const LEASE: &str = "lease";
    pub(super) const HEAD: &str = "head";
    pub(super) const TRIMMED: &str = "trimmed";
    pub(super) const EVENTS: &str = "events";
    pub(super) const BYTES: &str = "bytes";
    pub(super) const CLEAN: &str = "clean";
    pub(super) const SYNC: &str = "sync";
}

/// What the store knows about itself, kept in its `meta` keyspace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Meta {
    /// The id prefix chosen when the store was created.
    pub(crate) incarnation: Option<String>,
    /// Every sequence number an engine may have handed out is at most this.
    pub(crate) lease: u64,
    /// True when the last engine closed the store cleanly.
    pub(crate) clean: bool,
    /// The sync mode of the last engine.
    pub(crate) sync: Option<HistorySync>,
    pub(crate) counters: Counters,
}

/// Counters updated with every write, in the same batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    /// The highest sequence number written.
    pub(crate) head: u64,
    /// The highest sequence number trimmed (every event up to it is gone).
    pub(crate) trimmed: u64,
    /// Events kept.
    pub(crate) events: u64,
    /// Bytes of events kept, as counted by `disk_history_bytes`.
    pub(crate) bytes: u64,
}

/// The open store.
pub(crate) struct Store {
    dir: PathBuf,
    db: Database,
    events: Keyspace,
    order: Keyspace,
    ids: Keyspace,
    meta: Keyspace,
    /// `end` → `start`: sequence numbers in `(start, end]` may have been lost
    /// in a crash.
    gaps: Keyspace,
}

impl Store {
    /// Opens (or creates) the store in `history_dir/store`.
    pub(crate) fn open(history_dir: &Path) -> Result<Store> {
        let dir = history_dir.to_path_buf();
        let fail = |e: fjall::Error| store_error(&dir, "cannot open the store", e);
        let db = Database::builder(history_dir.join(STORE_DIR))
            .max_journaling_size(MAX_JOURNAL_BYTES)
            .open()
            .map_err(fail)?;
        let options = || KeyspaceCreateOptions::default().max_memtable_size(MAX_MEMTABLE_BYTES);
        let keyspace = |name: &str| db.keyspace(name, options).map_err(fail);
        Ok(Store {
            events: keyspace("events")?,
            order: keyspace("order")?,
            ids: keyspace("ids")?,
            meta: keyspace("meta")?,
            gaps: keyspace("gaps")?,
            db,
            dir,
        })
    }

    fn fail(&self, what: &str) -> impl Fn(fjall::Error) -> Error + '_ {
        let what = what.to_owned();
        move |e| store_error(&self.dir, &what, e)
    }

    fn corrupt(&self, what: &str) -> Error {
        storage_error(format!(
            "history_dir {}: the store is damaged ({what})",
            self.dir.display()
        ))
    }

    /// Reads the `meta` keyspace.
    pub(crate) fn meta(&self) -> Result<Meta> {
        let get = |key: &str| self.meta.get(key).map_err(self.fail("cannot read meta"));
        let u64_of = |key: &str| -> Result<u64> {
            match get(key)? {
                None => Ok(0),
                Some(v) => be_u64(&v).ok_or_else(|| self.corrupt(&format!("meta {key}"))),
            }
        };
        let text_of = |key: &str| -> Result<Option<String>> {
            get(key)?
                .map(|v| String::from_utf8(v.to_vec()).map_err(|_| self.corrupt("meta text")))
                .transpose()
        };
        Ok(Meta {
            incarnation: text_of(meta_key::INCARNATION)?,
            lease: u64_of(meta_key::LEASE)?,
            clean: u64_of(meta_key::CLEAN)? == 1,
            sync: text_of(meta_key::SYNC)?.and_then(|s| HistorySync::parse(&s)),
            counters: Counters {
                head: u64_of(meta_key::HEAD)?,
                trimmed: u64_of(meta_key::TRIMMED)?,
                events: u64_of(meta_key::EVENTS)?,
                bytes: u64_of(meta_key::BYTES)?,
            },
        })
    }

    /// Records the start of an engine: its incarnation, its sequence lease, its
    /// sync mode, "not closed cleanly", and the gap a crash may have left. Synced.
    pub(crate) fn begin_run(
        &self,
        incarnation: &str,
        lease: u64,
        sync: HistorySync,
        gap: Option<(u64, u64)>,
    ) -> Result<()> {
        let mut batch = self.db.batch();
        batch.insert(&self.meta, meta_key::INCARNATION, incarnation);
        batch.insert(&self.meta, meta_key::LEASE, lease.to_be_bytes());
        batch.insert(&self.meta, meta_key::SYNC, sync.as_str());
        batch.insert(&self.meta, meta_key::CLEAN, 0u64.to_be_bytes());
        if let Some((start, end)) = gap {
            batch.insert(&self.gaps, end.to_be_bytes(), start.to_be_bytes());
        }
        batch.commit().map_err(self.fail("cannot write meta"))?;
        self.sync()
    }

    /// Records a clean close (everything handed out is written). Synced.
    pub(crate) fn end_run(&self) -> Result<()> {
        self.meta
            .insert(meta_key::CLEAN, 1u64.to_be_bytes())
            .map_err(self.fail("cannot write meta"))?;
        self.sync()
    }

    /// Writes `records` (ascending seqs), the counters after them and, when
    /// given, a new sequence lease, in one atomic batch.
    pub(crate) fn append(
        &self,
        records: &[Record],
        counters: &Counters,
        lease: Option<u64>,
    ) -> Result<()> {
        let mut batch = self.db.batch();
        for r in records {
            batch.insert(&self.events, event_key(&r.topic, r.seq), &r.frame[..]);
            batch.insert(&self.order, r.seq.to_be_bytes(), r.order_value());
            if let Some(id) = &r.custom_id {
                batch.insert(&self.ids, id_key(&r.topic, id), r.seq.to_be_bytes());
            }
        }
        put_counters(&mut batch, &self.meta, counters);
        if let Some(lease) = lease {
            batch.insert(&self.meta, meta_key::LEASE, lease.to_be_bytes());
        }
        batch.commit().map_err(self.fail("cannot write events"))
    }

    /// Makes everything written so far durable (fsync).
    pub(crate) fn sync(&self) -> Result<()> {
        self.db
            .persist(PersistMode::SyncAll)
            .map_err(self.fail("cannot sync"))
    }

    /// Drops the oldest events (at most `max`) while `counters` exceed `bounds`,
    /// in one batch, and updates `counters`. Returns true when it stopped at
    /// `max` with more to drop.
    pub(crate) fn trim(
        &self,
        counters: &mut Counters,
        bounds: &DiskBounds,
        now_ms: u64,
        max: usize,
    ) -> Result<bool> {
        let over = |c: &Counters, at_ms: u64| {
            c.events > bounds.max_events
                || c.bytes > bounds.max_bytes
                || (bounds.max_age_ms > 0 && at_ms.saturating_add(bounds.max_age_ms) < now_ms)
        };
        let mut next = *counters;
        let mut batch = self.db.batch();
        let mut dropped = 0;
        let start = counters.trimmed.saturating_add(1).to_be_bytes();
        for item in self.order.range(start..) {
            if dropped == max {
                break;
            }
            let (key, value) = item.into_inner().map_err(self.fail("cannot read events"))?;
            let seq = be_u64(&key).ok_or_else(|| self.corrupt("order key"))?;
            let entry = OrderEntry::parse(&value).ok_or_else(|| self.corrupt("order value"))?;
            if !over(&next, entry.at_ms) {
                break;
            }
            batch.remove(&self.order, key);
            batch.remove(&self.events, event_key(&entry.topic, seq));
            if let Some(id) = &entry.custom_id {
                let key = id_key(&entry.topic, id);
                let newest = self.ids.get(&key).map_err(self.fail("cannot read ids"))?;
                if newest.as_deref().and_then(be_u64) == Some(seq) {
                    batch.remove(&self.ids, key);
                }
            }
            next.events = next.events.saturating_sub(1);
            next.bytes = next.bytes.saturating_sub(entry.stored_bytes());
            next.trimmed = seq;
            dropped += 1;
        }
        if dropped == 0 {
            return Ok(false);
        }
        for gap in self.gaps.range(..=next.trimmed.to_be_bytes()) {
            let key = gap.key().map_err(self.fail("cannot read gaps"))?;
            batch.remove(&self.gaps, key);
        }
        put_counters(&mut batch, &self.meta, &next);
        batch.commit().map_err(self.fail("cannot trim events"))?;
        *counters = next;
        Ok(dropped == max)
    }

    /// Appends to `out` the frames of `topic` with `after < seq <= upto`, at
    /// most `max`. Returns true when it stopped at `max`.
    pub(crate) fn read_topic(
        &self,
        topic: &str,
        after: u64,
        upto: u64,
        max: usize,
        out: &mut Vec<(u64, Bytes)>,
    ) -> Result<bool> {
        if after >= upto || max == 0 {
            return Ok(false);
        }
        let range = event_key(topic, after + 1)..=event_key(topic, upto);
        for (taken, item) in self.events.range(range).enumerate() {
            if taken == max {
                return Ok(true);
            }
            let (key, frame) = item.into_inner().map_err(self.fail("cannot read events"))?;
            let seq = event_key_seq(&key).ok_or_else(|| self.corrupt("event key"))?;
            out.push((seq, Bytes::copy_from_slice(&frame)));
        }
        Ok(false)
    }

    /// True when the event `seq` is kept.
    pub(crate) fn contains(&self, seq: u64) -> Result<bool> {
        self.order
            .contains_key(seq.to_be_bytes())
            .map_err(self.fail("cannot read events"))
    }

    /// The sequence number of the newest kept event of `topic` with the custom id `id`.
    pub(crate) fn find_id(&self, topic: &str, id: &str) -> Result<Option<u64>> {
        match self
            .ids
            .get(id_key(topic, id))
            .map_err(self.fail("cannot read ids"))?
        {
            None => Ok(None),
            Some(v) => be_u64(&v).map(Some).ok_or_else(|| self.corrupt("id value")),
        }
    }

    /// True when a crash may have lost an event with a sequence number above `seq`.
    pub(crate) fn gap_after(&self, seq: u64) -> Result<bool> {
        match self
            .gaps
            .range(seq.saturating_add(1).to_be_bytes()..)
            .next()
        {
            None => Ok(false),
            Some(gap) => gap
                .key()
                .map(|_| true)
                .map_err(self.fail("cannot read gaps")),
        }
    }
}

fn put_counters(batch: &mut fjall::OwnedWriteBatch, meta: &Keyspace, c: &Counters) {
    batch.insert(meta, meta_key::HEAD, c.head.to_be_bytes());
    batch.insert(meta, meta_key::TRIMMED, c.trimmed.to_be_bytes());
    batch.insert(meta, meta_key::EVENTS, c.events.to_be_bytes());
    batch.insert(meta, meta_key::BYTES, c.bytes.to_be_bytes());
}

fn store_error(dir: &Path, what: &str, e: fjall::Error) -> Error {
    let cause = match e {
        fjall::Error::Locked => "the store is locked by another process".to_owned(),
        fjall::Error::Poisoned => {
            "a write failed (disk full or an I/O error) and the store refuses writes \
             until the history writer has reopened it (it retries every 500 ms)"
                .to_owned()
        }
        other => other.to_string(),
    };
    storage_error(format!("history_dir {}: {what}: {cause}", dir.display()))
}
