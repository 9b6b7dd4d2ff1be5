//! Engine configuration: one set of keys shared by Rust, C, Python, Node and the CLI.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::backplane;
use crate::durable::HistorySync;
use crate::error::{Error, ErrorKind, Result};

/// The configuration of an [`Engine`](crate::Engine).
///
/// Every field is also a string key for [`Config::set`], the C function
/// `ssecast_config_set`, the Python and Node keyword options, the CLI flags
/// (`--history-size`), the `SSECAST_*` environment variables and the TOML file.
/// [`KEYS`] lists them with their meaning.
///
/// Its `Debug` output shows every key but the secrets of [`SECRET_KEYS`], so a
/// configuration can be logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// TCP port to listen on; 0 picks a free one (read it back with `Engine::port`).
    pub port: u16,
    /// Address to bind, IPv4 or IPv6.
    pub bind: String,
    /// Bearer token that enables `POST /publish`; `None` leaves HTTP publishing off.
    pub publish_token: Option<String>,
    /// Most events kept per topic for replay.
    pub history_size: usize,
    /// Most bytes of encoded events kept per topic for replay.
    pub history_bytes: usize,
    /// Oldest event kept for replay, in milliseconds; 0 keeps events regardless of age.
    pub history_ttl_ms: u64,
    /// Directory of the durable history; `None` keeps history in memory only.
    pub history_dir: Option<PathBuf>,
    /// When published events reach the disk (with `history_dir`).
    pub history_sync: HistorySync,
    /// Most events kept on disk, all topics together (oldest dropped first).
    pub disk_history_size: u64,
    /// Most bytes of events kept on disk, all topics together.
    pub disk_history_bytes: u64,
    /// Oldest event kept on disk, in milliseconds; 0 keeps events regardless of age.
    pub disk_history_ttl_ms: u64,
    /// Origins allowed to connect from a browser page of another origin; `*` allows any.
    pub cors_origins: Vec<String>,
    /// Host names served besides IP addresses and `localhost` names (`name`, or
    /// `.domain` for a domain and its subdomains); `*` serves any host. Requests
    /// naming another host in `Host` get `421`.
    pub allowed_hosts: Vec<String>,
    /// Idle interval after which a keep-alive comment is sent, in milliseconds
    /// (at least 1000); 0 disables. An HTTP/2 connection whose client has sent
    /// nothing for this long (for `idle_timeout_ms` when 0) gets a PING.
    pub keepalive_ms: u64,
    /// Reconnection delay sent to clients when they connect, in milliseconds; 0 sends none.
    pub retry_ms: u32,
    /// Most event streams open at once; further subscribers get `503`.
    pub max_connections: usize,
    /// Most topics one stream may subscribe to.
    pub max_topics_per_connection: usize,
    /// Most topics that exist at once (with history or subscribers); publishing
    /// or subscribing to a new one past it fails with `TOO_MANY_TOPICS`.
    pub max_topics: usize,
    /// Largest payload accepted by `publish`, in bytes.
    pub max_event_bytes: usize,
    /// Path of the event stream endpoint.
    pub events_path: String,
    /// Path of the HTTP publish endpoint.
    pub publish_path: String,
    /// Path of the health check endpoint.
    pub health_path: String,
    /// Kernel send buffer of each connection, in bytes; 0 keeps the system's
    /// auto-tuning. A fixed size bounds the memory a client that stops reading can pin.
    pub send_buffer_bytes: u32,
    /// Threads of the engine's runtime; 0 uses one per CPU.
    pub worker_threads: usize,
    /// How long `stop` waits for streams to flush and close, in milliseconds.
    pub shutdown_timeout_ms: u64,
    /// How long a long-poll (`GET <events_path>?transport=poll`) waits for an
    /// event before answering with none, in milliseconds.
    pub poll_timeout_ms: u64,
    /// Serve the browser client at `GET /ssecast.js`.
    pub client_script: bool,
    /// HMAC secret that verifies (and mints) HS256 tokens; setting it or
    /// `jwt_public_key` turns authorization on.
    pub jwt_secret: Option<String>,
    /// Public key that verifies RSA, ECDSA or Ed25519 tokens: PEM text, or
    /// `@/path/to/key.pem`.
    pub jwt_public_key: Option<String>,
    /// Accepted token algorithms; empty: those of the configured keys' defaults.
    pub jwt_algorithms: Vec<String>,
    /// Required `iss` of tokens; `None` accepts any.
    pub jwt_issuer: Option<String>,
    /// Required `aud` of tokens; `None` refuses tokens that carry one.
    pub jwt_audience: Option<String>,
    /// Cookie a subscriber's token may travel in; empty reads no cookie.
    pub jwt_cookie: String,
    /// Whether a subscriber's token may travel in the `token` query parameter.
    pub jwt_query_token: bool,
    /// Topic patterns anyone may subscribe to when authorization is on.
    pub public_topics: Vec<String>,
    /// Most streams one client address (IPv6: one /64) may hold open; 0 is no limit.
    pub max_connections_per_ip: usize,
    /// New streams one client address may open per second; 0 is no limit.
    pub connection_rate_per_ip: u32,
    /// Streams one client address may open at once before the rate applies;
    /// 0 is the same as `connection_rate_per_ip`.
    pub connection_burst_per_ip: u32,
    /// Addresses or CIDRs of reverse proxies whose forwarding header is believed.
    pub trusted_proxies: Vec<String>,
    /// The header trusted proxies name the client in: `x-forwarded-for` or `forwarded`.
    pub trusted_proxy_header: String,
    /// How long a client has to send a complete request head, in milliseconds:
    /// from the opening of the connection to its first request (for HTTP/2, the
    /// preface and the first request), and on HTTP/1 from the end of one request
    /// to the head of the next.
    pub head_timeout_ms: u64,
    /// How long an HTTP/2 connection with no open stream is kept, in milliseconds.
    pub idle_timeout_ms: u64,
    /// How long a client has to send a whole request body (`POST /publish`), in
    /// milliseconds.
    pub body_timeout_ms: u64,
    /// How long a stream's client may take no byte while bytes are pending (its
    /// socket or HTTP/2 window full), in milliseconds, before the stream is
    /// closed; the client resumes from history. An HTTP/2 connection whose
    /// client leaves a PING unanswered for this long is closed.
    pub write_timeout_ms: u64,
    /// The most a stream's last `retry:` field may be when it is closed by stop
    /// or drain, in milliseconds: each stream gets a random delay up to this, so
    /// clients do not all reconnect at once; 0 sends none.
    pub reconnect_jitter_ms: u32,
    /// Address (`IP:PORT`) of a second listener that serves `GET /metrics`,
    /// `/healthz` and `/readyz` only; `None` serves them on the main port.
    pub metrics_bind: Option<String>,
    /// Bearer token that `GET /metrics` requires; `None` requires none.
    pub metrics_token: Option<String>,
    /// Level of the log the engine writes to stderr (`trace`, `debug`, `info`,
    /// `warn`, `error`, `off`); `None` leaves logging to the host's own
    /// `tracing` subscriber.
    pub log_level: Option<String>,
    /// Format of that log: `text` or `json`.
    pub log_format: String,
    /// An HTML page served at `GET /` (the CLI's demo page), to `localhost` and
    /// loopback hosts only, since it may carry secrets. Rust API only.
    /// The Redis server that joins engines into one cluster (`redis://host:port/db`);
    /// `None` keeps this engine on its own.
    pub backplane: Option<String>,
    /// Lets several engines on one machine listen on the same port (`SO_REUSEPORT`);
    /// needs a backplane, so that every engine sees every publish.
    pub reuse_port: bool,
    /// An HTML page served at `GET /` (the CLI's demo page), to `localhost` and
    /// loopback hosts only, since it may carry secrets. Rust API only.
    #[serde(skip)]
    pub index_page: Option<Bytes>,
    /// An HTML page served at `GET /dashboard` (the CLI's live dashboard). Rust API only.
    #[serde(skip)]
    pub dashboard_page: Option<Bytes>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 8080,
            bind: "127.0.0.1".into(),
            publish_token: None,
            history_size: 1000,
            history_bytes: 16 << 20,
            history_ttl_ms: 3_600_000,
            history_dir: None,
            history_sync: HistorySync::Batch,
            disk_history_size: 1_000_000,
            disk_history_bytes: 1 << 30,
            disk_history_ttl_ms: 86_400_000,
            cors_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            keepalive_ms: 15_000,
            retry_ms: 0,
            max_connections: 10_000,
            max_topics_per_connection: 32,
            max_topics: 100_000,
            max_event_bytes: 1 << 20,
            events_path: "/events".into(),
            publish_path: "/publish".into(),
            health_path: "/healthz".into(),
            send_buffer_bytes: 0,
            worker_threads: 0,
            shutdown_timeout_ms: 5_000,
            poll_timeout_ms: 25_000,
            client_script: false,
            jwt_secret: None,
            jwt_public_key: None,
            jwt_algorithms: Vec::new(),
            jwt_issuer: None,
            jwt_audience: None,
            jwt_cookie: "ssecast_token".into(),
            jwt_query_token: true,
            public_topics: Vec::new(),
            max_connections_per_ip: 0,
            connection_rate_per_ip: 0,
            connection_burst_per_ip: 0,
            trusted_proxies: Vec::new(),
            trusted_proxy_header: "x-forwarded-for".into(),
            head_timeout_ms: 10_000,
            idle_timeout_ms: 30_000,
            body_timeout_ms: 30_000,
            write_timeout_ms: 30_000,
            reconnect_jitter_ms: 5_000,
            metrics_bind: None,
            metrics_token: None,
            log_level: None,
            log_format: "text".into(),
            backplane: None,
            reuse_port: false,
            index_page: None,
            dashboard_page: None,
        }
    }
}

/// The keys whose values are secrets: `Debug` shows `"<redacted>"` for them
/// when set.
pub const SECRET_KEYS: &[&str] = &["publish_token", "jwt_secret", "metrics_token", "backplane"];

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = f.debug_struct("Config");
        // Every serialised key, so a new key shows up without being listed here.
        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(self) {
            for (key, value) in &fields {
                if SECRET_KEYS.contains(&key.as_str()) && !value.is_null() {
                    out.field(key, &"<redacted>");
                } else {
                    out.field(key, &format_args!("{value}"));
                }
            }
        }
        let page = self.index_page.as_ref().map(Bytes::len);
        out.field("index_page", &format_args!("{page:?} bytes"))
            .finish()
    }
}

/// A configuration key and what it means.
#[derive(Debug, Clone, Copy)]
pub struct KeyInfo {
    /// The key, in snake_case.
    pub name: &'static str,
    /// One line saying what it sets.
    pub help: &'static str,
}

impl KeyInfo {
    /// True for a flag: a key set with `true` or `false` (also `1` or `0`),
    /// for which bindings accept their language's booleans. A flag is a key
    /// whose value reads back as `true` or `false`.
    pub fn is_flag(&self) -> bool {
        matches!(
            Config::default().get(self.name).as_deref(),
            Some("true" | "false")
        )
    }
}

/// Every configuration key accepted by [`Config::set`], in documentation order.
pub const KEYS: &[KeyInfo] = &[
    KeyInfo {
        name: "port",
        help: "TCP port to listen on; 0 picks a free one",
    },
    KeyInfo {
        name: "bind",
        help: "address to bind (IPv4 or IPv6)",
    },
    KeyInfo {
        name: "publish_token",
        help: "bearer token that enables POST /publish (empty: off)",
    },
    KeyInfo {
        name: "history_size",
        help: "most events kept per topic for replay",
    },
    KeyInfo {
        name: "history_bytes",
        help: "most bytes of events kept per topic for replay",
    },
    KeyInfo {
        name: "history_ttl_ms",
        help: "oldest event kept for replay, in ms (0: no age limit)",
    },
    KeyInfo {
        name: "history_dir",
        help: "directory of the durable history (empty: memory only)",
    },
    KeyInfo {
        name: "history_sync",
        help: "when events reach the disk: always (fsync per publish), batch, none",
    },
    KeyInfo {
        name: "disk_history_size",
        help: "most events kept on disk, all topics together",
    },
    KeyInfo {
        name: "disk_history_bytes",
        help: "most bytes of events kept on disk, all topics together",
    },
    KeyInfo {
        name: "disk_history_ttl_ms",
        help: "oldest event kept on disk, in ms (0: no age limit)",
    },
    KeyInfo {
        name: "cors_origins",
        help: "comma-separated origins allowed cross-origin (* for any)",
    },
    KeyInfo {
        name: "allowed_hosts",
        help: "comma-separated host names served besides IP addresses and localhost (.domain: with subdomains; *: any)",
    },
    KeyInfo {
        name: "keepalive_ms",
        help: "idle interval before a keep-alive comment (HTTP/2: a PING), in ms (0: off; else at least 1000)",
    },
    KeyInfo {
        name: "retry_ms",
        help: "reconnection delay sent to clients on connect, in ms (0: none)",
    },
    KeyInfo {
        name: "max_connections",
        help: "most event streams open at once (others get 503)",
    },
    KeyInfo {
        name: "max_topics_per_connection",
        help: "most topics one stream may subscribe to",
    },
    KeyInfo {
        name: "max_topics",
        help: "most topics that exist at once (publishing to a new one past it fails)",
    },
    KeyInfo {
        name: "max_event_bytes",
        help: "largest payload accepted by publish, in bytes",
    },
    KeyInfo {
        name: "events_path",
        help: "path of the event stream endpoint",
    },
    KeyInfo {
        name: "publish_path",
        help: "path of the HTTP publish endpoint",
    },
    KeyInfo {
        name: "health_path",
        help: "path of the health check endpoint",
    },
    KeyInfo {
        name: "send_buffer_bytes",
        help: "kernel send buffer per connection, in bytes (0: system auto-tuning)",
    },
    KeyInfo {
        name: "worker_threads",
        help: "threads of the engine's runtime (0: one per CPU)",
    },
    KeyInfo {
        name: "shutdown_timeout_ms",
        help: "how long stop waits for streams to close, in ms",
    },
    KeyInfo {
        name: "poll_timeout_ms",
        help: "how long a long-poll (transport=poll) waits for an event, in ms (at most 300000)",
    },
    KeyInfo {
        name: "client_script",
        help: "serve the browser client at GET /ssecast.js (true/false)",
    },
    KeyInfo {
        name: "jwt_secret",
        help: "HMAC secret (32+ bytes) verifying and minting tokens; turns authorization on",
    },
    KeyInfo {
        name: "jwt_public_key",
        help: "RSA, ECDSA or Ed25519 public key (PEM text or @/path/to/key.pem) verifying tokens; turns authorization on",
    },
    KeyInfo {
        name: "jwt_algorithms",
        help: "comma-separated accepted token algorithms (empty: HS256 and the public key's own)",
    },
    KeyInfo {
        name: "jwt_issuer",
        help: "required iss claim of tokens (empty: any)",
    },
    KeyInfo {
        name: "jwt_audience",
        help: "required aud claim of tokens (empty: tokens with an aud are refused)",
    },
    KeyInfo {
        name: "jwt_cookie",
        help: "cookie a subscriber's token may travel in (empty: none)",
    },
    KeyInfo {
        name: "jwt_query_token",
        help: "whether a subscriber's token may travel in the token query parameter (true/false)",
    },
    KeyInfo {
        name: "public_topics",
        help: "comma-separated topic patterns anyone may subscribe to when authorization is on",
    },
    KeyInfo {
        name: "max_connections_per_ip",
        help: "most streams one client address may hold open (0: no limit)",
    },
    KeyInfo {
        name: "connection_rate_per_ip",
        help: "new streams one client address may open per second (0: no limit)",
    },
    KeyInfo {
        name: "connection_burst_per_ip",
        help: "streams one client address may open at once before the rate applies (0: the rate)",
    },
    KeyInfo {
        name: "trusted_proxies",
        help: "comma-separated proxy addresses or CIDRs whose forwarding header is believed",
    },
    KeyInfo {
        name: "trusted_proxy_header",
        help: "header trusted proxies name the client in: x-forwarded-for or forwarded",
    },
    KeyInfo {
        name: "head_timeout_ms",
        help: "time a client has to send a request head (HTTP/2: the preface and first request), in ms",
    },
    KeyInfo {
        name: "idle_timeout_ms",
        help: "time an HTTP/2 connection with no open stream is kept, in ms",
    },
    KeyInfo {
        name: "body_timeout_ms",
        help: "time a client has to send a whole request body, in ms",
    },
    KeyInfo {
        name: "write_timeout_ms",
        help: "time a stream's client may take no byte while bytes are pending (HTTP/2: leave a PING unanswered), in ms",
    },
    KeyInfo {
        name: "reconnect_jitter_ms",
        help: "most random retry: sent to each stream closed by stop or drain, in ms (0: none)",
    },
    KeyInfo {
        name: "metrics_bind",
        help: "IP:PORT of a separate listener for /metrics, /healthz and /readyz (empty: main port)",
    },
    KeyInfo {
        name: "metrics_token",
        help: "bearer token that GET /metrics requires (empty: none)",
    },
    KeyInfo {
        name: "log_level",
        help: "log to stderr at trace|debug|info|warn|error|off (empty: the host's tracing subscriber)",
    },
    KeyInfo {
        name: "log_format",
        help: "format of the stderr log: text or json",
    },
    KeyInfo {
        name: "backplane",
        help: "Redis joining engines into one cluster, redis://host:port/db (empty: none)",
    },
    KeyInfo {
        name: "reuse_port",
        help: "let several engines listen on one port (true/false; needs a backplane)",
    },
];

impl Config {
    /// Sets one key from its string form, as given on a command line or through the C
    /// API. Lists (`cors_origins`) are comma-separated; an empty `publish_token` turns
    /// HTTP publishing off.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let v = value.trim();
        match key {
            "port" => self.port = parse(key, v, 0, u16::MAX as u64)? as u16,
            "bind" => self.bind = non_empty(key, v)?,
            "publish_token" => {
                self.publish_token = (!v.is_empty()).then(|| v.to_owned());
            }
            "history_size" => self.history_size = parse(key, v, 1, 10_000_000)? as usize,
            "history_bytes" => self.history_bytes = parse(key, v, 1024, 1 << 40)? as usize,
            "history_ttl_ms" => self.history_ttl_ms = parse(key, v, 0, u64::MAX)?,
            "history_dir" => self.history_dir = (!v.is_empty()).then(|| PathBuf::from(v)),
            "history_sync" => {
                self.history_sync = HistorySync::parse(v).ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidConfig,
                        format!("history_sync: expected always, batch or none, got {v:?}"),
                    )
                })?
            }
            "disk_history_size" => self.disk_history_size = parse(key, v, 1, 1 << 40)?,
            "disk_history_bytes" => self.disk_history_bytes = parse(key, v, 1 << 16, 1 << 50)?,
            "disk_history_ttl_ms" => self.disk_history_ttl_ms = parse(key, v, 0, u64::MAX)?,
            "cors_origins" => self.cors_origins = list(v),
            "allowed_hosts" => self.allowed_hosts = list(v),
            "keepalive_ms" => {
                self.keepalive_ms = match parse(key, v, 0, u64::MAX)? {
                    ms @ (0 | MIN_KEEPALIVE_MS..) => ms,
                    _ => return Err(keepalive_too_short(v)),
                }
            }
            "retry_ms" => self.retry_ms = parse(key, v, 0, u32::MAX as u64)? as u32,
            "max_connections" => self.max_connections = parse(key, v, 1, 100_000_000)? as usize,
            "max_topics_per_connection" => {
                self.max_topics_per_connection = parse(key, v, 1, 10_000)? as usize
            }
            "max_topics" => self.max_topics = parse(key, v, 1, 100_000_000)? as usize,
            "max_event_bytes" => self.max_event_bytes = parse(key, v, 1, 1 << 30)? as usize,
            "events_path" => self.events_path = non_empty(key, v)?,
            "publish_path" => self.publish_path = non_empty(key, v)?,
            "health_path" => self.health_path = non_empty(key, v)?,
            "send_buffer_bytes" => self.send_buffer_bytes = parse(key, v, 0, 1 << 30)? as u32,
            "worker_threads" => self.worker_threads = parse(key, v, 0, 1024)? as usize,
            "shutdown_timeout_ms" => self.shutdown_timeout_ms = parse(key, v, 0, u64::MAX)?,
            "poll_timeout_ms" => self.poll_timeout_ms = parse(key, v, 0, MAX_POLL_TIMEOUT_MS)?,
            "client_script" => self.client_script = boolean(key, v)?,
            "jwt_secret" => self.jwt_secret = optional(v),
            "jwt_public_key" => self.jwt_public_key = optional(v),
            "jwt_algorithms" => self.jwt_algorithms = list(v),
            "jwt_issuer" => self.jwt_issuer = optional(v),
            "jwt_audience" => self.jwt_audience = optional(v),
            "jwt_cookie" => self.jwt_cookie = v.to_owned(),
            "jwt_query_token" => self.jwt_query_token = boolean(key, v)?,
            "public_topics" => self.public_topics = list(v),
            "max_connections_per_ip" => {
                self.max_connections_per_ip = parse(key, v, 0, 100_000_000)? as usize
            }
            "connection_rate_per_ip" => {
                self.connection_rate_per_ip = parse(key, v, 0, 1_000_000)? as u32
            }
            "connection_burst_per_ip" => {
                self.connection_burst_per_ip = parse(key, v, 0, 1_000_000)? as u32
            }
            "trusted_proxies" => self.trusted_proxies = list(v),
            "trusted_proxy_header" => self.trusted_proxy_header = non_empty(key, v)?,
            "head_timeout_ms" => {
                self.head_timeout_ms = parse(key, v, MIN_DEADLINE_MS, MAX_DEADLINE_MS)?
            }
            "idle_timeout_ms" => {
                self.idle_timeout_ms = parse(key, v, MIN_DEADLINE_MS, MAX_DEADLINE_MS)?
            }
            "body_timeout_ms" => {
                self.body_timeout_ms = parse(key, v, MIN_DEADLINE_MS, MAX_DEADLINE_MS)?
            }
            "write_timeout_ms" => {
                self.write_timeout_ms = parse(key, v, MIN_DEADLINE_MS, MAX_DEADLINE_MS)?
            }
            "reconnect_jitter_ms" => {
                self.reconnect_jitter_ms = parse(key, v, 0, MAX_RETRY_MS)? as u32
            }
            "metrics_bind" => {
                self.metrics_bind = optional(v);
                check_metrics_bind(self.metrics_bind.as_deref())?;
            }
            "metrics_token" => self.metrics_token = optional(v),
            "log_level" => {
                let level = optional(v).map(|l| l.to_ascii_lowercase());
                check_log_level(level.as_deref())?;
                self.log_level = level;
            }
            "log_format" => {
                let format = v.to_ascii_lowercase();
                check_log_format(&format)?;
                self.log_format = format;
            }
            "backplane" => {
                if !v.is_empty() {
                    backplane::check_url(v)
                        .map_err(|e| Error::new(ErrorKind::InvalidConfig, format!("{key}: {e}")))?;
                }
                self.backplane = (!v.is_empty()).then(|| v.to_owned());
            }
            "reuse_port" => self.reuse_port = boolean(key, v)?,
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!("unknown configuration key {key:?}"),
                ))
            }
        }
        Ok(())
    }

    /// The current value of a key in the string form [`Config::set`] accepts, or
    /// `None` for an unknown key.
    pub fn get(&self, key: &str) -> Option<String> {
        Some(match key {
            "port" => self.port.to_string(),
            "bind" => self.bind.clone(),
            "publish_token" => self.publish_token.clone().unwrap_or_default(),
            "history_size" => self.history_size.to_string(),
            "history_bytes" => self.history_bytes.to_string(),
            "history_ttl_ms" => self.history_ttl_ms.to_string(),
            "history_dir" => self
                .history_dir
                .as_ref()
                .map(|dir| dir.display().to_string())
                .unwrap_or_default(),
            "history_sync" => self.history_sync.as_str().to_owned(),
            "disk_history_size" => self.disk_history_size.to_string(),
            "disk_history_bytes" => self.disk_history_bytes.to_string(),
            "disk_history_ttl_ms" => self.disk_history_ttl_ms.to_string(),
            "cors_origins" => self.cors_origins.join(","),
            "allowed_hosts" => self.allowed_hosts.join(","),
            "keepalive_ms" => self.keepalive_ms.to_string(),
            "retry_ms" => self.retry_ms.to_string(),
            "max_connections" => self.max_connections.to_string(),
            "max_topics_per_connection" => self.max_topics_per_connection.to_string(),
            "max_topics" => self.max_topics.to_string(),
            "max_event_bytes" => self.max_event_bytes.to_string(),
            "events_path" => self.events_path.clone(),
            "publish_path" => self.publish_path.clone(),
            "health_path" => self.health_path.clone(),
            "send_buffer_bytes" => self.send_buffer_bytes.to_string(),
            "worker_threads" => self.worker_threads.to_string(),
            "shutdown_timeout_ms" => self.shutdown_timeout_ms.to_string(),
            "poll_timeout_ms" => self.poll_timeout_ms.to_string(),
            "client_script" => self.client_script.to_string(),
            "jwt_secret" => self.jwt_secret.clone().unwrap_or_default(),
            "jwt_public_key" => self.jwt_public_key.clone().unwrap_or_default(),
            "jwt_algorithms" => self.jwt_algorithms.join(","),
            "jwt_issuer" => self.jwt_issuer.clone().unwrap_or_default(),
            "jwt_audience" => self.jwt_audience.clone().unwrap_or_default(),
            "jwt_cookie" => self.jwt_cookie.clone(),
            "jwt_query_token" => self.jwt_query_token.to_string(),
            "public_topics" => self.public_topics.join(","),
            "max_connections_per_ip" => self.max_connections_per_ip.to_string(),
            "connection_rate_per_ip" => self.connection_rate_per_ip.to_string(),
            "connection_burst_per_ip" => self.connection_burst_per_ip.to_string(),
            "trusted_proxies" => self.trusted_proxies.join(","),
            "trusted_proxy_header" => self.trusted_proxy_header.clone(),
            "head_timeout_ms" => self.head_timeout_ms.to_string(),
            "idle_timeout_ms" => self.idle_timeout_ms.to_string(),
            "body_timeout_ms" => self.body_timeout_ms.to_string(),
            "write_timeout_ms" => self.write_timeout_ms.to_string(),
            "reconnect_jitter_ms" => self.reconnect_jitter_ms.to_string(),
            "metrics_bind" => self.metrics_bind.clone().unwrap_or_default(),
            "metrics_token" => self.metrics_token.clone().unwrap_or_default(),
            "log_level" => self.log_level.clone().unwrap_or_default(),
            "log_format" => self.log_format.clone(),
            "backplane" => self.backplane.clone().unwrap_or_default(),
            "reuse_port" => self.reuse_port.to_string(),
            _ => return None,
        })
    }

    /// Checks the relations between keys that [`Config::set`] cannot check alone.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::new(ErrorKind::InvalidConfig, msg));
        if self.bind.parse::<IpAddr>().is_err() {
            return bad(format!("bind: {:?} is not an IP address", self.bind));
        }
        let paths = [
            ("events_path", &self.events_path),
            ("publish_path", &self.publish_path),
            ("health_path", &self.health_path),
        ];
        for (i, (key, path)) in paths.iter().enumerate() {
            if !path.starts_with('/') || path.contains(['?', '#']) || path.len() > 256 {
                return bad(format!(
                    "{key}: {path:?} must start with '/' and hold no '?' or '#'"
                ));
            }
            if path.as_str() == "/" && self.index_page.is_some() {
                return bad(format!("{key}: '/' is taken by the index page"));
            }
            if path.as_str() == CLIENT_SCRIPT_PATH && self.client_script {
                return bad(format!(
                    "{key}: {CLIENT_SCRIPT_PATH:?} is taken by the client script (client_script)"
                ));
            }
            if let Some((other, _)) = paths[..i].iter().find(|(_, p)| p == path) {
                return bad(format!("{key} and {other} are both {path:?}"));
            }
        }
        if self.history_size == 0 || self.max_connections == 0 || self.max_event_bytes == 0 {
            return bad(
                "history_size, max_connections and max_event_bytes must be at least 1".into(),
            );
        }
        if self.poll_timeout_ms > MAX_POLL_TIMEOUT_MS {
            return bad(format!(
                "poll_timeout_ms: {} is more than {MAX_POLL_TIMEOUT_MS}",
                self.poll_timeout_ms
            ));
        }
        if (1..MIN_KEEPALIVE_MS).contains(&self.keepalive_ms) {
            return Err(keepalive_too_short(&self.keepalive_ms.to_string()));
        }
        if self.max_topics_per_connection == 0 || self.max_topics == 0 {
            return bad("max_topics_per_connection and max_topics must be at least 1".into());
        }
        for (key, ms) in [
            ("head_timeout_ms", self.head_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("body_timeout_ms", self.body_timeout_ms),
            ("write_timeout_ms", self.write_timeout_ms),
        ] {
            if !(MIN_DEADLINE_MS..=MAX_DEADLINE_MS).contains(&ms) {
                return bad(format!(
                    "{key}: expected {MIN_DEADLINE_MS} to {MAX_DEADLINE_MS} ms, got {ms}"
                ));
            }
        }
        if self
            .history_dir
            .as_ref()
            .is_some_and(|dir| dir.as_os_str().is_empty())
        {
            return bad("history_dir must not be empty (leave it unset for memory only)".into());
        }
        if self.disk_history_size == 0 || self.disk_history_bytes < 1 << 16 {
            return bad(
                "disk_history_size must be at least 1 and disk_history_bytes at least 65536".into(),
            );
        }
        for (key, token) in [
            ("publish_token", &self.publish_token),
            ("metrics_token", &self.metrics_token),
        ] {
            if let Some(token) = token {
                if token.is_empty() || token.bytes().any(|b| !(0x21..0x7f).contains(&b)) {
                    return bad(format!("{key} must be printable ASCII without spaces"));
                }
            }
        }
        for host in &self.allowed_hosts {
            if !valid_host_entry(host) {
                return bad(format!(
                    "allowed_hosts: {host:?} is not a host name such as app.example, \
                     a domain such as .app.example, or *"
                ));
            }
        }
        for (key, path) in paths {
            if RESERVED_PATHS.contains(&path.as_str()) {
                return bad(format!("{key}: {path:?} is one of the engine's own paths"));
            }
        }
        check_metrics_bind(self.metrics_bind.as_deref())?;
        check_log_level(self.log_level.as_deref())?;
        check_log_format(&self.log_format)?;
        if self.reconnect_jitter_ms as u64 > MAX_RETRY_MS {
            return bad(format!(
                "reconnect_jitter_ms must be at most {MAX_RETRY_MS}"
            ));
        }
        if let Some(url) = &self.backplane {
            if let Err(e) = backplane::check_url(url) {
                return bad(format!("backplane: {e}"));
            }
            if self.history_dir.is_some() {
                return bad(
                    "backplane and history_dir cannot be used together: with a backplane, \
                     Redis keeps the history (set history_size and history_ttl_ms for its \
                     bounds)"
                        .into(),
                );
            }
        }
        if self.reuse_port && self.backplane.is_none() {
            return bad(
                "reuse_port needs a backplane: engines sharing a port without one would each \
                 see only their own publishes"
                    .into(),
            );
        }
        for origin in &self.cors_origins {
            if origin != "*" && !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return bad(format!(
                    "cors_origins: {origin:?} is not an origin such as https://example.com or *"
                ));
            }
        }
        crate::auth::AccessControl::from_config(self)?;
        Ok(())
    }
}

/// The shortest keep-alive interval accepted (but 0, which turns them off), in
/// milliseconds: every stream is woken four times per interval, so a tiny one
/// would keep the engine busy with idle streams.
const MIN_KEEPALIVE_MS: u64 = 1000;

fn keepalive_too_short(value: &str) -> Error {
    Error::new(
        ErrorKind::InvalidConfig,
        format!("keepalive_ms: expected 0 (off) or at least {MIN_KEEPALIVE_MS}, got {value:?}"),
    )
}

/// The shortest connection deadline accepted, in milliseconds.
const MIN_DEADLINE_MS: u64 = 100;
/// The longest connection deadline accepted, in milliseconds (one day).
const MAX_DEADLINE_MS: u64 = 86_400_000;

impl Config {
    /// `head_timeout_ms` as a duration.
    pub(crate) fn head_timeout(&self) -> Duration {
        Duration::from_millis(self.head_timeout_ms)
    }

    /// `idle_timeout_ms` as a duration.
    pub(crate) fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    /// `body_timeout_ms` as a duration.
    pub(crate) fn body_timeout(&self) -> Duration {
        Duration::from_millis(self.body_timeout_ms)
    }

    /// `write_timeout_ms` as a duration.
    pub(crate) fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write_timeout_ms)
    }

    /// True when `publish` returns only once its event is on disk
    /// (`history_dir` with `history_sync = always`): hosts call it off threads
    /// that must not wait (Python releases the GIL around it).
    pub fn publish_waits_for_disk(&self) -> bool {
        self.history_dir.is_some() && self.history_sync == HistorySync::Always
    }

    /// True when `publish` waits for a reply: from the disk
    /// ([`Config::publish_waits_for_disk`]) or from Redis (`backplane`, one
    /// round trip per publish). Hosts call it off threads that must not wait.
    pub fn publish_waits(&self) -> bool {
        self.publish_waits_for_disk() || self.backplane.is_some()
    }

    /// The address to bind, from a configuration that passed [`Config::validate`]
    /// (loopback if `bind` does not parse).
    pub(crate) fn bind_ip(&self) -> IpAddr {
        self.bind
            .parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
    }
}

/// The longest a long-poll may wait: five minutes, longer than proxies and
/// load balancers keep an idle request open.
const MAX_POLL_TIMEOUT_MS: u64 = 300_000;

/// Where the browser client is served when `client_script` is on.
pub(crate) const CLIENT_SCRIPT_PATH: &str = "/ssecast.js";

fn boolean(key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(Error::new(
            ErrorKind::InvalidConfig,
            format!("{key}: expected true or false, got {value:?}"),
        )),
    }
}

/// Path of the Prometheus metrics.
pub(crate) const METRICS_PATH: &str = "/metrics";
/// Path of the readiness probe.
pub(crate) const READY_PATH: &str = "/readyz";
/// Path of the dashboard page, when one is configured.
pub(crate) const DASHBOARD_PATH: &str = "/dashboard";

/// Paths the engine serves by itself, which no configurable path may take.
const RESERVED_PATHS: [&str; 3] = [METRICS_PATH, READY_PATH, DASHBOARD_PATH];

/// The longest `reconnect_jitter_ms`: an hour.
const MAX_RETRY_MS: u64 = 3_600_000;

/// The levels `log_level` accepts.
pub(crate) const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

fn check_metrics_bind(value: Option<&str>) -> Result<()> {
    match value {
        Some(text) if text.parse::<std::net::SocketAddr>().is_err() => Err(Error::new(
            ErrorKind::InvalidConfig,
            format!(
                "metrics_bind: {text:?} is not an address such as 127.0.0.1:9090 or [::1]:9090"
            ),
        )),
        _ => Ok(()),
    }
}

fn check_log_level(value: Option<&str>) -> Result<()> {
    match value {
        Some(level) if !LOG_LEVELS.contains(&level) => Err(Error::new(
            ErrorKind::InvalidConfig,
            format!(
                "log_level: {level:?} is not a level; use one of {}",
                LOG_LEVELS.join(", ")
            ),
        )),
        _ => Ok(()),
    }
}

fn check_log_format(value: &str) -> Result<()> {
    if value != "text" && value != "json" {
        return Err(Error::new(
            ErrorKind::InvalidConfig,
            format!("log_format: {value:?} is not a format; use text or json"),
        ));
    }
    Ok(())
}

fn parse(key: &str, value: &str, min: u64, max: u64) -> Result<u64> {
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Error::new(
            ErrorKind::InvalidConfig,
            format!("{key}: expected a whole number from {min} to {max}, got {value:?}"),
        )),
    }
}

/// A comma-separated list, without empty items.
fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A value that is absent when empty.
fn optional(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

/// An `allowed_hosts` entry: `*`, a host name, or `.domain`.
fn valid_host_entry(entry: &str) -> bool {
    let name = entry.strip_prefix('.').unwrap_or(entry);
    entry == "*"
        || (!name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
}

fn non_empty(key: &str, value: &str) -> Result<String> {
    if value.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidConfig,
            format!("{key} must not be empty"),
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_round_trips() {
        let defaults = Config::default();
        for key in KEYS {
            let value = defaults.get(key.name).expect(key.name);
            let mut config = Config::default();
            config.set(key.name, &value).expect(key.name);
            assert_eq!(config, defaults, "{}", key.name);
        }
    }

    #[test]
    fn keys_lists_every_settable_key() {
        let listed: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
        let fields = serde_json::to_value(Config::default()).unwrap();
        for field in fields.as_object().unwrap().keys() {
            assert!(listed.contains(&field.as_str()), "KEYS lacks {field}");
        }
        assert_eq!(listed.len(), fields.as_object().unwrap().len());
    }

    #[test]
    fn errors_name_the_key() {
        let mut config = Config::default();
        let err = config.set("nope", "1").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.message().contains("nope"));
        let err = config.set("port", "70000").unwrap_err();
        assert!(err.message().contains("port"), "{}", err.message());
        for short in ["1", "999"] {
            let err = config.set("keepalive_ms", short).unwrap_err();
            assert!(err.message().contains("at least 1000"), "{}", err.message());
        }
        config.set("keepalive_ms", "0").unwrap();
        config.set("keepalive_ms", "1000").unwrap();
        let err = config.set("history_size", "-1").unwrap_err();
        assert!(err.message().contains("history_size"));
        let err = config.set("history_sync", "sometimes").unwrap_err();
        assert!(
            err.message().contains("always, batch or none"),
            "{}",
            err.message()
        );
        assert!(config.set("disk_history_bytes", "100").is_err());
        assert!(config.set("bind", "").is_err());
    }

    #[test]
    fn validate_checks_relations() {
        let mut config = Config::default();
        config.set("publish_path", "/events").unwrap();
        assert!(config
            .validate()
            .unwrap_err()
            .message()
            .contains("publish_path"));
        let mut config = Config::default();
        config.set("bind", "localhost:80").unwrap();
        assert!(config.validate().is_err());
        let mut config = Config::default();
        config.set("cors_origins", "example.com").unwrap();
        assert!(config.validate().is_err());
        config
            .set("cors_origins", "https://a.example, http://b.example:8080")
            .unwrap();
        assert_eq!(config.cors_origins.len(), 2);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn flags_and_poll_timeout() {
        let flags: Vec<&str> = KEYS
            .iter()
            .filter(|k| k.is_flag())
            .map(|k| k.name)
            .collect();
        assert_eq!(flags, ["client_script", "jwt_query_token", "reuse_port"]);
        let mut config = Config::default();
        for (text, value) in [
            ("true", true),
            ("0", false),
            ("TRUE", true),
            ("false", false),
        ] {
            config.set("client_script", text).unwrap();
            assert_eq!(config.client_script, value, "{text}");
        }
        let err = config.set("client_script", "yes please").unwrap_err();
        assert!(err.message().contains("client_script"), "{}", err.message());
        config.set("poll_timeout_ms", "0").unwrap();
        config.set("poll_timeout_ms", "300000").unwrap();
        let err = config.set("poll_timeout_ms", "300001").unwrap_err();
        assert!(
            err.message().contains("poll_timeout_ms"),
            "{}",
            err.message()
        );
        config.poll_timeout_ms = u64::MAX;
        assert!(
            config.validate().is_err(),
            "a struct literal is bounded too"
        );
    }

    #[test]
    fn the_client_script_path_is_reserved_when_served() {
        let mut config = Config::default();
        config.set("health_path", "/ssecast.js").unwrap();
        assert!(config.validate().is_ok());
        config.set("client_script", "true").unwrap();
        let err = config.validate().unwrap_err();
        assert!(err.message().contains("health_path"), "{}", err.message());
    }

    #[test]
    fn debug_shows_every_key_but_no_secret() {
        let mut config = Config::default();
        config.set("publish_token", "pub-s3cret").unwrap();
        config
            .set("jwt_secret", "jwt-s3cret-0123456789abcdef0123456789")
            .unwrap();
        config.set("metrics_token", "metrics-s3cret").unwrap();
        config.set("cors_origins", "https://a.example").unwrap();
        let text = format!("{config:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("publish_token: \"<redacted>\""), "{text}");
        assert!(text.contains("jwt_secret: \"<redacted>\""), "{text}");
        assert!(text.contains("metrics_token: \"<redacted>\""), "{text}");
        assert!(
            text.contains("cors_origins: [\"https://a.example\"]"),
            "{text}"
        );
        for key in KEYS {
            assert!(
                text.contains(&format!("{}: ", key.name)),
                "{text} lacks {}",
                key.name
            );
        }
        for secret in SECRET_KEYS {
            assert!(
                KEYS.iter().any(|k| k.name == *secret),
                "{secret} is not a key"
            );
        }
        let unset = format!("{:?}", Config::default());
        assert!(unset.contains("publish_token: null"), "{unset}");
        let alternate = format!("{config:#?}");
        assert!(!alternate.contains("s3cret"), "{alternate}");
    }

    #[test]
    fn allowed_hosts_entries_are_checked() {
        for good in ["*", "app.example", ".app.example", "x-1.example,LOCAL.test"] {
            let mut config = Config::default();
            config.set("allowed_hosts", good).unwrap();
            assert!(config.validate().is_ok(), "{good}");
        }
        for bad in [
            ".",
            "http://app.example",
            "app.example:80",
            "a b",
            "*.example",
        ] {
            let mut config = Config::default();
            config.set("allowed_hosts", bad).unwrap();
            let err = config.validate().unwrap_err();
            assert!(err.message().contains("allowed_hosts"), "{bad}");
        }
    }

    #[test]
    fn durable_history_keys() {
        let mut config = Config::default();
        assert_eq!(config.history_dir, None, "memory only by default");
        assert_eq!(config.history_sync, HistorySync::Batch);
        config.set("history_dir", "/var/lib/ssecast").unwrap();
        config.set("history_sync", "always").unwrap();
        assert_eq!(config.get("history_dir").unwrap(), "/var/lib/ssecast");
        assert_eq!(config.get("history_sync").unwrap(), "always");
        config.set("history_dir", "").unwrap();
        assert_eq!(config.history_dir, None);
        let toml_like: Config = serde_json::from_value(serde_json::json!({
            "history_dir": "/data", "history_sync": "none", "disk_history_size": 0
        }))
        .unwrap();
        assert_eq!(toml_like.history_sync, HistorySync::None);
        assert!(toml_like
            .validate()
            .unwrap_err()
            .message()
            .contains("disk_history_size"));
    }

    #[test]
    fn backplane_and_reuse_port() {
        let mut config = Config::default();
        for bad in [
            "http://localhost",
            "redis://h:1/x",
            "localhost:6379",
            "rediss://h:1/0",
        ] {
            let err = config.set("backplane", bad).unwrap_err();
            assert!(err.message().starts_with("backplane: "), "{bad}: {err}");
        }
        let secret = config
            .set("backplane", "redis://:s3cret@h:1/x")
            .unwrap_err();
        assert!(!secret.message().contains("s3cret"), "{secret}");
        config.set("backplane", "redis://127.0.0.1:6379/2").unwrap();
        assert_eq!(config.get("backplane").unwrap(), "redis://127.0.0.1:6379/2");
        assert!(config.validate().is_ok());
        config.set("history_dir", "/var/lib/ssecast").unwrap();
        let both = config.validate().unwrap_err();
        assert!(both.message().contains("cannot be used together"), "{both}");
        config.set("history_dir", "").unwrap();
        config.set("backplane", "").unwrap();
        assert_eq!(config.backplane, None);

        config.set("reuse_port", "true").unwrap();
        assert!(config.reuse_port);
        let alone = config.validate().unwrap_err();
        assert!(alone.message().contains("needs a backplane"), "{alone}");
        assert!(config.set("reuse_port", "maybe").is_err());
    }

    #[test]
    fn deserialises_with_unknown_keys_rejected() {
        let ok: Config =
            serde_json::from_value(serde_json::json!({"port": 0, "cors_origins": ["*"]})).unwrap();
        assert_eq!(ok.port, 0);
        assert_eq!(ok.history_size, Config::default().history_size);
        let bad = serde_json::from_value::<Config>(serde_json::json!({"prot": 1}));
        assert!(bad.unwrap_err().to_string().contains("prot"));
    }
}
