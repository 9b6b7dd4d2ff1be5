//! Access control over real sockets, on both HTTP entries (the HTTP/1 fast
//! path and hyper's HTTP/2): tokens in each place they travel, the answers to
//! missing, bad and insufficient tokens, per-address limits behind a trusted
//! proxy, streams that end when their token expires, and publishing with a
//! token. Tokens come from the fixtures PyJWT made (see
//! `core/src/auth/fixtures`), from the `jsonwebtoken` crate, and from the
//! engine's own minter.

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use ssecast::{Engine, ErrorKind, Event};
use support::{call, engine, within, Stream, Version};

const TOKENS: &str = include_str!("../src/auth/fixtures/tokens.json");

#[derive(Deserialize)]
struct Fixtures {
    secret: String,
    tokens: std::collections::HashMap<String, Fixture>,
}

#[derive(Deserialize)]
struct Fixture {
    token: String,
}

fn fixtures() -> Fixtures {
    serde_json::from_str(TOKENS).unwrap()
}

/// A fixture token by name.
fn token(name: &str) -> String {
    fixtures().tokens[name].token.clone()
}

fn secret() -> String {
    fixtures().secret
}

/// An engine with authorization on (the fixtures' secret) and `keys`.
fn secured(keys: &[(&str, &str)]) -> Engine {
    let secret = secret();
    let mut all = vec![("jwt_secret", secret.as_str())];
    all.extend_from_slice(keys);
    engine(&all)
}

/// An HS256 token signed by the `jsonwebtoken` crate with `claims`.
fn signed(claims: serde_json::Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret().as_bytes()).unwrap();
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Writes a raw request head and returns the answer's status line.
async fn raw_status(addr: std::net::SocketAddr, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The engine may answer and close before reading all of it.
    let _ = tcp.write_all(head.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = within("the answer", tcp.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    text.lines().next().unwrap_or_default().to_owned()
}

/// Opens a stream over `version` and reads the refusal's status, headers and body.
async fn refused(
    engine: &Engine,
    version: Version,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, http::HeaderMap, serde_json::Value) {
    let mut stream = Stream::open_with(engine.local_addr(), version, path, headers).await;
    assert_ne!(stream.status, 200, "{path} was not refused");
    while stream.pull().await {}
    let body = serde_json::from_slice(&stream.raw)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&stream.raw)));
    (stream.status.as_u16(), stream.headers, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_bad_tokens_get_401_invalid_token_on_both_entries() {
    let engine = secured(&[("cors_origins", "https://app.example")]);
    let origin = ("origin", "https://app.example");
    for version in [Version::Http1, Version::Http2] {
        let (status, headers, body) =
            refused(&engine, version, "/events?topic=news/a", &[origin]).await;
        assert_eq!(status, 401, "{version:?}");
        assert_eq!(body["code"], "TOKEN_MISSING");
        assert!(body["error"].as_str().unwrap().contains("news/a"), "{body}");
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with("Bearer realm=\"ssecast\", error=\"invalid_token\""),
            "{challenge}"
        );
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(
            headers["access-control-allow-origin"], "https://app.example",
            "a page can read why it was refused"
        );

        let cases = [
            ("hs256_wrong_secret", "TOKEN_INVALID"),
            ("hs256_expired", "TOKEN_EXPIRED"),
            ("hs256_not_yet_valid", "TOKEN_INVALID"),
            ("none", "TOKEN_INVALID"),
            ("confusion_rsa", "TOKEN_INVALID"),
            ("grants_not_list", "TOKEN_INVALID"),
        ];
        for (name, code) in cases {
            let path = format!("/events?topic=news/a&token={}", token(name));
            let (status, headers, body) = refused(&engine, version, &path, &[]).await;
            assert_eq!((status, body["code"].as_str()), (401, Some(code)), "{name}");
            assert!(headers["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("error=\"invalid_token\""));
        }
    }
    assert_eq!(engine.stats().connections, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_outside_the_grants_is_403_naming_it() {
    let engine = secured(&[]);
    let auth = bearer(&token("hs256"));
    for version in [Version::Http1, Version::Http2] {
        let (status, headers, body) = refused(
            &engine,
            version,
            "/events?topic=news/a&topic=user/43/notifications",
            &[("authorization", &auth)],
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("TOPIC_FORBIDDEN"))
        );
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("\"user/43/notifications\""),
            "{body}"
        );
        assert!(headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_in_each_place_opens_its_topics() {
    let engine = secured(&[("public_topics", "status")]);
    let addr = engine.local_addr();
    let hs256 = token("hs256");
    let path = "/events?topic=user/42/notifications&topic=status";
    let auth = bearer(&hs256);
    let cookie = format!("theme=dark; ssecast_token={hs256}; other=1");
    let with_query = format!("{path}&token={hs256}");
    let mut streams = vec![
        Stream::subscribed(addr, path, &[("authorization", &auth)]).await,
        Stream::subscribed(addr, path, &[("cookie", &cookie)]).await,
        Stream::subscribed(addr, &with_query, &[]).await,
        Stream::subscribed(addr, "/events?topic=status", &[]).await,
    ];
    let mut h2 = Stream::open_with(addr, Version::Http2, path, &[("authorization", &auth)]).await;
    assert_eq!(h2.status, 200);
    h2.wait_open().await;
    streams.push(h2);
    engine
        .publish("user/42/notifications", &Event::new("for 42"))
        .unwrap();
    engine.publish("status", &Event::new("all good")).unwrap();
    for (i, stream) in streams.iter_mut().enumerate() {
        let wanted = if i == 3 { 1 } else { 2 };
        let events = stream.events(wanted).await;
        assert_eq!(events.last().unwrap().data, "all good", "stream {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_tokens_and_heads_get_clear_answers() {
    let engine = secured(&[]);
    // Over the token bound but within the request head limit: 401.
    let big = "e".repeat(10 * 1024);
    let (status, _, body) = refused(
        &engine,
        Version::Http1,
        &format!("/events?topic=news/a&token={big}"),
        &[],
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("TOKEN_TOO_LARGE"))
    );
    // A 64 KiB token is over the head limit wherever it travels.
    let huge = "e".repeat(64 * 1024);
    let addr = engine.local_addr();
    for head in [
        format!("GET /events?topic=news/a&token={huge} HTTP/1.1\r\nhost: x\r\n\r\n"),
        format!("GET /events HTTP/1.1\r\nhost: x\r\ncookie: ssecast_token={huge}\r\n\r\n"),
        format!("GET /events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {huge}\r\n\r\n"),
    ] {
        let status = raw_status(addr, &head).await;
        assert!(status.starts_with("HTTP/1.1 431"), "{status}");
    }
    // The engine keeps serving.
    let auth = bearer(&token("hs256"));
    Stream::subscribed(addr, "/events?topic=news/a", &[("authorization", &auth)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_streams_from_one_address_get_429_with_retry_after() {
    let engine = engine(&[("max_connections_per_ip", "3")]);
    let addr = engine.local_addr();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(Stream::subscribed(addr, "/events?topic=t", &[]).await);
    }
    for version in [Version::Http1, Version::Http2] {
        let (status, headers, body) = refused(&engine, version, "/events?topic=t", &[]).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (429, Some("TOO_MANY_CONNECTIONS_FROM_ADDRESS"))
        );
        assert_eq!(headers["retry-after"], "5");
    }
    // A closed stream gives its place back once the engine notices the close.
    drop(held.pop());
    within("a place to come back", async {
        loop {
            let stream = Stream::open(addr, "/events?topic=t", &[]).await;
            if stream.status == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_streams_too_fast_gets_429_with_retry_after() {
    let burst = 5;
    let engine = engine(&[
        ("connection_rate_per_ip", "1"),
        ("connection_burst_per_ip", &burst.to_string()),
    ]);
    let addr = engine.local_addr();
    let started = Instant::now();
    let mut admitted = 0;
    let mut refusal = loop {
        let stream = Stream::open(addr, "/events?topic=t", &[]).await;
        if stream.status == 429 {
            break stream;
        }
        admitted += 1;
        assert!(admitted <= 100, "never limited");
    };
    // One more start refills each second.
    let refilled = started.elapsed().as_secs() as usize + 1;
    assert!(
        (burst..=burst + refilled).contains(&admitted),
        "{admitted} admitted"
    );
    while refusal.pull().await {}
    let body: serde_json::Value = serde_json::from_slice(&refusal.raw).unwrap();
    assert_eq!(body["code"], "RATE_LIMITED");
    let wait: u64 = refusal.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_forwarded_client_is_limited() {
    let engine = engine(&[
        ("max_connections_per_ip", "1"),
        ("trusted_proxies", "127.0.0.0/8"),
    ]);
    let addr = engine.local_addr();
    let forwarded = |ip: &'static str| [("x-forwarded-for", ip)];
    let _a = Stream::subscribed(addr, "/events", &forwarded("203.0.113.1")).await;
    let _b = Stream::subscribed(addr, "/events", &forwarded("203.0.113.2")).await;
    // A forged left-most hop does not make a new client.
    let (status, ..) = refused(
        &engine,
        Version::Http1,
        "/events",
        &[("x-forwarded-for", "198.51.100.9, 203.0.113.1")],
    )
    .await;
    assert_eq!(status, 429);
    // Without trusted proxies the header is not believed: the peer is the client.
    let untrusting = support::engine(&[("max_connections_per_ip", "1")]);
    let addr = untrusting.local_addr();
    let _c = Stream::subscribed(addr, "/events", &forwarded("203.0.113.3")).await;
    let (status, ..) = refused(
        &untrusting,
        Version::Http1,
        "/events",
        &forwarded("203.0.113.4"),
    )
    .await;
    assert_eq!(status, 429, "the limit counts the real peer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_streams_from_one_address() {
    let limit = 100;
    let engine = engine(&[("max_connections_per_ip", &limit.to_string())]);
    let addr = engine.local_addr();
    let mut held = Vec::new();
    for _ in 0..limit {
        held.push(Stream::subscribed(addr, "/events?topic=t", &[]).await);
    }
    let mut refused = 0;
    let tries = 10_000 - limit;
    let attempts = futures_bounded(tries, 16, move || async move {
        call("GET", addr, "/events?topic=t", &[], "").await
    })
    .await;
    for reply in attempts {
        assert_eq!(reply.status, 429);
        assert_eq!(reply.headers["retry-after"], "5");
        refused += 1;
    }
    assert_eq!(refused, tries);
    assert_eq!(engine.stats().connections, limit);
    engine.publish("t", &Event::new("still here")).unwrap();
    for stream in held.iter_mut().take(3) {
        assert_eq!(stream.events(1).await[0].data, "still here");
    }
}

/// Runs `count` calls of `make`, `width` at a time, and returns their results.
async fn futures_bounded<F, Fut, T>(count: usize, width: usize, make: F) -> Vec<T>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send,
    T: Send + 'static,
{
    let make = std::sync::Arc::new(make);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..width)
        .map(|_| {
            let (make, next) = (make.clone(), next.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < count {
                    out.push(make().await);
                }
                out
            })
        })
        .collect();
    let mut all = Vec::with_capacity(count);
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_when_its_token_expires_and_resumes_with_a_fresh_one() {
    // The shortest keep-alive interval: the clock ticks every 250 ms, so an
    // idle stream notices quickly.
    let engine = secured(&[("keepalive_ms", "1000")]);
    let addr = engine.local_addr();
    // Accepted for two more seconds: its exp lies 28 s back, within the leeway.
    let exp = now_secs() + 2 - ssecast::TOKEN_LEEWAY.as_secs();
    let end = UNIX_EPOCH + Duration::from_secs(exp) + ssecast::TOKEN_LEEWAY;
    let short = signed(serde_json::json!({
        "sub": "7",
        "exp": exp,
        "ssecast": {"subscribe": ["user/{sub}/inbox"]},
    }));
    let path = format!("/events?topic=user/7/inbox&token={short}");
    let mut stream = Stream::subscribed(addr, &path, &[]).await;
    let first = engine.publish("user/7/inbox", &Event::new("one")).unwrap();
    let second = engine.publish("user/7/inbox", &Event::new("two")).unwrap();
    let events = stream.events(2).await;
    assert_eq!(
        (events[0].id.as_str(), events[1].id.as_str()),
        (first.as_str(), second.as_str())
    );
    while within("the stream's end", stream.next_event())
        .await
        .is_some()
    {}
    let now = SystemTime::now();
    assert!(
        now >= end,
        "ended {:?} early",
        end.duration_since(now).unwrap()
    );
    let late = now.duration_since(end).unwrap();
    assert!(late < Duration::from_secs(1), "ended {late:?} late");
    // Published while the client has no stream.
    let missed = engine
        .publish("user/7/inbox", &Event::new("three"))
        .unwrap();
    // The expired token no longer opens a stream...
    let (status, _, body) = refused(&engine, Version::Http1, &path, &[]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("TOKEN_EXPIRED"))
    );
    // ...a fresh one resumes after the last id seen, with nothing lost.
    let fresh = engine
        .subscriber_token(&["user/{sub}/inbox"], Duration::from_secs(60), Some("7"))
        .unwrap();
    let path = format!("/events?topic=user/7/inbox&token={fresh}");
    let mut resumed = Stream::subscribed(addr, &path, &[("last-event-id", &second)]).await;
    let event = resumed.events(1).await.remove(0);
    assert_eq!((event.id, event.data.as_str()), (missed, "three"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_expire_with_keepalive_off_and_never_without_exp() {
    let engine = secured(&[("keepalive_ms", "0")]);
    let addr = engine.local_addr();
    let exp = now_secs() + 1 - ssecast::TOKEN_LEEWAY.as_secs();
    let short = signed(serde_json::json!({"exp": exp, "ssecast": {"subscribe": ["a"]}}));
    let forever = signed(serde_json::json!({"ssecast": {"subscribe": ["a"]}}));
    let mut ending = Stream::subscribed(addr, &format!("/events?topic=a&token={short}"), &[]).await;
    let mut lasting =
        Stream::subscribed(addr, &format!("/events?topic=a&token={forever}"), &[]).await;
    // The clock ticks every 4 s without keep-alives.
    while within("the end", ending.next_event()).await.is_some() {}
    engine.publish("a", &Event::new("later")).unwrap();
    assert_eq!(lasting.events(1).await[0].data, "later");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_with_the_static_token_or_a_publisher_token() {
    let engine = secured(&[("publish_token", "static-s3cret")]);
    let addr = engine.local_addr();
    let mut stream = Stream::subscribed(
        addr,
        "/events?topic=chat/1",
        &[("authorization", &bearer(&token("everything")))],
    )
    .await;
    let json = ("content-type", "application/json");
    let publish = |auth: String, topic: &'static str| async move {
        let body = format!(r#"{{"topic":"{topic}","data":"hi"}}"#);
        call(
            "POST",
            addr,
            "/publish",
            &[json, ("authorization", auth.as_str())],
            body,
        )
        .await
    };
    assert_eq!(publish(bearer("static-s3cret"), "chat/1").await.status, 200);
    let minted = engine
        .publisher_token(&["chat/*"], Duration::from_secs(60))
        .unwrap();
    assert_eq!(publish(bearer(&minted), "chat/1").await.status, 200);
    let outside = publish(bearer(&minted), "news/1").await;
    assert_eq!(
        (outside.status.as_u16(), outside.json()["code"].as_str()),
        (403, Some("TOPIC_FORBIDDEN"))
    );
    assert!(outside.json()["error"].as_str().unwrap().contains("news/1"));
    let reader = engine
        .subscriber_token(&["chat/*"], Duration::from_secs(60), None)
        .unwrap();
    assert_eq!(publish(bearer(&reader), "chat/1").await.status, 403);
    let bad = publish(bearer("static-s3creT"), "chat/1").await;
    assert_eq!(
        (bad.status.as_u16(), bad.json()["code"].as_str()),
        (401, Some("TOKEN_INVALID"))
    );
    assert!(bad.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
    // The fixture's publish grant is chat/**.
    assert_eq!(publish(bearer(&token("hs256")), "chat/1").await.status, 200);
    let events = stream.events(3).await;
    assert!(events.iter().all(|e| e.data == "hi"));
    assert_eq!(engine.stats().published, 3);
}

#[test]
fn minting_needs_a_secret_and_checks_its_arguments() {
    let plain = engine(&[]);
    let e = plain
        .subscriber_token(&["a"], Duration::from_secs(60), None)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(e.message().contains("jwt_secret"), "{e}");
    let secured = secured(&[]);
    let e = secured
        .subscriber_token(&["user/{sub}"], Duration::from_secs(60), Some("a/b"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    let e = secured
        .publisher_token(&["a//b"], Duration::from_secs(60))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidTopic);
    let e = secured
        .subscriber_token(&["a"], Duration::from_millis(999), None)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
}
