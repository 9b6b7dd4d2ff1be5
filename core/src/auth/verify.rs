//! Token verification with `jsonwebtoken`: signature, algorithm allowlist,
//! `exp` and `nbf` when present, `iss` and `aud`.
//!
//! `exp` is optional, as in Mercure's tokens: a token without one does not
//! expire (and neither does a stream opened with it).
//!
//! The key is chosen by the algorithm the token names, and only among the
//! algorithms allowed for that key, so a token can never pick a key of another
//! family. Times are checked with [`LEEWAY`] of tolerance for clock skew. A
//! token carrying `aud` is refused unless `jwt_audience` is set and listed in it
//! (RFC 7519 §4.1.3). With `jwt_issuer` or `jwt_audience` set, a token must
//! carry that claim with that value.

use std::time::{Duration, SystemTime};

use jsonwebtoken::errors::ErrorKind as JwtError;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::claims::{Claims, TokenGrants};
use super::keys::KeySet;
use crate::config::Config;

/// The longest token read; longer ones are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Tolerance for the clocks of the token's issuer and of the engine, applied to
/// `exp` and `nbf`. A stream ends when its token would no longer be accepted,
/// that is `exp` plus this.
pub const LEEWAY: Duration = Duration::from_secs(30);

/// Why a token was refused. The texts never quote the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    TooLarge,
    Malformed,
    AlgorithmNotAllowed,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    BadClaims,
}

impl TokenError {
    /// What was wrong, in words fit for an `error_description`.
    pub(crate) fn describe(self) -> String {
        match self {
            TokenError::TooLarge => format!("the token is longer than {MAX_TOKEN_BYTES} bytes"),
            TokenError::Malformed => "the token is not a well-formed signed JWT".into(),
            TokenError::AlgorithmNotAllowed => {
                "the token's algorithm is not accepted (jwt_algorithms)".into()
            }
            TokenError::BadSignature => "the token's signature does not verify".into(),
            TokenError::Expired => "the token has expired".into(),
            TokenError::NotYetValid => "the token is not valid yet (nbf)".into(),
            TokenError::WrongIssuer => "the token's issuer is not accepted (jwt_issuer)".into(),
            TokenError::WrongAudience => {
                "the token's audience is not accepted (jwt_audience)".into()
            }
            TokenError::BadClaims => {
                "the token's claims are malformed (sub must be a string; ssecast and mercure \
                 grants must be lists of strings)"
                    .into()
            }
        }
    }
}

/// Verifies tokens against the configured keys.
pub(crate) struct Verifier {
    /// One key per family, with the validation that allows only its algorithms.
    keys: Vec<(DecodingKey, Validation)>,
}

impl Verifier {
    /// A verifier for `keys`, checking the issuer and audience of `config`.
    pub(crate) fn new(keys: KeySet, config: &Config) -> Verifier {
        let validation = |algorithms: Vec<Algorithm>| {
            let mut v = Validation {
                algorithms,
                leeway: LEEWAY.as_secs(),
                validate_nbf: true,
                ..Validation::default()
            };
            // exp is checked when present (validate_exp), not required.
            v.required_spec_claims.remove("exp");
            // jsonwebtoken checks iss and aud only when present: require them.
            if let Some(issuer) = &config.jwt_issuer {
                v.set_issuer(&[issuer]);
                v.required_spec_claims.insert("iss".into());
            }
            if let Some(audience) = &config.jwt_audience {
                v.set_audience(&[audience]);
                v.required_spec_claims.insert("aud".into());
            }
            v
        };
        let mut entries = Vec::with_capacity(2);
        if let Some((secret, algorithms)) = keys.secret {
            // The secret's length was checked with the configuration.
            if let Ok(key) = DecodingKey::from_secret(&secret) {
                entries.push((key, validation(algorithms)));
            }
        }
        if let Some((key, algorithms)) = keys.public {
            entries.push((key, validation(algorithms)));
        }
        Verifier { keys: entries }
    }

    /// Verifies `token` and returns what it grants.
    pub(crate) fn verify(&self, token: &str) -> Result<TokenGrants, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        let (key, validation) = self
            .keys
            .iter()
            .find(|(_, v)| v.algorithms.contains(&header.alg))
            .ok_or(TokenError::AlgorithmNotAllowed)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, validation).map_err(|e| {
            match e.into_kind() {
                JwtError::InvalidSignature => TokenError::BadSignature,
                JwtError::ExpiredSignature => TokenError::Expired,
                JwtError::ImmatureSignature => TokenError::NotYetValid,
                JwtError::InvalidIssuer => TokenError::WrongIssuer,
                JwtError::InvalidAudience => TokenError::WrongAudience,
                JwtError::InvalidAlgorithm => TokenError::AlgorithmNotAllowed,
                JwtError::MissingRequiredClaim(claim) if claim == "iss" => TokenError::WrongIssuer,
                JwtError::MissingRequiredClaim(_) => TokenError::WrongAudience,
                JwtError::Json(_) | JwtError::InvalidClaimFormat(_) => TokenError::BadClaims,
                _ => TokenError::Malformed,
            }
        })?;
        let grants = TokenGrants::from_claims(data.claims, LEEWAY);
        // jsonwebtoken compares whole seconds; a stream opened now would end at
        // once, so the grant's own end decides.
        if grants
            .expires_at
            .is_some_and(|end| end <= SystemTime::now())
        {
            return Err(TokenError::Expired);
        }
        Ok(grants)
    }
}
