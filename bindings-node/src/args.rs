//! Reading JavaScript arguments. Each helper checks the value's JavaScript type
//! and throws a `TypeError` (code `ERR_SSECAST_INVALID_ARG_TYPE`) naming the
//! argument when it is wrong; the values themselves are checked by core.
//!
//! Strings are read as UTF-8, which would turn a lone surrogate (`'\ud800'`)
//! into U+FFFD. Such a string is refused instead, with the error kind of the
//! argument it was given as (`ERR_SSECAST_INVALID_TOPIC`...), as Python
//! refuses it: nothing is published or configured with altered text.

use napi::bindgen_prelude::{BufferSlice, JsObjectValue, JsValue, Object, Unknown};
use napi::{Env, JsString, Result, ValueType};
use ssecast::ErrorKind;

use crate::errors::{engine_error_of, type_error};

/// A payload as it arrives from JavaScript: text, or bytes that must be UTF-8.
pub enum Payload<'env> {
    /// A JavaScript string.
    Text(String),
    /// A `Buffer` or `Uint8Array`, borrowed without a copy.
    Bytes(BufferSlice<'env>),
}

/// What `typeof` says of `value`, with `null` and arrays told apart, for messages.
fn describe(value: &Unknown) -> Result<&'static str> {
    Ok(match value.get_type()? {
        ValueType::Undefined => "undefined",
        ValueType::Null => "null",
        ValueType::Boolean => "boolean",
        ValueType::Number => "number",
        ValueType::String => "string",
        ValueType::Symbol => "symbol",
        ValueType::Function => "function",
        ValueType::Object if value.is_array()? => "array",
        ValueType::Object => "object",
        _ => "bigint",
    })
}

/// A number as a message shows it: short even when huge.
fn show_number(number: f64) -> String {
    if number.is_finite() && number.abs() >= 1e21 {
        format!("{number:e}")
    } else {
        format!("{number}")
    }
}

/// True when `value` is `undefined` or `null` (an option left out).
pub fn is_absent(value: &Unknown) -> Result<bool> {
    Ok(matches!(
        value.get_type()?,
        ValueType::Undefined | ValueType::Null
    ))
}

/// `value` as a string, or a `TypeError` naming `what`; an error of `kind`
/// when it holds a lone surrogate.
pub fn string(env: &Env, value: &Unknown, what: &str, kind: ErrorKind) -> Result<String> {
    match value.get_type()? {
        ValueType::String => text(env, value, what, kind),
        _ => Err(type_error(
            env,
            format!("{what} must be a string (got {})", describe(value)?),
        )),
    }
}

/// The text of a JavaScript string (`value` must be one), or an error of
/// `kind` naming `what` when it is not valid Unicode.
fn text(env: &Env, value: &Unknown, what: &str, kind: ErrorKind) -> Result<String> {
    // SAFETY (both casts): the caller checked that `value` is a string.
    let text = unsafe { value.cast::<String>() }?;
    // Only a U+FFFD in the UTF-8 text can stand for a lone surrogate: look
    // closer (at the UTF-16 code units) only then.
    if !text.contains('\u{fffd}') {
        return Ok(text);
    }
    let units = unsafe { value.cast::<JsString>() }?.into_utf16()?;
    if char::decode_utf16(units.iter().copied()).any(|c| c.is_err()) {
        return Err(engine_error_of(
            env,
            kind,
            format!("{what} is not valid Unicode: it holds a lone surrogate"),
        ));
    }
    Ok(text)
}

/// `value` as text or bytes, or a `TypeError` naming `what`; an
/// `ERR_SSECAST_INVALID_DATA` error for a string holding a lone surrogate.
pub fn payload<'env>(env: &Env, value: &Unknown<'env>, what: &str) -> Result<Payload<'env>> {
    if value.get_type()? == ValueType::String {
        return Ok(Payload::Text(text(
            env,
            value,
            what,
            ErrorKind::InvalidData,
        )?));
    }
    if value.is_buffer()? {
        // SAFETY: `is_buffer` holds for Buffer and every Uint8Array.
        return Ok(Payload::Bytes(unsafe { value.cast::<BufferSlice>() }?));
    }
    Err(type_error(
        env,
        format!(
            "{what} must be a string, a Buffer or a JSON-serialisable value (got {})",
            describe(value)?
        ),
    ))
}

/// `value` as an array of strings, or a `TypeError` naming `what`; an error of
/// `kind` for an item holding a lone surrogate.
pub fn string_array(
    env: &Env,
    value: &Unknown,
    what: &str,
    kind: ErrorKind,
) -> Result<Vec<String>> {
    if value.get_type()? != ValueType::Object || !value.is_array()? {
        return Err(type_error(
            env,
            format!(
                "{what} must be an array of strings (got {})",
                describe(value)?
            ),
        ));
    }
    // SAFETY: the type was just checked.
    let items = unsafe { value.cast::<Vec<Unknown>>() }?;
    items
        .iter()
        .map(|item| string(env, item, &format!("every item of {what}"), kind))
        .collect()
}

/// `value` as a number, or a `TypeError` naming `what`.
pub fn number(env: &Env, value: &Unknown, what: &str) -> Result<f64> {
    match value.get_type()? {
        // SAFETY: the type was just checked.
        ValueType::Number => unsafe { value.cast::<f64>() },
        _ => Err(type_error(
            env,
            format!("{what} must be a number (got {})", describe(value)?),
        )),
    }
}

/// `value` as an integer from 0 to `u32::MAX`, or a `TypeError` naming `what`.
pub fn u32_number(env: &Env, value: &Unknown, what: &str) -> Result<u32> {
    let got = if value.get_type()? == ValueType::Number {
        // SAFETY: the type was just checked.
        let number = unsafe { value.cast::<f64>() }?;
        if number.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&number) {
            return Ok(number as u32);
        }
        show_number(number)
    } else {
        describe(value)?.to_owned()
    };
    Err(type_error(
        env,
        format!(
            "{what} must be an integer from 0 to {} (got {got})",
            u32::MAX
        ),
    ))
}

/// `value` as a plain object, or a `TypeError` naming `what`.
pub fn object<'env>(env: &Env, value: &Unknown<'env>, what: &str) -> Result<Object<'env>> {
    if value.get_type()? == ValueType::Object && !value.is_array()? {
        // SAFETY: the type was just checked.
        return unsafe { value.cast::<Object>() };
    }
    Err(type_error(
        env,
        format!("{what} must be an object (got {})", describe(value)?),
    ))
}

/// The enumerable string keys of `object` with their values, in order.
pub fn entries<'env>(object: &Object<'env>) -> Result<Vec<(String, Unknown<'env>)>> {
    Object::keys(object)?
        .into_iter()
        .map(|key| {
            let value = object.get_named_property::<Unknown>(&key)?;
            Ok((key, value))
        })
        .collect()
}

/// The entries of an optional options object: none when `value` is missing,
/// `undefined` or `null`; a `TypeError` naming `what` when it is not an object.
pub fn option_entries<'env>(
    env: &Env,
    value: Option<&Unknown<'env>>,
    what: &str,
) -> Result<Vec<(String, Unknown<'env>)>> {
    match value {
        Some(value) if !is_absent(value)? => entries(&object(env, value, what)?),
        _ => Ok(Vec::new()),
    }
}

/// `value` in the string form core's `Config::set` accepts: a string as is, an
/// integer in decimal, an array of strings joined by commas, and for a `flag`
/// key a boolean as `true` or `false`. Anything else is a `TypeError` naming
/// `what`.
pub fn config_value(env: &Env, value: &Unknown, what: &str, flag: bool) -> Result<String> {
    match value.get_type()? {
        ValueType::String => text(env, value, what, ErrorKind::InvalidConfig),
        // SAFETY (all casts): the type was just checked.
        ValueType::Boolean if flag => Ok(unsafe { value.cast::<bool>() }?.to_string()),
        ValueType::Number => {
            let number = unsafe { value.cast::<f64>() }?;
            if number.fract() == 0.0 && number.abs() < 2f64.powi(53) {
                Ok(format!("{}", number as i64))
            } else {
                Err(type_error(
                    env,
                    format!("{what} must be an integer (got {})", show_number(number)),
                ))
            }
        }
        ValueType::Object if value.is_array()? => {
            let items = unsafe { value.cast::<Vec<Unknown>>() }?;
            let strings = items
                .iter()
                .map(|item| {
                    let what = format!("every item of {what}");
                    string(env, item, &what, ErrorKind::InvalidConfig)
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(strings.join(","))
        }
        _ => Err(type_error(
            env,
            format!(
                "{what} must be a string, a number or an array of strings (got {})",
                describe(value)?
            ),
        )),
    }
}
