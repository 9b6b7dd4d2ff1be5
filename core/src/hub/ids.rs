//! Engine-assigned event ids: an incarnation (unique to one start of the
//! engine, or to one durable history across restarts) and an engine-wide
//! sequence number, as `<incarnation>-<seq>`.

use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// The longest id the engine assigns, in bytes: a 13-character incarnation, a
/// dash and a 20-digit sequence number. A buffer this long holds any engine id.
pub const MAX_ENGINE_ID_BYTES: usize = MAX_PREFIX_BYTES + 1 + 20;

/// The longest incarnation prefix: a `u64` in base 36.
const MAX_PREFIX_BYTES: usize = 13;

/// The id prefix of one start of the engine (with a durable history, of every
/// start on the same directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Incarnation {
    prefix: String,
}

impl Incarnation {
    /// A prefix unique to this start: the start time in milliseconds and 16
    /// random bits, in base 36.
    pub(crate) fn new() -> Self {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
            & 0xffff;
        Incarnation {
            prefix: base36((millis << 16) | random),
        }
    }

    /// The prefix kept by a durable history, or `None` when `prefix` is not one
    /// [`Incarnation::new`] makes (1 to 13 characters of lower-case base 36).
    pub(crate) fn from_prefix(prefix: &str) -> Option<Self> {
        let valid = (1..=MAX_PREFIX_BYTES).contains(&prefix.len())
            && prefix
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
        valid.then(|| Incarnation {
            prefix: prefix.to_owned(),
        })
    }

    /// The prefix, as a durable history keeps it.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The id of the event with sequence number `seq`.
    pub(crate) fn id(&self, seq: u64) -> String {
        let mut digits = Digits::new();
        let digits = digits.format(seq);
        let mut id = String::with_capacity(self.prefix.len() + 1 + digits.len());
        id.push_str(&self.prefix);
        id.push('-');
        id.push_str(digits);
        id
    }

    /// Writes `id: <id>\n` for `seq` so that it ends exactly at `end` of `buf`,
    /// and returns where it starts. `buf[..end]` must have room for
    /// [`MAX_ID_LINE_BYTES`].
    pub(crate) fn write_id_line(&self, seq: u64, buf: &mut [u8], end: usize) -> usize {
        let mut digits = Digits::new();
        let digits = digits.format(seq).as_bytes();
        let mut at = end;
        for part in [
            b"\n".as_slice(),
            digits,
            b"-",
            self.prefix.as_bytes(),
            b"id: ",
        ] {
            at -= part.len();
            buf[at..at + part.len()].copy_from_slice(part);
        }
        at
    }

    /// The sequence number of `id` when it is an id of this incarnation.
    pub(crate) fn parse(&self, id: &str) -> Option<u64> {
        let (prefix, seq) = id.rsplit_once('-')?;
        if prefix != self.prefix || seq.starts_with('+') {
            return None;
        }
        seq.parse().ok()
    }
}

/// The longest `id: ...\n` line of an engine id.
pub(crate) const MAX_ID_LINE_BYTES: usize = "id: ".len() + MAX_ENGINE_ID_BYTES + 1;

/// Decimal digits of a `u64`, formatted on the stack.
struct Digits([u8; 20]);

impl Digits {
    fn new() -> Self {
        Digits([0; 20])
    }

    fn format(&mut self, mut n: u64) -> &str {
        let mut at = self.0.len();
        loop {
            at -= 1;
            self.0[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        std::str::from_utf8(&self.0[at..]).expect("ASCII digits")
    }
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_format_and_parse() {
        let a = Incarnation::new();
        for seq in [0, 9, 10, 12345, u64::MAX] {
            let id = a.id(seq);
            assert_eq!(id, format!("{}-{seq}", a.prefix));
            assert_eq!(a.parse(&id), Some(seq));
            assert!(id.len() <= MAX_ENGINE_ID_BYTES);
        }
        let max = Incarnation {
            prefix: base36(u64::MAX),
        };
        assert_eq!(max.id(u64::MAX).len(), MAX_ENGINE_ID_BYTES);
        assert_eq!(a.parse("other-1"), None);
        assert_eq!(a.parse(&format!("{}-+1", a.prefix)), None);
        assert_eq!(a.parse(&format!("{}-x", a.prefix)), None);
    }

    #[test]
    fn prefixes_round_trip_and_bad_ones_are_refused() {
        let a = Incarnation::new();
        assert_eq!(Incarnation::from_prefix(a.prefix()), Some(a.clone()));
        let max = base36(u64::MAX);
        assert_eq!(max.len(), MAX_PREFIX_BYTES);
        assert!(Incarnation::from_prefix(&max).is_some());
        for bad in ["", "ABC", "a-b", "a b", "\u{e9}t\u{e9}", "0123456789abcd"] {
            assert_eq!(Incarnation::from_prefix(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn id_line_ends_where_asked() {
        let a = Incarnation::new();
        let mut buf = [b'.'; MAX_ID_LINE_BYTES + 3];
        let end = buf.len() - 1;
        let start = a.write_id_line(42, &mut buf, end);
        assert_eq!(
            std::str::from_utf8(&buf[start..end]).unwrap(),
            format!("id: {}\n", a.id(42))
        );
        assert_eq!(buf[end], b'.');
        let max = Incarnation {
            prefix: base36(u64::MAX),
        };
        let start = max.write_id_line(u64::MAX, &mut buf, MAX_ID_LINE_BYTES);
        assert_eq!(start, 0, "the longest line fills MAX_ID_LINE_BYTES");
    }
}
