//! The exact bytes of the `text/event-stream` wire format.
//!
//! Every frame is encoded once into an immutable [`Bytes`] that all subscribers share.

use bytes::{BufMut, Bytes, BytesMut};

use crate::event::Event;

/// The keep-alive frame: an empty comment line.
pub const KEEPALIVE: Bytes = Bytes::from_static(b":\n\n");

/// Encodes an event whose fields were already validated, with its final `id`.
///
/// Every line break of `data` (LF, CR or CRLF) starts a new `data:` line, so a
/// payload can neither end the event early nor inject a field.
pub fn encode_event(event: &Event<'_>, id: &str) -> Bytes {
    let data = event.data.as_bytes();
    let mut out = BytesMut::with_capacity(
        data.len() + id.len() + event.event.map_or(0, str::len) + 48 + data.len() / 8,
    );
    out.put_slice(b"id: ");
    out.put_slice(id.as_bytes());
    out.put_u8(b'\n');
    if let Some(name) = event.event {
        out.put_slice(b"event: ");
        out.put_slice(name.as_bytes());
        out.put_u8(b'\n');
    }
    if let Some(retry) = event.retry {
        put_retry(&mut out, retry);
    }
    put_data_lines(&mut out, data);
    out.put_u8(b'\n');
    out.freeze()
}

/// Encodes a `retry:` field alone, closed by a blank line: clients apply it and
/// dispatch nothing.
pub fn encode_retry(millis: u32) -> Bytes {
    let mut out = BytesMut::with_capacity(20);
    put_retry(&mut out, millis);
    out.put_u8(b'\n');
    out.freeze()
}

/// Encodes a comment; each line of `text` becomes its own comment line.
pub fn encode_comment(text: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(text.len() + 4);
    for line in lines(text.as_bytes()) {
        out.put_slice(b": ");
        out.put_slice(line);
        out.put_u8(b'\n');
    }
    out.put_u8(b'\n');
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
        match current.iter().position(|&b| b == b'\n' || b == b'\r') {
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
    fn other_frames() {
        assert_eq!(&encode_retry(2000)[..], b"retry: 2000\n\n");
        assert_eq!(&encode_comment("hi\nthere")[..], b": hi\n: there\n\n");
        assert_eq!(&KEEPALIVE[..], b":\n\n");
        assert_eq!(
            &encode_signal("ssecast-reset", "{}")[..],
            b"event: ssecast-reset\ndata: {}\n\n"
        );
    }
}
