//! One stored event, and the keys of the store's one keyspace. Every key starts
//! with a byte naming its table (sequence numbers are 8 big-endian bytes):
//!
//! - `e topic 0x00 seq` → the encoded frame, so "events of topic T after seq S"
//!   is one range scan. Topics hold no control characters, so the 0x00
//!   separator keeps topics apart.
//! - `o seq` → an order block: the [`OrderEntry`] (seq, time, frame length,
//!   topic, custom id) of up to [`ORDER_BLOCK_EVENTS`] events of one commit,
//!   keyed by the first one's seq, so trimming walks the oldest events first,
//!   whatever their topic. One block per commit rather than one entry per
//!   event halves the journal entries a start replays.
//! - `i topic 0x00 custom id 0x00 seq` → nothing: every kept event whose
//!   publisher gave it that id, oldest first (a client that saw a reused id
//!   resumes after its oldest occurrence, as the logs in memory do).
//! - `m name` → what the store knows about itself (see `store.rs`).
//! - `g end` → `start`: sequence numbers in `(start, end]` may have been lost
//!   in a crash.
//!
//! One keyspace rather than one per table: fjall can drop a journal file only
//! once every keyspace written in it has flushed its memtable, and tables
//! written rarely (the store's own records, crash gaps, custom ids) would keep
//! the journal long, making the replay at start-up long.

use std::sync::Arc;

use bytes::Bytes;

/// One event as the hub hands it over.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// The engine-wide sequence number.
    pub(crate) seq: u64,
    /// Shared with the topic (no copy per event).
    pub(crate) topic: Arc<str>,
    /// The publisher's id, when it chose one.
    pub(crate) custom_id: Option<Box<str>>,
    /// The encoded SSE frame, sent verbatim on replay.
    pub(crate) frame: Bytes,
    /// Wall-clock time of the publish, in ms since the Unix epoch (for the age bound).
    pub(crate) at_ms: u64,
}

impl Record {
    /// The bytes this event counts against `disk_history_bytes`.
    pub(crate) fn stored_bytes(&self) -> u64 {
        stored_bytes(
            self.frame.len(),
            self.topic.len(),
            self.custom_id.as_deref().map_or(0, str::len),
        )
    }
}

/// Most events in one order block: a larger commit writes several.
pub(crate) const ORDER_BLOCK_EVENTS: usize = 1024;

/// The fixed part of a block entry: seq, time, frame length, topic and id lengths.
const ENTRY_HEAD: usize = 8 + 8 + 4 + 2 + 2;

/// Appends one block entry to `out`.
fn push_entry(out: &mut Vec<u8>, seq: u64, at_ms: u64, frame_len: usize, topic: &str, id: &str) {
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&at_ms.to_be_bytes());
    out.extend_from_slice(&(frame_len as u32).to_be_bytes());
    out.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    out.extend_from_slice(&(id.len() as u16).to_be_bytes());
    out.extend_from_slice(topic.as_bytes());
    out.extend_from_slice(id.as_bytes());
}

/// The order block of `records` (ascending seqs, at most [`ORDER_BLOCK_EVENTS`]).
pub(crate) fn order_block(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.len() * (ENTRY_HEAD + 16));
    for r in records {
        let id = r.custom_id.as_deref().unwrap_or("");
        push_entry(&mut out, r.seq, r.at_ms, r.frame.len(), &r.topic, id);
    }
    out
}

/// Frame, topic, id and the two 8-byte keys' sequence numbers.
fn stored_bytes(frame: usize, topic: usize, id: usize) -> u64 {
    (frame + 2 * topic + 2 * id + 30) as u64
}

/// One event of an order block, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrderEntry {
    pub(crate) seq: u64,
    pub(crate) at_ms: u64,
    pub(crate) frame_len: usize,
    pub(crate) topic: String,
    pub(crate) custom_id: Option<String>,
}

impl OrderEntry {
    /// The entries of an order block; `None` when it is not one (a damaged store).
    pub(crate) fn decode_block(mut value: &[u8]) -> Option<Vec<OrderEntry>> {
        let mut entries = Vec::new();
        while !value.is_empty() {
            let head = value.get(..ENTRY_HEAD)?;
            let topic_len = u16::from_be_bytes(head[20..22].try_into().ok()?) as usize;
            let id_len = u16::from_be_bytes(head[22..24].try_into().ok()?) as usize;
            let topic = value.get(ENTRY_HEAD..ENTRY_HEAD + topic_len)?;
            let id = value.get(ENTRY_HEAD + topic_len..ENTRY_HEAD + topic_len + id_len)?;
            entries.push(OrderEntry {
                seq: be_u64(&head[..8])?,
                at_ms: be_u64(&head[8..16])?,
                frame_len: u32::from_be_bytes(head[16..20].try_into().ok()?) as usize,
                topic: std::str::from_utf8(topic).ok()?.to_owned(),
                custom_id: (id_len > 0)
                    .then(|| std::str::from_utf8(id).map(str::to_owned))
                    .transpose()
                    .ok()?,
            });
            value = &value[ENTRY_HEAD + topic_len + id_len..];
        }
        Some(entries)
    }

    /// The order block of `entries` (what remains of a block after trimming).
    pub(crate) fn encode_block(entries: &[OrderEntry]) -> Vec<u8> {
        let mut out = Vec::new();
        for e in entries {
            let id = e.custom_id.as_deref().unwrap_or("");
            push_entry(&mut out, e.seq, e.at_ms, e.frame_len, &e.topic, id);
        }
        out
    }

    /// The bytes this event counted against `disk_history_bytes`.
    pub(crate) fn stored_bytes(&self) -> u64 {
        stored_bytes(
            self.frame_len,
            self.topic.len(),
            self.custom_id.as_deref().map_or(0, str::len),
        )
    }
}

/// The first byte of each table's keys.
mod tag {
    pub(super) const EVENT: u8 = b'e';
    pub(super) const ORDER: u8 = b'o';
    pub(super) const ID: u8 = b'i';
    pub(super) const META: u8 = b'm';
    pub(super) const GAP: u8 = b'g';
}

/// A tag and a sequence number.
fn seq_key(tag: u8, seq: u64) -> [u8; 9] {
    let mut key = [tag; 9];
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// The key of the event `seq` of `topic`.
pub(crate) fn event_key(topic: &str, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(topic.len() + 10);
    key.push(tag::EVENT);
    key.extend_from_slice(topic.as_bytes());
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The key of the order entry of `seq`.
pub(crate) fn order_key(seq: u64) -> [u8; 9] {
    seq_key(tag::ORDER, seq)
}

/// The key of a record of the store about itself.
pub(crate) fn meta_key(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 1);
    key.push(tag::META);
    key.extend_from_slice(name.as_bytes());
    key
}

/// The key of the crash gap ending at `end`.
pub(crate) fn gap_key(end: u64) -> [u8; 9] {
    seq_key(tag::GAP, end)
}

/// The sequence number at the end of an `events` key.
pub(crate) fn event_key_seq(key: &[u8]) -> Option<u64> {
    let at = key.len().checked_sub(8)?;
    Some(u64::from_be_bytes(key[at..].try_into().ok()?))
}

/// The key of event `seq` of `topic`, whose publisher gave it the id `id`.
pub(crate) fn id_key(topic: &str, id: &str, seq: u64) -> Vec<u8> {
    let mut key = id_prefix(topic, id);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The start of the keys of every kept event of `topic` with the id `id`,
/// oldest first. Ids hold no NUL, so the separator after the id keeps ids that
/// start alike apart.
pub(crate) fn id_prefix(topic: &str, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(topic.len() + id.len() + 11);
    key.push(tag::ID);
    key.extend_from_slice(topic.as_bytes());
    key.push(0);
    key.extend_from_slice(id.as_bytes());
    key.push(0);
    key
}

/// A big-endian u64 value or key.
pub(crate) fn be_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_blocks_round_trip_and_reject_garbage() {
        let record = |seq: u64, id: Option<&str>| Record {
            seq,
            topic: "chat/1".into(),
            custom_id: id.map(Into::into),
            frame: Bytes::from_static(b"id: order-9\ndata: x\n\n"),
            at_ms: 1_700_000_000_123 + seq,
        };
        let records = [record(7, Some("order-9")), record(8, None)];
        let block = order_block(&records);
        let entries = OrderEntry::decode_block(&block).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!((entries[0].seq, entries[1].seq), (7, 8));
        assert_eq!(entries[0].at_ms, records[0].at_ms);
        assert_eq!(entries[0].topic, "chat/1");
        assert_eq!(entries[0].custom_id.as_deref(), Some("order-9"));
        assert_eq!(entries[1].custom_id, None);
        assert_eq!(entries[0].stored_bytes(), records[0].stored_bytes());
        assert_eq!(OrderEntry::encode_block(&entries), block);
        assert_eq!(
            OrderEntry::decode_block(&OrderEntry::encode_block(&entries[1..])).unwrap(),
            entries[1..]
        );
        assert_eq!(OrderEntry::decode_block(b""), Some(Vec::new()));
        assert_eq!(OrderEntry::decode_block(b"short"), None);
        let mut bad_len = block.clone();
        bad_len[20] = 0xff;
        assert_eq!(OrderEntry::decode_block(&bad_len), None);
        assert_eq!(OrderEntry::decode_block(&block[..block.len() - 1]), None);
    }

    #[test]
    fn event_keys_sort_by_topic_then_seq() {
        assert!(event_key("a", u64::MAX) < event_key("a/b", 0));
        assert!(event_key("a", 9) < event_key("a", 10));
        assert_eq!(event_key_seq(&event_key("t", 42)), Some(42));
    }

    #[test]
    fn id_keys_keep_ids_that_start_alike_apart() {
        let prefix = id_prefix("t", "order-1");
        assert!(id_key("t", "order-1", 5).starts_with(&prefix));
        assert!(!id_key("t", "order-12", 5).starts_with(&prefix));
        assert!(id_key("t", "order-1", 5) < id_key("t", "order-1", 6));
        assert_eq!(event_key_seq(&id_key("t", "order-1", 9)), Some(9));
    }

    #[test]
    fn tables_do_not_overlap() {
        assert!(
            order_key(255) < order_key(256),
            "big-endian: ordered by seq"
        );
        let tags = [
            event_key("t", 1)[0],
            order_key(1)[0],
            id_key("t", "x", 1)[0],
            meta_key("lease")[0],
            gap_key(1)[0],
        ];
        let mut unique = tags.to_vec();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), tags.len(), "one tag per table");
    }
}
