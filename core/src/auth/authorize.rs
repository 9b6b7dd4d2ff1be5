//! Token-based authorization of subscribe and publish requests.
//!
//! A topic matched by a `public_topics` pattern needs no token. A request for
//! public topics only is granted without looking at any token, so a stale
//! cookie never breaks a public page. Any other topic needs a token that
//! verifies and whose `subscribe` grants cover it; the answer names the first
//! topic that is not covered. Publishers are checked in `publisher`.

use super::claims::TokenGrants;
use super::extract::{RequestParts, TokenPlaces};
use super::keys::KeySet;
use super::outcome::{Denial, DenialKind, Grant};
use super::pattern::TopicPattern;
use super::verify::{TokenError, Verifier};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};

/// Checks subscriber and publisher tokens; exists only when a key is configured.
pub(crate) struct Authorizer {
    verifier: Verifier,
    public: Vec<TopicPattern>,
    places: TokenPlaces,
}

impl Authorizer {
    /// The authorizer of `config`; `None` when neither `jwt_secret` nor
    /// `jwt_public_key` is set.
    pub(crate) fn from_config(config: &Config) -> Result<Option<Authorizer>> {
        let keys = KeySet::from_config(config)?;
        let public = config
            .public_topics
            .iter()
            .map(|text| public_pattern(text))
            .collect::<Result<Vec<_>>>()?;
        check_cookie_name(&config.jwt_cookie)?;
        let Some(keys) = keys else {
            let unused = [
                ("public_topics", !public.is_empty()),
                ("jwt_issuer", config.jwt_issuer.is_some()),
                ("jwt_audience", config.jwt_audience.is_some()),
            ];
            if let Some((key, _)) = unused.iter().find(|(_, set)| *set) {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!(
                        "{key} is set, but authorization is off (every topic is public): \
                         set jwt_secret or jwt_public_key"
                    ),
                ));
            }
            return Ok(None);
        };
        Ok(Some(Authorizer {
            verifier: Verifier::new(keys, config),
            public,
            places: TokenPlaces {
                cookie: (!config.jwt_cookie.is_empty()).then(|| config.jwt_cookie.clone()),
                query: config.jwt_query_token,
            },
        }))
    }

    /// Grants a stream of `topics` when each is public or covered by the
    /// token's `subscribe` grants.
    pub(crate) fn authorize_subscribe<T: AsRef<str>>(
        &self,
        request: &RequestParts<'_>,
        topics: &[T],
    ) -> Result<Grant, Denial> {
        let mut private = topics
            .iter()
            .map(AsRef::as_ref)
            .filter(|topic| !self.public.iter().any(|p| p.matches(topic, None)))
            .peekable();
        let Some(first) = private.peek().copied() else {
            return Ok(Grant::default());
        };
        let token = self.places.find(request).ok_or_else(|| {
            Denial::new(
                DenialKind::TokenMissing,
                format!("topic {first:?} needs a token ({})", self.describe_places()),
            )
        })?;
        let grants = self.verify(&token)?;
        if let Some(topic) = private.find(|topic| !grants.may_subscribe(topic)) {
            return Err(forbidden(topic, "subscribe"));
        }
        Ok(grant(grants))
    }

    /// Verifies `token`: its grants, or a `401` denial saying what was wrong.
    pub(crate) fn verify(&self, token: &str) -> Result<TokenGrants, Denial> {
        self.verifier.verify(token).map_err(|e| {
            let kind = match e {
                TokenError::Expired => DenialKind::TokenExpired,
                TokenError::TooLarge => DenialKind::TokenTooLarge,
                _ => DenialKind::TokenInvalid,
            };
            Denial::new(kind, e.describe())
        })
    }

    fn describe_places(&self) -> String {
        let mut places = vec!["Authorization: Bearer".to_owned()];
        if let Some(name) = &self.places.cookie {
            places.push(format!("the {name} cookie"));
        }
        if self.places.query {
            places.push("the token query parameter".into());
        }
        places.join(", ")
    }
}

fn grant(grants: TokenGrants) -> Grant {
    Grant {
        subject: grants.subject,
        expires_at: grants.expires_at,
    }
}

/// `403 TOPIC_FORBIDDEN` naming `topic` and the `action` not granted on it.
pub(crate) fn forbidden(topic: &str, action: &str) -> Denial {
    Denial::new(
        DenialKind::TopicForbidden,
        format!("the token does not grant {action} on topic {topic:?}"),
    )
}

fn public_pattern(text: &str) -> Result<TopicPattern> {
    let bad = |reason: String| {
        Error::new(
            ErrorKind::InvalidConfig,
            format!("public_topics: {text:?} {reason}"),
        )
    };
    let pattern = TopicPattern::parse(text).map_err(bad)?;
    if pattern.uses_subject() {
        return Err(bad(
            "uses {sub}, which public topics have no token for".into()
        ));
    }
    Ok(pattern)
}

/// A cookie name is an RFC 6265 token: visible ASCII without separators.
fn check_cookie_name(name: &str) -> Result<()> {
    let separator = |c: char| "()<>@,;:\\\"/[]?={} \t".contains(c);
    if name.chars().all(|c| c.is_ascii_graphic() && !separator(c)) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidConfig,
        format!("jwt_cookie: {name:?} is not a cookie name (letters, digits and !#$%&'*+-.^_`|~)"),
    ))
}
