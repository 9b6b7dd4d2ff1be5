//! The exact bytes of the `text/event-stream` wire format.
//!
//! Every frame is encoded once into an immutable [`Bytes`] that all subscribers share.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::event::Event;

/// The keep-alive frame: an empty comment line. No blank line follows it, so
/// no client dispatches anything (a blank line makes some clients fire an
/// empty event).
pub const KEEPALIVE: Bytes = Bytes::from_static(b":\n");

/// Encodes an event whose fields were already validated, with its final `id`.
///
/// Every line break of `data` (LF, CR or CRLF) starts a new `data:` line, so a
/// payload can neither end the event early nor inject a field.
pub fn encode_event(event: &Event<'_>, id: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(id.len() + 5 + body_capacity(event));
    out.put_slice(b"id: ");
    out.put_slice(id.as_bytes());
    out.put_u8(b'\n');
    put_body(&mut out, event);
    out.freeze()
}

/// An event encoded except for its `id:` line, with room in front for one, so
/// that the line can be written once the event's sequence number is known.
pub(crate) struct Unnumbered {
    buf: BytesMut,
    room: usize,
}

/// Encodes a validated event without its `id:` line, leaving `room` bytes in
/// front for the line.
pub(crate) fn encode_unnumbered(event: &Event<'_>, room: usize) -> Unnumbered {
    let mut buf = BytesMut::with_capacity(room + body_capacity(event));
    buf.put_bytes(0, room);
    put_body(&mut buf, event);
    Unnumbered { buf, room }
}

impl Unnumbered {
    /// The frame, with the id line that `write` puts in the room in front.
    /// `write(room, end)` writes the line so that it ends at `end` and returns
    /// where it starts.
    pub(crate) fn number(mut self, write: impl FnOnce(&mut [u8], usize) -> usize) -> Bytes {
        let start = write(&mut self.buf[..self.room], self.room);
        self.buf.advance(start);
        self.buf.freeze()
    }
}

/// Room for an event's fields after the id line.
fn body_capacity(event: &Event<'_>) -> usize {
    let data = event.data.len();
    data + event.event.map_or(0, str::len) + 40 + data / 8
}

/// Writes the `event:`, `retry:` and `data:` lines and the closing blank line.
fn put_body(out: &mut BytesMut, event: &Event<'_>) {
    if let Some(name) = event.event {
        out.put_slice(b"event: ");
        out.put_slice(name.as_bytes());
        out.put_u8(b'\n');
    }
    if let Some(retry) = event.retry {
        put_retry(out, retry);
    }
    put_data_lines(out, event.data.as_bytes());
    out.put_u8(b'\n');
}

/// Encodes a `retry:` field alone, without a blank line: clients apply it at
/// once and dispatch nothing.
pub fn encode_retry(millis: u32) -> Bytes {
    let mut out = BytesMut::with_capacity(20);
    put_retry(&mut out, millis);
    out.freeze()
}

/// Encodes a comment; each line of `text` becomes its own comment line. No
/// blank line follows, so no client dispatches anything.
pub fn encode_comment(text: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(text.len() + 4);
    for line in lines(text.as_bytes()) {
        out.put_slice(b": ");
        out.put_slice(line);
        out.put_u8(b'\n');
    }
    out.freeze()
}

/// Encodes an event with a type and data but no id (used for the engine's own
/// signals, which must not move the client's last event id).
pub fn encode_signal(event: &str, data: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(event.len() + data.len() + 24);
    out.put_slice(b"event: ");
    out.put_slice(event.as_bytes());
    out.put_u8(b'\n');
    put_data_lines(&mut out, data.as_bytes());
    out.put_u8(b'\n');
    out.freeze()
}

fn put_retry(out: &mut BytesMut, millis: u32) {
    out.put_slice(b"retry: ");
    out.put_slice(millis.to_string().as_bytes());
    out.put_u8(b'\n');
}

fn put_data_lines(out: &mut BytesMut, data: &[u8]) {
    for line in lines(data) {
        out.put_slice(b"data: ");
        out.put_slice(line);
        out.put_u8(b'\n');
    }
}

/// Splits on LF, CR and CRLF; an empty input is one empty line, and a trailing
/// break yields a trailing empty line (so the payload round-trips exactly).
fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr2(b'\n', b'\r', current) {
            Some(at) => {
                let skip = if current[at] == b'\r' && current.get(at + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                rest = Some(&current[at + skip..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(event: Event<'_>) -> String {
        String::from_utf8(encode_event(&event, "7").to_vec()).unwrap()
    }

    #[test]
    fn golden_bytes() {
        assert_eq!(wire(Event::new("hello")), "id: 7\ndata: hello\n\n");
        assert_eq!(wire(Event::new("")), "id: 7\ndata: \n\n");
        assert_eq!(wire(Event::new("a\nb")), "id: 7\ndata: a\ndata: b\n\n");
        assert_eq!(wire(Event::new("a\rb")), "id: 7\ndata: a\ndata: b\n\n");
        assert_eq!(wire(Event::new("a\r\nb")), "id: 7\ndata: a\ndata: b\n\n");
        assert_eq!(
            wire(Event::new("a\n\rb")),
            "id: 7\ndata: a\ndata: \ndata: b\n\n"
        );
        assert_eq!(wire(Event::new("a\n")), "id: 7\ndata: a\ndata: \n\n");
        assert_eq!(wire(Event::new("\n")), "id: 7\ndata: \ndata: \n\n");
        assert_eq!(wire(Event::new(" lead")), "id: 7\ndata:  lead\n\n");
        assert_eq!(
            wire(Event::new("x").event("tick").retry(1500)),
            "id: 7\nevent: tick\nretry: 1500\ndata: x\n\n"
        );
        assert_eq!(
            wire(Event::new("\n\ndata: evil\nid: 9\n\nevent: x")),
            "id: 7\ndata: \ndata: \ndata: data: evil\ndata: id: 9\ndata: \ndata: event: x\n\n"
        );
        assert_eq!(wire(Event::new("héllo 🎉")), "id: 7\ndata: héllo 🎉\n\n");
    }

    #[test]
    fn unnumbered_frames_match_numbered_ones() {
        for event in [
            Event::new("hello"),
            Event::new("a\r\nb").event("tick").retry(5),
            Event::new(""),
        ] {
            let frame = encode_unnumbered(&event, 16).number(|room, end| {
                room[end - 6..end].copy_from_slice(b"id: 7\n");
                end - 6
            });
            assert_eq!(frame, encode_event(&event, "7"));
        }
    }

    #[test]
    fn other_frames() {
        assert_eq!(&encode_retry(2000)[..], b"retry: 2000\n");
        assert_eq!(&encode_comment("hi\nthere")[..], b": hi\n: there\n");
        assert_eq!(&KEEPALIVE[..], b":\n");
        assert_eq!(
            &encode_signal("ssecast-reset", "{}")[..],
            b"event: ssecast-reset\ndata: {}\n\n"
        );
    }
}
