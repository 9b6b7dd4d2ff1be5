//! The text a scrape gets: the Prometheus text format (0.0.4) by default, or
//! OpenMetrics when the scraper asks for it, both written by `prometheus-client`.
//! A scrape adds the values that are read rather than registered: topics,
//! events published, events and bytes delivered (summed from their per-thread
//! slots), and the backplane's state when one is configured.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{prometheus_text, text, DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

use super::labels::BackplaneState;
use crate::report::Stats;

/// A text format of the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// The Prometheus text format, version 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

impl Format {
    /// OpenMetrics when the `Accept` header names it (as Prometheus itself
    /// does), else the Prometheus text format.
    pub(crate) fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    /// The `Content-Type` of the format.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The values a scrape reads from the engine.
#[derive(Debug)]
struct ReadAtScrape {
    topics: usize,
    published: u64,
    events_delivered: u64,
    bytes_delivered: u64,
    backplane: BackplaneState,
}

impl Collector for ReadAtScrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let topics = ConstGauge::new(i64::try_from(self.topics).unwrap_or(i64::MAX));
        topics.encode(encoder.encode_descriptor(
            "topics",
            "Topics that have subscribers or history.",
            None,
            topics.metric_type(),
        )?)?;
        let published = ConstCounter::new(self.published);
        published.encode(encoder.encode_descriptor(
            "events_published",
            "Events published since start.",
            None,
            published.metric_type(),
        )?)?;
        let delivered = ConstCounter::new(self.events_delivered);
        delivered.encode(encoder.encode_descriptor(
            "events_delivered",
            "Events handed to subscribers' connections (one per subscriber).",
            None,
            delivered.metric_type(),
        )?)?;
        let bytes = ConstCounter::new(self.bytes_delivered);
        bytes.encode(encoder.encode_descriptor(
            "delivered",
            "Bytes of event-stream bodies handed to connections (events, comments, retry fields).",
            Some(&Unit::Bytes),
            bytes.metric_type(),
        )?)?;
        let up = match self.backplane {
            BackplaneState::None => return Ok(()),
            BackplaneState::Up => 1,
            BackplaneState::Unreachable => 0,
        };
        let up = ConstGauge::new(up);
        up.encode(encoder.encode_descriptor(
            "backplane_up",
            "1 while the configured backplane answers, 0 while it is unreachable.",
            None,
            up.metric_type(),
        )?)
    }
}

/// `registry` and the values read at scrape time, as text in `format`.
pub(super) fn encode(
    registry: &Registry,
    stats: &Stats,
    backplane: BackplaneState,
    format: Format,
) -> String {
    let mut scrape = Registry::with_prefix("ssecast");
    scrape.register_collector(Box::new(ReadAtScrape {
        topics: stats.topics,
        published: stats.published,
        events_delivered: stats.events_delivered,
        bytes_delivered: stats.bytes_delivered,
        backplane,
    }));
    let mut out = String::with_capacity(8 * 1024);
    // Writing into a String cannot fail.
    let written = match format {
        Format::Prometheus => prometheus_text::encode(&mut out, &scrape)
            .and_then(|()| prometheus_text::encode(&mut out, registry)),
        Format::OpenMetrics => text::encode_registry(&mut out, &scrape)
            .and_then(|()| text::encode_registry(&mut out, registry))
            .and_then(|()| text::encode_eof(&mut out)),
    };
    debug_assert!(written.is_ok());
    out
}
