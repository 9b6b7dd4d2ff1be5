//! `ssecast_config`: the configuration builder handed to `ssecast_engine_start()`.

use std::ffi::c_char;

use ssecast::{Config, ErrorKind};

use crate::args::{deref, text};
use crate::error::Failure;
use crate::handle::BoxHandle;
use crate::panic::{boundary, fallible};
use crate::result::ssecast_result;

/// An engine configuration (opaque). Every key starts at its default.
///
/// Functions: `ssecast_config_new()`, `ssecast_config_set()`,
/// `ssecast_config_free()`; consumed (read, not taken) by `ssecast_engine_start()`.
/// A config may be reused to start several engines, and freed as soon as
/// `ssecast_engine_start()` returns. Not thread-safe: do not use one config from
/// two threads at once.
pub struct ssecast_config {
    pub(crate) config: Config,
}

impl BoxHandle for ssecast_config {}

/// Creates a configuration holding every key's default (port 8080, bind
/// 127.0.0.1, HTTP publishing off...).
///
/// Returns a new handle that the caller owns and must eventually pass to
/// `ssecast_config_free()`. Returns NULL only if the library failed internally
/// (the reason is in `ssecast_last_error()`).
#[no_mangle]
pub extern "C" fn ssecast_config_new() -> *mut ssecast_config {
    boundary(|| {
        ssecast_config {
            config: Config::default(),
        }
        .into_raw()
    })
}

/// Sets the configuration key `key` from its string form `value`.
///
/// Keys are the same everywhere (`port`, `bind`, `publish_token`,
/// `history_size`, `history_bytes`, `history_ttl_ms`, `history_dir`,
/// `history_sync`, `disk_history_size`, `disk_history_bytes`,
/// `disk_history_ttl_ms`, `cors_origins`,
/// `allowed_hosts`, `keepalive_ms`, `retry_ms`, `max_connections`,
/// `max_topics_per_connection`, `max_topics`, `max_event_bytes`, `events_path`,
/// `publish_path`, `health_path`, `send_buffer_bytes`, `worker_threads`,
/// `shutdown_timeout_ms`, `poll_timeout_ms`, `client_script`, `backplane`,
/// `reuse_port`, /// `head_timeout_ms`, `idle_timeout_ms`, `body_timeout_ms`,
/// `write_timeout_ms`, and for access control `jwt_secret`, `jwt_public_key`,
/// `jwt_algorithms`, `jwt_issuer`, `jwt_audience`, `jwt_cookie`,
/// `jwt_query_token`, `public_topics`, `max_connections_per_ip`,
/// `connection_rate_per_ip`, `connection_burst_per_ip`, `trusted_proxies`,
/// `trusted_proxy_header`, and for operations `reconnect_jitter_ms`,
/// `metrics_bind`, `metrics_token`, `log_level`, `log_format`); lists such as
/// `cors_origins` are comma-separated; numbers are decimal; flags such as
/// `client_script` are `true` or `false`; an empty `publish_token` turns HTTP
/// publishing off, an empty `log_level` leaves the engine's log to the host.
/// `key` and `value` are borrowed for the call only.
///
/// `history_dir` turns on the durable history: `ssecast_engine_start` then
/// fails with `SSECAST_STORAGE` when the directory cannot be used, and
/// `ssecast_publish` with `SSECAST_STORAGE` when the disk refuses an event.
///
/// Errors: `SSECAST_NULL_PARAMETER` if any argument is NULL;
/// `SSECAST_INVALID_CONFIG` for an unknown key, a value that does not parse or
/// is out of range, or a key or value that is not UTF-8 (the message names the
/// key). On error the configuration is unchanged.
///
/// # Safety
/// `cfg` must be NULL or a live handle from `ssecast_config_new()`; `key` and
/// `value` must be NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn ssecast_config_set(
    cfg: *mut ssecast_config,
    key: *const c_char,
    value: *const c_char,
) -> ssecast_result {
    fallible(|| {
        // SAFETY: the caller passes a live handle or NULL, and C strings or NULL.
        let cfg = unsafe { cfg.as_mut() }.ok_or_else(|| Failure::null("cfg"))?;
        let key = unsafe { text(key, "configuration key", ErrorKind::InvalidConfig) }?;
        let value = unsafe { text(value, key, ErrorKind::InvalidConfig) }?;
        Ok(cfg.config.set(key, value)?)
    })
}

/// Releases a configuration. NULL is a no-op. Must be called exactly once per
/// handle from `ssecast_config_new()`; engines started from it are not affected.
///
/// # Safety
/// `cfg` must be NULL or a live handle from `ssecast_config_new()` that no other
/// thread is using; it must not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn ssecast_config_free(cfg: *mut ssecast_config) {
    // SAFETY: forwarded from the caller.
    boundary(|| unsafe { ssecast_config::free(cfg) })
}

/// Borrows the configuration behind `cfg`.
///
/// # Safety
/// `cfg` must be NULL or a live handle from `ssecast_config_new()`.
pub(crate) unsafe fn config<'a>(cfg: *const ssecast_config) -> Result<&'a Config, Failure> {
    // SAFETY: forwarded from the caller.
    Ok(&unsafe { deref(cfg, "cfg") }?.config)
}
