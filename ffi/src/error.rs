//! Failures inside an export and the thread-local last-error message.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::ptr;

use crate::result::{c_string, ssecast_result};

/// Why an export failed: the code it returns and the message it records.
#[derive(Debug)]
pub(crate) struct Failure {
    code: ssecast_result,
    message: String,
}

impl Failure {
    /// A failure with a C-only code (or any code) and a message.
    pub(crate) fn new(code: ssecast_result, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// A required pointer argument named `what` was NULL.
    pub(crate) fn null(what: &str) -> Self {
        Failure::new(
            ssecast_result::SSECAST_NULL_PARAMETER,
            format!("{what} must not be NULL"),
        )
    }

    /// Records the message for `ssecast_last_error()` and returns the code.
    pub(crate) fn record(self) -> ssecast_result {
        set_last_error(&self.message);
        self.code
    }
}

impl From<ssecast::Error> for Failure {
    fn from(error: ssecast::Error) -> Self {
        Failure::new(ssecast_result::from_kind(error.kind()), error.message())
    }
}

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Makes `message` this thread's last error.
pub(crate) fn set_last_error(message: &str) {
    let message = c_string(message);
    LAST_ERROR.with(|slot| *slot.borrow_mut() = Some(message));
}

/// Forgets this thread's last error (after a successful call).
pub(crate) fn clear_last_error() {
    LAST_ERROR.with(|slot| *slot.borrow_mut() = None);
}

/// The message of the last failed call on the calling thread, or NULL.
///
/// Every function that returns an `ssecast_result` sets this message when it
/// fails and clears it (NULL) when it returns `SSECAST_OK`; functions that do
/// not return a result (such as `ssecast_engine_port()`) set it when they fail
/// and leave it alone otherwise. The message is per thread, so concurrent
/// callers never see each other's errors.
///
/// The string is owned by the library: do not free it. It stays valid until the
/// calling thread's next call into ssecast; copy it to keep it longer.
#[no_mangle]
pub extern "C" fn ssecast_last_error() -> *const c_char {
    crate::panic::boundary(|| {
        LAST_ERROR.with(|slot| slot.borrow().as_ref().map_or(ptr::null(), |m| m.as_ptr()))
    })
}
