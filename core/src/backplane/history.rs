//! Reads of a topic's history in Redis, for clients that resume from before
//! what the node's ring holds (a client that moved from another node, or one
//! that was away longer than the ring remembers).

use bytes::Bytes;
use redis::aio::ConnectionManager;
use redis::Value;

use super::announcement::{parse_seq, Received};
use super::keys::Keys;
use super::unavailable;
use crate::error::Result;
use crate::report::ResetReason;

/// Frames read back from Redis.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Replay {
    /// `(seq, frame)` in publish order.
    pub(crate) frames: Vec<(u64, Bytes)>,
    /// True when frames up to `upto` may remain unread: read again after the
    /// last seq returned.
    pub(crate) more: bool,
    /// True when an event of one of the topics after `after` is no longer in
    /// Redis (trimmed): the frames cannot be replayed exactly.
    pub(crate) gap: bool,
}

/// The cluster's counter (0 before the first publish).
pub(super) async fn counter(conn: &mut ConnectionManager, keys: &Keys) -> Result<u64> {
    let reply: Option<String> = redis::cmd("HGET")
        .arg(keys.meta())
        .arg("seq")
        .query_async(conn)
        .await
        .map_err(|e| unavailable(&e))?;
    Ok(reply.as_deref().and_then(parse_seq).unwrap_or(0))
}

/// Whether a client whose last event is `seq` can be replayed exactly from the
/// streams of `topics`: `seq` was handed out by the cluster, and no event of
/// these topics after it was trimmed. `None` when it can.
pub(super) async fn resume_after(
    conn: &mut ConnectionManager,
    keys: &Keys,
    topics: &[&str],
    seq: u64,
) -> Result<Option<ResetReason>> {
    let mut pipe = redis::pipe();
    pipe.hget(keys.meta(), "seq");
    for topic in topics {
        pipe.cmd("XRANGE")
            .arg(keys.stream(topic))
            .arg(format!("({seq}-0"))
            .arg("+")
            .arg("COUNT")
            .arg(1);
    }
    let mut replies: Vec<Value> = pipe.query_async(conn).await.map_err(|e| unavailable(&e))?;
    let counter = match replies.first() {
        Some(Value::BulkString(text)) => std::str::from_utf8(text).ok().and_then(parse_seq),
        _ => None,
    }
    .unwrap_or(0);
    if seq > counter {
        return Ok(Some(ResetReason::UnknownId));
    }
    for reply in replies.drain(1..) {
        let first = entries(reply).next();
        // The first kept event after `seq` must follow `seq` directly in its
        // topic: an event of the topic after `seq` and before it was trimmed.
        if first.is_some_and(|e| e.prev > seq) {
            return Ok(Some(ResetReason::HistoryGap));
        }
    }
    Ok(None)
}

/// The frames of `topics` with `after < seq <= upto`, in seq order, at most
/// `max_frames` of them.
pub(super) async fn read_after(
    conn: &mut ConnectionManager,
    keys: &Keys,
    topics: &[&str],
    after: u64,
    upto: u64,
    max_frames: usize,
) -> Result<Replay> {
    if topics.is_empty() || max_frames == 0 || after >= upto {
        return Ok(Replay::default());
    }
    let mut pipe = redis::pipe();
    for topic in topics {
        pipe.cmd("XRANGE")
            .arg(keys.stream(topic))
            .arg(format!("({after}-0"))
            .arg(format!("{upto}-0"))
            .arg("COUNT")
            .arg(max_frames);
    }
    let replies: Vec<Value> = pipe.query_async(conn).await.map_err(|e| unavailable(&e))?;
    let (mut more, mut gap) = (false, false);
    let mut frames = Vec::new();
    for reply in replies {
        let start = frames.len();
        for (i, event) in entries(reply).enumerate() {
            // The first event read must follow `after` directly in its topic.
            gap |= i == 0 && event.prev > after;
            frames.push((event.seq, event.frame));
        }
        // A full page may have left events of this topic unread.
        more |= frames.len() - start == max_frames;
    }
    frames.sort_unstable_by_key(|&(seq, _)| seq);
    more |= frames.len() > max_frames;
    frames.truncate(max_frames);
    Ok(Replay { frames, more, gap })
}

/// The seq of the newest kept event of `topics` whose publisher-given id is `id`.
pub(super) async fn find_custom_id(
    conn: &mut ConnectionManager,
    keys: &Keys,
    topics: &[&str],
    id: &str,
) -> Result<Option<u64>> {
    let mut pipe = redis::pipe();
    for topic in topics {
        pipe.cmd("XREVRANGE")
            .arg(keys.stream(topic))
            .arg("+")
            .arg("-");
    }
    let replies: Vec<Value> = pipe.query_async(conn).await.map_err(|e| unavailable(&e))?;
    Ok(replies
        .into_iter()
        .filter_map(|reply| {
            entries(reply)
                .find(|e| e.custom_id.as_deref() == Some(id))
                .map(|e| e.seq)
        })
        .max())
}

/// The entries of an `XRANGE`/`XREVRANGE` reply; malformed ones are skipped.
pub(super) fn entries(reply: Value) -> impl Iterator<Item = Received> {
    let list = match reply {
        Value::Array(list) => list,
        _ => Vec::new(),
    };
    list.into_iter().filter_map(|entry| {
        let parsed = Received::from_entry(entry);
        if parsed.is_none() {
            // Only this module's script writes these streams; a gap it leaves
            // is reported where the chain of `prev` seqs breaks.
            tracing::warn!("backplane: ignoring a malformed stream entry");
        }
        parsed
    })
}
