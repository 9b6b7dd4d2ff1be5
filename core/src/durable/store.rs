//! The embedded store (fjall, a log-structured key-value store) and the few
//! operations the durable history makes of it, in one keyspace (the key layout
//! is in `record.rs`). Every write is one atomic batch; the journal is
//! checksummed, and a torn last write is dropped when the store is opened again.
//!
//! Start-up replays fjall's current journal file, whatever the history's size:
//! fjall starts a new one past 64 MB, and deletes older ones once the memtable
//! is flushed (every [`MAX_MEMTABLE_BYTES`]). With one keyspace, no rarely
//! written keyspace keeps old journal files, so the replay stays under ~64 MB
//! after a clean close and after a crash alike. Its cost is per journal entry:
//! an event is one entry (its frame), a commit one or a few more (its order
//! blocks and the counters).

use std::path::{Path, PathBuf};

use bytes::Bytes;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use super::options::{DiskBounds, HistorySync};
use super::record::{
    be_u64, event_key, event_key_seq, gap_key, id_key, id_prefix, meta_key, order_block, order_key,
    OrderEntry, Record, ORDER_BLOCK_EVENTS,
};
use super::storage_error;
use crate::error::{Error, Result};

/// The store's own directory inside `history_dir`.
pub(crate) const STORE_DIR: &str = "store";

/// Bounds the journal files kept (fjall's smallest allowed).
const MAX_JOURNAL_BYTES: u64 = 64 << 20;
/// The memtable is flushed at this size: the most a start after a crash
/// replays into memory.
const MAX_MEMTABLE_BYTES: u64 = 8 << 20;
/// The name of the one keyspace.
const KEYSPACE: &str = "history";

mod meta_name {
    pub(super) const INCARNATION: &str = "incarnation";
    pub(super) const LEASE: &str = "lease";
    /// The [`Counters`](super::Counters), in one record: written with every commit.
    pub(super) const COUNTERS: &str = "counters";
    pub(super) const CLEAN: &str = "clean";
    pub(super) const SYNC: &str = "sync";
}

/// What the store knows about itself, kept under its `m` keys.
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

/// Counters updated with every write, in the same batch (one record, so that
/// a commit adds one journal entry for them, not four).
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

impl Counters {
    /// The four counters, 8 big-endian bytes each.
    fn encode(&self) -> [u8; 32] {
        let mut out = [0; 32];
        for (chunk, value) in
            out.chunks_exact_mut(8)
                .zip([self.head, self.trimmed, self.events, self.bytes])
        {
            chunk.copy_from_slice(&value.to_be_bytes());
        }
        out
    }

    /// The counters [`Counters::encode`] wrote; `None` for anything else.
    fn decode(bytes: &[u8]) -> Option<Counters> {
        let value = |i: usize| be_u64(bytes.get(i * 8..i * 8 + 8)?);
        (bytes.len() == 32).then_some(())?;
        Some(Counters {
            head: value(0)?,
            trimmed: value(1)?,
            events: value(2)?,
            bytes: value(3)?,
        })
    }
}

/// The open store.
pub(crate) struct Store {
    dir: PathBuf,
    db: Database,
    table: Keyspace,
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
        let table = db.keyspace(KEYSPACE, options).map_err(fail)?;
        Ok(Store { table, db, dir })
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

    /// Reads what the store knows about itself.
    pub(crate) fn meta(&self) -> Result<Meta> {
        let get = |name: &str| {
            self.table
                .get(meta_key(name))
                .map_err(self.fail("cannot read meta"))
        };
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
            incarnation: text_of(meta_name::INCARNATION)?,
            lease: u64_of(meta_name::LEASE)?,
            clean: u64_of(meta_name::CLEAN)? == 1,
            sync: text_of(meta_name::SYNC)?.and_then(|s| HistorySync::parse(&s)),
            counters: match get(meta_name::COUNTERS)? {
                None => Counters::default(),
                Some(v) => Counters::decode(&v).ok_or_else(|| self.corrupt("meta counters"))?,
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
        let table = &self.table;
        batch.insert(table, meta_key(meta_name::INCARNATION), incarnation);
        batch.insert(table, meta_key(meta_name::LEASE), lease.to_be_bytes());
        batch.insert(table, meta_key(meta_name::SYNC), sync.as_str());
        batch.insert(table, meta_key(meta_name::CLEAN), 0u64.to_be_bytes());
        if let Some((start, end)) = gap {
            batch.insert(table, gap_key(end), start.to_be_bytes());
        }
        batch.commit().map_err(self.fail("cannot write meta"))?;
        self.sync()
    }

    /// Records a clean close (everything handed out is written). Synced.
    pub(crate) fn end_run(&self) -> Result<()> {
        self.table
            .insert(meta_key(meta_name::CLEAN), 1u64.to_be_bytes())
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
        let table = &self.table;
        for block in records.chunks(ORDER_BLOCK_EVENTS) {
            batch.insert(table, order_key(block[0].seq), order_block(block));
        }
        for r in records {
            batch.insert(table, event_key(&r.topic, r.seq), &r.frame[..]);
            if let Some(id) = &r.custom_id {
                batch.insert(table, id_key(&r.topic, id, r.seq), []);
            }
        }
        put_counters(&mut batch, table, counters);
        if let Some(lease) = lease {
            batch.insert(table, meta_key(meta_name::LEASE), lease.to_be_bytes());
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
        // Blocks hold ascending seqs and never overlap: the first is the oldest.
        for item in self.table.range(order_key(0)..=order_key(u64::MAX)) {
            let (key, value) = item.into_inner().map_err(self.fail("cannot read events"))?;
            let entries =
                OrderEntry::decode_block(&value).ok_or_else(|| self.corrupt("order block"))?;
            let mut gone = 0;
            for entry in &entries {
                if dropped == max || !over(&next, entry.at_ms) {
                    break;
                }
                batch.remove(&self.table, event_key(&entry.topic, entry.seq));
                if let Some(id) = &entry.custom_id {
                    batch.remove(&self.table, id_key(&entry.topic, id, entry.seq));
                }
                next.events = next.events.saturating_sub(1);
                next.bytes = next.bytes.saturating_sub(entry.stored_bytes());
                next.trimmed = entry.seq;
                dropped += 1;
                gone += 1;
            }
            if gone == entries.len() {
                batch.remove(&self.table, key);
                continue;
            }
            if gone > 0 {
                // What remains keeps the block's key, still below its seqs.
                batch.insert(&self.table, key, OrderEntry::encode_block(&entries[gone..]));
            }
            break;
        }
        if dropped == 0 {
            return Ok(false);
        }
        for gap in self.table.range(gap_key(0)..=gap_key(next.trimmed)) {
            let key = gap.key().map_err(self.fail("cannot read gaps"))?;
            batch.remove(&self.table, key);
        }
        put_counters(&mut batch, &self.table, &next);
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
        for (taken, item) in self.table.range(range).enumerate() {
            if taken == max {
                return Ok(true);
            }
            let (key, frame) = item.into_inner().map_err(self.fail("cannot read events"))?;
            let seq = event_key_seq(&key).ok_or_else(|| self.corrupt("event key"))?;
            out.push((seq, Bytes::copy_from_slice(&frame)));
        }
        Ok(false)
    }

    /// True when the event `seq` is kept: it is in the last order block whose
    /// key is at most `seq`.
    pub(crate) fn contains(&self, seq: u64) -> Result<bool> {
        let Some(item) = self.table.range(order_key(0)..=order_key(seq)).next_back() else {
            return Ok(false);
        };
        let value = item.value().map_err(self.fail("cannot read events"))?;
        let entries =
            OrderEntry::decode_block(&value).ok_or_else(|| self.corrupt("order block"))?;
        Ok(entries.iter().any(|entry| entry.seq == seq))
    }

    /// The sequence number of the oldest kept event of `topic` whose
    /// publisher gave it the id `id`.
    pub(crate) fn find_id(&self, topic: &str, id: &str) -> Result<Option<u64>> {
        let Some(item) = self.table.prefix(id_prefix(topic, id)).next() else {
            return Ok(None);
        };
        let key = item.key().map_err(self.fail("cannot read ids"))?;
        event_key_seq(&key)
            .map(Some)
            .ok_or_else(|| self.corrupt("id key"))
    }

    /// True when a crash may have lost an event with a sequence number above `seq`.
    pub(crate) fn gap_after(&self, seq: u64) -> Result<bool> {
        match self
            .table
            .range(gap_key(seq.saturating_add(1))..=gap_key(u64::MAX))
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

fn put_counters(batch: &mut fjall::OwnedWriteBatch, table: &Keyspace, c: &Counters) {
    batch.insert(table, meta_key(meta_name::COUNTERS), c.encode());
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
