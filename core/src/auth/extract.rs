//! Where a subscriber's token travels, checked in this order:
//!
//! 1. `Authorization: Bearer <token>` (fetch-based clients, servers). Another
//!    scheme (`Basic ...`) is not a token and is passed over.
//! 2. The cookie named by `jwt_cookie` (`EventSource` with `withCredentials`).
//! 3. The `token` query parameter, unless `jwt_query_token` is off (the only
//!    way a plain `EventSource` can carry one).
//!
//! The first place that holds a token decides: a bad header token is not
//! rescued by a good cookie. The text is not checked here; verification
//! refuses an oversized or malformed one.

use std::borrow::Cow;

use http::header::{AUTHORIZATION, COOKIE};
use http::HeaderMap;

/// The parts of an HTTP request that access control reads.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The request's headers.
    pub headers: &'a HeaderMap,
    /// The raw query string (after `?`), if any.
    pub query: Option<&'a str>,
}

impl<'a> RequestParts<'a> {
    /// The parts of a request with these headers and raw query string.
    pub fn new(headers: &'a HeaderMap, query: Option<&'a str>) -> Self {
        RequestParts { headers, query }
    }
}

/// The bearer token of an `Authorization` header, if it holds one. A header
/// that is not visible ASCII yields an empty, hence malformed, token.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get_all(AUTHORIZATION).iter().find_map(|value| {
        let value = value.as_bytes();
        let split = value.iter().position(|b| *b == b' ').unwrap_or(value.len());
        let (scheme, rest) = value.split_at(split);
        if !scheme.eq_ignore_ascii_case(b"bearer") {
            return None;
        }
        Some(std::str::from_utf8(rest).map_or("", str::trim))
    })
}

/// The value of the first cookie called `name` in the request's `Cookie`
/// headers (HTTP/2 may split them into several). Pairs without `=` and bytes
/// that are not UTF-8 are passed over; a value in double quotes loses them.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|value| value.as_bytes().split(|b| *b == b';'))
        .find_map(|pair| {
            let eq = pair.iter().position(|b| *b == b'=')?;
            let (key, value) = (pair[..eq].trim_ascii(), pair[eq + 1..].trim_ascii());
            if key != name.as_bytes() {
                return None;
            }
            let value = value
                .strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
                .unwrap_or(value);
            std::str::from_utf8(value).ok()
        })
}

/// The first `token` query parameter, percent-decoded.
pub(crate) fn query_token(query: &str) -> Option<Cow<'_, str>> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value)
}

/// Where access control looks for a subscriber's token.
#[derive(Debug, Clone)]
pub(crate) struct TokenPlaces {
    /// The cookie's name; `None` reads no cookie.
    pub(crate) cookie: Option<String>,
    /// Whether the `token` query parameter is read.
    pub(crate) query: bool,
}

impl TokenPlaces {
    /// The subscriber's token, from the first place that holds one.
    pub(crate) fn find<'a>(&self, request: &RequestParts<'a>) -> Option<Cow<'a, str>> {
        if let Some(token) = bearer(request.headers) {
            return Some(Cow::Borrowed(token));
        }
        if let Some(token) = self
            .cookie
            .as_deref()
            .and_then(|name| cookie(request.headers, name))
        {
            return Some(Cow::Borrowed(token));
        }
        if self.query {
            return request.query.and_then(query_token);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn places() -> TokenPlaces {
        TokenPlaces {
            cookie: Some("ssecast_token".into()),
            query: true,
        }
    }

    #[test]
    fn bearer_header_is_read_case_insensitively() {
        assert_eq!(
            bearer(&headers(&[("authorization", "Bearer abc")])),
            Some("abc")
        );
        assert_eq!(
            bearer(&headers(&[("authorization", "bearer  abc ")])),
            Some("abc")
        );
        assert_eq!(bearer(&headers(&[("authorization", "Bearer")])), Some(""));
        assert_eq!(
            bearer(&headers(&[("authorization", "Basic dXNlcjpw")])),
            None
        );
        assert_eq!(bearer(&headers(&[("authorization", "Bearerabc")])), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
        let mut map = HeaderMap::new();
        map.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        );
        assert_eq!(
            bearer(&map),
            Some(""),
            "undecodable bytes are a malformed token"
        );
    }

    #[test]
    fn cookies_are_found_among_hundreds_and_odd_pairs() {
        let mut value: String = (0..500).map(|i| format!("c{i}=v{i}; ")).collect();
        value.push_str("junk; =x; ;; ssecast_token_old=no; a=b=c; ssecast_token=\"tok.en\"; ssecast_token=second");
        let map = headers(&[("cookie", &value)]);
        assert_eq!(cookie(&map, "ssecast_token"), Some("tok.en"));
        assert_eq!(cookie(&map, "a"), Some("b=c"));
        assert_eq!(cookie(&map, "c499"), Some("v499"));
        assert_eq!(cookie(&map, "missing"), None);
        assert_eq!(cookie(&map, "junk"), None, "a pair without = is no cookie");
        assert_eq!(cookie(&headers(&[("cookie", "t=\"")]), "t"), Some("\""));
        // HTTP/2 may send each cookie in its own header field.
        let split = headers(&[("cookie", "a=1"), ("cookie", "ssecast_token=x")]);
        assert_eq!(cookie(&split, "ssecast_token"), Some("x"));
        let mut map = HeaderMap::new();
        map.insert(COOKIE, HeaderValue::from_bytes(b"t=\xff; u=ok").unwrap());
        assert_eq!(cookie(&map, "t"), None);
        assert_eq!(cookie(&map, "u"), Some("ok"));
    }

    #[test]
    fn query_token_is_decoded() {
        assert_eq!(
            query_token("topic=a&token=x.y%2Dz").as_deref(),
            Some("x.y-z")
        );
        assert_eq!(
            query_token("token=first&token=second").as_deref(),
            Some("first")
        );
        assert_eq!(query_token("topic=a"), None);
    }

    #[test]
    fn header_beats_cookie_beats_query() {
        let both = headers(&[
            ("authorization", "Bearer from-header"),
            ("cookie", "ssecast_token=from-cookie"),
        ]);
        let query = Some("token=from-query");
        assert_eq!(
            places().find(&RequestParts::new(&both, query)).as_deref(),
            Some("from-header")
        );
        let cookie_only = headers(&[("cookie", "ssecast_token=from-cookie")]);
        assert_eq!(
            places()
                .find(&RequestParts::new(&cookie_only, query))
                .as_deref(),
            Some("from-cookie")
        );
        let none = HeaderMap::new();
        assert_eq!(
            places().find(&RequestParts::new(&none, query)).as_deref(),
            Some("from-query")
        );
        let off = TokenPlaces {
            cookie: None,
            query: false,
        };
        assert_eq!(off.find(&RequestParts::new(&cookie_only, query)), None);
        assert_eq!(
            off.find(&RequestParts::new(&both, query)).as_deref(),
            Some("from-header"),
            "the header is always read"
        );
    }
}
