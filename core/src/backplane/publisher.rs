//! Publishing through Redis: one script call per event, on a multiplexed
//! connection shared by every publisher of the node.

use std::sync::Arc;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError};

use super::keys::Keys;
use super::script::{INCARNATION_ERROR, PUBLISH};
use super::state::{AtomicCounters, Shared};
use super::{unavailable, Options};
use crate::error::Result;

/// An event Redis took: its sequence number and the id clients see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Published {
    /// The cluster-wide sequence number.
    pub(crate) seq: u64,
    /// The event's id: the publisher's own, or `<incarnation>-<seq>`.
    pub(crate) id: String,
}

/// Sends publishes (and history reads) to Redis.
pub(super) struct Publisher {
    conn: ConnectionManager,
    keys: Keys,
    shared: Arc<Shared>,
    max_len: usize,
    ttl_ms: u64,
}

impl Publisher {
    /// A publisher that connects on first use and reconnects by itself. A call
    /// while Redis is unreachable fails within the connect timeout.
    pub(super) fn new(
        client: Client,
        keys: Keys,
        shared: Arc<Shared>,
        options: &Options,
    ) -> Result<Self> {
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.response_timeout));
        let conn =
            ConnectionManager::new_lazy_with_config(client, config).map_err(|e| unavailable(&e))?;
        Ok(Publisher {
            conn,
            keys,
            shared,
            max_len: options.history_size,
            ttl_ms: options.history_ttl_ms,
        })
    }

    /// A connection for a request of its own (cheap: it is multiplexed).
    pub(super) fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Publishes `body` (the frame after its `id:` line) to `topic`.
    pub(super) async fn publish(
        &self,
        topic: &str,
        body: &[u8],
        custom_id: Option<&str>,
    ) -> Result<Published> {
        let counters = &self.shared.counters;
        let Some(incarnation) = self.shared.incarnation() else {
            AtomicCounters::add(&counters.publish_failures, 1);
            return Err(super::unavailable_because(
                "the backplane has not reached Redis yet",
            ));
        };
        let mut invocation = PUBLISH.prepare_invoke();
        invocation
            .key(self.keys.meta())
            .key(self.keys.stream(topic))
            .key(self.keys.last(topic))
            .arg(&*incarnation)
            .arg(self.keys.channel(topic))
            .arg(body)
            .arg(custom_id.unwrap_or(""))
            .arg(self.max_len)
            .arg(self.ttl_ms)
            .arg(self.shared.seen());
        let mut conn = self.conn.clone();
        let mut result: std::result::Result<u64, RedisError> =
            invocation.invoke_async(&mut conn).await;
        if result
            .as_ref()
            .is_err_and(RedisError::is_connection_refusal)
        {
            // The connection manager answers with the failure of its last
            // attempt while starting a new one (Redis may be back): the script
            // was not sent, so one more try cannot publish twice.
            result = invocation.invoke_async(&mut conn).await;
        }
        match result {
            Ok(seq) => {
                AtomicCounters::add(&counters.published, 1);
                self.shared.note_seen(seq);
                let id = match custom_id {
                    Some(id) => id.to_owned(),
                    None => format!("{incarnation}-{seq}"),
                };
                Ok(Published { seq, id })
            }
            Err(e) => {
                AtomicCounters::add(&counters.publish_failures, 1);
                if e.code() == Some(INCARNATION_ERROR) {
                    // Redis lost its data or a node replaced the incarnation:
                    // the feed reads the new one, later publishes use it.
                    self.shared.recheck();
                    return Err(super::unavailable_because(
                        "the backplane's history was reset; retry once the node has caught up",
                    ));
                }
                Err(unavailable(&e))
            }
        }
    }
}
