//! The HTTP server: the accept loop and the routes of the engine.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::batch::Batch;
use crate::config::Config;
use crate::cors::{self, Cors};
use crate::encode::{encode_comment, encode_retry, encode_signal};
use crate::error::ErrorKind;
use crate::event::{validate_topic, DEFAULT_TOPIC, MAX_FIELD_BYTES};
use crate::fast_path::{self, Opening};
use crate::hub::{Hub, RESET_EVENT};
use crate::prefixed::Prefixed;
use crate::publish_form::PublishForm;
use crate::stream::EventStream;

/// What the routes share: the hub and the configuration.
pub(crate) struct Shared {
    pub(crate) hub: Arc<Hub>,
    pub(crate) config: Config,
}

/// Accepts connections until `shutdown` changes, then lets every connection
/// finish within the shutdown timeout.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(fast_path::HEAD_TIMEOUT)
        .max_buf_size(fast_path::MAX_HEAD);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256)
        .max_header_list_size(fast_path::MAX_HEAD as u32);
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => {
                    let _ = socket.set_nodelay(true);
                    tokio::spawn(connection(socket, shared.clone(), builder.clone(), graceful.watcher()));
                }
                Err(e) => accept_failed(e).await,
            },
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    let grace = Duration::from_millis(shared.config.shutdown_timeout_ms);
    let drained = async {
        graceful.shutdown().await;
        shared.hub.streams_closed().await;
    };
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::warn!("connections still open after the shutdown timeout; closing them");
    }
}

/// Serves one connection: event streams over HTTP/1 on the fast path, the rest
/// with hyper.
async fn connection(
    mut socket: TcpStream,
    shared: Arc<Shared>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    watcher: Watcher,
) {
    let prefix = match fast_path::open(&shared, &mut socket).await {
        Opening::Stream(stream, head) => return fast_path::serve(socket, stream, head).await,
        Opening::Gone => return,
        Opening::Other(prefix) => prefix.freeze(),
    };
    let service = service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(route(&shared, req).await) }
    });
    let io = TokioIo::new(Prefixed::new(prefix, socket));
    let conn = builder.serve_connection(io, service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!("connection ended with an error: {e}");
    }
}

/// Backs off when the process runs out of descriptors, so the loop does not spin.
async fn accept_failed(error: io::Error) {
    tracing::warn!("accept failed: {error}");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// The body of every response: an event stream or a complete small body.
pub(crate) enum ResponseBody {
    Stream(EventStream),
    Full(Option<Bytes>),
}

impl Body for ResponseBody {
    type Data = Batch;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Batch>, Infallible>>> {
        match self.get_mut() {
            ResponseBody::Stream(stream) => Pin::new(stream).poll_frame(cx),
            ResponseBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| {
                let mut batch = Batch::with_capacity(1);
                batch.push(b);
                Ok(Frame::data(batch))
            })),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Stream(stream) => stream.is_end_stream(),
            ResponseBody::Full(bytes) => bytes.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Stream(_) => SizeHint::default(),
            ResponseBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}

type Resp = Response<ResponseBody>;

async fn route(shared: &Shared, req: Request<Incoming>) -> Resp {
    let config = &shared.config;
    let path = req.uri().path();
    let cors = cors::check(&config.cors_origins, req.headers());
    let allow = if path == config.events_path || path == config.health_path {
        "GET, OPTIONS"
    } else if path == config.publish_path {
        "POST, OPTIONS"
    } else if path == "/" && config.index_page.is_some() {
        "GET"
    } else {
        return error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("no route for {path}"),
        );
    };
    let mut response = match *req.method() {
        Method::OPTIONS => preflight(&cors),
        Method::GET if path == config.events_path => {
            return open_stream(shared, req.uri(), req.headers())
        }
        Method::GET if path == config.health_path => health(shared),
        Method::GET if path == "/" => page(config),
        Method::POST if path == config.publish_path => publish(shared, req).await,
        _ => {
            let mut r = error(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                format!("{path} accepts {allow}"),
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            r
        }
    };
    cors.apply(response.headers_mut());
    response
}

fn full(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut response = Response::new(ResponseBody::Full(Some(body.into())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn json(status: StatusCode, value: serde_json::Value) -> Resp {
    full(status, "application/json", format!("{value}\n"))
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Resp {
    json(
        status,
        serde_json::json!({"error": message.into(), "code": code}),
    )
}

fn preflight(cors: &Cors) -> Resp {
    if *cors == Cors::Refused {
        return error(
            StatusCode::FORBIDDEN,
            "ORIGIN_REFUSED",
            "origin is not allowed",
        );
    }
    let mut response = Response::new(ResponseBody::Full(None));
    *response.status_mut() = StatusCode::NO_CONTENT;
    cors.apply_preflight(response.headers_mut());
    response
}

fn health(shared: &Shared) -> Resp {
    let stats = shared.hub.stats();
    json(
        StatusCode::OK,
        serde_json::json!({
            "status": "ok",
            "connections": stats.connections,
            "topics": stats.topics,
            "published": stats.published,
        }),
    )
}

fn page(config: &Config) -> Resp {
    let html = config.index_page.clone().unwrap_or_default();
    let mut response = full(StatusCode::OK, "text/html; charset=utf-8", html);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The topics and resume point a stream request asks for.
struct StreamRequest {
    topics: Vec<String>,
    last_event_id: Option<String>,
}

fn parse_stream_request(
    config: &Config,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<StreamRequest, String> {
    let mut topics: Vec<String> = Vec::new();
    let mut query_id = None;
    for (key, value) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "topic" => {
                validate_topic(&value).map_err(|e| e.to_string())?;
                if !topics.iter().any(|t| *t == value) {
                    if topics.len() == config.max_topics_per_connection {
                        return Err(format!(
                            "more than {} topics requested (max_topics_per_connection)",
                            config.max_topics_per_connection
                        ));
                    }
                    topics.push(value.into_owned());
                }
            }
            "lastEventId" => query_id = Some(value.into_owned()),
            _ => {}
        }
    }
    if topics.is_empty() {
        topics.push(DEFAULT_TOPIC.to_owned());
    }
    // The header wins: a browser reconnecting sends its newest id there while the
    // URL still carries the id the page was opened with.
    let header_id = match headers.get("last-event-id") {
        Some(value) => Some(
            std::str::from_utf8(value.as_bytes())
                .map_err(|_| "Last-Event-ID is not valid UTF-8".to_string())?
                .to_owned(),
        ),
        None => None,
    };
    let last_event_id = header_id
        .or(query_id)
        .map(|id| id.trim_matches(' ').to_owned())
        .filter(|id| !id.is_empty());
    if last_event_id
        .as_ref()
        .is_some_and(|id| id.len() > MAX_FIELD_BYTES)
    {
        return Err(format!(
            "Last-Event-ID is longer than {MAX_FIELD_BYTES} bytes"
        ));
    }
    Ok(StreamRequest {
        topics,
        last_event_id,
    })
}

/// Answers `GET` on the events path: the stream, or an error response.
pub(crate) fn open_stream(shared: &Shared, uri: &Uri, headers: &HeaderMap) -> Resp {
    let cors = cors::check(&shared.config.cors_origins, headers);
    let mut response = events(shared, uri, headers, &cors);
    cors.apply(response.headers_mut());
    response
}

fn events(shared: &Shared, uri: &Uri, headers: &HeaderMap, cors: &Cors) -> Resp {
    let config = &shared.config;
    if *cors == Cors::Refused {
        return error(
            StatusCode::FORBIDDEN,
            "ORIGIN_REFUSED",
            "origin is not allowed",
        );
    }
    let request = match parse_stream_request(config, uri, headers) {
        Ok(request) => request,
        Err(message) => return error(StatusCode::BAD_REQUEST, "BAD_REQUEST", message),
    };
    let hub = &shared.hub;
    if hub.is_stopped() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "STOPPED",
            "the engine is stopping",
        );
    }
    if hub.streams.fetch_add(1, Ordering::AcqRel) >= config.max_connections {
        hub.streams.fetch_sub(1, Ordering::AcqRel);
        let mut r = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "TOO_MANY_CONNECTIONS",
            format!(
                "the server holds its maximum of {} streams",
                config.max_connections
            ),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return r;
    }
    let (subscribers, after, reset) =
        hub.subscribe(&request.topics, request.last_event_id.as_deref());
    let mut head = Vec::with_capacity(2);
    if let Some(reason) = reset {
        let data = serde_json::json!({
            "reason": reason.as_str(),
            "lastEventId": request.last_event_id,
        });
        head.push(encode_signal(RESET_EVENT, &data.to_string()));
    }
    head.push(if config.retry_ms > 0 {
        encode_retry(config.retry_ms)
    } else {
        encode_comment("ok")
    });
    let stream = EventStream::new(
        hub.clone(),
        subscribers,
        after,
        head,
        config.keepalive_ms > 0,
    );
    let mut response = Response::new(ResponseBody::Stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

async fn publish(shared: &Shared, req: Request<Incoming>) -> Resp {
    let config = &shared.config;
    let Some(token) = &config.publish_token else {
        return error(
            StatusCode::FORBIDDEN,
            "PUBLISH_DISABLED",
            "publishing over HTTP is off: configure publish_token to enable it",
        );
    };
    match bearer(req.headers()) {
        None => {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "missing Authorization: Bearer <publish_token>",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"ssecast\""),
            );
            return r;
        }
        Some(given) if !constant_time_eq(given.as_bytes(), token.as_bytes()) => {
            return error(StatusCode::FORBIDDEN, "FORBIDDEN", "wrong publish token");
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
            return error(
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
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorKind::TooLarge.code(),
                format!("request body is larger than {limit} bytes"),
            )
        }
        Err(e) => return error(StatusCode::BAD_REQUEST, "BAD_REQUEST", e.to_string()),
    };
    let form = match parse(&body) {
        Ok(form) => form,
        Err(message) => return error(StatusCode::BAD_REQUEST, "BAD_REQUEST", message),
    };
    match shared.hub.publish(form.topic(), &form.event()) {
        Ok(id) => json(StatusCode::OK, serde_json::json!({ "id": id })),
        Err(e) => {
            let status = match e.kind() {
                ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                ErrorKind::Stopped => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            error(status, e.kind().code(), e.message())
        }
    }
}

fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Compares without an early exit, so the time taken does not reveal the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
