//! Operations: `GET /metrics` against a known workload on every transport, its
//! token and separate listener, concurrent scrapes during a publish storm,
//! `/readyz`, `drain`, and the jittered `retry:` that stop and drain send.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use ssecast::{Engine, ErrorKind, Event};
use support::{build, call, engine, request, within, Stream, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The value of the sample `series` (name and labels as exported).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {series} in\n{text}"))
        .parse()
        .unwrap_or_else(|e| panic!("{series}: {e}"))
}

/// Scrapes `/metrics` over `version` with `headers`; returns status, content type and body.
async fn scrape(
    addr: SocketAddr,
    version: Version,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let response = request(
        addr,
        version,
        build("GET", addr, "/metrics", headers, Bytes::new()),
    )
    .await;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = within("metrics body", response.into_body().collect())
        .await
        .unwrap()
        .to_bytes();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

async fn metrics_text(addr: SocketAddr) -> String {
    let (status, _, body) = scrape(addr, Version::Http1, &[]).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Sends `requests` on a new connection and returns it once a stream's first
/// frame arrived.
async fn raw_stream(addr: SocketAddr, requests: &str) -> tokio::net::TcpStream {
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(requests.as_bytes()).await.unwrap();
    read_until(&mut socket, ": ok", 1).await;
    socket
}

/// Reads until `needle` has arrived `count` times.
async fn read_until(socket: &mut tokio::net::TcpStream, needle: &str, count: usize) {
    let mut seen = String::new();
    within(&format!("{count} x {needle:?}"), async {
        while seen.matches(needle).count() < count {
            let mut buf = [0u8; 4096];
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed after {seen:?}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_known_workload_on_every_transport() {
    const EVENTS: usize = 5;
    let engine = engine(&[
        ("cors_origins", "https://app.example"),
        ("publish_token", "p"),
        ("poll_timeout_ms", "50"),
    ]);
    let addr = engine.local_addr();
    // The fast path takes a connection whose first request is a stream request
    // in origin form; hyper takes a stream request after another request, one in
    // absolute form (as the test client sends) and HTTP/2.
    let mut fast = raw_stream(
        addr,
        "GET /events?topic=w HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    .await;
    let mut hyper1 = raw_stream(
        addr,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nGET /events?topic=w HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    .await;
    let mut h2 = Stream::open_with(addr, Version::Http2, "/events?topic=w", &[]).await;
    h2.wait_open().await;
    // A reset, a malformed request and a refused origin.
    let mut resumed =
        Stream::subscribed(addr, "/events?topic=w", &[("last-event-id", "gone-1")]).await;
    assert_eq!(
        call("GET", addr, "/events?topic=", &[], "").await.status,
        400
    );
    let foreign = [("origin", "https://evil.example")];
    assert_eq!(call("GET", addr, "/events", &foreign, "").await.status, 403);
    // A host the engine does not serve (DNS rebinding).
    let mut rebound = tokio::net::TcpStream::connect(addr).await.unwrap();
    rebound
        .write_all(b"GET /events HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    within("the 421", rebound.read_to_string(&mut answer))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 421"), "{answer}");
    // Publishes refused by the token check.
    let json = ("content-type", "application/json");
    let body = r#"{"topic":"w","data":"x"}"#;
    assert_eq!(
        call("POST", addr, "/publish", &[json], body).await.status,
        401
    );
    let wrong = ("authorization", "Bearer q");
    assert_eq!(
        call("POST", addr, "/publish", &[json, wrong], body)
            .await
            .status,
        401
    );

    // An in-app subscription, read by this host.
    let mut inapp = engine.subscribe(&["w"], None).unwrap();
    for i in 0..EVENTS {
        engine
            .publish("w", &Event::new(&format!("event {i}")))
            .unwrap();
    }
    let mut read = String::new();
    within("the in-app events", async {
        while read.matches("data: event").count() < EVENTS {
            let chunk = inapp.next().await.expect("the subscription is open");
            read.push_str(std::str::from_utf8(&chunk.into_bytes()).unwrap());
        }
    })
    .await;
    assert_eq!(h2.events(EVENTS).await.len(), EVENTS);
    assert_eq!(resumed.events(EVENTS + 1).await[0].event, "ssecast-reset");
    read_until(&mut fast, "data: event", EVENTS).await;
    read_until(&mut hyper1, "data: event", EVENTS).await;
    // A long-poll that finds nothing within its wait.
    let poll = call("GET", addr, "/events?topic=w&transport=poll", &[], "").await;
    assert_eq!(poll.status, 200);

    let text = metrics_text(addr).await;
    for (series, value) in [
        ("ssecast_streams_open{transport=\"http1\"}", 1.0),
        ("ssecast_streams_open{transport=\"http2\"}", 1.0),
        ("ssecast_streams_open{transport=\"http1_hyper\"}", 2.0),
        ("ssecast_streams_open{transport=\"inapp\"}", 1.0),
        ("ssecast_streams_opened_total{transport=\"inapp\"}", 1.0),
        (
            "ssecast_streams_opened_total{transport=\"http1_hyper\"}",
            2.0,
        ),
        ("ssecast_streams_opened_total{transport=\"poll\"}", 1.0),
        ("ssecast_streams_open{transport=\"poll\"}", 0.0),
        ("ssecast_events_published_total", EVENTS as f64),
        ("ssecast_events_delivered_total", (5 * EVENTS) as f64),
        ("ssecast_resets_total{reason=\"unknown-id\"}", 1.0),
        ("ssecast_streams_refused_total{reason=\"bad_request\"}", 1.0),
        ("ssecast_streams_refused_total{reason=\"origin\"}", 1.0),
        ("ssecast_streams_refused_total{reason=\"host\"}", 1.0),
        ("ssecast_streams_refused_total{reason=\"max_topics\"}", 0.0),
        ("ssecast_topics", 1.0),
        ("ssecast_auth_failures_total{reason=\"token_missing\"}", 1.0),
        ("ssecast_auth_failures_total{reason=\"token_invalid\"}", 1.0),
        ("ssecast_auth_failures_total{reason=\"token_expired\"}", 0.0),
        (
            "ssecast_rate_limited_total{reason=\"connection_rate\"}",
            0.0,
        ),
        ("ssecast_slow_consumers_total", 0.0),
        ("ssecast_stream_duration_seconds_count", 1.0),
    ] {
        assert_eq!(sample(&text, series), value, "{series}");
    }
    assert!(sample(&text, "ssecast_publish_to_write_seconds_count") >= 1.0);
    assert!(sample(&text, "ssecast_delivered_bytes_total") > (5 * EVENTS * 20) as f64);

    // The same counters for the host, and closing streams counts their duration.
    drop((fast, h2, hyper1, resumed, inapp));
    let stats = within("the streams to close", async {
        loop {
            let stats = engine.stats();
            if stats.connections == 0 {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(
        (
            stats.streams_opened,
            stats.streams_refused,
            stats.events_delivered,
            stats.resets_sent,
            stats.published,
            stats.auth_failures,
        ),
        (6, 3, 5 * EVENTS as u64, 1, EVENTS as u64, 2)
    );
    let text = metrics_text(addr).await;
    assert_eq!(sample(&text, "ssecast_stream_duration_seconds_count"), 6.0);
    assert_eq!(
        sample(&text, "ssecast_streams_open{transport=\"http2\"}"),
        0.0
    );
    assert_eq!(
        sample(&text, "ssecast_delivered_bytes_total"),
        stats.bytes_delivered as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_token_and_a_listener_of_their_own() {
    let engine = engine(&[
        ("metrics_bind", "127.0.0.1:0"),
        ("metrics_token", "m3trics"),
    ]);
    let ops = engine.metrics_addr().expect("a metrics listener");
    assert_ne!(ops, engine.local_addr());
    assert_eq!(
        call("GET", engine.local_addr(), "/metrics", &[], "")
            .await
            .status,
        404,
        "metrics leave the public port"
    );
    let (status, _, body) = scrape(ops, Version::Http1, &[]).await;
    assert_eq!(status, 401, "{body}");
    let missing = call("GET", ops, "/metrics", &[], "").await;
    assert!(
        missing.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=\"ssecast\""),
        "{:?}",
        missing.headers
    );
    for wrong in ["Bearer m3tric", "Bearer m3trics2", "Basic bTN0cmljcw=="] {
        let (status, _, body) = scrape(ops, Version::Http1, &[("authorization", wrong)]).await;
        assert_eq!(status, 401, "{wrong}: {body}");
        assert!(
            !body.contains("m3trics"),
            "the answer quotes no token: {body}"
        );
    }
    let auth = ("authorization", "Bearer m3trics");
    let (status, content_type, body) = scrape(ops, Version::Http1, &[auth]).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert!(body.contains("# TYPE ssecast_events_published_total counter"));
    // The refused scrapes count as auth failures ("Basic" carries no bearer).
    assert_eq!(
        sample(
            &body,
            "ssecast_auth_failures_total{reason=\"token_missing\"}"
        ),
        3.0
    );
    assert_eq!(
        sample(
            &body,
            "ssecast_auth_failures_total{reason=\"token_invalid\"}"
        ),
        2.0
    );
    let openmetrics = ("accept", "application/openmetrics-text;version=1.0.0");
    let (_, content_type, body) = scrape(ops, Version::Http1, &[auth, openmetrics]).await;
    assert!(content_type.starts_with("application/openmetrics-text"));
    assert!(body.ends_with("# EOF\n"));
    // h2c, prior knowledge.
    let (status, _, body) = scrape(ops, Version::Http2, &[auth]).await;
    assert_eq!(status, 200);
    assert!(body.contains("ssecast_topics 0"));
    // The listener serves the probes and nothing else.
    assert_eq!(call("GET", ops, "/healthz", &[], "").await.status, 200);
    assert_eq!(
        call("GET", ops, "/readyz", &[], "").await.json()["status"],
        "ready"
    );
    assert_eq!(call("GET", ops, "/events", &[], "").await.status, 404);
    assert_eq!(call("POST", ops, "/metrics", &[], "").await.status, 405);
    engine.stop();
    assert!(
        tokio::net::TcpStream::connect(ops).await.is_err(),
        "stop closes it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_scrapes_during_a_publish_storm() {
    let engine = Arc::new(engine(&[("history_size", "100000")]));
    let addr = engine.local_addr();
    let mut readers = Vec::new();
    for _ in 0..10 {
        readers.push(Stream::subscribed(addr, "/events?topic=storm", &[]).await);
    }
    let storming = Arc::new(AtomicBool::new(true));
    let publisher = std::thread::spawn({
        let (engine, storming) = (engine.clone(), storming.clone());
        move || {
            let mut n = 0u64;
            while storming.load(Ordering::Relaxed) {
                engine
                    .publish("storm", &Event::new("x".repeat(64).as_str()))
                    .unwrap();
                n += 1;
            }
            n
        }
    });
    let drain_readers = tokio::spawn(async move {
        for reader in &mut readers {
            reader.pull().await;
        }
        readers
    });
    let scrapers: Vec<_> = (0..50)
        .map(|i| {
            tokio::spawn(async move {
                let version = if i % 5 == 0 {
                    Version::Http2
                } else {
                    Version::Http1
                };
                let mut last = 0.0;
                for _ in 0..4 {
                    let (status, _, body) = scrape(addr, version, &[]).await;
                    assert_eq!(status, 200);
                    for line in body.lines().filter(|l| !l.starts_with('#')) {
                        let value = line.rsplit_once(' ').expect(line).1;
                        value.parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
                    }
                    let published = sample(&body, "ssecast_events_published_total");
                    assert!(published >= last, "a counter went backwards");
                    last = published;
                }
                last
            })
        })
        .collect();
    let mut most = 0.0f64;
    for scraper in scrapers {
        most = most.max(within("scrapes", scraper).await.unwrap());
    }
    storming.store(false, Ordering::Relaxed);
    let published = publisher.join().unwrap();
    within("readers", drain_readers).await.unwrap();
    assert!(most > 0.0 && most <= published as f64);
    assert_eq!(engine.stats().published, published);
}

/// Reads a stream to its end; returns its events' data, the last `retry:`
/// and when it ended.
async fn read_to_end(mut stream: Stream) -> (Vec<String>, Option<u64>, Instant) {
    let mut data = Vec::new();
    while let Some(event) = stream.next_event().await {
        data.push(event.data);
    }
    (data, stream.retry(), Instant::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_closes_streams_gradually_and_readyz_says_so() {
    const STREAMS: usize = 40;
    const WINDOW: Duration = Duration::from_millis(2_000);
    let engine = Arc::new(engine(&[
        ("reconnect_jitter_ms", "1000"),
        ("keepalive_ms", "0"),
    ]));
    let addr = engine.local_addr();
    let mut readers = Vec::new();
    for _ in 0..STREAMS {
        let stream = Stream::subscribed(addr, "/events?topic=d", &[]).await;
        readers.push(tokio::spawn(read_to_end(stream)));
    }
    assert_eq!(call("GET", addr, "/readyz", &[], "").await.status, 200);
    engine.publish("d", &Event::new("before")).unwrap();

    let started = Instant::now();
    let drainer = {
        let engine = engine.clone();
        tokio::task::spawn_blocking(move || engine.drain(WINDOW))
    };
    within("the drain to start", async {
        while !engine.is_draining() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let ready = call("GET", addr, "/readyz", &[], "").await;
    assert_eq!(
        (ready.status.as_u16(), ready.json()["status"].as_str()),
        (503, Some("draining"))
    );
    assert_eq!(
        call("GET", addr, "/healthz", &[], "").await.status,
        200,
        "still alive"
    );
    // A new stream is told to come back later, elsewhere.
    let refused = call("GET", addr, "/events?topic=d", &[], "").await;
    assert_eq!(refused.status, 200);
    assert_eq!(refused.headers["content-type"], "text/event-stream");
    let retry: u32 = refused
        .body
        .strip_prefix("retry: ")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(retry <= 1000, "{retry}");
    // Publishing goes on while draining.
    engine.publish("d", &Event::new("during")).unwrap();

    let mut ends = Vec::new();
    for reader in readers {
        let (data, retry, ended) = within("a drained stream", reader).await.unwrap();
        assert_eq!(
            data.first().map(String::as_str),
            Some("before"),
            "nothing lost"
        );
        assert!(retry.is_some_and(|ms| ms <= 1000), "{retry:?}");
        ends.push(ended.duration_since(started));
    }
    within("drain to return", drainer).await.unwrap().unwrap();
    // drain returns once the last stream closed, which is at least 0.6 of the way
    // through (the last of 40 uniform turns, as below).
    let took = started.elapsed();
    assert!(
        took >= WINDOW.mul_f64(0.6) && took < WINDOW + Duration::from_secs(3),
        "{took:?}"
    );
    ends.sort();
    // Uniform turns over the window: 40 streams all in one half has odds of 1e-9.
    let (first, last) = (ends[0], ends[STREAMS - 1]);
    assert!(
        first < WINDOW.mul_f64(0.4),
        "first close at {first:?}: {ends:?}"
    );
    assert!(
        last > WINDOW.mul_f64(0.6),
        "last close at {last:?}: {ends:?}"
    );
    let stats = engine.stats();
    assert_eq!(stats.connections, 0);
    assert_eq!(stats.streams_refused, 1);
    assert_eq!(
        sample(
            &metrics_text(addr).await,
            "ssecast_streams_refused_total{reason=\"draining\"}"
        ),
        1.0
    );

    // Again: the same (finished) drain, at once. After stop: an error.
    let again = Instant::now();
    engine.drain(Duration::from_secs(60)).unwrap();
    assert!(again.elapsed() < Duration::from_secs(1));
    engine.stop();
    let err = engine.drain(Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_of_zero_closes_every_stream_at_once() {
    let engine = Arc::new(engine(&[("reconnect_jitter_ms", "0")]));
    let addr = engine.local_addr();
    let mut readers = Vec::new();
    for _ in 0..20 {
        let stream = Stream::subscribed(addr, "/events?topic=z", &[]).await;
        readers.push(tokio::spawn(read_to_end(stream)));
    }
    let started = Instant::now();
    let drained = {
        let engine = engine.clone();
        tokio::task::spawn_blocking(move || engine.drain(Duration::ZERO))
    };
    within("drain(0)", drained).await.unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    for reader in readers {
        let (_, retry, _) = within("a stream", reader).await.unwrap();
        assert_eq!(retry, None, "reconnect_jitter_ms = 0 sends no retry");
    }
    assert_eq!(engine.stats().connections, 0);
    let refused = call("GET", addr, "/events", &[], "").await;
    assert_eq!(refused.body, ": draining\n");
    engine
        .publish("z", &Event::new("still publishing"))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_sends_each_stream_a_random_retry_within_the_jitter() {
    const STREAMS: usize = 200;
    const JITTER: u64 = 10_000;
    let engine: Engine = engine(&[
        ("reconnect_jitter_ms", "10000"),
        ("max_connections", "1000"),
    ]);
    let addr = engine.local_addr();
    let mut readers = Vec::new();
    for _ in 0..STREAMS {
        let stream = Stream::subscribed(addr, "/events?topic=j", &[]).await;
        readers.push(tokio::spawn(read_to_end(stream)));
    }
    engine.publish("j", &Event::new("last words")).unwrap();
    tokio::task::spawn_blocking(move || engine.stop())
        .await
        .unwrap();
    let mut deciles = [0usize; 10];
    for reader in readers {
        let (data, retry, _) = within("a stopped stream", reader).await.unwrap();
        assert_eq!(data, ["last words"], "events first, then the retry");
        let retry = retry.expect("a retry before the end");
        assert!(retry <= JITTER);
        deciles[(retry * 10 / (JITTER + 1)) as usize] += 1;
    }
    // 200 uniform draws: every tenth of the window gets some, none gets most.
    assert!(deciles.iter().all(|&n| n > 0 && n < 60), "{deciles:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_ends_in_app_subscriptions_with_a_goodbye_retry() {
    let engine = Arc::new(engine(&[("reconnect_jitter_ms", "2000")]));
    let mut drained = engine.subscribe(&["d"], None).unwrap();
    engine
        .publish("d", &Event::new("before the drain"))
        .unwrap();
    let started = {
        let engine = engine.clone();
        tokio::task::spawn_blocking(move || engine.drain(Duration::ZERO))
    };
    within("drain(0)", started).await.unwrap().unwrap();
    // Everything published before its turn, then a retry within the jitter,
    // then the end, with why.
    let mut read = String::new();
    within("the drained subscription's end", async {
        while let Some(chunk) = drained.next().await {
            read.push_str(std::str::from_utf8(&chunk.into_bytes()).unwrap());
        }
    })
    .await;
    assert!(read.contains("data: before the drain\n"), "{read:?}");
    let retry: u64 = read
        .lines()
        .find_map(|line| line.strip_prefix("retry: "))
        .unwrap_or_else(|| panic!("no retry in {read:?}"))
        .parse()
        .unwrap();
    assert!(retry <= 2000, "{retry}");
    assert_eq!(drained.end_reason(), Some(ssecast::EndReason::Drained));
    // One opened during the drain says goodbye at once.
    let mut late = engine.subscribe(&["d"], None).unwrap();
    let mut read = String::new();
    within("the late subscription's end", async {
        while let Some(chunk) = late.next().await {
            read.push_str(std::str::from_utf8(&chunk.into_bytes()).unwrap());
        }
    })
    .await;
    assert!(
        read.starts_with(": ok\n") && read.contains("retry: "),
        "{read:?}"
    );
    assert_eq!(late.end_reason(), Some(ssecast::EndReason::Drained));
}
