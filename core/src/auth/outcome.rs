//! What access control answers: a [`Grant`] to go ahead, or a [`Denial`] that
//! knows its HTTP status, its headers, a stable code and a message.

use std::fmt;
use std::time::SystemTime;

use http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};

/// Permission to go ahead, and for how long.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    pub(crate) subject: Option<String>,
    pub(crate) expires_at: Option<SystemTime>,
}

impl Grant {
    /// The token's `sub` claim; `None` for an anonymous grant (authorization
    /// off, or only public topics asked for) or a token without one.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// When the token that gave this grant stops being accepted (its `exp` plus
    /// the leeway): a stream opened with it ends then, after what was published
    /// before. `None`: no end (anonymous, public topics only, or a token without
    /// `exp`).
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DenialKind {
    /// A topic needs a token and none was presented (`401`).
    TokenMissing,
    /// The token is malformed, badly signed, not yet valid, or for another
    /// issuer or audience (`401`).
    TokenInvalid,
    /// The token has expired (`401`): get a fresh one and reconnect.
    TokenExpired,
    /// The token is longer than the bound (`401`).
    TokenTooLarge,
    /// The token does not grant a topic asked for (`403`).
    TopicForbidden,
    /// HTTP publishing has no credential configured (`403`).
    PublishDisabled,
    /// The client's address opened streams faster than `connection_rate_per_ip` (`429`).
    RateLimited,
    /// The client's address holds `max_connections_per_ip` streams (`429`).
    TooManyConnections,
}

impl DenialKind {
    /// The HTTP status to answer with.
    pub fn status(self) -> StatusCode {
        match self {
            DenialKind::TokenMissing
            | DenialKind::TokenInvalid
            | DenialKind::TokenExpired
            | DenialKind::TokenTooLarge => StatusCode::UNAUTHORIZED,
            DenialKind::TopicForbidden | DenialKind::PublishDisabled => StatusCode::FORBIDDEN,
            DenialKind::RateLimited | DenialKind::TooManyConnections => {
                StatusCode::TOO_MANY_REQUESTS
            }
        }
    }

    /// A stable upper-case code for the JSON error body.
    pub fn code(self) -> &'static str {
        match self {
            DenialKind::TokenMissing => "TOKEN_MISSING",
            DenialKind::TokenInvalid => "TOKEN_INVALID",
            DenialKind::TokenExpired => "TOKEN_EXPIRED",
            DenialKind::TokenTooLarge => "TOKEN_TOO_LARGE",
            DenialKind::TopicForbidden => "TOPIC_FORBIDDEN",
            DenialKind::PublishDisabled => "PUBLISH_DISABLED",
            DenialKind::RateLimited => "RATE_LIMITED",
            DenialKind::TooManyConnections => "TOO_MANY_CONNECTIONS_FROM_ADDRESS",
        }
    }
}

/// A refused request: answer it with [`status`](Denial::status), the headers
/// of [`apply_headers`](Denial::apply_headers) and the JSON body
/// `{"error": message, "code": code}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    kind: DenialKind,
    message: String,
    retry_after_secs: Option<u64>,
}

impl Denial {
    pub(crate) fn new(kind: DenialKind, message: impl Into<String>) -> Denial {
        Denial {
            kind,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    pub(crate) fn retry_after(mut self, secs: u64) -> Denial {
        self.retry_after_secs = Some(secs.max(1));
        self
    }

    /// Why the request was refused.
    pub fn kind(&self) -> DenialKind {
        self.kind
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The stable code of the JSON error body.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// What was wrong, naming the topic or the limit; never the token.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// For `429`: seconds until a retry can succeed.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_secs
    }

    /// Adds the headers this answer needs: `WWW-Authenticate` (RFC 6750:
    /// `invalid_token` with a description for a missing or bad token, so a
    /// client tells every `401` apart by the one error code;
    /// `insufficient_scope` for a topic outside the grants) and `Retry-After`
    /// for `429`.
    pub fn apply_headers(&self, headers: &mut HeaderMap) {
        let challenge = match self.kind {
            DenialKind::TokenMissing
            | DenialKind::TokenInvalid
            | DenialKind::TokenExpired
            | DenialKind::TokenTooLarge => Some(format!(
                "Bearer realm=\"ssecast\", error=\"invalid_token\", error_description=\"{}\"",
                quotable(&self.message)
            )),
            DenialKind::TopicForbidden => {
                Some("Bearer realm=\"ssecast\", error=\"insufficient_scope\"".to_owned())
            }
            _ => None,
        };
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        if let Some(secs) = self.retry_after_secs {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Denial {}

/// `text` with what RFC 6750 does not allow in `error_description` replaced.
fn quotable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(denial: &Denial) -> HeaderMap {
        let mut map = HeaderMap::new();
        denial.apply_headers(&mut map);
        map
    }

    #[test]
    fn missing_token_is_an_invalid_token_too() {
        let d = Denial::new(DenialKind::TokenMissing, "topic \"a\" needs a token");
        assert_eq!(d.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            headers(&d)[WWW_AUTHENTICATE],
            "Bearer realm=\"ssecast\", error=\"invalid_token\", \
             error_description=\"topic 'a' needs a token\""
        );
    }

    #[test]
    fn invalid_token_is_described_in_a_valid_header() {
        let d = Denial::new(DenialKind::TokenExpired, "the \"token\" has expired\\é");
        assert_eq!(d.code(), "TOKEN_EXPIRED");
        assert_eq!(
            headers(&d)[WWW_AUTHENTICATE],
            "Bearer realm=\"ssecast\", error=\"invalid_token\", \
             error_description=\"the 'token' has expired'?\""
        );
    }

    #[test]
    fn forbidden_and_limited_answers() {
        let d = Denial::new(DenialKind::TopicForbidden, "no");
        assert_eq!(d.status(), StatusCode::FORBIDDEN);
        assert!(headers(&d)[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("insufficient_scope"));
        let d = Denial::new(DenialKind::RateLimited, "slow down").retry_after(0);
        assert_eq!(d.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers(&d)[RETRY_AFTER], "1", "never Retry-After: 0");
        assert!(headers(&d).get(WWW_AUTHENTICATE).is_none());
        assert_eq!(d.to_string(), "slow down");
    }
}
