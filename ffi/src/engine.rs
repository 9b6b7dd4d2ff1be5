//! `ssecast_engine`: start, publish, stats, drain, stop and free.

use std::ffi::c_char;
use std::time::Duration;

use ssecast::{validate_topic, Engine, ErrorKind, Event, DEFAULT_TOPIC, MAX_FIELD_BYTES};

use crate::args::{bytes, deref, optional_text};
use crate::config::{config, ssecast_config};
use crate::error::Failure;
use crate::handle::BoxHandle;
use crate::panic::{boundary, fallible};
use crate::result::ssecast_result;

/// A buffer of this many bytes always holds an event id and its terminating NUL,
/// whether the engine assigned it or the publisher gave it (ids are at most 1024
/// bytes). Smaller buffers work for ids known to be shorter; see
/// `ssecast_publish_event()`.
pub const SSECAST_ID_BUFFER_SIZE: usize = 1025;
const _: () = assert!(SSECAST_ID_BUFFER_SIZE == MAX_FIELD_BYTES + 1);

/// The longest id the engine assigns by itself, in bytes (without the NUL). A
/// buffer of `SSECAST_ENGINE_ID_MAX_LEN + 1` bytes is enough for
/// `ssecast_publish_event()` when the event carries no id of its own.
pub const SSECAST_ENGINE_ID_MAX_LEN: usize = 34;
const _: () = assert!(SSECAST_ENGINE_ID_MAX_LEN == ssecast::MAX_ENGINE_ID_BYTES);

/// A running engine (opaque): an HTTP server on threads of its own that streams
/// published events to the clients of `GET /events`.
///
/// Functions: `ssecast_engine_start()`, `ssecast_engine_port()`,
/// `ssecast_engine_stats()`, `ssecast_publish()`, `ssecast_publish_event()`,
/// `ssecast_subscriber_token()`, `ssecast_publisher_token()`,
/// `ssecast_subscription_open()`, `ssecast_engine_drain()`,
/// `ssecast_engine_stop()`, `ssecast_engine_free()`. Every function except
/// `ssecast_engine_free()` may be called from any thread, concurrently.
pub struct ssecast_engine {
    engine: Engine,
}

impl BoxHandle for ssecast_engine {}

/// An event to publish with `ssecast_publish_event()`. Every pointer is borrowed
/// for the duration of the call only.
#[repr(C)]
pub struct ssecast_event {
    /// NUL-terminated UTF-8 topic; NULL means the topic `"default"`.
    pub topic: *const c_char,
    /// NUL-terminated UTF-8 event name; NULL means no `event:` field (browsers
    /// deliver it as a `"message"` event).
    pub event: *const c_char,
    /// NUL-terminated UTF-8 id; NULL means the engine assigns a unique one.
    pub id: *const c_char,
    /// The UTF-8 payload, `data_len` bytes, not NUL-terminated (it may contain
    /// NUL bytes); may be NULL when `data_len` is 0.
    pub data: *const u8,
    /// The payload's length in bytes.
    pub data_len: usize,
    /// The client reconnection delay to send with the event, in milliseconds; 0
    /// means no `retry:` field.
    pub retry_ms: u32,
}

/// Counters describing an engine at one moment, filled by
/// `ssecast_engine_stats()`: the numbers `GET /metrics` exports, without their
/// labels. Counters count from the engine's start.
///
/// Fields are only ever added at the end, and the library writes the whole
/// struct: a program compiled against a header whose struct is shorter (before
/// `streams_opened` was added) must be rebuilt, which the soname, changed by
/// every 0.x minor release, enforces.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ssecast_stats {
    /// Event streams open now: subscriber connections and in-app subscriptions.
    pub connections: usize,
    /// Topics that have subscribers or history.
    pub topics: usize,
    /// Events published since start.
    pub published: u64,
    /// Streams closed because their client fell behind the history.
    pub slow_consumers_dropped: u64,
    /// Event streams opened since start.
    pub streams_opened: u64,
    /// Stream requests refused before a stream opened (malformed, origin or
    /// host not allowed, over `max_connections` or `max_topics`, draining, stopping).
    pub streams_refused: u64,
    /// Events handed to subscribers' connections (one per subscriber).
    pub events_delivered: u64,
    /// Bytes of stream bodies handed to connections.
    pub bytes_delivered: u64,
    /// `ssecast-reset` signals sent to resuming clients.
    pub resets_sent: u64,
    /// Requests refused by access control.
    pub auth_failures: u64,
    /// Requests refused by a per-address limit.
    pub rate_limited: u64,
    /// The link to the backplane: `"connected"`, `"reconnecting"` or `"down"`
    /// (a static string, never freed), or NULL without `backplane`.
    pub backplane: *const c_char,
}

impl From<ssecast::Stats> for ssecast_stats {
    fn from(stats: ssecast::Stats) -> Self {
        ssecast_stats {
            connections: stats.connections,
            topics: stats.topics,
            published: stats.published,
            slow_consumers_dropped: stats.slow_consumers_dropped,
            streams_opened: stats.streams_opened,
            streams_refused: stats.streams_refused,
            events_delivered: stats.events_delivered,
            bytes_delivered: stats.bytes_delivered,
            resets_sent: stats.resets_sent,
            auth_failures: stats.auth_failures,
            rate_limited: stats.rate_limited,
            backplane: backplane_name(stats.backplane),
        }
    }
}

impl Default for ssecast_stats {
    /// Every counter zero and no backplane.
    fn default() -> Self {
        ssecast::Stats::default().into()
    }
}

/// The C string of a backplane state.
fn backplane_name(state: Option<ssecast::BackplaneState>) -> *const c_char {
    match state {
        None => std::ptr::null(),
        Some(ssecast::BackplaneState::Connected) => c"connected".as_ptr(),
        Some(ssecast::BackplaneState::Reconnecting) => c"reconnecting".as_ptr(),
        Some(ssecast::BackplaneState::Down) => c"down".as_ptr(),
    }
}

/// Borrows the engine behind a handle.
///
/// # Safety
/// `engine` must be NULL or a live handle from `ssecast_engine_start()`.
pub(crate) unsafe fn engine<'a>(engine: *const ssecast_engine) -> Result<&'a Engine, Failure> {
    // SAFETY: forwarded from the caller.
    Ok(&unsafe { deref(engine, "engine") }?.engine)
}

/// Starts an engine: validates the configuration, binds the port (port 0 picks
/// a free one, see `ssecast_engine_port()`), starts the engine's own threads and
/// returns once the socket accepts connections.
///
/// `cfg` is only read: the caller keeps owning it and may free it at once. On
/// success `*out` receives a new handle that the caller owns and must eventually
/// pass to `ssecast_engine_free()`; on error `*out` is not written.
///
/// Errors: `SSECAST_NULL_PARAMETER` (NULL `cfg` or `out`),
/// `SSECAST_INVALID_CONFIG` (keys that are inconsistent together, such as a
/// `bind` that is not an IP address), `SSECAST_BIND` (port in use, permission
/// denied), `SSECAST_INTERNAL` (threads could not be created).
///
/// # Safety
/// `cfg` must be NULL or a live configuration handle; `out` must be NULL or
/// point to writable storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn ssecast_engine_start(
    cfg: *const ssecast_config,
    out: *mut *mut ssecast_engine,
) -> ssecast_result {
    fallible(|| {
        // SAFETY: forwarded from the caller.
        let config = unsafe { config(cfg) }?.clone();
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        let handle = ssecast_engine {
            engine: Engine::start(config)?,
        }
        .into_raw();
        // SAFETY: `out` is non-NULL and the caller guarantees it is writable.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// The TCP port the engine listens on (the one picked when `port` was 0). Keeps
/// answering after `ssecast_engine_stop()`. Returns 0 when `engine` is NULL.
///
/// # Safety
/// `engine` must be NULL or a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn ssecast_engine_port(engine: *const ssecast_engine) -> u16 {
    boundary(|| {
        // SAFETY: forwarded from the caller.
        match unsafe { self::engine(engine) } {
            Ok(engine) => engine.port(),
            Err(failure) => {
                failure.record();
                0
            }
        }
    })
}

/// Reads the engine's counters (open connections, topics, events published and
/// delivered, slow consumers dropped, ...; see `ssecast_stats`) into `*out`.
/// Thread-safe; works after stop.
///
/// Errors: `SSECAST_NULL_PARAMETER` (NULL `engine` or `out`).
///
/// # Safety
/// `engine` must be NULL or a live engine handle; `out` must be NULL or point to
/// a writable `ssecast_stats`.
#[no_mangle]
pub unsafe extern "C" fn ssecast_engine_stats(
    engine: *const ssecast_engine,
    out: *mut ssecast_stats,
) -> ssecast_result {
    fallible(|| {
        // SAFETY: forwarded from the caller.
        let stats = unsafe { self::engine(engine) }?.stats();
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        // SAFETY: `out` is non-NULL and the caller guarantees it is writable.
        unsafe { out.write(stats.into()) };
        Ok(())
    })
}

/// Publishes `data_len` bytes of UTF-8 `data` to `topic` (NULL: `"default"`),
/// with an engine-assigned id and no event name. The shortcut for
/// `ssecast_publish_event()`.
///
/// Thread-safe: call it from any thread, concurrently. It never blocks on a
/// socket: the event is encoded once, stored in the topic's history and handed
/// to every subscriber. `topic` and `data` are borrowed for the call only.
///
/// Errors: `SSECAST_NULL_PARAMETER` (NULL `engine`, or NULL `data` with a
/// non-zero `data_len`), `SSECAST_INVALID_TOPIC`, `SSECAST_INVALID_DATA` (not
/// UTF-8), `SSECAST_TOO_LARGE` (over `max_event_bytes`), `SSECAST_STOPPED`.
/// Nothing is published on error.
///
/// # Safety
/// `engine` must be NULL or a live engine handle; `topic` NULL or a
/// NUL-terminated string; `data` NULL or `data_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ssecast_publish(
    engine: *mut ssecast_engine,
    topic: *const c_char,
    data: *const c_char,
    data_len: usize,
) -> ssecast_result {
    let event = ssecast_event {
        topic,
        event: std::ptr::null(),
        id: std::ptr::null(),
        data: data.cast(),
        data_len,
        retry_ms: 0,
    };
    // SAFETY: forwarded from the caller; `event` lives for the call.
    unsafe { ssecast_publish_event(engine, &event, std::ptr::null_mut(), 0) }
}

/// Publishes one event and, when `id_out` is not NULL, writes its id there as a
/// NUL-terminated string.
///
/// Thread-safe: call it from any thread, concurrently; it never blocks on a
/// socket. Every pointer in `event` and `event` itself are borrowed for the call
/// only. `id_out` may be NULL (the id is not wanted; `id_out_cap` is ignored).
/// Otherwise `id_out_cap` must be at least the id's length plus one: when the
/// event carries its own id that is `strlen(event->id) + 1`, when the engine
/// assigns it, `SSECAST_ENGINE_ID_MAX_LEN + 1`; `SSECAST_ID_BUFFER_SIZE` is
/// always enough. The capacity is checked before publishing, so
/// `SSECAST_BUFFER_TOO_SMALL` means nothing was published and the call can be
/// retried with a larger buffer.
///
/// Errors: `SSECAST_NULL_PARAMETER` (NULL `engine` or `event`, or NULL `data`
/// with a non-zero `data_len`), `SSECAST_INVALID_TOPIC`,
/// `SSECAST_INVALID_EVENT_NAME`, `SSECAST_INVALID_ID`, `SSECAST_INVALID_DATA`,
/// `SSECAST_TOO_LARGE`, `SSECAST_BUFFER_TOO_SMALL`, `SSECAST_STOPPED` (after
/// `ssecast_engine_stop()`). Nothing is published on error.
///
/// # Safety
/// `engine` must be NULL or a live engine handle; `event` NULL or a valid
/// `ssecast_event` whose pointers follow its field documentation; `id_out` NULL
/// or `id_out_cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn ssecast_publish_event(
    engine: *mut ssecast_engine,
    event: *const ssecast_event,
    id_out: *mut c_char,
    id_out_cap: usize,
) -> ssecast_result {
    fallible(|| {
        // SAFETY (whole block): the caller guarantees every pointer per the docs.
        let engine = unsafe { self::engine(engine) }?;
        let fields = unsafe { deref(event, "event") }?;
        let topic = unsafe { optional_text(fields.topic, "topic", ErrorKind::InvalidTopic) }?
            .unwrap_or(DEFAULT_TOPIC);
        let name = unsafe { optional_text(fields.event, "event", ErrorKind::InvalidEventName) }?;
        let id = unsafe { optional_text(fields.id, "id", ErrorKind::InvalidId) }?;
        let data = unsafe { bytes(fields.data, fields.data_len, "data") }?;
        // The length first: an oversized payload is refused without being read.
        engine.check_data_len(data.len())?;
        let mut built = Event::from_utf8(data)?;
        if let Some(name) = name {
            built = built.event(name);
        }
        if let Some(id) = id {
            built = built.id(id);
        }
        if fields.retry_ms != 0 {
            built = built.retry(fields.retry_ms);
        }
        if !id_out.is_null() {
            // A bad argument is reported as such, not as a small buffer.
            validate_topic(topic)?;
            built.validate()?;
            let needed = id.map_or(SSECAST_ENGINE_ID_MAX_LEN, str::len) + 1;
            check_capacity(needed, id_out_cap)?;
        }
        let assigned = engine.publish(topic, &built)?;
        if !id_out.is_null() {
            // Only an engine id longer than SSECAST_ENGINE_ID_MAX_LEN (a broken
            // promise) can fail here, after publishing; the message says so.
            if assigned.len() >= id_out_cap {
                return Err(Failure::new(
                    ssecast_result::SSECAST_BUFFER_TOO_SMALL,
                    format!(
                        "the event was published but its id {assigned:?} does not fit in id_out"
                    ),
                ));
            }
            // SAFETY: `id_out` holds `id_out_cap` >= len + 1 writable bytes.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    assigned.as_ptr(),
                    id_out.cast::<u8>(),
                    assigned.len(),
                );
                id_out.add(assigned.len()).write(0);
            }
        }
        Ok(())
    })
}

fn check_capacity(needed: usize, capacity: usize) -> Result<(), Failure> {
    if capacity < needed {
        return Err(Failure::new(
            ssecast_result::SSECAST_BUFFER_TOO_SMALL,
            format!("id_out_cap is {capacity} bytes but the id needs {needed} (with its NUL); nothing was published"),
        ));
    }
    Ok(())
}

/// Drains the engine for a rolling deploy: `GET /readyz` answers 503 from now
/// on, a new stream request is told to reconnect (a 200 stream that ends at
/// once after a `retry:` within `reconnect_jitter_ms`), and the open streams
/// close gradually over `window_ms` milliseconds, each after a `retry:` of its
/// own. Publishing goes on; each client resumes elsewhere with its
/// `Last-Event-ID`. Blocks until every stream has closed (at most `window_ms`
/// plus `shutdown_timeout_ms`); call `ssecast_engine_stop()` afterwards.
///
/// `window_ms` 0 closes every stream at once. A call while a drain runs waits
/// for that drain (its own window is ignored) and returns `SSECAST_OK`.
/// Thread-safe.
///
/// Errors: `SSECAST_NULL_PARAMETER` (NULL `engine`), `SSECAST_STOPPED` (after
/// `ssecast_engine_stop()`).
///
/// # Safety
/// `engine` must be NULL or a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn ssecast_engine_drain(
    engine: *mut ssecast_engine,
    window_ms: u64,
) -> ssecast_result {
    fallible(|| {
        // SAFETY: forwarded from the caller.
        let engine = unsafe { self::engine(engine) }?;
        Ok(engine.drain(Duration::from_millis(window_ms))?)
    })
}

/// Stops the engine: stops accepting connections, sends every stream what was
/// published before the call, closes the streams and joins the engine's
/// threads. Blocks until done (at most about `shutdown_timeout_ms`). Idempotent:
/// a second call returns `SSECAST_OK` at once. Afterwards publishing returns
/// `SSECAST_STOPPED`, while `ssecast_engine_port()` and `ssecast_engine_stats()`
/// keep working; the handle must still be freed with `ssecast_engine_free()`.
///
/// Thread-safe. Do not call it from a thread that is inside another ssecast
/// call on the same engine.
///
/// Errors: `SSECAST_NULL_PARAMETER` (NULL `engine`).
///
/// # Safety
/// `engine` must be NULL or a live engine handle.
#[no_mangle]
pub unsafe extern "C" fn ssecast_engine_stop(engine: *mut ssecast_engine) -> ssecast_result {
    fallible(|| {
        // SAFETY: forwarded from the caller.
        unsafe { self::engine(engine) }?.stop();
        Ok(())
    })
}

/// Stops the engine if it is still running (as `ssecast_engine_stop()` does) and
/// releases the handle. NULL is a no-op. Must be called exactly once per handle
/// from `ssecast_engine_start()`, after every other thread has finished using it;
/// the handle must not be used afterwards.
///
/// # Safety
/// `engine` must be NULL or a live engine handle that no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn ssecast_engine_free(engine: *mut ssecast_engine) {
    boundary(|| {
        if engine.is_null() {
            return;
        }
        // SAFETY: forwarded from the caller; dropping the engine stops it.
        unsafe { ssecast_engine::free(engine) }
    })
}
