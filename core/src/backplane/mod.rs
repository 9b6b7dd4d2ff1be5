//! The Redis backplane: engines on many processes and machines share one
//! stream of ids and every publish.
//!
//! - A publish goes through Redis in one atomic script ([`script::PUBLISH`]):
//!   the next cluster-wide sequence number, the entry `<seq>-0` in the topic's
//!   Redis Stream (trimmed to `history_size`, expiring with `history_ttl_ms`),
//!   and an announcement on the topic's channel carrying the frame. One round
//!   trip; the caller gets the event's id once Redis has it.
//! - Ids are `<incarnation>-<seq>` with one incarnation for the whole cluster
//!   (created once in Redis), so a client resumes on any node with its
//!   `Last-Event-ID`.
//! - Every node keeps its rings as the cache its streams read. The [`feed`]
//!   (one connection per node) subscribes to the topics the node's clients
//!   hold and hands every announcement to the [`Sink`] (the hub) in seq order,
//!   filling from the streams whatever it missed; see [`feed`] for how each
//!   case stays exact.
//! - History older than a node's ring is read from the streams ([`history`]).
//! - While Redis is unreachable, publishes and history reads fail fast with
//!   [`ErrorKind::Unavailable`]; open streams stay open, and the feed catches
//!   every held topic up once Redis is back.
//!
//! Keys and channels are listed in [`keys`].
//!
//! # How the hub uses it
//!
//! The hub owns a `Backplane` when `backplane` is configured, started inside
//! the engine's runtime with the hub as its [`Sink`] (`hub/cluster.rs`):
//!
//! 1. **Publish**: validate and encode the body as without a backplane, then
//!    `backplane.publish(topic, body, event.id).await` (host threads wait
//!    with [`Backplane::block_on`]) and return [`Published::id`]. The event
//!    reaches the rings through the feed, like every other node's, so there is
//!    one ordered path into them.
//! 2. **Holds**: the registry calls [`Backplane::hold`] when a topic gets its
//!    first holder and [`Backplane::release`] when the last one goes.
//! 3. **Subscribe**: a position the rings cover is served from them; else the
//!    id is checked with [`Backplane::resume_after`] (a publisher-given id
//!    found with [`Backplane::find_custom_id`]), a live stream starts after
//!    [`Backplane::counter`], and the stream reads [`Backplane::read_after`]
//!    until its rings cover its position. An [`ErrorKind::Unavailable`] error
//!    answers `503`.
//! 4. **Sink**: [`Sink::append`] appends to the topic's log without moving the
//!    `published` watermark; [`Sink::advance`] moves it;
//!    [`Sink::history_starts_after`] tells the log where it starts covering.
//! 5. **Stats**: [`Backplane::state`] for stats (and readiness).

mod announcement;
#[cfg(test)]
mod faults;
mod feed;
mod history;
mod keys;
mod publisher;
mod script;
mod state;
#[cfg(test)]
pub(crate) mod test_redis;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::{Client, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, ProtocolVersion};
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::{Error, ErrorKind, Result};
use crate::report::ResetReason;

pub(crate) use announcement::Received;
pub(crate) use history::Replay;
pub(crate) use publisher::Published;
pub(crate) use state::{BackplaneState, Counters};

use feed::Feed;
use keys::Keys;
use publisher::Publisher;
use state::Shared;

/// The longest incarnation accepted from Redis: the length of the ones the
/// hub makes (`hub/ids.rs`), so engine ids stay within `MAX_ENGINE_ID_BYTES`.
pub(crate) const MAX_INCARNATION_BYTES: usize = 13;

/// Where the feed delivers what it receives: the hub's topic logs. Called from
/// the feed task only, one call at a time; each call must be quick (no I/O).
pub(crate) trait Sink: Send + Sync + 'static {
    /// An event of `topic`. Per topic, seqs only increase.
    fn append(&self, topic: &str, event: Received);
    /// Every event of every held topic with a seq up to `seq` has been
    /// appended (or lies before its topic's history start): streams may read
    /// up to it. Only increases, except after [`Sink::reset`].
    fn advance(&self, seq: u64);
    /// The ring of `topic` lacks every event up to `seq` that it does not
    /// hold already: they are only in Redis (a topic newly held) or gone (they
    /// were trimmed before this node could read them). A stream positioned
    /// before `seq` cannot go on from the ring.
    fn history_starts_after(&self, topic: &str, seq: u64);
    /// Redis lost the cluster's history: ids before now are void, new ones use
    /// `incarnation`, and seqs start again from where Redis counts.
    fn reset(&self, incarnation: &str);
}

/// How a node joins the backplane.
pub(crate) struct Options {
    /// `redis://host:port/db`.
    pub(crate) url: String,
    /// Events kept per topic stream (approximately: trimmed with `MAXLEN ~`).
    pub(crate) history_size: usize,
    /// A topic's stream expires this long after its last publish (0: never).
    pub(crate) history_ttl_ms: u64,
    /// Makes a new incarnation when Redis has none.
    pub(crate) new_incarnation: Box<dyn Fn() -> String + Send + Sync>,
    /// Names the node's connections in `CLIENT LIST` (`ssecast-feed:<name>`).
    pub(crate) node_name: String,
    /// Channels (un)subscribed per pipeline.
    pub(crate) batch: usize,
    /// Stream entries read per `XRANGE` when catching up.
    pub(crate) page: usize,
    /// How long a connection attempt may take.
    pub(crate) connect_timeout: Duration,
    /// How long a publish or a history read may wait for its reply.
    pub(crate) response_timeout: Duration,
    /// How long a reply on the feed's connection may take (a sync reads many
    /// topics in one pipeline).
    pub(crate) feed_timeout: Duration,
}

impl Options {
    /// Options with the default batch, page and timeouts.
    pub(crate) fn new(
        url: &str,
        history_size: usize,
        history_ttl_ms: u64,
        new_incarnation: impl Fn() -> String + Send + Sync + 'static,
    ) -> Self {
        Options {
            url: url.to_owned(),
            history_size,
            history_ttl_ms,
            new_incarnation: Box::new(new_incarnation),
            node_name: std::process::id().to_string(),
            batch: 500,
            page: 200,
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(2),
            feed_timeout: Duration::from_secs(10),
        }
    }
}

/// Checks a `backplane` value: a `redis://host:port/db` URL (or a Unix socket,
/// `redis+unix:///path?db=N`). The message never repeats the URL, which may
/// hold a password.
pub(crate) fn check_url(url: &str) -> std::result::Result<(), String> {
    connection_info(url).map(drop)
}

fn connection_info(url: &str) -> std::result::Result<ConnectionInfo, String> {
    let expected = "expected a Redis URL such as redis://127.0.0.1:6379/0";
    if !(url.starts_with("redis://") || url.starts_with("redis+unix://")) {
        return Err(expected.to_owned());
    }
    let info = url
        .into_connection_info()
        .map_err(|e| format!("{expected} ({})", e.detail().unwrap_or("it does not parse")))?;
    match info.addr() {
        ConnectionAddr::Tcp(..) | ConnectionAddr::Unix(..) => Ok(info),
        _ => Err("TLS connections are not supported".to_owned()),
    }
}

/// The error of a failed Redis request.
fn unavailable(error: &redis::RedisError) -> Error {
    unavailable_because(&format!("the backplane (Redis) cannot be reached: {error}"))
}

fn unavailable_because(message: &str) -> Error {
    Error::new(ErrorKind::Unavailable, message)
}

/// A node's link to the backplane: the publisher, the feed task, and the
/// history reads.
pub(crate) struct Backplane {
    shared: Arc<Shared>,
    publisher: Publisher,
    keys: Keys,
    stop: watch::Sender<bool>,
    feed: Mutex<Option<JoinHandle<()>>>,
    /// The engine's runtime, which drives the connections.
    runtime: Handle,
}

impl Backplane {
    /// Starts the feed task, which connects (and reconnects) by itself and
    /// delivers to `sink`. Call inside the engine's runtime. Fails only for a
    /// bad URL: an unreachable Redis is a state ([`BackplaneState::Down`]),
    /// not an error.
    pub(crate) fn start(options: Options, sink: Arc<dyn Sink>) -> Result<Backplane> {
        let info = connection_info(&options.url)
            .map_err(|e| Error::new(ErrorKind::InvalidConfig, format!("backplane: {e}")))?;
        let keys = Keys::new(info.redis_settings().db());
        let resp3 = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let feed_client = Client::open(info.clone().set_redis_settings(resp3));
        let publish_client = Client::open(info);
        let (Ok(feed_client), Ok(publish_client)) = (feed_client, publish_client) else {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "backplane: the URL cannot be used",
            ));
        };
        let (shared, commands) = Shared::new();
        let options = Arc::new(options);
        let publisher = Publisher::new(publish_client, keys.clone(), shared.clone(), &options)?;
        let (stop, stop_rx) = watch::channel(false);
        let feed = Feed::new(
            feed_client,
            keys.clone(),
            sink,
            shared.clone(),
            commands,
            options,
        );
        let feed = tokio::spawn(feed.run(stop_rx));
        Ok(Backplane {
            shared,
            publisher,
            keys,
            stop,
            feed: Mutex::new(Some(feed)),
            runtime: Handle::current(),
        })
    }

    /// Publishes `body` (the encoded event after its `id:` line) to `topic`,
    /// with the publisher's own id if any. Returns once Redis has the event;
    /// it reaches the rings through the feed.
    pub(crate) async fn publish(
        &self,
        topic: &str,
        body: &[u8],
        custom_id: Option<&str>,
    ) -> Result<Published> {
        self.publisher.publish(topic, body, custom_id).await
    }

    /// The node holds `topic` from now on (its first holder came). Never
    /// blocks; [`Backplane::synced`] tells when its events flow.
    pub(crate) fn hold(&self, topic: &str) {
        self.shared.hold(topic);
    }

    /// The node no longer holds `topic` (its last holder went).
    pub(crate) fn release(&self, topic: &str) {
        self.shared.release(topic);
    }

    /// Resolves once the backplane is connected and every topic of `topics`
    /// (held) is in sync: its ring holds every event after its start, and the
    /// watermark is past that start. Fails with [`ErrorKind::Unavailable`]
    /// while Redis is down. (The hub does not wait for it: a stream whose
    /// topic is not in sync reads from Redis until its log covers it.)
    #[cfg(test)]
    pub(crate) async fn synced(&self, topics: &[&str]) -> Result<()> {
        let mut changes = self.shared.changes();
        loop {
            match self.shared.state() {
                BackplaneState::Down => {
                    return Err(unavailable_because(
                        "the backplane (Redis) cannot be reached",
                    ))
                }
                BackplaneState::Connected if self.shared.all_synced(topics) => return Ok(()),
                _ => {}
            }
            if changes.changed().await.is_err() {
                return Err(Error::new(ErrorKind::Stopped, "the backplane is stopped"));
            }
        }
    }

    /// How the link to Redis is now.
    pub(crate) fn state(&self) -> BackplaneState {
        self.shared.state()
    }

    /// Resolves once the state (or a topic's sync) may have changed; `false`
    /// once the backplane is gone.
    pub(crate) fn changed(&self) -> impl std::future::Future<Output = bool> + Send + 'static {
        let mut changes = self.shared.changes();
        async move { changes.changed().await.is_ok() }
    }

    /// The cluster's id incarnation, once the feed has reached Redis.
    pub(crate) fn incarnation(&self) -> Option<Arc<str>> {
        self.shared.incarnation()
    }

    /// The counters now.
    pub(crate) fn counters(&self) -> Counters {
        self.shared.counters()
    }

    /// Whether a client whose last event has `seq` can be replayed exactly
    /// from Redis for `topics` (`None`), or why not.
    pub(crate) async fn resume_after(
        &self,
        topics: &[&str],
        seq: u64,
    ) -> Result<Option<ResetReason>> {
        history::resume_after(&mut self.publisher.connection(), &self.keys, topics, seq).await
    }

    /// The frames of `topics` with `after < seq <= upto` from Redis, in seq
    /// order, at most `max_frames`.
    pub(crate) async fn read_after(
        &self,
        topics: &[&str],
        after: u64,
        upto: u64,
        max_frames: usize,
    ) -> Result<Replay> {
        let mut conn = self.publisher.connection();
        history::read_after(&mut conn, &self.keys, topics, after, upto, max_frames).await
    }

    /// The seq of the newest event of `topics` in Redis with the
    /// publisher-given id `id`.
    pub(crate) async fn find_custom_id(&self, topics: &[&str], id: &str) -> Result<Option<u64>> {
        history::find_custom_id(&mut self.publisher.connection(), &self.keys, topics, id).await
    }

    /// The cluster's counter: the seq of the newest event published anywhere.
    /// A stream that starts live starts after it.
    pub(crate) async fn counter(&self) -> Result<u64> {
        history::counter(&mut self.publisher.connection(), &self.keys).await
    }

    /// Runs `work` (a request to Redis) to its end from a thread that is not
    /// the runtime's own async context: a host's thread, a blocking task, or
    /// (in place) a worker of a multi-threaded runtime.
    pub(crate) fn block_on<F>(&self, work: F) -> F::Output
    where
        F: std::future::Future + Send,
        F::Output: Send,
    {
        match Handle::try_current() {
            Err(_) => self.runtime.block_on(work),
            Ok(current) if current.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| self.runtime.block_on(work))
            }
            // A single-threaded runtime cannot block in place: a thread of
            // its own waits for the reply.
            Ok(_) => std::thread::scope(|scope| {
                scope
                    .spawn(|| self.runtime.block_on(work))
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }),
        }
    }

    /// Ends the feed task. Idempotent.
    pub(crate) fn stop(&self) {
        self.stop.send_replace(true);
        if let Some(feed) = self.feed.lock().unwrap_or_else(|e| e.into_inner()).take() {
            feed.abort();
        }
    }
}

impl Drop for Backplane {
    fn drop(&mut self) {
        self.stop();
    }
}
