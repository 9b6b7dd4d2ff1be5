//! # ssecast
//!
//! A Server-Sent Events engine. [`Engine::start`] binds an HTTP server on its own
//! threads; [`Engine::publish`] hands it events from any thread; every subscriber
//! connected to `GET /events?topic=...` receives them, with history replay on
//! reconnection (`Last-Event-ID`).
//!
//! ```no_run
//! use ssecast::{Config, Engine, Event};
//!
//! let mut config = Config::default();
//! config.set("port", "0")?;
//! let engine = Engine::start(config)?;
//! println!("listening on port {}", engine.port());
//! let id = engine.publish("chat/1", &Event::new("hello").event("message"))?;
//! println!("published {id}");
//! engine.stop();
//! # Ok::<(), ssecast::Error>(())
//! ```
//!
//! The wire format, ids, history and slow-consumer rules are described in the
//! README; the configuration keys in [`KEYS`]; the parts of the crate and the
//! path of a publish and of a stream in `ARCHITECTURE.md`.

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;

mod auth;
mod backplane;
#[cfg(test)]
mod cluster_tests;
mod config;
mod durable;
mod encode;
mod engine;
mod error;
mod event;
mod http;
mod hub;
mod logs;
mod metrics;
pub mod report;
mod stream;
pub mod subscription;

pub use auth::{
    ttl_from_secs_f64, AccessControl, ConnectionSlot, Denial, DenialKind, Grant, Publisher,
    RequestParts, TokenMinter, MAX_TOKEN_BYTES, MAX_TRACKED_ADDRESSES, TOKEN_LEEWAY,
};
pub use config::{Config, KeyInfo, KEYS, SECRET_KEYS};
pub use durable::HistorySync;
pub use encode::encode_event;
pub use engine::Engine;
pub use error::{Error, ErrorKind, Result};
pub use event::{validate_topic, Event, DEFAULT_TOPIC, MAX_FIELD_BYTES, MAX_TOPIC_BYTES};
pub use hub::MAX_ENGINE_ID_BYTES;
pub use report::{BackplaneState, EndReason, ResetReason, Stats, RESET_EVENT};
pub use subscription::{Chunk, Read, ReadySet, Subscription};
