//! A running engine shared by all its JavaScript handles (the one
//! `Engine.start` gave, and those of `Engine.attach`), with what keeps the
//! event loop of the thread that started it alive while it runs, as a
//! listening server does. Stopping through any handle, from any thread,
//! releases it, so the process can exit.

use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::Function;
use napi::threadsafe_function::ThreadsafeFunction;
use napi::{Env, Result};

/// A function that does nothing, held as a threadsafe function: while it is
/// held, its thread's event loop stays alive.
type KeepAlive = ThreadsafeFunction<(), (), (), napi::Status, false>;

/// A running engine and its keep-alive.
pub struct Running {
    engine: ssecast::Engine,
    keep_alive: Mutex<Option<KeepAlive>>,
}

impl Running {
    /// Wraps a started engine, keeping the event loop of `env`'s thread alive
    /// until [`Running::stop`].
    pub fn new(env: &Env, engine: ssecast::Engine) -> Result<Arc<Running>> {
        let noop: Function<(), ()> = env.create_function_from_closure("keepAlive", |_| Ok(()))?;
        let keep_alive = noop.build_threadsafe_function::<()>().build()?;
        Ok(Arc::new(Running {
            engine,
            keep_alive: Mutex::new(Some(keep_alive)),
        }))
    }

    /// The engine.
    pub fn engine(&self) -> &ssecast::Engine {
        &self.engine
    }

    /// Stops the engine (blocking: call it off the JavaScript thread) and
    /// releases the keep-alive.
    pub fn stop(&self) {
        self.engine.stop();
        let keep_alive = self
            .keep_alive
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(keep_alive);
    }
}
