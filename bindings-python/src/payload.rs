//! The `data` argument of `publish` to UTF-8 text.
//!
//! `str` is sent as is, `bytes` must be UTF-8 (checked by the core, which raises
//! `InvalidDataError`), and any other object is serialised with
//! `json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)`
//! (compact, valid JSON). An object `json` cannot serialise (a set, a NaN, a cycle...)
//! raises `InvalidDataError` (a `ValueError`) whose `__cause__` is `json`'s own error.

use std::borrow::Cow;

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString};
use ssecast::{ErrorKind, Event};

use crate::errors::{binding_err, not_unicode, type_name};

/// A payload ready to become a core [`Event`].
pub enum Payload<'a> {
    /// Text from a `str` or from JSON serialisation.
    Text(Cow<'a, str>),
    /// Bytes from a `bytes` object, not yet checked to be UTF-8.
    Bytes(&'a [u8]),
}

impl Payload<'_> {
    /// The core event carrying this payload; fails for bytes that are not UTF-8.
    pub fn event(&self) -> ssecast::Result<Event<'_>> {
        match self {
            Payload::Text(text) => Ok(Event::new(text)),
            Payload::Bytes(bytes) => Event::from_utf8(bytes),
        }
    }
}

/// Converts the `data` argument of `publish`.
pub fn extract<'a>(py: Python<'_>, data: &'a Bound<'_, PyAny>) -> PyResult<Payload<'a>> {
    if let Ok(text) = data.cast::<PyString>() {
        let text = text
            .to_cow()
            .map_err(|cause| not_unicode(py, ErrorKind::InvalidData, "data", cause))?;
        return Ok(Payload::Text(text));
    }
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return Ok(Payload::Bytes(bytes.as_bytes()));
    }
    let json = compact_dumps(py)?.call1(py, (data,)).map_err(|cause| {
        if !cause.is_instance_of::<PyException>(py) {
            return cause; // KeyboardInterrupt and friends pass through untouched.
        }
        let type_name = type_name(data);
        let err = binding_err(
            py,
            ErrorKind::InvalidData,
            format!("data of type {type_name} cannot be sent as JSON: {cause}"),
        );
        err.set_cause(py, Some(cause));
        err
    })?;
    let json = json
        .bind(py)
        .cast::<PyString>()?
        .to_cow()
        .map_err(|cause| not_unicode(py, ErrorKind::InvalidData, "data", cause))?
        .into_owned();
    Ok(Payload::Text(Cow::Owned(json)))
}

/// `functools.partial(json.dumps, ...)` with the compact options, built once.
fn compact_dumps(py: Python<'_>) -> PyResult<&Py<PyAny>> {
    static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    DUMPS.get_or_try_init(py, || {
        let options = PyDict::new(py);
        options.set_item("separators", (",", ":"))?;
        options.set_item("ensure_ascii", false)?;
        options.set_item("allow_nan", false)?;
        let dumps = py.import("json")?.getattr("dumps")?;
        let partial = py.import("functools")?.getattr("partial")?;
        Ok(partial.call((dumps,), Some(&options))?.unbind())
    })
}
