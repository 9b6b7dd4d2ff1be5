//! The backplane against a real `redis-server`: nodes are [`Backplane`]s in one
//! process, each with its own connections and a [`Recorder`] as its sink.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use redis::Commands;
use tokio::sync::watch;

use super::test_redis::RedisServer;
use super::*;

/// How long a test waits for something that should take milliseconds.
const PATIENCE: Duration = Duration::from_secs(10);

/// One call the feed made on its sink.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Append(String, Received),
    Advance(u64),
    Starts(String, u64),
    Reset(String),
}

/// A sink that records every call, for the tests to wait on and check.
struct Recorder {
    calls: Mutex<Vec<Call>>,
    changed: watch::Sender<usize>,
}

impl Recorder {
    fn new() -> Arc<Self> {
        Arc::new(Recorder {
            calls: Mutex::new(Vec::new()),
            changed: watch::channel(0).0,
        })
    }

    fn record(&self, call: Call) {
        self.calls.lock().unwrap().push(call);
        self.changed.send_modify(|n| *n += 1);
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// Waits until `done` holds for the calls so far; fails naming `what`.
    async fn wait_for(&self, what: &str, done: impl Fn(&[Call]) -> bool) {
        let mut changed = self.changed.subscribe();
        let waited = tokio::time::timeout(PATIENCE, async {
            while !done(&self.calls.lock().unwrap()) {
                changed.changed().await.unwrap();
            }
        })
        .await;
        if waited.is_err() {
            panic!("timed out waiting for {what}; calls: {:#?}", self.calls());
        }
    }

    /// Waits until the event with `seq` has been appended.
    async fn wait_for_seq(&self, seq: u64) {
        self.wait_for(&format!("seq {seq}"), |calls| {
            calls
                .iter()
                .any(|c| matches!(c, Call::Append(_, e) if e.seq == seq))
        })
        .await;
    }

    /// The seqs appended to `topic`, in order.
    fn seqs(&self, topic: &str) -> Vec<u64> {
        self.appended()
            .into_iter()
            .filter(|(t, _)| t == topic)
            .map(|(_, e)| e.seq)
            .collect()
    }

    fn appended(&self) -> Vec<(String, Received)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Append(t, e) => Some((t, e)),
                _ => None,
            })
            .collect()
    }
}

impl Sink for Recorder {
    fn append(&self, topic: &str, event: Received) {
        self.record(Call::Append(topic.into(), event));
    }
    fn advance(&self, seq: u64) {
        self.record(Call::Advance(seq));
    }
    fn history_starts_after(&self, topic: &str, seq: u64) {
        self.record(Call::Starts(topic.into(), seq));
    }
    fn reset(&self, incarnation: &str) {
        self.record(Call::Reset(incarnation.into()));
    }
}

/// Checks what a sink saw: per topic, each event follows the previous one
/// (or the history start) exactly; no event arrives at or below the
/// watermark, which only rises (a stream merging topics never skips one).
fn check_order(calls: &[Call]) {
    let mut last: HashMap<&str, u64> = HashMap::new();
    let mut watermark = 0;
    for (i, call) in calls.iter().enumerate() {
        match call {
            Call::Starts(topic, seq) => {
                let last = last.entry(topic).or_default();
                *last = (*last).max(*seq);
            }
            Call::Append(topic, event) => {
                let last = last
                    .get_mut(topic.as_str())
                    .unwrap_or_else(|| panic!("call {i}: {topic} appended before its start"));
                assert_eq!(event.prev, *last, "call {i}: {topic} skipped an event");
                assert!(
                    event.seq > watermark,
                    "call {i}: seq {} behind the watermark",
                    event.seq
                );
                *last = event.seq;
            }
            Call::Advance(seq) => {
                assert!(*seq > watermark, "call {i}: watermark went back to {seq}");
                watermark = *seq;
            }
            Call::Reset(_) => {
                last.clear();
                watermark = 0;
            }
        }
    }
}

/// A node: a backplane with its recorder.
struct Node {
    backplane: Backplane,
    sink: Arc<Recorder>,
}

impl Node {
    fn start(redis: &RedisServer, name: &str) -> Node {
        Self::with(redis.url(0), name, |_| {})
    }

    fn with(url: String, name: &str, adjust: impl FnOnce(&mut Options)) -> Node {
        let mut options = Options::new(&url, 1000, 0, random_incarnation);
        options.node_name = name.into();
        adjust(&mut options);
        let sink = Recorder::new();
        let backplane = Backplane::start(options, sink.clone()).unwrap();
        Node { backplane, sink }
    }

    /// Holds `topics` and waits until they are in sync.
    async fn hold(&self, topics: &[&str]) {
        for topic in topics {
            self.backplane.hold(topic);
        }
        tokio::time::timeout(PATIENCE, self.backplane.synced(topics))
            .await
            .expect("topics synced in time")
            .unwrap();
    }

    async fn publish(&self, topic: &str, data: &str) -> Published {
        self.backplane
            .publish(topic, body(data).as_bytes(), None)
            .await
            .unwrap()
    }

    async fn wait_state(&self, state: BackplaneState) {
        let mut changes = self.backplane.shared.changes();
        let reached = tokio::time::timeout(PATIENCE, async {
            while self.backplane.state() != state {
                changes.changed().await.unwrap();
            }
        })
        .await;
        assert!(reached.is_ok(), "state stayed {:?}", self.backplane.state());
    }
}

fn random_incarnation() -> String {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("{random:012x}")[..12].to_owned()
}

/// The encoded event after its `id:` line.
fn body(data: &str) -> String {
    format!("data: {data}\n\n")
}

fn frame(id: &str, data: &str) -> Bytes {
    Bytes::from(format!("id: {id}\n{}", body(data)))
}

/// The value of `field` of the `CLIENT LIST` line whose name is `name`.
fn client_field(redis: &RedisServer, name: &str, field: &str) -> Option<String> {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut redis.client())
        .unwrap();
    let line = list
        .lines()
        .find(|line| line.contains(&format!(" name={name} ")))?;
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{field}=")))
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_reach_every_node_in_one_order() {
    let redis = RedisServer::start();
    let a = Node::start(&redis, "a");
    let b = Node::start(&redis, "b");
    a.hold(&["x", "y"]).await;
    b.hold(&["x", "y"]).await;
    assert_eq!(a.backplane.incarnation(), b.backplane.incarnation());

    // Both nodes publish at once, to both topics.
    async fn publish_from(node: &Backplane, name: &str) -> Vec<(&'static str, String, Published)> {
        let mut out = Vec::new();
        for i in 0..100 {
            let topic = if i % 3 == 0 { "y" } else { "x" };
            let data = format!("{name}{i}");
            let published = node.publish(topic, body(&data).as_bytes(), None).await;
            out.push((topic, data, published.unwrap()));
        }
        out
    }
    let (from_a, from_b) = tokio::join!(
        publish_from(&a.backplane, "a"),
        publish_from(&b.backplane, "b")
    );
    let custom = b
        .backplane
        .publish("y", body("own").as_bytes(), Some("order-7"))
        .await
        .unwrap();
    assert_eq!(custom.id, "order-7");
    let mut published: Vec<_> = from_a.into_iter().chain(from_b).collect();
    published.sort_by_key(|(_, _, p)| p.seq);
    let incarnation = a.backplane.incarnation().unwrap();

    for node in [&a, &b] {
        node.sink.wait_for_seq(custom.seq).await;
        node.sink
            .wait_for("every event", |calls| {
                calls
                    .iter()
                    .filter(|c| matches!(c, Call::Append(..)))
                    .count()
                    == 201
            })
            .await;
        check_order(&node.sink.calls());
        let appended = node.sink.appended();
        for ((topic, data, p), (got_topic, got)) in published.iter().zip(&appended) {
            assert_eq!((got_topic.as_str(), got.seq), (*topic, p.seq));
            assert_eq!(p.id, format!("{incarnation}-{}", p.seq));
            assert_eq!(got.frame, frame(&p.id, data));
            assert_eq!(got.custom_id, None);
        }
        let (_, last) = appended.last().unwrap();
        assert_eq!(last.custom_id.as_deref(), Some("order-7"));
        assert_eq!(last.frame, frame("order-7", "own"));
    }
    assert_eq!(
        a.sink.appended(),
        b.sink.appended(),
        "one order on every node"
    );
    assert_eq!(a.backplane.counters().published, 100);
    assert_eq!(b.backplane.counters().received, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_is_one_round_trip_of_six_commands() {
    let redis = RedisServer::start();
    let a = Node::with(redis.url(0), "a", |o| o.history_ttl_ms = 60_000);
    a.hold(&[]).await;
    a.publish("t", "warm-up").await; // loads the script once
    let mut admin = redis.client();
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut admin)
        .unwrap();
    for i in 0..50 {
        a.publish("t", &i.to_string()).await;
    }
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut admin)
        .unwrap();
    let calls = |command: &str| -> u64 {
        stats
            .lines()
            .find_map(|l| l.strip_prefix(&format!("cmdstat_{command}:calls=")))
            .and_then(|rest| rest.split(',').next())
            .map_or(0, |n| n.parse().unwrap())
    };
    assert_eq!(calls("evalsha"), 50, "one round trip per publish:\n{stats}");
    for command in ["hmget", "hincrby", "set", "xadd", "pexpire", "publish"] {
        assert_eq!(calls(command), 50, "{command} once per publish:\n{stats}");
    }
    assert_eq!(calls("eval") + calls("script|load"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_announcement_is_filled_before_later_events() {
    let redis = RedisServer::start();
    let a = Node::start(&redis, "a");
    // One entry per read: the fill takes several pages.
    let b = Node::with(redis.url(0), "b", |o| o.page = 1);
    b.hold(&["t"]).await;
    a.hold(&[]).await;
    b.backplane.shared.faults.drop_announcements("t", 2);
    let mut seqs = Vec::new();
    for i in 0..5 {
        seqs.push(a.publish("t", &i.to_string()).await.seq);
    }
    b.sink.wait_for_seq(seqs[4]).await;
    check_order(&b.sink.calls());
    assert_eq!(b.sink.seqs("t"), seqs);
    let counters = b.backplane.counters();
    assert_eq!((counters.gaps_filled, counters.gaps_lost), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_trimmed_before_they_could_be_filled_are_reported() {
    let redis = RedisServer::start();
    let a = Node::with(redis.url(0), "a", |o| o.history_size = 10);
    let b = Node::start(&redis, "b");
    b.hold(&["t"]).await;
    a.hold(&[]).await;
    b.backplane.shared.faults.drop_announcements("t", 299);
    let mut last = 0;
    for i in 0..300 {
        last = a.publish("t", &i.to_string()).await.seq;
    }
    b.sink.wait_for_seq(last).await;
    let calls = b.sink.calls();
    check_order(&calls);
    let starts: Vec<u64> = calls
        .iter()
        .filter_map(|c| match c {
            Call::Starts(_, seq) => Some(*seq),
            _ => None,
        })
        .collect();
    assert_eq!(starts.len(), 2, "the fresh start, then the trimmed part");
    assert!(starts[1] > starts[0], "{starts:?}");
    let kept = b.sink.seqs("t");
    assert!(kept.len() < 300 && kept.len() >= 10, "{} kept", kept.len());
    assert_eq!(b.backplane.counters().gaps_lost, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_is_caught_up_from_the_streams() {
    let redis = RedisServer::start();
    let a = Node::start(&redis, "a");
    // Three entries per read: the catch-up takes several pages per topic.
    let b = Node::with(redis.url(0), "b", |o| o.page = 3);
    b.hold(&["x", "y"]).await;
    a.hold(&[]).await;
    let before = a.publish("x", "before").await.seq;
    b.sink.wait_for_seq(before).await;

    // Cut b's feed and keep it from reconnecting while events pile up.
    b.backplane.shared.faults.hold_reconnect(true);
    let id = client_field(&redis, "ssecast-feed:b", "id").expect("b's feed connection");
    let _: () = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(&id)
        .query(&mut redis.client())
        .unwrap();
    b.wait_state(BackplaneState::Reconnecting).await;
    let mut during = Vec::new();
    for i in 0..40 {
        let topic = if i % 2 == 0 { "x" } else { "y" };
        during.push((topic, a.publish(topic, &i.to_string()).await.seq));
    }
    b.backplane.shared.faults.hold_reconnect(false);
    b.wait_state(BackplaneState::Connected).await;
    let after = a.publish("y", "after").await.seq;
    b.sink.wait_for_seq(after).await;

    let calls = b.sink.calls();
    check_order(&calls);
    let wanted = |topic| {
        let mut seqs: Vec<u64> = during
            .iter()
            .filter(|(t, _)| *t == topic)
            .map(|(_, s)| *s)
            .collect();
        if topic == "x" {
            seqs.insert(0, before);
        } else {
            seqs.push(after);
        }
        seqs
    };
    assert_eq!(b.sink.seqs("x"), wanted("x"));
    assert_eq!(b.sink.seqs("y"), wanted("y"));
    assert_eq!(b.backplane.counters().resyncs, 1);
    // The watermark waited for both topics: one advance covers the catch-up.
    let last_during = during.last().unwrap().1;
    assert!(calls.contains(&Call::Advance(last_during)), "{calls:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_and_started_again_loses_no_acknowledged_event() {
    let mut redis = RedisServer::start_persistent();
    let a = Node::start(&redis, "a");
    let b = Node::start(&redis, "b");
    b.hold(&["t"]).await;
    a.hold(&["t"]).await;
    let mut acknowledged = Vec::new();
    for i in 0..10 {
        acknowledged.push(a.publish("t", &format!("up{i}")).await);
    }
    b.sink.wait_for_seq(acknowledged[9].seq).await;

    redis.kill();
    for node in [&a, &b] {
        node.wait_state(BackplaneState::Down).await;
        let refused = node.backplane.synced(&["t"]).await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Unavailable);
    }
    for i in 0..3 {
        let started = Instant::now();
        let err = a
            .backplane
            .publish("t", body(&format!("down{i}")).as_bytes(), None)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.message().contains("Redis"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2), "fails fast");
    }
    assert_eq!(a.backplane.counters().publish_failures, 3);
    let read = a.backplane.read_after(&["t"], 0, u64::MAX, 10).await;
    assert_eq!(read.unwrap_err().kind(), ErrorKind::Unavailable);
    let resume = a.backplane.resume_after(&["t"], acknowledged[0].seq).await;
    assert_eq!(resume.unwrap_err().kind(), ErrorKind::Unavailable);

    redis.restart();
    for node in [&a, &b] {
        node.wait_state(BackplaneState::Connected).await;
    }
    for i in 0..10 {
        acknowledged.push(a.publish("t", &format!("again{i}")).await);
    }
    let seqs: Vec<u64> = acknowledged.iter().map(|p| p.seq).collect();
    for node in [&a, &b] {
        node.sink.wait_for_seq(seqs[19]).await;
        check_order(&node.sink.calls());
        assert_eq!(node.sink.seqs("t"), seqs);
    }
    assert_eq!(a.backplane.incarnation(), b.backplane.incarnation());
    // A node that joins later reads every acknowledged event back from Redis.
    let c = Node::start(&redis, "c");
    c.hold(&[]).await;
    let replay = c
        .backplane
        .read_after(&["t"], 0, u64::MAX, 100)
        .await
        .unwrap();
    let replayed: Vec<u64> = replay.frames.iter().map(|(s, _)| *s).collect();
    assert_eq!(replayed, seqs);
    assert_eq!(replay.frames[0].1, frame(&acknowledged[0].id, "up0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_empty_resets_the_cluster_and_ids_never_repeat() {
    let mut redis = RedisServer::start();
    let a = Node::start(&redis, "a");
    a.hold(&["t"]).await;
    let old = a.backplane.incarnation().unwrap();
    let mut last = a.publish("t", "old").await;
    a.sink.wait_for_seq(last.seq).await;

    redis.restart();
    a.wait_state(BackplaneState::Connected).await;
    a.sink
        .wait_for("a reset", |calls| {
            calls.iter().any(|c| matches!(c, Call::Reset(_)))
        })
        .await;
    let new = a.backplane.incarnation().unwrap();
    assert_ne!(new, old);
    // The publisher may race the feed to the empty Redis: it is refused until
    // the new incarnation is adopted, never served with the old one.
    let deadline = Instant::now() + PATIENCE;
    let fresh = loop {
        match a.backplane.publish("t", body("new").as_bytes(), None).await {
            Ok(published) => break published,
            Err(e) if Instant::now() < deadline => {
                assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
                a.backplane.synced(&["t"]).await.unwrap();
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert!(fresh.id.starts_with(&format!("{new}-")), "{}", fresh.id);
    assert!(fresh.seq > last.seq, "seqs go on from where the node was");
    last = fresh;
    a.sink.wait_for_seq(last.seq).await;
    check_order(&a.sink.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_that_went_back_gets_a_new_incarnation() {
    let redis = RedisServer::start();
    let a = Node::start(&redis, "a");
    a.hold(&["t"]).await;
    let old = a.backplane.incarnation().unwrap();
    let mut seen = 0;
    for i in 0..5 {
        seen = a.publish("t", &i.to_string()).await.seq;
    }
    // Redis came back without its newest writes (as with `appendfsync everysec`).
    let _: () = redis
        .client()
        .hset("ssecast:meta", "seq", seen - 3)
        .unwrap();
    let refused = a
        .backplane
        .publish("t", body("again").as_bytes(), None)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unavailable, "{refused}");
    a.sink
        .wait_for("a reset", |calls| {
            calls.iter().any(|c| matches!(c, Call::Reset(_)))
        })
        .await;
    a.backplane.synced(&["t"]).await.unwrap();
    let new = a.backplane.incarnation().unwrap();
    assert_ne!(new, old);
    let again = a.publish("t", "again").await;
    assert_eq!(
        again.id,
        format!("{new}-{}", seen + 1),
        "no id handed out twice"
    );
    a.sink.wait_for_seq(again.seq).await;
    check_order(&a.sink.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_topics_on_one_connection_in_batches() {
    let redis = RedisServer::start();
    let a = Node::start(&redis, "a");
    let n = Node::with(redis.url(0), "n", |o| o.batch = 500);
    a.hold(&[]).await;
    let topics: Vec<String> = (0..2000).map(|i| format!("room/{i}")).collect();
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let started = Instant::now();
    n.hold(&names).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "2,000 topics took {took:?}");
    assert_eq!(
        client_field(&redis, "ssecast-feed:n", "sub").as_deref(),
        Some("2000")
    );
    let mut seqs = Vec::new();
    for topic in names.iter().step_by(100) {
        seqs.push(a.publish(topic, "hello").await.seq);
    }
    n.sink.wait_for_seq(*seqs.last().unwrap()).await;
    check_order(&n.sink.calls());
    assert_eq!(n.sink.appended().len(), seqs.len());

    for topic in &names {
        n.backplane.release(topic);
    }
    // Commands apply in order: once a later hold is synced, the releases are done.
    n.hold(&["sentinel"]).await;
    assert_eq!(
        client_field(&redis, "ssecast-feed:n", "sub").as_deref(),
        Some("1")
    );
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut redis.client())
        .unwrap();
    let feeds = list.matches(" name=ssecast-feed:n ").count();
    assert_eq!(feeds, 1, "one pub/sub connection for the node:\n{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_reads_serve_resumes_from_redis() {
    let redis = RedisServer::start();
    let a = Node::start(&redis, "a");
    a.hold(&[]).await;
    let mut seqs = Vec::new();
    for i in 0..10 {
        let topic = if i % 2 == 0 { "x" } else { "y" };
        seqs.push(a.publish(topic, &i.to_string()).await.seq);
    }
    let own = a
        .backplane
        .publish("y", body("own").as_bytes(), Some("mine"))
        .await
        .unwrap();
    let both = ["x", "y"];
    let bp = &a.backplane;
    assert_eq!(bp.resume_after(&both, seqs[2]).await.unwrap(), None);
    assert_eq!(
        bp.resume_after(&both, own.seq + 1).await.unwrap(),
        Some(ResetReason::UnknownId)
    );
    let all = bp.read_after(&both, seqs[2], u64::MAX, 100).await.unwrap();
    let mut wanted: Vec<u64> = seqs[3..].to_vec();
    wanted.push(own.seq);
    assert_eq!(
        all.frames.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        wanted
    );
    assert!(!all.more);
    let page = bp.read_after(&both, seqs[2], seqs[8], 3).await.unwrap();
    assert_eq!(
        page.frames.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        seqs[3..6]
    );
    assert!(page.more);
    assert_eq!(
        bp.find_custom_id(&both, "mine").await.unwrap(),
        Some(own.seq)
    );
    assert_eq!(bp.find_custom_id(&["x"], "mine").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_bounded_by_count_and_expires_with_age() {
    let redis = RedisServer::start();
    let a = Node::with(redis.url(0), "a", |o| {
        o.history_size = 10;
        o.history_ttl_ms = 60_000;
    });
    a.hold(&[]).await;
    let first = a.publish("t", "first").await.seq;
    for i in 0..300 {
        a.publish("t", &i.to_string()).await;
    }
    let mut admin = redis.client();
    let len: usize = redis::cmd("XLEN")
        .arg("ssecast:s:t")
        .query(&mut admin)
        .unwrap();
    // `MAXLEN ~` trims whole nodes of 100 entries: at least 10 stay.
    assert!((10..=110).contains(&len), "{len} entries kept");
    for key in ["ssecast:s:t", "ssecast:l:t"] {
        let ttl: i64 = admin.pttl(key).unwrap();
        assert!(ttl > 0 && ttl <= 60_000, "{key} expires in {ttl} ms");
    }
    assert_eq!(
        a.backplane.resume_after(&["t"], first).await.unwrap(),
        Some(ResetReason::HistoryGap)
    );
    // Without an age bound, nothing expires.
    let b = Node::with(redis.url(0), "b", |o| o.history_ttl_ms = 0);
    b.hold(&[]).await;
    b.publish("kept", "x").await;
    let ttl: i64 = admin.pttl("ssecast:s:kept").unwrap();
    assert_eq!(ttl, -1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_on_other_databases_stay_apart() {
    let redis = RedisServer::start();
    let zero = Node::with(redis.url(0), "zero", |_| {});
    let one = Node::with(redis.url(1), "one", |_| {});
    zero.hold(&["t"]).await;
    one.hold(&["t"]).await;
    let in_one = one.publish("t", "one").await.seq;
    let in_zero = zero.publish("t", "zero").await.seq;
    zero.sink.wait_for_seq(in_zero).await;
    one.sink.wait_for_seq(in_one).await;
    assert_eq!(zero.sink.appended().len(), 1);
    assert_eq!(one.sink.appended().len(), 1);
    assert_ne!(zero.backplane.incarnation(), one.backplane.incarnation());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_fails_fast_and_reports_down() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let node = Node::with(format!("redis://127.0.0.1:{port}/0"), "lonely", |_| {});
    node.wait_state(BackplaneState::Down).await;
    let started = Instant::now();
    let err = node
        .backplane
        .publish("t", b"data: x\n\n", None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(started.elapsed() < Duration::from_secs(2));
    node.backplane.hold("t");
    let err = node.backplane.synced(&["t"]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(node.backplane.state().as_str(), "down");
}

#[test]
fn bad_urls_are_refused_without_repeating_them() {
    for bad in [
        "",
        "http://h:1",
        "redis://h:1/x",
        "rediss://h:1/0",
        "redis://:pw@h:x/0",
    ] {
        let err = check_url(bad).unwrap_err();
        assert!(
            err.contains("redis://127.0.0.1:6379/0") || err.contains("TLS"),
            "{err}"
        );
        assert!(!err.contains("pw@"), "{err}");
    }
    check_url("redis://127.0.0.1:6379/3").unwrap();
    check_url("redis://user:secret@redis.internal:6380").unwrap();
}
