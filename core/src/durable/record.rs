//! One stored event and how it is laid out in the store's keyspaces.
//!
//! - `events`: `topic 0x00 seq` (seq as 8 big-endian bytes) → the encoded frame,
//!   so "events of topic T after seq S" is one range scan. Topics hold no
//!   control characters, so the 0x00 separator keeps topics apart.
//! - `order`: `seq` → [`OrderEntry`] (time, frame length, topic, custom id), so
//!   trimming walks the oldest events first, whatever their topic.
//! - `ids`: `topic 0x00 custom id` → seq of the newest event with that id.

use bytes::Bytes;

/// One event as the hub hands it over.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// The engine-wide sequence number.
    pub(crate) seq: u64,
    pub(crate) topic: Box<str>,
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

    /// The `order` value of this record.
    pub(crate) fn order_value(&self) -> Vec<u8> {
        let topic = self.topic.as_bytes();
        let id = self.custom_id.as_deref().unwrap_or("").as_bytes();
        let mut value = Vec::with_capacity(14 + topic.len() + id.len());
        value.extend_from_slice(&self.at_ms.to_be_bytes());
        value.extend_from_slice(&(self.frame.len() as u32).to_be_bytes());
        value.extend_from_slice(&(topic.len() as u16).to_be_bytes());
        value.extend_from_slice(topic);
        value.extend_from_slice(id);
        value
    }
}

/// Frame, topic, id and the two 8-byte keys' sequence numbers.
fn stored_bytes(frame: usize, topic: usize, id: usize) -> u64 {
    (frame + 2 * topic + 2 * id + 30) as u64
}

/// An `order` value read back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OrderEntry {
    pub(crate) at_ms: u64,
    pub(crate) frame_len: usize,
    pub(crate) topic: String,
    pub(crate) custom_id: Option<String>,
}

impl OrderEntry {
    /// Parses an `order` value; `None` when it is not one (a damaged store).
    pub(crate) fn parse(value: &[u8]) -> Option<OrderEntry> {
        let at_ms = u64::from_be_bytes(value.get(..8)?.try_into().ok()?);
        let frame_len = u32::from_be_bytes(value.get(8..12)?.try_into().ok()?) as usize;
        let topic_len = u16::from_be_bytes(value.get(12..14)?.try_into().ok()?) as usize;
        let topic = std::str::from_utf8(value.get(14..14 + topic_len)?).ok()?;
        let id = std::str::from_utf8(value.get(14 + topic_len..)?).ok()?;
        Some(OrderEntry {
            at_ms,
            frame_len,
            topic: topic.to_owned(),
            custom_id: (!id.is_empty()).then(|| id.to_owned()),
        })
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

/// The `events` key of `seq` in `topic`.
pub(crate) fn event_key(topic: &str, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(topic.len() + 9);
    key.extend_from_slice(topic.as_bytes());
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The sequence number at the end of an `events` key.
pub(crate) fn event_key_seq(key: &[u8]) -> Option<u64> {
    let at = key.len().checked_sub(8)?;
    Some(u64::from_be_bytes(key[at..].try_into().ok()?))
}

/// The `ids` key of a custom id in `topic`.
pub(crate) fn id_key(topic: &str, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(topic.len() + 1 + id.len());
    key.extend_from_slice(topic.as_bytes());
    key.push(0);
    key.extend_from_slice(id.as_bytes());
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
    fn order_values_round_trip_and_reject_garbage() {
        let record = Record {
            seq: 7,
            topic: "chat/1".into(),
            custom_id: Some("order-9".into()),
            frame: Bytes::from_static(b"id: order-9\ndata: x\n\n"),
            at_ms: 1_700_000_000_123,
        };
        let entry = OrderEntry::parse(&record.order_value()).unwrap();
        assert_eq!(entry.at_ms, record.at_ms);
        assert_eq!(entry.topic, "chat/1");
        assert_eq!(entry.custom_id.as_deref(), Some("order-9"));
        assert_eq!(entry.stored_bytes(), record.stored_bytes());
        let plain = Record {
            custom_id: None,
            ..record
        };
        assert_eq!(
            OrderEntry::parse(&plain.order_value()).unwrap().custom_id,
            None
        );
        assert_eq!(OrderEntry::parse(b"short"), None);
        let mut bad_len = plain.order_value();
        bad_len[12] = 0xff;
        assert_eq!(OrderEntry::parse(&bad_len), None);
    }

    #[test]
    fn event_keys_sort_by_topic_then_seq() {
        assert!(event_key("a", u64::MAX) < event_key("a/b", 0));
        assert!(event_key("a", 9) < event_key("a", 10));
        assert_eq!(event_key_seq(&event_key("t", 42)), Some(42));
    }
}
