//! What a stream asks for: its topics and resume point, checked the same way
//! whether it comes from `GET /events` or from a host's in-app subscription.

use crate::error::{Error, ErrorKind, Result};
use crate::event::{check_field, validate_topic, DEFAULT_TOPIC};

/// The checked topics and resume point of one stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct StreamRequest {
    /// The topics, without duplicates, in the order first asked for; the
    /// default topic when none was named.
    pub(crate) topics: Vec<String>,
    /// The id to resume after, if any.
    pub(crate) last_event_id: Option<String>,
}

impl StreamRequest {
    /// Checks `topics` (each valid, at most `max_topics` distinct ones) and
    /// `last_event_id`. The id is trimmed of spaces and an empty one means
    /// none, as a browser sends it; a longer one than an event id may be, or
    /// one with CR, LF or NUL, can never be resumed and is an error.
    pub(crate) fn new<T: AsRef<str>>(
        max_topics: usize,
        topics: impl IntoIterator<Item = T>,
        last_event_id: Option<&str>,
    ) -> Result<Self> {
        let mut checked: Vec<String> = Vec::new();
        for topic in topics {
            let topic = topic.as_ref();
            validate_topic(topic)?;
            if checked.iter().any(|t| t == topic) {
                continue;
            }
            if checked.len() == max_topics {
                return Err(Error::new(
                    ErrorKind::InvalidTopic,
                    format!("more than {max_topics} topics requested (max_topics_per_connection)"),
                ));
            }
            checked.push(topic.to_owned());
        }
        if checked.is_empty() {
            checked.push(DEFAULT_TOPIC.to_owned());
        }
        let last_event_id = last_event_id
            .map(|id| id.trim_matches(' '))
            .filter(|id| !id.is_empty());
        if let Some(id) = last_event_id {
            check_field("Last-Event-ID", id, ErrorKind::InvalidId)?;
        }
        Ok(StreamRequest {
            topics: checked,
            last_event_id: last_event_id.map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::MAX_FIELD_BYTES;

    fn kind(result: Result<StreamRequest>) -> ErrorKind {
        result.unwrap_err().kind()
    }

    #[test]
    fn topics_deduplicated_and_defaulted() {
        let r = StreamRequest::new(32, ["a", "b", "a"], Some(" q ")).unwrap();
        assert_eq!(r.topics, ["a", "b"]);
        assert_eq!(r.last_event_id.as_deref(), Some("q"));
        let r = StreamRequest::new(32, Vec::<String>::new(), Some("")).unwrap();
        assert_eq!(r.topics, [DEFAULT_TOPIC]);
        assert_eq!(r.last_event_id, None);
    }

    #[test]
    fn bad_topics_and_ids_are_typed_errors() {
        assert_eq!(
            kind(StreamRequest::new(32, [""], None)),
            ErrorKind::InvalidTopic
        );
        assert_eq!(
            kind(StreamRequest::new(32, ["a\nb"], None)),
            ErrorKind::InvalidTopic
        );
        let err = StreamRequest::new(2, ["a", "b", "a", "c"], None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidTopic);
        assert!(err.message().contains("max_topics_per_connection"));
        let long = "x".repeat(MAX_FIELD_BYTES + 1);
        assert_eq!(
            kind(StreamRequest::new(32, ["a"], Some(&long))),
            ErrorKind::InvalidId
        );
        for bad in ["a\nb", "a\rb", "a\0b"] {
            assert_eq!(
                kind(StreamRequest::new(32, ["a"], Some(bad))),
                ErrorKind::InvalidId
            );
        }
    }
}
