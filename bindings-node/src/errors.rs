//! The one place where failures become JavaScript errors.
//!
//! Every error the addon throws (or rejects a promise with) is built here:
//!
//! - a core [`ssecast::Error`] becomes an `Error` whose `code` is
//!   `'ERR_SSECAST_' + kind.code()` (for example `'ERR_SSECAST_INVALID_ID'`) and whose
//!   message is the engine's message naming what was wrong;
//! - an argument of the wrong JavaScript type becomes a `TypeError` with the code
//!   [`INVALID_ARG_TYPE`].
//!
//! (The JavaScript layer adds one more: a payload that `JSON.stringify` rejects,
//! such as a circular object, is an `Error` with code `'ERR_SSECAST_INVALID_DATA'`.)
//!
//! The JavaScript error object is created on the JavaScript thread and carried
//! inside a [`napi::Error`], which napi-rs throws or rejects with unchanged.

use napi::bindgen_prelude::{JsError, JsTypeError};
use napi::{Env, Error};

/// Prefix of every error code thrown by ssecast.
const CODE_PREFIX: &str = "ERR_SSECAST_";

/// Code of the `TypeError` thrown for an argument of the wrong JavaScript type.
pub const INVALID_ARG_TYPE: &str = "ERR_SSECAST_INVALID_ARG_TYPE";

/// The `code` of the JavaScript error for a core error kind.
pub fn code_of(kind: ssecast::ErrorKind) -> String {
    format!("{CODE_PREFIX}{}", kind.code())
}

/// A core error as a JavaScript `Error` with `code` set.
pub fn engine_error(env: &Env, error: &ssecast::Error) -> Error {
    let value =
        JsError::from(Error::new(code_of(error.kind()), error.message())).into_unknown(*env);
    Error::from_unknown_without_coercion(value)
}

/// A core error of `kind` with `message`, as a JavaScript `Error`.
pub fn engine_error_of(env: &Env, kind: ssecast::ErrorKind, message: String) -> Error {
    engine_error(env, &ssecast::Error::new(kind, message))
}

/// A JavaScript `TypeError` with code [`INVALID_ARG_TYPE`] and `message`.
pub fn type_error(env: &Env, message: String) -> Error {
    let value = JsTypeError::from(Error::new(INVALID_ARG_TYPE, message)).into_unknown(*env);
    Error::from_unknown_without_coercion(value)
}
