//! The engine's HTTP server, from accept to the write of each batch.
//!
//! - [`accept`]: the accept loop; each connection's first bytes decide whether
//!   the HTTP/1 fast path or hyper serves it;
//! - [`fast_path`]: HTTP/1 event streams without a general-purpose HTTP stack:
//!   one vectored write per batch, straight from the shared frames;
//! - [`routes`]: every other request, served by hyper (HTTP/1 and h2c);
//! - [`stream_request`]: turns a stream request (URI and headers) into a ready
//!   stream or an error answer; both the fast path and hyper call it;
//! - [`poll`]: long-poll answers (`transport=poll`), for both paths;
//! - [`client_script`]: `GET /ssecast.js`, the browser client;
//! - [`publish`] and [`publish_form`]: `POST /publish`; [`urlencoded`]: form
//!   and query text, decoded without altering invalid UTF-8;
//! - [`ops`] and [`ops_listener`]: `GET /metrics` and `/readyz`, on the main
//!   port or on the `metrics_bind` listener;
//! - [`hosts`]: the `Host` check (`421` for a host the engine does not serve)
//!   and [`cors`]: the cross-origin decision, each taken once per request;
//! - [`refusal`]: access-control refusals (`401`, `403`, `429`) as answers;
//! - [`deadline`]: how long a connection served by hyper may wait for its
//!   first request, and stay open with none in flight;
//! - [`response`]: answers, written by hyper or by the fast path;
//! - [`prefixed`]: puts the bytes the fast path read back in front of hyper;
//! - [`shared`]: what every connection shares (the hub, the configuration and
//!   access control);
//! - [`watchdog`]: closes what hyper serves when its client stops taking bytes
//!   or falls behind the history (the fast path watches its own writes).

mod accept;
mod client_script;
mod cors;
mod deadline;
mod fast_path;
mod hosts;
mod ops;
mod ops_listener;
mod poll;
mod prefixed;
mod publish;
mod publish_form;
mod refusal;
mod response;
mod routes;
mod shared;
mod stream_request;
mod urlencoded;
mod watchdog;

pub(crate) use accept::serve;
pub(crate) use ops_listener::serve_ops;
pub(crate) use shared::Shared;
