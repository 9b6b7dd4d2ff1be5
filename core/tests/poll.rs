//! Long-poll (`GET /events?...&transport=poll`): one complete `200
//! text/event-stream` answer with a `Content-Length`, holding the events after
//! the client's id (at once when some are pending, else the first ones
//! published within `poll_timeout_ms`, else none), the reset signal and an
//! id-only block naming the live position when the id cannot be resumed, over
//! the HTTP/1 fast path, hyper's HTTP/1, HTTP/1.0 and h2c.

mod support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use ssecast::{Engine, Event, RESET_EVENT};
use support::{build, call, engine, request, within, Item, Parser, Reply, SseEvent, Version};

/// Long enough that a test answered before it proves the poll did not wait it out.
const NEVER_MS: &str = "60000";

fn poll_path(topics: &[&str], last_event_id: Option<&str>) -> String {
    let mut path = String::from("/events?transport=poll");
    for topic in topics {
        path.push_str(&format!("&topic={topic}"));
    }
    if let Some(id) = last_event_id {
        path.push_str(&format!("&lastEventId={id}"));
    }
    path
}

/// Polls over HTTP/1.1 (the fast path) and checks the answer's head.
async fn poll(engine: &Engine, topics: &[&str], last_event_id: Option<&str>) -> Reply {
    let addr = engine.local_addr();
    let reply = call("GET", addr, &poll_path(topics, last_event_id), &[], "").await;
    assert_complete(&reply);
    reply
}

/// A poll answer: `200 text/event-stream`, not cached, with an exact length.
fn assert_complete(reply: &Reply) {
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers["content-type"], "text/event-stream");
    assert_eq!(reply.headers["cache-control"], "no-cache");
    assert_eq!(
        reply.headers["content-length"],
        reply.body.len().to_string(),
        "Content-Length is the body's length"
    );
    assert!(reply.headers.get("transfer-encoding").is_none());
}

fn events(body: &str) -> Vec<SseEvent> {
    Parser::default()
        .feed(body.as_bytes())
        .into_iter()
        .filter_map(|item| match item {
            Item::Event(event) => Some(event),
            Item::Comment(_) => None,
        })
        .collect()
}

fn publish(engine: &Engine, topic: &str, data: &str) -> String {
    engine.publish(topic, &Event::new(data)).unwrap()
}

/// The exact frame of an engine event with `id` and `data`.
fn frame(id: &str, data: &str) -> String {
    format!("id: {id}\ndata: {data}\n\n")
}

/// The id named by a body that is exactly one id-only block.
fn position(body: &str) -> &str {
    body.strip_prefix("id: ")
        .and_then(|rest| rest.strip_suffix("\n\n"))
        .filter(|id| !id.contains('\n'))
        .unwrap_or_else(|| panic!("not one id-only block: {body:?}"))
}

/// Waits until the engine holds `n` streams or polls.
async fn wait_held(engine: &Engine, n: usize) {
    within("the poll to be held", async {
        while engine.stats().connections != n {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_events_come_at_once_in_order() {
    let engine = engine(&[("poll_timeout_ms", NEVER_MS)]);
    let ids: Vec<String> = (0..4)
        .map(|i| publish(&engine, "t", &format!("e{i}")))
        .collect();
    let reply = poll(&engine, &["t"], Some(&ids[1])).await;
    assert_eq!(reply.body, frame(&ids[2], "e2") + &frame(&ids[3], "e3"));
    // Several topics: merged in publish order, after the id.
    let other = publish(&engine, "u", "u0");
    let last = publish(&engine, "t", "e4");
    let reply = poll(&engine, &["t", "u"], Some(&ids[3])).await;
    assert_eq!(reply.body, frame(&other, "u0") + &frame(&last, "e4"));
    assert_eq!(
        engine.stats().connections,
        0,
        "a poll holds no slot after it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_poll_waits_for_the_first_event() {
    // The shortest keep-alive interval the engine accepts.
    let engine = engine(&[("poll_timeout_ms", NEVER_MS), ("keepalive_ms", "1000")]);
    let seen = publish(&engine, "w", "seen");
    let addr = engine.local_addr();
    let held =
        tokio::spawn(
            async move { call("GET", addr, &poll_path(&["w"], Some(&seen)), &[], "").await },
        );
    wait_held(&engine, 1).await;
    // Long enough for a stream to send a keep-alive comment.
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let id = publish(&engine, "w", "news");
    let reply = within("the held poll", held).await.unwrap();
    assert_complete(&reply);
    // No keep-alive comment, even though an interval passed.
    assert_eq!(reply.body, frame(&id, "news"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_poll_times_out_with_an_empty_body() {
    let engine = engine(&[("poll_timeout_ms", "300")]);
    let seen = publish(&engine, "i", "seen");
    let started = Instant::now();
    let reply = poll(&engine, &["i"], Some(&seen)).await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(reply.body, "");
    assert_eq!(reply.headers["content-length"], "0");
    // An event published after the empty answer is what the next poll gets.
    let id = publish(&engine, "i", "later");
    assert_eq!(
        poll(&engine, &["i"], Some(&seen)).await.body,
        frame(&id, "later")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_id_gets_the_reset_then_the_live_position_at_once() {
    let engine = engine(&[("poll_timeout_ms", NEVER_MS), ("history_size", "2")]);
    let first = publish(&engine, "r", "0");
    let reply = poll(&engine, &["r"], Some("no-such-id")).await;
    let signal = events(&reply.body);
    assert_eq!(signal.len(), 1, "{:?}", reply.body);
    assert_eq!(signal[0].event, RESET_EVENT);
    assert_eq!(signal[0].id, "", "the signal itself carries no id");
    let data: serde_json::Value = serde_json::from_str(&signal[0].data).unwrap();
    assert_eq!(data["reason"], "unknown-id");
    assert_eq!(data["lastEventId"], "no-such-id");
    let block = reply.body.split_once("\n\n").unwrap().1;
    let live = position(block).to_owned();
    // The position resumes exactly: no second reset, the next event only.
    let id = publish(&engine, "r", "1");
    assert_eq!(
        poll(&engine, &["r"], Some(&live)).await.body,
        frame(&id, "1")
    );
    // An id the history has lost: a gap, then the position after it.
    publish(&engine, "r", "2");
    publish(&engine, "r", "3");
    let reply = poll(&engine, &["r"], Some(&first)).await;
    assert_eq!(events(&reply.body)[0].event, RESET_EVENT);
    assert!(reply.body.contains("\"history-gap\""), "{}", reply.body);
    let live = position(reply.body.split_once("\n\n").unwrap().1).to_owned();
    let id = publish(&engine, "r", "4");
    assert_eq!(
        poll(&engine, &["r"], Some(&live)).await.body,
        frame(&id, "4")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_without_an_id_names_where_it_started() {
    let engine = engine(&[("poll_timeout_ms", "200")]);
    publish(&engine, "n", "before");
    let reply = poll(&engine, &["n"], None).await;
    let start = position(&reply.body).to_owned();
    // Published between the two polls: not lost.
    let id = publish(&engine, "n", "between");
    assert_eq!(
        poll(&engine, &["n"], Some(&start)).await.body,
        frame(&id, "between")
    );
    // With events, the block comes first and the events' ids follow it.
    let engine = support::engine(&[("poll_timeout_ms", NEVER_MS)]);
    let addr = engine.local_addr();
    let held =
        tokio::spawn(async move { call("GET", addr, &poll_path(&["n"], None), &[], "").await });
    wait_held(&engine, 1).await;
    let id = publish(&engine, "n", "live");
    let reply = within("the held poll", held).await.unwrap();
    let (block, rest) = reply.body.split_once("\n\n").unwrap();
    position(&format!("{block}\n\n"));
    assert_eq!(rest, frame(&id, "live"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_a_held_poll() {
    let engine = std::sync::Arc::new(engine(&[("poll_timeout_ms", NEVER_MS)]));
    let seen = publish(&engine, "s", "seen");
    let addr = engine.local_addr();
    let held =
        tokio::spawn(
            async move { call("GET", addr, &poll_path(&["s"], Some(&seen)), &[], "").await },
        );
    wait_held(&engine, 1).await;
    let stopper = engine.clone();
    tokio::task::spawn_blocking(move || stopper.stop())
        .await
        .unwrap();
    let reply = within("the poll to end", held).await.unwrap();
    assert_complete(&reply);
    assert_eq!(reply.body, "");
}

#[test]
fn over_raw_http1_the_answer_has_an_exact_length_and_the_connection_closes() {
    let engine = engine(&[("poll_timeout_ms", NEVER_MS)]);
    let seen = publish(&engine, "h", "seen");
    let id = publish(&engine, "h", "é\nmore");
    for version in ["HTTP/1.1", "HTTP/1.0"] {
        let mut socket = std::net::TcpStream::connect(engine.local_addr()).unwrap();
        socket.set_read_timeout(Some(support::DEADLINE)).unwrap();
        let path = poll_path(&["h"], Some(&seen));
        socket
            .write_all(format!("GET {path} {version}\r\nHost: localhost\r\n\r\n").as_bytes())
            .unwrap();
        let mut reply = Vec::new();
        socket
            .read_to_end(&mut reply)
            .expect("the engine closes after the answer");
        let reply = String::from_utf8(reply).unwrap();
        let (head, body) = reply.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        let expected = frame(&id, "é\ndata: more");
        assert_eq!(body, expected);
        assert!(
            head.contains(&format!("\r\ncontent-length: {}\r\n", expected.len())),
            "{head}"
        );
        assert!(head.contains("\r\nconnection: close"), "{head}");
        assert!(!head.contains("transfer-encoding"), "{head}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_http1_and_h2c_answer_the_same() {
    let engine = engine(&[("poll_timeout_ms", NEVER_MS)]);
    let addr = engine.local_addr();
    let seen = publish(&engine, "v", "seen");
    let id = publish(&engine, "v", "both");
    let path = poll_path(&["v"], Some(&seen));
    // A GET with a body is served by hyper rather than the fast path.
    let cases = [
        (Version::Http1, build("GET", addr, &path, &[], "x")),
        (Version::Http2, build("GET", addr, &path, &[], Bytes::new())),
    ];
    for (version, req) in cases {
        let response = request(addr, version, req).await;
        let headers = response.headers().clone();
        let body = within("body", response.into_body().collect())
            .await
            .unwrap()
            .to_bytes();
        let reply = Reply {
            status: http::StatusCode::OK,
            headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        };
        assert_complete(&reply);
        assert_eq!(reply.body, frame(&id, "both"), "{version:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_transport_is_a_400_naming_it() {
    let engine = engine(&[]);
    let addr = engine.local_addr();
    for version in [Version::Http1, Version::Http2] {
        let req = build(
            "GET",
            addr,
            "/events?transport=websocket",
            &[],
            Bytes::new(),
        );
        let response = request(addr, version, req).await;
        assert_eq!(response.status(), 400, "{version:?}");
        let body = within("body", response.into_body().collect())
            .await
            .unwrap()
            .to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "BAD_REQUEST");
        assert!(
            body["error"].as_str().unwrap().contains("\"websocket\""),
            "{body}"
        );
    }
    // `transport=stream` is the default, spelt out.
    let mut stream =
        support::Stream::subscribed(addr, "/events?transport=stream&topic=x", &[]).await;
    let id = publish(&engine, "x", "streamed");
    assert_eq!(stream.events(1).await[0].id, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_gone_during_a_held_poll_releases_it() {
    let engine = engine(&[("poll_timeout_ms", NEVER_MS)]);
    let mut socket = tokio::net::TcpStream::connect(engine.local_addr())
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut socket,
        b"GET /events?transport=poll&topic=g HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    .await
    .unwrap();
    wait_held(&engine, 1).await;
    drop(socket);
    wait_held(&engine, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_follow_the_stream_rules() {
    let engine = engine(&[
        ("cors_origins", "https://app.example"),
        ("max_connections", "1"),
        ("poll_timeout_ms", NEVER_MS),
    ]);
    let addr = engine.local_addr();
    let seen = publish(&engine, "c", "seen");
    let id = publish(&engine, "c", "cors");
    let path = poll_path(&["c"], Some(&seen));
    let allowed = call("GET", addr, &path, &[("origin", "https://app.example")], "").await;
    assert_complete(&allowed);
    assert_eq!(allowed.body, frame(&id, "cors"));
    assert_eq!(
        allowed.headers["access-control-allow-origin"],
        "https://app.example"
    );
    let refused = call(
        "GET",
        addr,
        &path,
        &[("origin", "https://evil.example")],
        "",
    )
    .await;
    assert_eq!(refused.status, 403);
    // A held poll counts against max_connections like a stream.
    let _stream = support::Stream::subscribed(addr, "/events", &[]).await;
    let full = call("GET", addr, &path, &[("origin", "https://app.example")], "").await;
    assert_eq!(full.status, 503);
    assert_eq!(full.headers["retry-after"], "5");
    assert_eq!(full.headers["access-control-expose-headers"], "Retry-After");
}
