//! `reqwest-eventsource-client URL`: reads the Server-Sent Events stream at
//! `URL` with reqwest-eventsource, used as its documentation shows, and prints
//! one JSON line on stdout for everything the client hands over:
//! `{"kind":"open"}` for each (re)connection, `{"kind":"event","id":...,
//! "event":...,"data":...}` for each event, `{"kind":"error","message":...}` for
//! each error it reports (it reconnects by itself after a network error,
//! sending `Last-Event-ID`), and `{"kind":"closed"}` once it gives up.

use futures_util::StreamExt;
use reqwest_eventsource::{Event, EventSource};
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: reqwest-eventsource-client URL");
        std::process::exit(2);
    };
    let mut source = EventSource::get(url);
    while let Some(item) = source.next().await {
        let line = match item {
            Ok(Event::Open) => json!({ "kind": "open" }),
            Ok(Event::Message(message)) => json!({
                "kind": "event",
                "id": message.id,
                "event": message.event,
                "data": message.data,
            }),
            Err(error) => json!({ "kind": "error", "message": error.to_string() }),
        };
        // Rust's stdout is line-buffered: each line reaches the test at once.
        println!("{line}");
    }
    println!("{}", json!({ "kind": "closed" }));
}
