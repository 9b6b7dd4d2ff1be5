//! What the server says once it listens: where, what it serves, and whether
//! HTTP publishing is on (and how to turn it on when it is off).

use std::net::SocketAddr;

use ssecast::Config;

/// The facts of the start-up message, taken from the configuration before the
/// engine consumes it.
#[derive(Debug, Clone)]
pub struct Startup {
    events_path: String,
    publish_path: String,
    publishing: bool,
    demo: bool,
    dashboard: bool,
}

impl Startup {
    /// Reads what the message reports from `config` (the dashboard page
    /// included); `demo` tells whether the demo page is served at `/`.
    pub fn new(config: &Config, demo: bool) -> Self {
        Startup {
            events_path: config.events_path.clone(),
            publish_path: config.publish_path.clone(),
            publishing: config.publish_token.is_some(),
            demo,
            dashboard: config.dashboard_page.is_some(),
        }
    }

    /// The lines to print once the engine listens on `addr`.
    pub fn lines(&self, addr: SocketAddr) -> [String; 2] {
        let demo = if self.demo { ", demo page at /" } else { "" };
        let dashboard = if self.dashboard {
            ", dashboard at /dashboard"
        } else {
            ""
        };
        let listening = format!(
            "ssecast listening on http://{addr}/ (events at {}{demo}{dashboard})",
            self.events_path
        );
        let publishing = if self.publishing {
            format!(
                "ssecast: HTTP publishing is on: POST {} with the header \
                 \"Authorization: Bearer <publish token>\"",
                self.publish_path
            )
        } else {
            format!(
                "ssecast: HTTP publishing is off; to turn on POST {}, start with \
                 --publish-token TOKEN (or set SSECAST_PUBLISH_TOKEN)",
                self.publish_path
            )
        };
        [listening, publishing]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(set: &[(&str, &str)], demo: bool) -> [String; 2] {
        let mut config = Config::default();
        for (key, value) in set {
            config.set(key, value).unwrap();
        }
        Startup::new(&config, demo).lines("127.0.0.1:8080".parse().unwrap())
    }

    #[test]
    fn says_where_it_listens() {
        let [listening, _] = lines(&[("events_path", "/sse")], false);
        assert_eq!(
            listening,
            "ssecast listening on http://127.0.0.1:8080/ (events at /sse)"
        );
        let [listening, _] = lines(&[], true);
        assert!(
            listening.ends_with("(events at /events, demo page at /)"),
            "{listening}"
        );
        let mut config = Config::default();
        crate::dashboard::prepare(&mut config);
        let [listening, _] = Startup::new(&config, false).lines("127.0.0.1:8080".parse().unwrap());
        assert!(
            listening.ends_with("(events at /events, dashboard at /dashboard)"),
            "{listening}"
        );
    }

    #[test]
    fn says_publishing_is_off_and_how_to_turn_it_on() {
        // An empty token (`--publish-token "$TOKEN"` with TOKEN unset) is no token.
        for set in [&[][..], &[("publish_token", "")][..]] {
            let [_, publishing] = lines(set, false);
            assert!(
                publishing.contains("HTTP publishing is off"),
                "{publishing}"
            );
            assert!(publishing.contains("--publish-token TOKEN"), "{publishing}");
            assert!(publishing.contains("SSECAST_PUBLISH_TOKEN"), "{publishing}");
        }
    }

    #[test]
    fn says_publishing_is_on_without_printing_the_token() {
        let [_, publishing] = lines(
            &[("publish_token", "s3cret"), ("publish_path", "/pub")],
            false,
        );
        assert!(
            publishing.contains("HTTP publishing is on: POST /pub"),
            "{publishing}"
        );
        assert!(!publishing.contains("s3cret"), "{publishing}");
    }
}
