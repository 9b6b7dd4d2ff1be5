//! Fan-out under load: slow consumers are cut off while fast ones get
//! everything, concurrent publishers lose nothing, and stop is graceful with
//! many clients connected.

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use ssecast::Event;
use support::{engine, within, Stream};
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_is_cut_off_while_fast_ones_get_everything() {
    const FAST: usize = 100;
    const BURSTS: usize = 80;
    const BURST: usize = 50;
    let engine = engine(&[
        ("history_size", "400"),
        ("send_buffer_bytes", "16384"),
        ("keepalive_ms", "0"),
    ]);
    let addr = engine.local_addr();
    // The slow client reads its first frame, then nothing until the end; its
    // small window and the engine's fixed send buffer keep the kernel from
    // absorbing the whole run.
    let mut slow = Stream::open_small_window(addr, "/events?topic=load").await;
    slow.wait_open().await;
    slow.expect_cut();
    let (progress, mut reports) = mpsc::unbounded_channel();
    let mut fast = Vec::new();
    for _ in 0..FAST {
        let mut stream = Stream::subscribed(addr, "/events?topic=load", &[]).await;
        let progress = progress.clone();
        fast.push(tokio::spawn(async move {
            let mut expected = 0usize;
            for _ in 0..BURSTS {
                for event in stream.events(BURST).await {
                    assert_eq!(event.data.split(' ').next().unwrap(), expected.to_string());
                    expected += 1;
                }
                progress.send(()).unwrap();
            }
            expected
        }));
    }
    let padding = "p".repeat(1000);
    for burst in 0..BURSTS {
        for i in 0..BURST {
            let n = burst * BURST + i;
            engine
                .publish("load", &Event::new(&format!("{n} {padding}")))
                .unwrap();
        }
        // Pace on the fast clients (they never lag more than a burst), not on the slow one.
        for _ in 0..FAST {
            within("fast clients", reports.recv()).await.unwrap();
        }
    }
    for task in fast {
        assert_eq!(
            task.await.unwrap(),
            BURSTS * BURST,
            "a fast client missed events"
        );
    }
    // The slow client now reads: it gets a gapless prefix, then its stream ends.
    let mut expected = 0usize;
    within("the slow stream to end", async {
        while let Some(event) = slow.next_event().await {
            assert_eq!(event.data.split(' ').next().unwrap(), expected.to_string());
            expected += 1;
        }
    })
    .await;
    assert!(
        expected < BURSTS * BURST,
        "the slow client was cut off before the end"
    );
    assert_eq!(engine.stats().slow_consumers_dropped, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_threads_publish_every_event_once_in_topic_order() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 2_000;
    let engine = Arc::new(engine(&[("history_size", "100000")]));
    let addr = engine.local_addr();
    let query: String = (0..THREADS).map(|t| format!("topic=t{t}&")).collect();
    let mut all = Stream::subscribed(addr, &format!("/events?{query}"), &[]).await;
    let mut single = Stream::subscribed(addr, "/events?topic=t3", &[]).await;
    let publishers: Vec<_> = (0..THREADS)
        .map(|t| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    engine
                        .publish(&format!("t{t}"), &Event::new(&format!("{t}:{i}")))
                        .unwrap();
                }
            })
        })
        .collect();
    let got = all.events(THREADS * PER_THREAD).await;
    let mut next: HashMap<usize, usize> = HashMap::new();
    let mut ids = std::collections::HashSet::new();
    for event in &got {
        let (t, i) = event.data.split_once(':').unwrap();
        let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
        let expected = next.entry(t).or_default();
        assert_eq!(i, *expected, "topic t{t} out of order or missing an event");
        *expected += 1;
        assert!(ids.insert(event.id.clone()), "duplicate id {}", event.id);
    }
    assert!(next.values().all(|&n| n == PER_THREAD));
    let got = single.events(PER_THREAD).await;
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, e)| e.data == format!("3:{i}")));
    for p in publishers {
        p.join().unwrap();
    }
    assert_eq!(engine.stats().published, (THREADS * PER_THREAD) as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_with_a_thousand_clients() {
    const CLIENTS: usize = 1000;
    let engine = engine(&[]);
    let addr = engine.local_addr();
    let mut streams = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        streams.push(
            Stream::subscribed(addr, &format!("/events?topic=g&topic=g{}", i % 10), &[]).await,
        );
    }
    assert_eq!(engine.stats().connections, CLIENTS);
    let last = engine.publish("g", &Event::new("last words")).unwrap();
    let started = std::time::Instant::now();
    let stopped = tokio::task::spawn_blocking(move || {
        engine.stop();
        engine
    });
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let event = stream.next_event().await.expect("queued event is flushed");
                assert_eq!(stream.next_event().await, None, "the stream ends cleanly");
                event.id
            })
        })
        .collect();
    for reader in readers {
        assert_eq!(within("stream end", reader).await.unwrap(), last);
    }
    let engine = stopped.await.unwrap();
    assert!(engine.is_stopped());
    assert_eq!(engine.stats().connections, 0);
    assert!(
        started.elapsed() < std::time::Duration::from_millis(u64::from(5_000u32)),
        "stop waited for its timeout instead of closing streams"
    );
}
