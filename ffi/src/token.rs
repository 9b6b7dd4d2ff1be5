//! Engine-minted tokens: `ssecast_subscriber_token()` and
//! `ssecast_publisher_token()`, written into a caller's buffer.

use std::ffi::c_char;
use std::time::Duration;

use ssecast::ErrorKind;

use crate::args::{optional_text, text_array};
use crate::engine::{engine, ssecast_engine};
use crate::error::Failure;
use crate::panic::fallible;
use crate::result::ssecast_result;

/// Mints a token that lets its holder stream the topics matched by `topics`
/// for `ttl_seconds`, signed with the engine's `jwt_secret`, and writes it to
/// `token_out` as a NUL-terminated string.
///
/// The host program authenticates its user its own way, then hands the token
/// to the page, which streams with it: `GET /events?topic=...&token=TOKEN`,
/// the `jwt_cookie` cookie, or `Authorization: Bearer TOKEN`. A stream opened
/// with it ends when it expires; the client reconnects with a fresh token and
/// `Last-Event-ID`, missing nothing.
///
/// `topics` is an array of `topics_len` NUL-terminated UTF-8 patterns: exact
/// topic names, `*` for one segment, a trailing `**` for any depth, `{sub}` for
/// `subject` (`"user/{sub}/notifications"`). `subject` (NULL: none) becomes the
/// token's `sub` claim. Every argument is borrowed for the call only.
///
/// `token_size` (may be NULL) receives the size the token needs in bytes,
/// its NUL included, both on success and on `SSECAST_BUFFER_TOO_SMALL` (an
/// exception to the out-parameter rule), so a caller can retry with a buffer
/// that large. Tokens minted from the same arguments have the same size: pass
/// `token_out = NULL` with `token_out_cap = 0` to learn it first. Otherwise
/// `token_out` is written only on success.
///
/// Errors: `SSECAST_NULL_PARAMETER` (NULL `engine`, a NULL `topics` with a
/// non-zero `topics_len`, a NULL element, a NULL `token_out` with a non-zero
/// `token_out_cap`), `SSECAST_INVALID_CONFIG` (the engine has no
/// `jwt_secret`), `SSECAST_INVALID_TOPIC` (no pattern, a malformed one, or
/// `{sub}` without a subject), `SSECAST_INVALID_DATA` (`ttl_seconds` 0, or an
/// unusable subject: empty, over 1024 bytes, control characters, or with
/// `{sub}` a `/`, `*`, braces, `.` or `..`), `SSECAST_BUFFER_TOO_SMALL`.
/// Thread-safe; works on a stopped engine too.
///
/// # Safety
/// `engine` must be NULL or a live engine handle; `topics` NULL or
/// `topics_len` readable pointers, each NULL or a NUL-terminated string;
/// `subject` NULL or a NUL-terminated string; `token_out` NULL or
/// `token_out_cap` writable bytes; `token_size` NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ssecast_subscriber_token(
    engine: *const ssecast_engine,
    topics: *const *const c_char,
    topics_len: usize,
    ttl_seconds: u64,
    subject: *const c_char,
    token_out: *mut c_char,
    token_out_cap: usize,
    token_size: *mut usize,
) -> ssecast_result {
    fallible(|| {
        // SAFETY (whole block): the caller guarantees every pointer per the docs.
        let engine = unsafe { self::engine(engine) }?;
        let topics = unsafe { text_array(topics, topics_len, "topics", ErrorKind::InvalidTopic) }?;
        let subject = unsafe { optional_text(subject, "subject", ErrorKind::InvalidData) }?;
        let token = engine.subscriber_token(&topics, Duration::from_secs(ttl_seconds), subject)?;
        unsafe { write_token(&token, token_out, token_out_cap, token_size) }
    })
}

/// Mints a token that lets its holder publish over HTTP (`POST /publish` with
/// `Authorization: Bearer TOKEN`) on the topics matched by `topics` for
/// `ttl_seconds`, signed with the engine's `jwt_secret`. Arguments, output and
/// errors as for `ssecast_subscriber_token()`, without a subject (so no
/// `{sub}`).
///
/// # Safety
/// As for `ssecast_subscriber_token()`.
#[no_mangle]
pub unsafe extern "C" fn ssecast_publisher_token(
    engine: *const ssecast_engine,
    topics: *const *const c_char,
    topics_len: usize,
    ttl_seconds: u64,
    token_out: *mut c_char,
    token_out_cap: usize,
    token_size: *mut usize,
) -> ssecast_result {
    fallible(|| {
        // SAFETY (whole block): the caller guarantees every pointer per the docs.
        let engine = unsafe { self::engine(engine) }?;
        let topics = unsafe { text_array(topics, topics_len, "topics", ErrorKind::InvalidTopic) }?;
        let token = engine.publisher_token(&topics, Duration::from_secs(ttl_seconds))?;
        unsafe { write_token(&token, token_out, token_out_cap, token_size) }
    })
}

/// Reports the size `token` needs and copies it with its NUL when it fits.
///
/// # Safety
/// `out` NULL or `cap` writable bytes; `size` NULL or writable.
unsafe fn write_token(
    token: &str,
    out: *mut c_char,
    cap: usize,
    size: *mut usize,
) -> Result<(), Failure> {
    if out.is_null() && cap > 0 {
        return Err(Failure::new(
            ssecast_result::SSECAST_NULL_PARAMETER,
            format!("token_out is NULL but token_out_cap is {cap}"),
        ));
    }
    let needed = token.len() + 1;
    if !size.is_null() {
        // SAFETY: non-NULL and writable, per the caller.
        unsafe { size.write(needed) };
    }
    if cap < needed {
        return Err(Failure::new(
            ssecast_result::SSECAST_BUFFER_TOO_SMALL,
            format!("token_out_cap is {cap} bytes but the token needs {needed} (with its NUL)"),
        ));
    }
    // SAFETY: `out` holds `cap` >= len + 1 writable bytes; a token is ASCII
    // without NUL.
    unsafe {
        std::ptr::copy_nonoverlapping(token.as_ptr(), out.cast::<u8>(), token.len());
        out.add(token.len()).write(0);
    }
    Ok(())
}
