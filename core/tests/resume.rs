//! Replay from history with `Last-Event-ID` (header) or `lastEventId` (query):
//! exactly the events after the id, then live ones, with no gap and no
//! duplicate; the reset signal when the id cannot be resumed.

mod support;

use std::sync::Arc;

use ssecast::{Event, RESET_EVENT};
use support::{engine, Stream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_ten_thousand_events_then_live_without_gap_or_duplicate() {
    let engine = Arc::new(engine(&[("history_size", "20000")]));
    let ids: Vec<String> = (0..10_000)
        .map(|i| engine.publish("r", &Event::new(&format!("e{i}"))).unwrap())
        .collect();
    // Keep publishing while the client resumes, so history and live overlap.
    let live = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            (10_000..12_000)
                .map(|i| engine.publish("r", &Event::new(&format!("e{i}"))).unwrap())
                .collect::<Vec<_>>()
        })
    };
    let mut stream = Stream::subscribed(
        engine.local_addr(),
        "/events?topic=r",
        &[("last-event-id", ids[0].as_str())],
    )
    .await;
    let live_ids = tokio::task::spawn_blocking(move || live.join().unwrap())
        .await
        .unwrap();
    let got = stream.events(11_999).await;
    for (i, event) in got.iter().enumerate() {
        assert_eq!(
            event.data,
            format!("e{}", i + 1),
            "event {i} out of order, missing or repeated"
        );
    }
    let expected: Vec<&String> = ids[1..].iter().chain(&live_ids).collect();
    assert!(got.iter().map(|e| &e.id).eq(expected.into_iter()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_id_resumes_and_header_wins_over_query() {
    let engine = engine(&[]);
    let addr = engine.local_addr();
    let ids: Vec<String> = (0..5)
        .map(|i| engine.publish("q", &Event::new(&i.to_string())).unwrap())
        .collect();
    let mut stream = Stream::subscribed(
        addr,
        &format!("/events?topic=q&lastEventId={}", ids[2]),
        &[],
    )
    .await;
    let got = stream.events(2).await;
    assert_eq!((got[0].data.as_str(), got[1].data.as_str()), ("3", "4"));
    let mut stream = Stream::subscribed(
        addr,
        &format!("/events?topic=q&lastEventId={}", ids[0]),
        &[("last-event-id", ids[3].as_str())],
    )
    .await;
    assert_eq!(stream.next_event().await.unwrap().data, "4");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publisher_ids_are_verbatim_and_resumable() {
    let engine = engine(&[]);
    for i in 0..4 {
        engine
            .publish("o", &Event::new(&i.to_string()).id(&format!("order-{i}")))
            .unwrap();
    }
    let mut stream = Stream::subscribed(
        engine.local_addr(),
        "/events?topic=o",
        &[("last-event-id", "order-1")],
    )
    .await;
    let got = stream.events(2).await;
    assert_eq!(
        (got[0].id.as_str(), got[1].id.as_str()),
        ("order-2", "order-3")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reused_and_engine_shaped_publisher_ids_never_skip_an_event() {
    let engine = engine(&[]);
    let addr = engine.local_addr();
    let data =
        |events: Vec<support::SseEvent>| events.into_iter().map(|e| e.data).collect::<Vec<_>>();
    // `x` twice, with an event between them: a client that last saw the first
    // `x` gets that event (and sees the second `x` again).
    for (text, id) in [("1", Some("x")), ("2", None), ("3", Some("x"))] {
        let mut event = Event::new(text);
        event.id = id;
        engine.publish("o", &event).unwrap();
    }
    let mut after_x = Stream::subscribed(addr, "/events?topic=o", &[("last-event-id", "x")]).await;
    assert_eq!(data(after_x.events(2).await), ["2", "3"]);

    // A publisher id shaped like the engine id of a later position (here the
    // 7th event's): a client that saw it resumes after the event that
    // carried it, not after that position.
    let engine_id = engine.publish("p", &Event::new("a")).unwrap();
    let prefix = engine_id.rsplit_once('-').unwrap().0;
    let look_alike = format!("{prefix}-7");
    engine
        .publish("p", &Event::new("b").id(&look_alike))
        .unwrap();
    for text in ["c", "d", "e"] {
        engine.publish("p", &Event::new(text)).unwrap();
    }
    let mut after =
        Stream::subscribed(addr, "/events?topic=p", &[("last-event-id", &look_alike)]).await;
    assert_eq!(data(after.events(3).await), ["c", "d", "e"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_across_several_topics() {
    let engine = engine(&[]);
    let a1 = engine.publish("a", &Event::new("a1")).unwrap();
    engine.publish("b", &Event::new("b1")).unwrap();
    engine.publish("a", &Event::new("a2")).unwrap();
    engine.publish("c", &Event::new("c1")).unwrap();
    let mut stream = Stream::subscribed(
        engine.local_addr(),
        "/events?topic=a&topic=b",
        &[("last-event-id", a1.as_str())],
    )
    .await;
    let got = stream.events(2).await;
    assert_eq!((got[0].data.as_str(), got[1].data.as_str()), ("b1", "a2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_or_too_old_ids_get_the_reset_signal_first() {
    let engine = engine(&[("history_size", "3")]);
    let addr = engine.local_addr();
    let first = engine.publish("s", &Event::new("0")).unwrap();
    for i in 1..5 {
        engine.publish("s", &Event::new(&i.to_string())).unwrap();
    }
    for (id, reason) in [
        ("no-such-id", "unknown-id"),
        (first.as_str(), "history-gap"),
        ("1a2b3c-7", "unknown-id"),
    ] {
        let mut stream = Stream::open(addr, "/events?topic=s", &[("last-event-id", id)]).await;
        let signal = stream.next_event().await.unwrap();
        assert_eq!(signal.event, RESET_EVENT);
        let data: serde_json::Value = serde_json::from_str(&signal.data).unwrap();
        assert_eq!(data["reason"], reason);
        assert_eq!(data["lastEventId"], id);
        assert_eq!(signal.id, "", "the signal carries no id of its own");
        // Then live events only.
        let live = engine.publish("s", &Event::new("live")).unwrap();
        let event = stream.next_event().await.unwrap();
        assert_eq!((event.id, event.data.as_str()), (live, "live"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_differ_across_restarts() {
    let a = engine(&[]);
    let id = a.publish("t", &Event::new("x")).unwrap();
    a.stop();
    let b = engine(&[]);
    let mut stream = Stream::open(
        b.local_addr(),
        "/events?topic=t",
        &[("last-event-id", id.as_str())],
    )
    .await;
    assert_eq!(stream.next_event().await.unwrap().event, RESET_EVENT);
    assert_ne!(b.publish("t", &Event::new("x")).unwrap(), id);
}
