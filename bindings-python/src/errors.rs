//! The one place where core errors become Python exceptions.
//!
//! `ssecast.Error` is the base; each [`ErrorKind`] has a subclass whose class
//! attribute `code` is the core code (`"INVALID_ID"`...). Kinds caused by a bad
//! argument also subclass `ValueError`, `Stopped` subclasses `RuntimeError`,
//! `Bind` and `Storage` subclass `OSError` and `Unavailable` subclasses
//! `ConnectionError`, so callers can catch either family. The classes
//! are built once with `type(name, bases, namespace)` because an exception with
//! two bases cannot be declared with `create_exception!`.

use pyo3::exceptions::{PyConnectionError, PyException, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use ssecast::ErrorKind;

/// The Python name and docstring of the class raised for one error kind.
struct KindClass {
    kind: ErrorKind,
    name: &'static str,
    doc: &'static str,
}

const BASE_NAME: &str = "Error";
const BASE_DOC: &str = "Base class of every ssecast error. `code` names the kind \
(\"INVALID_ID\", \"STOPPED\"...); the message says what was wrong.";
/// `code` of the base class itself; every raised error is a subclass with a core code.
const BASE_CODE: &str = "ERROR";

const KIND_CLASSES: [KindClass; 13] = [
    KindClass {
        kind: ErrorKind::InvalidConfig,
        name: "ConfigError",
        doc: "An unknown configuration key, or a value of the wrong type or out of range.",
    },
    KindClass {
        kind: ErrorKind::InvalidTopic,
        name: "InvalidTopicError",
        doc: "A topic name that is empty, too long or contains control characters.",
    },
    KindClass {
        kind: ErrorKind::InvalidEventName,
        name: "InvalidEventNameError",
        doc: "An event name that is empty, too long or contains CR, LF or NUL.",
    },
    KindClass {
        kind: ErrorKind::InvalidId,
        name: "InvalidIdError",
        doc: "An event id that is empty, too long or contains CR, LF or NUL.",
    },
    KindClass {
        kind: ErrorKind::InvalidData,
        name: "InvalidDataError",
        doc: "A payload that is not valid UTF-8 or cannot be serialised as JSON.",
    },
    KindClass {
        kind: ErrorKind::TooLarge,
        name: "TooLargeError",
        doc: "A payload larger than the engine's max_event_bytes.",
    },
    KindClass {
        kind: ErrorKind::Stopped,
        name: "StoppedError",
        doc: "The engine has been stopped; nothing more can be published.",
    },
    KindClass {
        kind: ErrorKind::Bind,
        name: "BindError",
        doc: "The listening socket could not be bound (address in use, permission denied...).",
    },
    KindClass {
        kind: ErrorKind::TooManyTopics,
        name: "TooManyTopicsError",
        doc: "A publish or subscription would create a topic while max_topics exist.",
    },
    KindClass {
        kind: ErrorKind::Internal,
        name: "InternalError",
        doc: "Any other operating-system or runtime failure inside the engine.",
    },
    KindClass {
        kind: ErrorKind::Unavailable,
        name: "UnavailableError",
        doc:
            "The backplane (Redis) cannot be reached: the event was not acknowledged. Retry later.",
    },
    KindClass {
        kind: ErrorKind::TooManyConnections,
        name: "TooManyConnectionsError",
        doc: "max_connections streams are open (in-app subscriptions included).",
    },
    KindClass {
        kind: ErrorKind::Storage,
        name: "StorageError",
        doc: "The durable history (history_dir) cannot be opened, read or written: another \
engine holds the directory, it is not writable, the disk is full, the store is damaged or \
from a newer version. The message names the directory and the cause.",
    },
];

/// The built classes: the base, then one per entry of [`KIND_CLASSES`].
struct Classes {
    base: Py<PyType>,
    kinds: Vec<Py<PyType>>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || build(py))
}

fn build(py: Python<'_>) -> PyResult<Classes> {
    let exception = py.get_type::<PyException>();
    let base = new_class(py, BASE_NAME, BASE_DOC, BASE_CODE, &[exception])?;
    let kinds = KIND_CLASSES
        .iter()
        .map(|class| {
            let mut bases = vec![base.clone()];
            bases.extend(builtin_family(py, class.kind));
            new_class(py, class.name, class.doc, class.kind.code(), &bases)
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(Classes {
        base: base.unbind(),
        kinds: kinds.into_iter().map(Bound::unbind).collect(),
    })
}

/// The built-in exception a kind also belongs to, so `except ValueError` works.
fn builtin_family(py: Python<'_>, kind: ErrorKind) -> Option<Bound<'_, PyType>> {
    if kind.is_invalid_argument() {
        Some(py.get_type::<PyValueError>())
    } else if kind == ErrorKind::Stopped {
        Some(py.get_type::<PyRuntimeError>())
    } else if matches!(kind, ErrorKind::Bind | ErrorKind::Storage) {
        Some(py.get_type::<PyOSError>())
    } else if kind == ErrorKind::Unavailable {
        Some(py.get_type::<PyConnectionError>())
    } else {
        None
    }
}

fn new_class<'py>(
    py: Python<'py>,
    name: &str,
    doc: &str,
    code: &str,
    bases: &[Bound<'py, PyType>],
) -> PyResult<Bound<'py, PyType>> {
    let namespace = PyDict::new(py);
    namespace.set_item("__module__", "ssecast")?;
    namespace.set_item("__doc__", doc)?;
    namespace.set_item("code", code)?;
    let class = py
        .get_type::<PyType>()
        .call1((name, PyTuple::new(py, bases)?, namespace))?;
    Ok(class.cast_into::<PyType>()?)
}

/// Adds `Error` and every subclass to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let built = classes(py)?;
    m.add(BASE_NAME, built.base.bind(py))?;
    for (class, ty) in KIND_CLASSES.iter().zip(&built.kinds) {
        m.add(class.name, ty.bind(py))?;
    }
    Ok(())
}

/// The Python exception for a core error: the subclass of its kind, carrying the
/// core message unchanged.
pub fn to_py_err(py: Python<'_>, err: ssecast::Error) -> PyErr {
    let built = match classes(py) {
        Ok(built) => built,
        Err(unbuildable) => return unbuildable,
    };
    let ty = KIND_CLASSES
        .iter()
        .position(|class| class.kind == err.kind())
        .map_or(&built.base, |i| &built.kinds[i]);
    PyErr::from_type(ty.bind(py).clone(), err.message().to_owned())
}

/// A Python exception of `kind` raised by the binding itself (a conversion that
/// failed before reaching the core), with a message naming the problem.
pub fn binding_err(py: Python<'_>, kind: ErrorKind, message: String) -> PyErr {
    to_py_err(py, ssecast::Error::new(kind, message))
}

/// The error for a `str` that cannot be encoded as UTF-8 (it holds a lone
/// surrogate), as an error of `kind` naming `what`, with Python's error as cause.
pub fn not_unicode(py: Python<'_>, kind: ErrorKind, what: &str, cause: PyErr) -> PyErr {
    let err = binding_err(py, kind, format!("{what} is not valid Unicode: {cause}"));
    err.set_cause(py, Some(cause));
    err
}

/// The name of a value's type, for messages such as "must be str, not int".
pub fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |name| name.to_string())
}
