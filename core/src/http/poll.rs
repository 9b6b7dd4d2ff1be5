//! Long-poll (`GET <events_path>?...&transport=poll`): one complete answer
//! instead of a stream, for clients behind proxies that buffer whole responses.
//!
//! The request goes through [`stream_request::open`](super::stream_request::open)
//! like a stream (same checks, same replay and reset), then [`answer`] drives
//! the opened stream until its first batch of events, the `poll_timeout_ms`
//! wait, or stop, and answers `200 text/event-stream` with a `Content-Length`:
//!
//! - pending events after the client's id come at once (one batch at most, as a
//!   stream writes them; the client polls again at once for the rest);
//! - with none pending, the first events published within the wait; after the
//!   wait, an empty body;
//! - when the id cannot be resumed exactly, the reset signal comes at once,
//!   followed by an id-only block (`id: <position>` and a blank line) naming
//!   the live position, which the next poll resumes from with no reset. A poll
//!   without an id starts with the same block, so that nothing published
//!   between it and the next poll is lost.
//!
//! No `: ok` comment, `retry:` field or keep-alive is sent. The HTTP/1 fast
//! path closes the connection after the answer, as after its error answers;
//! hyper (HTTP/1 with a body, h2c) keeps it open.

use std::time::Duration;

use bytes::{BufMut, BytesMut};
use http::StatusCode;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::response::Answer;
use super::shared::Shared;
use super::stream_request::OpenStream;

/// Answers a long-poll with the events its stream yields first, or with none
/// after `poll_timeout_ms`.
pub(crate) async fn answer(shared: &Shared, open: OpenStream) -> Answer {
    let OpenStream {
        headers,
        mut stream,
        ..
    } = open;
    let start = stream.take_start();
    let mut body = BytesMut::new();
    if let Some(signal) = &start.reset {
        body.put_slice(signal);
    }
    if start.reset.is_some() || !start.resumed {
        body.put_slice(b"id: ");
        body.put_slice(shared.hub.id_of(start.after).as_bytes());
        body.put_slice(b"\n\n");
    }
    // A reset is news enough: the client reloads its state now.
    if start.reset.is_none() {
        let wait = Duration::from_millis(shared.config.poll_timeout_ms);
        if let Ok(Some(Ok(frame))) = tokio::time::timeout(wait, stream.frame()).await {
            if let Ok(batch) = frame.into_data() {
                body.put(batch);
            }
        }
    }
    stream.answered();
    drop(stream);
    let mut answer = Answer::new(StatusCode::OK, "text/event-stream", body.freeze());
    answer.headers_mut().extend(headers);
    answer
}

/// Answers a long-poll on the HTTP/1 fast path, then closes the connection. A
/// client that goes away during the wait ends it.
pub(crate) async fn serve_http1(shared: &Shared, mut socket: TcpStream, open: OpenStream) {
    let (mut reader, mut writer) = socket.split();
    let answer = tokio::select! {
        answer = answer(shared, open) => answer,
        () = closed(&mut reader) => return,
    };
    if writer.write_all(&answer.to_http1()).await.is_ok() {
        let _ = writer.shutdown().await;
    }
}

/// Resolves when the client closes its side or the connection fails; anything
/// it sends meanwhile is ignored.
async fn closed(reader: &mut tokio::net::tcp::ReadHalf<'_>) {
    let mut sink = [0u8; 64];
    while matches!(reader.read(&mut sink).await, Ok(n) if n > 0) {}
}
