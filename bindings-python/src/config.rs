//! Keyword arguments of `ssecast.Engine(...)` to a core [`Config`].
//!
//! Each keyword is a configuration key; its value is turned into the string form
//! that [`Config::set`] parses, so the core checks every key and value once for
//! every language: `int` → decimal, `str` as is, an `os.PathLike` (`history_dir`)
//! → its path, a list or tuple of `str` → comma-separated (`cors_origins`),
//! `None` → empty (no token, no origins, no history directory), `bool` →
//! `true`/`false` for a flag (`client_script`) only. Any other type is a
//! `ConfigError` naming the key, `bool` for any other key included:
//! `publish_token=True` must not become the token `"true"`.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyString, PyTuple};
use ssecast::{Config, ErrorKind};

use crate::errors::{binding_err, not_unicode, to_py_err, type_name};

/// `ssecast.CONFIG_KEYS`: every configuration key and what it sets, in
/// documentation order.
pub fn keys(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let keys = PyDict::new(py);
    for key in ssecast::KEYS {
        keys.set_item(key.name, key.help)?;
    }
    Ok(keys)
}

/// Builds a [`Config`] from the defaults and the given keyword arguments.
pub fn from_kwargs(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Config> {
    let mut config = Config::default();
    for (key, value) in kwargs.into_iter().flat_map(|kwargs| kwargs.iter()) {
        // Keyword names are always `str`, but may hold a lone surrogate.
        let key = text(py, "a configuration key", key.cast::<PyString>()?)?;
        let text = if is_flag(&key) && value.is_instance_of::<PyBool>() {
            value.is_truthy()?.to_string()
        } else {
            value_text(py, &key, &value)?
        };
        config.set(&key, &text).map_err(|e| to_py_err(py, e))?;
    }
    Ok(config)
}

/// True for a key set with `True` or `False`.
fn is_flag(key: &str) -> bool {
    ssecast::KEYS.iter().any(|k| k.name == key && k.is_flag())
}

fn value_text(py: Python<'_>, key: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    if value.is_none() {
        Ok(String::new())
    } else if value.is_instance_of::<PyInt>() && !value.is_instance_of::<PyBool>() {
        text(py, key, &value.str()?)
    } else if let Ok(string) = value.cast::<PyString>() {
        text(py, key, string)
    } else if let Ok(path) = value.call_method0("__fspath__") {
        // An `os.PathLike` such as `pathlib.Path` (for `history_dir`): its text.
        let string = path
            .cast::<PyString>()
            .map_err(|_| wrong_type(py, key, value))?;
        text(py, key, string)
    } else if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let items = value
            .try_iter()?
            .map(|item| {
                let item = item?;
                let string = item
                    .cast::<PyString>()
                    .map_err(|_| wrong_type(py, key, value))?;
                text(py, key, string)
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(items.join(","))
    } else {
        Err(wrong_type(py, key, value))
    }
}

fn text(py: Python<'_>, key: &str, string: &Bound<'_, PyString>) -> PyResult<String> {
    string
        .to_cow()
        .map(|text| text.into_owned())
        .map_err(|cause| not_unicode(py, ErrorKind::InvalidConfig, key, cause))
}

fn wrong_type(py: Python<'_>, key: &str, value: &Bound<'_, PyAny>) -> PyErr {
    let type_name = type_name(value);
    binding_err(
        py,
        ErrorKind::InvalidConfig,
        format!("{key}: expected an int, str, None or a list of str, got {type_name}"),
    )
}
