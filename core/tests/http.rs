//! The HTTP surface: publish over HTTP with its token, CORS, limits, and the
//! answers to bad requests.

mod support;

use std::io::{Read, Write};

use ssecast::Event;
use support::{call, engine, Stream};

const TOKEN: &str = "s3cret-token";

/// Headers, body, expected status and error code of a refused publish.
type BadPublish<'a> = (Vec<(&'a str, &'a str)>, String, u16, &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_needs_the_right_token() {
    let engine = engine(&[("publish_token", TOKEN)]);
    let addr = engine.local_addr();
    let mut stream = Stream::subscribed(addr, "/events?topic=n", &[]).await;
    let body =
        r#"{"topic":"n","data":{"text":"hi","n":[1,2]},"event":"note","id":"n-1","retry":900}"#;
    let json = ("content-type", "application/json");

    let missing = call("POST", addr, "/publish", &[json], body).await;
    assert_eq!(missing.status, 401);
    assert!(missing.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer realm=\"ssecast\", error=\"invalid_token\""));
    assert_eq!(missing.json()["code"], "TOKEN_MISSING");
    let wrong = call(
        "POST",
        addr,
        "/publish",
        &[json, ("authorization", "Bearer nope")],
        body,
    )
    .await;
    assert_eq!(
        (wrong.status.as_u16(), wrong.json()["code"].as_str()),
        (401, Some("TOKEN_INVALID"))
    );
    let almost = call(
        "POST",
        addr,
        "/publish",
        &[json, ("authorization", "Bearer s3cret-toke")],
        body,
    )
    .await;
    assert_eq!(almost.status, 401);
    let basic = call(
        "POST",
        addr,
        "/publish",
        &[json, ("authorization", "Basic czNjcmV0")],
        body,
    )
    .await;
    assert_eq!(basic.status, 401);
    assert_eq!(
        engine.stats().published,
        0,
        "refused requests publish nothing"
    );

    let auth = format!("Bearer {TOKEN}");
    let ok = call(
        "POST",
        addr,
        "/publish",
        &[json, ("authorization", &auth)],
        body,
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["id"], "n-1");
    let event = stream.next_event().await.unwrap();
    assert_eq!((event.event.as_str(), event.id.as_str()), ("note", "n-1"));
    assert_eq!(
        event.data, r#"{"text":"hi","n":[1,2]}"#,
        "JSON data arrives as compact JSON"
    );
    assert_eq!(stream.retry(), Some(900));

    let form = (
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8",
    );
    let ok = call(
        "POST",
        addr,
        "/publish",
        &[form, ("authorization", &auth)],
        "topic=n&data=line1%0Aline2",
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let id = ok.json()["id"].as_str().unwrap().to_string();
    let event = stream.next_event().await.unwrap();
    assert_eq!((event.id, event.data.as_str()), (id, "line1\nline2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_is_off_without_a_token_and_checks_its_body() {
    let addr_off = engine(&[]);
    let off = call(
        "POST",
        addr_off.local_addr(),
        "/publish",
        &[("content-type", "application/json")],
        "{}",
    )
    .await;
    assert_eq!(off.status, 403);
    assert_eq!(off.json()["code"], "PUBLISH_DISABLED");

    let engine = engine(&[("publish_token", TOKEN), ("max_event_bytes", "100")]);
    let addr = engine.local_addr();
    let auth = format!("Bearer {TOKEN}");
    let auth = ("authorization", auth.as_str());
    let json = ("content-type", "application/json");
    let cases: Vec<BadPublish> = vec![
        (
            vec![auth, ("content-type", "text/plain")],
            "data".into(),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (vec![auth], "{}".into(), 415, "UNSUPPORTED_MEDIA_TYPE"),
        (vec![auth, json], "{not json".into(), 400, "BAD_REQUEST"),
        (
            vec![auth, json],
            r#"{"data":"x","colour":"red"}"#.into(),
            400,
            "BAD_REQUEST",
        ),
        (
            vec![auth, json],
            r#"{"data":"x","id":"a\nb"}"#.into(),
            400,
            "INVALID_ID",
        ),
        (
            vec![auth, json],
            r#"{"data":"x","event":"a\rb"}"#.into(),
            400,
            "INVALID_EVENT_NAME",
        ),
        (
            vec![auth, json],
            r#"{"data":"x","topic":""}"#.into(),
            400,
            "INVALID_TOPIC",
        ),
        (
            vec![auth, json],
            r#"{"data":"x","retry":-5}"#.into(),
            400,
            "BAD_REQUEST",
        ),
        (
            vec![auth, json],
            format!(r#"{{"data":"{}"}}"#, "x".repeat(101)),
            413,
            "TOO_LARGE",
        ),
        (
            vec![auth, json],
            format!(r#"{{"data":"{}"}}"#, "x".repeat(100_000)),
            413,
            "TOO_LARGE",
        ),
        (
            vec![auth, ("content-type", "application/x-www-form-urlencoded")],
            "data=1&data=2".into(),
            400,
            "BAD_REQUEST",
        ),
    ];
    for (headers, body, status, code) in cases {
        let reply = call("POST", addr, "/publish", &headers, body.clone()).await;
        assert_eq!(reply.status, status, "{body:.60}: {}", reply.body);
        assert_eq!(reply.json()["code"], code, "{body:.60}");
        assert!(!reply.json()["error"].as_str().unwrap().is_empty());
    }
    assert_eq!(
        engine.stats().published,
        0,
        "no bad request published anything"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allowlist_and_preflight() {
    let engine = engine(&[
        ("cors_origins", "https://app.example"),
        ("publish_token", TOKEN),
    ]);
    let addr = engine.local_addr();
    let allowed = ("origin", "https://app.example");
    let stream = Stream::subscribed(addr, "/events", &[allowed]).await;
    assert_eq!(
        stream.headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(stream.headers["access-control-allow-credentials"], "true");
    assert_eq!(stream.headers["vary"], "Origin");

    let refused = Stream::open(addr, "/events", &[("origin", "https://evil.example")]).await;
    assert_eq!(refused.status, 403);
    assert!(refused.headers.get("access-control-allow-origin").is_none());

    let preflight = call(
        "OPTIONS",
        addr,
        "/publish",
        &[
            allowed,
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization,content-type",
            ),
        ],
        "",
    )
    .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert!(preflight.headers["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert!(preflight.headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("Authorization"));
    let refused = call(
        "OPTIONS",
        addr,
        "/publish",
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "POST"),
        ],
        "",
    )
    .await;
    assert_eq!(refused.status, 403);

    let any = support::engine(&[("cors_origins", "*")]);
    let stream = Stream::subscribed(
        any.local_addr(),
        "/events",
        &[("origin", "https://x.example")],
    )
    .await;
    assert_eq!(stream.headers["access-control-allow-origin"], "*");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_statuses() {
    let engine = engine(&[("max_topics_per_connection", "3")]);
    let addr = engine.local_addr();
    let not_found = call("GET", addr, "/nope", &[], "").await;
    assert_eq!(not_found.status, 404);
    assert_eq!(not_found.json()["code"], "NOT_FOUND");
    let wrong = call("POST", addr, "/events", &[], "").await;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.headers["allow"], "GET, OPTIONS");
    assert_eq!(call("DELETE", addr, "/publish", &[], "").await.status, 405);
    let too_many = call(
        "GET",
        addr,
        "/events?topic=a&topic=b&topic=c&topic=d",
        &[],
        "",
    )
    .await;
    assert_eq!(too_many.status, 400);
    assert!(too_many.json()["error"]
        .as_str()
        .unwrap()
        .contains("max_topics_per_connection"));
    let bad_topic = call("GET", addr, "/events?topic=a%0Ab", &[], "").await;
    assert_eq!(bad_topic.status, 400);
    assert!(bad_topic.json()["error"]
        .as_str()
        .unwrap()
        .contains("control"));
    let long_id = "i".repeat(2000);
    let bad_id = call("GET", addr, "/events", &[("last-event-id", &long_id)], "").await;
    assert_eq!(bad_id.status, 400);
    let health = call("GET", addr, "/healthz", &[], "").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(
        engine.stats().connections,
        0,
        "refused streams are not counted"
    );
}

#[test]
fn huge_headers_get_431() {
    let engine = engine(&[]);
    let mut socket = std::net::TcpStream::connect(engine.local_addr()).unwrap();
    socket.set_read_timeout(Some(support::DEADLINE)).unwrap();
    let request = format!(
        "GET /events HTTP/1.1\r\nhost: localhost\r\nx-big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    socket.write_all(request.as_bytes()).unwrap();
    let mut head = [0u8; 64];
    let n = socket.read(&mut head).unwrap();
    let head = String::from_utf8_lossy(&head[..n]);
    assert!(head.starts_with("HTTP/1.1 431"), "{head}");
    // The engine keeps serving.
    let mut ok = std::net::TcpStream::connect(engine.local_addr()).unwrap();
    ok.write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    ok.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limit_answers_503() {
    let engine = engine(&[("max_connections", "2")]);
    let addr = engine.local_addr();
    let a = Stream::subscribed(addr, "/events", &[]).await;
    let _b = Stream::subscribed(addr, "/events", &[]).await;
    let refused = call("GET", addr, "/events", &[], "").await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.headers["retry-after"], "5");
    assert_eq!(refused.json()["code"], "TOO_MANY_CONNECTIONS");
    assert_eq!(engine.stats().connections, 2);
    drop(a);
    // The freed slot is usable again once the engine sees the close.
    let mut admitted = false;
    for _ in 0..200 {
        let attempt = Stream::open(addr, "/events", &[]).await;
        if attempt.status == 200 {
            admitted = true;
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(admitted, "a closed stream frees its slot");
    engine
        .publish("default", &Event::new("still works"))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_payloads_are_never_rewritten() {
    let engine = engine(&[("publish_token", TOKEN)]);
    let addr = engine.local_addr();
    let mut stream = Stream::subscribed(addr, "/events?topic=raw", &[]).await;
    let auth = format!("Bearer {TOKEN}");
    let auth = ("authorization", auth.as_str());
    let json = ("content-type", "application/json");
    let form = ("content-type", "application/x-www-form-urlencoded");
    let sent = [
        "123456789012345678901234567890",
        "18446744073709551616",
        "1E2",
        r#"{"a":1,"a":2}"#,
        "[1.0, 2.50]",
        r#""a string stays a string""#,
    ];
    for data in sent {
        let body = format!(r#"{{"topic":"raw","data":{data}}}"#);
        let reply = call("POST", addr, "/publish", &[auth, json], body).await;
        assert_eq!(reply.status, 200, "{data}: {}", reply.body);
    }
    let received: Vec<String> = stream
        .events(sent.len())
        .await
        .into_iter()
        .map(|e| e.data)
        .collect();
    let mut expected: Vec<String> = sent.iter().map(|d| d.to_string()).collect();
    expected[5] = "a string stays a string".into();
    assert_eq!(received, expected);

    // Text that is not valid Unicode is refused, never replaced.
    for (headers, body, code) in [
        (vec![auth, form], "topic=raw&data=%ff%fe", "INVALID_DATA"),
        (vec![auth, form], "topic=%ff", "INVALID_TOPIC"),
        (
            vec![auth, json],
            r#"{"topic":"raw","data":"\ud800"}"#,
            "INVALID_DATA",
        ),
        (
            vec![auth, json],
            r#"{"topic":"raw","id":"\udfff"}"#,
            "INVALID_ID",
        ),
    ] {
        let reply = call("POST", addr, "/publish", &headers, body).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.json()["code"], code, "{body}");
    }
    let refused = call("GET", addr, "/events?topic=%ff", &[], "").await;
    assert_eq!(refused.status, 400);
    assert_eq!(engine.stats().published, sent.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_past_max_topics_are_refused_with_503() {
    let engine = engine(&[("publish_token", TOKEN), ("max_topics", "2")]);
    let addr = engine.local_addr();
    let auth = format!("Bearer {TOKEN}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    for topic in ["a", "b"] {
        let body = format!(r#"{{"topic":"{topic}","data":"x"}}"#);
        assert_eq!(
            call("POST", addr, "/publish", &headers, body).await.status,
            200
        );
    }
    let refused = call(
        "POST",
        addr,
        "/publish",
        &headers,
        r#"{"topic":"c","data":"x"}"#,
    )
    .await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.json()["code"], "TOO_MANY_TOPICS");
    let refused = call("GET", addr, "/events?topic=c", &[], "").await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.json()["code"], "TOO_MANY_TOPICS");
    let err = engine.publish("d", &Event::new("x")).unwrap_err();
    assert_eq!(err.kind(), ssecast::ErrorKind::TooManyTopics);
    // Existing topics keep working.
    let mut stream = Stream::subscribed(addr, "/events?topic=a", &[]).await;
    engine.publish("a", &Event::new("still")).unwrap();
    assert_eq!(stream.events(1).await[0].data, "still");
    assert_eq!(engine.stats().topics, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_announced_with_expect_gets_413_not_100() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let engine = engine(&[("publish_token", TOKEN), ("max_event_bytes", "100")]);
    let mut socket = support::raw(engine.local_addr()).await;
    let head = format!(
        "POST /publish HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {TOKEN}\r\n\
         content-type: application/json\r\ncontent-length: 1000000000\r\n\
         expect: 100-continue\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    support::within("the answer", socket.read_to_end(&mut reply))
        .await
        .unwrap();
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(!reply.contains("100 Continue"), "{reply}");
    assert!(reply.contains("TOO_LARGE"));
}
