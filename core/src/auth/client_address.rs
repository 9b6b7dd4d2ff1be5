//! The client's address: the peer of the TCP connection, or, when the peer is
//! a trusted proxy, the address that proxy says it forwarded for.
//!
//! With `trusted_proxies` set, the header named by `trusted_proxy_header`
//! (`X-Forwarded-For` by default, or RFC 7239 `Forwarded`) is read from the
//! right: each hop a trusted proxy added is believed, and the first address
//! that is not a trusted proxy is the client. Addresses further left were
//! written by the client itself and are never believed. A hop that is not an
//! address (`unknown`, an obfuscated `_name`, garbage) stops the walk at the
//! last address known, the proxy that passed it on. Only one header is read:
//! a proxy appends to its own header and passes the other through unchanged,
//! so reading both would let a client forge its address.

use std::net::{IpAddr, SocketAddr};

use http::header::FORWARDED;
use http::HeaderMap;
use ipnet::IpNet;

use crate::error::{Error, ErrorKind, Result};

/// The header a trusted proxy writes the client's address into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

impl ForwardedHeader {
    /// Parses a `trusted_proxy_header` value.
    pub(crate) fn parse(value: &str) -> Result<ForwardedHeader> {
        if value.eq_ignore_ascii_case("x-forwarded-for") {
            Ok(ForwardedHeader::XForwardedFor)
        } else if value.eq_ignore_ascii_case("forwarded") {
            Ok(ForwardedHeader::Forwarded)
        } else {
            Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "trusted_proxy_header: expected x-forwarded-for or forwarded, got {value:?}"
                ),
            ))
        }
    }
}

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone)]
pub(crate) struct TrustedProxies {
    networks: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    /// Parses `trusted_proxies` entries: CIDRs (`10.0.0.0/8`, `fd00::/8`) or
    /// single addresses.
    pub(crate) fn new(entries: &[String], header: ForwardedHeader) -> Result<TrustedProxies> {
        let networks = entries
            .iter()
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| {
                        Error::new(
                            ErrorKind::InvalidConfig,
                            format!(
                                "trusted_proxies: {entry:?} is not an address or a CIDR such as 10.0.0.0/8"
                            ),
                        )
                    })
            })
            .collect::<Result<_>>()?;
        Ok(TrustedProxies { networks, header })
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a connection from `peer` with `headers`.
    pub(crate) fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let hops = match self.header {
            ForwardedHeader::XForwardedFor => x_forwarded_for(headers),
            ForwardedHeader::Forwarded => forwarded(headers),
        };
        for hop in hops.into_iter().rev() {
            match hop {
                Some(ip) => client = ip.to_canonical(),
                None => break,
            }
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// The hops of every `X-Forwarded-For` header, left to right.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| value.as_bytes().split(|b| *b == b','))
        .map(|hop| std::str::from_utf8(hop).ok().and_then(node))
        .collect()
}

/// The `for=` hops of every `Forwarded` header, left to right; an element
/// without `for=` is an unknown hop.
fn forwarded(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all(FORWARDED)
        .iter()
        .flat_map(|value| split_outside_quotes(value.as_bytes(), b','))
        .map(for_node)
        .collect()
}

/// The address of the `for=` pair of one `Forwarded` element.
fn for_node(element: &[u8]) -> Option<IpAddr> {
    let pair = split_outside_quotes(element, b';')
        .into_iter()
        .find_map(|pair| {
            let pair = pair.trim_ascii();
            let key = pair.get(..4)?;
            key.eq_ignore_ascii_case(b"for=").then(|| &pair[4..])
        })?;
    let value = unquote(pair);
    std::str::from_utf8(&value).ok().and_then(node)
}

/// Splits at `separator` except inside a quoted string (RFC 9110 §5.6.4).
fn split_outside_quotes(text: &[u8], separator: u8) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, &b) in text.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            _ if b == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A token or a quoted string with its escapes removed.
fn unquote(value: &[u8]) -> Vec<u8> {
    let Some(inner) = value
        .strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
    else {
        return value.to_vec();
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut escaped = false;
    for &b in inner {
        if b == b'\\' && !escaped {
            escaped = true;
        } else {
            out.push(b);
            escaped = false;
        }
    }
    out
}

/// A node as proxies write it: `192.0.2.1`, `192.0.2.1:8080`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:8080`. Anything else is `None`.
fn node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    text.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .and_then(|t| t.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(entries: &[&str], header: ForwardedHeader) -> TrustedProxies {
        let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        TrustedProxies::new(&entries, header).unwrap()
    }

    fn headers(name: &str, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn untrusted_peers_are_taken_at_their_word_only() {
        let p = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        let h = headers("x-forwarded-for", &["1.2.3.4"]);
        assert_eq!(p.client_address(ip("192.0.2.9"), &h), ip("192.0.2.9"));
        let none = proxies(&[], ForwardedHeader::XForwardedFor);
        assert_eq!(none.client_address(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let p = proxies(&["10.0.0.0/8", "192.0.2.7"], ForwardedHeader::XForwardedFor);
        // The client forged "6.6.6.6"; nginx appended the real peer 1.2.3.4;
        // an inner proxy 192.0.2.7 appended itself.
        let h = headers("x-forwarded-for", &["6.6.6.6, 1.2.3.4", "192.0.2.7"]);
        assert_eq!(p.client_address(ip("10.1.2.3"), &h), ip("1.2.3.4"));
        // No header: the proxy itself.
        assert_eq!(
            p.client_address(ip("10.1.2.3"), &HeaderMap::new()),
            ip("10.1.2.3")
        );
        // Every hop trusted: the left-most.
        let h = headers("x-forwarded-for", &["10.9.9.9, 192.0.2.7"]);
        assert_eq!(p.client_address(ip("10.1.2.3"), &h), ip("10.9.9.9"));
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_understood() {
        let p = proxies(&["127.0.0.1", "::1"], ForwardedHeader::XForwardedFor);
        let h = headers("x-forwarded-for", &["[2001:db8::5]:4711"]);
        assert_eq!(
            p.client_address(ip("::ffff:127.0.0.1"), &h),
            ip("2001:db8::5")
        );
        let h = headers("x-forwarded-for", &["203.0.113.9:80"]);
        assert_eq!(p.client_address(ip("::1"), &h), ip("203.0.113.9"));
        let h = headers("x-forwarded-for", &["::ffff:203.0.113.9"]);
        assert_eq!(p.client_address(ip("::1"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn garbage_stops_at_the_last_known_hop() {
        let p = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        for value in [
            "1.2.3.4, garbage",
            "1.2.3.4, unknown, 10.0.0.2",
            "1.2.3.4,,",
            "\u{7f}",
        ] {
            let Ok(value) = http::HeaderValue::from_str(value) else {
                continue;
            };
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-for", value);
            let client = p.client_address(ip("10.0.0.1"), &h);
            assert!(
                client == ip("10.0.0.1") || client == ip("10.0.0.2"),
                "{client}"
            );
        }
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            http::HeaderValue::from_bytes(b"1.2.3.4, \xff").unwrap(),
        );
        assert_eq!(p.client_address(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn rfc_7239_forwarded_is_parsed_with_quotes_and_obfuscation() {
        let p = proxies(&["10.0.0.0/8"], ForwardedHeader::Forwarded);
        let h = headers(
            "forwarded",
            &["for=6.6.6.6, For=\"[2001:db8:cafe::17]:4711\";proto=https;by=10.0.0.1"],
        );
        assert_eq!(
            p.client_address(ip("10.0.0.1"), &h),
            ip("2001:db8:cafe::17")
        );
        let h = headers("forwarded", &["for=192.0.2.60;proto=http, for=10.0.0.3"]);
        assert_eq!(p.client_address(ip("10.0.0.1"), &h), ip("192.0.2.60"));
        let h = headers("forwarded", &["for=unknown, for=10.0.0.3"]);
        assert_eq!(p.client_address(ip("10.0.0.1"), &h), ip("10.0.0.3"));
        let h = headers("forwarded", &["for=_hidden"]);
        assert_eq!(p.client_address(ip("10.0.0.1"), &h), ip("10.0.0.1"));
        let h = headers("forwarded", &["for=\"1.2.3.4, 5.6.7.8\"; by=x"]);
        assert_eq!(
            p.client_address(ip("10.0.0.1"), &h),
            ip("10.0.0.1"),
            "a comma inside quotes"
        );
        let h = headers("forwarded", &["proto=https"]);
        assert_eq!(p.client_address(ip("10.0.0.1"), &h), ip("10.0.0.1"));
        let h = headers("forwarded", &["for=\"\\[::1\\]\""]);
        assert_eq!(
            p.client_address(ip("10.0.0.1"), &h),
            ip("::1"),
            "quoted-pair escapes"
        );
    }

    #[test]
    fn only_the_configured_header_is_believed() {
        let both = {
            let mut h = headers("x-forwarded-for", &["1.1.1.1"]);
            h.insert(FORWARDED, "for=2.2.2.2".parse().unwrap());
            h
        };
        let xff = proxies(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor);
        assert_eq!(xff.client_address(ip("10.0.0.1"), &both), ip("1.1.1.1"));
        let fwd = proxies(&["10.0.0.0/8"], ForwardedHeader::Forwarded);
        assert_eq!(fwd.client_address(ip("10.0.0.1"), &both), ip("2.2.2.2"));
    }

    #[test]
    fn bad_entries_are_named() {
        let e =
            TrustedProxies::new(&["10.0.0.0/33".into()], ForwardedHeader::Forwarded).unwrap_err();
        assert!(e.message().contains("10.0.0.0/33"), "{e}");
        assert!(TrustedProxies::new(&["nginx".into()], ForwardedHeader::Forwarded).is_err());
        assert!(ForwardedHeader::parse("X-Real-IP").is_err());
        assert_eq!(
            ForwardedHeader::parse("X-Forwarded-For").unwrap(),
            ForwardedHeader::XForwardedFor
        );
    }
}
