//! Publishers over HTTP: the static `publish_token`, or a token whose `publish`
//! grants cover the topic.
//!
//! The credential is read from `Authorization: Bearer` only: a cookie would let
//! any page the user visits publish in their name (CSRF), and a query string
//! ends up in access logs. It is checked before the request body is read; the
//! topic, which the body names, afterwards with [`Publisher::authorize`].

use http::HeaderMap;
use subtle::ConstantTimeEq;

use super::authorize::{forbidden, Authorizer};
use super::claims::TokenGrants;
use super::extract::bearer;
use super::outcome::{Denial, DenialKind};

/// A publisher whose credential checked out.
#[derive(Debug, Clone)]
pub struct Publisher {
    /// `None`: the static `publish_token`, which may publish on every topic.
    grants: Option<TokenGrants>,
}

impl Publisher {
    /// Checks that this publisher may publish on `topic`: `403 TOPIC_FORBIDDEN`
    /// naming it otherwise.
    pub fn authorize(&self, topic: &str) -> Result<(), Denial> {
        match &self.grants {
            Some(grants) if !grants.may_publish(topic) => Err(forbidden(topic, "publish")),
            _ => Ok(()),
        }
    }
}

/// The publisher the bearer of `headers` proves, given the static token and the
/// token authorizer that are configured.
pub(crate) fn authenticate(
    headers: &HeaderMap,
    static_token: Option<&str>,
    tokens: Option<&Authorizer>,
) -> Result<Publisher, Denial> {
    if static_token.is_none() && tokens.is_none() {
        return Err(Denial::new(
            DenialKind::PublishDisabled,
            "publishing over HTTP is off: configure publish_token, jwt_secret or jwt_public_key",
        ));
    }
    let given = bearer(headers).ok_or_else(|| {
        Denial::new(
            DenialKind::TokenMissing,
            "publishing needs Authorization: Bearer <token>",
        )
    })?;
    if let Some(expected) = static_token {
        // Compared in constant time, so the time taken does not reveal the token.
        if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            return Ok(Publisher { grants: None });
        }
    }
    match tokens {
        Some(tokens) => Ok(Publisher {
            grants: Some(tokens.verify(given)?),
        }),
        None => Err(Denial::new(
            DenialKind::TokenInvalid,
            "the bearer is not the publish_token",
        )),
    }
}
