//! A topic's log: the bounded ring of encoded events that is both the history
//! used for replay and the queue every subscriber reads with its own cursor.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// The bounds of a log: count, bytes and age.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    pub(crate) max_events: usize,
    pub(crate) max_bytes: usize,
    pub(crate) max_age: Option<Duration>,
}

/// One encoded event in the log.
#[derive(Debug)]
struct Entry {
    /// The engine-wide sequence number; increases along the log.
    seq: u64,
    /// The publisher's id, when it chose one (engine ids are derived from `seq`).
    custom_id: Option<Box<str>>,
    frame: Bytes,
    at: Instant,
}

/// How much one read may take: frames and bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub(crate) frames: usize,
    pub(crate) bytes: usize,
}

impl Budget {
    /// No limit.
    #[cfg(test)]
    pub(crate) const UNLIMITED: Budget = Budget {
        frames: usize::MAX,
        bytes: usize::MAX,
    };
}

/// A subscriber's cursor is behind the tail: events after it were dropped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Lagged;

/// The ring of a topic's recent events.
#[derive(Debug)]
pub(crate) struct Log {
    entries: VecDeque<Entry>,
    bytes: usize,
    /// The log holds no event with this sequence number or a lower one: the
    /// highest dropped, or (with a durable history) the newest published when
    /// the log was made, since older events of its topic live only on disk.
    dropped_through: u64,
    bounds: Bounds,
}

/// The floor of a log that does not know yet where its topic's events start
/// (see [`Log::forget_coverage`]): it covers no position.
pub(crate) const UNKNOWN_START: u64 = u64::MAX;

impl Log {
    /// An empty log with these bounds that holds only events after `floor`
    /// (0: every event of its topic is still to come).
    pub(crate) fn new(bounds: Bounds, floor: u64) -> Self {
        Log {
            entries: VecDeque::new(),
            bytes: 0,
            dropped_through: floor,
            bounds,
        }
    }

    /// Appends an event (its `seq` larger than any before) and drops what the
    /// bounds no longer allow. The oldest event dropped is handed back, so the
    /// caller can free it after releasing its locks.
    #[must_use = "the evicted frame is meant to be dropped outside the caller's locks"]
    pub(crate) fn append(
        &mut self,
        seq: u64,
        custom_id: Option<Box<str>>,
        frame: Bytes,
        now: Instant,
    ) -> Option<Bytes> {
        debug_assert!(self.entries.back().is_none_or(|last| last.seq < seq));
        self.bytes += frame.len();
        self.entries.push_back(Entry {
            seq,
            custom_id,
            frame,
            at: now,
        });
        let mut evicted = None;
        while self.entries.len() > self.bounds.max_events
            || (self.bytes > self.bounds.max_bytes && self.entries.len() > 1)
        {
            // Rarely more than one: the others are freed here.
            evicted = self.drop_oldest().or(evicted);
        }
        self.expire(now);
        evicted
    }

    /// Drops the events older than the age bound.
    pub(crate) fn expire(&mut self, now: Instant) {
        let Some(max_age) = self.bounds.max_age else {
            return;
        };
        while self
            .entries
            .front()
            .is_some_and(|e| now.saturating_duration_since(e.at) > max_age)
        {
            self.drop_oldest();
        }
    }

    /// Drops the oldest event and returns its frame.
    fn drop_oldest(&mut self) -> Option<Bytes> {
        let old = self.entries.pop_front()?;
        self.bytes -= old.frame.len();
        self.dropped_through = self.dropped_through.max(old.seq);
        Some(old.frame)
    }

    /// With a backplane: the log no longer knows which events of its topic it
    /// lacks (its node stopped receiving them), so it covers no position until
    /// [`Log::starts_after`] says where it starts again.
    pub(crate) fn forget_coverage(&mut self) {
        self.dropped_through = UNKNOWN_START;
    }

    /// With a backplane: the log lacks no event of its topic after `seq` from
    /// now on (the node receives them), but may lack any up to it.
    pub(crate) fn starts_after(&mut self, seq: u64) {
        self.dropped_through = match self.dropped_through {
            UNKNOWN_START => seq,
            known => known.max(seq),
        };
    }

    /// True when no event is kept.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True when an event published after `after` has been dropped (or was
    /// published before the log's floor), so a subscriber positioned at `after`
    /// cannot get every event that followed it from this log.
    pub(crate) fn has_gap_after(&self, after: u64) -> bool {
        self.dropped_through > after
    }

    /// Hands `out` the frames with `after < seq <= upto`, with their sequence
    /// numbers, stopping once `budget` is spent (at least one frame is read).
    /// Returns true when it stopped early, leaving frames up to `upto` unread.
    pub(crate) fn read(
        &self,
        after: u64,
        upto: u64,
        budget: Budget,
        mut out: impl FnMut(u64, Bytes),
    ) -> Result<bool, Lagged> {
        if self.has_gap_after(after) {
            return Err(Lagged);
        }
        let start = self.entries.partition_point(|e| e.seq <= after);
        let (mut frames, mut bytes) = (0, 0);
        for entry in self.entries.range(start..) {
            if entry.seq > upto {
                return Ok(false);
            }
            if frames == budget.frames || (frames > 0 && bytes + entry.frame.len() > budget.bytes) {
                return Ok(true);
            }
            frames += 1;
            bytes += entry.frame.len();
            out(entry.seq, entry.frame.clone());
        }
        Ok(false)
    }

    /// The sequence number of the oldest kept event whose publisher gave it
    /// the id `id`.
    pub(crate) fn oldest_with_id(&self, id: &str) -> Option<u64> {
        self.entries
            .iter()
            .find(|e| e.custom_id.as_deref() == Some(id))
            .map(|e| e.seq)
    }

    /// When the kept event `seq` was published.
    pub(crate) fn published_at(&self, seq: u64) -> Option<Instant> {
        let at = self.entries.partition_point(|e| e.seq < seq);
        self.entries
            .get(at)
            .filter(|entry| entry.seq == seq)
            .map(|entry| entry.at)
    }

    /// The number of kept events.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(max_events: usize, max_bytes: usize) -> Log {
        let bounds = Bounds {
            max_events,
            max_bytes,
            max_age: Some(Duration::from_secs(10)),
        };
        Log::new(bounds, 0)
    }

    fn seqs(log: &Log, after: u64) -> Result<Vec<u64>, Lagged> {
        let mut out = Vec::new();
        log.read(after, u64::MAX, Budget::UNLIMITED, |seq, _| out.push(seq))?;
        Ok(out)
    }

    #[test]
    fn bounded_by_count_and_reports_gaps() {
        let now = Instant::now();
        let mut log = log(3, 1 << 20);
        for seq in 1..=5 {
            let _ = log.append(seq, None, Bytes::from_static(b"x"), now);
        }
        assert_eq!(log.len(), 3);
        assert_eq!(seqs(&log, 2), Ok(vec![3, 4, 5]));
        assert_eq!(seqs(&log, 4), Ok(vec![5]));
        assert_eq!(seqs(&log, 1), Err(Lagged));
        assert!(!log.has_gap_after(2));
    }

    #[test]
    fn bounded_by_bytes_and_age() {
        let now = Instant::now();
        let mut log = log(100, 10);
        for seq in 1..=4 {
            let _ = log.append(seq, None, Bytes::from_static(b"abcd"), now);
        }
        assert_eq!(log.len(), 2);
        log.expire(now + Duration::from_secs(11));
        assert!(log.is_empty());
        assert!(log.has_gap_after(3));
    }

    #[test]
    fn a_floor_is_a_gap_before_the_first_event() {
        let mut log = Log::new(log(10, 1 << 20).bounds, 7);
        assert!(log.has_gap_after(6));
        assert!(!log.has_gap_after(7));
        let _ = log.append(9, None, Bytes::from_static(b"x"), Instant::now());
        assert_eq!(seqs(&log, 6), Err(Lagged));
        assert_eq!(seqs(&log, 7), Ok(vec![9]));
    }

    #[test]
    fn with_a_backplane_coverage_is_unknown_until_the_feed_says_where_it_starts() {
        let mut log = Log::new(log(2, 1 << 20).bounds, UNKNOWN_START);
        assert!(log.has_gap_after(0) && log.has_gap_after(1_000_000));
        log.starts_after(7);
        assert!(log.has_gap_after(6) && !log.has_gap_after(7));
        for seq in 8..=10 {
            let _ = log.append(seq, None, Bytes::from_static(b"x"), Instant::now());
        }
        // Evicting 8 raises the start; a later, older report never lowers it.
        assert!(log.has_gap_after(7) && !log.has_gap_after(8));
        log.starts_after(3);
        assert!(log.has_gap_after(7));
        // The node stops receiving the topic: no position is covered any more,
        // and evictions meanwhile do not make one covered again.
        log.forget_coverage();
        let _ = log.append(11, None, Bytes::from_static(b"x"), Instant::now());
        assert!(log.has_gap_after(10) && log.has_gap_after(11));
        log.starts_after(20);
        assert!(log.has_gap_after(19) && !log.has_gap_after(20));
    }

    #[test]
    fn finds_the_oldest_event_with_an_id() {
        let now = Instant::now();
        let mut log = log(10, 1 << 20);
        let _ = log.append(3, None, Bytes::new(), now);
        let _ = log.append(7, Some("order-9".into()), Bytes::new(), now);
        let _ = log.append(8, Some("order-9".into()), Bytes::new(), now);
        assert_eq!(log.oldest_with_id("order-9"), Some(7), "the oldest of two");
        assert_eq!(log.oldest_with_id("order-1"), None);
        assert_eq!(log.published_at(7), Some(now));
        assert_eq!(log.published_at(5), None);
    }

    #[test]
    fn read_respects_upto_and_limit() {
        let now = Instant::now();
        let mut log = log(10, 1 << 20);
        for seq in 1..=6 {
            let _ = log.append(seq, None, Bytes::from_static(b"x"), now);
        }
        let mut out = Vec::new();
        let budget = Budget {
            frames: 2,
            bytes: usize::MAX,
        };
        assert_eq!(log.read(1, 4, budget, |seq, _| out.push(seq)), Ok(true));
        assert_eq!(out, vec![2, 3]);
        out.clear();
        assert_eq!(log.read(3, 4, budget, |seq, _| out.push(seq)), Ok(false));
        assert_eq!(out.len(), 1);
        out.clear();
        let tight = Budget {
            frames: 10,
            bytes: 0,
        };
        assert_eq!(log.read(0, 6, tight, |seq, _| out.push(seq)), Ok(true));
        assert_eq!(out.len(), 1, "at least one frame is read");
    }
}
