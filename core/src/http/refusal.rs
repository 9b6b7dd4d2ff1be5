//! Access-control refusals as answers.
//!
//! Every stream or publish request that access control refuses (`401`, `403`,
//! `429`) becomes its answer here, so this is the one place refusals are
//! counted: the `metrics` module (branch `ops`) hooks in at [`answer`], with
//! `metrics::rate_limited(code)` for `429` and `metrics::auth_refused(code)`
//! for the rest.

use super::response::Answer;
use crate::auth::Denial;

/// The JSON error answer of `denial`, with its `WWW-Authenticate` or
/// `Retry-After` header. Neither the answer nor the log line quotes a token.
pub(crate) fn answer(denial: Denial) -> Answer {
    tracing::debug!(code = denial.code(), "refused: {}", denial.message());
    let mut answer = Answer::error(denial.status(), denial.code(), denial.message());
    denial.apply_headers(answer.headers_mut());
    answer
}
