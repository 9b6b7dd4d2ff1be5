//! The accept loop, and who serves each connection: the HTTP/1 fast path for
//! event streams, hyper for the rest.

use std::convert::Infallible;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::fast_path::{self, Opening};
use super::prefixed::Prefixed;
use super::routes::route;
use super::shared::Shared;

/// Accepts connections until `shutdown` changes, then lets every connection
/// finish within the shutdown timeout.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let builder = Arc::new(hyper_builder());
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    let _ = socket.set_nodelay(true);
                    let peer = peer.ip();
                    tokio::spawn(connection(socket, peer, shared.clone(), builder.clone(), graceful.watcher()));
                }
                Err(e) => accept_failed(e).await,
            },
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    let grace = Duration::from_millis(shared.config.shutdown_timeout_ms);
    let drained = async {
        graceful.shutdown().await;
        shared.hub.all_streams_closed().await;
    };
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::warn!("connections still open after the shutdown timeout; closing them");
    }
}

/// hyper's HTTP/1 and HTTP/2 settings, with the fast path's head limits.
fn hyper_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(fast_path::HEAD_TIMEOUT)
        .max_buf_size(fast_path::MAX_HEAD);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256)
        .max_header_list_size(fast_path::MAX_HEAD as u32);
    builder
}

/// Serves one connection from `peer`: event streams over HTTP/1 on the fast
/// path, the rest with hyper.
async fn connection(
    mut socket: TcpStream,
    peer: IpAddr,
    shared: Arc<Shared>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    watcher: Watcher,
) {
    let prefix = match fast_path::read_opening(&shared, &mut socket).await {
        Opening::Stream(head) => return fast_path::serve(&shared, socket, peer, head).await,
        Opening::Gone => return,
        Opening::Other(prefix) => prefix.freeze(),
    };
    let service = service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(route(&shared, req, peer).await) }
    });
    let io = TokioIo::new(Prefixed::new(prefix, socket));
    let conn = builder.serve_connection(io, service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!("connection ended with an error: {e}");
    }
}

/// Backs off when the process runs out of descriptors, so the loop does not spin.
async fn accept_failed(error: io::Error) {
    tracing::warn!("accept failed: {error}");
    tokio::time::sleep(Duration::from_millis(50)).await;
}
