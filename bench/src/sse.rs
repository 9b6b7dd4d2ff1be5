//! Reading an event stream the way a browser does: the HTTP/1.1 response head,
//! the chunked transfer coding, and the WHATWG `text/event-stream` parser.
//!
//! Everything is incremental and allocation-free in the steady state: bytes
//! arrive in arbitrary pieces and each piece is fed through once.

use memchr::memchr2;

/// What a response head said about the body that follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// Whether the body uses the chunked transfer coding.
    pub chunked: bool,
    /// The body length when `Content-Length` was given.
    pub content_length: Option<usize>,
    /// Bytes the head took, including the blank line.
    pub len: usize,
}

/// Parses a response head at the start of `buf`; `None` while incomplete.
pub fn parse_head(buf: &[u8]) -> Option<Result<Head, String>> {
    let end = memchr::memmem::find(buf, b"\r\n\r\n")?;
    let text = String::from_utf8_lossy(&buf[..end]);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = match status_line.split(' ').nth(1).and_then(|s| s.parse().ok()) {
        Some(status) => status,
        None => return Some(Err(format!("bad status line {status_line:?}"))),
    };
    let mut head = Head {
        status,
        chunked: false,
        content_length: None,
        len: end + 4,
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            head.content_length = value.parse().ok();
        }
    }
    Some(Ok(head))
}

/// Decodes the chunked transfer coding incrementally.
#[derive(Debug, Default)]
pub struct Chunked {
    state: ChunkState,
    size: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Reading the hexadecimal size.
    #[default]
    Size,
    /// Skipping a chunk extension up to the end of the size line.
    Extension,
    /// Reading `size` more bytes of data.
    Data,
    /// Skipping the CRLF after the data.
    DataEnd,
    /// The last chunk was read.
    Done,
}

impl Chunked {
    /// Feeds `input`, handing each run of body bytes to `out`. Returns an error
    /// on malformed framing and `Ok(true)` once the terminating chunk was seen.
    pub fn feed(&mut self, mut input: &[u8], mut out: impl FnMut(&[u8])) -> Result<bool, String> {
        while !input.is_empty() {
            match self.state {
                ChunkState::Size => {
                    let byte = input[0];
                    input = &input[1..];
                    match byte {
                        b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                            let digit = (byte as char).to_digit(16).unwrap_or(0) as usize;
                            self.size = self
                                .size
                                .checked_mul(16)
                                .and_then(|s| s.checked_add(digit))
                                .ok_or("chunk size overflows")?;
                        }
                        b'\r' | b';' | b' ' | b'\t' => self.state = ChunkState::Extension,
                        b'\n' => self.end_size_line(),
                        _ => return Err(format!("bad chunk size byte {byte:#x}")),
                    }
                }
                ChunkState::Extension => match memchr::memchr(b'\n', input) {
                    Some(at) => {
                        input = &input[at + 1..];
                        self.end_size_line();
                    }
                    None => input = &[],
                },
                ChunkState::Data => {
                    let take = self.size.min(input.len());
                    out(&input[..take]);
                    input = &input[take..];
                    self.size -= take;
                    if self.size == 0 {
                        self.state = ChunkState::DataEnd;
                    }
                }
                ChunkState::DataEnd => match memchr::memchr(b'\n', input) {
                    Some(at) => {
                        input = &input[at + 1..];
                        self.state = ChunkState::Size;
                    }
                    None => input = &[],
                },
                ChunkState::Done => return Ok(true),
            }
        }
        Ok(self.state == ChunkState::Done)
    }

    fn end_size_line(&mut self) {
        self.state = if self.size == 0 {
            ChunkState::Done
        } else {
            ChunkState::Data
        };
    }
}

/// The WHATWG event-stream parser: lines end with CRLF, LF or CR; `data`
/// lines accumulate; a blank line dispatches; comments and unknown fields are
/// ignored; a leading BOM is dropped.
#[derive(Debug, Default)]
pub struct Parser {
    /// A line not yet ended by a line break.
    partial: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    /// The previous piece ended with CR: a leading LF belongs to that break.
    after_cr: bool,
    started: bool,
    event_type: Vec<u8>,
    /// The last event id buffer (what a browser sends as `Last-Event-ID`).
    pub last_event_id: Vec<u8>,
    /// The `retry` value last received.
    pub retry_ms: Option<u64>,
    /// Comment lines seen.
    pub comments: u64,
}

impl Parser {
    /// Feeds body bytes; `on_event(event_type, data)` runs for each dispatched event.
    pub fn feed(&mut self, mut input: &[u8], on_event: &mut impl FnMut(&[u8], &[u8])) {
        if !self.started {
            if self.partial.len() + input.len() < 3 && b"\xEF\xBB\xBF".starts_with(input) {
                self.partial.extend_from_slice(input);
                return;
            }
            self.started = true;
            if let Some(rest) = input.strip_prefix(b"\xEF\xBB\xBF") {
                input = rest;
            }
        }
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = input.strip_prefix(b"\n") {
                input = rest;
            }
        }
        while let Some(at) = memchr2(b'\n', b'\r', input) {
            let line_end = at;
            let cr = input[at] == b'\r';
            if self.partial.is_empty() {
                self.line(&input[..line_end], on_event);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&input[..line_end]);
                self.line(&line, on_event);
                line.clear();
                self.partial = line;
            }
            input = &input[at + 1..];
            if cr {
                match input.first() {
                    Some(b'\n') => input = &input[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
        }
        self.partial.extend_from_slice(input);
    }

    fn line(&mut self, line: &[u8], on_event: &mut impl FnMut(&[u8], &[u8])) {
        if line.is_empty() {
            self.dispatch(on_event);
            return;
        }
        if line[0] == b':' {
            self.comments += 1;
            return;
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
                self.has_data = true;
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.extend_from_slice(value);
            }
            b"id" if !value.contains(&0) => {
                self.last_event_id.clear();
                self.last_event_id.extend_from_slice(value);
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry_ms = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, on_event: &mut impl FnMut(&[u8], &[u8])) {
        if !self.has_data {
            self.event_type.clear();
            return;
        }
        self.data.pop();
        let kind: &[u8] = if self.event_type.is_empty() {
            b"message"
        } else {
            &self.event_type
        };
        on_event(kind, &self.data);
        self.data.clear();
        self.event_type.clear();
        self.has_data = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(pieces: &[&[u8]]) -> Vec<(String, String)> {
        let mut parser = Parser::default();
        let mut out = Vec::new();
        for piece in pieces {
            parser.feed(piece, &mut |kind, data| {
                out.push((
                    String::from_utf8_lossy(kind).into_owned(),
                    String::from_utf8_lossy(data).into_owned(),
                ))
            });
        }
        out
    }

    #[test]
    fn line_breaks_fields_and_comments() {
        let got = events(&[
            b"\xEF\xBB\xBF: ok\r\n\r\nid: 1\r",
            b"\nevent: x\rdata:a\ndata: b\n\n",
        ]);
        assert_eq!(got, vec![("x".into(), "a\nb".into())]);
    }

    #[test]
    fn split_anywhere_and_empty_data_is_skipped() {
        let stream = b"retry: 10\n\ndata: 12 34\n\ndata\n\nid: 3\n\n";
        let whole = events(&[stream]);
        let pieces: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(events(&pieces), whole);
        assert_eq!(
            whole,
            vec![
                ("message".into(), "12 34".into()),
                ("message".into(), "".into())
            ]
        );
    }

    #[test]
    fn chunked_body_and_head() {
        let head = parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nrest")
            .unwrap()
            .unwrap();
        assert!(head.chunked && head.status == 200 && head.len == 47);
        let mut chunked = Chunked::default();
        let mut body = Vec::new();
        let done = chunked
            .feed(b"5;x=y\r\nhello\r\n1\r\n!\r\n0\r\n\r\n", |b| {
                body.extend_from_slice(b)
            })
            .unwrap();
        assert!(done);
        assert_eq!(body, b"hello!");
    }
}
