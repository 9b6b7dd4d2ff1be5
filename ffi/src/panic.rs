//! The one panic boundary every export runs inside.
//!
//! A panic must never unwind into C. [`boundary`] catches it, records a message
//! for `ssecast_last_error()` and returns a fallback chosen by the return type:
//! `SSECAST_PANIC` for a result, NULL for a pointer, 0 for a number, -1 for a
//! descriptor, nothing for `void`. [`fallible`] adds the result-code convention on top.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::error::{clear_last_error, set_last_error, Failure};
use crate::result::ssecast_result;

/// A type an export can return, with the value it returns after a panic.
pub(crate) trait PanicFallback {
    /// The value returned to C when the body panicked.
    fn fallback() -> Self;
}

impl PanicFallback for ssecast_result {
    fn fallback() -> Self {
        ssecast_result::SSECAST_PANIC
    }
}

impl<T> PanicFallback for *mut T {
    fn fallback() -> Self {
        ptr::null_mut()
    }
}

impl<T> PanicFallback for *const T {
    fn fallback() -> Self {
        ptr::null()
    }
}

impl PanicFallback for u16 {
    fn fallback() -> Self {
        0
    }
}

/// `int` is returned only for file descriptors, where 0 would be a valid one.
impl PanicFallback for std::ffi::c_int {
    fn fallback() -> Self {
        -1
    }
}

impl PanicFallback for () {
    fn fallback() -> Self {}
}

/// Runs an export's body, turning a panic into the return type's fallback.
pub(crate) fn boundary<R: PanicFallback>(body: impl FnOnce() -> R) -> R {
    // The body's captures are raw pointers and plain values owned by the caller;
    // after a panic nothing observes a half-updated Rust value except through a
    // handle whose invariants hold between statements (the engine's own locks
    // recover from poisoning).
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            set_last_error(&format!(
                "internal error (panic caught at the ssecast boundary): {}",
                panic_message(payload.as_ref())
            ));
            R::fallback()
        }
    }
}

/// Runs the body of an export that returns `ssecast_result`: `Ok` gives
/// `SSECAST_OK` and clears the last error; a failure records its message.
pub(crate) fn fallible(body: impl FnOnce() -> Result<(), Failure>) -> ssecast_result {
    boundary(|| match body() {
        Ok(()) => {
            clear_last_error();
            ssecast_result::SSECAST_OK
        }
        Err(failure) => failure.record(),
    })
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic")
}
