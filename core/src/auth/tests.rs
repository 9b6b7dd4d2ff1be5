//! Access control end to end, against tokens made by PyJWT and keys made by
//! openssl (fixtures/, see its README), and against tokens this engine mints.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{AUTHORIZATION, COOKIE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;

use super::*;
use crate::config::Config;
use crate::error::ErrorKind;

const TOKENS: &str = include_str!("fixtures/tokens.json");
const RSA: &str = include_str!("fixtures/rsa_public.pem");
const EC: &str = include_str!("fixtures/ec_public.pem");
const ED: &str = include_str!("fixtures/ed25519_public.pem");

/// 2100-01-01T00:00:00Z, the `exp` of the fixtures that do not expire.
const FAR: u64 = 4_102_444_800;

#[derive(Deserialize)]
struct Fixtures {
    secret: String,
    issuer: String,
    audience: String,
    tokens: std::collections::HashMap<String, Fixture>,
}

#[derive(Deserialize)]
struct Fixture {
    token: String,
}

fn fixtures() -> Fixtures {
    serde_json::from_str(TOKENS).unwrap()
}

fn token(name: &str) -> String {
    let fixtures = fixtures();
    fixtures.tokens[name].token.clone()
}

fn control(pairs: &[(&str, &str)]) -> AccessControl {
    let mut config = Config::default();
    for (key, value) in pairs {
        config.set(key, value).unwrap();
    }
    config.validate().unwrap();
    AccessControl::from_config(&config).unwrap()
}

fn hmac_access(extra: &[(&str, &str)]) -> AccessControl {
    let secret = fixtures().secret;
    let mut pairs = vec![("jwt_secret", secret.as_str())];
    pairs.extend_from_slice(extra);
    control(&pairs)
}

fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    headers
}

fn subscribe(
    access: &AccessControl,
    headers: &HeaderMap,
    topics: &[&str],
) -> Result<Grant, Denial> {
    access.authorize_subscribe(&RequestParts::new(headers, None), topics)
}

fn subscribe_with(access: &AccessControl, token: &str, topics: &[&str]) -> Result<Grant, Denial> {
    subscribe(access, &bearer(token), topics)
}

fn denied(result: Result<Grant, Denial>) -> Denial {
    match result {
        Ok(grant) => panic!("granted: {grant:?}"),
        Err(denial) => denial,
    }
}

fn may_publish(access: &AccessControl, token: &str, topic: &str) -> Result<(), Denial> {
    access
        .authenticate_publisher(&bearer(token))?
        .authorize(topic)
}

fn far_expiry() -> Option<SystemTime> {
    Some(UNIX_EPOCH + Duration::from_secs(FAR) + TOKEN_LEEWAY)
}

#[test]
fn authorization_is_off_by_default() {
    let access = control(&[]);
    assert!(!access.tokens_enabled());
    let grant = subscribe(&access, &HeaderMap::new(), &["user/43/notifications"]).unwrap();
    assert_eq!(grant, Grant::default());
    let denial = access
        .authenticate_publisher(&bearer("anything"))
        .unwrap_err();
    assert_eq!(
        (denial.status(), denial.code()),
        (StatusCode::FORBIDDEN, "PUBLISH_DISABLED")
    );
}

#[test]
fn every_algorithm_fixture_verifies_with_its_key() {
    let secret = fixtures().secret;
    let cases: [(&str, &str, &str); 6] = [
        ("hs256", "jwt_secret", &secret),
        ("rs256", "jwt_public_key", RSA),
        ("ps256", "jwt_public_key", RSA),
        ("es256", "jwt_public_key", EC),
        ("eddsa", "jwt_public_key", ED),
        ("hs384", "jwt_secret", &secret),
    ];
    for (name, key, value) in cases {
        let mut pairs = vec![(key, value)];
        if name == "hs384" {
            pairs.push(("jwt_algorithms", "HS384"));
        }
        let access = control(&pairs);
        let grant = subscribe_with(&access, &token(name), &["user/42/notifications", "news/x"])
            .unwrap_or_else(|d| panic!("{name}: {d}"));
        assert_eq!(grant.subject(), Some("42"), "{name}");
        assert_eq!(grant.expires_at(), far_expiry(), "{name}");
        let d = denied(subscribe_with(
            &access,
            &token(name),
            &["user/43/notifications"],
        ));
        assert_eq!(d.status(), StatusCode::FORBIDDEN, "{name}");
    }
}

#[test]
fn a_token_for_one_key_fails_with_another() {
    let access = control(&[("jwt_public_key", EC)]);
    for name in ["rs256", "eddsa", "hs256"] {
        let d = denied(subscribe_with(&access, &token(name), &["news/x"]));
        assert_eq!(d.code(), "TOKEN_INVALID", "{name}");
        assert!(d.message().contains("algorithm"), "{name}: {}", d.message());
    }
}

#[test]
fn algorithm_confusion_is_impossible() {
    for (key, name) in [(RSA, "confusion_rsa"), (EC, "confusion_ec")] {
        let access = control(&[("jwt_public_key", key)]);
        let d = denied(subscribe_with(&access, &token(name), &["news/x"]));
        assert_eq!(
            (d.status(), d.code()),
            (StatusCode::UNAUTHORIZED, "TOKEN_INVALID")
        );
    }
    // Even with a secret configured too, an HMAC token is checked against the
    // secret, never the public key.
    let secret = fixtures().secret;
    let both = control(&[("jwt_secret", &secret), ("jwt_public_key", RSA)]);
    let d = denied(subscribe_with(&both, &token("confusion_rsa"), &["news/x"]));
    assert!(d.message().contains("signature"), "{}", d.message());
    assert!(subscribe_with(&both, &token("hs256"), &["news/x"]).is_ok());
    assert!(subscribe_with(&both, &token("rs256"), &["news/x"]).is_ok());
}

#[test]
fn alg_none_is_refused() {
    let access = hmac_access(&[]);
    for name in ["none", "none_with_signature"] {
        let d = denied(subscribe_with(&access, &token(name), &["news/x"]));
        assert_eq!(d.code(), "TOKEN_INVALID", "{name}");
    }
}

#[test]
fn bad_tokens_get_401_with_a_reason() {
    let access = hmac_access(&[]);
    let cases = [
        ("hs256_wrong_secret", "TOKEN_INVALID", "signature"),
        ("hs256_expired", "TOKEN_EXPIRED", "expired"),
        ("rs256_expired", "TOKEN_INVALID", "algorithm"),
        ("hs256_not_yet_valid", "TOKEN_INVALID", "not valid yet"),
        ("hs256_iss_aud", "TOKEN_INVALID", "audience"),
        ("grants_not_list", "TOKEN_INVALID", "lists of strings"),
        ("grants_numbers", "TOKEN_INVALID", "lists of strings"),
        ("grants_not_object", "TOKEN_INVALID", "lists of strings"),
        ("sub_number", "TOKEN_INVALID", "sub must be a string"),
    ];
    for (name, code, reason) in cases {
        let d = denied(subscribe_with(&access, &token(name), &["news/x"]));
        assert_eq!(
            (d.status(), d.code()),
            (StatusCode::UNAUTHORIZED, code),
            "{name}"
        );
        assert!(d.message().contains(reason), "{name}: {}", d.message());
        let mut headers = HeaderMap::new();
        d.apply_headers(&mut headers);
        let challenge = headers[WWW_AUTHENTICATE].to_str().unwrap();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{name}: {challenge}"
        );
        assert!(
            !challenge.contains(&token(name)[..20]),
            "the token is never echoed"
        );
    }
    let rsa = control(&[("jwt_public_key", RSA)]);
    let d = denied(subscribe_with(&rsa, &token("rs256_expired"), &["news/x"]));
    assert_eq!(d.code(), "TOKEN_EXPIRED");
}

#[test]
fn malformed_tokens_are_refused_without_a_panic() {
    let access = hmac_access(&[]);
    let hs256 = token("hs256");
    let (head, _) = hs256.rsplit_once('.').unwrap();
    let inputs = [
        String::new(),
        "x".into(),
        "a.b".into(),
        "a.b.c".into(),
        "...".into(),
        "ey.ey.ey".into(),
        format!("{head}."),
        format!("{head}.!!!"),
        format!("{hs256}.extra"),
        hs256.replace('.', ""),
        "é.é.é".into(),
        "\u{0}".into(),
    ];
    for input in inputs {
        let d = denied(access.authorize_subscribe(
            &RequestParts::new(
                &HeaderMap::new(),
                Some(&format!("token={}", urlencode(&input))),
            ),
            &["news/x"],
        ));
        assert_eq!(d.status(), StatusCode::UNAUTHORIZED, "{input:?}");
        assert!(d.code() == "TOKEN_INVALID", "{input:?}: {}", d.code());
    }
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[test]
fn oversized_tokens_are_refused_before_parsing() {
    let access = hmac_access(&[]);
    let big = format!("{}.{}.x", "e".repeat(40 * 1024), "e".repeat(24 * 1024));
    assert_eq!(big.len(), 64 * 1024 + 3);
    let d = denied(subscribe_with(&access, &big, &["news/x"]));
    assert_eq!(
        (d.status(), d.code()),
        (StatusCode::UNAUTHORIZED, "TOKEN_TOO_LARGE")
    );
    assert!(d.message().contains("8192"), "{}", d.message());
    // A genuinely valid token over the bound is refused just the same.
    let minter = minter(&[]);
    let topics: Vec<String> = (0..400).map(|i| format!("room/{i:04}/messages")).collect();
    let valid_big = minter
        .subscriber_token(&topics, Duration::from_secs(60), None)
        .unwrap();
    assert!(valid_big.len() > MAX_TOKEN_BYTES);
    let d = denied(subscribe_with(&access, &valid_big, &["room/0001/messages"]));
    assert_eq!(d.code(), "TOKEN_TOO_LARGE");
}

#[test]
fn issuer_and_audience_are_checked_when_configured() {
    let f = fixtures();
    let access = hmac_access(&[("jwt_issuer", &f.issuer), ("jwt_audience", &f.audience)]);
    for name in ["hs256_iss_aud", "hs256_aud_list"] {
        assert!(
            subscribe_with(&access, &token(name), &["news/x"]).is_ok(),
            "{name}"
        );
    }
    let d = denied(subscribe_with(
        &access,
        &token("hs256_wrong_iss"),
        &["news/x"],
    ));
    assert!(d.message().contains("issuer"), "{}", d.message());
    let d = denied(subscribe_with(
        &access,
        &token("hs256_wrong_aud"),
        &["news/x"],
    ));
    assert!(d.message().contains("audience"), "{}", d.message());
    // Without an iss claim while an issuer is required.
    let d = denied(subscribe_with(&access, &token("hs256"), &["news/x"]));
    assert_eq!(d.code(), "TOKEN_INVALID");
}

#[test]
fn tokens_without_exp_are_accepted_and_never_expire() {
    let access = hmac_access(&[]);
    let grant = subscribe_with(&access, &token("hs256_no_exp"), &["news/x"]).unwrap();
    assert_eq!(grant.expires_at(), None);
}

#[test]
fn missing_tokens_get_an_invalid_token_challenge_naming_the_places() {
    let access = hmac_access(&[]);
    let d = denied(subscribe(&access, &HeaderMap::new(), &["news/x"]));
    assert_eq!(
        (d.status(), d.code()),
        (StatusCode::UNAUTHORIZED, "TOKEN_MISSING")
    );
    assert!(d.message().contains("news/x") && d.message().contains("ssecast_token cookie"));
    let mut headers = HeaderMap::new();
    d.apply_headers(&mut headers);
    let challenge = headers[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer realm=\"ssecast\", error=\"invalid_token\", error_description=\"topic 'news/x' needs a token"),
        "{challenge}"
    );
}

#[test]
fn the_token_travels_in_header_cookie_or_query() {
    let access = hmac_access(&[]);
    let good = token("hs256");
    let mut cookie = HeaderMap::new();
    cookie.insert(
        COOKIE,
        HeaderValue::from_str(&format!("theme=dark; ssecast_token={good}")).unwrap(),
    );
    assert!(subscribe(&access, &cookie, &["news/x"]).is_ok());
    let query = format!("topic=news%2Fx&token={good}");
    let no_headers = HeaderMap::new();
    let request = RequestParts::new(&no_headers, Some(&query));
    assert!(access.authorize_subscribe(&request, &["news/x"]).is_ok());
    // Turned off: the query is not read, a renamed cookie is.
    let strict = hmac_access(&[("jwt_query_token", "false"), ("jwt_cookie", "auth")]);
    let d = denied(strict.authorize_subscribe(&request, &["news/x"]));
    assert_eq!(d.code(), "TOKEN_MISSING");
    assert!(!d.message().contains("query"), "{}", d.message());
    assert_eq!(
        denied(subscribe(&strict, &cookie, &["news/x"])).code(),
        "TOKEN_MISSING"
    );
    let mut renamed = HeaderMap::new();
    renamed.insert(
        COOKIE,
        HeaderValue::from_str(&format!("auth=\"{good}\"")).unwrap(),
    );
    assert!(subscribe(&strict, &renamed, &["news/x"]).is_ok());
}

#[test]
fn header_wins_over_cookie() {
    let access = hmac_access(&[]);
    let mut headers = bearer(&token("hs256_expired"));
    headers.insert(
        COOKIE,
        HeaderValue::from_str(&format!("ssecast_token={}", token("hs256"))).unwrap(),
    );
    assert_eq!(
        denied(subscribe(&access, &headers, &["news/x"])).code(),
        "TOKEN_EXPIRED"
    );
    let mut headers = bearer(&token("hs256"));
    headers.insert(
        COOKIE,
        HeaderValue::from_str(&format!("ssecast_token={}", token("hs256_expired"))).unwrap(),
    );
    assert!(subscribe(&access, &headers, &["news/x"]).is_ok());
}

#[test]
fn hundreds_of_cookies_are_searched() {
    let access = hmac_access(&[]);
    let mut value: String = (0..300)
        .map(|i| format!("c{i}=\"v{i}\"; broken{i}; "))
        .collect();
    value.push_str(&format!("ssecast_token={}; zz=1", token("hs256")));
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, HeaderValue::from_str(&value).unwrap());
    assert!(subscribe(&access, &headers, &["news/x"]).is_ok());
}

#[test]
fn public_topics_need_no_token_and_ignore_bad_ones() {
    let access = hmac_access(&[("public_topics", "ticker, status/**")]);
    assert_eq!(
        subscribe(&access, &HeaderMap::new(), &["ticker", "status/eu/west"]).unwrap(),
        Grant::default()
    );
    // A stale token does not break a page of public topics.
    let grant = subscribe_with(&access, &token("hs256_expired"), &["ticker"]).unwrap();
    assert_eq!(grant, Grant::default());
    // Mixed with a private topic, the token counts.
    let d = denied(subscribe_with(
        &access,
        &token("hs256_expired"),
        &["ticker", "news/x"],
    ));
    assert_eq!(d.code(), "TOKEN_EXPIRED");
    let d = denied(subscribe(&access, &HeaderMap::new(), &["ticker", "news/x"]));
    assert!(d.message().contains("\"news/x\""), "{}", d.message());
    let grant = subscribe_with(&access, &token("hs256"), &["ticker", "news/x"]).unwrap();
    assert_eq!(grant.subject(), Some("42"));
    assert!(denied(subscribe(&access, &HeaderMap::new(), &["status"])).code() == "TOKEN_MISSING");
}

#[test]
fn forbidden_names_the_first_topic_outside_the_grants() {
    let access = hmac_access(&[]);
    let d = denied(subscribe_with(
        &access,
        &token("hs256"),
        &[
            "news/a",
            "user/42/notifications",
            "user/43/notifications",
            "z",
        ],
    ));
    assert_eq!(
        (d.status(), d.code()),
        (StatusCode::FORBIDDEN, "TOPIC_FORBIDDEN")
    );
    assert!(
        d.message().contains("\"user/43/notifications\""),
        "{}",
        d.message()
    );
}

#[test]
fn a_hostile_sub_never_widens_a_sub_grant() {
    let access = hmac_access(&[]);
    for name in [
        "sub_star",
        "sub_dotdot",
        "sub_slash",
        "sub_empty",
        "sub_braces",
        "sub_missing",
    ] {
        for topic in [
            "user/43/n",
            "user/*/n",
            "user/42/../43/n",
            "user/a/b/n",
            "user//n",
            "user/{sub}/n",
        ] {
            let d = denied(subscribe_with(&access, &token(name), &[topic]));
            assert_eq!(d.code(), "TOPIC_FORBIDDEN", "{name} {topic}");
        }
    }
}

#[test]
fn bad_patterns_in_a_token_grant_nothing_but_the_rest_counts() {
    let access = hmac_access(&[]);
    let t = token("bad_patterns");
    assert!(subscribe_with(&access, &t, &["ok/1"]).is_ok());
    for topic in [
        "user/42/../43",
        "user/43",
        "a//b",
        "a/b",
        "/lead",
        "trail/",
        "x/y",
        "x/1/y",
        "7/n",
    ] {
        assert_eq!(
            denied(subscribe_with(&access, &t, &[topic])).code(),
            "TOPIC_FORBIDDEN",
            "{topic}"
        );
    }
}

#[test]
fn deep_and_everything_grants() {
    let access = hmac_access(&[]);
    let deep = token("deep");
    for topic in ["room/1", "room/1/2", "user/7/a", "user/7/a/b"] {
        assert!(subscribe_with(&access, &deep, &[topic]).is_ok(), "{topic}");
    }
    for topic in ["room", "user/7", "user/8/a", "x/public"] {
        assert!(subscribe_with(&access, &deep, &[topic]).is_err(), "{topic}");
    }
    let all = token("everything");
    assert!(subscribe_with(&access, &all, &["a", "b/c/d"]).is_ok());
    assert!(may_publish(&access, &all, "any/topic").is_ok());
}

#[test]
fn mercure_tokens_work_unchanged() {
    let access = hmac_access(&[]);
    let t = token("mercure");
    assert!(subscribe_with(&access, &t, &["books/1", "feed"]).is_ok());
    assert!(subscribe_with(&access, &t, &["books"]).is_err());
    let publisher = access.authenticate_publisher(&bearer(&t)).unwrap();
    assert!(publisher.authorize("books/1").is_ok());
    assert!(publisher.authorize("books/2").is_err());
    assert!(subscribe_with(&access, &token("mercure_star"), &["a/b/c"]).is_ok());
    let both = token("both_claims");
    assert!(subscribe_with(&access, &both, &["a", "b"]).is_ok());
    // A null list grants nothing and is not an error.
    let d = denied(subscribe_with(&access, &token("grants_null"), &["a"]));
    assert_eq!(d.code(), "TOPIC_FORBIDDEN");
}

#[test]
fn publishing_needs_a_bearer_with_publish_grants() {
    let access = hmac_access(&[]);
    let t = token("hs256");
    let publisher = access.authenticate_publisher(&bearer(&t)).unwrap();
    assert!(publisher.authorize("chat/room/1").is_ok());
    let d = publisher.authorize("news/x").unwrap_err();
    assert_eq!(
        (d.status(), d.code()),
        (StatusCode::FORBIDDEN, "TOPIC_FORBIDDEN")
    );
    assert!(
        d.message().contains("publish on topic \"news/x\""),
        "{}",
        d.message()
    );
    // Not from a cookie: that would let any page publish in the user's name.
    let mut cookie = HeaderMap::new();
    cookie.insert(
        COOKIE,
        HeaderValue::from_str(&format!("ssecast_token={t}")).unwrap(),
    );
    let d = access.authenticate_publisher(&cookie).unwrap_err();
    assert_eq!(
        (d.status(), d.code()),
        (StatusCode::UNAUTHORIZED, "TOKEN_MISSING")
    );
    let d = access
        .authenticate_publisher(&bearer(&token("hs256_expired")))
        .unwrap_err();
    assert_eq!(d.code(), "TOKEN_EXPIRED");
    // A subscribe-only token publishes nowhere.
    let reader = minter(&[])
        .subscriber_token(&["chat/**"], Duration::from_secs(60), None)
        .unwrap();
    let publisher = access.authenticate_publisher(&bearer(&reader)).unwrap();
    assert_eq!(
        publisher.authorize("chat/room/1").unwrap_err().code(),
        "TOPIC_FORBIDDEN"
    );
}

#[test]
fn the_static_publish_token_publishes_everywhere_beside_tokens() {
    let secret = fixtures().secret;
    let both = control(&[("publish_token", "static-t0ken"), ("jwt_secret", &secret)]);
    let publisher = both
        .authenticate_publisher(&bearer("static-t0ken"))
        .unwrap();
    assert!(publisher.authorize("any/topic/at/all").is_ok());
    let publisher = both
        .authenticate_publisher(&bearer(&token("hs256")))
        .unwrap();
    assert!(publisher.authorize("chat/room/1").is_ok());
    assert!(publisher.authorize("any/topic").is_err());
    let d = both
        .authenticate_publisher(&bearer("static-t0keN"))
        .unwrap_err();
    assert_eq!(
        (d.status(), d.code()),
        (StatusCode::UNAUTHORIZED, "TOKEN_INVALID"),
        "a near miss is checked as a JWT"
    );

    let only_static = control(&[("publish_token", "static-t0ken")]);
    assert!(only_static
        .authenticate_publisher(&bearer("static-t0ken"))
        .is_ok());
    let d = only_static
        .authenticate_publisher(&bearer(&token("hs256")))
        .unwrap_err();
    assert_eq!(
        (d.status(), d.code()),
        (StatusCode::UNAUTHORIZED, "TOKEN_INVALID"),
        "no key, no JWT"
    );
    let d = only_static
        .authenticate_publisher(&HeaderMap::new())
        .unwrap_err();
    assert_eq!(d.code(), "TOKEN_MISSING");
    let mut headers = HeaderMap::new();
    d.apply_headers(&mut headers);
    assert!(headers[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
}

fn minter(extra: &[(&str, &str)]) -> TokenMinter {
    let secret = fixtures().secret;
    let mut config = Config::default();
    config.set("jwt_secret", &secret).unwrap();
    for (key, value) in extra {
        config.set(key, value).unwrap();
    }
    TokenMinter::from_config(&config).unwrap()
}

#[test]
fn minted_tokens_round_trip_through_the_verifier() {
    let f = fixtures();
    let iss_aud = [
        ("jwt_issuer", f.issuer.as_str()),
        ("jwt_audience", f.audience.as_str()),
    ];
    let minter = minter(&iss_aud);
    let access = hmac_access(&iss_aud);
    let before = SystemTime::now();
    let t = minter
        .subscriber_token(
            &["user/{sub}/**", "news"],
            Duration::from_secs(600),
            Some("u-1"),
        )
        .unwrap();
    let grant = subscribe_with(&access, &t, &["user/u-1/inbox", "news"]).unwrap();
    assert_eq!(grant.subject(), Some("u-1"));
    let expires = grant.expires_at().unwrap();
    let lifetime = expires.duration_since(before).unwrap();
    assert!(
        lifetime >= Duration::from_secs(599) + TOKEN_LEEWAY
            && lifetime <= Duration::from_secs(601) + TOKEN_LEEWAY,
        "{lifetime:?}"
    );
    assert!(denied(subscribe_with(&access, &t, &["user/u-2/inbox"])).code() == "TOPIC_FORBIDDEN");
    assert!(
        may_publish(&access, &t, "news").is_err(),
        "no publish grant"
    );

    let p = minter
        .publisher_token(&["chat/*"], Duration::from_secs(60))
        .unwrap();
    assert!(may_publish(&access, &p, "chat/1").is_ok());
    assert!(may_publish(&access, &p, "chat/1/2").is_err());
    assert!(
        subscribe_with(&access, &p, &["chat/1"]).is_err(),
        "no subscribe grant"
    );
}

#[test]
fn minted_tokens_use_the_configured_hmac_algorithm() {
    let minter = minter(&[("jwt_algorithms", "HS384")]);
    let t = minter
        .subscriber_token(&["a"], Duration::from_secs(60), None)
        .unwrap();
    let header = jsonwebtoken::decode_header(&t).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::HS384);
    assert!(subscribe_with(&hmac_access(&[("jwt_algorithms", "HS384")]), &t, &["a"]).is_ok());
    assert!(
        subscribe_with(&hmac_access(&[]), &t, &["a"]).is_err(),
        "HS256 only by default"
    );
}

#[test]
fn minting_checks_its_arguments() {
    let minter = minter(&[]);
    let ttl = Duration::from_secs(60);
    let kind = |r: crate::Result<String>| r.unwrap_err().kind();
    assert_eq!(
        kind(minter.subscriber_token::<&str>(&[], ttl, None)),
        ErrorKind::InvalidTopic
    );
    assert_eq!(
        kind(minter.subscriber_token(&["a/../b"], ttl, None)),
        ErrorKind::InvalidTopic
    );
    assert_eq!(
        kind(minter.subscriber_token(&["a//b"], ttl, None)),
        ErrorKind::InvalidTopic
    );
    assert_eq!(
        kind(minter.subscriber_token(&["u/{sub}"], ttl, None)),
        ErrorKind::InvalidTopic
    );
    assert_eq!(
        kind(minter.publisher_token(&["u/{sub}"], ttl)),
        ErrorKind::InvalidTopic
    );
    for sub in ["*", "a/b", "..", "{sub}"] {
        let err = minter
            .subscriber_token(&["u/{sub}"], ttl, Some(sub))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData, "{sub}");
    }
    // Without {sub}, a subject is only an identity.
    assert!(minter.subscriber_token(&["a"], ttl, Some("a/b")).is_ok());
    assert_eq!(
        kind(minter.subscriber_token(&["a"], ttl, Some(""))),
        ErrorKind::InvalidData
    );
    assert_eq!(
        kind(minter.subscriber_token(&["a"], ttl, Some("a\nb"))),
        ErrorKind::InvalidData
    );
    let err = minter
        .subscriber_token(&["a"], Duration::from_millis(999), None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert!(err.message().contains("ttl"), "{err}");
    assert_eq!(
        kind(minter.subscriber_token(&["a"], Duration::MAX, None)),
        ErrorKind::InvalidData
    );
    for bad in [-1.0, f64::NAN, f64::INFINITY, 1e300] {
        let err = ttl_from_secs_f64(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData, "{bad}");
        assert!(err.message().contains("ttl"), "{err}");
    }
    assert_eq!(ttl_from_secs_f64(1.5).unwrap(), Duration::from_millis(1500));
    // Patterns are allowed.
    assert!(minter
        .subscriber_token(&["a/*/b", "c/**", "**"], ttl, None)
        .is_ok());
}

#[test]
fn minting_needs_a_secret() {
    let err = TokenMinter::from_config(&Config::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    assert!(err.message().contains("jwt_secret"), "{err}");
    let mut config = Config::default();
    config.set("jwt_public_key", RSA).unwrap();
    assert!(TokenMinter::from_config(&config).is_err());
}

#[test]
fn configuration_errors_name_their_key() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("public_topics", "news")],
            "public_topics is set, but authorization is off",
        ),
        (&[("jwt_issuer", "x")], "jwt_issuer is set"),
        (&[("jwt_audience", "x")], "jwt_audience is set"),
        (
            &[
                ("jwt_secret", "0123456789abcdef0123456789abcdef"),
                ("public_topics", "a//b"),
            ],
            "public_topics: \"a//b\"",
        ),
        (
            &[
                ("jwt_secret", "0123456789abcdef0123456789abcdef"),
                ("public_topics", "a/.."),
            ],
            "public_topics",
        ),
        (
            &[
                ("jwt_secret", "0123456789abcdef0123456789abcdef"),
                ("public_topics", "u/{sub}"),
            ],
            "{sub}",
        ),
        (
            &[
                ("jwt_secret", "0123456789abcdef0123456789abcdef"),
                ("jwt_cookie", "a b"),
            ],
            "jwt_cookie",
        ),
        (
            &[("trusted_proxies", "10.0.0.0/8, nope")],
            "trusted_proxies",
        ),
        (
            &[("trusted_proxy_header", "x-real-ip")],
            "trusted_proxy_header",
        ),
        (&[("jwt_algorithms", "none")], "never accepted"),
    ];
    for (pairs, expected) in cases {
        let mut config = Config::default();
        for (key, value) in pairs.iter() {
            config.set(key, value).unwrap();
        }
        let err = config.validate().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert!(err.message().contains(expected), "{pairs:?}: {err}");
    }
    let mut config = Config::default();
    assert!(config
        .set("jwt_query_token", "maybe")
        .unwrap_err()
        .message()
        .contains("jwt_query_token"));
    config.set("jwt_query_token", "FALSE").unwrap();
    assert!(!config.jwt_query_token);
}

#[test]
fn access_control_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<AccessControl>();
    shared::<TokenMinter>();
    shared::<ConnectionSlot>();
    shared::<Denial>();
}
