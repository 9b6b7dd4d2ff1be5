//! Deadlines of the connections hyper serves: a connection must bring its
//! first request within `head_timeout_ms` (for HTTP/2 that covers the preface),
//! and a connection with no request in flight (an HTTP/2 connection with no
//! open stream) is closed after `idle_timeout_ms`.
//!
//! A request counts as in flight from the call of the service until hyper drops
//! its response body, so a stream is in flight for as long as it is open. The
//! time a request head or body may take is bounded elsewhere (hyper's
//! `header_read_timeout`, `body_timeout_ms` around the body read).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Whether a connection has requests in flight, and since when it has none.
pub(crate) struct Activity {
    state: Mutex<State>,
    changed: Notify,
}

struct State {
    in_flight: usize,
    /// True once the connection brought a request.
    served: bool,
    /// When the last request in flight ended (or the connection opened).
    idle_since: Instant,
}

/// One request in flight on its connection, until dropped.
pub(crate) struct InFlight {
    activity: Arc<Activity>,
}

impl Activity {
    /// A connection that opens now, with no request yet.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Activity {
            state: Mutex::new(State {
                in_flight: 0,
                served: false,
                idle_since: Instant::now(),
            }),
            changed: Notify::new(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a request in flight until the returned guard is dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> InFlight {
        {
            let mut state = self.state();
            state.in_flight += 1;
            state.served = true;
        }
        self.changed.notify_waiters();
        InFlight {
            activity: self.clone(),
        }
    }

    /// Resolves once the connection has had no request in flight for `idle`,
    /// or for `head` when it has not brought a request yet.
    pub(crate) async fn idle_for(&self, head: Duration, idle: Duration) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let deadline = {
                let state = self.state();
                let allowed = if state.served { idle } else { head };
                (state.in_flight == 0).then(|| state.idle_since + allowed)
            };
            match deadline {
                None => changed.await,
                Some(deadline) => tokio::select! {
                    () = tokio::time::sleep_until(deadline) => return,
                    () = changed => {}
                },
            }
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        {
            let mut state = self.activity.state();
            state.in_flight -= 1;
            if state.in_flight == 0 {
                state.idle_since = Instant::now();
            }
        }
        self.activity.changed.notify_waiters();
    }
}

/// A response body that keeps its request counted as in flight until hyper
/// drops it.
pub(crate) struct Counted<B> {
    body: B,
    _in_flight: InFlight,
}

impl<B> Counted<B> {
    /// `body`, counted by `in_flight`.
    pub(crate) fn new(body: B, in_flight: InFlight) -> Self {
        Counted {
            body,
            _in_flight: in_flight,
        }
    }
}

impl<B: Body + Unpin> Body for Counted<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(30);

    #[tokio::test(start_paused = true)]
    async fn head_deadline_before_the_first_request() {
        let activity = Activity::new();
        let start = Instant::now();
        activity.idle_for(HEAD, IDLE).await;
        assert_eq!(start.elapsed(), HEAD);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_deadline_counts_from_the_end_of_the_last_request() {
        let activity = Activity::new();
        let request = activity.begin();
        let ended = Arc::new(Mutex::new(None));
        let record = ended.clone();
        tokio::spawn(async move {
            // A request in flight for a minute: longer than both deadlines.
            tokio::time::sleep(Duration::from_secs(60)).await;
            *record.lock().unwrap() = Some(Instant::now());
            drop(request);
        });
        activity.idle_for(HEAD, IDLE).await;
        let ended = ended.lock().unwrap().expect("the request ended first");
        assert_eq!(ended.elapsed(), IDLE);
    }
}
