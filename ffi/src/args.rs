//! Checked conversions of C arguments: pointers to references, C strings to
//! `&str`, data pointers to slices. Each failure names the argument.

use std::ffi::{c_char, CStr};
use std::slice;

use ssecast::ErrorKind;

use crate::error::Failure;
use crate::result::ssecast_result;

/// Borrows the value behind a handle or struct pointer; NULL is an error naming `what`.
///
/// # Safety
/// `ptr` must be NULL or point to a live, properly aligned `T` for `'a`.
pub(crate) unsafe fn deref<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller guarantees `ptr` is NULL or valid for 'a.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(what))
}

/// Reads a required NUL-terminated UTF-8 string. NULL gives `SSECAST_NULL_PARAMETER`;
/// bytes that are not UTF-8 give `kind` (the error of the field the string fills).
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that lives for `'a`.
pub(crate) unsafe fn text<'a>(
    ptr: *const c_char,
    what: &str,
    kind: ErrorKind,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { optional_text(ptr, what, kind) }?.ok_or_else(|| Failure::null(what))
}

/// Reads an optional NUL-terminated UTF-8 string: NULL gives `None`.
///
/// # Safety
/// As for [`text`].
pub(crate) unsafe fn optional_text<'a>(
    ptr: *const c_char,
    what: &str,
    kind: ErrorKind,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, and the caller guarantees a NUL-terminated string for 'a.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    std::str::from_utf8(bytes).map(Some).map_err(|e| {
        Failure::from(ssecast::Error::new(
            kind,
            format!(
                "{what} is not valid UTF-8 (bad byte at offset {})",
                e.valid_up_to()
            ),
        ))
    })
}

/// Borrows `len` bytes at `ptr`. NULL is fine when `len` is 0 (an empty payload);
/// NULL with a non-zero length is `SSECAST_NULL_PARAMETER`.
///
/// # Safety
/// When `len > 0`, `ptr` must be NULL or point to `len` readable bytes for `'a`.
pub(crate) unsafe fn bytes<'a>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::new(
            ssecast_result::SSECAST_NULL_PARAMETER,
            format!("{what} is NULL but its length is {len}"),
        ));
    }
    if len > isize::MAX as usize {
        return Err(Failure::from(ssecast::Error::new(
            ErrorKind::TooLarge,
            format!("{what} length {len} is not a valid buffer size"),
        )));
    }
    // SAFETY: non-NULL, length checked against isize::MAX, and the caller
    // guarantees `len` readable bytes for 'a.
    Ok(unsafe { slice::from_raw_parts(ptr, len) })
}

/// Reads an array of `len` required NUL-terminated UTF-8 strings. NULL with
/// `len` 0 is an empty array; NULL with a non-zero `len`, or a NULL element, is
/// `SSECAST_NULL_PARAMETER` naming it (`topics[2]`); bytes that are not UTF-8
/// give `kind`.
///
/// # Safety
/// When `len > 0`, `ptr` must be NULL or point to `len` readable pointers, each
/// NULL or a NUL-terminated string that lives for `'a`.
pub(crate) unsafe fn text_array<'a>(
    ptr: *const *const c_char,
    len: usize,
    what: &str,
    kind: ErrorKind,
) -> Result<Vec<&'a str>, Failure> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if ptr.is_null() {
        return Err(Failure::new(
            ssecast_result::SSECAST_NULL_PARAMETER,
            format!("{what} is NULL but its length is {len}"),
        ));
    }
    if len > isize::MAX as usize / size_of::<*const c_char>() {
        return Err(Failure::from(ssecast::Error::new(
            ErrorKind::TooLarge,
            format!("{what} length {len} is not a valid array size"),
        )));
    }
    // SAFETY: non-NULL, size checked, and the caller guarantees `len` pointers.
    let items = unsafe { slice::from_raw_parts(ptr, len) };
    items
        .iter()
        .enumerate()
        // SAFETY: each element is NULL or a C string for 'a, per the caller.
        .map(|(i, &item)| unsafe { text(item, &format!("{what}[{i}]"), kind) })
        .collect()
}
