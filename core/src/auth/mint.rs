//! Engine-minted tokens, so a host application needs no JWT library: its own
//! route authenticates the user its own way, mints a subscriber token for the
//! user's topics and hands it to the page.
//!
//! Tokens are signed with `jwt_secret`, using the first HMAC algorithm of
//! `jwt_algorithms` (HS256 by default), and carry `iat`, `exp`, the
//! configured `jwt_issuer` and `jwt_audience`, an optional `sub`, and the
//! grants in the `ssecast` claim, so they pass this engine's verification.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::claims::GrantClaim;
use super::keys::KeySet;
use super::pattern::{safe_subject, TopicPattern};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};

/// The longest subject accepted, in bytes.
const MAX_SUBJECT_BYTES: usize = 1024;

/// Mints HS256 (or the configured HMAC algorithm) tokens with `jwt_secret`.
pub struct TokenMinter {
    key: EncodingKey,
    algorithm: Algorithm,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for TokenMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenMinter")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct MintedClaims<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    iat: u64,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
    ssecast: GrantClaim,
}

impl TokenMinter {
    /// A minter for the secret of `config`. Fails with
    /// [`ErrorKind::InvalidConfig`] when `jwt_secret` is not set or the
    /// configuration of access control is invalid.
    pub fn from_config(config: &Config) -> Result<TokenMinter> {
        let Some((secret, algorithms)) = KeySet::from_config(config)?.and_then(|k| k.secret) else {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "minting tokens needs jwt_secret",
            ));
        };
        let key = EncodingKey::from_secret(&secret)
            .map_err(|e| Error::new(ErrorKind::InvalidConfig, format!("jwt_secret: {e}")))?;
        Ok(TokenMinter {
            key,
            algorithm: algorithms[0],
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
        })
    }

    /// A token that lets its holder subscribe to the topics matched by
    /// `topics` (patterns: exact, `*`, trailing `**`, `{sub}`) for `ttl`.
    ///
    /// Errors: [`ErrorKind::InvalidTopic`] for an empty list, a malformed
    /// pattern, or `{sub}` without a `subject`; [`ErrorKind::InvalidData`] for a
    /// `ttl` under one second or a `subject` that is empty, over 1024 bytes, holds
    /// a control character, or (with `{sub}`) holds `/`, `*`, `{`, `}` or is `.`
    /// or `..`.
    pub fn subscriber_token<T: AsRef<str>>(
        &self,
        topics: &[T],
        ttl: Duration,
        subject: Option<&str>,
    ) -> Result<String> {
        let grants = GrantClaim {
            subscribe: Some(patterns(topics, subject)?),
            publish: None,
        };
        self.mint(grants, ttl, subject)
    }

    /// A token that lets its holder publish over HTTP on the topics matched by
    /// `topics` for `ttl`. Errors as [`subscriber_token`](Self::subscriber_token)
    /// (there is no subject, so no `{sub}`).
    pub fn publisher_token<T: AsRef<str>>(&self, topics: &[T], ttl: Duration) -> Result<String> {
        let grants = GrantClaim {
            subscribe: None,
            publish: Some(patterns(topics, None)?),
        };
        self.mint(grants, ttl, None)
    }

    fn mint(&self, grants: GrantClaim, ttl: Duration, subject: Option<&str>) -> Result<String> {
        let invalid = |message: String| Error::new(ErrorKind::InvalidData, message);
        if ttl < Duration::from_secs(1) {
            return Err(invalid(format!(
                "ttl must be at least one second, got {ttl:?}"
            )));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::new(ErrorKind::Internal, "the system clock is before 1970"))?
            .as_secs();
        let exp = now
            .checked_add(ttl.as_secs())
            .ok_or_else(|| invalid(format!("ttl {ttl:?} is too long")))?;
        let claims = MintedClaims {
            sub: subject,
            iat: now,
            exp,
            iss: self.issuer.as_deref(),
            aud: self.audience.as_deref(),
            ssecast: grants,
        };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, &self.key)
            .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot sign a token: {e}")))
    }
}

/// A token lifetime given in seconds, as Python and Node take it: a finite,
/// non-negative number ([`ErrorKind::InvalidData`] otherwise). Minting then
/// asks for at least one second.
pub fn ttl_from_secs_f64(secs: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(secs).map_err(|_| {
        Error::new(
            ErrorKind::InvalidData,
            format!("ttl must be a finite number of seconds, at least 1, got {secs}"),
        )
    })
}

/// Checks `topics` as patterns and `subject` against them.
fn patterns<T: AsRef<str>>(topics: &[T], subject: Option<&str>) -> Result<Vec<String>> {
    if let Some(sub) = subject {
        if sub.is_empty() || sub.len() > MAX_SUBJECT_BYTES || sub.chars().any(char::is_control) {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!(
                    "subject must be 1 to {MAX_SUBJECT_BYTES} bytes without control characters"
                ),
            ));
        }
    }
    if topics.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidTopic,
            "a token needs at least one topic pattern",
        ));
    }
    topics
        .iter()
        .map(|text| {
            let text = text.as_ref();
            let pattern = TopicPattern::parse(text).map_err(|reason| {
                Error::new(
                    ErrorKind::InvalidTopic,
                    format!("topic pattern {text:?}: {reason}"),
                )
            })?;
            if pattern.uses_subject() {
                match subject {
                    None => {
                        return Err(Error::new(
                            ErrorKind::InvalidTopic,
                            format!("topic pattern {text:?} uses {{sub}}, but no subject is given"),
                        ))
                    }
                    Some(sub) if !safe_subject(sub) => {
                        return Err(Error::new(
                            ErrorKind::InvalidData,
                            format!(
                                "subject {sub:?} cannot stand for {{sub}} in {text:?} \
                                 (no /, *, braces, . or ..)"
                            ),
                        ))
                    }
                    Some(_) => {}
                }
            }
            Ok(pattern.as_str().to_owned())
        })
        .collect()
}
