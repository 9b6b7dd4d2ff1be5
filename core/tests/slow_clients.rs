//! Clients that stop reading, or read a byte at a time, are closed: after
//! `write_timeout_ms` without taking a byte, or as soon as an event they have
//! not been sent whole leaves the history. They resume from history when they
//! come back; honest clients are not affected.

mod support;

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use ssecast::Event;
use support::{engine, eventually, healthy, raw, stuck_client, within, Stream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

const WRITE_TIMEOUT: Duration = Duration::from_millis(700);
const SLACK: Duration = Duration::from_secs(3);

fn big(text: &str) -> String {
    format!("{text} {}", "b".repeat(256 * 1024))
}

/// An engine that keeps plenty of history: only the write deadline closes a
/// stuck stream here.
fn engine_with_write_timeout() -> ssecast::Engine {
    engine(&[
        ("write_timeout_ms", &WRITE_TIMEOUT.as_millis().to_string()),
        ("send_buffer_bytes", "65536"),
        ("keepalive_ms", "0"),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http1_client_that_takes_no_byte_is_closed_at_the_write_deadline() {
    let engine = engine_with_write_timeout();
    let addr = engine.local_addr();
    let first = engine.publish("t", &Event::new("first")).unwrap();
    let mut stuck = stuck_client(addr, "/events?topic=t").await;
    engine.publish("t", &Event::new(&big("big"))).unwrap();
    let published = Instant::now();
    eventually("the stuck stream to close", || {
        engine.stats().connections == 0
    })
    .await;
    let closed_after = published.elapsed();
    assert!(
        closed_after >= WRITE_TIMEOUT.mul_f64(0.9) && closed_after <= WRITE_TIMEOUT + SLACK,
        "closed after {closed_after:?}"
    );
    assert_eq!(engine.stats().slow_consumers_dropped, 1);
    // The client sees the end of its stream once it reads again...
    let mut rest = Vec::new();
    within("the end of the stuck stream", stuck.read_to_end(&mut rest))
        .await
        .unwrap();
    // ...and resumes from history, getting the event it missed whole.
    let mut back = Stream::subscribed(addr, "/events?topic=t", &[("last-event-id", &first)]).await;
    assert_eq!(back.events(1).await[0].data, big("big"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_stream_with_a_closed_window_is_reset_at_the_write_deadline() {
    let engine = engine_with_write_timeout();
    let addr = engine.local_addr();
    let io = TokioIo::new(raw(addr).await);
    let (mut sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(8 * 1024)
        .handshake(io)
        .await
        .expect("h2c handshake");
    tokio::spawn(conn);
    let request = support::build("GET", addr, "/events?topic=t", &[], Bytes::new());
    let stuck = within("the stream", sender.send_request(request))
        .await
        .unwrap();
    assert_eq!(stuck.status(), 200);
    engine.publish("t", &Event::new(&big("big"))).unwrap();
    let published = Instant::now();
    eventually("the stuck stream to be reset", || {
        engine.stats().connections == 0
    })
    .await;
    let reset_after = published.elapsed();
    assert!(
        reset_after >= WRITE_TIMEOUT.mul_f64(0.9) && reset_after <= WRITE_TIMEOUT + SLACK,
        "reset after {reset_after:?}"
    );
    // The connection, whose socket kept up, still serves.
    let request = support::build("GET", addr, "/healthz", &[], Bytes::new());
    let health = within("health", sender.send_request(request))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    drop(stuck);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_reading_a_trickle_is_closed_once_it_falls_behind_the_history() {
    let engine = engine(&[
        ("history_size", "4"),
        ("send_buffer_bytes", "65536"),
        ("keepalive_ms", "0"),
        ("write_timeout_ms", "600000"),
    ]);
    let addr = engine.local_addr();
    let mut honest = Stream::subscribed(addr, "/events?topic=t", &[]).await;
    let mut slow = stuck_client(addr, "/events?topic=t").await;
    // A few bytes every few milliseconds: it never stops taking bytes, so the
    // write deadline never passes; it just falls behind.
    let reader = tokio::spawn(async move {
        let mut buf = [0u8; 256];
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    });
    let start = Instant::now();
    let mut published = 0;
    while engine.stats().slow_consumers_dropped == 0 {
        assert!(start.elapsed() < Duration::from_secs(15), "never closed");
        engine
            .publish("t", &Event::new(&big(&published.to_string())))
            .unwrap();
        assert_eq!(
            honest.events(1).await[0].data,
            big(&published.to_string()),
            "the honest client gets every event"
        );
        published += 1;
    }
    within("the slow stream to end", reader).await.unwrap();
    assert_eq!(
        engine.stats().connections,
        1,
        "only the honest stream is left"
    );
    assert!(healthy(addr).await);
}

/// A socket whose reads can be held back (they do not complete while paused).
struct Pausable {
    tcp: tokio::net::TcpStream,
    pause: Arc<Pause>,
}

/// The switch of a [`Pausable`] socket.
#[derive(Default)]
struct Pause {
    paused: AtomicBool,
    reader: std::sync::Mutex<Option<std::task::Waker>>,
}

impl Pause {
    fn set(&self, paused: bool) {
        self.paused.store(paused, Ordering::Release);
        if let Some(reader) = self.reader.lock().unwrap().take() {
            reader.wake();
        }
    }
}

impl AsyncRead for Pausable {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.pause.paused.load(Ordering::Acquire) {
            *self.pause.reader.lock().unwrap() = Some(cx.waker().clone());
            if self.pause.paused.load(Ordering::Acquire) {
                return Poll::Pending;
            }
        }
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Pausable {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// An h2c client on a socket with a tiny receive buffer, with `streams`
/// streams of `path` open: the switch that makes it stop reading its socket,
/// and a task that ends when the connection does.
struct StuckH2 {
    /// Kept so that the client keeps its connection open.
    _sender: hyper::client::conn::http2::SendRequest<http_body_util::Full<Bytes>>,
    streams: Vec<http::Response<hyper::body::Incoming>>,
    pause: Arc<Pause>,
    closed: tokio::task::JoinHandle<()>,
}

impl StuckH2 {
    async fn open(addr: std::net::SocketAddr, path: &str, streams: usize) -> StuckH2 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(2048).unwrap();
        let tcp = within("connect", socket.connect(addr)).await.unwrap();
        let pause = Arc::new(Pause::default());
        let io = TokioIo::new(Pausable {
            tcp,
            pause: pause.clone(),
        });
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .expect("h2c handshake");
        let closed = tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut open = Vec::new();
        for _ in 0..streams {
            let request = support::build("GET", addr, path, &[], Bytes::new());
            let response = within("a stream", sender.send_request(request))
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            open.push(response);
        }
        StuckH2 {
            _sender: sender,
            streams: open,
            pause,
            closed,
        }
    }

    /// Reads again, and waits for the engine to have closed the connection.
    async fn assert_closed(self) {
        self.pause.set(false);
        within("the connection to be closed", self.closed)
            .await
            .unwrap();
        drop(self.streams);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_connection_whose_socket_takes_nothing_is_closed() {
    const STREAMS: usize = 8;
    // Nothing leaves the history: the write deadline closes the connection.
    let timed = engine_with_write_timeout();
    let addr = timed.local_addr();
    let client = StuckH2::open(addr, "/events?topic=t", STREAMS).await;
    client.pause.set(true);
    timed.publish("t", &Event::new(&big("big"))).unwrap();
    let published = Instant::now();
    eventually("the stuck connection to close", || {
        timed.stats().connections == 0
    })
    .await;
    let closed_after = published.elapsed();
    assert!(
        closed_after >= WRITE_TIMEOUT.mul_f64(0.9) && closed_after <= WRITE_TIMEOUT + SLACK,
        "closed after {closed_after:?}"
    );
    client.assert_closed().await;

    // Events leave the history while the client reads nothing: its streams
    // end at once, long before the write deadline, freeing their frames. When
    // the socket was already stuck the connection is closed with them; when
    // hyper had not yet met a full socket (flow control held the frames) the
    // streams are reset and the connection, left without a stream, is closed
    // at the idle deadline. Either way the client sees its connection end.
    let behind = engine(&[
        ("history_size", "2"),
        ("send_buffer_bytes", "65536"),
        ("keepalive_ms", "0"),
        ("write_timeout_ms", "600000"),
        ("idle_timeout_ms", "1000"),
    ]);
    let addr = behind.local_addr();
    let client = StuckH2::open(addr, "/events?topic=t", STREAMS).await;
    client.pause.set(true);
    for i in 0..4 {
        behind
            .publish("t", &Event::new(&big(&i.to_string())))
            .unwrap();
    }
    eventually("the connection behind the history to close", || {
        behind.stats().connections == 0
    })
    .await;
    client.assert_closed().await;
    assert!(healthy(addr).await);
}
