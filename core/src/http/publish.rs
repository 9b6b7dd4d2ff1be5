//! `POST /publish`: a bearer-token-protected publish over HTTP.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::publish_form::PublishForm;
use super::response::Answer;
use super::shared::Shared;
use crate::error::ErrorKind;

/// Checks the token, reads the body and publishes; answers with the id.
pub(crate) async fn publish(shared: &Shared, req: Request<Incoming>) -> Answer {
    let config = &shared.config;
    let Some(token) = &config.publish_token else {
        return Answer::error(
            StatusCode::FORBIDDEN,
            "PUBLISH_DISABLED",
            "publishing over HTTP is off: configure publish_token to enable it",
        );
    };
    match bearer(req.headers()) {
        None => {
            return Answer::error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "missing Authorization: Bearer <publish_token>",
            )
            .with_header(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"ssecast\""),
            );
        }
        Some(given) if !constant_time_eq(given.as_bytes(), token.as_bytes()) => {
            return Answer::error(StatusCode::FORBIDDEN, "FORBIDDEN", "wrong publish token");
        }
        Some(_) => {}
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let parse = match content_type.as_str() {
        "application/json" => PublishForm::from_json,
        "application/x-www-form-urlencoded" => PublishForm::from_urlencoded,
        _ => {
            return Answer::error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "send application/json or application/x-www-form-urlencoded",
            )
        }
    };
    // Form encoding can triple the payload; leave room for the other fields.
    let limit = config
        .max_event_bytes
        .saturating_mul(3)
        .saturating_add(16 * 1024);
    let body = match Limited::new(req.into_body(), limit).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Answer::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorKind::TooLarge.code(),
                format!("request body is larger than {limit} bytes"),
            )
        }
        Err(e) => return Answer::error(StatusCode::BAD_REQUEST, "BAD_REQUEST", e.to_string()),
    };
    let form = match parse(&body) {
        Ok(form) => form,
        Err(message) => return Answer::error(StatusCode::BAD_REQUEST, "BAD_REQUEST", message),
    };
    match shared.hub.publish(form.topic(), &form.event()) {
        Ok(id) => Answer::json(StatusCode::OK, serde_json::json!({ "id": id })),
        Err(e) => {
            let status = match e.kind() {
                ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                ErrorKind::Stopped => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            Answer::error(status, e.kind().code(), e.message())
        }
    }
}

/// The token of an `Authorization: Bearer` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Compares without an early exit, so the time taken does not reveal the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
