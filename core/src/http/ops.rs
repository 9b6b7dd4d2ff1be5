//! The operator's endpoints: `GET /metrics` (behind `metrics_token` when one is
//! set) and `GET /readyz`, served on the main port or on `metrics_bind`.

use http::header::{self, HeaderMap, HeaderValue};
use http::StatusCode;
use subtle::ConstantTimeEq;

use super::refusal;
use super::response::Answer;
use super::shared::Shared;
use crate::auth::{bearer, Denial, DenialKind};
use crate::hub::Hub;
use crate::metrics::{BackplaneState, Format};

/// The metrics in the format the scraper accepts, or `401` when
/// `metrics_token` is set and the request does not carry it (counted as an
/// auth failure, as every refusal is).
pub(crate) fn metrics(shared: &Shared, headers: &HeaderMap) -> Answer {
    let hub = &shared.hub;
    if let Some(token) = &shared.config.metrics_token {
        let denial = match bearer(headers) {
            None => Some(Denial::new(
                DenialKind::TokenMissing,
                "GET /metrics needs Authorization: Bearer <metrics_token>",
            )),
            // Compared in constant time, so the time taken does not reveal the token.
            Some(given) if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) => {
                Some(Denial::new(
                    DenialKind::TokenInvalid,
                    "the bearer is not the metrics_token",
                ))
            }
            Some(_) => None,
        };
        if let Some(denial) = denial {
            return refusal::answer(hub.metrics(), denial);
        }
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::from_accept(accept);
    let text = hub.metrics().encode(&hub.stats(), format);
    Answer::new(StatusCode::OK, format.content_type(), text)
        .with_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}

/// `200 {"status":"ready"}`, or `503` with why not ([`not_ready`]). A load
/// balancer takes an instance out of rotation on the `503`; `GET /healthz`
/// stays `200` meanwhile.
pub(crate) fn ready(shared: &Shared) -> Answer {
    match not_ready(&shared.hub) {
        None => Answer::json(StatusCode::OK, serde_json::json!({"status": "ready"})),
        Some(status) => Answer::json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": status}),
        ),
    }
}

/// Why the engine should take no new streams now: it is stopping or draining,
/// or its backplane is unreachable (the backplane reports its state with
/// `Metrics::set_backplane`, which `ssecast_backplane_up` exports too).
fn not_ready(hub: &Hub) -> Option<&'static str> {
    if hub.is_stopped() {
        Some("stopping")
    } else if hub.drain().is_some() {
        Some("draining")
    } else if hub.metrics().backplane() == BackplaneState::Unreachable {
        Some("backplane-unreachable")
    } else {
        None
    }
}
