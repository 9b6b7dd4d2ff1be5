//! The event a publisher hands to the engine, and the checks it must pass.

use crate::error::{Error, ErrorKind, Result};

/// The longest `event` name or `id` accepted, in bytes.
pub const MAX_FIELD_BYTES: usize = 1024;

/// The longest topic name accepted, in bytes.
pub const MAX_TOPIC_BYTES: usize = 256;

/// The topic used when a publisher or subscriber names none.
pub const DEFAULT_TOPIC: &str = "default";

/// One event to publish, borrowing its fields from the caller.
///
/// `data` is the payload; its line breaks (LF, CR or CRLF) each start a new `data:`
/// line on the wire, so the client sees them joined by LF. `event` is the type a
/// browser dispatches (none: `message`), `id` replaces the engine-assigned id, and
/// `retry` tells clients how long to wait before reconnecting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Event<'a> {
    /// The UTF-8 payload.
    pub data: &'a str,
    /// The event type; `None` means the default `message` type.
    pub event: Option<&'a str>,
    /// A publisher-chosen id, used verbatim; `None` lets the engine assign one.
    pub id: Option<&'a str>,
    /// A reconnection delay in milliseconds for the clients; `None` sends no `retry:` field.
    pub retry: Option<u32>,
}

impl<'a> Event<'a> {
    /// An event of type `message` carrying `data`.
    pub fn new(data: &'a str) -> Self {
        Event {
            data,
            ..Event::default()
        }
    }

    /// An event carrying `data`, which must be valid UTF-8.
    pub fn from_utf8(data: &'a [u8]) -> Result<Self> {
        std::str::from_utf8(data).map(Event::new).map_err(|e| {
            Error::new(
                ErrorKind::InvalidData,
                format!("data is not valid UTF-8: {e}"),
            )
        })
    }

    /// Sets the event type.
    pub fn event(mut self, name: &'a str) -> Self {
        self.event = Some(name);
        self
    }

    /// Sets a publisher-chosen id.
    pub fn id(mut self, id: &'a str) -> Self {
        self.id = Some(id);
        self
    }

    /// Sets the reconnection delay sent to clients, in milliseconds.
    pub fn retry(mut self, millis: u32) -> Self {
        self.retry = Some(millis);
        self
    }

    /// Checks the `event` name and `id`: non-empty, at most [`MAX_FIELD_BYTES`], and
    /// free of CR, LF and NUL (a client would split the field or ignore the id).
    pub fn validate(&self) -> Result<()> {
        if let Some(name) = self.event {
            check_field("event", name, ErrorKind::InvalidEventName)?;
        }
        if let Some(id) = self.id {
            check_field("id", id, ErrorKind::InvalidId)?;
        }
        Ok(())
    }
}

/// Checks a field: not empty, at most [`MAX_FIELD_BYTES`], no CR, LF or NUL;
/// an error of `kind` naming `field` otherwise.
pub(crate) fn check_field(field: &str, value: &str, kind: ErrorKind) -> Result<()> {
    if value.is_empty() {
        return Err(Error::new(kind, format!("{field} must not be empty")));
    }
    if value.len() > MAX_FIELD_BYTES {
        return Err(Error::new(
            kind,
            format!(
                "{field} is {} bytes long; the limit is {MAX_FIELD_BYTES}",
                value.len()
            ),
        ));
    }
    if let Some(bad) = value.bytes().find(|b| matches!(b, b'\r' | b'\n' | 0)) {
        let name = match bad {
            b'\r' => "a carriage return (CR)",
            b'\n' => "a line feed (LF)",
            _ => "a NUL character",
        };
        return Err(Error::new(kind, format!("{field} must not contain {name}")));
    }
    Ok(())
}

/// Checks a topic name: 1 to [`MAX_TOPIC_BYTES`] bytes with no control characters.
pub fn validate_topic(topic: &str) -> Result<()> {
    if topic.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidTopic,
            "topic must not be empty",
        ));
    }
    if topic.len() > MAX_TOPIC_BYTES {
        return Err(Error::new(
            ErrorKind::InvalidTopic,
            format!(
                "topic is {} bytes long; the limit is {MAX_TOPIC_BYTES}",
                topic.len()
            ),
        ));
    }
    if topic.chars().any(char::is_control) {
        return Err(Error::new(
            ErrorKind::InvalidTopic,
            format!("topic {topic:?} must not contain control characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_line_breaks_and_nul_in_fields() {
        for bad in ["a\nb", "a\rb", "a\0b", ""] {
            let err = Event::new("x").event(bad).validate().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidEventName, "{bad:?}");
            let err = Event::new("x").id(bad).validate().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidId, "{bad:?}");
        }
        assert!(Event::new("x").event("tick").id("42").validate().is_ok());
    }

    #[test]
    fn rejects_oversized_fields() {
        let long = "x".repeat(MAX_FIELD_BYTES + 1);
        let err = Event::new("x").id(&long).validate().unwrap_err();
        assert!(err.message().contains("limit"), "{}", err.message());
    }

    #[test]
    fn topics_are_checked() {
        assert!(validate_topic("chat/1").is_ok());
        assert!(validate_topic("é").is_ok());
        for bad in ["", "a\nb", "a\u{7f}"] {
            assert_eq!(
                validate_topic(bad).unwrap_err().kind(),
                ErrorKind::InvalidTopic
            );
        }
        assert!(validate_topic(&"t".repeat(MAX_TOPIC_BYTES + 1)).is_err());
    }

    #[test]
    fn data_must_be_utf8() {
        let err = Event::from_utf8(b"\xff").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert_eq!(Event::from_utf8(b"ok").unwrap().data, "ok");
    }
}
