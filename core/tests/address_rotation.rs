//! A client rotating through a whole /16 behind a trusted proxy: every one of
//! the 65,536 addresses opens a stream (real sockets, `X-Forwarded-For`), and
//! the memory the per-address limits keep stays bounded. In a test binary of
//! its own, since the resident set size is process-wide.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use support::{engine, rss_kib, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens a stream as forwarded for `client`, reads the status line, closes.
async fn open_as(addr: SocketAddr, client: &str) -> bool {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "GET /events?topic=t HTTP/1.1\r\nhost: localhost\r\nx-forwarded-for: {client}\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut start = [0u8; 12];
    tcp.read_exact(&mut start).await.unwrap();
    &start == b"HTTP/1.1 200"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_through_a_slash_16_keeps_memory_bounded() {
    let engine = engine(&[
        ("trusted_proxies", "127.0.0.1"),
        ("connection_rate_per_ip", "1"),
        ("max_connections_per_ip", "1"),
    ]);
    let addr = engine.local_addr();
    // Warm up allocator and runtime before the baseline.
    for i in 0..256 {
        assert!(open_as(addr, &format!("10.6.0.{i}")).await);
    }
    let before = rss_kib();
    let next = Arc::new(AtomicUsize::new(0));
    let admitted = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (next, admitted) = (next.clone(), admitted.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i > usize::from(u16::MAX) {
                        break;
                    }
                    let [a, b] = (i as u16).to_be_bytes();
                    if open_as(addr, &format!("10.7.{a}.{b}")).await {
                        admitted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let all = async {
        for worker in workers {
            worker.await.unwrap();
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(300), all)
        .await
        .expect("65,536 streams opened within five minutes");
    // Each address is new, so none is limited; what matters is the memory.
    assert_eq!(admitted.load(Ordering::Relaxed), 65_536);
    let grown_kib = rss_kib().saturating_sub(before);
    assert!(
        grown_kib < 24 * 1024,
        "the resident set grew by {grown_kib} KiB for 65,536 addresses"
    );
    // The limits still hold: a second stream within the second is refused.
    assert!(open_as(addr, "10.8.0.1").await);
    assert!(!open_as(addr, "10.8.0.1").await, "rate limited");
    within("every stream to close", async {
        while engine.stats().connections > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
}
