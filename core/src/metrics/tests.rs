use std::time::Duration;

use super::*;

fn sample_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

fn value_of<'a>(text: &'a str, series: &str) -> Option<&'a str> {
    sample_lines(text)
        .into_iter()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
}

#[test]
fn records_and_exports_with_bounded_labels() {
    let metrics = Metrics::new();
    metrics.stream_opened(Transport::Http1);
    metrics.stream_opened(Transport::Http2);
    metrics.stream_closed(Transport::Http2, Duration::from_millis(1500));
    metrics.delivered(3, 120);
    metrics.delivered(0, 3);
    metrics.slow_consumer();
    metrics.reset_sent(ResetReason::HistoryGap);
    metrics.refused(Refusal::Origin);
    metrics.auth_refused(AuthFailure::TokenInvalid);
    metrics.auth_refused(AuthFailure::TokenInvalid);
    metrics.rate_limited(RateLimit::ConnectionRate);
    metrics.publish_to_write(Duration::from_micros(300));
    let mut stats = Stats {
        topics: 4,
        published: 9,
        ..Stats::default()
    };
    metrics.fill(&mut stats);
    let text = metrics.encode(&stats, Format::Prometheus);
    for (series, value) in [
        ("ssecast_streams_open{transport=\"http1\"}", "1"),
        ("ssecast_streams_open{transport=\"http2\"}", "0"),
        ("ssecast_streams_open{transport=\"inapp\"}", "0"),
        ("ssecast_streams_opened_total{transport=\"http2\"}", "1"),
        ("ssecast_streams_refused_total{reason=\"origin\"}", "1"),
        ("ssecast_streams_refused_total{reason=\"draining\"}", "0"),
        ("ssecast_events_delivered_total", "3"),
        ("ssecast_delivered_bytes_total", "123"),
        ("ssecast_slow_consumers_total", "1"),
        ("ssecast_resets_total{reason=\"history-gap\"}", "1"),
        ("ssecast_resets_total{reason=\"unknown-id\"}", "0"),
        ("ssecast_auth_failures_total{reason=\"token_invalid\"}", "2"),
        ("ssecast_auth_failures_total{reason=\"token_expired\"}", "0"),
        (
            "ssecast_rate_limited_total{reason=\"connection_rate\"}",
            "1",
        ),
        (
            "ssecast_rate_limited_total{reason=\"connections_per_address\"}",
            "0",
        ),
        ("ssecast_stream_duration_seconds_count", "1"),
        ("ssecast_stream_duration_seconds_bucket{le=\"10\"}", "1"),
        ("ssecast_stream_duration_seconds_bucket{le=\"1\"}", "0"),
        ("ssecast_publish_to_write_seconds_count", "1"),
        ("ssecast_topics", "4"),
        ("ssecast_events_published_total", "9"),
    ] {
        assert_eq!(value_of(&text, series), Some(value), "{series} in\n{text}");
    }
    assert!(
        !text.contains("backplane"),
        "no backplane configured: no gauge"
    );
    assert!(!text.contains("# EOF"), "the 0.0.4 text has no EOF marker");

    assert_eq!(
        (
            stats.streams_opened,
            stats.streams_refused,
            stats.events_delivered,
            stats.bytes_delivered,
            stats.slow_consumers_dropped,
            stats.resets_sent,
            stats.auth_failures,
            stats.rate_limited
        ),
        (2, 1, 3, 123, 1, 1, 2, 1)
    );
}

#[test]
fn openmetrics_on_request_and_the_backplane_gauge_once_set() {
    let metrics = Metrics::new();
    metrics.set_backplane(BackplaneState::Unreachable);
    assert_eq!(metrics.backplane(), BackplaneState::Unreachable);
    let format = Format::from_accept(Some(
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
    ));
    assert_eq!(format, Format::OpenMetrics);
    let text = metrics.encode(&Stats::default(), format);
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert_eq!(value_of(&text, "ssecast_backplane_up"), Some("0"));
    metrics.set_backplane(BackplaneState::Up);
    let text = metrics.encode(&Stats::default(), Format::Prometheus);
    assert_eq!(value_of(&text, "ssecast_backplane_up"), Some("1"));
    assert_eq!(Format::from_accept(None), Format::Prometheus);
    assert_eq!(
        Format::from_accept(Some("*/*")).content_type(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
}
