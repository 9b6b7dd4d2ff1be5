//! Cross-origin checks for browser pages served from another origin.

use http::header::ORIGIN;
use http::{HeaderMap, HeaderValue, StatusCode};

use super::response::Answer;

/// Response headers a cross-origin page may read beyond the CORS-safelisted
/// ones.
const EXPOSED_HEADERS: &str = "Retry-After";

/// What the engine answers to a request's `Origin`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Cors {
    /// No `Origin`, or the engine's own origin: no CORS headers needed.
    SameOrigin,
    /// A listed origin, echoed back with credentials allowed.
    Listed(HeaderValue),
    /// Any origin is allowed (`*`), without credentials.
    Any,
    /// An origin that is not allowed.
    Refused,
}

/// Decides how to answer the request's `Origin` given the allowlist. `host` is
/// the request's host when the engine serves it by name or address (see
/// [`Host`](super::hosts::Host)): only such a host makes an `Origin` naming it
/// the engine's own; a host allowed only by `allowed_hosts = *` could be any
/// name an attacker pointed at the engine.
pub(crate) fn check(allowed: &[String], headers: &HeaderMap, host: Option<&str>) -> Cors {
    let Some(origin) = headers.get(ORIGIN) else {
        return Cors::SameOrigin;
    };
    let Ok(text) = origin.to_str() else {
        return Cors::Refused;
    };
    if let Some(host) = host {
        let own = text
            .strip_prefix("http://")
            .or_else(|| text.strip_prefix("https://"));
        if own.is_some_and(|own| own.eq_ignore_ascii_case(host)) {
            return Cors::SameOrigin;
        }
    }
    if allowed.iter().any(|a| a == text) {
        return Cors::Listed(origin.clone());
    }
    if allowed.iter().any(|a| a == "*") {
        return Cors::Any;
    }
    Cors::Refused
}

/// The answer to a request from an origin that is not allowed.
pub(crate) fn refused() -> Answer {
    Answer::error(
        StatusCode::FORBIDDEN,
        "ORIGIN_REFUSED",
        "origin is not allowed",
    )
}

impl Cors {
    /// Adds the `Access-Control-*` headers of a simple request's response,
    /// exposing to the page the headers a client reads besides the simple ones
    /// (`Retry-After`, to wait as long as a `503` or `429` asks).
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        match self {
            Cors::Listed(origin) => {
                headers.insert("access-control-allow-origin", origin.clone());
                headers.insert(
                    "access-control-allow-credentials",
                    HeaderValue::from_static("true"),
                );
                headers.insert("vary", HeaderValue::from_static("Origin"));
            }
            Cors::Any => {
                headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
            }
            Cors::SameOrigin | Cors::Refused => return,
        }
        headers.insert(
            "access-control-expose-headers",
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }

    /// Adds the headers of a preflight response on top of [`Cors::apply`].
    pub(crate) fn apply_preflight(&self, headers: &mut HeaderMap) {
        self.apply(headers);
        headers.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        headers.insert(
            "access-control-allow-headers",
            HeaderValue::from_static("Authorization, Content-Type, Last-Event-ID, Cache-Control"),
        );
        headers.insert("access-control-max-age", HeaderValue::from_static("600"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(o) = origin {
            h.insert(ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn decides_by_origin() {
        let list = vec!["https://app.example".to_string()];
        let own = Some("h:1");
        assert_eq!(check(&list, &headers(None), own), Cors::SameOrigin);
        assert_eq!(
            check(&list, &headers(Some("http://h:1")), own),
            Cors::SameOrigin
        );
        assert!(matches!(
            check(&list, &headers(Some("https://app.example")), own),
            Cors::Listed(_)
        ));
        assert_eq!(
            check(&list, &headers(Some("https://evil.example")), own),
            Cors::Refused
        );
        assert_eq!(
            check(&["*".into()], &headers(Some("https://x.example")), own),
            Cors::Any
        );
        assert_eq!(check(&[], &headers(Some("null")), own), Cors::Refused);
    }

    #[test]
    fn an_unchecked_host_is_never_the_own_origin() {
        let rebinding = headers(Some("http://attacker.example:8080"));
        assert_eq!(check(&[], &rebinding, None), Cors::Refused);
    }
}
