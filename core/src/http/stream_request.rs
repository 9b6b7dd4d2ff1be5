//! A stream request (`GET <events_path>`): its topics and resume point, the
//! checks it must pass, and the stream it opens. The HTTP/1 fast path and the
//! hyper routes both call [`open`].
//!
//! The checks, in order, all before any byte of the stream: CORS, the request
//! itself (`400`), a stopping engine (`503`), the client address's limits
//! (`429`), the token (`401`, `403`), a draining engine (a `retry:` and the
//! end), `max_connections` (`503`). A stream opened with a token that expires
//! ends when it does. Every refusal is counted: access control's by
//! [`refusal`], the others here as `streams_refused` by reason.

use std::net::IpAddr;
use std::time::SystemTime;

use http::header::{self, HeaderMap, HeaderValue};
use http::{StatusCode, Uri};
use tokio::time::Instant;

use super::cors::{self, Cors};
use super::hosts::Host;
use super::refusal;
use super::response::{stream_headers, Answer};
use super::shared::Shared;
use super::urlencoded;
use crate::auth::{ConnectionSlot, RequestParts};
use crate::config::Config;
use crate::encode::{encode_comment, encode_retry};
use crate::error::ErrorKind;
use crate::metrics::{Refusal, Transport};
use crate::stream::{EventStream, StreamOrigin, StreamRequest};

/// A stream ready to be served: the response headers and the body.
pub(crate) struct OpenStream {
    /// Headers of the `200` response (stream headers and CORS).
    pub(crate) headers: HeaderMap,
    /// The stream.
    pub(crate) stream: Box<EventStream>,
    /// A long-poll (`transport=poll`): answered once by [`super::poll`], not streamed.
    pub(crate) poll: bool,
    /// The stream's place among its client address's streams: keep it as long
    /// as the stream.
    pub(crate) client_slot: ConnectionSlot,
}

/// Checks a stream request from `peer` over `transport` and opens its stream,
/// or says why not as an answer. The host and CORS are decided once here, for
/// the stream and for any error.
pub(crate) async fn open(
    shared: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    peer: IpAddr,
    transport: Transport,
) -> Result<OpenStream, Answer> {
    let host = Host::of(&shared.config.allowed_hosts, uri, headers);
    if let Some(refused) = host.refusal() {
        shared.hub.metrics().refused(Refusal::Host);
        return Err(refused);
    }
    let cors = cors::check(
        &shared.config.cors_origins,
        headers,
        host.served_authority(),
    );
    let result = open_checked(shared, uri, headers, peer, transport, &cors).await;
    match result {
        Ok(mut open) => {
            cors.apply(&mut open.headers);
            Ok(open)
        }
        Err(mut answer) => {
            cors.apply(answer.headers_mut());
            Err(answer)
        }
    }
}

async fn open_checked(
    shared: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    peer: IpAddr,
    transport: Transport,
    cors: &Cors,
) -> Result<OpenStream, Answer> {
    let hub = &shared.hub;
    let refuse = |reason: Refusal, answer: Answer| {
        hub.metrics().refused(reason);
        answer
    };
    if *cors == Cors::Refused {
        return Err(refuse(Refusal::Origin, cors::refused()));
    }
    let HttpRequest { request, poll } =
        HttpRequest::parse(&shared.config, uri, headers).map_err(|message| {
            let answer = Answer::error(StatusCode::BAD_REQUEST, "BAD_REQUEST", message);
            refuse(Refusal::BadRequest, answer)
        })?;
    if hub.is_stopped() {
        let answer = Answer::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "STOPPED",
            "the engine is stopping",
        );
        return Err(refuse(Refusal::Stopping, answer));
    }
    let access = &shared.access;
    let client_slot = access
        .admit_stream(access.client_address(peer, headers))
        .map_err(|denial| refusal::answer(hub.metrics(), denial))?;
    let grant = access
        .authorize_subscribe(&RequestParts::new(headers, uri.query()), &request.topics)
        .map_err(|denial| refusal::answer(hub.metrics(), denial))?;
    if hub.drain().is_some() {
        let answer = draining(shared.config.reconnect_jitter_ms);
        return Err(refuse(Refusal::Draining, answer));
    }
    let slot = hub.take_stream_slot().ok_or_else(|| {
        let answer = Answer::error(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::TooManyConnections.code(),
            format!(
                "the server holds its maximum of {} streams",
                hub.max_streams()
            ),
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("5"));
        refuse(Refusal::MaxConnections, answer)
    })?;
    let mut settings = shared.stream_settings();
    let mut origin = StreamOrigin {
        transport,
        peer: Some(peer),
    };
    if poll {
        // A long-poll answers with events only: no keep-alive, and its wait
        // ends with an empty body, without a goodbye `retry:`.
        settings.keepalive = false;
        settings.reconnect_jitter_ms = 0;
        origin.transport = Transport::Poll;
    }
    let mut stream = EventStream::open_async(
        hub.clone(),
        slot,
        &request.topics,
        request.last_event_id.as_deref(),
        settings,
        origin,
    )
    .await
    .map_err(|e| {
        let answer = Answer::error(
            StatusCode::SERVICE_UNAVAILABLE,
            e.kind().code(),
            e.message(),
        );
        match e.kind() {
            // The backplane reconnects within a second or so once Redis is back.
            ErrorKind::Unavailable => {
                answer.with_header(header::RETRY_AFTER, HeaderValue::from_static("2"))
            }
            _ => refuse(Refusal::MaxTopics, answer),
        }
    })?;
    if let Some(deadline) = grant.expires_at().and_then(deadline) {
        stream.end_at(deadline);
    }
    Ok(OpenStream {
        headers: stream_headers(),
        stream: Box::new(stream),
        poll,
        client_slot,
    })
}

/// The instant of the runtime's clock at which `expires_at` comes; `None` when
/// it lies too far ahead to be told apart from never.
fn deadline(expires_at: SystemTime) -> Option<Instant> {
    let left = expires_at
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    Instant::now().checked_add(left)
}

/// The answer to a stream request while the engine drains: a `200` stream
/// that ends at once after a `retry:` within `jitter_ms`, so that the client
/// reconnects (through the load balancer, to another instance) after a short
/// random delay. A `503` would make a browser's `EventSource` give up for good.
fn draining(jitter_ms: u32) -> Answer {
    let body = match jitter_ms {
        0 => encode_comment("draining"),
        max => encode_retry(fastrand::u32(0..=max)),
    };
    let mut answer = Answer::new(StatusCode::OK, "text/event-stream", body);
    for (name, value) in &stream_headers() {
        answer.headers_mut().insert(name, value.clone());
    }
    answer
}

/// A stream request: its checked topics and resume point, and how it is served.
#[derive(Debug, PartialEq, Eq)]
struct HttpRequest {
    request: StreamRequest,
    /// `transport=poll`: one complete answer instead of a stream.
    poll: bool,
}

impl HttpRequest {
    /// Reads `topic` (repeated), `lastEventId` and `transport` (`stream`, the
    /// default, or `poll`) from the query, and the `Last-Event-ID` header,
    /// which wins over the query; topics and id are checked as every stream's
    /// are ([`StreamRequest::new`]).
    fn parse(config: &Config, uri: &Uri, headers: &HeaderMap) -> Result<Self, String> {
        let mut topics: Vec<String> = Vec::new();
        let mut query_id = None;
        let mut poll = false;
        for (key, value) in urlencoded::pairs(uri.query().unwrap_or("").as_bytes()) {
            let utf8 = |name: &str| {
                String::from_utf8(value.clone()).map_err(|_| format!("{name} is not valid UTF-8"))
            };
            match key.as_slice() {
                b"topic" => topics.push(utf8("topic")?),
                b"lastEventId" => query_id = Some(utf8("lastEventId")?),
                b"transport" => {
                    poll = match utf8("transport")?.as_str() {
                        "stream" => false,
                        "poll" => true,
                        other => return Err(format!("transport {other:?} is not stream or poll")),
                    }
                }
                _ => {}
            }
        }
        // The header wins: a browser reconnecting sends its newest id there while
        // the URL still carries the id the page was opened with.
        let header_id = match headers.get("last-event-id") {
            Some(value) => Some(
                std::str::from_utf8(value.as_bytes())
                    .map_err(|_| "Last-Event-ID is not valid UTF-8".to_string())?
                    .to_owned(),
            ),
            None => None,
        };
        let last_event_id = header_id.or(query_id);
        let request = StreamRequest::new(
            config.max_topics_per_connection,
            &topics,
            last_event_id.as_deref(),
        )
        .map_err(|e| e.to_string())?;
        Ok(HttpRequest { request, poll })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(uri: &str, last_event_id: Option<&str>) -> Result<HttpRequest, String> {
        let mut headers = HeaderMap::new();
        if let Some(id) = last_event_id {
            headers.insert("last-event-id", id.parse().unwrap());
        }
        HttpRequest::parse(&Config::default(), &uri.parse().unwrap(), &headers)
    }

    #[test]
    fn topics_and_ids() {
        let r = parse("/events?topic=a&topic=b&topic=a&lastEventId=q", None).unwrap();
        assert_eq!(r.request.topics, ["a", "b"]);
        assert_eq!(r.request.last_event_id.as_deref(), Some("q"));
        let r = parse("/events?lastEventId=q", Some(" h ")).unwrap();
        assert_eq!(r.request.topics, ["default"]);
        assert_eq!(
            r.request.last_event_id.as_deref(),
            Some("h"),
            "the header wins"
        );
        assert_eq!(
            parse("/events?lastEventId=", None)
                .unwrap()
                .request
                .last_event_id,
            None
        );
        assert!(!r.poll);
        assert!(parse("/events?transport=poll", None).unwrap().poll);
        assert!(!parse("/events?transport=stream", None).unwrap().poll);
    }

    #[test]
    fn bad_requests_are_named() {
        assert!(parse("/events?topic=", None).unwrap_err().contains("empty"));
        let many: String = (0..33).map(|i| format!("topic={i}&")).collect();
        assert!(parse(&format!("/events?{many}"), None)
            .unwrap_err()
            .contains("max_topics_per_connection"));
        assert!(parse("/events?topic=%ff", None)
            .unwrap_err()
            .contains("UTF-8"));
        assert!(parse("/events?lastEventId=%c3", None)
            .unwrap_err()
            .contains("UTF-8"));
        let long = "x".repeat(crate::event::MAX_FIELD_BYTES + 1);
        assert!(parse("/events", Some(&long)).unwrap_err().contains("limit"));
        assert!(parse("/events?lastEventId=a%0Ab", None)
            .unwrap_err()
            .contains("line feed"));
        let bad = parse("/events?transport=websocket", None).unwrap_err();
        assert!(bad.contains("transport \"websocket\""), "{bad}");
    }
}
