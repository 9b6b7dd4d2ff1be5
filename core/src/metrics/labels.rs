//! The label values of the engine's metric families. Every one is a fixed,
//! small set, so no family grows with the number of topics, clients or ids.

use prometheus_client::encoding::EncodeLabelSet;

/// How a stream reaches its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Transport {
    /// HTTP/1.x, served by the fast path.
    Http1,
    /// HTTP/1.x, served by hyper (a stream request that is not the first of
    /// its connection, or one the fast path handed over).
    Http1Hyper,
    /// HTTP/2 (h2c), served by hyper.
    Http2,
    /// A long-poll (`transport=poll`), over any HTTP version.
    Poll,
    /// An in-app subscription (`Engine::subscribe`), read by the host program.
    InApp,
}

impl Transport {
    /// Every transport, in the order of [`Transport::index`].
    pub(crate) const ALL: [Transport; 5] = [
        Transport::Http1,
        Transport::Http1Hyper,
        Transport::Http2,
        Transport::Poll,
        Transport::InApp,
    ];

    /// The `transport` label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Transport::Http1 => "http1",
            Transport::Http1Hyper => "http1_hyper",
            Transport::Http2 => "http2",
            Transport::Poll => "poll",
            Transport::InApp => "inapp",
        }
    }

    /// The position in [`Transport::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Why a stream request was refused before its stream opened (access control
/// counts its own refusals: see `Metrics::auth_refused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Refusal {
    /// A malformed request: bad topic, too many topics for one stream,
    /// over-long id.
    BadRequest,
    /// An origin not in `cors_origins`.
    Origin,
    /// A `Host` the engine does not serve (`421`).
    Host,
    /// `max_connections` streams were open.
    MaxConnections,
    /// A new topic past `max_topics`.
    MaxTopics,
    /// The engine is draining: the client was told to reconnect elsewhere.
    Draining,
    /// The engine is stopping.
    Stopping,
}

impl Refusal {
    /// Every reason, in the order of [`Refusal::index`].
    pub(crate) const ALL: [Refusal; 7] = [
        Refusal::BadRequest,
        Refusal::Origin,
        Refusal::Host,
        Refusal::MaxConnections,
        Refusal::MaxTopics,
        Refusal::Draining,
        Refusal::Stopping,
    ];

    /// The `reason` label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Refusal::BadRequest => "bad_request",
            Refusal::Origin => "origin",
            Refusal::Host => "host",
            Refusal::MaxConnections => "max_connections",
            Refusal::MaxTopics => "max_topics",
            Refusal::Draining => "draining",
            Refusal::Stopping => "stopping",
        }
    }

    /// The position in [`Refusal::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Why access control refused a request. Every reason is exported from the
/// start (at zero), so that an alert can tell "none yet" from "no data".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum AuthFailure {
    /// No token where one is needed.
    TokenMissing,
    /// A token that is malformed, badly signed, or for another issuer,
    /// audience or purpose (a wrong publish token included).
    TokenInvalid,
    /// An expired token.
    TokenExpired,
    /// A token over the size bound.
    TokenTooLarge,
    /// A valid token that does not grant a topic asked for.
    TopicForbidden,
    /// `POST /publish` while HTTP publishing has no credential configured.
    PublishDisabled,
}

impl AuthFailure {
    /// Every reason, in the order of [`AuthFailure::index`].
    pub(crate) const ALL: [AuthFailure; 6] = [
        AuthFailure::TokenMissing,
        AuthFailure::TokenInvalid,
        AuthFailure::TokenExpired,
        AuthFailure::TokenTooLarge,
        AuthFailure::TopicForbidden,
        AuthFailure::PublishDisabled,
    ];

    /// The `reason` label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AuthFailure::TokenMissing => "token_missing",
            AuthFailure::TokenInvalid => "token_invalid",
            AuthFailure::TokenExpired => "token_expired",
            AuthFailure::TokenTooLarge => "token_too_large",
            AuthFailure::TopicForbidden => "topic_forbidden",
            AuthFailure::PublishDisabled => "publish_disabled",
        }
    }

    /// The position in [`AuthFailure::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Which per-address limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RateLimit {
    /// `connection_rate_per_ip`: streams opened too fast.
    ConnectionRate,
    /// `max_connections_per_ip`: too many streams open at once.
    ConnectionsPerAddress,
}

impl RateLimit {
    /// Every limit, in the order of [`RateLimit::index`].
    pub(crate) const ALL: [RateLimit; 2] =
        [RateLimit::ConnectionRate, RateLimit::ConnectionsPerAddress];

    /// The `reason` label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RateLimit::ConnectionRate => "connection_rate",
            RateLimit::ConnectionsPerAddress => "connections_per_address",
        }
    }

    /// The position in [`RateLimit::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// The state of the backplane (the Redis link of a scaled-out engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum BackplaneState {
    /// No backplane is configured.
    None = 0,
    /// The backplane answers.
    Up = 1,
    /// The backplane is configured but unreachable: `/readyz` answers 503.
    Unreachable = 2,
}

impl BackplaneState {
    /// The state stored as `value` by [`BackplaneState`]'s `u8` form.
    pub(crate) fn from_u8(value: u8) -> BackplaneState {
        match value {
            1 => BackplaneState::Up,
            2 => BackplaneState::Unreachable,
            _ => BackplaneState::None,
        }
    }
}

/// The label set `{transport="..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct TransportLabel {
    pub(crate) transport: &'static str,
}

/// The label set `{reason="..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(crate) struct ReasonLabel {
    pub(crate) reason: &'static str,
}
