"""Access control against a real engine, with tokens minted by PyJWT.

Every token here is made by PyJWT (with keys from `cryptography`), never by
ssecast, except where the test is about ssecast's own minting, whose tokens
PyJWT then verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Optional, Union

import httpx
import jwt
import pytest
from conftest import TIMEOUT, take
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from httpx_sse import ServerSentEvent, connect_sse

import ssecast

SECRET = "python-suite-secret-0123456789abcdef-0123456789"
FAR = int(time.time()) + 3600


def hs256(claims: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def grants(*subscribe: str, publish: Optional[list[str]] = None) -> dict[str, Any]:
    claim: dict[str, Any] = {"subscribe": list(subscribe)}
    if publish is not None:
        claim["publish"] = publish
    return {"ssecast": claim}


@pytest.fixture
def secured() -> Iterator[ssecast.Engine]:
    """An engine with HMAC authorization on and a public topic."""
    with ssecast.Engine(
        port=0, keepalive_ms=0, jwt_secret=SECRET, public_topics=["status"]
    ) as engine:
        yield engine


def url(engine: ssecast.Engine, query: str = "") -> str:
    return f"http://127.0.0.1:{engine.port}/events{query}"


def refusal(
    engine: ssecast.Engine, query: str, headers: Optional[Mapping[str, str]] = None
) -> httpx.Response:
    """The answer to a stream request that must be refused (it closes at once)."""
    response = httpx.get(url(engine, query), headers=headers or {}, timeout=TIMEOUT)
    assert response.status_code != 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response


@contextmanager
def stream(
    engine: ssecast.Engine,
    query: str,
    headers: Optional[dict[str, str]] = None,
    client: Optional[httpx.Client] = None,
) -> Iterator[Iterator[ServerSentEvent]]:
    """An open stream (status 200 asserted) on `query`."""
    own = client is None
    client = client or httpx.Client(timeout=TIMEOUT)
    try:
        with connect_sse(client, "GET", url(engine, query), headers=headers or {}) as source:
            assert source.response.status_code == 200, source.response.read()
            yield source.iter_sse()
    finally:
        if own:
            client.close()


def assert_delivered(engine: ssecast.Engine, topic: str, events: Iterator[ServerSentEvent]) -> None:
    engine.publish(topic, "hello")
    assert take(events, 1)[0].data == "hello"


def assert_invalid_token(response: httpx.Response, code: str, reason: str = "") -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == code, body
    assert reason in body["error"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(
        'Bearer realm="ssecast", error="invalid_token", error_description="'
    )


# ---- tokens in each place ----


def test_hs256_in_header_cookie_and_query(secured: ssecast.Engine) -> None:
    token = hs256({"sub": "42", "exp": FAR, **grants("user/{sub}/notifications")})
    topic = "?topic=user/42/notifications"
    places = [
        (topic, {"authorization": f"Bearer {token}"}),
        (topic, {"cookie": f"theme=dark; ssecast_token={token}"}),
        (f"{topic}&token={token}", {}),
    ]
    for query, headers in places:
        with stream(secured, query, headers) as events:
            assert_delivered(secured, "user/42/notifications", events)


def test_missing_token_is_401_invalid_token_and_public_topics_are_open(
    secured: ssecast.Engine,
) -> None:
    assert_invalid_token(
        refusal(secured, "?topic=user/42/notifications"), "TOKEN_MISSING", "user/42"
    )
    with stream(secured, "?topic=status") as events:
        assert_delivered(secured, "status", events)


def test_header_beats_cookie(secured: ssecast.Engine) -> None:
    good = hs256({"exp": FAR, **grants("news")})
    bad = hs256({"exp": FAR, **grants("news")}, secret="another-secret-0123456789abcdef-0123")
    response = refusal(
        secured,
        "?topic=news",
        {"authorization": f"Bearer {bad}", "cookie": f"ssecast_token={good}"},
    )
    assert_invalid_token(response, "TOKEN_INVALID", "signature")
    headers = {"authorization": f"Bearer {good}", "cookie": f"ssecast_token={bad}"}
    with stream(secured, "?topic=news", headers) as events:
        assert_delivered(secured, "news", events)


def test_hundreds_of_cookies(secured: ssecast.Engine) -> None:
    token = hs256({"exp": FAR, **grants("news")})
    cookies = "; ".join(f"c{i}=value-{i}" for i in range(600))
    headers = {"cookie": f"{cookies}; ssecast_token={token}; after=1"}
    with stream(secured, "?topic=news", headers) as events:
        assert_delivered(secured, "news", events)
    # Hundreds of cookies and none of ours: a clean 401.
    assert_invalid_token(refusal(secured, "?topic=news", {"cookie": cookies}), "TOKEN_MISSING")


def test_query_tokens_can_be_turned_off() -> None:
    token = hs256({"exp": FAR, **grants("news")})
    with ssecast.Engine(port=0, jwt_secret=SECRET, jwt_query_token=False) as engine:
        assert_invalid_token(refusal(engine, f"?topic=news&token={token}"), "TOKEN_MISSING")


# ---- public keys ----


def pem_public(private: Union[ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey]) -> str:
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public.decode()


@pytest.mark.parametrize(
    ("algorithm", "make_key"),
    [
        ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
        ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ],
)
def test_public_key_tokens(algorithm: str, make_key: Any) -> None:
    private = make_key()
    public_pem = pem_public(private)
    token = jwt.encode(
        {"sub": "7", "exp": FAR, **grants("user/{sub}/**")}, private, algorithm=algorithm
    )
    with ssecast.Engine(port=0, keepalive_ms=0, jwt_public_key=public_pem) as engine:
        with stream(engine, "?topic=user/7/inbox", {"authorization": f"Bearer {token}"}) as events:
            assert_delivered(engine, "user/7/inbox", events)
        # An HMAC token "signed" with the public key's PEM text: algorithm confusion.
        confused = hmac_token(
            {"sub": "7", "exp": FAR, **grants("user/{sub}/**")}, public_pem.encode()
        )
        assert_invalid_token(
            refusal(engine, f"?topic=user/7/inbox&token={confused}"), "TOKEN_INVALID", "algorithm"
        )
        # Another key of the same kind does not verify.
        other = jwt.encode({"exp": FAR, **grants("a")}, make_key(), algorithm=algorithm)
        assert_invalid_token(
            refusal(engine, f"?topic=a&token={other}"), "TOKEN_INVALID", "signature"
        )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hmac_token(claims: dict[str, Any], key: bytes) -> str:
    """HS256 computed by hand: PyJWT refuses a PEM as an HMAC key, which is the attack."""
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


# ---- bad tokens ----


def test_alg_none_is_refused(secured: ssecast.Engine) -> None:
    unsigned = jwt.encode({"exp": FAR, **grants("news")}, "", algorithm="none")
    assert unsigned.endswith(".")
    assert_invalid_token(refusal(secured, f"?topic=news&token={unsigned}"), "TOKEN_INVALID")
    # The same with a signature stuck on.
    forged = unsigned + b64(b"x" * 32)
    assert_invalid_token(refusal(secured, f"?topic=news&token={forged}"), "TOKEN_INVALID")


def test_expired_and_not_yet_valid(secured: ssecast.Engine) -> None:
    now = int(time.time())
    expired = hs256({"exp": now - 3600, **grants("news")})
    assert_invalid_token(
        refusal(secured, f"?topic=news&token={expired}"), "TOKEN_EXPIRED", "expired"
    )
    early = hs256({"exp": FAR, "nbf": now + 3600, **grants("news")})
    assert_invalid_token(
        refusal(secured, f"?topic=news&token={early}"), "TOKEN_INVALID", "not valid yet"
    )
    # Mercure's usual tokens carry no exp at all: accepted, for good.
    no_exp = hs256({"mercure": {"subscribe": ["news"]}})
    with stream(secured, f"?topic=news&token={no_exp}") as events:
        assert_delivered(secured, "news", events)


def test_issuer_and_audience() -> None:
    with ssecast.Engine(
        port=0,
        keepalive_ms=0,
        jwt_secret=SECRET,
        jwt_issuer="https://auth.example",
        jwt_audience="ssecast",
    ) as engine:
        base = {"exp": FAR, **grants("news")}
        good = hs256({**base, "iss": "https://auth.example", "aud": ["other", "ssecast"]})
        with stream(engine, f"?topic=news&token={good}") as events:
            assert_delivered(engine, "news", events)
        cases = [
            ({**base, "iss": "https://evil.example", "aud": "ssecast"}, "issuer"),
            ({**base, "iss": "https://auth.example", "aud": "other"}, "audience"),
            ({**base, "aud": "ssecast"}, "issuer"),
        ]
        for claims, reason in cases:
            token = hs256(claims)
            assert_invalid_token(
                refusal(engine, f"?topic=news&token={token}"), "TOKEN_INVALID", reason
            )


def test_malformed_and_hostile_tokens(secured: ssecast.Engine) -> None:
    for token in ["x", "a.b.c", "...", "e30.e30.", hs256({"exp": FAR})[:-5]]:
        response = refusal(secured, "?topic=news", {"authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
    # Not ASCII: percent-encoded in the query.
    assert refusal(secured, "?topic=news&token=%C3%A9.%C3%A9.%C3%A9").status_code == 401
    # Grants that are not lists make the token invalid.
    for claim in [{"subscribe": "news"}, {"subscribe": [1, 2]}, "everything"]:
        token = hs256({"exp": FAR, "ssecast": claim})
        assert_invalid_token(
            refusal(secured, f"?topic=news&token={token}"), "TOKEN_INVALID", "lists of strings"
        )
    # The engine still serves.
    with stream(secured, "?topic=status") as events:
        assert_delivered(secured, "status", events)


def test_64_kib_token(secured: ssecast.Engine) -> None:
    huge = "e" * (64 * 1024)
    for headers in [{"authorization": f"Bearer {huge}"}, {"cookie": f"ssecast_token={huge}"}]:
        assert (
            httpx.get(url(secured, "?topic=news"), headers=headers, timeout=TIMEOUT).status_code
            == 431
        )
    # Over the token bound but inside the head limit: 401 naming the bound.
    big = "e" * (9 * 1024)
    assert_invalid_token(refusal(secured, f"?topic=news&token={big}"), "TOKEN_TOO_LARGE", "8192")


# ---- grants ----


def test_403_names_the_topic(secured: ssecast.Engine) -> None:
    token = hs256({"sub": "42", "exp": FAR, **grants("user/{sub}/notifications", "news/*")})
    response = refusal(secured, f"?topic=news/a&topic=user/43/notifications&token={token}")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "TOPIC_FORBIDDEN"
    assert '"user/43/notifications"' in body["error"]
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_per_user_topics_with_sub(secured: ssecast.Engine) -> None:
    def token(sub: str) -> str:
        return hs256({"sub": sub, "exp": FAR, **grants("user/{sub}/notifications")})

    with stream(secured, f"?topic=user/ada/notifications&token={token('ada')}") as ada:
        assert (
            refusal(secured, f"?topic=user/bob/notifications&token={token('ada')}").status_code
            == 403
        )
        secured.publish("user/bob/notifications", "for bob")
        secured.publish("user/ada/notifications", "for ada")
        assert take(ada, 1)[0].data == "for ada"


@pytest.mark.parametrize("sub", ["*", "**", "42/../43", "a/b", "..", "{sub}", ""])
def test_a_hostile_sub_never_widens_a_sub_grant(secured: ssecast.Engine, sub: str) -> None:
    token = hs256({"sub": sub, "exp": FAR, **grants("user/{sub}/n")})
    for topic in ["user/43/n", "user/*/n", "user/a/b/n", "user/../n", "user/{sub}/n"]:
        assert refusal(secured, f"?topic={topic}&token={token}").status_code == 403, (sub, topic)


def test_dot_dot_and_empty_segments_in_grants_grant_nothing(secured: ssecast.Engine) -> None:
    token = hs256({"exp": FAR, **grants("user/../admin", "a//b", "/news", "ok")})
    for topic in ["admin", "user/../admin", "a//b", "news", "/news"]:
        assert refusal(secured, f"?topic={topic}&token={token}").status_code == 403, topic
    with stream(secured, f"?topic=ok&token={token}") as events:
        assert_delivered(secured, "ok", events)


# ---- engine-minted tokens ----


def test_minted_subscriber_token_verifies_with_pyjwt(secured: ssecast.Engine) -> None:
    token = secured.subscriber_token(["user/{sub}/inbox"], 600, subject="ada")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == "ada"
    assert claims["ssecast"] == {"subscribe": ["user/{sub}/inbox"]}
    assert 599 <= claims["exp"] - claims["iat"] <= 600
    with stream(secured, f"?topic=user/ada/inbox&token={token}") as events:
        assert_delivered(secured, "user/ada/inbox", events)
    by_delta = secured.subscriber_token(["a"], timedelta(hours=2))
    claims = jwt.decode(by_delta, SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 7200 and "sub" not in claims


def test_minted_publisher_token_publishes_over_http(secured: ssecast.Engine) -> None:
    token = secured.publisher_token(["chat/*"], 60.5)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["ssecast"] == {"publish": ["chat/*"]}
    publish_url = f"http://127.0.0.1:{secured.port}/publish"
    headers = {"authorization": f"Bearer {token}"}
    reader = secured.subscriber_token(["chat/*"], 60)
    with stream(secured, f"?topic=chat/1&token={reader}") as events:
        ok = httpx.post(publish_url, json={"topic": "chat/1", "data": "hi"}, headers=headers)
        assert ok.status_code == 200
        assert take(events, 1)[0].id == ok.json()["id"]
    outside = httpx.post(publish_url, json={"topic": "news", "data": "x"}, headers=headers)
    assert outside.status_code == 403 and '"news"' in outside.json()["error"]
    as_reader = httpx.post(
        publish_url,
        json={"topic": "chat/1", "data": "x"},
        headers={"authorization": f"Bearer {reader}"},
    )
    assert as_reader.status_code == 403


def test_minting_errors(secured: ssecast.Engine) -> None:
    with ssecast.Engine(port=0) as plain, pytest.raises(ssecast.ConfigError, match="jwt_secret"):
        plain.subscriber_token(["a"], 60)
    cases: list[Any] = [
        ((["user/{sub}"], 60), {}, ssecast.InvalidTopicError, r"\{sub\}"),
        ((["a//b"], 60), {}, ssecast.InvalidTopicError, "empty segment"),
        (([], 60), {}, ssecast.InvalidTopicError, "at least one"),
        ((["user/{sub}"], 60), {"subject": "a/b"}, ssecast.InvalidDataError, "subject"),
        ((["a"], 0.5), {}, ssecast.InvalidDataError, "ttl"),
        ((["a"], -1), {}, ssecast.InvalidDataError, "ttl"),
        ((["a"], float("nan")), {}, ssecast.InvalidDataError, "ttl"),
        ((["a"], timedelta(seconds=-5)), {}, ssecast.InvalidDataError, "ttl"),
        (("news", 60), {}, TypeError, r'not a single str \(write \["news"\]\)'),
        (([1], 60), {}, TypeError, "must hold str, not int"),
        ((None, 60), {}, TypeError, "list of str, not NoneType"),
        ((["a"], True), {}, TypeError, "'ttl' must be seconds"),
        ((["a"], "60"), {}, TypeError, "'ttl' must be seconds"),
        ((["a"], 60), {"subject": 42}, TypeError, "'subject' must be str"),
    ]
    for args, kwargs, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            secured.subscriber_token(*args, **kwargs)
    assert issubclass(ssecast.InvalidDataError, ValueError)


# ---- expiry ----


def test_a_stream_ends_when_its_token_expires_and_resumes_with_a_fresh_one() -> None:
    # The shortest keep-alive interval: an idle stream notices expiry within 250 ms.
    with ssecast.Engine(port=0, keepalive_ms=1000, jwt_secret=SECRET) as engine:
        # Accepted for two more seconds: exp 28 s back, within the 30 s leeway.
        exp = int(time.time()) + 2 - 30
        short = hs256({"sub": "7", "exp": exp, **grants("user/{sub}/inbox")})
        with stream(engine, f"?topic=user/7/inbox&token={short}") as events:
            first = engine.publish("user/7/inbox", "one")
            seen = take(events, 1)
            assert seen[0].id == first
            # Ends by itself at the expiry; keep-alive comments carry no data.
            rest = [event for event in events if event.data]
        assert rest == []
        ended = time.time()
        assert exp + 30 <= ended < exp + 30 + 2
        missed = engine.publish("user/7/inbox", "two")
        assert_invalid_token(refusal(engine, f"?topic=user/7/inbox&token={short}"), "TOKEN_EXPIRED")
        fresh = engine.subscriber_token(["user/{sub}/inbox"], 60, subject="7")
        with stream(
            engine, f"?topic=user/7/inbox&token={fresh}", {"last-event-id": first}
        ) as events:
            event = take(events, 1)[0]
            assert (event.id, event.data) == (missed, "two")
