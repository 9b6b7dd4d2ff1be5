//! Access-control refusals as answers.
//!
//! Every request that access control refuses (`401`, `403`, `429`), and every
//! `GET /metrics` without the `metrics_token`, becomes its answer here, so this
//! is the one place refusals are counted: `429`s as rate-limit refusals, the
//! rest as auth failures, each by reason.

use super::response::Answer;
use crate::auth::{Denial, DenialKind};
use crate::metrics::{AuthFailure, Metrics, RateLimit};

/// The JSON error answer of `denial`, with its `WWW-Authenticate` or
/// `Retry-After` header, counted in `metrics`. Neither the answer nor the log
/// line quotes a token.
pub(crate) fn answer(metrics: &Metrics, denial: Denial) -> Answer {
    count(metrics, denial.kind());
    tracing::debug!(code = denial.code(), "refused: {}", denial.message());
    let mut answer = Answer::error(denial.status(), denial.code(), denial.message());
    denial.apply_headers(answer.headers_mut());
    answer
}

/// Counts a refusal of `kind` under its metric and reason.
fn count(metrics: &Metrics, kind: DenialKind) {
    let failure = match kind {
        DenialKind::RateLimited => return metrics.rate_limited(RateLimit::ConnectionRate),
        DenialKind::TooManyConnections => {
            return metrics.rate_limited(RateLimit::ConnectionsPerAddress)
        }
        DenialKind::TokenMissing => AuthFailure::TokenMissing,
        DenialKind::TokenInvalid => AuthFailure::TokenInvalid,
        DenialKind::TokenExpired => AuthFailure::TokenExpired,
        DenialKind::TokenTooLarge => AuthFailure::TokenTooLarge,
        DenialKind::TopicForbidden => AuthFailure::TopicForbidden,
        DenialKind::PublishDisabled => AuthFailure::PublishDisabled,
    };
    metrics.auth_refused(failure);
}
