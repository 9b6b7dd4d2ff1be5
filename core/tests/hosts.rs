//! DNS rebinding: a page on `attacker.example`, whose name the attacker points
//! at the engine's address, sends requests with `Host` (and `Origin`) naming
//! `attacker.example`. The engine answers `421` to every route but the health
//! check, never hands such a page the demo page (which carries the publish
//! token), and never takes an `Origin` for its own because it matches an
//! attacker-chosen `Host`.

mod support;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use ssecast::{Config, Engine};
use support::{raw, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "the-demo-token";

/// An engine with a page at `/` that carries the publish token, as `--demo`'s does.
fn demo_engine(allowed_hosts: &str) -> Engine {
    let mut config = Config::default();
    config.set("port", "0").unwrap();
    config.set("publish_token", TOKEN).unwrap();
    config.set("allowed_hosts", allowed_hosts).unwrap();
    config.index_page = Some(format!("<script>const TOKEN = '{TOKEN}';</script>").into());
    Engine::start(config).unwrap()
}

/// Sends a raw HTTP/1.1 request and returns what the engine first answers.
async fn first_reply(engine: &Engine, request: String) -> String {
    let mut socket = raw(engine.local_addr()).await;
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut reply = vec![0u8; 4096];
    let n = within("an answer", socket.read(&mut reply)).await.unwrap();
    String::from_utf8_lossy(&reply[..n]).into_owned()
}

fn get(path: &str, host: &str, origin: Option<&str>) -> String {
    let origin = origin.map_or(String::new(), |o| format!("origin: {o}\r\n"));
    format!("GET {path} HTTP/1.1\r\nhost: {host}\r\n{origin}\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebinding_page_gets_421_everywhere_but_health() {
    let engine = demo_engine("");
    let port = engine.port();
    let host = format!("attacker.example:{port}");
    let origin = format!("http://{host}");
    let publish = format!(
        "POST /publish HTTP/1.1\r\nhost: {host}\r\norigin: {origin}\r\n\
         authorization: Bearer {TOKEN}\r\ncontent-type: application/json\r\n\
         content-length: 12\r\n\r\n{{\"data\":\"x\"}}"
    );
    let preflight = format!(
        "OPTIONS /publish HTTP/1.1\r\nhost: {host}\r\norigin: {origin}\r\n\
         access-control-request-method: POST\r\n\r\n"
    );
    for request in [
        get("/", &host, Some(&origin)),
        get("/events?topic=t", &host, Some(&origin)),
        get("/events?topic=t", &host, None),
        publish,
        preflight,
    ] {
        let reply = first_reply(&engine, request.clone()).await;
        assert!(reply.starts_with("HTTP/1.1 421"), "{request}\n=> {reply}");
        assert!(reply.contains("HOST_NOT_ALLOWED"), "{reply}");
        assert!(!reply.contains(TOKEN), "the token leaked: {reply}");
    }
    assert_eq!(engine.stats().published, 0);
    assert_eq!(engine.stats().connections, 0);

    // Over HTTP/2 the host is the request's authority.
    let io = TokioIo::new(raw(engine.local_addr()).await);
    let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
        .await
        .unwrap();
    tokio::spawn(conn);
    for path in ["/", "/events?topic=t"] {
        let request = http::Request::get(format!("http://{host}{path}"))
            .body(http_body_util::Full::new(Bytes::new()))
            .unwrap();
        let response = within("h2", sender.send_request(request)).await.unwrap();
        assert_eq!(response.status(), 421, "{path}");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(!String::from_utf8_lossy(&body).contains(TOKEN));
    }

    // Health probes come with any host.
    let health = first_reply(&engine, get("/healthz", &host, None)).await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    // The engine's own names and addresses are served, and the page with its
    // token only to loopback ones.
    for own in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        format!("demo.localhost:{port}"),
    ] {
        let page = first_reply(&engine, get("/", &own, Some(&format!("http://{own}")))).await;
        assert!(page.starts_with("HTTP/1.1 200"), "{own}: {page}");
        assert!(page.contains(TOKEN));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_hosts_are_served_and_star_proves_no_origin() {
    let engine = demo_engine("app.example");
    let port = engine.port();
    let app = format!("app.example:{port}");
    // A listed name: its own origin is same-origin, so no CORS listing is needed.
    let stream = first_reply(
        &engine,
        get("/events?topic=t", &app, Some(&format!("http://{app}"))),
    )
    .await;
    assert!(stream.starts_with("HTTP/1.1 200"), "{stream}");
    assert!(!stream.contains("access-control-allow-origin"));
    // But the page with the token stays on loopback names.
    let page = first_reply(&engine, get("/", &app, None)).await;
    assert!(page.starts_with("HTTP/1.1 421"), "{page}");
    assert!(!page.contains(TOKEN));
    let other = first_reply(
        &engine,
        get("/events", &format!("other.example:{port}"), None),
    )
    .await;
    assert!(other.starts_with("HTTP/1.1 421"), "{other}");

    // `*` serves any host, but an Origin naming that host is not the engine's own.
    let any = demo_engine("*");
    let host = format!("attacker.example:{}", any.port());
    let plain = first_reply(&any, get("/events?topic=t", &host, None)).await;
    assert!(plain.starts_with("HTTP/1.1 200"), "{plain}");
    let rebinding = first_reply(
        &any,
        get("/events?topic=t", &host, Some(&format!("http://{host}"))),
    )
    .await;
    assert!(rebinding.starts_with("HTTP/1.1 403"), "{rebinding}");
    assert!(rebinding.contains("ORIGIN_REFUSED"));
    let page = first_reply(&any, get("/", &host, None)).await;
    assert!(page.starts_with("HTTP/1.1 421"), "{page}");
}
