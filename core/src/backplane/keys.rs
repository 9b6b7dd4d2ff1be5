//! The names the backplane uses in Redis.
//!
//! - `ssecast:meta`: a hash with the cluster's id incarnation (`inc`) and its
//!   sequence counter (`seq`). One key, so both vanish together if Redis loses
//!   its data, and a new incarnation then keeps ids from repeating.
//! - `ssecast:s:<topic>`: the topic's history, a Redis Stream whose entry ids
//!   are `<seq>-0`, with the fields `p` (the topic's previous seq, 0 for none),
//!   `f` (the frame as sent to clients, `id:` line included) and `c` (the
//!   publisher's own id, only when it gave one).
//! - `ssecast:l:<topic>`: the topic's newest seq, so that a publish can announce
//!   the previous one in the same step.
//! - `ssecast:<db>:<topic>`: the topic's pub/sub channel. Pub/sub ignores the
//!   database number, so the channel carries it: clusters on different
//!   databases of one server stay apart.

/// Key and channel names for one database.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    channel_prefix: String,
}

const META: &str = "ssecast:meta";
const STREAM_PREFIX: &str = "ssecast:s:";
const LAST_PREFIX: &str = "ssecast:l:";

impl Keys {
    /// The names used on database `db`.
    pub(super) fn new(db: i64) -> Self {
        Keys {
            channel_prefix: format!("ssecast:{db}:"),
        }
    }

    /// The cluster's incarnation and counter.
    pub(super) fn meta(&self) -> &'static str {
        META
    }

    /// The topic's history stream.
    pub(super) fn stream(&self, topic: &str) -> String {
        [STREAM_PREFIX, topic].concat()
    }

    /// The topic's newest sequence number.
    pub(super) fn last(&self, topic: &str) -> String {
        [LAST_PREFIX, topic].concat()
    }

    /// The topic's pub/sub channel.
    pub(super) fn channel(&self, topic: &str) -> String {
        [self.channel_prefix.as_str(), topic].concat()
    }

    /// The topic a channel of this database announces, if it is one.
    pub(super) fn topic_of<'a>(&self, channel: &'a [u8]) -> Option<&'a str> {
        let topic = channel.strip_prefix(self.channel_prefix.as_bytes())?;
        std::str::from_utf8(topic).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_carry_the_database_and_round_trip() {
        let keys = Keys::new(3);
        let channel = keys.channel("chat:1/ü");
        assert_eq!(channel, "ssecast:3:chat:1/ü");
        assert_eq!(keys.topic_of(channel.as_bytes()), Some("chat:1/ü"));
        assert_eq!(Keys::new(4).topic_of(channel.as_bytes()), None);
        assert_eq!(keys.topic_of(b"ssecast:3:\xff"), None);
        assert_eq!(keys.stream("t"), "ssecast:s:t");
        assert_eq!(keys.last("t"), "ssecast:l:t");
    }
}
