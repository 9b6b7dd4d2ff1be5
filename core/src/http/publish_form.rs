//! The body of `POST /publish`: JSON or form fields `topic`, `data`, `event`, `id`, `retry`.
//!
//! Nothing accepted is rewritten: a JSON `data` that is not a string is sent
//! as its own text, exactly as the body gives it (big numbers, exponents,
//! repeated keys and whitespace included), and text that is not valid Unicode
//! (invalid UTF-8 in a form, a lone surrogate escape in JSON) is refused with
//! the error kind of its field, as every binding refuses it.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::urlencoded;
use crate::error::{Error, ErrorKind};
use crate::event::{Event, DEFAULT_TOPIC};

/// A publish request read from an HTTP body, owning its fields.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PublishForm {
    pub(crate) topic: Option<String>,
    pub(crate) data: String,
    pub(crate) event: Option<String>,
    pub(crate) id: Option<String>,
    pub(crate) retry: Option<u32>,
}

/// Why a body was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Not a publish body at all (bad syntax, an unknown or repeated field, a
    /// value of the wrong type): `400 BAD_REQUEST`.
    Malformed(String),
    /// A field whose text cannot be published: `400` with the field's error kind.
    Field(Error),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonForm<'a> {
    #[serde(borrow)]
    topic: Option<&'a RawValue>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    #[serde(borrow)]
    event: Option<&'a RawValue>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    retry: Option<u32>,
}

impl PublishForm {
    /// Reads a JSON object. A string `data` is sent as the string; any other
    /// JSON value is sent as its JSON text as given; `null` or no `data` is an
    /// empty payload.
    pub(crate) fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        let form: JsonForm = serde_json::from_slice(body)
            .map_err(|e| BodyError::Malformed(format!("invalid JSON body: {e}")))?;
        let data = match form.data {
            Some(raw) if raw.get().starts_with('"') => {
                json_string("data", raw, ErrorKind::InvalidData)?
            }
            Some(raw) if raw.get() != "null" => raw.get().to_owned(),
            _ => String::new(),
        };
        Ok(PublishForm {
            topic: json_text("topic", form.topic, ErrorKind::InvalidTopic)?,
            data,
            event: json_text("event", form.event, ErrorKind::InvalidEventName)?,
            id: json_text("id", form.id, ErrorKind::InvalidId)?,
            retry: form.retry,
        })
    }

    /// Reads an `application/x-www-form-urlencoded` body; each field at most once.
    pub(crate) fn from_urlencoded(body: &[u8]) -> Result<Self, BodyError> {
        let mut form = PublishForm::default();
        let mut seen: Vec<String> = Vec::new();
        for (name, value) in urlencoded::pairs(body) {
            let name = String::from_utf8_lossy(&name).into_owned();
            if seen.contains(&name) {
                return Err(BodyError::Malformed(format!(
                    "field {name:?} is given more than once"
                )));
            }
            let text = |kind: ErrorKind| {
                String::from_utf8(value.clone()).map_err(|_| {
                    BodyError::Field(Error::new(kind, format!("{name} is not valid UTF-8")))
                })
            };
            match name.as_str() {
                "topic" => form.topic = Some(text(ErrorKind::InvalidTopic)?),
                "data" => form.data = text(ErrorKind::InvalidData)?,
                "event" => form.event = Some(text(ErrorKind::InvalidEventName)?),
                "id" => form.id = Some(text(ErrorKind::InvalidId)?),
                "retry" => {
                    let text = String::from_utf8_lossy(&value);
                    form.retry = Some(text.parse().map_err(|_| {
                        BodyError::Malformed(format!(
                            "retry: expected milliseconds as a whole number, got {text:?}"
                        ))
                    })?)
                }
                other => return Err(BodyError::Malformed(format!("unknown field {other:?}"))),
            }
            seen.push(name);
        }
        Ok(form)
    }

    /// The topic to publish to (`default` when none was given).
    pub(crate) fn topic(&self) -> &str {
        self.topic.as_deref().unwrap_or(DEFAULT_TOPIC)
    }

    /// The event, borrowing the fields.
    pub(crate) fn event(&self) -> Event<'_> {
        Event {
            data: &self.data,
            event: self.event.as_deref(),
            id: self.id.as_deref(),
            retry: self.retry,
        }
    }
}

/// An optional JSON string field: `null` or absent is `None`.
fn json_text(
    name: &str,
    raw: Option<&RawValue>,
    kind: ErrorKind,
) -> Result<Option<String>, BodyError> {
    match raw {
        None => Ok(None),
        Some(raw) if raw.get() == "null" => Ok(None),
        Some(raw) if raw.get().starts_with('"') => json_string(name, raw, kind).map(Some),
        Some(_) => Err(BodyError::Malformed(format!("{name} must be a string"))),
    }
}

/// A JSON string's text; one that is not valid Unicode (a lone surrogate
/// escape such as `"\ud800"`) is an error of `kind`.
fn json_string(name: &str, raw: &RawValue, kind: ErrorKind) -> Result<String, BodyError> {
    serde_json::from_str(raw.get()).map_err(|e| {
        BodyError::Field(Error::new(
            kind,
            format!("{name} is not valid Unicode: {e}"),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn field_error(result: Result<PublishForm, BodyError>) -> ErrorKind {
        match result {
            Err(BodyError::Field(e)) => e.kind(),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    fn malformed(result: Result<PublishForm, BodyError>) -> String {
        match result {
            Err(BodyError::Malformed(message)) => message,
            other => panic!("expected a malformed body, got {other:?}"),
        }
    }

    #[test]
    fn json_bodies() {
        let f = PublishForm::from_json(br#"{"topic":"t","data":{"a":[1,2]},"retry":5}"#).unwrap();
        assert_eq!(
            (f.topic(), f.data.as_str(), f.retry),
            ("t", r#"{"a":[1,2]}"#, Some(5))
        );
        let f = PublishForm::from_json(br#"{"data":"x\ny","id":null}"#).unwrap();
        assert_eq!(
            (f.topic(), f.data.as_str(), f.id.as_deref()),
            ("default", "x\ny", None)
        );
        assert!(malformed(PublishForm::from_json(br#"{"dta":"x"}"#)).contains("dta"));
        assert!(malformed(PublishForm::from_json(br#"{"topic":5}"#)).contains("topic"));
        malformed(PublishForm::from_json(br#"{"retry":-1}"#));
        malformed(PublishForm::from_json(b"[1]"));
        malformed(PublishForm::from_json(b"\xff"));
    }

    #[test]
    fn json_data_is_sent_as_given() {
        for data in [
            "123456789012345678901234567890",
            "18446744073709551616",
            "1E2",
            "-0.0",
            r#"{"a":1,"a":2}"#,
            "{ \"spaced\" : [ 1 ,\n 2 ] }",
            r#"["\u00e9","\ud83d\ude00"]"#,
            "true",
        ] {
            let body = format!(r#"{{"data": {data} }}"#);
            let f = PublishForm::from_json(body.as_bytes()).unwrap();
            assert_eq!(f.data, data);
        }
        assert_eq!(
            PublishForm::from_json(br#"{"data":null}"#).unwrap().data,
            ""
        );
    }

    #[test]
    fn lone_surrogates_are_refused_with_the_field_kind() {
        for (field, kind) in [
            ("data", ErrorKind::InvalidData),
            ("topic", ErrorKind::InvalidTopic),
            ("event", ErrorKind::InvalidEventName),
            ("id", ErrorKind::InvalidId),
        ] {
            let body = format!(r#"{{"{field}":"a\ud800"}}"#);
            assert_eq!(field_error(PublishForm::from_json(body.as_bytes())), kind);
        }
        // A surrogate pair is a character.
        let f = PublishForm::from_json(br#"{"data":"\ud83d\ude00"}"#).unwrap();
        assert_eq!(f.data, "\u{1f600}");
    }

    #[test]
    fn form_bodies() {
        let f = PublishForm::from_urlencoded(b"topic=a%2Fb&data=x%0Ay+z&event=e&id=7&retry=10")
            .unwrap();
        assert_eq!(f.topic(), "a/b");
        assert_eq!(f.event(), Event::new("x\ny z").event("e").id("7").retry(10));
        assert!(malformed(PublishForm::from_urlencoded(b"data=1&data=2")).contains("once"));
        assert!(malformed(PublishForm::from_urlencoded(b"retry=soon")).contains("retry"));
        assert!(malformed(PublishForm::from_urlencoded(b"colour=red")).contains("colour"));
        assert_eq!(
            PublishForm::from_urlencoded(b"data=%EF%BF%BD")
                .unwrap()
                .data,
            "\u{fffd}",
            "a real U+FFFD is fine"
        );
    }

    #[test]
    fn invalid_utf8_in_a_form_is_refused_with_the_field_kind() {
        for (body, kind) in [
            (&b"data=%ff%fe"[..], ErrorKind::InvalidData),
            (b"topic=%c3", ErrorKind::InvalidTopic),
            (b"event=a%80", ErrorKind::InvalidEventName),
            (b"id=\xff", ErrorKind::InvalidId),
        ] {
            assert_eq!(field_error(PublishForm::from_urlencoded(body)), kind);
        }
    }

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// JSON texts of values that are not strings, as a publisher may write them.
    fn json_value_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "-?(0|[1-9][0-9]{0,40})(\\.[0-9]{1,12})?([eE][+-]?[0-9]{1,3})?",
            "(true|false)",
            "\\[( ?-?(0|[1-9][0-9]{0,5}) ?,){0,3} ?(0|[1-9][0-9]{0,5}) ?\\]",
            "\\{( ?\"[a-z]{1,3}\" ?: ?(0|[1-9][0-9]{0,2}) ?,){0,3} ?\"[a-z]{1,3}\" ?: ?(0|[1-9][0-9]{0,2}) ?\\}",
        ]
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_body_is_read_or_refused_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = PublishForm::from_json(&bytes);
            let _ = PublishForm::from_urlencoded(&bytes);
        }

        #[test]
        fn form_fields_round_trip(topic in any::<String>(), data in any::<String>(), event in any::<String>(), id in any::<String>(), retry: u32) {
            let body = form_urlencoded::Serializer::new(String::new())
                .append_pair("topic", &topic)
                .append_pair("data", &data)
                .append_pair("event", &event)
                .append_pair("id", &id)
                .append_pair("retry", &retry.to_string())
                .finish();
            let form = PublishForm::from_urlencoded(body.as_bytes()).unwrap();
            prop_assert_eq!(form, PublishForm { topic: Some(topic), data, event: Some(event), id: Some(id), retry: Some(retry) });
        }

        #[test]
        fn json_fields_round_trip(topic in any::<String>(), data in any::<String>(), id in any::<String>()) {
            let body = serde_json::json!({"topic": topic, "data": data, "id": id}).to_string();
            let form = PublishForm::from_json(body.as_bytes()).unwrap();
            prop_assert_eq!(form, PublishForm { topic: Some(topic), data, id: Some(id), ..PublishForm::default() });
        }

        #[test]
        fn json_data_that_is_not_a_string_is_sent_as_written(data in json_value_text()) {
            let body = format!("{{\"data\": {data} , \"topic\":\"t\"}}");
            let form = PublishForm::from_json(body.as_bytes()).unwrap();
            prop_assert_eq!(form.data, data);
        }
    }
}
