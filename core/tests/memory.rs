//! Memory stays bounded whatever clients do: a client that stops reading pins
//! no queue of its own. (A test binary of its own, so that no other test's
//! allocations move the process's RSS while it measures.)

mod support;

use ssecast::Event;
use support::{engine, Stream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_pins_no_queue() {
    const EVENTS: usize = 16_000;
    const PAYLOAD: usize = 4096;
    let engine = engine(&[
        ("history_size", "256"),
        ("send_buffer_bytes", "65536"),
        ("keepalive_ms", "0"),
    ]);
    let mut stuck = Vec::new();
    for _ in 0..4 {
        let mut stream = Stream::open_small_window(engine.local_addr(), "/events?topic=m").await;
        stream.wait_open().await;
        stuck.push(stream);
    }
    let padding = "m".repeat(PAYLOAD);
    let before = support::rss_kib();
    for i in 0..EVENTS {
        engine
            .publish("m", &Event::new(&format!("{i} {padding}")))
            .unwrap();
    }
    let grown = support::rss_kib().saturating_sub(before);
    let published_kib = (EVENTS * PAYLOAD / 1024) as u64;
    eprintln!("RSS grew by {grown} KiB; {published_kib} KiB published");
    // 64 MiB went to four clients that read nothing: a queue per client would
    // hold 256 MiB; the engine holds its 1 MiB of history and the frames in flight.
    assert!(
        grown < published_kib / 4,
        "RSS grew by {grown} KiB while {published_kib} KiB were published"
    );
    // Each stuck client is either still open or was cut as a slow consumer
    // (which one depends on whether its stream ran before it fell behind).
    let stats = engine.stats();
    assert_eq!(
        stats.connections as u64 + stats.slow_consumers_dropped,
        4,
        "{stats:?}"
    );
}
