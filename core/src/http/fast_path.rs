//! The HTTP/1 fast path for event streams.
//!
//! A connection whose first request is `GET <events_path>` over HTTP/1.x is
//! served here without hyper. Over HTTP/1.1 the stream uses the chunked coding,
//! one chunk per batch (clients that read in blocks then see each event at
//! once); an HTTP/1.0 client gets a close-delimited stream. Each batch goes out
//! in one vectored write straight from the shared frame buffers (the chunk-size
//! line and the chunk's closing CRLF are two more slices of the same write),
//! and the connection keeps no parser buffers while it streams. A refused stream request gets its error answer from here too.
//! Everything else (other routes, HTTP/2, malformed or oversized heads, heads
//! with a body) goes to hyper with the bytes already read.

use std::io::{self, IoSlice};
use std::net::IpAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::WriteHalf;
use tokio::net::TcpStream;

use super::poll;
use super::response::put_headers;
use super::shared::Shared;
use super::stream_request::{self, OpenStream};
use crate::metrics::Transport;
use crate::stream::{Batch, EventStream, StreamWatch};

/// The largest request head the fast path reads; longer ones go to hyper, which
/// answers `431`.
pub(crate) const MAX_HEAD: usize = 16 * 1024;

/// Most headers the fast path parses; more go to hyper.
const MAX_HEADERS: usize = 64;

/// Most slices handed to one vectored write (frames, plus a chunk's size line
/// and closing CRLF).
const MAX_SLICES: usize = 66;

/// What the first bytes of a connection turned out to be.
pub(crate) enum Opening {
    /// A stream request, for [`serve`].
    Stream(StreamRequestHead),
    /// Anything else: hyper takes the connection with these bytes in front.
    Other(BytesMut),
    /// The client went away or sent nothing in time.
    Gone,
}

/// The parts of a stream request's head the stream needs.
pub(crate) struct StreamRequestHead {
    uri: Uri,
    headers: HeaderMap,
    /// An HTTP/1.1 request, answered with a chunked stream (HTTP/1.0: close-delimited).
    chunked: bool,
}

/// Reads the start of a connection and decides who serves it.
pub(crate) async fn read_opening(shared: &Shared, socket: &mut TcpStream) -> Opening {
    let mut buf = BytesMut::with_capacity(1024);
    let read = tokio::time::timeout(shared.config.head_timeout(), async {
        loop {
            match socket.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            }
            if !looks_like_get(&buf) || head_ended(&buf) || buf.len() >= MAX_HEAD {
                return true;
            }
            buf.reserve(1024);
        }
    })
    .await;
    if !matches!(read, Ok(true)) {
        return Opening::Gone;
    }
    match parse_stream_request(&shared.config.events_path, &buf) {
        Some(head) => Opening::Stream(head),
        None => Opening::Other(buf),
    }
}

/// True while the bytes so far could be `GET ` of an HTTP/1 request.
fn looks_like_get(buf: &[u8]) -> bool {
    let n = buf.len().min(4);
    buf[..n] == b"GET "[..n]
}

/// True once `buf` holds a whole head (with CRLF or bare LF line endings), or
/// bytes that cannot begin one (hyper answers those).
fn head_ended(buf: &[u8]) -> bool {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    !matches!(
        httparse::Request::new(&mut slots).parse(buf),
        Ok(httparse::Status::Partial)
    )
}

/// Parses a complete `GET` head for the events path; `None` leaves the
/// connection to hyper.
fn parse_stream_request(events_path: &str, buf: &[u8]) -> Option<StreamRequestHead> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut slots);
    if !matches!(request.parse(buf), Ok(httparse::Status::Complete(n)) if n == buf.len()) {
        return None;
    }
    let target = request.path?;
    let path = target.split('?').next()?;
    if request.method != Some("GET") || path != events_path {
        return None;
    }
    let uri: Uri = target.parse().ok()?;
    let mut headers = HeaderMap::with_capacity(request.headers.len());
    for header in request.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        // A request with a body is not a plain stream request.
        if name == http::header::CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING {
            return None;
        }
        headers.append(name, HeaderValue::from_bytes(header.value).ok()?);
    }
    Some(StreamRequestHead {
        uri,
        headers,
        chunked: request.version == Some(1),
    })
}

/// Answers a stream request from `peer`: the stream until it ends or the
/// client goes away, or the error answer, after which the connection closes.
pub(crate) async fn serve(
    shared: &Shared,
    mut socket: TcpStream,
    peer: IpAddr,
    head: StreamRequestHead,
) {
    let opened =
        stream_request::open(shared, &head.uri, &head.headers, peer, Transport::Http1).await;
    let chunked = head.chunked;
    drop(head);
    match opened {
        Ok(open) if open.poll => poll::serve_http1(shared, socket, open).await,
        Ok(open) => stream(socket, open, chunked, shared.config.write_timeout()).await,
        Err(answer) => {
            if socket.write_all(&answer.to_http1()).await.is_ok() {
                let _ = socket.shutdown().await;
            }
        }
    }
}

/// Writes the response head, then the stream's batches (each one chunk when
/// `chunked`) until the stream ends, the client goes away, or its watchdog
/// closes it (see [`StreamWatch`]).
async fn stream(mut socket: TcpStream, open: OpenStream, chunked: bool, write_timeout: Duration) {
    let OpenStream {
        headers,
        mut stream,
        client_slot: _held_until_the_stream_ends,
        ..
    } = open;
    let mut out = BytesMut::with_capacity(256);
    out.put_slice(b"HTTP/1.1 200 OK\r\n");
    put_headers(&mut out, &headers);
    if chunked {
        out.put_slice(b"transfer-encoding: chunked\r\n");
    }
    out.put_slice(b"connection: close\r\n\r\n");
    drop(headers);
    if socket.write_all(&out).await.is_err() {
        return;
    }
    drop(out);
    let (mut reader, mut writer) = socket.split();
    let mut sink = [0u8; 64];
    // Made when a write first has to wait.
    let mut watch = None;
    loop {
        tokio::select! {
            frame = stream.frame() => {
                let Some(Ok(frame)) = frame else { break };
                let Ok(mut batch) = frame.into_data() else { continue };
                if chunked {
                    frame_as_chunk(&mut batch);
                }
                let watch = Watch { watch: &mut watch, stream: &stream, write_timeout };
                if write_batch(&mut writer, &mut batch, watch).await.is_err() {
                    return;
                }
            }
            // Anything the client sends after its request is ignored; end of
            // input or an error means it is gone.
            read = reader.read(&mut sink) => if !matches!(read, Ok(n) if n > 0) {
                return;
            },
        }
    }
    if chunked && writer.write_all(LAST_CHUNK).await.is_err() {
        return;
    }
    let _ = writer.shutdown().await;
}

/// The chunk that ends a chunked body.
const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Makes `batch` one chunk of the chunked coding: its size line in front, CRLF after.
fn frame_as_chunk(batch: &mut Batch) {
    let size = format!("{:x}\r\n", batch.remaining());
    batch.push_front(Bytes::from(size));
    batch.push(Bytes::from_static(b"\r\n"));
}

/// A stream's watchdog, made on first use.
struct Watch<'a> {
    watch: &'a mut Option<StreamWatch>,
    stream: &'a EventStream,
    write_timeout: Duration,
}

/// Writes a whole batch with as few vectored writes as the socket allows; while
/// the socket takes nothing, the stream's watchdog may end the write (and the
/// stream) with an error.
async fn write_batch(
    writer: &mut WriteHalf<'_>,
    batch: &mut Batch,
    watch: Watch<'_>,
) -> io::Result<()> {
    std::future::poll_fn(|cx| {
        while batch.has_remaining() {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let count = batch.chunks_vectored(&mut slices);
            let written = match Pin::new(&mut *writer).poll_write_vectored(cx, &slices[..count]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    let watchdog = watch
                        .watch
                        .get_or_insert_with(|| watch.stream.watch(watch.write_timeout));
                    return watchdog.poll_stalled(cx).map(|stall| {
                        Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("{stall:?}"),
                        ))
                    });
                }
            };
            batch.advance(written);
        }
        Poll::Ready(Ok(()))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// A header that is neither `host` nor one that announces a body.
    fn header() -> impl Strategy<Value = (String, String)> {
        ("x-[a-z0-9-]{1,15}", "[!-~]([ -~]{0,38}[!-~])?")
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_bytes_are_decided_without_panicking(bytes in vec(any::<u8>(), 0..600)) {
            let _ = looks_like_get(&bytes);
            let _ = head_ended(&bytes);
            let _ = parse_stream_request("/events", &bytes);
        }

        #[test]
        fn stream_requests_are_taken_whole(
            query in "(topic=[a-zA-Z0-9%._~-]{1,12}&){0,4}(lastEventId=[a-z0-9-]{1,10})?",
            headers in vec(header(), 0..8),
            bare_lf: bool,
            http11: bool,
        ) {
            let eol = if bare_lf { "\n" } else { "\r\n" };
            let version = if http11 { "1.1" } else { "1.0" };
            let mut text = format!("GET /events?{query} HTTP/{version}{eol}host: localhost{eol}");
            for (name, value) in &headers {
                text.push_str(&format!("{name}: {value}{eol}"));
            }
            text.push_str(eol);
            let bytes = text.as_bytes();
            prop_assert!(head_ended(bytes));
            prop_assert!(!head_ended(&bytes[..bytes.len() - 1]), "a head cut short is partial");
            let head = parse_stream_request("/events", bytes).expect("a stream request");
            prop_assert_eq!(head.uri.path(), "/events");
            prop_assert_eq!(head.uri.query().unwrap_or(""), query.as_str());
            prop_assert_eq!(head.chunked, http11);
            prop_assert_eq!(head.headers.len(), headers.len() + 1);
            for (name, value) in &headers {
                prop_assert!(head.headers.get_all(name.as_str()).iter().any(|v| v == value.as_str()));
            }
            // Anything after the head (a pipelined request) leaves it to hyper.
            let mut pipelined = bytes.to_vec();
            pipelined.extend_from_slice(b"GET /healthz HTTP/1.1\r\n\r\n");
            prop_assert!(parse_stream_request("/events", &pipelined).is_none());
        }

        #[test]
        fn other_requests_go_to_hyper(
            method in "(POST|PUT|HEAD|OPTIONS|get|GETS)",
            path in "/[a-z]{0,10}",
            body_header in "(content-length: [0-9]{1,4}|transfer-encoding: chunked)",
        ) {
            let other_method = format!("{method} /events HTTP/1.1\r\nhost: localhost\r\n\r\n");
            prop_assert!(parse_stream_request("/events", other_method.as_bytes()).is_none());
            if path != "/events" {
                let other_path = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n");
                prop_assert!(parse_stream_request("/events", other_path.as_bytes()).is_none());
            }
            let with_body = format!("GET /events HTTP/1.1\r\n{body_header}\r\n\r\n");
            prop_assert!(parse_stream_request("/events", with_body.as_bytes()).is_none());
        }
    }
}
