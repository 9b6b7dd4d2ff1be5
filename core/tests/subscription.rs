//! In-app subscriptions (`Engine::subscribe`): the bytes `GET /events` would
//! send, read by the host from async Rust, a blocking thread or a readiness
//! descriptor; the same checks, resume, reset, keep-alive, slow-consumer rule
//! and end at stop; holds released on drop.

mod support;

use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Buf;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use ssecast::{Chunk, EndReason, ErrorKind, Event, Read, ReadySet, Subscription, RESET_EVENT};
use support::{engine, Item, Parser, Stream, DEADLINE};

fn bytes(chunk: Chunk) -> Vec<u8> {
    chunk.into_bytes().to_vec()
}

/// Reads until `count` events arrived (or the deadline), returning the bytes.
fn read_events(sub: &mut Subscription, count: usize) -> Vec<u8> {
    let mut all = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    while count_events(&all) < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match sub.read_timeout(Some(left)).unwrap() {
            Read::Data(chunk) => all.extend(bytes(chunk)),
            other => panic!("after {} events: {other:?}", count_events(&all)),
        }
    }
    all
}

fn count_events(wire: &[u8]) -> usize {
    parse(wire).len()
}

fn parse(wire: &[u8]) -> Vec<support::SseEvent> {
    let mut parser = Parser::default();
    parser
        .feed(wire)
        .into_iter()
        .filter_map(|item| match item {
            Item::Event(event) => Some(event),
            _ => None,
        })
        .collect()
}

#[test]
fn the_same_bytes_as_the_engines_port() {
    let engine = engine(&[("keepalive_ms", "0")]);
    let mut sub = engine.subscribe(&["wire"], None).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut http = runtime.block_on(Stream::subscribed(
        engine.local_addr(),
        "/events?topic=wire",
        &[],
    ));
    let id = engine
        .publish("wire", &Event::new("a\nb").event("tick"))
        .unwrap();
    engine
        .publish("wire", &Event::new("").id("mine").retry(50))
        .unwrap();
    let got = read_events(&mut sub, 2);
    let expected =
        format!(": ok\nid: {id}\nevent: tick\ndata: a\ndata: b\n\nid: mine\nretry: 50\ndata: \n\n");
    assert_eq!(String::from_utf8(got).unwrap(), expected);
    runtime.block_on(async {
        while http.raw.len() < expected.len() {
            assert!(http.pull().await, "the HTTP stream ended");
        }
    });
    assert_eq!(String::from_utf8(http.raw).unwrap(), expected);
}

#[test]
fn many_events_arrive_coalesced_in_one_chunk() {
    let engine = engine(&[("keepalive_ms", "0")]);
    let mut sub = engine.subscribe(&["c"], None).unwrap();
    assert!(matches!(sub.try_read(), Read::Data(_)), "the opening frame");
    for i in 0..500 {
        engine.publish("c", &Event::new(&i.to_string())).unwrap();
    }
    let Read::Data(chunk) = sub.read_timeout(Some(DEADLINE)).unwrap() else {
        panic!("no data");
    };
    let events = parse(&bytes(chunk));
    assert_eq!(events.len(), 500, "one read takes everything pending");
    assert!(matches!(sub.try_read(), Read::NotReady));
}

#[test]
fn resumes_after_an_id_and_signals_unknown_ids() {
    let engine = engine(&[("keepalive_ms", "0")]);
    let ids: Vec<String> = (0..5)
        .map(|i| engine.publish("r", &Event::new(&i.to_string())).unwrap())
        .collect();
    let mut sub = engine.subscribe(&["r"], Some(&ids[1])).unwrap();
    engine.publish("r", &Event::new("5")).unwrap();
    let events = parse(&read_events(&mut sub, 4));
    let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, ["2", "3", "4", "5"], "no gap, no duplicate");

    let mut reset = engine.subscribe(&["r"], Some("w00000000-1")).unwrap();
    let events = parse(&read_events(&mut reset, 1));
    assert_eq!(events[0].event, RESET_EVENT);
    assert!(events[0].data.contains("unknown-id"));
}

#[test]
fn bad_requests_are_the_http_endpoints_errors() {
    let engine = engine(&[("max_topics_per_connection", "2"), ("max_connections", "1")]);
    let kind = |topics: &[&str], id: Option<&str>| engine.subscribe(topics, id).unwrap_err().kind();
    assert_eq!(kind(&[""], None), ErrorKind::InvalidTopic);
    assert_eq!(kind(&["a\u{7}"], None), ErrorKind::InvalidTopic);
    assert_eq!(kind(&["a", "b", "c"], None), ErrorKind::InvalidTopic);
    assert_eq!(kind(&["a"], Some("x\ny")), ErrorKind::InvalidId);
    assert_eq!(kind(&["a"], Some(&"i".repeat(1025))), ErrorKind::InvalidId);
    let held = engine.subscribe::<&str>(&[], Some("  ")).unwrap();
    let refused = engine.subscribe(&["a"], None).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::TooManyConnections);
    assert!(refused.message().contains("max_connections"));
    assert_eq!(engine.stats().connections, 1);
    drop(held);
    engine.stop();
    assert_eq!(kind(&["a"], None), ErrorKind::Stopped);
}

#[test]
fn dropping_releases_topics_and_slot_at_once() {
    let engine = engine(&[]);
    let sub = engine.subscribe(&["x", "y"], None).unwrap();
    assert_eq!(engine.stats().connections, 1);
    assert_eq!(engine.stats().topics, 2);
    drop(sub);
    assert_eq!(engine.stats().connections, 0);
    assert_eq!(engine.stats().topics, 0);
}

#[test]
fn the_descriptor_is_readable_when_there_is_something_to_read() {
    let engine = Arc::new(engine(&[("keepalive_ms", "0")]));
    let mut sub = engine.subscribe(&["fd"], None).unwrap();
    let fd = sub.fd().unwrap();
    let readable = |ms: i64| {
        // SAFETY: the descriptor belongs to `sub`, alive for the whole test.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        let timeout = Timespec {
            tv_sec: ms / 1000,
            tv_nsec: (ms % 1000) * 1_000_000,
        };
        poll(&mut fds, Some(&timeout)).unwrap() == 1
    };
    assert!(matches!(sub.try_read(), Read::Data(_)));
    assert!(matches!(sub.try_read(), Read::NotReady));
    assert!(!readable(50), "nothing published yet");
    let publisher = engine.clone();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        publisher.publish("fd", &Event::new("woke")).unwrap();
    });
    assert!(readable(20_000), "a publish raises the descriptor");
    thread.join().unwrap();
    let Read::Data(chunk) = sub.try_read() else {
        panic!("readable but nothing to read");
    };
    assert!(bytes(chunk).ends_with(b"data: woke\n\n"));
    assert!(matches!(sub.try_read(), Read::NotReady));
    assert!(!readable(0), "reading lowered it");
}

#[test]
fn blocking_read_times_out_then_stop_ends_after_the_last_event() {
    let engine = engine(&[("keepalive_ms", "0")]);
    let mut sub = engine.subscribe(&["s"], None).unwrap();
    assert!(matches!(sub.try_read(), Read::Data(_)));
    let started = Instant::now();
    assert!(matches!(
        sub.read_timeout(Some(Duration::from_millis(50))).unwrap(),
        Read::NotReady
    ));
    assert!(started.elapsed() >= Duration::from_millis(50));
    engine.publish("s", &Event::new("last")).unwrap();
    let stopping = Instant::now();
    engine.stop();
    assert!(
        stopping.elapsed() < Duration::from_secs(2),
        "stop does not wait for in-app readers ({:?})",
        stopping.elapsed()
    );
    let events = parse(&read_events(&mut sub, 1));
    assert_eq!(events[0].data, "last");
    // The goodbye: a retry within reconnect_jitter_ms (default 5000), then the end.
    let Read::Data(goodbye) = sub.read_timeout(Some(DEADLINE)).unwrap() else {
        panic!("no goodbye retry after stop");
    };
    let goodbye = String::from_utf8(bytes(goodbye)).unwrap();
    let delay: u32 = goodbye
        .strip_prefix("retry: ")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{goodbye:?}"))
        .parse()
        .unwrap();
    assert!(delay <= 5000, "{delay}");
    assert!(matches!(
        sub.read_timeout(Some(DEADLINE)).unwrap(),
        Read::Ended(EndReason::Stopped)
    ));
    assert!(matches!(sub.try_read(), Read::Ended(EndReason::Stopped)));
}

#[test]
fn a_reader_that_falls_behind_the_history_is_ended_as_a_slow_consumer() {
    let engine = engine(&[("history_size", "10"), ("keepalive_ms", "0")]);
    let mut sub = engine.subscribe(&["slow"], None).unwrap();
    for i in 0..100 {
        engine.publish("slow", &Event::new(&i.to_string())).unwrap();
    }
    // The first read takes the opening frame (and at most the kept history):
    // events were dropped before it, so the stream ends.
    let mut ended = None;
    for _ in 0..3 {
        if let Read::Ended(reason) = sub.read_timeout(Some(DEADLINE)).unwrap() {
            ended = Some(reason);
            break;
        }
    }
    assert_eq!(ended, Some(EndReason::SlowConsumer));
    assert_eq!(engine.stats().slow_consumers_dropped, 1);
    drop(sub);
    assert_eq!(engine.stats().connections, 0);
}

#[test]
fn keepalive_comments_when_idle() {
    let engine = engine(&[("keepalive_ms", "1000")]);
    let mut sub = engine.subscribe(&["k"], None).unwrap();
    let mut wire = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    while !wire.ends_with(b":\n") || wire.len() <= b": ok\n".len() {
        assert!(Instant::now() < deadline, "no keep-alive: {wire:?}");
        if let Read::Data(chunk) = sub.read_timeout(Some(DEADLINE)).unwrap() {
            wire.extend(bytes(chunk));
        }
    }
    assert_eq!(wire, b": ok\n:\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_readers_on_the_hosts_runtime() {
    let engine = Arc::new(engine(&[("keepalive_ms", "0")]));
    let mut readers = Vec::new();
    for _ in 0..50 {
        let mut sub = engine.subscribe(&["a", "b"], None).unwrap();
        readers.push(tokio::spawn(async move {
            let mut wire = Vec::new();
            while count_events(&wire) < 200 {
                let mut chunk = sub.next().await.expect("not ended");
                wire.extend(chunk.copy_to_bytes(chunk.remaining()));
            }
            parse(&wire).into_iter().map(|e| e.data).collect::<Vec<_>>()
        }));
    }
    for i in 0..200 {
        let topic = if i % 2 == 0 { "a" } else { "b" };
        engine.publish(topic, &Event::new(&i.to_string())).unwrap();
    }
    let expected: Vec<String> = (0..200).map(|i| i.to_string()).collect();
    for reader in readers {
        let got = support::within("a reader", reader).await.unwrap();
        assert_eq!(got, expected, "every event once, in publish order");
    }
}

#[test]
fn one_ready_set_announces_many_subscriptions() {
    let engine = engine(&[("keepalive_ms", "0")]);
    let set = ReadySet::eventfd().unwrap();
    let mut subs: Vec<Subscription> = (0..20)
        .map(|i| {
            let mut sub = engine.subscribe(&[format!("t{i}")], None).unwrap();
            sub.attach(&set, i);
            assert!(matches!(sub.try_read(), Read::Data(_)));
            assert!(matches!(sub.try_read(), Read::NotReady));
            sub
        })
        .collect();
    for i in [3, 7, 3, 11] {
        engine.publish(&format!("t{i}"), &Event::new("x")).unwrap();
    }
    let mut tokens = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    while tokens.len() < 3 {
        assert!(Instant::now() < deadline, "tokens so far: {tokens:?}");
        let fd = unsafe { BorrowedFd::borrow_raw(set.fd().unwrap()) };
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        poll(&mut fds, None).unwrap();
        set.take(&mut tokens);
    }
    tokens.sort_unstable();
    assert_eq!(tokens, [3, 7, 11], "each woken subscription once");
    for token in tokens {
        assert!(matches!(subs[token as usize].try_read(), Read::Data(_)));
    }
}
