//! The event-stream parser of the WHATWG HTML standard ("Server-sent events",
//! interpreting an event stream), written from the spec for the tests.

/// A dispatched event, as a browser's `MessageEvent` would carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The event type (`message` when the stream named none).
    pub event: String,
    pub data: String,
    /// The last event id at dispatch time (it persists across events).
    pub id: String,
}

/// What the parser yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Event(SseEvent),
    /// A comment line, without its leading colon (and without one leading space).
    Comment(String),
}

/// Feeds bytes in any chunking; yields items as lines complete.
#[derive(Debug, Default)]
pub struct Parser {
    line: Vec<u8>,
    after_cr: bool,
    bom_checked: bool,
    data: String,
    event: String,
    last_id: String,
    /// The reconnection time set by a `retry:` field.
    pub retry: Option<u64>,
}

impl Parser {
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Item> {
        let mut out = Vec::new();
        for &b in bytes {
            match b {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    self.line_done(&line, &mut out);
                }
                _ => {
                    self.after_cr = false;
                    self.line.push(b);
                }
            }
        }
        out
    }

    fn line_done(&mut self, raw: &[u8], out: &mut Vec<Item>) {
        let mut text = String::from_utf8_lossy(raw).into_owned();
        // A BOM at the very start of the stream is skipped.
        if !self.bom_checked {
            self.bom_checked = true;
            if let Some(rest) = text.strip_prefix('\u{feff}') {
                text = rest.to_owned();
            }
        }
        if text.is_empty() {
            self.dispatch(out);
            return;
        }
        if let Some(comment) = text.strip_prefix(':') {
            out.push(Item::Comment(
                comment.strip_prefix(' ').unwrap_or(comment).to_owned(),
            ));
            return;
        }
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_str(), ""),
        };
        match field {
            "event" => self.event = value.to_owned(),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => self.last_id = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse().ok();
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Item>) {
        if self.data.is_empty() {
            self.event.clear();
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        if data.ends_with('\n') {
            data.pop();
        }
        let event = std::mem::take(&mut self.event);
        out.push(Item::Event(SseEvent {
            event: if event.is_empty() {
                "message".into()
            } else {
                event
            },
            data,
            id: self.last_id.clone(),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(input: &[u8]) -> Vec<Item> {
        Parser::default().feed(input)
    }

    #[test]
    fn follows_the_spec_examples() {
        let got = events(b"data: YHOO\ndata: +2\ndata: 10\n\n");
        assert_eq!(
            got,
            vec![Item::Event(SseEvent {
                event: "message".into(),
                data: "YHOO\n+2\n10".into(),
                id: String::new()
            })]
        );
        // CR and CRLF line ends, split across chunks.
        let mut p = Parser::default();
        let mut got = p.feed(b"id: 1\r");
        got.extend(p.feed(b"\ndata:x\r\r"));
        assert_eq!(got.len(), 1);
        // A field with no colon, and an empty data buffer dispatching nothing.
        assert!(events(b"data\n\n").len() == 1);
        assert!(events(b"event: x\n\n").is_empty());
    }
}
