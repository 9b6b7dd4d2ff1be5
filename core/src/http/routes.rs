//! The routes hyper serves: every request the HTTP/1 fast path does not take.

use std::net::IpAddr;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode, Version};
use hyper::body::Incoming;

use super::client_script;
use super::cors::{self, Cors};
use super::hosts::Host;
use super::ops::{metrics, ready};
use super::poll;
use super::publish::publish;
use super::response::{Answer, ResponseBody};
use super::shared::Shared;
use super::stream_request;
use super::watchdog;
use crate::config::{DASHBOARD_PATH, METRICS_PATH, READY_PATH};
use crate::metrics::Transport;

/// Answers one request from `peer`.
pub(crate) async fn route(
    shared: &Shared,
    req: Request<Incoming>,
    peer: IpAddr,
) -> Response<ResponseBody> {
    let config = &shared.config;
    let path = req.uri().path();
    if req.method() == Method::GET && path == config.events_path {
        let transport = match req.version() {
            Version::HTTP_2 => Transport::Http2,
            _ => Transport::Http1Hyper,
        };
        return match stream_request::open(shared, req.uri(), req.headers(), peer, transport).await {
            Ok(open) if open.poll => poll::answer(shared, open).await.into_response(),
            Ok(open) => {
                watchdog::attach(open.stream.watch(config.write_timeout()));
                let mut response = Response::new(ResponseBody::Stream {
                    stream: open.stream,
                    _client_slot: open.client_slot,
                });
                *response.headers_mut() = open.headers;
                response
            }
            Err(answer) => answer.into_response(),
        };
    }
    let allow = if path == config.events_path || path == config.health_path {
        "GET, OPTIONS"
    } else if path == config.publish_path {
        "POST, OPTIONS"
    } else if (path == "/" && config.index_page.is_some())
        || (path == client_script::PATH && config.client_script)
        || (path == DASHBOARD_PATH && config.dashboard_page.is_some())
        || path == READY_PATH
        || (path == METRICS_PATH && config.metrics_bind.is_none())
    {
        "GET"
    } else {
        return Answer::error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("no route for {path}"),
        )
        .into_response();
    };
    // Health and readiness probes come with all sorts of hosts, and learn
    // nothing secret.
    let host = Host::of(&config.allowed_hosts, req.uri(), req.headers());
    if path != config.health_path && path != READY_PATH {
        if let Some(refused) = host.refusal() {
            return refused.into_response();
        }
    }
    let cors = cors::check(&config.cors_origins, req.headers(), host.served_authority());
    let mut answer = match *req.method() {
        Method::OPTIONS => preflight(&cors),
        Method::GET if path == config.health_path => health(shared),
        Method::GET if path == READY_PATH => ready(shared),
        Method::GET if path == METRICS_PATH => metrics(shared, req.headers()),
        Method::GET if path == "/" => index_page(shared, &host),
        Method::GET if path == DASHBOARD_PATH => page(config.dashboard_page.as_ref()),
        Method::GET if path == client_script::PATH => client_script::serve(req.headers()),
        Method::POST if path == config.publish_path => publish(shared, req).await,
        _ => Answer::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("{path} accepts {allow}"),
        )
        .with_header(header::ALLOW, HeaderValue::from_static(allow)),
    };
    cors.apply(answer.headers_mut());
    answer.into_response()
}

fn preflight(cors: &Cors) -> Answer {
    if *cors == Cors::Refused {
        return cors::refused();
    }
    let mut answer = Answer::empty(StatusCode::NO_CONTENT);
    cors.apply_preflight(answer.headers_mut());
    answer
}

/// `GET /healthz`: the liveness probe, `200` while the engine runs.
pub(super) fn health(shared: &Shared) -> Answer {
    let stats = shared.hub.stats();
    Answer::json(
        StatusCode::OK,
        serde_json::json!({
            "status": "ok",
            "connections": stats.connections,
            "topics": stats.topics,
            "published": stats.published,
        }),
    )
}

/// The index page, to loopback hosts only: it may carry secrets (the demo page
/// carries the publish token).
fn index_page(shared: &Shared, host: &Host) -> Answer {
    if !host.is_loopback() {
        return Answer::error(
            StatusCode::MISDIRECTED_REQUEST,
            "HOST_NOT_ALLOWED",
            "the index page is served to localhost and loopback addresses only",
        );
    }
    page(shared.config.index_page.as_ref())
}

/// A configured HTML page (the dashboard carries no secret: it is served to
/// every host the engine serves).
fn page(html: Option<&Bytes>) -> Answer {
    let html = html.cloned().unwrap_or_default();
    Answer::new(StatusCode::OK, "text/html; charset=utf-8", html)
        .with_header(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))
}
