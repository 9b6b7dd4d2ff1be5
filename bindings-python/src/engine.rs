//! `ssecast.Engine`: a running core engine, owned by a Python object.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString, PyTuple};
use ssecast::ErrorKind;

use crate::config;
use crate::errors::{not_unicode, to_py_err, type_name};
use crate::payload;
use crate::subscription::{topics_arg, Subscription};
use crate::tokens;

/// Payloads larger than this are published with the GIL released.
const DETACH_ABOVE_BYTES: usize = 64 * 1024;

/// A running Server-Sent Events engine.
///
/// ``Engine(**config)`` starts the engine at once: it binds ``bind``:``port``
/// (``port=0`` picks a free port, read it back from :attr:`port`) and serves
/// ``GET /events`` on threads of its own. Keyword arguments are the configuration
/// keys (``port``, ``bind``, ``publish_token``, ``history_size``, ``cors_origins``,
/// ``keepalive_ms``...; ``ssecast.CONFIG_KEYS`` lists them all). Values may be
/// ``int``, ``str``, ``None`` (empty: no token, no origins) or a list of
/// ``str`` (``cors_origins``). An unknown key or a bad value raises
/// :class:`ConfigError` naming the key; a port that cannot be bound raises
/// :class:`BindError`.
///
/// Publish from any thread or coroutine with :meth:`publish`. :meth:`stop` (or
/// leaving a ``with`` block, or garbage collection) closes every stream.
#[pyclass(frozen, module = "ssecast")]
pub struct Engine {
    inner: ssecast::Engine,
    /// `history_sync = always`: every publish waits for an fsync.
    publish_waits: bool,
}

impl Drop for Engine {
    /// An engine collected while it runs is stopped here, in the thread that
    /// dropped it, with the GIL released: the stop may wait up to
    /// `shutdown_timeout_ms` for slow streams, and other Python threads keep
    /// running meanwhile.
    fn drop(&mut self) {
        if !self.inner.is_stopped() {
            Python::attach(|py| py.detach(|| self.inner.stop()));
        }
    }
}

// The GIL rule of this class: release it (`py.detach`) around anything that may
// wait — starting (binds a socket, spawns threads) and stopping (joins threads,
// waits up to shutdown_timeout_ms for streams to flush). `publish` never waits on
// a socket and takes only a short lock: it keeps the GIL for a small payload,
// where releasing and re-taking it made publishing slower (100-byte str, one
// thread: 1.3-1.6 M/s kept, 0.7-1.1 M/s released; eight threads: 1.1-1.5 M/s
// kept, 0.5-1.3 M/s released), and releases it above `DETACH_ABOVE_BYTES`, where
// encoding takes long enough (about 1.5 ms for 1 MiB) that other Python threads
// should run meanwhile. Measured with bench/publish.py; see README, "The GIL".
// With `history_sync = always` every publish waits for an fsync: it always
// releases the GIL then, so other threads run and share that fsync.
#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (**config))]
    fn new(py: Python<'_>, config: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let config = config::from_kwargs(py, config)?;
        let publish_waits = config.publish_waits();
        let inner = py
            .detach(|| ssecast::Engine::start(config))
            .map_err(|e| to_py_err(py, e))?;
        Ok(Engine {
            inner,
            publish_waits,
        })
    }

    /// The TCP port the engine listens on (the one picked when ``port=0``).
    #[getter]
    fn port(&self) -> u16 {
        self.inner.port()
    }

    /// True once :meth:`stop` has been called.
    #[getter]
    fn stopped(&self) -> bool {
        self.inner.is_stopped()
    }

    /// Publishes one event to ``topic`` and returns its id.
    ///
    /// ``data`` is a ``str``, UTF-8 ``bytes``, or any object ``json.dumps`` accepts
    /// (sent as compact JSON). ``event`` sets the event type (clients default to
    /// ``message``), ``id`` replaces the engine-assigned id, ``retry`` sends a
    /// reconnection delay in milliseconds. Never blocks on a socket; callable from
    /// any thread.
    ///
    /// Raises :class:`InvalidTopicError`, :class:`InvalidEventNameError`,
    /// :class:`InvalidIdError`, :class:`InvalidDataError` or :class:`TooLargeError`
    /// (all ``ValueError``) for a bad argument, :class:`StoppedError` after
    /// :meth:`stop`, :class:`StorageError` when the durable history cannot take
    /// the event, ``TypeError`` for an argument of the wrong type, and
    /// ``ValueError`` for a ``retry`` outside 0..=4294967295. With
    /// ``history_sync="always"`` it returns once the event is on disk (with the
    /// GIL released meanwhile).
    #[pyo3(signature = (topic, data, *, event = None, id = None, retry = None))]
    fn publish(
        &self,
        py: Python<'_>,
        topic: &Bound<'_, PyAny>,
        data: &Bound<'_, PyAny>,
        event: Option<&Bound<'_, PyAny>>,
        id: Option<&Bound<'_, PyAny>>,
        retry: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        const METHOD: &str = "publish";
        let topic = str_arg(py, METHOD, "topic", ErrorKind::InvalidTopic, topic)?;
        let event = event
            .map(|event| str_arg(py, METHOD, "event", ErrorKind::InvalidEventName, event))
            .transpose()?;
        let id = id
            .map(|id| str_arg(py, METHOD, "id", ErrorKind::InvalidId, id))
            .transpose()?;
        let retry = retry.map(retry_ms).transpose()?;
        let payload = payload::extract(py, data)?;
        let result = payload.event().and_then(|mut built| {
            built.event = event.as_deref();
            built.id = id.as_deref();
            built.retry = retry;
            let publish = || self.inner.publish(&topic, &built);
            if self.publish_waits || built.data.len() > DETACH_ABOVE_BYTES {
                py.detach(publish)
            } else {
                publish()
            }
        });
        result.map_err(|e| to_py_err(py, e))
    }

    /// Mints a token that lets its holder stream the topics matched by
    /// ``topics`` for ``ttl``, signed with ``jwt_secret``.
    ///
    /// Your app authenticates its user its own way, then hands the token to the
    /// page, which streams with it: ``/events?topic=...&token=TOKEN``, the
    /// ``jwt_cookie`` cookie, or ``Authorization: Bearer TOKEN``. A stream ends
    /// when its token expires; the client reconnects with a fresh one and
    /// ``Last-Event-ID``, missing nothing.
    ///
    /// ``topics`` is a list of patterns: exact names, ``*`` for one segment, a
    /// trailing ``**``, ``{sub}`` for ``subject`` (``"user/{sub}/notifications"``).
    /// ``ttl`` is seconds (``int`` or ``float``, at least 1) or a
    /// ``datetime.timedelta``. ``subject`` becomes the token's ``sub`` claim.
    ///
    /// Raises :class:`ConfigError` without ``jwt_secret``,
    /// :class:`InvalidTopicError` for no pattern, a malformed one, or ``{sub}``
    /// without a subject, :class:`InvalidDataError` for a ``ttl`` under one
    /// second or an unusable subject (with ``{sub}``: ``/``, ``*``, braces,
    /// ``.`` or ``..``), and ``TypeError`` for arguments of the wrong type.
    #[pyo3(signature = (topics, ttl, subject = None))]
    fn subscriber_token(
        &self,
        py: Python<'_>,
        topics: &Bound<'_, PyAny>,
        ttl: &Bound<'_, PyAny>,
        subject: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        const METHOD: &str = "subscriber_token";
        let topics = tokens::topics(py, METHOD, topics)?;
        let ttl = tokens::ttl(py, METHOD, ttl)?;
        let subject = subject
            .filter(|s| !s.is_none())
            .map(|s| str_arg(py, METHOD, "subject", ErrorKind::InvalidData, s))
            .transpose()?;
        self.inner
            .subscriber_token(&topics, ttl, subject.as_deref())
            .map_err(|e| to_py_err(py, e))
    }

    /// Mints a token that lets its holder publish over HTTP (``POST /publish``
    /// with ``Authorization: Bearer TOKEN``) on the topics matched by
    /// ``topics`` for ``ttl``, signed with ``jwt_secret``. Arguments and errors
    /// as :meth:`subscriber_token`, without a subject (so no ``{sub}``).
    fn publisher_token(
        &self,
        py: Python<'_>,
        topics: &Bound<'_, PyAny>,
        ttl: &Bound<'_, PyAny>,
    ) -> PyResult<String> {
        const METHOD: &str = "publisher_token";
        let topics = tokens::topics(py, METHOD, topics)?;
        let ttl = tokens::ttl(py, METHOD, ttl)?;
        self.inner
            .publisher_token(&topics, ttl)
            .map_err(|e| to_py_err(py, e))
    }

    /// Opens an in-app stream: what ``GET /events`` would send for ``topics``
    /// (one ``str`` or several; none: the default topic), resumed after
    /// ``last_event_id`` (a browser's ``Last-Event-ID``, passed as it came), for
    /// the application to send on its own route. ``async for chunk in
    /// subscription`` gives ``bytes`` ready to write as they are; see
    /// :class:`Subscription` and ``ssecast.fastapi.EventStreamResponse``.
    ///
    /// Raises :class:`InvalidTopicError` for a bad topic or more than
    /// ``max_topics_per_connection``, :class:`InvalidIdError` for an id no
    /// event can have (an unknown one gives the reset signal instead),
    /// :class:`StoppedError` after :meth:`stop`,
    /// :class:`TooManyConnectionsError` when ``max_connections`` streams are
    /// open, and ``TypeError`` for arguments of the wrong type.
    #[pyo3(signature = (topics, last_event_id = None))]
    fn subscribe(
        &self,
        py: Python<'_>,
        topics: &Bound<'_, PyAny>,
        last_event_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Subscription> {
        let topics = topics_arg(py, topics)?;
        let last_event_id = last_event_id
            .filter(|id| !id.is_none())
            .map(|id| str_arg(py, "subscribe", "last_event_id", ErrorKind::InvalidId, id))
            .transpose()?;
        self.inner
            .subscribe(&topics, last_event_id.as_deref())
            .map(Subscription::new)
            .map_err(|e| to_py_err(py, e))
    }

    /// The engine's counters now: ``connections`` (open streams), ``topics``,
    /// ``published`` (events since start), ``slow_consumers_dropped``,
    /// ``streams_opened``, ``streams_refused``, ``events_delivered``,
    /// ``bytes_delivered``, ``resets_sent``, ``auth_failures`` and
    /// ``rate_limited`` (the numbers ``GET /metrics`` exports), and ``backplane``
    /// (``"connected"``, ``"reconnecting"``, ``"down"``, or ``None`` without one).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = self.inner.stats();
        let dict = PyDict::new(py);
        dict.set_item("connections", stats.connections)?;
        dict.set_item("topics", stats.topics)?;
        dict.set_item("published", stats.published)?;
        dict.set_item("slow_consumers_dropped", stats.slow_consumers_dropped)?;
        dict.set_item("streams_opened", stats.streams_opened)?;
        dict.set_item("streams_refused", stats.streams_refused)?;
        dict.set_item("events_delivered", stats.events_delivered)?;
        dict.set_item("bytes_delivered", stats.bytes_delivered)?;
        dict.set_item("resets_sent", stats.resets_sent)?;
        dict.set_item("auth_failures", stats.auth_failures)?;
        dict.set_item("rate_limited", stats.rate_limited)?;
        dict.set_item("backplane", stats.backplane.map(|b| b.as_str()))?;
        Ok(dict)
    }

    /// Drains the engine for a rolling deploy: ``GET /readyz`` answers 503, new
    /// stream requests are told to reconnect elsewhere, and the open streams
    /// close gradually over ``seconds`` (each after a random ``retry:`` within
    /// ``reconnect_jitter_ms``), while publishing goes on. Returns once every
    /// stream has closed (at most ``seconds`` plus ``shutdown_timeout_ms``),
    /// with the GIL released; call :meth:`stop` afterwards.
    ///
    /// ``0`` closes every stream at once. A second call while a drain runs
    /// waits for the same drain. Raises :class:`StoppedError` after
    /// :meth:`stop`, ``ValueError`` for a negative or non-finite duration and
    /// ``TypeError`` for one that is not a number.
    fn drain(&self, py: Python<'_>, seconds: &Bound<'_, PyAny>) -> PyResult<()> {
        let window = duration_arg("drain", seconds)?;
        py.detach(|| self.inner.drain(window))
            .map_err(|e| to_py_err(py, e))
    }

    /// Stops the engine: stops accepting connections, sends every stream what was
    /// published before the call, closes the streams and joins the engine's
    /// threads (waiting at most ``shutdown_timeout_ms``). Idempotent. Releases the
    /// GIL while it waits, so other Python threads keep running.
    fn stop(&self, py: Python<'_>) {
        py.detach(|| self.inner.stop());
    }

    /// Returns the engine itself, for ``with ssecast.Engine(...) as engine:``.
    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Stops the engine when the ``with`` block ends; exceptions propagate.
    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, py: Python<'_>, _exc_info: &Bound<'_, PyTuple>) {
        self.stop(py);
    }

    fn __repr__(&self) -> String {
        let state = if self.inner.is_stopped() {
            "stopped"
        } else {
            "running"
        };
        format!("<ssecast.Engine on {} {state}>", self.inner.local_addr())
    }
}

/// A duration in seconds (`int` or `float`, not `bool`).
fn duration_arg(method: &str, value: &Bound<'_, PyAny>) -> PyResult<std::time::Duration> {
    if value.is_instance_of::<PyBool>()
        || !(value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>())
    {
        let type_name = type_name(value);
        return Err(PyTypeError::new_err(format!(
            "{method}() takes a duration in seconds (int or float), not {type_name}"
        )));
    }
    let seconds: f64 = value.extract()?;
    std::time::Duration::try_from_secs_f64(seconds).map_err(|_| {
        PyValueError::new_err(format!(
            "{method}() takes a finite, non-negative number of seconds, got {seconds}"
        ))
    })
}

/// A `str` argument of `method`: a `TypeError` naming the argument for another
/// type, an error of `kind` for a `str` that is not valid Unicode.
fn str_arg(
    py: Python<'_>,
    method: &str,
    name: &str,
    kind: ErrorKind,
    value: &Bound<'_, PyAny>,
) -> PyResult<PyBackedStr> {
    if !value.is_instance_of::<PyString>() {
        return Err(wrong_type(method, name, "str", value));
    }
    value
        .extract()
        .map_err(|cause| not_unicode(py, kind, name, cause))
}

/// The `retry` argument, which the wire carries as a `u32` of milliseconds.
fn retry_ms(value: &Bound<'_, PyAny>) -> PyResult<u32> {
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(wrong_type("publish", "retry", "int or None", value));
    }
    value.extract::<u32>().map_err(|_| {
        PyValueError::new_err(format!(
            "publish() argument 'retry' must be from 0 to {} milliseconds, got {value}",
            u32::MAX
        ))
    })
}

fn wrong_type(method: &str, name: &str, expected: &str, value: &Bound<'_, PyAny>) -> PyErr {
    let type_name = type_name(value);
    PyTypeError::new_err(format!(
        "{method}() argument '{name}' must be {expected}, not {type_name}"
    ))
}
