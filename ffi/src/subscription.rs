//! `ssecast_subscription`: an in-app stream read by the C host (open, read,
//! fd, free).

use std::ffi::{c_char, c_int};
use std::os::fd::RawFd;
use std::sync::{Mutex, TryLockError};
use std::time::Duration;

use bytes::{Buf, BufMut};
use ssecast::{EndReason, ErrorKind, Read, Subscription};

use crate::args::{deref, optional_text, text};
use crate::engine::{self, ssecast_engine};
use crate::error::Failure;
use crate::handle::BoxHandle;
use crate::panic::{boundary, fallible};
use crate::result::ssecast_result;

/// An in-app subscription (opaque): the stream `GET /events` would send for
/// some topics, read by the host to send it on a connection of its own (its
/// own HTTP server, behind its own authentication).
///
/// Functions: `ssecast_subscription_open()`, `ssecast_subscription_read()`,
/// `ssecast_subscription_fd()`, `ssecast_subscription_free()`. A subscription
/// may be read from any thread, but by one thread at a time
/// (`SSECAST_BUSY` otherwise); it may outlive its engine (reads then return
/// `SSECAST_END`).
pub struct ssecast_subscription {
    reader: Mutex<Reader>,
    fd: RawFd,
}

impl BoxHandle for ssecast_subscription {}

struct Reader {
    subscription: Subscription,
    /// The bytes of the last read, handed to the caller until the next one.
    buffer: Vec<u8>,
}

/// Opens an in-app subscription to `topics` (an array of `topic_count`
/// NUL-terminated UTF-8 strings; none: the topic `"default"`), resumed after
/// `last_event_id` when it is not NULL: what a browser's `Last-Event-ID`
/// header (or the `lastEventId` query parameter) carried, passed as it came.
///
/// The stream is exactly what `GET /events` would send: when the id cannot be
/// resumed, the reset signal first; then the opening frame (`: ok` or
/// `retry:`); then every event after the id, and live events, in publish
/// order; keep-alive comments when idle. Read it with
/// `ssecast_subscription_read()`. It counts as an open connection in
/// `ssecast_engine_stats()` and towards `max_connections`.
///
/// Every argument is borrowed for the call only. On success `*out` receives a
/// new handle that the caller owns and must eventually pass to
/// `ssecast_subscription_free()`; on error `*out` is not written.
///
/// Errors: `SSECAST_NULL_PARAMETER` (NULL `engine` or `out`, NULL `topics`
/// with a non-zero count, or a NULL topic), `SSECAST_INVALID_TOPIC` (a bad
/// topic, or more than `max_topics_per_connection`), `SSECAST_INVALID_ID` (an
/// id longer than 1024 bytes, not UTF-8, or with CR, LF or NUL; an id that is
/// merely unknown is not an error but gives the reset signal),
/// `SSECAST_STOPPED`, `SSECAST_TOO_MANY_CONNECTIONS`, `SSECAST_INTERNAL` (no
/// descriptor could be created).
///
/// # Safety
/// `engine` must be NULL or a live engine handle; `topics` NULL or
/// `topic_count` pointers, each NULL or a NUL-terminated string;
/// `last_event_id` NULL or a NUL-terminated string; `out` NULL or writable
/// storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn ssecast_subscription_open(
    engine: *const ssecast_engine,
    topics: *const *const c_char,
    topic_count: usize,
    last_event_id: *const c_char,
    out: *mut *mut ssecast_subscription,
) -> ssecast_result {
    fallible(|| {
        // SAFETY (whole block): the caller guarantees every pointer per the docs.
        let engine = unsafe { engine::engine(engine) }?;
        let topics = unsafe { topic_list(topics, topic_count) }?;
        let last_event_id =
            unsafe { optional_text(last_event_id, "last_event_id", ErrorKind::InvalidId) }?;
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        let mut subscription = engine.subscribe(&topics, last_event_id)?;
        let fd = subscription.fd()?;
        let handle = ssecast_subscription {
            reader: Mutex::new(Reader {
                subscription,
                buffer: Vec::new(),
            }),
            fd,
        }
        .into_raw();
        // SAFETY: `out` is non-NULL and the caller guarantees it is writable.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Reads the `topic_count` topic strings at `topics`.
///
/// # Safety
/// As for `ssecast_subscription_open()`.
unsafe fn topic_list<'a>(
    topics: *const *const c_char,
    topic_count: usize,
) -> Result<Vec<&'a str>, Failure> {
    if topic_count == 0 {
        return Ok(Vec::new());
    }
    if topics.is_null() {
        return Err(Failure::null("topics"));
    }
    // SAFETY: non-NULL, and the caller guarantees `topic_count` pointers.
    let pointers = unsafe { std::slice::from_raw_parts(topics, topic_count) };
    pointers
        .iter()
        // SAFETY: the caller guarantees each is NULL or a NUL-terminated string.
        .map(|&topic| unsafe { text(topic, "topic", ErrorKind::InvalidTopic) })
        .collect()
}

/// Reads what the stream has to send: every frame pending (events, the
/// opening frame, keep-alives, the reset signal), coalesced into one buffer of
/// ready-encoded bytes to write to the client as they are.
///
/// Waits up to `timeout_ms` milliseconds for something to read: 0 does not
/// wait, a negative value waits without limit. On `SSECAST_OK`, `*data_out`
/// and `*len_out` (never 0) describe the bytes; they belong to the
/// subscription and stay valid until its next read or its free.
///
/// Other outcomes (the out-parameters are then not written):
/// `SSECAST_AGAIN` nothing within the timeout; `SSECAST_END` the stream is
/// over, because the engine stopped (after everything published before the
/// stop was read) or because the reader fell behind the history (its client
/// should reconnect with its last id): `ssecast_last_error()` says which, and
/// every later read returns `SSECAST_END`; `SSECAST_BUSY` another thread is
/// reading this subscription now; `SSECAST_NULL_PARAMETER`;
/// `SSECAST_INTERNAL` (waiting failed).
///
/// With a readiness loop, wait for `ssecast_subscription_fd()` to become
/// readable, then read with timeout 0 until `SSECAST_AGAIN`: the descriptor
/// is not raised again for what is already pending.
///
/// # Safety
/// `sub` must be NULL or a live subscription handle; `data_out` and `len_out`
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ssecast_subscription_read(
    sub: *const ssecast_subscription,
    timeout_ms: i32,
    data_out: *mut *const u8,
    len_out: *mut usize,
) -> ssecast_result {
    fallible(|| {
        // SAFETY: forwarded from the caller.
        let handle = unsafe { deref(sub, "sub") }?;
        if data_out.is_null() {
            return Err(Failure::null("data_out"));
        }
        if len_out.is_null() {
            return Err(Failure::null("len_out"));
        }
        let mut reader = match handle.reader.try_lock() {
            Ok(reader) => reader,
            Err(TryLockError::WouldBlock) => {
                return Err(Failure::new(
                    ssecast_result::SSECAST_BUSY,
                    "another thread is reading this subscription",
                ))
            }
            // A panic while reading left the stream as it was between polls.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        };
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let Reader {
            subscription,
            buffer,
        } = &mut *reader;
        match subscription.read_timeout(timeout)? {
            Read::Data(mut chunk) => {
                buffer.clear();
                buffer.reserve(chunk.remaining());
                buffer.put(&mut chunk);
                // SAFETY: both are non-NULL and the caller guarantees them writable.
                unsafe {
                    data_out.write(buffer.as_ptr());
                    len_out.write(buffer.len());
                }
                Ok(())
            }
            Read::NotReady => Err(Failure::new(
                ssecast_result::SSECAST_AGAIN,
                format!("nothing to read within {timeout_ms} ms"),
            )),
            Read::Ended(reason) => Err(Failure::new(
                ssecast_result::SSECAST_END,
                match reason {
                    EndReason::SlowConsumer => {
                        "the stream ended: the reader fell behind the history (slow consumer); \
                         its client should reconnect with its last event id"
                    }
                    EndReason::Drained => {
                        "the stream ended: the engine is draining; its client should \
                         reconnect, after the retry: it was sent, with its last event id"
                    }
                    _ => "the stream ended: the engine was stopped",
                },
            )),
        }
    })
}

/// The subscription's readiness descriptor: readable when
/// `ssecast_subscription_read()` has something to give (then read with
/// timeout 0 until `SSECAST_AGAIN`). Poll it with `poll()`, `epoll` or an
/// event loop; never read, write or close it: it belongs to the subscription
/// and is closed by `ssecast_subscription_free()`. Thread-safe, also while
/// another thread reads. Returns -1 when `sub` is NULL.
///
/// # Safety
/// `sub` must be NULL or a live subscription handle.
#[no_mangle]
pub unsafe extern "C" fn ssecast_subscription_fd(sub: *const ssecast_subscription) -> c_int {
    boundary(|| {
        // SAFETY: forwarded from the caller.
        match unsafe { deref(sub, "sub") } {
            Ok(handle) => handle.fd,
            Err(failure) => {
                failure.record();
                -1
            }
        }
    })
}

/// Closes a subscription: its topics and its connection slot are released at
/// once, and its descriptor is closed. NULL is a no-op. Must be called exactly
/// once per handle, once no other thread uses it; the handle, the descriptor
/// and the bytes of its last read must not be used afterwards. Works before or
/// after the engine is stopped or freed.
///
/// # Safety
/// `sub` must be NULL or a live subscription handle that no other thread is
/// using.
#[no_mangle]
pub unsafe extern "C" fn ssecast_subscription_free(sub: *mut ssecast_subscription) {
    boundary(|| {
        // SAFETY: forwarded from the caller.
        unsafe { ssecast_subscription::free(sub) }
    })
}
