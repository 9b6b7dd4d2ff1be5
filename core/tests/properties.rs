//! The encoder, checked against the WHATWG event-stream parser of the tests on
//! generated events: any payload comes back exactly (its line breaks as LF, as
//! the format defines), every field as given, one event per frame, whatever
//! the payload holds and however the bytes are split on the way.

mod support;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use ssecast::{encode_event, Event};
use support::{Item, Parser, SseEvent};

/// An event name or id the engine accepts: no CR, LF or NUL, not empty.
fn field() -> impl Strategy<Value = String> {
    "[^\r\n\u{0}]{1,24}"
}

/// Payloads rich in what could break framing: line breaks of every kind,
/// colons, field names, blank lines, NUL, leading spaces, any Unicode.
fn payload() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<String>(),
        Just("\n".to_owned()),
        Just("\r".to_owned()),
        Just("\r\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("data: injected".to_owned()),
        Just("id: 666".to_owned()),
        Just("event: evil".to_owned()),
        Just("retry: 1".to_owned()),
        Just(": comment".to_owned()),
        Just(" ".to_owned()),
        Just("\u{0}".to_owned()),
        Just("\u{feff}".to_owned()),
    ];
    vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

/// What a client sees of a payload: each line break (LF, CR or CRLF) as LF.
fn as_received(data: &str) -> String {
    data.replace("\r\n", "\n").replace('\r', "\n")
}

#[derive(Debug, Clone)]
struct Generated {
    data: String,
    event: Option<String>,
    id: String,
    retry: Option<u32>,
}

fn event() -> impl Strategy<Value = Generated> {
    (
        payload(),
        option::of(field()),
        field(),
        option::of(any::<u32>()),
    )
        .prop_map(|(data, event, id, retry)| Generated {
            data,
            event,
            id,
            retry,
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_payload_and_field_comes_back_exactly(
        events in vec(event(), 1..5),
        cuts in vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut wire = Vec::new();
        for generated in &events {
            let event = Event {
                data: &generated.data,
                event: generated.event.as_deref(),
                id: None,
                retry: generated.retry,
            };
            prop_assert!(event.validate().is_ok());
            wire.extend_from_slice(&encode_event(&event, &generated.id));
        }
        // The bytes arrive in pieces cut anywhere, even inside a character.
        let mut at: Vec<usize> = cuts.iter().map(|cut| cut.index(wire.len() + 1)).collect();
        at.sort_unstable();
        let mut parser = Parser::default();
        let mut items = Vec::new();
        let mut start = 0;
        for end in at.into_iter().chain([wire.len()]) {
            items.extend(parser.feed(&wire[start..end]));
            start = end;
        }
        let expected: Vec<Item> = events
            .iter()
            .map(|g| {
                Item::Event(SseEvent {
                    event: g.event.clone().unwrap_or_else(|| "message".into()),
                    data: as_received(&g.data),
                    id: g.id.clone(),
                })
            })
            .collect();
        prop_assert_eq!(items, expected);
        let last_retry = events.iter().rev().find_map(|g| g.retry).map(u64::from);
        prop_assert_eq!(parser.retry, last_retry);
    }
}
