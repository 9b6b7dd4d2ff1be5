//! What the engine writes on the wire, read back over real sockets with a real
//! HTTP client and a spec parser: the shared wire vectors, headers, several
//! topics on one stream, HTTP/2.

mod support;

use serde_json::Value;
use ssecast::{ErrorKind, Event};
use support::{engine, within, Item, Stream, Version};

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/events.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Publishes one vector's arguments through the Rust API.
fn publish_vector(engine: &ssecast::Engine, args: &Value) -> Result<String, ssecast::Error> {
    let owned_data;
    let data = match (args.get("data"), args.get("data_hex")) {
        (Some(d), _) => d.as_str().unwrap(),
        (None, Some(h)) => {
            owned_data = hex(h.as_str().unwrap());
            Event::from_utf8(&owned_data)?.data
        }
        _ => "",
    };
    let mut event = Event::new(data);
    event.event = args.get("event").map(|v| v.as_str().unwrap());
    event.id = args.get("id").map(|v| v.as_str().unwrap());
    event.retry = args.get("retry").map(|v| v.as_u64().unwrap() as u32);
    let topic = args.get("topic").map_or("default", |v| v.as_str().unwrap());
    engine.publish(topic, &event)
}

fn topics_query(vectors: &Value) -> String {
    let mut topics = vec!["default".to_string()];
    for v in vectors["vectors"].as_array().unwrap() {
        if let (Some(t), None) = (v["publish"].get("topic"), v.get("error")) {
            topics.push(t.as_str().unwrap().to_string());
        }
    }
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(topics.iter().map(|t| ("topic", t)))
        .finish();
    format!("/events?{query}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_wire_vectors_produce_exact_bytes() {
    let doc = vectors();
    let keys: Vec<(String, String)> = doc["config"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let keys: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let engine = engine(&keys);
    let mut stream = Stream::subscribed(engine.local_addr(), &topics_query(&doc), &[]).await;
    let mut checked = 0;
    for vector in doc["vectors"].as_array().unwrap() {
        let name = vector["name"].as_str().unwrap();
        let result = publish_vector(&engine, &vector["publish"]);
        if let Some(code) = vector.get("error") {
            let err = result.expect_err(name);
            assert_eq!(err.kind().code(), code.as_str().unwrap(), "{name}: {err}");
            assert!(!err.message().is_empty());
            assert_eq!(
                err.kind() as u32,
                doc["error_codes"][code.as_str().unwrap()].as_u64().unwrap() as u32,
                "{name}"
            );
            checked += 1;
            continue;
        }
        let id = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = vector["wire"].as_str().unwrap().replace("{id}", &id);
        let start = stream.raw.len();
        while stream.raw.len() < start + expected.len() {
            assert!(stream.pull().await, "{name}: stream ended");
        }
        assert_eq!(
            String::from_utf8_lossy(&stream.raw[start..]),
            expected,
            "{name}: exact bytes"
        );
        checked += 1;
    }
    // Nothing rejected reached the wire: the next bytes are the next publish.
    let id = engine
        .publish("default", &Event::new("sentinel").id("end"))
        .unwrap();
    let start = stream.raw.len();
    assert!(stream.pull().await);
    assert_eq!(
        &stream.raw[start..],
        format!("id: {id}\ndata: sentinel\n\n").as_bytes()
    );
    assert_eq!(checked, doc["vectors"].as_array().unwrap().len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_headers_and_first_frame() {
    let engine = engine(&[]);
    let mut stream = Stream::open(engine.local_addr(), "/events", &[]).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    assert_eq!(stream.headers["cache-control"], "no-cache");
    assert_eq!(stream.headers["x-accel-buffering"], "no");
    assert!(stream.headers.get("content-encoding").is_none());
    // The first frame arrives before any event: a client's `open` fires at once.
    assert_eq!(stream.next_item().await, Some(Item::Comment("ok".into())));
    let engine = support::engine(&[("retry_ms", "1500")]);
    let stream = Stream::subscribed(engine.local_addr(), "/events", &[]).await;
    assert_eq!(stream.retry(), Some(1500));
    assert_eq!(String::from_utf8_lossy(&stream.raw), "retry: 1500\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_rules_seen_by_a_spec_parser() {
    let engine = engine(&[]);
    let mut stream = Stream::subscribed(engine.local_addr(), "/events?topic=p", &[]).await;
    let cases = [
        ("a\nb\rc\r\nd", "a\nb\nc\nd"),
        ("", ""),
        ("héllo 🎉", "héllo 🎉"),
        (
            "x\n\ndata: injected\nevent: evil",
            "x\n\ndata: injected\nevent: evil",
        ),
        ("trailing\n", "trailing\n"),
    ];
    for (sent, _) in &cases {
        engine.publish("p", &Event::new(sent).event("t")).unwrap();
    }
    for (_, seen) in &cases {
        let event = stream.next_event().await.unwrap();
        assert_eq!(event.data, *seen);
        assert_eq!(
            event.event, "t",
            "an injected event field must not take effect"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_topics_on_one_stream_in_publish_order() {
    let engine = engine(&[]);
    let addr = engine.local_addr();
    let mut both = Stream::subscribed(addr, "/events?topic=a&topic=b&topic=a", &[]).await;
    let mut only_b = Stream::subscribed(addr, "/events?topic=b", &[]).await;
    let mut ids = Vec::new();
    for i in 0..300 {
        let topic = if i % 3 == 0 { "a" } else { "b" };
        ids.push((
            topic,
            engine.publish(topic, &Event::new(&i.to_string())).unwrap(),
        ));
        engine.publish("c", &Event::new("other topic")).unwrap();
    }
    let got = both.events(300).await;
    assert_eq!(
        got.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        ids.iter().map(|(_, id)| id.clone()).collect::<Vec<_>>()
    );
    assert!(got.iter().enumerate().all(|(i, e)| e.data == i.to_string()));
    let b_ids: Vec<_> = ids
        .iter()
        .filter(|(t, _)| *t == "b")
        .map(|(_, id)| id.clone())
        .collect();
    let got_b = only_b.events(b_ids.len()).await;
    assert_eq!(got_b.into_iter().map(|e| e.id).collect::<Vec<_>>(), b_ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_streams_share_one_connection() {
    let engine = engine(&[]);
    let addr = engine.local_addr();
    let mut stream = Stream::open_with(addr, Version::Http2, "/events?topic=h2", &[]).await;
    assert_eq!(stream.status, 200);
    stream.wait_open().await;
    let id = engine.publish("h2", &Event::new("over h2c")).unwrap();
    let event = within("h2 event", stream.next_event()).await.unwrap();
    assert_eq!((event.id, event.data.as_str()), (id, "over h2c"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_engine_refuses_publish_and_ends_streams() {
    let engine = engine(&[]);
    let mut stream = Stream::subscribed(engine.local_addr(), "/events", &[]).await;
    let id = engine
        .publish("default", &Event::new("before stop"))
        .unwrap();
    let stopper = std::thread::spawn({
        let engine = std::sync::Arc::new(engine);
        move || {
            engine.stop();
            engine.stop();
            engine.publish("default", &Event::new("late")).unwrap_err()
        }
    });
    let event = stream
        .next_event()
        .await
        .expect("what was published before stop arrives");
    assert_eq!(event.id, id);
    assert_eq!(stream.next_event().await, None, "the stream ends");
    let err = tokio::task::spawn_blocking(move || stopper.join().unwrap())
        .await
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Stopped);
}

/// Reads from a raw socket until `needle` has arrived; returns everything read.
fn read_until(socket: &mut std::net::TcpStream, needle: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(needle.len()).any(|w| w == needle) {
        let n = socket.read(&mut buf).expect("read");
        assert!(
            n > 0,
            "connection closed; got {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// Opens a raw HTTP/1.x stream on `topic`, the head sent in two pieces as slow
/// clients send it, and returns the socket and everything read up to the
/// opening frame.
fn raw_stream(
    engine: &ssecast::Engine,
    version: &str,
    topic: &str,
) -> (std::net::TcpStream, String) {
    use std::io::Write;
    let mut socket = std::net::TcpStream::connect(engine.local_addr()).unwrap();
    socket.set_read_timeout(Some(support::DEADLINE)).unwrap();
    socket
        .write_all(format!("GET /events?topic={topic} {version}\r\nHost: localhost\r\n").as_bytes())
        .unwrap();
    socket
        .write_all(b"Accept: text/event-stream\r\n\r\n")
        .unwrap();
    let head = String::from_utf8(read_until(&mut socket, b": ok\n")).unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("content-type: text/event-stream\r\n"),
        "{head}"
    );
    assert!(head.contains("connection: close\r\n"), "{head}");
    (socket, head)
}

/// Waits until the engine has released every stream.
fn wait_released(engine: &ssecast::Engine) {
    let deadline = std::time::Instant::now() + support::DEADLINE;
    while engine.stats().connections != 0 {
        assert!(std::time::Instant::now() < deadline, "stream not released");
        std::thread::yield_now();
    }
}

#[test]
fn http1_1_streams_are_chunked_one_chunk_per_batch() {
    let engine = engine(&[]);
    let (mut socket, head) = raw_stream(&engine, "HTTP/1.1", "raw");
    assert!(head.contains("transfer-encoding: chunked\r\n"), "{head}");
    let id = engine.publish("raw", &ssecast::Event::new("a\nb")).unwrap();
    let frame = format!("id: {id}\ndata: a\ndata: b\n\n");
    let rest = String::from_utf8(read_until(&mut socket, b"\n\n\r\n")).unwrap();
    // The opening comment is a chunk of its own, with no blank line after it;
    // the event is the next chunk.
    assert!(
        (head + &rest).ends_with(&format!(
            "\r\n\r\n5\r\n: ok\n\r\n{:x}\r\n{frame}\r\n",
            frame.len()
        )),
        "{rest:?}"
    );
    assert_eq!(engine.stats().connections, 1);
    drop(socket);
    // The engine notices the client left and releases its stream.
    wait_released(&engine);
    // A stream ended by stop closes the chunked body properly.
    let (mut socket, _) = raw_stream(&engine, "HTTP/1.1", "end");
    engine.stop();
    let rest = read_until(&mut socket, b"0\r\n\r\n");
    assert!(rest.ends_with(b"0\r\n\r\n"), "{rest:?}");
    let mut after = [0u8; 1];
    assert_eq!(
        std::io::Read::read(&mut socket, &mut after).unwrap(),
        0,
        "the connection closes after the last chunk"
    );
}

#[test]
fn http1_0_streams_are_close_delimited_raw_frames() {
    let engine = engine(&[]);
    let (mut socket, head) = raw_stream(&engine, "HTTP/1.0", "raw");
    assert!(
        !head.contains("transfer-encoding"),
        "no chunk framing: {head}"
    );
    assert!(head.ends_with("\r\n\r\n: ok\n"), "{head:?}");
    let id = engine.publish("raw", &ssecast::Event::new("a\nb")).unwrap();
    let frame = read_until(&mut socket, b"\n\n");
    assert_eq!(frame, format!("id: {id}\ndata: a\ndata: b\n\n").as_bytes());
    assert_eq!(engine.stats().connections, 1);
    drop(socket);
    wait_released(&engine);
}

#[test]
fn unusual_stream_requests_fall_back_to_the_full_http_stack() {
    use std::io::{Read, Write};
    let engine = engine(&[]);
    let send = |request: &[u8]| {
        let mut socket = std::net::TcpStream::connect(engine.local_addr()).unwrap();
        socket.set_read_timeout(Some(support::DEADLINE)).unwrap();
        socket.write_all(request).unwrap();
        let mut head = vec![0u8; 512];
        let n = socket.read(&mut head).unwrap();
        String::from_utf8_lossy(&head[..n]).into_owned()
    };
    // A body on a GET is parsed by hyper, which streams with chunked framing.
    let reply = send(b"GET /events HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("transfer-encoding: chunked"), "{reply}");
    // Errors come from the same routes.
    let reply = send(b"GET /events?topic=%00 HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    let reply = send(b"GARBAGE\r\n\r\n");
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    let reply = send(b"GET /healthz HTTP/1.0\r\n\r\n");
    assert!(reply.starts_with("HTTP/1.0 200"), "{reply}");
}

#[test]
fn concurrent_stops_return_only_once_stopped() {
    let engine = std::sync::Arc::new(engine(&[]));
    let addr = engine.local_addr();
    let stoppers: Vec<_> = (0..4)
        .map(|_| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                engine.stop();
                // Whichever call returns, the listener is already closed.
                std::net::TcpStream::connect(addr).is_err()
            })
        })
        .collect();
    for stopper in stoppers {
        assert!(
            stopper.join().unwrap(),
            "a stop returned before the engine stopped"
        );
    }
}
