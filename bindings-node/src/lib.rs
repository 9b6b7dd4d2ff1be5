//! Node binding of ssecast, built with napi-rs: `require('ssecast')` gives the
//! [`engine::Engine`] class. The binding converts JavaScript values and errors
//! and nothing else; every rule lives in core.
//!
//! - [`engine`]: the `Engine` class (start, attach, port, publish, tokens, stats, stop);
//! - [`options`]: `Engine.start` options, the core configuration keys in camelCase;
//! - [`args`]: reading JavaScript arguments, with a `TypeError` for a wrong type;
//! - [`errors`]: the one place failures become JavaScript errors with a `code`;
//! - [`registry`]: engines by port, so worker threads can attach to one;
//! - [`running`]: a running engine shared by its handles, keeping the event
//!   loop of the thread that started it alive until any handle stops it;
//! - [`tokens`]: the arguments of `subscriberToken` and `publisherToken`;
//! - [`subscription`]: in-app streams and the set that wakes the JavaScript
//!   thread for them.
//!
//! The package's `index.js` adds what is JavaScript's job: `JSON.stringify` of
//! object payloads, the async iteration of subscriptions and serving them on
//! an HTTP response.

mod args;
mod engine;
mod errors;
mod options;
mod registry;
mod running;
mod subscription;
mod tokens;
