//! Result codes: `ssecast_result` and the functions that describe any code.

use std::ffi::{c_char, CStr, CString};
use std::sync::OnceLock;

use ssecast::ErrorKind;

/// The outcome of every fallible ssecast function.
///
/// The numeric values are stable and never reused. The values 2 to 99 are the
/// engine's error kinds and mean the same in every language binding (Python's
/// `ssecast.Error.code`, Node's `err.code` without its `ERR_SSECAST_` prefix);
/// values from 100 on exist only in the C API. In C the type is a `uint32_t`,
/// so a newer library may return a value this header does not name: treat any
/// value other than `SSECAST_OK` as a failure and pass it to
/// `ssecast_result_str()`.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ssecast_result {
    /// Success.
    SSECAST_OK = 0,
    /// A required pointer argument was NULL (a handle, a string, an out-parameter,
    /// or a data pointer with a non-zero length).
    SSECAST_NULL_PARAMETER = 1,
    /// An unknown configuration key, or a value that does not parse or is out of range.
    SSECAST_INVALID_CONFIG = 2,
    /// A topic that is empty, too long, not UTF-8 or holds control characters.
    SSECAST_INVALID_TOPIC = 3,
    /// An event name that is empty, too long, not UTF-8 or holds CR, LF or NUL.
    SSECAST_INVALID_EVENT_NAME = 4,
    /// An id that is empty, too long, not UTF-8 or holds CR, LF or NUL.
    SSECAST_INVALID_ID = 5,
    /// A payload that is not valid UTF-8.
    SSECAST_INVALID_DATA = 6,
    /// A payload larger than the `max_event_bytes` configuration key.
    SSECAST_TOO_LARGE = 7,
    /// The engine has been stopped; nothing more can be published.
    SSECAST_STOPPED = 8,
    /// The listening socket could not be bound (address in use, permission denied...).
    SSECAST_BIND = 9,
    /// Any other operating-system or runtime failure.
    SSECAST_INTERNAL = 10,
    /// The backplane (Redis) cannot be reached: the event was not acknowledged.
    /// Retry later.
    SSECAST_UNAVAILABLE = 11,
    /// The durable history (`history_dir`) cannot be opened, read or written:
    /// another engine holds the directory, it is not writable, the disk is
    /// full, the store is damaged or from a newer version. The message in
    /// `ssecast_last_error()` names the directory and the cause.
    SSECAST_STORAGE = 12,
    /// `max_connections` streams are open (streams on the engine's port and
    /// in-app subscriptions together); try again once one has closed.
    SSECAST_TOO_MANY_CONNECTIONS = 13,
    /// Publishing or subscribing would create a topic while the engine holds
    /// `max_topics` topics.
    SSECAST_TOO_MANY_TOPICS = 14,
    /// An output buffer is too small for the value to be written; nothing was done.
    SSECAST_BUFFER_TOO_SMALL = 100,
    /// A bug inside ssecast was caught at the library boundary; the message is in
    /// `ssecast_last_error()`. Please report it.
    SSECAST_PANIC = 101,
    /// `ssecast_subscription_read()` found nothing to read within its timeout
    /// (at once for a timeout of 0). Not a failure: read again later, for
    /// example when the subscription's descriptor becomes readable.
    SSECAST_AGAIN = 102,
    /// The subscription's stream is over: the engine was stopped (after
    /// everything published before the stop was read) or the reader fell
    /// behind the history (a slow consumer). `ssecast_last_error()` says which.
    /// Every later read returns it again; free the subscription.
    SSECAST_END = 103,
    /// Another thread is reading this subscription right now; nothing was done.
    SSECAST_BUSY = 104,
}

use ssecast_result::*;

/// Every result code, in numeric order.
const ALL: [ssecast_result; 20] = [
    SSECAST_OK,
    SSECAST_NULL_PARAMETER,
    SSECAST_INVALID_CONFIG,
    SSECAST_INVALID_TOPIC,
    SSECAST_INVALID_EVENT_NAME,
    SSECAST_INVALID_ID,
    SSECAST_INVALID_DATA,
    SSECAST_TOO_LARGE,
    SSECAST_STOPPED,
    SSECAST_BIND,
    SSECAST_INTERNAL,
    SSECAST_UNAVAILABLE,
    SSECAST_STORAGE,
    SSECAST_TOO_MANY_CONNECTIONS,
    SSECAST_TOO_MANY_TOPICS,
    SSECAST_BUFFER_TOO_SMALL,
    SSECAST_PANIC,
    SSECAST_AGAIN,
    SSECAST_END,
    SSECAST_BUSY,
];

impl ssecast_result {
    /// The C code for a core error kind (same number).
    pub(crate) fn from_kind(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidConfig => SSECAST_INVALID_CONFIG,
            ErrorKind::InvalidTopic => SSECAST_INVALID_TOPIC,
            ErrorKind::InvalidEventName => SSECAST_INVALID_EVENT_NAME,
            ErrorKind::InvalidId => SSECAST_INVALID_ID,
            ErrorKind::InvalidData => SSECAST_INVALID_DATA,
            ErrorKind::TooLarge => SSECAST_TOO_LARGE,
            ErrorKind::Stopped => SSECAST_STOPPED,
            ErrorKind::Bind => SSECAST_BIND,
            ErrorKind::Unavailable => SSECAST_UNAVAILABLE,
            ErrorKind::Storage => SSECAST_STORAGE,
            ErrorKind::TooManyConnections => SSECAST_TOO_MANY_CONNECTIONS,
            ErrorKind::TooManyTopics => SSECAST_TOO_MANY_TOPICS,
            _ => SSECAST_INTERNAL,
        }
    }

    /// The core error kind with the same number, for codes 2 to 99.
    fn kind(self) -> Option<ErrorKind> {
        ErrorKind::ALL
            .into_iter()
            .find(|&k| k as u32 == self as u32)
    }

    /// The stable identifier, the same string as the core's `ErrorKind::code()`.
    pub(crate) fn code(self) -> &'static str {
        match self {
            SSECAST_OK => "OK",
            SSECAST_NULL_PARAMETER => "NULL_PARAMETER",
            SSECAST_BUFFER_TOO_SMALL => "BUFFER_TOO_SMALL",
            SSECAST_PANIC => "PANIC",
            SSECAST_AGAIN => "AGAIN",
            SSECAST_END => "END",
            SSECAST_BUSY => "BUSY",
            other => other.kind().map_or("INTERNAL", ErrorKind::code),
        }
    }

    /// A one-line description of the code.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            SSECAST_OK => "success",
            SSECAST_NULL_PARAMETER => "a required pointer argument is NULL",
            SSECAST_BUFFER_TOO_SMALL => "output buffer too small",
            SSECAST_PANIC => "internal error: a panic was caught at the library boundary",
            SSECAST_AGAIN => "nothing to read yet",
            SSECAST_END => "the stream has ended",
            SSECAST_BUSY => "another thread is using this subscription",
            other => other.kind().map_or("internal error", ErrorKind::describe),
        }
    }
}

/// NUL-terminated copies of the codes and descriptions, built once.
struct Texts {
    codes: Vec<CString>,
    descriptions: Vec<CString>,
    unknown: &'static CStr,
}

fn texts() -> &'static Texts {
    static TEXTS: OnceLock<Texts> = OnceLock::new();
    TEXTS.get_or_init(|| Texts {
        codes: ALL.iter().map(|r| c_string(r.code())).collect(),
        descriptions: ALL.iter().map(|r| c_string(r.describe())).collect(),
        unknown: c"unknown result code",
    })
}

/// A C string from text that holds no NUL; a NUL, if one ever appears, is shown
/// as `\0` rather than cutting the text short.
pub(crate) fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "\\0")).unwrap_or_default()
}

fn lookup(code: u32, table: impl Fn(&Texts) -> &Vec<CString>) -> *const c_char {
    let texts = texts();
    match ALL.iter().position(|r| *r as u32 == code) {
        Some(i) => table(texts)[i].as_ptr(),
        None => texts.unknown.as_ptr(),
    }
}

/// Describes a result code in a few words, such as `"invalid event id"`.
///
/// Accepts any value, including codes this version does not know (which give
/// `"unknown result code"`). The returned string is static: never free it.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn ssecast_result_str(code: u32) -> *const c_char {
    crate::panic::boundary(|| lookup(code, |t| &t.descriptions))
}

/// The stable identifier of a result code without the `SSECAST_` prefix, such as
/// `"INVALID_ID"`: the string Python's `ssecast.Error.code` and HTTP error bodies
/// use for the same failure.
///
/// Accepts any value; an unknown one gives `"unknown result code"`. The returned
/// string is static: never free it. Thread-safe.
#[no_mangle]
pub extern "C" fn ssecast_result_code(code: u32) -> *const c_char {
    crate::panic::boundary(|| lookup(code, |t| &t.codes))
}
