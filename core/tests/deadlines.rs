//! Every connection state has a deadline: connections that never finish
//! opening, idle HTTP/1 keep-alive and HTTP/2 connections, and request bodies
//! sent slowly are closed in time, with descriptors measured from /proc, while
//! `/healthz` keeps answering.

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use ssecast::Event;
use support::{engine, healthy, open_fds, raw, read_to_close, within, Stream, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HEAD_MS: u64 = 600;
const IDLE_MS: u64 = 900;
/// Descriptors are counted process-wide: one test at a time.
static COUNTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How late a deadline may fire on a loaded machine.
const SLACK: Duration = Duration::from_secs(3);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Asserts that `elapsed` lies between `deadline` and `deadline + SLACK`.
fn assert_on_time(what: &str, elapsed: Duration, deadline: Duration) {
    assert!(
        elapsed >= deadline.mul_f64(0.9) && elapsed <= deadline + SLACK,
        "{what} after {elapsed:?}, deadline {deadline:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_finish_opening_are_closed_at_the_head_deadline() {
    const EACH: usize = 40;
    let _one_at_a_time = COUNTING.lock().await;
    let engine = engine(&[("head_timeout_ms", &HEAD_MS.to_string())]);
    let addr = engine.local_addr();
    let before = open_fds();
    let openings: [&[u8]; 3] = [
        b"P",
        b"PRI * HTTP/2.0\r\n",
        b"GET /events HTTP/1.1\r\nhost: localhost\r\n",
    ];
    let start = Instant::now();
    let mut attackers = Vec::new();
    for opening in openings {
        for _ in 0..EACH {
            let mut socket = raw(addr).await;
            socket.write_all(opening).await.unwrap();
            attackers.push(socket);
        }
    }
    let held = attackers.len();
    assert!(healthy(addr).await, "/healthz answers during the attack");
    for socket in &mut attackers {
        assert!(read_to_close(socket).await.is_empty(), "no answer, a close");
    }
    assert_on_time("every opening closed", start.elapsed(), ms(HEAD_MS));
    // The engine let go of its side of every connection; ours are still open.
    let fds = open_fds();
    assert!(
        fds <= before + held + 4,
        "{fds} descriptors open with {held} client sockets; {before} before the attack"
    );
    drop(attackers);
    assert!(open_fds() <= before + 4);
    assert!(healthy(addr).await);
}

/// Opens an h2c connection; returns the request sender and a task that ends
/// when the server closes the connection.
async fn h2c(
    addr: std::net::SocketAddr,
) -> (
    hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    tokio::task::JoinHandle<Instant>,
) {
    let io = TokioIo::new(raw(addr).await);
    let (sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
        .await
        .expect("h2c handshake");
    let closed = tokio::spawn(async move {
        let _ = conn.await;
        Instant::now()
    });
    (sender, closed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_connections_without_streams_are_closed() {
    let _one_at_a_time = COUNTING.lock().await;
    let engine = engine(&[
        ("head_timeout_ms", &HEAD_MS.to_string()),
        ("idle_timeout_ms", &IDLE_MS.to_string()),
    ]);
    let addr = engine.local_addr();

    // The preface and settings, then no request: the head deadline.
    let start = Instant::now();
    let (_silent, closed) = h2c(addr).await;
    let closed_at = within("close", closed).await.unwrap();
    assert_on_time(
        "a connection without a request",
        closed_at - start,
        ms(HEAD_MS),
    );

    // One request, then nothing: the idle deadline, counted from its end.
    let (mut sender, closed) = h2c(addr).await;
    let request = support::build("GET", addr, "/healthz", &[], Bytes::new());
    let response = within("health", sender.send_request(request))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(body.starts_with(b"{"), "{body:?}");
    let answered = Instant::now();
    let closed_at = within("close", closed).await.unwrap();
    assert_on_time("an idle connection", closed_at - answered, ms(IDLE_MS));

    // A connection with an open stream is not idle.
    let mut stream = Stream::open_with(addr, Version::Http2, "/events?topic=h2", &[]).await;
    stream.wait_open().await;
    tokio::time::sleep(ms(IDLE_MS * 2)).await;
    engine.publish("h2", &Event::new("still here")).unwrap();
    assert_eq!(stream.events(1).await[0].data, "still here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_keep_alive_waits_at_most_the_head_deadline_for_the_next_request() {
    let _one_at_a_time = COUNTING.lock().await;
    let engine = engine(&[("head_timeout_ms", &HEAD_MS.to_string())]);
    let mut socket = raw(engine.local_addr()).await;
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 256];
    let n = within("answer", socket.read(&mut head)).await.unwrap();
    assert!(head[..n].starts_with(b"HTTP/1.1 200"));
    let answered = Instant::now();
    read_to_close(&mut socket).await;
    assert_on_time("a keep-alive connection", answered.elapsed(), ms(HEAD_MS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_body_sent_slowly_is_answered_408() {
    let _one_at_a_time = COUNTING.lock().await;
    const BODY_MS: u64 = 800;
    let engine = engine(&[
        ("publish_token", "tok"),
        ("body_timeout_ms", &BODY_MS.to_string()),
    ]);
    let addr = engine.local_addr();
    let mut socket = raw(addr).await;
    let body = format!(r#"{{"topic":"t","data":"{}"}}"#, "x".repeat(200));
    let head = format!(
        "POST /publish HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer tok\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let start = Instant::now();
    let (mut reader, mut writer) = socket.into_split();
    // One byte every 100 ms: the whole body would take 20 s.
    let trickle = tokio::spawn(async move {
        for byte in body.bytes() {
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(ms(100)).await;
        }
    });
    let mut answer = Vec::new();
    within("the 408", reader.read_to_end(&mut answer))
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");
    assert_on_time("the slow body", start.elapsed(), ms(BODY_MS));
    trickle.abort();
    assert_eq!(engine.stats().published, 0);
    assert!(healthy(addr).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heads_with_bare_line_feeds_are_answered_at_once() {
    let _one_at_a_time = COUNTING.lock().await;
    // The default head deadline is 10 s: an answer in time was not a timeout.
    let engine = engine(&[]);
    let addr = engine.local_addr();
    for (request, answer) in [
        (
            &b"GET /healthz HTTP/1.1\nhost: localhost\n\n"[..],
            "HTTP/1.1 200",
        ),
        (
            b"GET /events?topic=lf HTTP/1.1\nhost: localhost\n\n",
            "HTTP/1.1 200",
        ),
    ] {
        let start = Instant::now();
        let mut socket = raw(addr).await;
        socket.write_all(request).await.unwrap();
        let mut head = [0u8; 512];
        let n = within("answer", socket.read(&mut head)).await.unwrap();
        let text = String::from_utf8_lossy(&head[..n]);
        assert!(text.starts_with(answer), "{request:?}: {text}");
        assert!(start.elapsed() < Duration::from_secs(2), "{request:?}");
    }
}
