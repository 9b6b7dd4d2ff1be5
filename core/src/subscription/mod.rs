//! In-app subscriptions: the engine's event streams read by the host itself,
//! to serve them on its own port, behind its own authentication.
//!
//! A [`Subscription`] is the same [`EventStream`] that `GET /events` serves:
//! the same checks, resume position, reset signal, opening frame, keep-alive,
//! slow-consumer rule and end at stop. Instead of writing to a socket, the
//! host reads ready-encoded [`Chunk`]s in one of three ways:
//!
//! - async Rust: [`Subscription::next`] (or [`Subscription::poll_next`]);
//! - a blocking thread: [`Subscription::read_timeout`];
//! - an event loop: the readiness descriptor of [`Subscription::fd`], or one
//!   [`ReadySet`] shared by many subscriptions
//!   ([`Subscription::attach`]), then [`Subscription::try_read`].
//!
//! Reading polls the stream on the host's thread with a waker that only raises
//! a signal: there is no task, no channel and no copy per subscription.
//!
//! In-app streams count in `stats().connections` and towards
//! `max_connections`. Stop ends them (after what was published before it) but
//! does not wait for their hosts to read them. Dropping a subscription releases
//! its topics and its slot at once.

mod chunk;
mod ready;

use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use http_body::Body;

pub use chunk::Chunk;
pub use ready::ReadySet;

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::hub::Hub;
use crate::metrics::Transport;
use crate::report::EndReason;
use crate::stream::{EventStream, StreamOrigin, StreamRequest, StreamSettings};
use ready::TokenWaker;

/// Opens the in-app subscriptions of one engine.
pub(crate) struct Subscriptions {
    hub: Arc<Hub>,
    settings: StreamSettings,
    max_topics: usize,
}

impl Subscriptions {
    /// Subscriptions to `hub` that open and keep themselves alive as `config`
    /// says every stream does.
    pub(crate) fn new(hub: Arc<Hub>, config: &Config) -> Self {
        Subscriptions {
            hub,
            settings: StreamSettings::new(config),
            max_topics: config.max_topics_per_connection,
        }
    }

    /// Checks the request as `GET /events` does and opens the stream.
    pub(crate) fn open<T: AsRef<str>>(
        &self,
        topics: &[T],
        last_event_id: Option<&str>,
    ) -> Result<Subscription> {
        let request = StreamRequest::new(self.max_topics, topics, last_event_id)?;
        if self.hub.is_stopped() {
            return Err(Error::new(ErrorKind::Stopped, "the engine is stopped"));
        }
        let slot = self.hub.take_hosted_stream_slot().ok_or_else(|| {
            Error::new(
                ErrorKind::TooManyConnections,
                format!(
                    "{} streams are open, the most max_connections allows",
                    self.hub.max_streams()
                ),
            )
        })?;
        let stream = EventStream::open(
            self.hub.clone(),
            slot,
            &request.topics,
            request.last_event_id.as_deref(),
            self.settings,
            StreamOrigin {
                transport: Transport::InApp,
                peer: None,
            },
        )?;
        Ok(Subscription { stream, wake: None })
    }
}

/// One in-app event stream: what `GET /events?topic=...` would send, read by
/// the host. Made by [`Engine::subscribe`](crate::Engine::subscribe).
///
/// Every read gives one [`Chunk`] holding everything pending (up to 1,024
/// events or 256 KiB), ready to write to the client; the first holds the reset
/// signal (when the id could not be resumed) and the opening frame. The
/// subscription ends after stop (once everything published before it was
/// read) or when the reader falls behind the history; [`Subscription::end_reason`]
/// says which. Dropping it releases its topics and its connection slot.
pub struct Subscription {
    stream: EventStream,
    /// The waker reads poll with when the host gives none.
    wake: Option<Wakeup>,
}

struct Wakeup {
    token: Arc<TokenWaker>,
    waker: Waker,
    /// True for the subscription's own descriptor, which reads lower; a
    /// shared set is lowered by the host when it takes its tokens.
    own: bool,
}

impl Wakeup {
    fn new(set: &ReadySet, token: u64, own: bool) -> Self {
        let token = TokenWaker::new(set.clone(), token);
        Wakeup {
            waker: Waker::from(token.clone()),
            token,
            own,
        }
    }
}

/// The outcome of a read that does not wait on the host's own waker.
#[derive(Debug)]
pub enum Read {
    /// Stream bytes to send.
    Data(Chunk),
    /// Nothing yet (within the timeout, if any).
    NotReady,
    /// The stream is over; every later read says the same.
    Ended(EndReason),
}

impl Subscription {
    /// Polls for the next chunk with the caller's waker: `Ready(None)` once the
    /// stream has ended.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        poll_stream(&mut self.stream, cx)
    }

    /// The next chunk, or `None` once the stream has ended. Cancel-safe.
    pub async fn next(&mut self) -> Option<Chunk> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Reads without waiting. When it answers [`Read::NotReady`], the
    /// subscription's signal (its descriptor, or its token in the set it is
    /// attached to) is raised when there is more to read. Read until
    /// `NotReady` before waiting for the signal again: a chunk holds at most
    /// one batch, and the signal is not raised again for what is already
    /// pending.
    pub fn try_read(&mut self) -> Read {
        let waker = match &self.wake {
            Some(wake) => {
                if wake.own {
                    wake.token.set().clear();
                }
                wake.token.rearm();
                &wake.waker
            }
            None => Waker::noop(),
        };
        let mut cx = Context::from_waker(waker);
        match poll_stream(&mut self.stream, &mut cx) {
            Poll::Ready(Some(chunk)) => Read::Data(chunk),
            Poll::Ready(None) => Read::Ended(self.end_reason().unwrap_or(EndReason::Stopped)),
            Poll::Pending => Read::NotReady,
        }
    }

    /// Reads, waiting on this thread up to `timeout` (`None`: until there is
    /// something) for data or the end. Uses the subscription's own descriptor
    /// (created on first use), detaching it from a shared [`ReadySet`].
    /// Errors only when the descriptor cannot be created or polled
    /// ([`ErrorKind::Internal`]).
    pub fn read_timeout(&mut self, timeout: Option<Duration>) -> Result<Read> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        self.own_wakeup()?;
        loop {
            match self.try_read() {
                Read::NotReady => {}
                done => return Ok(done),
            }
            let left = match (timeout, deadline) {
                (Some(_), Some(deadline)) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(Read::NotReady);
                    }
                    Some(left)
                }
                _ => None,
            };
            let set = self.own_wakeup()?.token.set().clone();
            set.wait(left)?;
        }
    }

    /// The subscription's readiness descriptor (an eventfd, created on first
    /// call, detaching the subscription from a shared [`ReadySet`]): readable
    /// when [`Subscription::try_read`] has something to give. Owned by the
    /// subscription: never close it; it is closed when the subscription is
    /// dropped.
    pub fn fd(&mut self) -> Result<RawFd> {
        let wake = self.own_wakeup()?;
        Ok(wake
            .token
            .set()
            .fd()
            .expect("a subscription's own set is an eventfd"))
    }

    /// Announces this subscription's wakes as `token` in `set` instead of its
    /// own descriptor. Call [`Subscription::try_read`] after attaching, before
    /// waiting for the token: wakes reach the new set from that read on.
    pub fn attach(&mut self, set: &ReadySet, token: u64) {
        self.wake = Some(Wakeup::new(set, token, false));
    }

    /// Why the stream ended, once it has.
    pub fn end_reason(&self) -> Option<EndReason> {
        self.stream.end_reason()
    }

    fn own_wakeup(&mut self) -> Result<&Wakeup> {
        if !self.wake.as_ref().is_some_and(|wake| wake.own) {
            self.wake = Some(Wakeup::new(&ReadySet::eventfd()?, 0, true));
        }
        Ok(self.wake.as_ref().expect("set just above"))
    }
}

/// Polls `stream` for its next batch, as a chunk.
fn poll_stream(stream: &mut EventStream, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
    match Pin::new(stream).poll_frame(cx) {
        Poll::Ready(Some(Ok(frame))) => {
            Poll::Ready(Some(Chunk::new(frame.into_data().unwrap_or_default())))
        }
        Poll::Ready(Some(Err(never))) => match never {},
        Poll::Ready(None) => Poll::Ready(None),
        Poll::Pending => Poll::Pending,
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("ended", &self.end_reason())
            .finish_non_exhaustive()
    }
}
