//! [`AccessControl`]: the one object an HTTP entry asks, built once from the
//! configuration.

use std::net::IpAddr;

use http::HeaderMap;

use super::authorize::Authorizer;
use super::client_address::{ForwardedHeader, TrustedProxies};
use super::extract::RequestParts;
use super::limits::{ConnectionSlot, IpLimits};
use super::outcome::{Denial, Grant};
use super::publisher::{self, Publisher};
use crate::config::Config;
use crate::error::Result;

/// Access control for event streams and HTTP publishing: per-address limits,
/// then token authorization; the publisher's credential.
///
/// For `GET /events`, in this order (the cheap refusals first):
///
/// ```
/// # use ssecast::{AccessControl, Config, RequestParts};
/// # let access = AccessControl::from_config(&Config::default())?;
/// # let headers = http::HeaderMap::new();
/// # let peer: std::net::IpAddr = "192.0.2.1".parse().unwrap();
/// # let topics = ["news"];
/// let client = access.client_address(peer, &headers);
/// let slot = access.admit_stream(client); // 429 + Retry-After when refused
/// let grant = access.authorize_subscribe(&RequestParts::new(&headers, Some("topic=news")), &topics);
/// // Keep `slot` as long as the stream; end the stream at `grant.expires_at()`.
/// # let (_slot, _grant) = (slot.unwrap(), grant.unwrap());
/// # Ok::<(), ssecast::Error>(())
/// ```
///
/// A [`Denial`] becomes the response: its status, its headers
/// ([`Denial::apply_headers`]) and `{"error": message, "code": code}`.
pub struct AccessControl {
    publish_token: Option<String>,
    tokens: Option<Authorizer>,
    proxies: TrustedProxies,
    limits: IpLimits,
}

impl AccessControl {
    /// Reads and checks the access-control keys of `config` (reading
    /// `jwt_public_key = @path` from disk). Fails with
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) naming the key.
    pub fn from_config(config: &Config) -> Result<AccessControl> {
        let header = ForwardedHeader::parse(&config.trusted_proxy_header)?;
        Ok(AccessControl {
            publish_token: config.publish_token.clone(),
            tokens: Authorizer::from_config(config)?,
            proxies: TrustedProxies::new(&config.trusted_proxies, header)?,
            limits: IpLimits::from_config(config),
        })
    }

    /// True when tokens are checked (`jwt_secret` or `jwt_public_key` is set).
    pub fn tokens_enabled(&self) -> bool {
        self.tokens.is_some()
    }

    /// The client's address: `peer`, or what a trusted proxy forwarded for.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        self.proxies.client_address(peer, headers)
    }

    /// Counts a new stream from `client` against `connection_rate_per_ip` and
    /// `max_connections_per_ip`. Hold the slot for the stream's lifetime.
    pub fn admit_stream(&self, client: IpAddr) -> Result<ConnectionSlot, Denial> {
        self.limits.admit(client)
    }

    /// Decides whether `request` may stream `topics`. With authorization off,
    /// always an anonymous grant.
    pub fn authorize_subscribe<T: AsRef<str>>(
        &self,
        request: &RequestParts<'_>,
        topics: &[T],
    ) -> Result<Grant, Denial> {
        match &self.tokens {
            Some(tokens) => tokens.authorize_subscribe(request, topics),
            None => Ok(Grant::default()),
        }
    }

    /// Checks the `Authorization: Bearer` of a publish request: the static
    /// `publish_token` (every topic), else, with authorization on, a token
    /// (its `publish` grants, checked per topic with
    /// [`Publisher::authorize`]). `401` for a missing or bad bearer;
    /// `403 PUBLISH_DISABLED` when neither `publish_token` nor a key is set.
    pub fn authenticate_publisher(&self, headers: &HeaderMap) -> Result<Publisher, Denial> {
        publisher::authenticate(headers, self.publish_token.as_deref(), self.tokens.as_ref())
    }
}
