//! The engine: owns its runtime and server, and takes publishes from any thread.

use std::net::{IpAddr, SocketAddr};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpSocket;
use tokio::runtime::Runtime;
use tokio::sync::watch;

use crate::auth::{AccessControl, TokenMinter};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::event::Event;
use crate::http::{serve, serve_ops, Shared};
use crate::hub::Hub;
use crate::logs;
use crate::report::Stats;
use crate::subscription::{Subscription, Subscriptions};

/// A running ssecast engine: an HTTP server on its own threads that streams
/// published events to subscribers.
///
/// `Engine` is `Send + Sync`; share it (for example in an `Arc`) and publish from
/// any thread without entering its runtime. Dropping it stops it.
pub struct Engine {
    hub: Arc<Hub>,
    subscriptions: Subscriptions,
    addr: SocketAddr,
    /// Signs tokens when `jwt_secret` is set.
    minter: Option<TokenMinter>,
    metrics_addr: Option<SocketAddr>,
    running: Mutex<Option<Running>>,
}

struct Running {
    runtime: Runtime,
    shutdown: watch::Sender<bool>,
    server_done: mpsc::Receiver<()>,
    grace: Duration,
}

impl Engine {
    /// Validates `config`, binds the port (0 picks a free one), opens the durable
    /// history (with `history_dir`) and starts serving on a runtime of its own.
    /// Returns once the socket accepts connections. Fails with
    /// [`ErrorKind::Storage`] when the history directory cannot be used (see the
    /// README, "Durable history").
    pub fn start(config: Config) -> Result<Engine> {
        config.validate()?;
        logs::install(&config);
        // The durable history first: a refusal then drops no runtime (which
        // would panic when `start` is called from async code).
        let hub = Arc::new(Hub::new(&config)?);
        let ip: IpAddr = config.bind_ip();
        let threads = match config.worker_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("ssecast")
            .enable_all()
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Internal,
                    format!("cannot start the runtime: {e}"),
                )
            })?;
        let (listener, ops_listener) = {
            let _entered = runtime.enter();
            let listener = bind(
                SocketAddr::new(ip, config.port),
                config.send_buffer_bytes,
                config.reuse_port,
            )?;
            let ops_listener = match config.metrics_bind.as_deref() {
                Some(addr) => Some(bind(parse_addr(addr)?, 0, false)?),
                None => None,
            };
            hub.start_backplane(&config)?;
            (listener, ops_listener)
        };
        let local = |listener: &tokio::net::TcpListener| {
            listener
                .local_addr()
                .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
        };
        let addr = local(&listener)?;
        let metrics_addr = ops_listener.as_ref().map(local).transpose()?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (done_tx, server_done) = mpsc::channel();
        let grace = Duration::from_millis(config.shutdown_timeout_ms);
        let keepalive = Duration::from_millis(config.keepalive_ms);
        let history_ttl = config.history_ttl_ms;
        let access = AccessControl::from_config(&config)?;
        // Streams notice their token's expiry on the clock's ticks.
        let clock = match keepalive.is_zero() {
            false => Some(keepalive),
            true => access.tokens_enabled().then_some(EXPIRY_CLOCK),
        };
        let minter = config
            .jwt_secret
            .is_some()
            .then(|| TokenMinter::from_config(&config))
            .transpose()?;
        let subscriptions = Subscriptions::new(hub.clone(), &config);
        let shared = Arc::new(Shared {
            hub: hub.clone(),
            config,
            access,
        });
        if let Some(ops_listener) = ops_listener {
            runtime.spawn(serve_ops(ops_listener, shared.clone(), shutdown_rx.clone()));
        }
        runtime.spawn(async move {
            serve(listener, shared, shutdown_rx).await;
            let _ = done_tx.send(());
        });
        runtime.spawn(hub.clone().run_waker());
        if let Some(interval) = clock {
            runtime.spawn(hub.clone().run_clock(interval));
        }
        // Expired history goes at most a minute late, and at least a second apart.
        let sweep_every = Duration::from_millis(history_ttl.clamp(1_000, 60_000));
        runtime.spawn(hub.clone().run_sweep(sweep_every));
        tracing::info!("ssecast listening on {addr}");
        if let Some(metrics_addr) = metrics_addr {
            tracing::info!("metrics, health and readiness on {metrics_addr}");
        }
        Ok(Engine {
            hub,
            subscriptions,
            addr,
            minter,
            metrics_addr,
            running: Mutex::new(Some(Running {
                runtime,
                shutdown,
                server_done,
                grace,
            })),
        })
    }

    /// The address the engine listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the engine listens on (the one picked when configured as 0).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address of the `metrics_bind` listener (with the port picked when
    /// configured as 0), or `None` when metrics are served on the main port.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Publishes `event` to `topic` and returns its id. Callable from any thread;
    /// never blocks on a socket. Fails with a clear error for a bad topic, event
    /// name, id or payload, and with [`ErrorKind::Stopped`] after [`Engine::stop`].
    ///
    /// With `history_dir` and `history_sync = always` it returns once the event
    /// is fsynced (concurrent publishers share one fsync). Fails with
    /// [`ErrorKind::Storage`] when the durable history cannot take the event
    /// (disk full, I/O error): the event is then not published, or, when the
    /// failure comes after it was queued, it may have reached live subscribers
    /// and may still be stored.
    ///
    /// With a `backplane`, it returns once Redis has the event (one round
    /// trip; the event reaches this engine's streams, as every node's, through
    /// its feed) and fails with [`ErrorKind::Unavailable`] while Redis cannot
    /// be reached: the event was then not published.
    pub fn publish(&self, topic: &str, event: &Event<'_>) -> Result<String> {
        self.hub.publish(topic, event)
    }

    /// Fails with [`ErrorKind::TooLarge`] when a payload of `len` bytes is over
    /// `max_event_bytes`, as [`Engine::publish`] would: a binding checks this
    /// before it reads (or checks the UTF-8 of) a payload it was given as bytes.
    pub fn check_data_len(&self, len: usize) -> Result<()> {
        self.hub.check_data_len(len)
    }

    /// A token that lets its holder stream the topics matched by `topics` for
    /// `ttl`, signed with `jwt_secret`: the host app authenticates its user its
    /// own way, then hands this to the page, which streams with it (the `token`
    /// query parameter, the `jwt_cookie` cookie or `Authorization: Bearer`).
    ///
    /// `topics` are patterns: exact names, `*` for one segment, a trailing `**`,
    /// and `{sub}` for `subject` (`user/{sub}/notifications`). `subject`
    /// becomes the token's `sub` claim.
    ///
    /// Errors: [`ErrorKind::InvalidConfig`] without `jwt_secret`;
    /// [`ErrorKind::InvalidTopic`] for no pattern, a malformed one, or `{sub}`
    /// without a subject; [`ErrorKind::InvalidData`] for a `ttl` under one
    /// second or an unusable subject (empty, over 1024 bytes, control
    /// characters; with `{sub}`, `/`, `*`, braces, `.` or `..`).
    pub fn subscriber_token<T: AsRef<str>>(
        &self,
        topics: &[T],
        ttl: Duration,
        subject: Option<&str>,
    ) -> Result<String> {
        self.minter()?.subscriber_token(topics, ttl, subject)
    }

    /// A token that lets its holder publish over HTTP (`POST /publish`) on the
    /// topics matched by `topics` for `ttl`, signed with `jwt_secret`. Errors as
    /// [`Engine::subscriber_token`] (there is no subject, so no `{sub}`).
    pub fn publisher_token<T: AsRef<str>>(&self, topics: &[T], ttl: Duration) -> Result<String> {
        self.minter()?.publisher_token(topics, ttl)
    }

    fn minter(&self) -> Result<&TokenMinter> {
        self.minter.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidConfig,
                "minting tokens needs jwt_secret in the engine's configuration",
            )
        })
    }

    /// Opens an in-app subscription: the stream `GET /events` would serve for
    /// `topics` (none: the default topic) resumed after `last_event_id`, for
    /// the host to read and send on its own port. Same checks and errors as
    /// the HTTP endpoint: [`ErrorKind::InvalidTopic`] for a bad topic or more
    /// than `max_topics_per_connection`, [`ErrorKind::InvalidId`] for an id no
    /// event can have, [`ErrorKind::Stopped`] after stop, and
    /// [`ErrorKind::TooManyConnections`] when `max_connections` streams are
    /// open. An id that is well formed but unknown gives the reset signal, as
    /// on the engine's port. See [`Subscription`] for reading it.
    pub fn subscribe<T: AsRef<str>>(
        &self,
        topics: &[T],
        last_event_id: Option<&str>,
    ) -> Result<Subscription> {
        self.subscriptions.open(topics, last_event_id)
    }

    /// The engine's counters now.
    pub fn stats(&self) -> Stats {
        self.hub.stats()
    }

    /// Stops accepting connections, sends every stream what was published before
    /// the call, closes the streams, and joins the engine's threads. Idempotent.
    /// Waits at most `shutdown_timeout_ms` for streams to flush. With
    /// `history_dir`, then writes and syncs what the durable history still
    /// queues and releases the directory.
    pub fn stop(&self) {
        // The lock is held until the engine has stopped, so a concurrent call
        // returns only once the first one has finished.
        let mut state = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let Some(running) = state.take() else {
            return;
        };
        self.hub.stop();
        let _ = running.shutdown.send(true);
        let _ = running
            .server_done
            .recv_timeout(running.grace + Duration::from_secs(1));
        let runtime = running.runtime;
        // Dropping a runtime inside another runtime's thread panics: hand it to a
        // plain thread in that case.
        if tokio::runtime::Handle::try_current().is_ok() {
            let _ =
                std::thread::spawn(move || runtime.shutdown_timeout(Duration::from_secs(1))).join();
        } else {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
        // Streams have flushed: write what the durable history still queues.
        self.hub.close_history();
    }

    /// True once [`Engine::stop`] has been called.
    pub fn is_stopped(&self) -> bool {
        self.hub.is_stopped()
    }

    /// Drains the engine for a rolling deploy: from now on `GET /readyz`
    /// answers `503` and a new stream request is told to reconnect (a `200`
    /// stream that ends at once after a `retry:` within `reconnect_jitter_ms`),
    /// while the open streams close gradually over `window`, each after a
    /// `retry:` of its own. Publishing goes on, and each closed client resumes
    /// elsewhere with its `Last-Event-ID`. Returns once every stream has closed
    /// (at most `window` plus `shutdown_timeout_ms`); call [`Engine::stop`]
    /// afterwards.
    ///
    /// A `window` of zero closes every stream at once. A second call while a
    /// drain runs does not restart or shorten it: it waits for the same drain
    /// and returns `Ok`. After [`Engine::stop`] it fails with
    /// [`ErrorKind::Stopped`].
    pub fn drain(&self, window: Duration) -> Result<()> {
        let stopped = || Error::new(ErrorKind::Stopped, "the engine is stopped");
        let (runtime, grace) = {
            let state = self.running.lock().unwrap_or_else(|e| e.into_inner());
            let running = state.as_ref().ok_or_else(stopped)?;
            (running.runtime.handle().clone(), running.grace)
        };
        if self.hub.is_stopped() {
            return Err(stopped());
        }
        if self.hub.start_drain(window) {
            tracing::info!("draining over {window:?}");
            runtime.spawn(self.hub.clone().run_drain());
        }
        let Some(ends_at) = self.hub.drain().map(|drain| drain.ends_at()) else {
            return Err(Error::new(ErrorKind::Internal, "the drain did not start"));
        };
        let (closed_tx, closed) = mpsc::channel();
        let hub = self.hub.clone();
        runtime.spawn(async move {
            let _ = tokio::time::timeout_at(ends_at + grace, hub.all_streams_closed()).await;
            let _ = closed_tx.send(());
        });
        // Disconnected: the engine stopped meanwhile, which closed every stream.
        let _ = closed.recv();
        Ok(())
    }

    /// True once [`Engine::drain`] has been called.
    pub fn is_draining(&self) -> bool {
        self.hub.drain().is_some()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("addr", &self.addr)
            .field("stopped", &self.is_stopped())
            .finish()
    }
}

/// The clock's period when keep-alives are off but tokens expire: an idle
/// stream ends within a quarter of it after its token expires.
const EXPIRY_CLOCK: Duration = Duration::from_secs(16);

/// The address of a key that passed [`Config::validate`].
fn parse_addr(text: &str) -> Result<SocketAddr> {
    text.parse().map_err(|_| {
        Error::new(
            ErrorKind::InvalidConfig,
            format!("{text:?} is not an address"),
        )
    })
}

/// Binds and listens; accepted sockets inherit the send buffer size. With
/// `reuse_port`, other engines with it may listen on the same port.
fn bind(addr: SocketAddr, send_buffer: u32, reuse_port: bool) -> Result<tokio::net::TcpListener> {
    let fail = |e: std::io::Error| {
        let mut message = format!("cannot listen on {addr}: {e}");
        if e.kind() == std::io::ErrorKind::AddrInUse && !reuse_port {
            message.push_str(
                ". If another engine of this app holds the port (several workers), either give \
                 every worker the same `backplane` (Redis) and `reuse_port = true`, so they \
                 share the port and every publish, or run one standalone `ssecast` hub and \
                 publish to it over HTTP",
            );
        }
        Error::new(ErrorKind::Bind, message)
    };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(fail)?;
    socket.set_reuseaddr(true).map_err(fail)?;
    if reuse_port {
        #[cfg(unix)]
        socket.set_reuseport(true).map_err(fail)?;
        #[cfg(not(unix))]
        return Err(Error::new(
            ErrorKind::Bind,
            "reuse_port is not supported on this platform",
        ));
    }
    if send_buffer > 0 {
        socket.set_send_buffer_size(send_buffer).map_err(fail)?;
    }
    socket.bind(addr).map_err(fail)?;
    socket.listen(4096).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_port(port: u16, reuse_port: bool) -> Config {
        Config {
            port,
            reuse_port,
            ..Config::default()
        }
    }

    #[test]
    fn a_taken_port_names_both_remedies() {
        let first = Engine::start(on_port(0, false)).unwrap();
        let err = Engine::start(on_port(first.port(), false)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Bind);
        for words in ["backplane", "reuse_port = true", "standalone `ssecast` hub"] {
            assert!(err.message().contains(words), "{}", err.message());
        }
    }

    #[test]
    fn reuse_port_lets_two_listeners_share_a_port() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let _entered = runtime.enter();
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let first = bind(any, 0, true).unwrap();
        let addr = first.local_addr().unwrap();
        let second = bind(addr, 0, true).unwrap();
        assert_eq!(second.local_addr().unwrap(), addr);
        drop(second);
        let alone = bind(addr, 0, false).unwrap_err();
        assert!(alone.message().contains("backplane"), "{}", alone.message());
    }
}
