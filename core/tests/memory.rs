//! Memory stays within the history bounds whatever clients do: a client that
//! stops reading pins no queue of its own, and no event the history has let go
//! of, over HTTP/1 and over HTTP/2 with a closed window. (A test binary of its
//! own, its tests one at a time, so that nothing else moves the process's RSS
//! while they measure.)

mod support;

use bytes::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use ssecast::Event;
use support::{engine, eventually, healthy, open_fds, raw, stuck_client, within, Item, Parser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Counts the bytes this process has allocated and not freed.
struct Counting;

static LIVE: std::sync::atomic::AtomicIsize = std::sync::atomic::AtomicIsize::new(0);

unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE.fetch_sub(layout.size() as isize, std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn live_kib() -> u64 {
    LIVE.load(std::sync::atomic::Ordering::Relaxed).max(0) as u64 / 1024
}

/// What a stuck client may cost beyond the history: its connection and
/// stream state, and the client's own receive buffers (it is in this process).
const PER_CLIENT_KIB: u64 = 48;

/// Memory before an attack.
struct Baseline {
    rss_kib: u64,
    live_kib: u64,
}

impl Baseline {
    fn now() -> Self {
        Baseline {
            rss_kib: support::rss_kib(),
            live_kib: live_kib(),
        }
    }

    /// Checks the growth since the baseline with `clients` stuck clients, each
    /// of which would pin a whole event without the bound. The heap still
    /// allocated must be the history plus a small constant per client; RSS,
    /// which the allocator keeps for reuse, must stay far below what the stuck
    /// clients would pin.
    fn check(&self, clients: usize) {
        let live = live_kib().saturating_sub(self.live_kib);
        let rss = support::rss_kib().saturating_sub(self.rss_kib);
        let history = HISTORY_BYTES as u64 / 1024;
        let pinned_without_bound = (clients * EVENT_BYTES / 1024) as u64;
        eprintln!(
            "{clients} stuck clients: heap grew by {live} KiB, RSS by {rss} KiB; \
             {history} KiB of history; {pinned_without_bound} KiB pinned without the bound"
        );
        assert!(
            live <= history + clients as u64 * PER_CLIENT_KIB,
            "the heap grew by {live} KiB with {clients} stuck clients"
        );
        assert!(
            rss < pinned_without_bound / 2,
            "RSS grew by {rss} KiB with {clients} stuck clients"
        );
    }
}

/// RSS is process-wide: one measuring test at a time.
static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const EVENT_BYTES: usize = 256 * 1024;
/// Three big events per topic.
const HISTORY_BYTES: usize = 3 * EVENT_BYTES + 4096;

/// An engine whose topics keep three big events, and whose write deadline is
/// far away: only falling behind the history closes a stuck stream here.
fn big_event_engine() -> ssecast::Engine {
    engine(&[
        ("history_bytes", &HISTORY_BYTES.to_string()),
        ("send_buffer_bytes", "65536"),
        ("keepalive_ms", "0"),
        ("write_timeout_ms", "600000"),
    ])
}

fn big_event(i: usize) -> String {
    format!("{i} {}", "m".repeat(EVENT_BYTES))
}

/// An honest client on a raw socket that keeps nothing it has read: it reports
/// the number of each event it receives, and checks they come in order.
struct Honest {
    received: mpsc::UnboundedReceiver<usize>,
}

impl Honest {
    async fn subscribe(addr: std::net::SocketAddr, topic: &str) -> Honest {
        let mut socket = raw(addr).await;
        // HTTP/1.0: close-delimited, the body is the event stream itself.
        let request = format!("GET /events?topic={topic} HTTP/1.0\r\nhost: localhost\r\n\r\n");
        socket.write_all(request.as_bytes()).await.unwrap();
        let (tx, received) = mpsc::unbounded_channel();
        let (opened_tx, opened) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let mut parser = Parser::default();
            let mut opened_tx = Some(opened_tx);
            let mut buf = vec![0u8; 64 * 1024];
            let mut next = 0;
            loop {
                let n = socket.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    return; // the engine stopped
                }
                if let Some(opened) = opened_tx.take() {
                    let _ = opened.send(());
                }
                for item in parser.feed(&buf[..n]) {
                    if let Item::Event(event) = item {
                        assert_eq!(event.data.split(' ').next().unwrap(), next.to_string());
                        let _ = tx.send(next);
                        next += 1;
                    }
                }
            }
        });
        within("the honest stream to open", opened).await.unwrap();
        Honest { received }
    }

    /// Waits for event `i`.
    async fn got(&mut self, i: usize) {
        assert_eq!(
            within("the honest client", self.received.recv()).await,
            Some(i)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_clients_that_stop_reading_pin_nothing_the_history_dropped() {
    const STUCK: usize = 64;
    let _one_at_a_time = MEASURING.lock().await;
    let engine = big_event_engine();
    let addr = engine.local_addr();
    let mut honest = Honest::subscribe(addr, "m").await;
    let fds_before = open_fds();
    let baseline = Baseline::now();
    // Each client stops reading inside a different event, which the history
    // drops a few events later: without a bound, each would pin its own.
    let mut stuck = Vec::new();
    for i in 0..STUCK {
        stuck.push(stuck_client(addr, "/events?topic=m").await);
        engine.publish("m", &Event::new(&big_event(i))).unwrap();
        honest.got(i).await;
    }
    eventually("the clients behind the history to be closed", || {
        engine.stats().slow_consumers_dropped as usize >= STUCK - 3
    })
    .await;
    baseline.check(STUCK);
    // The engine let go of its side of the closed connections.
    let fds = open_fds();
    assert!(
        fds <= fds_before + STUCK + 3 + 4,
        "{fds} descriptors for {STUCK} client sockets; {fds_before} before"
    );
    assert!(healthy(addr).await);
    drop(stuck);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_streams_with_a_closed_window_pin_nothing_the_history_dropped() {
    const STREAMS: usize = 64;
    let _one_at_a_time = MEASURING.lock().await;
    let engine = big_event_engine();
    let addr = engine.local_addr();
    let mut honest = Honest::subscribe(addr, "w").await;
    // One h2c connection whose streams get an 8 KiB window each, never
    // replenished: the client reads the socket but not the streams.
    let io = TokioIo::new(raw(addr).await);
    let (mut sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(8 * 1024)
        .initial_connection_window_size(64 * 1024 * 1024)
        .handshake(io)
        .await
        .expect("h2c handshake");
    tokio::spawn(conn);
    let baseline = Baseline::now();
    let mut streams = Vec::new();
    for i in 0..STREAMS {
        let request = support::build("GET", addr, "/events?topic=w", &[], Bytes::new());
        let response = within("a stream", sender.send_request(request))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        streams.push(response);
        engine.publish("w", &Event::new(&big_event(i))).unwrap();
        honest.got(i).await;
    }
    eventually("the streams behind the history to be reset", || {
        engine.stats().slow_consumers_dropped as usize >= STREAMS - 3
    })
    .await;
    baseline.check(STREAMS);
    // Only the streams were reset: the connection still serves requests.
    let request = support::build("GET", addr, "/healthz", &[], Bytes::new());
    let response = within("health", sender.send_request(request))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    drop(streams);
}
