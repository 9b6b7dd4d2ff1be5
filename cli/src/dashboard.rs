//! The `--dashboard` mode: a live page at `/dashboard` fed by the engine itself.
//! Every second the CLI publishes the engine's counters ([`ssecast::Stats`]) as
//! JSON to the topic [`TOPIC`]; the page follows that topic with `EventSource`
//! and charts connections, topics, publish and delivery rates and slow-consumer
//! cuts. The page sees only counters, never an event's payload or a token.

use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ssecast::{Config, Engine, Event, Stats};

/// The topic the counters are published to.
pub const TOPIC: &str = "ssecast/dashboard";

const PAGE: &str = include_str!("dashboard.html");

/// Serves the dashboard page from the engine; with authorization on, its topic
/// is public (it carries counters only).
pub fn prepare(config: &mut Config) {
    let authorization = config.jwt_secret.is_some() || config.jwt_public_key.is_some();
    if authorization && !config.public_topics.iter().any(|topic| topic == TOPIC) {
        config.public_topics.push(TOPIC.into());
    }
    let page = PAGE
        .replace("{{EVENTS_PATH}}", &config.events_path)
        .replace("{{TOPIC}}", TOPIC);
    config.dashboard_page = Some(page.into());
}

/// Publishes the engine's counters to [`TOPIC`] every second until `stop` is
/// dropped.
pub fn spawn_publisher(engine: &Arc<Engine>, stop: mpsc::Receiver<()>) -> JoinHandle<()> {
    let engine = engine.clone();
    std::thread::spawn(move || {
        while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(Duration::from_secs(1)) {
            let data = to_json(&engine.stats());
            if engine
                .publish(TOPIC, &Event::new(&data).event("stats"))
                .is_err()
            {
                return;
            }
        }
    })
}

/// The counters as a JSON object, with the time they were read (ms since the epoch).
fn to_json(stats: &Stats) -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!(
        concat!(
            "{{\"time\":{},\"connections\":{},\"topics\":{},\"published\":{},",
            "\"delivered\":{},\"bytes\":{},\"slow_consumers\":{},\"opened\":{},",
            "\"refused\":{},\"resets\":{},\"auth_failures\":{},\"rate_limited\":{}}}"
        ),
        millis,
        stats.connections,
        stats.topics,
        stats.published,
        stats.events_delivered,
        stats.bytes_delivered,
        stats.slow_consumers_dropped,
        stats.streams_opened,
        stats.streams_refused,
        stats.resets_sent,
        stats.auth_failures,
        stats.rate_limited,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_json() {
        let json = to_json(&Stats::default());
        assert!(json.starts_with("{\"time\":"), "{json}");
        assert!(json.ends_with(",\"rate_limited\":0}"), "{json}");
        assert_eq!(json.matches(':').count(), 12);
    }

    #[test]
    fn the_topic_is_public_only_when_authorization_is_on() {
        let mut open = Config::default();
        prepare(&mut open);
        assert!(open.public_topics.is_empty());
        assert!(open.validate().is_ok());

        let mut guarded = Config::default();
        guarded
            .set("jwt_secret", "a-secret-of-at-least-32-bytes-long!!")
            .unwrap();
        prepare(&mut guarded);
        prepare(&mut guarded);
        assert_eq!(guarded.public_topics, [TOPIC]);
        assert!(guarded.validate().is_ok());
        assert!(guarded.dashboard_page.is_some());
    }
}
