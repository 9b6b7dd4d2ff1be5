//! The feed: the node's one connection that receives announcements and hands
//! them to the [`Sink`] in order, with nothing missing.
//!
//! The connection speaks RESP3, so subscriptions and commands share it and
//! Redis answers in the order it executed: every announcement published
//! before a command ran arrives before that command's reply. That order is
//! what makes the syncs exact:
//!
//! - **A topic held for the first time**: `SUBSCRIBE`, then `GET` of the
//!   topic's newest seq `L`, in one pipeline. Announcements up to `L` are
//!   skipped; the ring starts after `L` ([`Sink::history_starts_after`]); older
//!   events stay in Redis for the resumes that need them.
//! - **A topic known before a lost connection**: `SUBSCRIBE`, then `XRANGE`
//!   after the last seq delivered, then the announcements that follow,
//!   skipping what the read already delivered.
//! - Each batch also reads the cluster's counter `S`; once the batch's replies
//!   and every announcement before them are delivered, every event up to `S`
//!   of every held topic is in its ring, and the watermark moves to `S`.
//!   After a lost connection the watermark moves only once every held topic
//!   is caught up, so a stream merging several topics never skips an event
//!   that arrives late.
//! - **A missed announcement** (its topic's previous seq is newer than the last
//!   one delivered): the events between are read with `XRANGE` and delivered
//!   first. Redis never drops a message on a live connection (it closes a
//!   subscriber that falls too far behind), so this is a safety net.
//! - **Events Redis no longer has** (trimmed before they could be read): the
//!   topic's ring is told where its history restarts, and the streams
//!   positioned before it end so that their clients resume into a reset;
//!   nothing is skipped silently.
//!
//! Topics are (un)subscribed in batches of [`Options::batch`] channels per
//! pipeline; a `PING` every [`PING_EVERY`] notices a connection that died
//! without closing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, PushInfo, PushKind, Value};
use tokio::sync::{mpsc, watch};

use super::announcement::{parse_seq, Received};
use super::history::entries;
use super::keys::Keys;
use super::script::ADOPT;
use super::state::{AtomicCounters, BackplaneState, Command, Shared};
use super::{Options, Sink, MAX_INCARNATION_BYTES};

/// How often an idle connection is checked.
pub(super) const PING_EVERY: Duration = Duration::from_secs(1);
/// The first and the longest wait between connection attempts.
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_LONGEST: Duration = Duration::from_secs(1);

/// A topic the node holds.
struct Held {
    /// The seq of the last event delivered; `None` until synced on the
    /// current connection for the first time (then its ring starts fresh).
    last: Option<u64>,
    /// The hold this sync answers (see [`Shared::mark_synced`]).
    generation: u64,
}

/// An open connection and the announcements it receives.
struct Link {
    conn: MultiplexedConnection,
    pushes: mpsc::UnboundedReceiver<PushInfo>,
}

/// Why serving a connection ended.
enum End {
    Stopped,
    Lost(String),
}

/// The feed task's state.
pub(super) struct Feed {
    client: Client,
    keys: Keys,
    sink: Arc<dyn Sink>,
    shared: Arc<Shared>,
    commands: mpsc::UnboundedReceiver<Command>,
    topics: HashMap<Box<str>, Held>,
    /// The newest seq handed to [`Sink::advance`].
    watermark: u64,
    options: Arc<Options>,
    connected_before: bool,
}

type Failed = String;

impl Feed {
    pub(super) fn new(
        client: Client,
        keys: Keys,
        sink: Arc<dyn Sink>,
        shared: Arc<Shared>,
        commands: mpsc::UnboundedReceiver<Command>,
        options: Arc<Options>,
    ) -> Self {
        Feed {
            client,
            keys,
            sink,
            shared,
            commands,
            topics: HashMap::new(),
            watermark: 0,
            options,
            connected_before: false,
        }
    }

    /// Connects, serves, and reconnects after a loss, until `stop` is set.
    pub(super) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut delay = RETRY_FIRST;
        while !*stop.borrow() {
            #[cfg(test)]
            self.shared.faults.reconnect_allowed().await;
            let attempt = tokio::select! {
                _ = stop.changed() => return,
                link = self.connect() => link,
            };
            match attempt {
                Ok(link) => {
                    delay = RETRY_FIRST;
                    match self.serve(link, &mut stop).await {
                        End::Stopped => return,
                        End::Lost(why) => {
                            tracing::warn!("backplane: connection lost ({why}); reconnecting");
                            self.shared.set_state(BackplaneState::Reconnecting);
                            self.shared.mark_all_unsynced();
                        }
                    }
                }
                Err(why) => {
                    tracing::warn!("backplane: cannot connect ({why}); retrying");
                    self.shared.set_state(BackplaneState::Down);
                    tokio::select! {
                        _ = stop.changed() => return,
                        () = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(RETRY_LONGEST);
                }
            }
        }
    }

    /// Opens a connection, joins the cluster's incarnation and catches up
    /// every held topic.
    async fn connect(&mut self) -> Result<Link, Failed> {
        let (sender, pushes) = mpsc::unbounded_channel();
        let config = AsyncConnectionConfig::new()
            .set_push_sender(sender)
            .set_connection_timeout(Some(self.options.connect_timeout))
            .set_response_timeout(Some(self.options.feed_timeout));
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| e.to_string())?;
        let mut link = Link { conn, pushes };
        redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(format!("ssecast-feed:{}", self.options.node_name))
            .exec_async(&mut link.conn)
            .await
            .map_err(|e| e.to_string())?;
        self.adopt(&mut link).await?;
        let all = self
            .topics
            .iter()
            .map(|(topic, held)| (topic.clone(), held.generation, held.last))
            .collect();
        self.sync(&mut link, all).await?;
        if self.connected_before {
            AtomicCounters::add(&self.shared.counters.resyncs, 1);
        }
        self.connected_before = true;
        self.shared.set_state(BackplaneState::Connected);
        Ok(link)
    }

    /// Reads (and creates, or replaces after Redis lost its newest writes)
    /// the cluster's incarnation. A new one voids every id of the old: the
    /// sink is reset and every topic starts fresh.
    async fn adopt(&mut self, link: &mut Link) -> Result<(), Failed> {
        let known = self.shared.incarnation();
        let (incarnation, counter): (String, String) = ADOPT
            .key(self.keys.meta())
            .arg((self.options.new_incarnation)())
            .arg(known.as_deref().unwrap_or(""))
            .arg(self.shared.seen())
            .invoke_async(&mut link.conn)
            .await
            .map_err(|e| e.to_string())?;
        if incarnation.is_empty()
            || incarnation.len() > MAX_INCARNATION_BYTES
            || !incarnation.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(format!(
                "the cluster incarnation in Redis ({incarnation:?}) is malformed"
            ));
        }
        let counter = parse_seq(&counter).ok_or("the cluster counter in Redis is malformed")?;
        if known.as_deref() == Some(incarnation.as_str()) {
            self.shared.note_seen(counter);
            return Ok(());
        }
        let incarnation: Arc<str> = incarnation.into();
        self.shared
            .set_incarnation_from(incarnation.clone(), counter);
        if known.is_some() {
            tracing::warn!(
                "backplane: the cluster's history was reset (incarnation {incarnation}); \
                 earlier ids can no longer be resumed"
            );
            // Every topic starts fresh; new subscriptions wait for that.
            self.shared.mark_all_unsynced();
            self.watermark = 0;
            for held in self.topics.values_mut() {
                held.last = None;
            }
            self.sink.reset(&incarnation);
        }
        Ok(())
    }

    /// Delivers announcements and applies the hub's requests until the
    /// connection is lost or the feed is stopped.
    async fn serve(&mut self, mut link: Link, stop: &mut watch::Receiver<bool>) -> End {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            let step = tokio::select! {
                biased;
                _ = stop.changed() => return End::Stopped,
                push = link.pushes.recv() => match push {
                    Some(push) => self.on_push(&mut link, push).await,
                    None => Err("the connection closed".into()),
                },
                Some(command) = self.commands.recv() => {
                    let mut batch = vec![command];
                    while let Ok(more) = self.commands.try_recv() {
                        batch.push(more);
                    }
                    self.apply(&mut link, batch).await
                }
                _ = ping.tick() => redis::cmd("PING")
                    .exec_async(&mut link.conn)
                    .await
                    .map_err(|e| e.to_string()),
            };
            if let Err(why) = step {
                return End::Lost(why);
            }
        }
    }

    /// Applies holds, releases and rechecks, then syncs the new topics.
    async fn apply(&mut self, link: &mut Link, batch: Vec<Command>) -> Result<(), Failed> {
        let mut unsubscribe = Vec::new();
        let mut recheck = false;
        for command in batch {
            match command {
                Command::Hold(topic, generation) => {
                    let fresh = Held {
                        last: None,
                        generation,
                    };
                    if let Some(old) = self.topics.insert(topic.clone(), fresh) {
                        if old.last.is_some() {
                            unsubscribe.push(topic);
                        }
                    }
                }
                Command::Release(topic) => {
                    if let Some(old) = self.topics.remove(&topic) {
                        if old.last.is_some() {
                            unsubscribe.push(topic);
                        }
                    }
                }
                Command::Recheck => recheck = true,
            }
        }
        if recheck {
            self.adopt(link).await?;
        }
        for chunk in unsubscribe.chunks(self.options.batch) {
            let mut pipe = redis::pipe();
            for topic in chunk {
                pipe.cmd("UNSUBSCRIBE").arg(self.keys.channel(topic));
            }
            pipe.exec_async(&mut link.conn)
                .await
                .map_err(|e| e.to_string())?;
        }
        let fresh = self
            .topics
            .iter()
            .filter(|(_, held)| held.last.is_none())
            .map(|(topic, held)| (topic.clone(), held.generation, None))
            .collect();
        self.sync(link, fresh).await
    }

    /// Subscribes to `topics` and brings each up to date: from scratch
    /// (`None`) or after the last seq delivered. Moves the watermark only once
    /// all are done, then marks their holds synced.
    async fn sync(
        &mut self,
        link: &mut Link,
        topics: Vec<(Box<str>, u64, Option<u64>)>,
    ) -> Result<(), Failed> {
        let mut barrier = 0;
        for chunk in topics.chunks(self.options.batch.max(1)) {
            let mut pipe = redis::pipe();
            for (topic, _, _) in chunk {
                pipe.cmd("SUBSCRIBE").arg(self.keys.channel(topic));
            }
            for (topic, _, last) in chunk {
                match last {
                    None => {
                        pipe.cmd("GET").arg(self.keys.last(topic));
                    }
                    Some(last) => self.read_after(&mut pipe, topic, *last, None),
                }
            }
            pipe.hget(self.keys.meta(), "seq");
            let mut replies: Vec<Value> = pipe
                .query_async(&mut link.conn)
                .await
                .map_err(|e| e.to_string())?;
            barrier = barrier.max(seq_of(replies.pop().as_ref()).unwrap_or(0));
            let reads = replies.split_off(chunk.len());
            for ((topic, generation, last), reply) in chunk.iter().zip(reads) {
                match last {
                    None => {
                        let newest = seq_of(Some(&reply)).unwrap_or(0);
                        self.sink.history_starts_after(topic, newest);
                        self.topics.insert(
                            topic.clone(),
                            Held {
                                last: Some(newest),
                                generation: *generation,
                            },
                        );
                    }
                    Some(_) => {
                        let page: Vec<Received> = entries(reply).collect();
                        self.deliver_pages(link, topic, page, None).await?;
                    }
                }
            }
        }
        // Every announcement that came before the replies is queued: deliver
        // it, then every held topic is complete up to the barrier.
        while let Ok(push) = link.pushes.try_recv() {
            self.on_push(link, push).await?;
        }
        self.advance(barrier);
        for (topic, generation, _) in &topics {
            self.shared.mark_synced(topic, *generation);
        }
        self.shared.bump();
        Ok(())
    }

    /// Adds to `pipe` an `XRANGE` of `topic` after `after` (up to `upto`),
    /// one page long.
    fn read_after(&self, pipe: &mut redis::Pipeline, topic: &str, after: u64, upto: Option<u64>) {
        pipe.cmd("XRANGE")
            .arg(self.keys.stream(topic))
            .arg(format!("({after}-0"))
            .arg(upto.map_or_else(|| "+".to_owned(), |u| format!("{u}-0")))
            .arg("COUNT")
            .arg(self.options.page);
    }

    /// Delivers `page` and, while pages come back full, the pages after it
    /// (up to `upto`).
    async fn deliver_pages(
        &mut self,
        link: &mut Link,
        topic: &str,
        mut page: Vec<Received>,
        upto: Option<u64>,
    ) -> Result<(), Failed> {
        loop {
            let full = page.len() >= self.options.page;
            let mut next_after = None;
            for event in page {
                next_after = Some(event.seq);
                self.deliver(topic, event);
            }
            let (true, Some(after)) = (full, next_after) else {
                return Ok(());
            };
            let mut pipe = redis::pipe();
            self.read_after(&mut pipe, topic, after, upto);
            let mut replies: Vec<Value> = pipe
                .query_async(&mut link.conn)
                .await
                .map_err(|e| e.to_string())?;
            page = replies
                .pop()
                .map(|r| entries(r).collect())
                .unwrap_or_default();
        }
    }

    /// Handles one push: an announcement is delivered (after filling what
    /// was missed before it); a lost connection ends serving.
    async fn on_push(&mut self, link: &mut Link, push: PushInfo) -> Result<(), Failed> {
        match push.kind {
            PushKind::Message => {}
            PushKind::Disconnection => return Err("disconnected".into()),
            _ => return Ok(()),
        }
        let mut data = push.data.into_iter();
        let (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) =
            (data.next(), data.next())
        else {
            return Ok(());
        };
        let Some(topic) = self.keys.topic_of(&channel) else {
            return Ok(());
        };
        let Some(last) = self.topics.get(topic).and_then(|held| held.last) else {
            return Ok(()); // not held, or not synced yet: the sync covers it
        };
        #[cfg(test)]
        if self.shared.faults.take_drop(topic) {
            return Ok(());
        }
        let Some(event) = Received::from_announcement(payload.into()) else {
            tracing::warn!("backplane: ignoring a malformed announcement on {topic:?}");
            return Ok(());
        };
        if event.seq <= last {
            return Ok(()); // delivered already by a sync
        }
        let topic: Box<str> = topic.into();
        if event.prev > last {
            AtomicCounters::add(&self.shared.counters.gaps_filled, 1);
            tracing::warn!("backplane: missed events of {topic:?} after {last}; reading them back");
            let mut pipe = redis::pipe();
            self.read_after(&mut pipe, &topic, last, Some(event.prev));
            let mut replies: Vec<Value> = pipe
                .query_async(&mut link.conn)
                .await
                .map_err(|e| e.to_string())?;
            let page = replies
                .pop()
                .map(|r| entries(r).collect())
                .unwrap_or_default();
            self.deliver_pages(link, &topic, page, Some(event.prev))
                .await?;
        }
        let seq = event.seq;
        AtomicCounters::add(&self.shared.counters.received, 1);
        self.deliver(&topic, event);
        self.advance(seq);
        Ok(())
    }

    /// Hands one event of a held topic to the sink, in order: a duplicate is
    /// skipped, and events that Redis no longer had before it are reported.
    fn deliver(&mut self, topic: &str, event: Received) {
        let Some(held) = self.topics.get_mut(topic) else {
            return;
        };
        let last = held.last.unwrap_or(0);
        if event.seq <= last {
            return;
        }
        if event.prev > last {
            AtomicCounters::add(&self.shared.counters.gaps_lost, 1);
            tracing::warn!(
                "backplane: events of {topic:?} after {last} up to {} are no longer in Redis",
                event.prev
            );
            self.sink.history_starts_after(topic, event.prev);
        }
        held.last = Some(event.seq);
        self.sink.append(topic, event);
    }

    fn advance(&mut self, seq: u64) {
        if seq > self.watermark {
            self.watermark = seq;
            self.shared.note_seen(seq);
            self.sink.advance(seq);
        }
    }
}

/// A sequence number sent as a bulk string (or an integer).
fn seq_of(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::BulkString(text) => parse_seq(std::str::from_utf8(text).ok()?),
        Value::Int(n) => u64::try_from(*n).ok(),
        _ => None,
    }
}
