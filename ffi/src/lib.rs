#![doc = include_str!("../README.md")]
// The exported names are C names (`ssecast_config`, `SSECAST_OK`), by design.
#![allow(non_camel_case_types)]

mod args;
mod config;
mod engine;
mod error;
mod handle;
mod panic;
mod result;
mod subscription;
mod token;

pub use config::{ssecast_config, ssecast_config_free, ssecast_config_new, ssecast_config_set};
pub use engine::{
    ssecast_engine, ssecast_engine_drain, ssecast_engine_free, ssecast_engine_port,
    ssecast_engine_start, ssecast_engine_stats, ssecast_engine_stop, ssecast_event,
    ssecast_publish, ssecast_publish_event, ssecast_stats, SSECAST_ENGINE_ID_MAX_LEN,
    SSECAST_ID_BUFFER_SIZE,
};
pub use error::ssecast_last_error;
pub use result::{ssecast_result, ssecast_result_code, ssecast_result_str};
pub use subscription::{
    ssecast_subscription, ssecast_subscription_fd, ssecast_subscription_free,
    ssecast_subscription_open, ssecast_subscription_read,
};
pub use token::{ssecast_publisher_token, ssecast_subscriber_token};

use std::ffi::c_char;

/// The library's version, such as `"0.1.0"`: a static NUL-terminated string,
/// never freed. Compare it with the header's version when loading the library
/// dynamically. Thread-safe.
#[no_mangle]
pub extern "C" fn ssecast_version() -> *const c_char {
    panic::boundary(|| concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast())
}

#[cfg(test)]
mod tests;
