//! In-app streams: the `Subscription` class (a core subscription read from
//! JavaScript without blocking) and `ReadySet` (how the engine wakes the
//! JavaScript thread: one threadsafe function per thread, called once for any
//! number of woken subscriptions).
//!
//! The async iteration and `engine.stream(req, res)` are JavaScript's job
//! (`subscription.js`, `stream.js`); this file converts reads to `Buffer`s.

use bytes::{Buf, BufMut};
use napi::bindgen_prelude::{BufferSlice, Function, JsValue, Unknown};
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi::{Env, Result, ValueType};
use napi_derive::napi;
use ssecast::{ErrorKind, Read};

use crate::args;
use crate::errors::type_error;

/// Where the engine announces the subscriptions of this JavaScript thread that
/// have something to read: `onReady` runs on this thread's event loop (never
/// keeping the process alive by itself), then `take()` names them.
#[napi]
pub struct ReadySet {
    inner: ssecast::ReadySet,
}

#[napi]
impl ReadySet {
    /// A set that calls `onReady()` on this thread once tokens were queued.
    #[napi(constructor, ts_args_type = "onReady: () => void")]
    pub fn new(on_ready: Function<(), ()>) -> Result<Self> {
        let notify = on_ready
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .weak::<true>()
            .build()?;
        let inner = ssecast::ReadySet::callback(move || {
            notify.call((), ThreadsafeFunctionCallMode::NonBlocking);
        });
        Ok(ReadySet { inner })
    }

    /// The tokens of the subscriptions woken since the last call.
    #[napi]
    pub fn take(&self) -> Vec<u32> {
        let mut tokens = Vec::new();
        self.inner.take(&mut tokens);
        // Tokens are handed out as u32 by `attach`.
        tokens.into_iter().map(|token| token as u32).collect()
    }
}

/// An in-app stream: what `GET /events` would send for some topics, for the
/// application to send on its own route. Made by `engine.subscribe()`.
///
/// `for await (const chunk of subscription)` gives `Buffer`s ready to write to
/// a client as they are: the reset signal when the id cannot be resumed, the
/// opening frame, the missed events, then live events in publish order, and
/// keep-alive comments when idle; many events arrive coalesced in one chunk.
/// Iteration ends when the engine stops (after everything published before),
/// when the reader falls behind the history (`endReason` says which), or at
/// `close()`. Leaving a `for await` loop early closes the subscription, which
/// releases its topics at once.
#[napi]
pub struct Subscription {
    /// `None` once the stream ended or was closed.
    inner: Option<ssecast::Subscription>,
    /// The set it announces itself to and its token there, once attached.
    attached: Option<(ssecast::ReadySet, u32)>,
    end_reason: Option<&'static str>,
    /// The bytes of a chunk of several frames, flattened before the copy into
    /// a `Buffer`; reused.
    scratch: Vec<u8>,
}

impl Subscription {
    /// Wraps a core subscription.
    pub fn new(inner: ssecast::Subscription) -> Self {
        Subscription {
            inner: Some(inner),
            attached: None,
            end_reason: None,
            scratch: Vec::new(),
        }
    }
}

#[napi]
impl Subscription {
    /// The next chunk if one is ready, else `null` (then `ended` says whether
    /// more can come). Never waits.
    #[napi]
    pub fn read<'env>(&mut self, env: &'env Env) -> Result<Option<BufferSlice<'env>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Ok(None);
        };
        match inner.try_read() {
            Read::Data(mut chunk) => {
                let buffer = if chunk.chunk().len() == chunk.remaining() {
                    BufferSlice::copy_from(env, chunk.chunk())
                } else {
                    self.scratch.clear();
                    self.scratch.put(&mut chunk);
                    BufferSlice::copy_from(env, &self.scratch)
                };
                buffer.map(Some)
            }
            Read::NotReady => Ok(None),
            Read::Ended(reason) => {
                self.end_reason = Some(reason.as_str());
                self.inner = None;
                Ok(None)
            }
        }
    }

    /// Announces this subscription's wakes as `token` in `ready`. Read after
    /// attaching, before waiting: wakes reach the set from that read on.
    #[napi]
    pub fn attach(&mut self, ready: &ReadySet, token: u32) {
        if let Some(inner) = self.inner.as_mut() {
            inner.attach(&ready.inner, u64::from(token));
        }
        self.attached = Some((ready.inner.clone(), token));
    }

    /// True once the stream is over; nothing more will come.
    #[napi(getter)]
    pub fn ended(&self) -> bool {
        self.end_reason.is_some()
    }

    /// Why the stream ended: `'stopped'`, `'drained'`, `'slow-consumer'` or
    /// `'closed'`; `null` while it runs.
    #[napi(
        getter,
        ts_return_type = "'stopped' | 'drained' | 'slow-consumer' | 'closed' | null"
    )]
    pub fn end_reason(&self) -> Option<&'static str> {
        self.end_reason
    }

    /// Releases the subscription's topics and its connection slot at once; a
    /// reader awaiting it ends its iteration. Idempotent.
    #[napi]
    pub fn close(&mut self) {
        if self.inner.take().is_some() {
            self.end_reason = Some("closed");
            if let Some((set, token)) = &self.attached {
                set.notify(u64::from(*token));
            }
        }
    }
}

/// The `topics` argument of `subscribe`: a string or an array of strings.
pub fn topics(env: &Env, value: &Unknown) -> Result<Vec<String>> {
    match value.get_type()? {
        ValueType::String => Ok(vec![args::string(
            env,
            value,
            "topics",
            ErrorKind::InvalidTopic,
        )?]),
        ValueType::Object if value.is_array()? => {
            // SAFETY: the type was just checked.
            let items = unsafe { value.cast::<Vec<Unknown>>() }?;
            items
                .iter()
                .map(|item| args::string(env, item, "every topic", ErrorKind::InvalidTopic))
                .collect()
        }
        _ => Err(type_error(
            env,
            "topics must be a string or an array of strings".to_owned(),
        )),
    }
}
