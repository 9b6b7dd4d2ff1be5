//! The listener of `metrics_bind`: `GET /metrics`, `/healthz` and `/readyz`
//! only, so that the public port need not expose them. Served by hyper (HTTP/1
//! and h2c) with the main port's head and idle deadlines; requests are short,
//! so stopping just stops accepting.

use std::convert::Infallible;
use std::sync::Arc;

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::accept::{hyper_builder, AcceptFailures};
use super::deadline::{Activity, Counted};
use super::ops::{metrics, ready};
use super::response::Answer;
use super::routes::health;
use super::shared::Shared;
use super::watchdog::StreamExecutor;
use crate::config::{METRICS_PATH, READY_PATH};

/// Accepts operator requests until `shutdown` changes.
pub(crate) async fn serve_ops(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let builder = Arc::new(hyper_builder(&shared.config));
    let mut failures = AcceptFailures::default();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => {
                    tokio::spawn(connection(socket, shared.clone(), builder.clone()));
                }
                Err(e) => failures.failed(e).await,
            },
            _ = shutdown.changed() => break,
        }
    }
}

/// Serves one operator connection until it ends or idles past its deadline.
async fn connection(
    socket: TcpStream,
    shared: Arc<Shared>,
    builder: Arc<auto::Builder<StreamExecutor>>,
) {
    let config = &shared.config;
    let (head, idle) = (config.head_timeout(), config.idle_timeout());
    let activity = Activity::new();
    let requests = activity.clone();
    let service = service_fn(move |req| {
        let in_flight = requests.begin();
        let answer = route(&shared, &req).into_response();
        async move { Ok::<_, Infallible>(answer.map(|body| Counted::new(body, in_flight))) }
    });
    tokio::select! {
        ended = builder.serve_connection(TokioIo::new(socket), service) => {
            if let Err(e) = ended {
                tracing::debug!("metrics connection ended with an error: {e}");
            }
        }
        () = activity.idle_for(head, idle) => {}
    }
}

/// The operator routes.
fn route(shared: &Shared, req: &Request<Incoming>) -> Answer {
    let path = req.uri().path();
    if req.method() != Method::GET {
        return Answer::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("{path} accepts GET"),
        );
    }
    match path {
        METRICS_PATH => metrics(shared, req.headers()),
        READY_PATH => ready(shared),
        _ if path == shared.config.health_path => health(shared),
        _ => Answer::error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("no route for {path} on the metrics listener"),
        ),
    }
}
