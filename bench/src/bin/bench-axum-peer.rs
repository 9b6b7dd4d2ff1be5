//! `bench-axum-peer`: the plain axum + `tokio::sync::broadcast` SSE server the
//! benchmarks compare ssecast with, written the way axum users write one.
//! Same surface as ssecast: `GET /events` and `POST /publish` (JSON `data`).
//!
//! `bench-axum-peer [PORT] [WORKER_THREADS]` (defaults 8081 and 1).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::response::sse::{Event, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream, StreamExt};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

/// The shared state: the broadcast sender and the id counter.
struct Hub {
    sender: tokio::sync::broadcast::Sender<Arc<str>>,
    next_id: AtomicU64,
}

/// The body of `POST /publish`.
#[derive(serde::Deserialize)]
struct Publish {
    data: String,
}

async fn events(State(hub): State<Arc<Hub>>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = BroadcastStream::new(hub.sender.subscribe());
    let first = stream::once(async { Ok(Event::default().comment("ok")) });
    let live = receiver.filter_map(|message| async move {
        match message {
            Ok(data) => Some(Ok(Event::default().data(&*data))),
            Err(BroadcastStreamRecvError::Lagged(_)) => None,
        }
    });
    Sse::new(first.chain(live))
}

async fn publish(
    State(hub): State<Arc<Hub>>,
    Json(body): Json<Publish>,
) -> Json<serde_json::Value> {
    let id = hub.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    let _ = hub.sender.send(body.data.into());
    Json(serde_json::json!({ "id": id.to_string() }))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(8081);
    let threads: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let (sender, _) = tokio::sync::broadcast::channel(1024);
        let hub = Arc::new(Hub {
            sender,
            next_id: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/events", get(events))
            .route("/publish", post(publish))
            .with_state(hub);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        eprintln!("bench-axum-peer listening on 127.0.0.1:{port}");
        axum::serve(listener, app).await.expect("serve");
    });
}
