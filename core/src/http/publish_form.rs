//! The body of `POST /publish`: JSON or form fields `topic`, `data`, `event`, `id`, `retry`.

use serde::Deserialize;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonForm {
    topic: Option<String>,
    #[serde(default)]
    data: serde_json::Value,
    event: Option<String>,
    id: Option<String>,
    retry: Option<u32>,
}

impl PublishForm {
    /// Reads a JSON object. A string `data` is sent as it is; any other JSON value
    /// is sent as compact JSON text; a missing `data` is an empty payload.
    pub(crate) fn from_json(body: &[u8]) -> Result<Self, String> {
        let form: JsonForm =
            serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))?;
        let data = match form.data {
            serde_json::Value::String(s) => s,
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        Ok(PublishForm {
            topic: form.topic,
            data,
            event: form.event,
            id: form.id,
            retry: form.retry,
        })
    }

    /// Reads an `application/x-www-form-urlencoded` body; each field at most once.
    pub(crate) fn from_urlencoded(body: &[u8]) -> Result<Self, String> {
        let mut form = PublishForm::default();
        let mut seen = Vec::new();
        for (key, value) in form_urlencoded::parse(body) {
            if seen.contains(&key) {
                return Err(format!("field {key:?} is given more than once"));
            }
            match key.as_ref() {
                "topic" => form.topic = Some(value.into_owned()),
                "data" => form.data = value.into_owned(),
                "event" => form.event = Some(value.into_owned()),
                "id" => form.id = Some(value.into_owned()),
                "retry" => {
                    form.retry = Some(value.parse().map_err(|_| {
                        format!("retry: expected milliseconds as a whole number, got {value:?}")
                    })?)
                }
                other => return Err(format!("unknown field {other:?}")),
            }
            seen.push(key);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies() {
        let f = PublishForm::from_json(br#"{"topic":"t","data":{"a":[1, 2]},"retry":5}"#).unwrap();
        assert_eq!(
            (f.topic(), f.data.as_str(), f.retry),
            ("t", r#"{"a":[1,2]}"#, Some(5))
        );
        let f = PublishForm::from_json(br#"{"data":"x\ny"}"#).unwrap();
        assert_eq!((f.topic(), f.data.as_str()), ("default", "x\ny"));
        assert!(PublishForm::from_json(br#"{"dta":"x"}"#)
            .unwrap_err()
            .contains("dta"));
        assert!(PublishForm::from_json(br#"{"retry":-1}"#).is_err());
        assert!(PublishForm::from_json(b"[1]").is_err());
        assert!(PublishForm::from_json(b"\xff").is_err());
    }

    #[test]
    fn form_bodies() {
        let f =
            PublishForm::from_urlencoded(b"topic=a%2Fb&data=x%0Ay&event=e&id=7&retry=10").unwrap();
        assert_eq!(f.topic(), "a/b");
        assert_eq!(f.event(), Event::new("x\ny").event("e").id("7").retry(10));
        assert!(PublishForm::from_urlencoded(b"data=1&data=2")
            .unwrap_err()
            .contains("once"));
        assert!(PublishForm::from_urlencoded(b"retry=soon")
            .unwrap_err()
            .contains("retry"));
        assert!(PublishForm::from_urlencoded(b"colour=red")
            .unwrap_err()
            .contains("colour"));
    }
}
