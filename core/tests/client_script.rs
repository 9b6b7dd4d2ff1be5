//! `GET /ssecast.js`: the committed browser client, served only when
//! `client_script = true`, as JavaScript, cacheable and revalidated by `ETag`,
//! with the same CORS answers as the other routes.

mod support;

use support::{call, engine};

/// The committed classic-script build of the client (`make client-script`).
fn committed() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/ssecast.js");
    std::fs::read_to_string(path).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_by_default() {
    let engine = engine(&[]);
    let reply = call("GET", engine.local_addr(), "/ssecast.js", &[], "").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["code"], "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_as_javascript_and_revalidated() {
    let engine = engine(&[
        ("client_script", "true"),
        ("cors_origins", "https://app.example"),
    ]);
    let addr = engine.local_addr();
    let reply = call("GET", addr, "/ssecast.js", &[], "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.headers["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(reply.headers["cache-control"], "public, max-age=300");
    assert_eq!(reply.body, committed());
    assert!(reply.body.contains("ssecast"), "the global's name is in it");
    let etag = reply.headers["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
        "{etag}"
    );

    let fresh = call("GET", addr, "/ssecast.js", &[("if-none-match", &etag)], "").await;
    assert_eq!(fresh.status, 304);
    assert_eq!(fresh.body, "");
    assert_eq!(fresh.headers["etag"], etag.as_str());
    let listed = format!("\"other\", W/{etag}");
    let fresh = call(
        "GET",
        addr,
        "/ssecast.js",
        &[("if-none-match", &listed)],
        "",
    )
    .await;
    assert_eq!(fresh.status, 304, "a weak match in a list");
    let stale = call(
        "GET",
        addr,
        "/ssecast.js",
        &[("if-none-match", "\"old\"")],
        "",
    )
    .await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body, committed());

    let cross = call(
        "GET",
        addr,
        "/ssecast.js",
        &[("origin", "https://app.example")],
        "",
    )
    .await;
    assert_eq!(cross.status, 200);
    assert_eq!(
        cross.headers["access-control-allow-origin"],
        "https://app.example"
    );
    let wrong = call("POST", addr, "/ssecast.js", &[], "").await;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.headers["allow"], "GET");
}

#[test]
fn its_path_cannot_be_another_endpoint() {
    let mut config = ssecast::Config::default();
    config.set("client_script", "true").unwrap();
    config.set("events_path", "/ssecast.js").unwrap();
    let err = ssecast::Engine::start(config).unwrap_err();
    assert!(err.message().contains("events_path"), "{}", err.message());
}
