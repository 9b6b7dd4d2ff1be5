//! The `--demo` mode: a live page at `/` and a ticker that publishes every second.

use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ssecast::{Config, Engine, Event};

const PAGE: &str = include_str!("demo.html");

/// Serves the demo page from the engine. The page publishes with the configured
/// publish token, or with a fresh random one when none is set; returns the token.
/// The engine hands the page (and so the token) only to `localhost` names and
/// loopback addresses, never to a page on another name (DNS rebinding).
pub fn prepare(config: &mut Config) -> String {
    let token = config
        .publish_token
        .get_or_insert_with(random_token)
        .clone();
    let page = PAGE
        .replace("{{PUBLISH_TOKEN}}", &js_escape(&token))
        .replace("{{EVENTS_PATH}}", &config.events_path)
        .replace("{{PUBLISH_PATH}}", &config.publish_path);
    config.index_page = Some(page.into());
    token
}

/// Publishes a `tick` event to the `ticker` topic every second until `stop`
/// is dropped.
pub fn spawn_ticker(engine: &Arc<Engine>, stop: mpsc::Receiver<()>) -> JoinHandle<()> {
    let engine = engine.clone();
    std::thread::spawn(move || {
        let mut n: u64 = 0;
        while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(Duration::from_secs(1)) {
            n += 1;
            let stats = engine.stats();
            let millis = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let data = format!(
                "{{\"n\":{n},\"time\":{millis},\"clients\":{},\"published\":{}}}",
                stats.connections, stats.published
            );
            if engine
                .publish("ticker", &Event::new(&data).event("tick"))
                .is_err()
            {
                return;
            }
        }
    })
}

/// Escapes a token for a JavaScript string literal (tokens are printable ASCII).
fn js_escape(token: &str) -> String {
    token
        .replace('\\', "\\\\")
        .replace('\'', "\\'")
        .replace('<', "\\x3c")
}

fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    (0..2)
        .map(|_| {
            let h = std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish();
            format!("{h:016x}")
        })
        .collect()
}
