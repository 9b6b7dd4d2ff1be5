//! Answers: the small complete responses of the engine (errors, health, the
//! index page), which hyper or the HTTP/1 fast path writes, and the body type
//! of every hyper response.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use http_body::{Body, Frame, SizeHint};

use crate::auth::ConnectionSlot;
use crate::stream::{Batch, EventStream};

/// A complete response with a small body.
#[derive(Debug)]
pub(crate) struct Answer {
    status: StatusCode,
    /// Boxed: answers travel in the error side of results.
    headers: Box<HeaderMap>,
    body: Bytes,
}

impl Answer {
    /// An answer with a body of `content_type`.
    pub(crate) fn new(
        status: StatusCode,
        content_type: &'static str,
        body: impl Into<Bytes>,
    ) -> Self {
        let mut headers = Box::new(HeaderMap::new());
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        Answer {
            status,
            headers,
            body: body.into(),
        }
    }

    /// An answer without a body.
    pub(crate) fn empty(status: StatusCode) -> Self {
        Answer {
            status,
            headers: Box::default(),
            body: Bytes::new(),
        }
    }

    /// A JSON answer.
    pub(crate) fn json(status: StatusCode, value: serde_json::Value) -> Self {
        Answer::new(status, "application/json", format!("{value}\n"))
    }

    /// An error: `{"error": message, "code": code}`.
    pub(crate) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Answer::json(
            status,
            serde_json::json!({"error": message.into(), "code": code}),
        )
    }

    /// Adds a header.
    pub(crate) fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// The headers, to add to.
    pub(crate) fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// The answer as a hyper response.
    pub(crate) fn into_response(self) -> Response<ResponseBody> {
        let body = (!self.body.is_empty()).then_some(self.body);
        let mut response = Response::new(ResponseBody::Full(body));
        *response.status_mut() = self.status;
        *response.headers_mut() = *self.headers;
        response
    }

    /// The answer as HTTP/1.1 bytes, ending the connection after it.
    pub(crate) fn to_http1(&self) -> BytesMut {
        let mut out = BytesMut::with_capacity(256 + self.body.len());
        out.put_slice(b"HTTP/1.1 ");
        out.put_slice(self.status.as_str().as_bytes());
        out.put_u8(b' ');
        out.put_slice(
            self.status
                .canonical_reason()
                .unwrap_or_default()
                .as_bytes(),
        );
        out.put_slice(b"\r\n");
        put_headers(&mut out, &self.headers);
        out.put_slice(b"content-length: ");
        out.put_slice(self.body.len().to_string().as_bytes());
        out.put_slice(b"\r\nconnection: close\r\n\r\n");
        out.put_slice(&self.body);
        out
    }
}

/// Writes `name: value\r\n` for every header.
pub(crate) fn put_headers(out: &mut BytesMut, headers: &HeaderMap) {
    for (name, value) in headers {
        out.put_slice(name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
}

/// The headers of every event stream response.
pub(crate) fn stream_headers() -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    headers
}

/// The body of every hyper response: an event stream or a complete small body.
pub(crate) enum ResponseBody {
    /// An event stream.
    Stream {
        /// The stream.
        stream: Box<EventStream>,
        /// Its place among its client address's streams, given back when the
        /// body is dropped.
        _client_slot: ConnectionSlot,
    },
    /// A complete body, taken on the first poll.
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
            ResponseBody::Stream { stream, .. } => Pin::new(&mut **stream).poll_frame(cx),
            ResponseBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| {
                let mut batch = Batch::with_capacity(1);
                batch.push(b);
                Ok(Frame::data(batch))
            })),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Stream { stream, .. } => stream.is_end_stream(),
            ResponseBody::Full(bytes) => bytes.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Stream { .. } => SizeHint::default(),
            ResponseBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http1_bytes_of_an_answer() {
        let answer = Answer::error(StatusCode::FORBIDDEN, "ORIGIN_REFUSED", "no")
            .with_header(header::VARY, HeaderValue::from_static("Origin"));
        let text = String::from_utf8(answer.to_http1().to_vec()).unwrap();
        let body = "{\"error\":\"no\",\"code\":\"ORIGIN_REFUSED\"}\n";
        assert_eq!(
            text,
            format!(
                "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\nvary: Origin\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
        );
    }
}
