//! The `Host` check, once per request: a browser page served from another
//! name that resolves to the engine (DNS rebinding) sends that name as its
//! `Host`, so requests naming a host the engine does not serve are refused
//! with `421`, and only a host the engine serves may stand for "same origin".
//!
//! Always served: IP addresses (a browser sends one only when its URL names
//! that address) and `localhost` names; `allowed_hosts` adds names (`name`, or
//! `.domain` for the domain and its subdomains) or allows any host (`*`). The
//! port is not part of the check.

use std::net::IpAddr;

use http::header::HOST;
use http::{HeaderMap, StatusCode, Uri};

use super::response::Answer;

/// What a request's host is to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    /// A host the engine serves by name or address: `authority` (as sent,
    /// with its port) may be compared with the request's `Origin`.
    Served { authority: String, loopback: bool },
    /// Allowed only because `allowed_hosts` holds `*`, or no host was named:
    /// it proves nothing about the origin.
    Unchecked,
    /// A host the engine does not serve.
    Refused(String),
}

impl Host {
    /// The host of a request: its `Host` header, or the authority of its URI
    /// (HTTP/2), checked against `allowed`.
    pub(crate) fn of(allowed: &[String], uri: &Uri, headers: &HeaderMap) -> Host {
        let authority = match headers.get(HOST) {
            Some(value) => match value.to_str() {
                Ok(text) => text.trim().to_owned(),
                Err(_) => return Host::Refused(String::from_utf8_lossy(value.as_bytes()).into()),
            },
            None => match uri.authority() {
                Some(authority) => authority.as_str().to_owned(),
                None => return Host::Unchecked,
            },
        };
        let name = hostname(&authority).to_ascii_lowercase();
        let name = name.strip_suffix('.').unwrap_or(&name);
        if let Some(loopback) = always_served(name) {
            return Host::Served {
                authority,
                loopback,
            };
        }
        if allowed.iter().any(|entry| names(entry, name)) {
            return Host::Served {
                authority,
                loopback: false,
            };
        }
        if allowed.iter().any(|entry| entry == "*") {
            return Host::Unchecked;
        }
        Host::Refused(authority)
    }

    /// The authority to compare with `Origin`, for a host the engine serves.
    pub(crate) fn served_authority(&self) -> Option<&str> {
        match self {
            Host::Served { authority, .. } => Some(authority),
            _ => None,
        }
    }

    /// True for a loopback name or address (`localhost`, `127.0.0.1`, `[::1]`).
    pub(crate) fn is_loopback(&self) -> bool {
        matches!(self, Host::Served { loopback: true, .. })
    }

    /// The answer to a request whose host is refused, if it is.
    pub(crate) fn refusal(&self) -> Option<Answer> {
        let Host::Refused(authority) = self else {
            return None;
        };
        Some(Answer::error(
            StatusCode::MISDIRECTED_REQUEST,
            "HOST_NOT_ALLOWED",
            format!("host {authority:?} is not served here (allowed_hosts)"),
        ))
    }
}

/// The host name or address of an authority, without its port or brackets.
fn hostname(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match authority.rsplit_once(':') {
        // More than one colon: an IPv6 address without brackets, no port.
        Some((name, _)) if !name.contains(':') => name,
        _ => authority,
    }
}

/// `Some(loopback)` for a host every engine serves: an IP address, or a
/// `localhost` name.
fn always_served(name: &str) -> Option<bool> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Some(ip.is_loopback());
    }
    (name == "localhost" || name.ends_with(".localhost")).then_some(true)
}

/// True when `entry` of `allowed_hosts` names `name`.
fn names(entry: &str, name: &str) -> bool {
    let (name, entry) = (name.as_bytes(), entry.as_bytes());
    match entry.strip_prefix(b".") {
        // `.domain`: the domain itself, or a name ending in `.domain`.
        Some(domain) if name.len() > domain.len() => {
            let (sub, tail) = name.split_at(name.len() - domain.len());
            sub.ends_with(b".") && tail.eq_ignore_ascii_case(domain)
        }
        Some(domain) => name.eq_ignore_ascii_case(domain),
        None => name.eq_ignore_ascii_case(entry),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(allowed: &[&str], value: &str) -> Host {
        let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
        let mut headers = HeaderMap::new();
        headers.insert(HOST, value.parse().unwrap());
        Host::of(&allowed, &Uri::from_static("/events"), &headers)
    }

    fn served(allowed: &[&str], value: &str) -> bool {
        host(allowed, value).served_authority() == Some(value)
    }

    #[test]
    fn addresses_and_localhost_are_always_served() {
        for value in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "[::1]:8080",
            "localhost:1",
            "LocalHost.",
            "app.localhost:3",
            "10.0.0.5:80",
            "[2001:db8::1]",
        ] {
            assert!(served(&[], value), "{value}");
        }
        assert!(host(&[], "localhost:8080").is_loopback());
        assert!(host(&[], "[::1]").is_loopback());
        assert!(!host(&[], "10.0.0.5").is_loopback());
    }

    #[test]
    fn other_names_need_allowed_hosts() {
        assert_eq!(
            host(&[], "attacker.example:8080"),
            Host::Refused("attacker.example:8080".into())
        );
        assert!(host(&[], "evil.example").refusal().is_some());
        assert!(served(&["app.example"], "APP.example:8080"));
        assert!(!served(&["app.example"], "x.app.example"));
        assert!(served(&[".app.example"], "x.app.example"));
        assert!(served(&[".app.example"], "app.example"));
        assert!(!served(&[".app.example"], "xapp.example"));
        assert!(!served(&[".app.example"], "localhost.app.example.evil"));
        assert_eq!(host(&["*"], "attacker.example"), Host::Unchecked);
        assert!(host(&["*"], "attacker.example").refusal().is_none());
    }

    #[test]
    fn http2_uses_the_authority_and_no_host_is_unchecked() {
        let uri: Uri = "http://localhost:9/events".parse().unwrap();
        assert!(Host::of(&[], &uri, &HeaderMap::new()).is_loopback());
        let uri: Uri = "http://evil.example/events".parse().unwrap();
        assert!(Host::of(&[], &uri, &HeaderMap::new()).refusal().is_some());
        assert_eq!(
            Host::of(&[], &Uri::from_static("/events"), &HeaderMap::new()),
            Host::Unchecked
        );
    }
}
