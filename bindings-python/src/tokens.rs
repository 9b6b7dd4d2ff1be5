//! Arguments of `Engine.subscriber_token` and `Engine.publisher_token`: topic
//! patterns and a lifetime, converted for core's token minter.

use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString, PyType};
use ssecast::ErrorKind;

use crate::errors::{not_unicode, to_py_err, type_name};

/// `topics`: a list, tuple or other iterable of `str` patterns, not a lone
/// `str` (which would be read as its characters).
pub fn topics(
    py: Python<'_>,
    method: &str,
    topics: &Bound<'_, PyAny>,
) -> PyResult<Vec<PyBackedStr>> {
    if topics.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{method}() argument 'topics' must be a list of str, not a single str \
             (write [{:?}])",
            topics.to_string()
        )));
    }
    let items = topics.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{method}() argument 'topics' must be a list of str, not {}",
            type_name(topics)
        ))
    })?;
    items
        .map(|item| {
            let item = item?;
            if !item.is_instance_of::<PyString>() {
                return Err(PyTypeError::new_err(format!(
                    "{method}() argument 'topics' must hold str, not {}",
                    type_name(&item)
                )));
            }
            item.extract()
                .map_err(|cause| not_unicode(py, ErrorKind::InvalidTopic, "topic pattern", cause))
        })
        .collect()
}

/// `ttl`: seconds as an `int` or `float`, or a `datetime.timedelta`.
pub fn ttl(py: Python<'_>, method: &str, ttl: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let seconds: f64 = if ttl.is_instance_of::<PyBool>() {
        return Err(wrong_ttl(method, ttl));
    } else if ttl.is_instance_of::<PyInt>() || ttl.is_instance_of::<PyFloat>() {
        ttl.extract()?
    } else if ttl.is_instance(timedelta(py)?)? {
        ttl.call_method0("total_seconds")?.extract()?
    } else {
        return Err(wrong_ttl(method, ttl));
    };
    ssecast::ttl_from_secs_f64(seconds).map_err(|e| to_py_err(py, e))
}

fn wrong_ttl(method: &str, ttl: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "{method}() argument 'ttl' must be seconds (int or float) or a datetime.timedelta, not {}",
        type_name(ttl)
    ))
}

/// `datetime.timedelta`, imported once (the stable ABI has no direct access).
fn timedelta(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static TIMEDELTA: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    TIMEDELTA.import(py, "datetime", "timedelta")
}
