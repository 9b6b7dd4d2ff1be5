//! `ssecast.Subscription` (an in-app stream) and `ReadySet` (how an event loop
//! learns that subscriptions have something to read).
//!
//! The asyncio glue is Python's job (`ssecast/_aio.py`): one `ReadySet` per
//! event loop, registered with `loop.add_reader`; `__anext__` returns that
//! module's coroutine. This file only converts core reads to `bytes`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use bytes::Buf;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyString};
use ssecast::{ErrorKind, Read};

use crate::errors::{not_unicode, to_py_err, type_name};

/// Where the woken subscriptions of one event loop are announced: an eventfd
/// that becomes readable, and the tokens of the subscriptions to read. Used by
/// ``ssecast``'s asyncio glue; a host with another event loop can use it too.
#[pyclass(frozen, module = "ssecast._ssecast")]
pub struct ReadySet {
    inner: ssecast::ReadySet,
}

#[pymethods]
impl ReadySet {
    #[new]
    fn new(py: Python<'_>) -> PyResult<Self> {
        let inner = ssecast::ReadySet::eventfd().map_err(|e| to_py_err(py, e))?;
        Ok(ReadySet { inner })
    }

    /// The descriptor to watch for readability (owned by the set: never close it).
    #[getter]
    fn fd(&self) -> i32 {
        self.inner.fd().expect("an eventfd set has a descriptor")
    }

    /// The tokens of the subscriptions woken since the last call; lowers the
    /// descriptor.
    fn take(&self) -> Vec<u64> {
        let mut tokens = Vec::new();
        self.inner.take(&mut tokens);
        tokens
    }
}

/// Tokens handed to subscriptions, unique in the process.
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// An in-app stream: what ``GET /events`` would send for some topics, read by
/// the application to send on its own route. Made by :meth:`Engine.subscribe`.
///
/// ``async for chunk in subscription`` gives ``bytes`` ready to write to the
/// client as they are: the reset signal when the id cannot be resumed, the
/// opening frame, the missed events, then live events in publish order, and
/// keep-alive comments when idle; many events arrive coalesced in one chunk.
/// Iteration ends when the engine stops (after everything published before
/// the stop) or when the reader falls behind the history (``end_reason`` says
/// which). :meth:`close` (or garbage collection) releases its topics at once.
#[pyclass(frozen, module = "ssecast")]
pub struct Subscription {
    state: Mutex<State>,
}

struct State {
    /// `None` once closed.
    inner: Option<ssecast::Subscription>,
    /// The set it announces itself to and its token there, once attached.
    attached: Option<(Py<ReadySet>, u64)>,
    /// Why it ended, once it has.
    end_reason: Option<&'static str>,
}

impl Subscription {
    /// Wraps a core subscription.
    pub fn new(inner: ssecast::Subscription) -> Self {
        Subscription {
            state: Mutex::new(State {
                inner: Some(inner),
                attached: None,
                end_reason: None,
            }),
        }
    }

    /// The state, or a `RuntimeError` when another thread is using it.
    fn state(&self) -> PyResult<MutexGuard<'_, State>> {
        match self.state.try_lock() {
            Ok(state) => Ok(state),
            Err(TryLockError::WouldBlock) => Err(PyRuntimeError::new_err(
                "this subscription is being read by another thread",
            )),
            Err(TryLockError::Poisoned(poisoned)) => Ok(poisoned.into_inner()),
        }
    }
}

/// `ssecast._aio.next_chunk`, the coroutine behind `__anext__`.
static NEXT_CHUNK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

#[pymethods]
impl Subscription {
    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The next chunk, awaited on the running event loop without a thread.
    fn __anext__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let next = NEXT_CHUNK.get_or_try_init(py, || {
            py.import("ssecast._aio")?
                .getattr("next_chunk")
                .map(Bound::unbind)
        })?;
        next.bind(py).call1((slf,))
    }

    /// The next chunk if one is ready, else ``None`` (see :attr:`ended`).
    fn read_nowait<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let mut state = self.state()?;
        let read = match state.inner.as_mut() {
            Some(inner) => inner.try_read(),
            None => return Ok(None),
        };
        state.take(py, read)
    }

    /// Waits on this thread, with the GIL released, up to ``timeout`` seconds
    /// (``None``: without limit) for the next chunk; ``None`` when nothing came
    /// in time or the stream is over (see :attr:`ended`). For threads of a
    /// synchronous server; coroutines use ``async for``. Detaches the
    /// subscription from its event loop.
    #[pyo3(signature = (timeout = None))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let timeout = timeout
            .map(|seconds| {
                Duration::try_from_secs_f64(seconds).map_err(|_| {
                    PyValueError::new_err(format!(
                        "timeout must be a number of seconds from 0, got {seconds}"
                    ))
                })
            })
            .transpose()?;
        let mut state = self.state()?;
        state.attached = None;
        let Some(inner) = state.inner.as_mut() else {
            return Ok(None);
        };
        let read = py
            .detach(|| inner.read_timeout(timeout))
            .map_err(|e| to_py_err(py, e))?;
        state.take(py, read)
    }

    /// Announces this subscription's wakes as its token in ``ready`` and
    /// returns the token (the same one while it stays attached there).
    fn _attach(&self, ready: &Bound<'_, ReadySet>) -> PyResult<u64> {
        let mut state = self.state()?;
        if let Some((set, token)) = &state.attached {
            if set.is(ready) {
                return Ok(*token);
            }
        }
        let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
        if let Some(inner) = state.inner.as_mut() {
            inner.attach(&ready.get().inner, token);
        }
        state.attached = Some((ready.clone().unbind(), token));
        Ok(token)
    }

    /// True once the stream is over (the engine stopped, the reader fell
    /// behind the history, or :meth:`close`); nothing more will come.
    #[getter]
    fn ended(&self) -> PyResult<bool> {
        Ok(self.state()?.end_reason.is_some())
    }

    /// Why the stream ended: ``"stopped"``, ``"drained"``, ``"slow-consumer"``,
    /// ``"closed"``, or ``None`` while it runs.
    #[getter]
    fn end_reason(&self) -> PyResult<Option<&'static str>> {
        Ok(self.state()?.end_reason)
    }

    /// Releases the subscription's topics and connection slot at once; a
    /// reader awaiting it ends its iteration. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let mut state = self.state()?;
        if state.inner.take().is_some() {
            state.end_reason = Some("closed");
            // Wake a task that awaits this subscription, so that it sees the end.
            if let Some((set, token)) = &state.attached {
                set.bind(py).get().inner.notify(*token);
            }
        }
        Ok(())
    }

    fn __repr__(&self) -> String {
        match self
            .state
            .try_lock()
            .ok()
            .and_then(|state| state.end_reason)
        {
            Some(reason) => format!("<ssecast.Subscription ended: {reason}>"),
            None => "<ssecast.Subscription open>".to_owned(),
        }
    }
}

impl State {
    /// Converts a core read: a chunk to `bytes` (one copy, made here), the end
    /// to `None` with the reason recorded (and the core subscription dropped,
    /// releasing its topics).
    fn take<'py>(&mut self, py: Python<'py>, read: Read) -> PyResult<Option<Bound<'py, PyBytes>>> {
        match read {
            Read::Data(mut chunk) => PyBytes::new_with(py, chunk.remaining(), |buffer| {
                chunk.copy_to_slice(buffer);
                Ok(())
            })
            .map(Some),
            Read::NotReady => Ok(None),
            Read::Ended(reason) => {
                self.end_reason = Some(reason.as_str());
                self.inner = None;
                Ok(None)
            }
        }
    }
}

/// The `topics` argument of `subscribe`: one `str`, or an iterable of `str`.
pub fn topics_arg(py: Python<'_>, topics: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(topic) = topics.cast::<PyString>() {
        return Ok(vec![topic_text(py, topic)?]);
    }
    let items = topics.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "subscribe() argument 'topics' must be str or an iterable of str, not {}",
            type_name(topics)
        ))
    })?;
    items
        .map(|item| {
            let item = item?;
            let topic = item.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "subscribe() topics must be str, not {}",
                    type_name(&item)
                ))
            })?;
            topic_text(py, topic)
        })
        .collect()
}

fn topic_text(py: Python<'_>, topic: &Bound<'_, PyString>) -> PyResult<String> {
    topic
        .extract::<String>()
        .map_err(|cause| not_unicode(py, ErrorKind::InvalidTopic, "topic", cause))
}
