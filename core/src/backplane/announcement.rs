//! Events as they come back from Redis: announcements on pub/sub and entries of
//! a topic's stream, both turned into a [`Received`].
//!
//! An announcement is `<seq> <prev>\n<publisher's id>\n<frame>`: the id line is
//! empty for an engine id, and the frame is the exact bytes sent to clients,
//! `id:` line included, so a node serves it without re-encoding.

use bytes::Bytes;
use redis::Value;

/// One event of a topic, with what a node needs to check that none is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Received {
    /// The cluster-wide sequence number.
    pub(crate) seq: u64,
    /// The sequence number of the topic's previous event (0: none that Redis
    /// remembers). A node whose last event of the topic is older missed some.
    pub(crate) prev: u64,
    /// The publisher's own id, when it gave one.
    pub(crate) custom_id: Option<Box<str>>,
    /// The encoded event, `id:` line included.
    pub(crate) frame: Bytes,
}

impl Received {
    /// Parses the payload of a pub/sub announcement.
    pub(super) fn from_announcement(payload: Bytes) -> Option<Received> {
        let header_end = memchr::memchr(b'\n', &payload)?;
        let (seq, prev) = std::str::from_utf8(&payload[..header_end])
            .ok()?
            .split_once(' ')?;
        let (seq, prev) = (parse_seq(seq)?, parse_seq(prev)?);
        let id_start = header_end + 1;
        let id_end = id_start + memchr::memchr(b'\n', &payload[id_start..])?;
        let custom_id = match &payload[id_start..id_end] {
            b"" => None,
            id => Some(std::str::from_utf8(id).ok()?.into()),
        };
        let frame = payload.slice(id_end + 1..);
        (seq > prev && !frame.is_empty()).then_some(Received {
            seq,
            prev,
            custom_id,
            frame,
        })
    }

    /// Parses one entry of an `XRANGE` reply: `[id, [field, value, ...]]` (or
    /// the fields as a map, as RESP3 servers may send them).
    pub(super) fn from_entry(entry: Value) -> Option<Received> {
        let Value::Array(mut parts) = entry else {
            return None;
        };
        if parts.len() != 2 {
            return None;
        }
        let fields = parts.pop()?;
        let seq = entry_seq(&parts.pop()?)?;
        let pairs: Vec<(Value, Value)> = match fields {
            Value::Array(flat) => {
                let mut flat = flat.into_iter();
                std::iter::from_fn(|| Some((flat.next()?, flat.next()?))).collect()
            }
            Value::Map(pairs) => pairs,
            _ => return None,
        };
        let (mut prev, mut frame, mut custom_id) = (None, None, None);
        for (name, value) in pairs {
            let Value::BulkString(value) = value else {
                return None;
            };
            match bulk(&name)? {
                b"p" => prev = Some(parse_seq(std::str::from_utf8(&value).ok()?)?),
                b"f" => frame = Some(Bytes::from(value)),
                b"c" => custom_id = Some(String::from_utf8(value).ok()?.into_boxed_str()),
                _ => {}
            }
        }
        let (prev, frame) = (prev?, frame?);
        (seq > prev).then_some(Received {
            seq,
            prev,
            custom_id,
            frame,
        })
    }
}

/// The sequence number of a stream entry id `<seq>-0`.
pub(super) fn entry_seq(id: &Value) -> Option<u64> {
    let id = std::str::from_utf8(bulk(id)?).ok()?;
    parse_seq(id.strip_suffix("-0")?)
}

fn bulk(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.as_bytes()),
        _ => None,
    }
}

/// Decimal digits only (no sign, no spaces), as Redis writes them.
pub(super) fn parse_seq(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk_value(text: &[u8]) -> Value {
        Value::BulkString(text.to_vec())
    }

    #[test]
    fn parses_announcements() {
        let engine =
            Received::from_announcement(Bytes::from_static(b"42 7\n\nid: abc-42\ndata: x\n\n"))
                .unwrap();
        assert_eq!((engine.seq, engine.prev, engine.custom_id), (42, 7, None));
        assert_eq!(&engine.frame[..], b"id: abc-42\ndata: x\n\n");
        let custom =
            Received::from_announcement(Bytes::from_static(b"43 0\nmine\nid: mine\ndata: \n\n"))
                .unwrap();
        assert_eq!(custom.custom_id.as_deref(), Some("mine"));
        assert_eq!(custom.prev, 0);
    }

    #[test]
    fn rejects_malformed_announcements() {
        for bad in [
            &b""[..],
            b"42\n\nid: x\n\n",
            b"42 7",
            b"42 7\n",
            b"42 7\n\n",
            b"x 7\n\nid: x\n\n",
            b"-1 0\n\nid: x\n\n",
            b"+4 0\n\nid: x\n\n",
            b"7 7\n\nid: x\n\n",
            b"99999999999999999999999 0\n\nid: x\n\n",
            b"4 0\n\xff\nid: x\n\n",
        ] {
            assert_eq!(Received::from_announcement(Bytes::from(bad.to_vec())), None);
        }
    }

    #[test]
    fn parses_stream_entries() {
        let entry = Value::Array(vec![
            bulk_value(b"9-0"),
            Value::Array(vec![
                bulk_value(b"p"),
                bulk_value(b"3"),
                bulk_value(b"f"),
                bulk_value(b"id: own\ndata: y\n\n"),
                bulk_value(b"c"),
                bulk_value(b"own"),
            ]),
        ]);
        let got = Received::from_entry(entry).unwrap();
        assert_eq!((got.seq, got.prev), (9, 3));
        assert_eq!(got.custom_id.as_deref(), Some("own"));
        assert_eq!(&got.frame[..], b"id: own\ndata: y\n\n");
        let as_map = Value::Array(vec![
            bulk_value(b"10-0"),
            Value::Map(vec![
                (bulk_value(b"p"), bulk_value(b"9")),
                (bulk_value(b"f"), bulk_value(b"x")),
            ]),
        ]);
        assert_eq!(Received::from_entry(as_map).unwrap().seq, 10);
        let no_frame = Value::Array(vec![
            bulk_value(b"10-0"),
            Value::Array(vec![bulk_value(b"p"), bulk_value(b"9")]),
        ]);
        assert_eq!(Received::from_entry(no_frame), None);
        let odd_id = Value::Array(vec![bulk_value(b"10-1"), Value::Array(vec![])]);
        assert_eq!(Received::from_entry(odd_id), None);
    }
}
