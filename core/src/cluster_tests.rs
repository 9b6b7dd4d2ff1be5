//! Engines joined by a backplane (a real `redis-server` on a free port):
//! publishes on one node reach the streams of another in order, a client
//! resumes on another node exactly, and an outage fails publishes clearly.

use std::time::{Duration, Instant};

use crate::backplane::test_redis::RedisServer;
use crate::{BackplaneState, Config, Engine, ErrorKind, Event, Read, Subscription};

fn node(redis: &RedisServer) -> Engine {
    Engine::start(Config {
        port: 0,
        backplane: Some(redis.url(0)),
        worker_threads: 2,
        ..Config::default()
    })
    .expect("start a node")
}

/// The status line of `GET path` on the engine's port.
fn status_of(engine: &Engine, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut socket = std::net::TcpStream::connect(engine.local_addr()).unwrap();
    write!(
        socket,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or_default().to_owned()
}

/// Waits until `GET /readyz` answers `status`.
fn wait_ready_status(engine: &Engine, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !status_of(engine, "/readyz").contains(status) {
        assert!(Instant::now() < deadline, "/readyz never answered {status}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_connected(engine: &Engine) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while engine.stats().backplane != Some(BackplaneState::Connected) {
        assert!(Instant::now() < deadline, "the node never connected");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Reads until `n` events (blank-line-terminated frames with an id) have
/// arrived; returns their `data:` lines and the last id.
fn read_events(sub: &mut Subscription, n: usize) -> (Vec<String>, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut text = String::new();
    loop {
        let events: Vec<&str> = text
            .split("\n\n")
            .filter(|f| f.contains("data: "))
            .collect();
        if events.len() >= n {
            let data = events
                .iter()
                .flat_map(|f| f.lines().filter_map(|l| l.strip_prefix("data: ")))
                .map(str::to_owned)
                .collect();
            let last_id = events
                .last()
                .and_then(|f| f.lines().find_map(|l| l.strip_prefix("id: ")))
                .unwrap_or_default()
                .to_owned();
            return (data, last_id);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "only {} of {n} events: {text:?}",
            events.len()
        );
        match sub.read_timeout(Some(left)).unwrap() {
            Read::Data(chunk) => text.push_str(std::str::from_utf8(&chunk.into_bytes()).unwrap()),
            Read::NotReady => {}
            Read::Ended(reason) => panic!("the stream ended: {reason:?}"),
        }
    }
}

#[test]
fn publishes_reach_every_node_in_order_and_resume_anywhere() {
    let redis = RedisServer::start();
    let (a, b, c) = (node(&redis), node(&redis), node(&redis));
    for engine in [&a, &b, &c] {
        wait_connected(engine);
    }
    let mut on_a = a.subscribe(&["t", "u"], None).unwrap();
    let mut on_b = b.subscribe(&["t"], None).unwrap();
    for i in 0..20 {
        let topic = if i % 2 == 0 { "t" } else { "u" };
        c.publish(topic, &Event::new(&i.to_string())).unwrap();
    }
    let (got_a, _) = read_events(&mut on_a, 20);
    assert_eq!(got_a, (0..20).map(|i| i.to_string()).collect::<Vec<_>>());
    let (got_b, last_b) = read_events(&mut on_b, 10);
    assert_eq!(
        got_b,
        (0..20)
            .step_by(2)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
    );
    // The client of B resumes on C (which never held "t") and on A.
    for i in 20..25 {
        b.publish("t", &Event::new(&i.to_string())).unwrap();
    }
    for resumed_on in [&c, &a] {
        let mut moved = resumed_on.subscribe(&["t"], Some(&last_b)).unwrap();
        let (got, _) = read_events(&mut moved, 5);
        assert_eq!(got, ["20", "21", "22", "23", "24"]);
    }
    assert_eq!(c.stats().published, 20);
}

#[test]
fn an_outage_fails_publishes_and_streams_catch_up() {
    let mut redis = RedisServer::start_persistent();
    let (a, b) = (node(&redis), node(&redis));
    wait_connected(&a);
    wait_connected(&b);
    let mut on_a = a.subscribe(&["t"], None).unwrap();
    b.publish("t", &Event::new("before")).unwrap();
    read_events(&mut on_a, 1);
    wait_ready_status(&a, "200");
    redis.kill();
    let err = b.publish("t", &Event::new("during")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{}", err.message());
    // Load balancers take a node whose Redis is unreachable out of rotation.
    wait_ready_status(&a, "503");
    assert_eq!(a.stats().backplane, Some(BackplaneState::Down));
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    let id = loop {
        match b.publish("t", &Event::new("after")) {
            Ok(id) => break id,
            Err(e) if e.kind() == ErrorKind::Unavailable && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("{e}"),
        }
    };
    let (got, last) = read_events(&mut on_a, 1);
    assert_eq!(got, ["after"], "nothing lost, nothing repeated");
    assert_eq!(last, id);
    wait_ready_status(&a, "200");
}
