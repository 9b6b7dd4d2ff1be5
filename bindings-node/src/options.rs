//! `Engine.start` options: the core configuration keys in camelCase.
//!
//! Options are not read field by field: every key core knows ([`ssecast::KEYS`])
//! is accepted under its camelCase name and handed to [`ssecast::Config::set`] in
//! string form, so a key added to core works here at once. [`EngineOptions`]
//! only describes them for TypeScript.

use napi::bindgen_prelude::Unknown;
use napi::{Env, Result};
use napi_derive::napi;
use ssecast::{Config, ErrorKind, KEYS};

use crate::args;
use crate::errors::{engine_error, engine_error_of};

/// Options of `Engine.start`: the engine's configuration keys in camelCase.
/// `undefined` or `null` leaves a key at its default; an unknown option is an
/// error (`ERR_SSECAST_INVALID_CONFIG`) naming it.
#[napi(object, object_from_js = false, object_to_js = false)]
#[expect(
    dead_code,
    reason = "types index.d.ts only; config_from reads the object"
)]
pub struct EngineOptions {
    /// TCP port to listen on; 0 (the default is 8080) picks a free one, read it from `engine.port`.
    pub port: Option<u32>,
    /// Address to bind, IPv4 or IPv6 (default `127.0.0.1`).
    pub bind: Option<String>,
    /// Bearer token that enables `POST /publish` over HTTP; unset or empty: HTTP publishing is off.
    pub publish_token: Option<String>,
    /// Most events kept per topic for `Last-Event-ID` replay.
    pub history_size: Option<u32>,
    /// Most bytes of events kept per topic for replay.
    pub history_bytes: Option<f64>,
    /// Oldest event kept for replay, in milliseconds (0: no age limit).
    pub history_ttl_ms: Option<f64>,
    /// Directory of the durable history: events survive restarts, ids continue,
    /// clients resume from disk. Unset or empty: memory only.
    pub history_dir: Option<String>,
    /// When events reach the disk: `'always'` (`publish` returns once the event
    /// is fsynced, blocking this thread), `'batch'` (the default: every 5 ms) or
    /// `'none'` (left to the operating system).
    #[napi(ts_type = "'always' | 'batch' | 'none'")]
    pub history_sync: Option<String>,
    /// Most events kept on disk, all topics together.
    pub disk_history_size: Option<f64>,
    /// Most bytes of events kept on disk, all topics together.
    pub disk_history_bytes: Option<f64>,
    /// Oldest event kept on disk, in milliseconds (0: no age limit).
    pub disk_history_ttl_ms: Option<f64>,
    /// Origins allowed cross-origin (`'*'` for any), as an array or a comma-separated string.
    #[napi(ts_type = "string | Array<string>")]
    pub cors_origins: Option<String>,
    /// Host names served besides IP addresses and `localhost` names (`.domain`
    /// for a domain and its subdomains, `'*'` for any), as an array or a
    /// comma-separated string; requests naming another host get 421.
    #[napi(ts_type = "string | Array<string>")]
    pub allowed_hosts: Option<String>,
    /// Idle interval before a keep-alive comment, in milliseconds (0: off; else
    /// at least 1000).
    pub keepalive_ms: Option<f64>,
    /// Reconnection delay sent to clients when they connect, in milliseconds (0: none).
    pub retry_ms: Option<u32>,
    /// Most event streams open at once; others are answered 503.
    pub max_connections: Option<u32>,
    /// Most topics one stream may subscribe to.
    pub max_topics_per_connection: Option<u32>,
    /// Most topics that exist at once; publishing to a new one past it throws
    /// `ERR_SSECAST_TOO_MANY_TOPICS`.
    pub max_topics: Option<u32>,
    /// Largest payload `publish` accepts, in bytes.
    pub max_event_bytes: Option<u32>,
    /// Path of the event stream endpoint (default `/events`).
    pub events_path: Option<String>,
    /// Path of the HTTP publish endpoint (default `/publish`).
    pub publish_path: Option<String>,
    /// Path of the health check endpoint (default `/healthz`).
    pub health_path: Option<String>,
    /// Kernel send buffer of each connection, in bytes (0, the default: the system's
    /// auto-tuning). A fixed size bounds the memory a client that stops reading can pin.
    pub send_buffer_bytes: Option<u32>,
    /// Threads of the engine's runtime (0: one per CPU).
    pub worker_threads: Option<u32>,
    /// How long `stop()` waits for streams to flush and close, in milliseconds.
    pub shutdown_timeout_ms: Option<f64>,
    /// How long a long-poll (`GET /events?...&transport=poll`) waits for an event
    /// before answering with none, in milliseconds (default 25000, at most 300000).
    pub poll_timeout_ms: Option<u32>,
    /// Serve the browser client (the global `ssecast`) at `GET /ssecast.js`
    /// (default `false`).
    pub client_script: Option<bool>,
    /// HMAC secret (32 bytes or more) that verifies HS256 tokens and signs
    /// `subscriberToken` / `publisherToken`; setting it or `jwtPublicKey` turns
    /// authorization on.
    pub jwt_secret: Option<String>,
    /// Public key that verifies RSA, ECDSA or Ed25519 tokens: PEM text, or
    /// `'@/path/to/key.pem'`; turns authorization on.
    pub jwt_public_key: Option<String>,
    /// Accepted token algorithms (default: HS256 with `jwtSecret`, the public
    /// key's own); `none` is never accepted.
    #[napi(ts_type = "string | Array<string>")]
    pub jwt_algorithms: Option<String>,
    /// The `iss` claim every token must carry.
    pub jwt_issuer: Option<String>,
    /// The `aud` claim every token must carry; unset, tokens with an `aud` are refused.
    pub jwt_audience: Option<String>,
    /// Cookie a subscriber's token may travel in (default `ssecast_token`; `''`: none).
    pub jwt_cookie: Option<String>,
    /// Whether a subscriber's token may travel in the `token` query parameter (default true).
    pub jwt_query_token: Option<bool>,
    /// Topic patterns anyone may subscribe to while authorization is on.
    #[napi(ts_type = "string | Array<string>")]
    pub public_topics: Option<String>,
    /// Most streams one client address may hold open (0: no limit); more get 429.
    pub max_connections_per_ip: Option<u32>,
    /// New streams one client address may open per second (0: no limit); more get 429.
    pub connection_rate_per_ip: Option<u32>,
    /// Streams one client address may open at once before the rate applies (0: the rate).
    pub connection_burst_per_ip: Option<u32>,
    /// Addresses or CIDRs of reverse proxies whose forwarding header names the client.
    #[napi(ts_type = "string | Array<string>")]
    pub trusted_proxies: Option<String>,
    /// The header trusted proxies name the client in: `'x-forwarded-for'` (default) or `'forwarded'`.
    pub trusted_proxy_header: Option<String>,
    /// Time a client has to send a request head (HTTP/2: the preface and first
    /// request), in milliseconds.
    pub head_timeout_ms: Option<f64>,
    /// Time an HTTP/2 connection with no open stream is kept, in milliseconds.
    pub idle_timeout_ms: Option<f64>,
    /// Time a client has to send a whole request body, in milliseconds.
    pub body_timeout_ms: Option<f64>,
    /// Time a stream's socket or HTTP/2 window may take no byte while bytes are
    /// pending before the stream is closed, and an HTTP/2 PING may go
    /// unanswered before the connection is closed, in milliseconds.
    pub write_timeout_ms: Option<f64>,
    /// The most random `retry:` delay sent to each stream closed by `stop()` or
    /// `drain()`, in milliseconds (default 5000; 0: none), so that clients do
    /// not all reconnect at once.
    pub reconnect_jitter_ms: Option<u32>,
    /// `IP:PORT` of a second listener serving only `/metrics`, `/healthz` and
    /// `/readyz` (unset: they are served on the main port).
    pub metrics_bind: Option<String>,
    /// Bearer token that `GET /metrics` requires (unset: none).
    pub metrics_token: Option<String>,
    /// Write the engine's log to stderr at this level (unset: no log).
    #[napi(ts_type = "'trace' | 'debug' | 'info' | 'warn' | 'error' | 'off'")]
    pub log_level: Option<String>,
    /// Format of that log (default `text`).
    #[napi(ts_type = "'text' | 'json'")]
    pub log_format: Option<String>,
    /// The Redis server that joins engines into one cluster, `redis://host:port/db`
    /// (unset or empty: this engine stands alone).
    pub backplane: Option<String>,
    /// Let several engines on one machine listen on the same port (needs a backplane).
    pub reuse_port: Option<bool>,
}

/// The camelCase option name of a snake_case configuration key.
fn camel_case(key: &str) -> String {
    let mut words = key.split('_');
    let mut name = words.next().unwrap_or_default().to_owned();
    for word in words {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            name.extend(first.to_uppercase());
            name.push_str(chars.as_str());
        }
    }
    name
}

/// Builds a core [`Config`] from the options object given to `Engine.start`
/// (`undefined` or `null`: every default).
pub fn config_from(env: &Env, options: Option<&Unknown>) -> Result<Config> {
    let mut config = Config::default();
    for (name, value) in args::option_entries(env, options, "options")? {
        let Some(key) = KEYS.iter().find(|k| camel_case(k.name) == name) else {
            let known: Vec<String> = KEYS.iter().map(|k| camel_case(k.name)).collect();
            return Err(engine_error_of(
                env,
                ErrorKind::InvalidConfig,
                format!("unknown option {name:?} (options: {})", known.join(", ")),
            ));
        };
        if args::is_absent(&value)? {
            continue;
        }
        let text = args::config_value(env, &value, &format!("option {name}"), key.is_flag())?;
        config.set(key.name, &text).map_err(|e| {
            // Core names the snake_case key; name the option as the caller wrote it.
            let message = match e.message().strip_prefix(key.name) {
                Some(rest) => format!("option {name}{rest}"),
                None => e.message().to_owned(),
            };
            engine_error_of(env, e.kind(), message)
        })?;
    }
    config.validate().map_err(|e| engine_error(env, &e))?;
    Ok(config)
}
