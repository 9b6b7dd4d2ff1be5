//! The `Engine` class: a handle on a core [`ssecast::Engine`] that converts
//! arguments and errors and nothing else.

use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi::{Env, Result, Task};
use napi_derive::napi;
use ssecast::{Config, ErrorKind, Event};

use crate::args::{self, Payload};
use crate::errors::{engine_error, engine_error_of, type_error};
use crate::running::Running;
use crate::subscription::{self, Subscription};
use crate::tokens::TokenArgs;
use crate::{options, registry};

/// A running ssecast engine: an HTTP server on threads of its own that streams
/// published events to every client of `GET /events?topic=...`.
///
/// Get one with `await Engine.start(options)`, or, in a `worker_threads`
/// worker, with `Engine.attach(port)`. While it runs, an engine keeps the
/// thread that called `Engine.start` alive, like a listening server;
/// `await engine.stop()` on any of its handles, in any thread, releases it.
#[napi]
pub struct Engine {
    inner: Arc<Running>,
}

/// Options of `engine.publish`.
#[napi(object, object_from_js = false, object_to_js = false)]
#[expect(
    dead_code,
    reason = "types index.d.ts only; Fields::read reads the object"
)]
pub struct PublishOptions {
    /// The event type (the `event:` field); clients listen with
    /// `addEventListener(event, ...)`. Absent: clients see a `message` event.
    pub event: Option<String>,
    /// The event id (the `id:` field) used verbatim; absent: the engine assigns one.
    pub id: Option<String>,
    /// A reconnection delay for clients, in milliseconds (the `retry:` field).
    pub retry: Option<u32>,
}

/// Options of `engine.subscribe`.
#[napi(object, object_from_js = false, object_to_js = false)]
#[expect(
    dead_code,
    reason = "types index.d.ts only; Engine::subscribe reads the object"
)]
pub struct SubscribeOptions {
    /// The id to resume after, as the client sent it: its `Last-Event-ID`
    /// header (or a `lastEventId` query parameter). Blank: none; unknown: the
    /// stream starts with the `ssecast-reset` signal.
    pub last_event_id: Option<String>,
}

/// The optional fields of an event, read from a [`PublishOptions`] object.
#[derive(Default)]
struct Fields {
    event: Option<String>,
    id: Option<String>,
    retry: Option<u32>,
}

impl Fields {
    /// Reads `options` (`undefined` or `null`: no field); an unknown option or a
    /// value of the wrong type is a `TypeError` naming it.
    fn read(env: &Env, options: Option<&Unknown>) -> Result<Fields> {
        let mut fields = Fields::default();
        for (name, value) in args::option_entries(env, options, "publish options")? {
            let absent = args::is_absent(&value)?;
            match name.as_str() {
                "event" | "id" | "retry" if absent => {}
                "event" => {
                    let what = "publish option event";
                    fields.event = Some(args::string(
                        env,
                        &value,
                        what,
                        ErrorKind::InvalidEventName,
                    )?)
                }
                "id" => {
                    let what = "publish option id";
                    fields.id = Some(args::string(env, &value, what, ErrorKind::InvalidId)?)
                }
                "retry" => {
                    fields.retry = Some(args::u32_number(env, &value, "publish option retry")?)
                }
                _ => {
                    return Err(type_error(
                        env,
                        format!("unknown publish option {name:?} (options: event, id, retry)"),
                    ))
                }
            }
        }
        Ok(fields)
    }
}

/// The engine's counters, as returned by `engine.stats()`: the numbers
/// `GET /metrics` exports. Counters count from the engine's start.
#[napi(object)]
pub struct Stats {
    /// Event streams open now: clients of the engine's port and in-app
    /// subscriptions.
    pub connections: u32,
    /// Topics that hold history or subscribers now.
    pub topics: u32,
    /// Events published since the engine started.
    pub published: f64,
    /// Streams closed because their client fell behind the history.
    pub slow_consumers_dropped: f64,
    /// Event streams opened since the engine started.
    pub streams_opened: f64,
    /// Stream requests refused before a stream opened (malformed, origin or
    /// host not allowed, over `maxConnections` or `maxTopics`, draining, stopping).
    pub streams_refused: f64,
    /// Events handed to subscribers' connections (one per subscriber).
    pub events_delivered: f64,
    /// Bytes of stream bodies handed to connections.
    pub bytes_delivered: f64,
    /// `ssecast-reset` signals sent to resuming clients.
    pub resets_sent: f64,
    /// Requests refused by access control.
    pub auth_failures: f64,
    /// Requests refused by a per-address limit.
    pub rate_limited: f64,
    /// The link to the backplane: `'connected'`, `'reconnecting'` or
    /// `'down'`; absent without `backplane`.
    pub backplane: Option<String>,
}

#[napi]
impl Engine {
    /// Starts an engine: checks `options`, binds the port and starts serving,
    /// off the JavaScript thread. Resolves once clients can connect; rejects with
    /// `ERR_SSECAST_INVALID_CONFIG` for a bad or unknown option and
    /// `ERR_SSECAST_BIND` when the port cannot be bound.
    // Configurable so that index.js can wrap it: a bad option must reject the
    // promise, not throw.
    #[napi(
        writable = true,
        configurable = true,
        ts_args_type = "options?: EngineOptions",
        ts_return_type = "Promise<Engine>"
    )]
    pub fn start(env: Env, options: Option<Unknown>) -> Result<AsyncTask<Start>> {
        let config = options::config_from(&env, options.as_ref())?;
        Ok(AsyncTask::new(Start { config }))
    }

    /// A new handle on the engine this process started on `port`, for a
    /// `worker_threads` worker (engine handles cannot be sent between threads).
    /// Every handle publishes to the same engine; `stop()` on any of them stops
    /// it. Throws `ERR_SSECAST_STOPPED` when no running engine listens on `port`.
    #[napi(ts_args_type = "port: number")]
    pub fn attach(env: Env, port: Unknown) -> Result<Engine> {
        let number = args::u32_number(&env, &port, "port")?;
        let Ok(port) = u16::try_from(number) else {
            return Err(type_error(
                &env,
                format!("port must be at most 65535 (got {number})"),
            ));
        };
        match registry::find(port) {
            Some(inner) => Ok(Engine { inner }),
            None => Err(engine_error_of(
                &env,
                ErrorKind::Stopped,
                format!("no running ssecast engine on port {port} in this process"),
            )),
        }
    }

    /// The TCP port the engine listens on (the one picked when `port` was 0).
    #[napi(getter)]
    pub fn port(&self) -> u32 {
        u32::from(self.inner.engine().port())
    }

    /// True once the engine has been stopped (by any of its handles).
    #[napi(getter)]
    pub fn stopped(&self) -> bool {
        self.inner.engine().is_stopped()
    }

    /// Publishes an event to every subscriber of `topic` and returns its id.
    ///
    /// `data` is a string, a `Buffer`/`Uint8Array` holding UTF-8, or any other
    /// value, sent as `JSON.stringify(data)`. Line breaks in the text become
    /// separate `data:` lines. Never waits on a socket.
    ///
    /// Throws an `Error` whose `code` names the problem:
    /// `ERR_SSECAST_INVALID_TOPIC`, `ERR_SSECAST_INVALID_EVENT_NAME`,
    /// `ERR_SSECAST_INVALID_ID` (CR, LF or NUL, empty, too long),
    /// `ERR_SSECAST_INVALID_DATA` (bytes that are not UTF-8, a value JSON cannot
    /// encode), `ERR_SSECAST_TOO_LARGE`, `ERR_SSECAST_STOPPED`; and a `TypeError`
    /// with code `ERR_SSECAST_INVALID_ARG_TYPE` for an argument of the wrong type.
    /// A string argument holding a lone surrogate (`'\ud800'`) is refused with
    /// the code of its argument (`ERR_SSECAST_INVALID_TOPIC` for the topic...),
    /// never sent as U+FFFD.
    #[napi(
        ts_args_type = "topic: string, data: string | Buffer | Uint8Array | object | number | boolean | null, options?: PublishOptions"
    )]
    pub fn publish(
        &self,
        env: Env,
        topic: Unknown,
        data: Unknown,
        options: Option<Unknown>,
    ) -> Result<String> {
        let topic = args::string(&env, &topic, "topic", ErrorKind::InvalidTopic)?;
        let payload = args::payload(&env, &data, "data")?;
        let fields = Fields::read(&env, options.as_ref())?;
        let mut event = match &payload {
            Payload::Text(text) => Event::new(text),
            Payload::Bytes(bytes) => Event::from_utf8(bytes).map_err(|e| engine_error(&env, &e))?,
        };
        if let Some(name) = &fields.event {
            event = event.event(name);
        }
        if let Some(id) = &fields.id {
            event = event.id(id);
        }
        if let Some(retry) = fields.retry {
            event = event.retry(retry);
        }
        self.inner
            .engine()
            .publish(&topic, &event)
            .map_err(|e| engine_error(&env, &e))
    }

    /// Mints a token that lets its holder stream the topics matched by
    /// `topics` for `options.ttl` seconds, signed with `jwtSecret`.
    ///
    /// Your app authenticates its user its own way, then hands the token to the
    /// page, which streams with it: `/events?topic=...&token=TOKEN`, the
    /// `jwtCookie` cookie, or `Authorization: Bearer TOKEN`. A stream ends when
    /// its token expires; the client reconnects with a fresh one and
    /// `Last-Event-ID`, missing nothing.
    ///
    /// `topics` are patterns: exact names, `*` for one segment, a trailing
    /// `**`, `{sub}` for `options.subject` (`'user/{sub}/notifications'`).
    ///
    /// Throws `ERR_SSECAST_INVALID_CONFIG` without `jwtSecret`,
    /// `ERR_SSECAST_INVALID_TOPIC` for no pattern, a malformed one, or `{sub}`
    /// without a subject, `ERR_SSECAST_INVALID_DATA` for a `ttl` under one
    /// second or an unusable subject (with `{sub}`: `/`, `*`, braces, `.` or
    /// `..`), and a `TypeError` (`ERR_SSECAST_INVALID_ARG_TYPE`) for arguments
    /// of the wrong type.
    #[napi(ts_args_type = "topics: Array<string>, options: SubscriberTokenOptions")]
    pub fn subscriber_token(
        &self,
        env: Env,
        topics: Unknown,
        options: Option<Unknown>,
    ) -> Result<String> {
        let args = TokenArgs::read(&env, "subscriberToken", &topics, options.as_ref(), true)?;
        self.inner
            .engine()
            .subscriber_token(&args.topics, args.ttl, args.subject.as_deref())
            .map_err(|e| engine_error(&env, &e))
    }

    /// Mints a token that lets its holder publish over HTTP (`POST /publish`
    /// with `Authorization: Bearer TOKEN`) on the topics matched by `topics`
    /// for `options.ttl` seconds, signed with `jwtSecret`. Arguments and errors
    /// as `subscriberToken`, without a subject (so no `{sub}`).
    #[napi(ts_args_type = "topics: Array<string>, options: PublisherTokenOptions")]
    pub fn publisher_token(
        &self,
        env: Env,
        topics: Unknown,
        options: Option<Unknown>,
    ) -> Result<String> {
        let args = TokenArgs::read(&env, "publisherToken", &topics, options.as_ref(), false)?;
        self.inner
            .engine()
            .publisher_token(&args.topics, args.ttl)
            .map_err(|e| engine_error(&env, &e))
    }

    /// Opens an in-app stream: what `GET /events` would send for `topics` (one
    /// or several; none: the default topic), resumed after
    /// `options.lastEventId`, for the application to send on its own route.
    /// `for await (const chunk of subscription)` gives `Buffer`s ready to write
    /// as they are; `engine.stream(req, res, { topics })` does it all for a
    /// Node `http` or Express response.
    ///
    /// Throws `ERR_SSECAST_INVALID_TOPIC` (a bad topic, or more than
    /// `maxTopicsPerConnection`), `ERR_SSECAST_INVALID_ID` (an id no event can
    /// have; an unknown one gives the reset signal instead),
    /// `ERR_SSECAST_STOPPED`, `ERR_SSECAST_TOO_MANY_CONNECTIONS` (when
    /// `maxConnections` streams are open), and a `TypeError` with code
    /// `ERR_SSECAST_INVALID_ARG_TYPE` for an argument of the wrong type.
    #[napi(
        ts_args_type = "topics: string | Array<string>, options?: SubscribeOptions",
        ts_return_type = "Subscription"
    )]
    pub fn subscribe(
        &self,
        env: Env,
        topics: Unknown,
        options: Option<Unknown>,
    ) -> Result<Subscription> {
        let topics = subscription::topics(&env, &topics)?;
        let mut last_event_id = None;
        for (name, value) in args::option_entries(&env, options.as_ref(), "subscribe options")? {
            match name.as_str() {
                "lastEventId" if args::is_absent(&value)? => {}
                "lastEventId" => {
                    last_event_id = Some(args::string(
                        &env,
                        &value,
                        "subscribe option lastEventId",
                        ErrorKind::InvalidId,
                    )?)
                }
                _ => {
                    return Err(type_error(
                        &env,
                        format!("unknown subscribe option {name:?} (options: lastEventId)"),
                    ))
                }
            }
        }
        self.inner
            .engine()
            .subscribe(&topics, last_event_id.as_deref())
            .map(Subscription::new)
            .map_err(|e| engine_error(&env, &e))
    }

    /// The engine's counters now.
    #[napi]
    pub fn stats(&self) -> Stats {
        let stats = self.inner.engine().stats();
        Stats {
            connections: u32::try_from(stats.connections).unwrap_or(u32::MAX),
            topics: u32::try_from(stats.topics).unwrap_or(u32::MAX),
            published: stats.published as f64,
            slow_consumers_dropped: stats.slow_consumers_dropped as f64,
            streams_opened: stats.streams_opened as f64,
            streams_refused: stats.streams_refused as f64,
            events_delivered: stats.events_delivered as f64,
            bytes_delivered: stats.bytes_delivered as f64,
            resets_sent: stats.resets_sent as f64,
            auth_failures: stats.auth_failures as f64,
            rate_limited: stats.rate_limited as f64,
            backplane: stats.backplane.map(|b| b.as_str().to_owned()),
        }
    }

    /// Drains the engine for a rolling deploy, off the JavaScript thread:
    /// `GET /readyz` answers 503, new stream requests are told to reconnect
    /// elsewhere, and the open streams close gradually over `ms` milliseconds,
    /// each after a random `retry:` within `reconnectJitterMs`; publishing goes
    /// on. Resolves once every stream has closed (at most `ms` plus
    /// `shutdownTimeoutMs`); then call `stop()`. `0` closes every stream at
    /// once; a second call waits for the drain in progress. Rejects with
    /// `ERR_SSECAST_STOPPED` after `stop()`; throws a `TypeError` for `ms` that
    /// is not an integer from 0 to 4294967295.
    #[napi(ts_args_type = "ms: number", ts_return_type = "Promise<void>")]
    pub fn drain(&self, env: Env, ms: Unknown) -> Result<AsyncTask<Drain>> {
        let ms = args::u32_number(&env, &ms, "drain duration (ms)")?;
        Ok(AsyncTask::new(Drain {
            engine: Arc::clone(&self.inner),
            window: std::time::Duration::from_millis(u64::from(ms)),
        }))
    }

    /// Stops the engine, off the JavaScript thread: stops accepting, sends every
    /// stream what was published before, closes the streams and joins the
    /// engine's threads (waiting at most `shutdownTimeoutMs`). Idempotent; a
    /// `publish` afterwards throws `ERR_SSECAST_STOPPED`.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn stop(&self) -> AsyncTask<Stop> {
        AsyncTask::new(Stop {
            engine: Arc::clone(&self.inner),
        })
    }
}

impl Drop for Engine {
    /// Garbage collection must never wait on a join: an engine whose last handle
    /// is collected while it still runs is stopped on a thread of its own.
    fn drop(&mut self) {
        if Arc::strong_count(&self.inner) == 1 && !self.inner.engine().is_stopped() {
            let running = Arc::clone(&self.inner);
            std::thread::spawn(move || running.stop());
        }
    }
}

/// The work of `Engine.start`, run on the libuv thread pool.
pub struct Start {
    config: Config,
}

impl Task for Start {
    type Output = std::result::Result<ssecast::Engine, ssecast::Error>;
    type JsValue = Engine;

    fn compute(&mut self) -> Result<Self::Output> {
        let config = std::mem::take(&mut self.config);
        Ok(ssecast::Engine::start(config))
    }

    /// Runs on the thread that called `Engine.start`, whose event loop the
    /// engine keeps alive until it is stopped.
    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Engine> {
        let engine = output.map_err(|e| engine_error(&env, &e))?;
        let inner = Running::new(&env, engine)?;
        registry::register(&inner);
        Ok(Engine { inner })
    }
}

/// The work of `engine.drain()`, run on the libuv thread pool.
pub struct Drain {
    engine: Arc<Running>,
    window: std::time::Duration,
}

impl Task for Drain {
    type Output = std::result::Result<(), ssecast::Error>;
    type JsValue = ();

    fn compute(&mut self) -> Result<Self::Output> {
        Ok(self.engine.engine().drain(self.window))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<()> {
        output.map_err(|e| engine_error(&env, &e))
    }
}

/// The work of `engine.stop()`, run on the libuv thread pool.
pub struct Stop {
    engine: Arc<Running>,
}

impl Task for Stop {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        self.engine.stop();
        Ok(())
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
        Ok(())
    }
}
