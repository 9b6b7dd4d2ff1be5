//! The accept loop, and who serves each connection: the HTTP/1 fast path for
//! event streams, hyper for the rest.

use std::convert::Infallible;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

use super::deadline::{Activity, Counted};
use super::fast_path::{self, Opening};
use super::prefixed::Prefixed;
use super::routes::route;
use super::shared::Shared;
use super::watchdog::{ConnWatch, Slot, StreamExecutor, Watched};
use crate::config::Config;

/// Accepts connections until `shutdown` changes, then lets every connection
/// finish within the shutdown timeout.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let builder = Arc::new(hyper_builder(&shared.config));
    let graceful = GracefulShutdown::new();
    let mut failures = AcceptFailures::default();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    let _ = socket.set_nodelay(true);
                    let peer = peer.ip();
                    tokio::spawn(connection(socket, peer, shared.clone(), builder.clone(), graceful.watcher()));
                }
                Err(e) => failures.failed(e).await,
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

/// hyper's HTTP/1 and HTTP/2 settings, with the fast path's head limits. An
/// HTTP/2 connection whose client has sent nothing for [`ping_interval`] gets
/// a PING, and is closed when the answer does not come within
/// `write_timeout_ms` (a peer gone without a word, whose streams would
/// otherwise wait for keep-alives to fill its window).
pub(super) fn hyper_builder(config: &Config) -> auto::Builder<StreamExecutor> {
    let mut builder = auto::Builder::new(StreamExecutor);
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.head_timeout())
        .max_buf_size(fast_path::MAX_HEAD);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(ping_interval(config))
        .keep_alive_timeout(config.write_timeout())
        .max_concurrent_streams(256)
        .max_header_list_size(fast_path::MAX_HEAD as u32);
    builder
}

/// How long an HTTP/2 connection's client may send nothing before it is
/// PINGed: the keep-alive interval, or the idle timeout when keep-alive
/// comments are off.
fn ping_interval(config: &Config) -> Duration {
    match config.keepalive_ms {
        0 => config.idle_timeout(),
        ms => Duration::from_millis(ms),
    }
}

/// Serves one connection from `peer`: event streams over HTTP/1 on the fast
/// path, the rest with hyper.
async fn connection(
    mut socket: TcpStream,
    peer: IpAddr,
    shared: Arc<Shared>,
    builder: Arc<auto::Builder<StreamExecutor>>,
    watcher: Watcher,
) {
    let prefix = match fast_path::read_opening(&shared, &mut socket).await {
        Opening::Stream(head) => return fast_path::serve(&shared, socket, peer, head).await,
        Opening::Gone => return,
        Opening::Other(prefix) => prefix.freeze(),
    };
    let config = &shared.config;
    let (head, idle) = (config.head_timeout(), config.idle_timeout());
    let write_timeout = config.write_timeout();
    let activity = Activity::new();
    let requests = activity.clone();
    let service = service_fn(move |req| {
        let in_flight = requests.begin();
        let shared = shared.clone();
        async move {
            let response = route(&shared, req, peer).await;
            Ok::<_, Infallible>(response.map(|body| Counted::new(body, in_flight)))
        }
    });
    let output = ConnWatch::new();
    let io = TokioIo::new(Watched::new(Prefixed::new(prefix, socket), output.clone()));
    let conn = watcher.watch(builder.serve_connection(io, service));
    // The connection is polled first: the deadlines look at what it left.
    tokio::select! {
        biased;
        ended = Slot::new(output.clone()).run(conn) => match ended {
            Some(Err(e)) => tracing::debug!("connection ended with an error: {e}"),
            Some(Ok(())) => {}
            None => tracing::debug!("closing a connection whose stream fell behind"),
        },
        () = activity.idle_for(head, idle) => {
            tracing::debug!("closing a connection idle past its deadline");
        }
        () = output.stuck(write_timeout) => {}
    }
}

/// How long the accept loop pauses after a failure (out of descriptors, most
/// often), so that it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The shortest time between two warnings about failed accepts.
const ACCEPT_WARNING_EVERY: Duration = Duration::from_secs(10);

/// Accept failures: one warning per [`ACCEPT_WARNING_EVERY`] at most, counting
/// the failures it stands for.
#[derive(Default)]
pub(super) struct AcceptFailures {
    last_warning: Option<Instant>,
    unreported: u64,
}

impl AcceptFailures {
    /// Reports `error` unless a warning went out recently, then backs off.
    pub(super) async fn failed(&mut self, error: io::Error) {
        if let Some(count) = self.count(Instant::now()) {
            tracing::warn!("accept failed ({count} times since the last warning): {error}");
        }
        tokio::time::sleep(ACCEPT_BACKOFF).await;
    }

    /// Counts one failure; the number of failures to report when a warning is
    /// due at `now`.
    fn count(&mut self, now: Instant) -> Option<u64> {
        self.unreported += 1;
        if self
            .last_warning
            .is_some_and(|last| now - last < ACCEPT_WARNING_EVERY)
        {
            return None;
        }
        self.last_warning = Some(now);
        Some(std::mem::take(&mut self.unreported))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http2_pings_follow_the_keep_alive_interval_or_the_idle_timeout() {
        let mut config = Config {
            keepalive_ms: 2_000,
            idle_timeout_ms: 9_000,
            ..Config::default()
        };
        assert_eq!(ping_interval(&config), Duration::from_secs(2));
        config.keepalive_ms = 0;
        assert_eq!(ping_interval(&config), Duration::from_secs(9));
    }

    #[test]
    fn accept_warnings_are_rate_limited() {
        let mut failures = AcceptFailures::default();
        let start = Instant::now();
        let reported: Vec<Option<u64>> = (0..=400u32)
            .map(|i| failures.count(start + ACCEPT_BACKOFF * i))
            .collect();
        // 400 failures 50 ms apart span 20 s: three warnings, every failure counted.
        let warnings: Vec<(usize, u64)> = reported
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.map(|n| (i, n)))
            .collect();
        assert_eq!(warnings, [(0, 1), (200, 200), (400, 200)]);
    }
}
