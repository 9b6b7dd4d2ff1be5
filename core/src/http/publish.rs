//! `POST /publish`: a publish over HTTP by a holder of the static
//! `publish_token` or of a token whose `publish` grants cover the topic.

use http::header::{self, HeaderValue};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::publish_form::{BodyError, PublishForm};
use super::refusal;
use super::response::Answer;
use super::shared::Shared;
use crate::error::{Error, ErrorKind};

/// Checks the credential, reads the body, checks the topic against the
/// credential and publishes; answers with the id.
pub(crate) async fn publish(shared: &Shared, req: Request<Incoming>) -> Answer {
    let config = &shared.config;
    // Before the body is read, so strangers cannot make the engine read one.
    let publisher = match shared.access.authenticate_publisher(req.headers()) {
        Ok(publisher) => publisher,
        Err(denial) => return refusal::answer(shared.hub.metrics(), denial),
    };
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
    // A declared length over the limit is refused before the body is read, so a
    // client that sent `Expect: 100-continue` gets 413, never `100 Continue`.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return too_large(limit);
    }
    let read = Limited::new(req.into_body(), limit).collect();
    let Ok(read) = tokio::time::timeout(config.body_timeout(), read).await else {
        return Answer::error(
            StatusCode::REQUEST_TIMEOUT,
            "REQUEST_TIMEOUT",
            format!(
                "the request body did not arrive within {} ms (body_timeout_ms)",
                config.body_timeout_ms
            ),
        )
        .with_header(header::CONNECTION, HeaderValue::from_static("close"));
    };
    let body = match read {
        Ok(body) => body.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(limit),
        Err(e) => return Answer::error(StatusCode::BAD_REQUEST, "BAD_REQUEST", e.to_string()),
    };
    let form = match parse(&body) {
        Ok(form) => form,
        Err(BodyError::Malformed(message)) => {
            return Answer::error(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
        }
        Err(BodyError::Field(e)) => {
            return Answer::error(StatusCode::BAD_REQUEST, e.kind().code(), e.message())
        }
    };
    if let Err(denial) = publisher.authorize(form.topic()) {
        return refusal::answer(shared.hub.metrics(), denial);
    }
    let published = if shared.hub.waits_for_disk() {
        // `history_sync = always`: the publish waits for an fsync, off the
        // runtime's worker threads.
        let hub = shared.hub.clone();
        tokio::task::spawn_blocking(move || hub.publish(form.topic(), &form.event()))
            .await
            .unwrap_or_else(|e| Err(Error::new(ErrorKind::Internal, e.to_string())))
    } else {
        shared.hub.publish_async(form.topic(), &form.event()).await
    };
    match published {
        Ok(id) => Answer::json(StatusCode::OK, serde_json::json!({ "id": id })),
        Err(e) => {
            let status = match e.kind() {
                ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                ErrorKind::Stopped
                | ErrorKind::TooManyTopics
                | ErrorKind::Storage
                | ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            let answer = Answer::error(status, e.kind().code(), e.message());
            match e.kind() {
                // The history writer retries a failed write every 500 ms.
                ErrorKind::Storage => {
                    answer.with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
                }
                // The backplane reconnects within a second or so once Redis is back.
                ErrorKind::Unavailable => {
                    answer.with_header(header::RETRY_AFTER, HeaderValue::from_static("2"))
                }
                _ => answer,
            }
        }
    }
}

/// The answer to a body over `limit` bytes; the connection closes after it
/// (the body is not read).
fn too_large(limit: usize) -> Answer {
    Answer::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::TooLarge.code(),
        format!("request body is larger than {limit} bytes"),
    )
    .with_header(header::CONNECTION, HeaderValue::from_static("close"))
}
