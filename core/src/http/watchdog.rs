//! Watchdogs for what hyper serves: a connection whose socket takes no byte
//! for `write_timeout_ms` while hyper has output for it is closed, and so is a
//! stream whose [`StreamWatch`] fires (its client stopped taking bytes, or fell
//! behind the history with frames pending).
//!
//! hyper does not poll a response body while its output cannot move, so a
//! stuck stream's watchdog cannot live in the body. It runs beside the future
//! that owns the stream instead, in the same task: the whole connection for
//! HTTP/1, and each stream's task for HTTP/2 (spawned by [`StreamExecutor`]).
//! Ending that future closes the HTTP/1 connection, or resets the HTTP/2
//! stream, which frees its queued frames. A stream behind the history on an
//! HTTP/2 connection whose socket is stuck closes the connection, since its
//! frames cannot be freed otherwise.
//!
//! Routes find the slot of the stream they serve through a task-local
//! ([`attach`]).

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::stream::{Stall, StreamWatch};

tokio::task_local! {
    /// The slot of the stream (HTTP/2) or connection (HTTP/1) being served.
    static SLOT: Arc<Slot>;
}

/// Puts `watch` in charge of the stream the current task serves. Outside a
/// served connection it is dropped.
pub(crate) fn attach(watch: StreamWatch) {
    let _ = SLOT.try_with(|slot| *slot.lock_watch() = Some(watch));
}

/// One served stream's (or HTTP/1 connection's) watchdog, and its connection.
pub(crate) struct Slot {
    watch: Mutex<Option<StreamWatch>>,
    conn: Arc<ConnWatch>,
}

impl Slot {
    /// An empty slot on `conn`.
    pub(crate) fn new(conn: Arc<ConnWatch>) -> Arc<Self> {
        Arc::new(Slot {
            watch: Mutex::new(None),
            conn,
        })
    }

    fn lock_watch(&self) -> std::sync::MutexGuard<'_, Option<StreamWatch>> {
        self.watch.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ready when the stream attached here must close.
    pub(crate) fn poll_stalled(&self, cx: &mut Context<'_>) -> Poll<Stall> {
        match self.lock_watch().as_mut() {
            Some(watch) => watch.poll_stalled(cx),
            None => Poll::Pending,
        }
    }

    /// Runs `fut` with this slot as the task's, until it ends or the stream
    /// attached to the slot must close; `None` in the second case.
    pub(crate) async fn run<F: Future>(self: Arc<Self>, fut: F) -> Option<F::Output> {
        let fut = SLOT.scope(self.clone(), fut);
        let mut fut = std::pin::pin!(fut);
        // The watchdog is polled after the future, so that it sees the state
        // the future's last poll left.
        std::future::poll_fn(|cx| {
            if let Poll::Ready(output) = fut.as_mut().poll(cx) {
                return Poll::Ready(Some(output));
            }
            self.poll_stalled(cx).map(|stall| {
                if stall == Stall::Behind {
                    self.conn.close_if_stuck();
                }
                None
            })
        })
        .await
    }
}

/// The output of one connection served by hyper: whether its socket is stuck,
/// and whether it must close.
pub(crate) struct ConnWatch {
    state: Mutex<ConnState>,
    close: AtomicBool,
}

#[derive(Default)]
struct ConnState {
    /// Since when writes to the socket have been waiting, if they are.
    blocked_since: Option<Instant>,
    /// The connection task, woken to close.
    task: Option<Waker>,
}

impl ConnWatch {
    /// A connection whose socket takes what it is given, so far.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(ConnWatch {
            state: Mutex::new(ConnState::default()),
            close: AtomicBool::new(false),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ConnState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes the connection when its socket is stuck.
    fn close_if_stuck(&self) {
        let task = {
            let mut state = self.state();
            if state.blocked_since.is_none() {
                return;
            }
            state.task.take()
        };
        self.close.store(true, Ordering::Release);
        if let Some(task) = task {
            task.wake();
        }
    }

    fn record(&self, write: &Poll<io::Result<usize>>) {
        match write {
            Poll::Pending => {
                self.state().blocked_since.get_or_insert_with(Instant::now);
            }
            Poll::Ready(_) => self.state().blocked_since = None,
        }
    }

    /// Resolves once the connection must close: its socket took no byte for
    /// `timeout` while output waited, or a stream asked for it.
    pub(crate) async fn stuck(&self, timeout: Duration) {
        let mut timer: Option<Pin<Box<Sleep>>> = None;
        std::future::poll_fn(|cx| {
            let blocked_since = {
                let mut state = self.state();
                state.task = Some(cx.waker().clone());
                state.blocked_since
            };
            if self.close.load(Ordering::Acquire) {
                return Poll::Ready(());
            }
            let Some(since) = blocked_since else {
                return Poll::Pending;
            };
            let deadline = since + timeout;
            let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            if timer.deadline() != deadline {
                timer.as_mut().reset(deadline);
            }
            timer.as_mut().poll(cx)
        })
        .await;
        tracing::debug!("closing a connection whose socket is stuck");
    }
}

/// A connection's socket, reporting to its [`ConnWatch`] whether writes wait.
pub(crate) struct Watched<T> {
    io: T,
    conn: Arc<ConnWatch>,
}

impl<T> Watched<T> {
    /// `io`, reporting to `conn`.
    pub(crate) fn new(io: T, conn: Arc<ConnWatch>) -> Self {
        Watched { io, conn }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let write = Pin::new(&mut self.io).poll_write(cx, buf);
        self.conn.record(&write);
        write
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let write = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.conn.record(&write);
        write
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Spawns hyper's HTTP/2 stream tasks, each with a slot of its own on the
/// connection that spawns it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StreamExecutor;

impl<F> hyper::rt::Executor<F> for StreamExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        // hyper spawns from inside the connection's task, whose slot names the
        // connection.
        match SLOT.try_with(|slot| slot.conn.clone()) {
            Ok(conn) => {
                tokio::spawn(Slot::new(conn).run(fut));
            }
            Err(_) => {
                tokio::spawn(fut);
            }
        }
    }
}
