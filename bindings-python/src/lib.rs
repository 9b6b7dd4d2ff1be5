//! Python binding of ssecast: the extension module `ssecast._ssecast`.
//!
//! The binding only converts: keyword arguments to [`ssecast::Config`] keys
//! ([`config`]), Python payloads to UTF-8 text ([`payload`]), token arguments to
//! patterns and a lifetime ([`tokens`]), and core errors to Python exceptions
//! ([`errors`]). Every rule about events, ids and the wire lives
//! in the core crate. The pure-Python package `ssecast` (in `python/ssecast/`)
//! re-exports this module and adds the FastAPI helper, the Starlette response
//! of in-app streams and their asyncio glue.

use pyo3::prelude::*;

mod config;
mod engine;
mod errors;
mod payload;
mod subscription;
mod tokens;

/// The extension module; `import ssecast` re-exports everything public in it.
#[pymodule]
fn _ssecast(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("CONFIG_KEYS", config::keys(m.py())?)?;
    m.add_class::<engine::Engine>()?;
    m.add_class::<subscription::Subscription>()?;
    m.add_class::<subscription::ReadySet>()?;
    errors::register(m)?;
    Ok(())
}
