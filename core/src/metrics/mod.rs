//! The engine's metrics: counters, gauges and histograms that streams, the
//! server (its access-control refusals in `http/refusal.rs`), the hub (slow
//! consumers, durable-history failures) and the backplane (through
//! [`Metrics::set_backplane`]) record into, read back as [`Stats`] by every
//! host and as Prometheus text by `GET /metrics`.
//!
//! Most values are `prometheus-client` metrics shared through this struct. The
//! two the hot path counts on every batch a stream hands to its connection
//! (events and bytes delivered) are [`sharded::ShardedCounter`]s instead: a
//! plain store into a slot of the calling thread, no locked instruction, read
//! at scrape time. Histograms take a short lock: stream durations are observed
//! once per stream, publish-to-write latencies on a sample of batches (see the
//! stream module). Values that already exist elsewhere (open streams, topics,
//! events published) are read at scrape time instead of being counted twice.
//!
//! - [`labels`]: the fixed label values (transports, refusal reasons, backplane states);
//! - [`exposition`]: the text formats and what a scrape adds;
//! - [`sharded`]: the per-thread counter of the delivery path.

mod exposition;
mod labels;
mod sharded;

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

pub(crate) use exposition::Format;
pub(crate) use labels::{AuthFailure, BackplaneState, RateLimit, Refusal, Transport};

use crate::report::{ResetReason, Stats};
use labels::{ReasonLabel, TransportLabel};
use sharded::ShardedCounter;

/// Upper bounds of the stream-duration buckets, in seconds: a tenth of a second
/// to a day.
const STREAM_DURATION_BUCKETS: [f64; 11] = [
    0.1, 1.0, 10.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 10800.0, 43200.0, 86400.0,
];

/// The engine's metrics.
pub(crate) struct Metrics {
    registry: Registry,
    streams_open: [Gauge; Transport::ALL.len()],
    streams_opened: [Counter; Transport::ALL.len()],
    refused: [Counter; Refusal::ALL.len()],
    events_delivered: ShardedCounter,
    bytes_delivered: ShardedCounter,
    slow_consumers: Counter,
    resets: [Counter; 2],
    auth_failures: [Counter; AuthFailure::ALL.len()],
    rate_limited: [Counter; RateLimit::ALL.len()],
    stream_duration: Histogram,
    publish_to_write: Histogram,
    storage_errors: Counter,
    backplane: AtomicU8,
}

/// The values of a family for each of `labels`, created up front so that
/// recording one never looks the family up.
fn members<L, M, const N: usize>(family: &Family<L, M>, labels: [L; N]) -> [M; N]
where
    L: Clone + std::hash::Hash + Eq,
    M: Clone + Default + prometheus_client::metrics::TypedMetric,
{
    labels.map(|label| family.get_or_create(&label).clone())
}

impl Metrics {
    /// Every metric at zero, registered under the prefix `ssecast`.
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("ssecast");
        let transports = Transport::ALL.map(|t| TransportLabel {
            transport: t.as_str(),
        });

        let open = Family::<TransportLabel, Gauge>::default();
        let streams_open = members(&open, transports.clone());
        registry.register("streams_open", "Event streams open now, by transport", open);
        let opened = Family::<TransportLabel, Counter>::default();
        let streams_opened = members(&opened, transports);
        registry.register(
            "streams_opened",
            "Event streams opened since start, by transport",
            opened,
        );
        let refusals = Family::<ReasonLabel, Counter>::default();
        let refused = members(
            &refusals,
            Refusal::ALL.map(|r| ReasonLabel { reason: r.as_str() }),
        );
        registry.register(
            "streams_refused",
            "Stream requests refused before a stream opened, by reason (access control counts its own)",
            refusals,
        );
        let stream_duration = Histogram::new(STREAM_DURATION_BUCKETS);
        registry.register_with_unit(
            "stream_duration",
            "How long event streams stayed open",
            Unit::Seconds,
            stream_duration.clone(),
        );

        let slow_consumers = Counter::default();
        registry.register(
            "slow_consumers",
            "Streams closed because their client fell behind the history",
            slow_consumers.clone(),
        );
        let reset_family = Family::<ReasonLabel, Counter>::default();
        let resets = members(
            &reset_family,
            [ResetReason::UnknownId, ResetReason::HistoryGap]
                .map(|r| ReasonLabel { reason: r.as_str() }),
        );
        registry.register(
            "resets",
            "ssecast-reset signals sent to resuming clients, by reason",
            reset_family,
        );
        let publish_to_write = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        registry.register_with_unit(
            "publish_to_write",
            "Time from publish to the hand-over of the event to a connection, sampled",
            Unit::Seconds,
            publish_to_write.clone(),
        );

        let auth_family = Family::<ReasonLabel, Counter>::default();
        let auth_failures = members(
            &auth_family,
            AuthFailure::ALL.map(|r| ReasonLabel { reason: r.as_str() }),
        );
        registry.register(
            "auth_failures",
            "Requests refused by access control, by reason",
            auth_family,
        );
        let limit_family = Family::<ReasonLabel, Counter>::default();
        let rate_limited = members(
            &limit_family,
            RateLimit::ALL.map(|r| ReasonLabel { reason: r.as_str() }),
        );
        registry.register(
            "rate_limited",
            "Requests refused by a per-address limit, by reason",
            limit_family,
        );

        let storage_errors = Counter::default();
        registry.register(
            "storage_errors",
            "Durable history operations that failed: publishes refused or not made durable, reads from disk",
            storage_errors.clone(),
        );

        Metrics {
            registry,
            streams_open,
            streams_opened,
            refused,
            events_delivered: ShardedCounter::default(),
            bytes_delivered: ShardedCounter::default(),
            slow_consumers,
            resets,
            auth_failures,
            rate_limited,
            stream_duration,
            publish_to_write,
            storage_errors,
            backplane: AtomicU8::new(BackplaneState::None as u8),
        }
    }

    /// Counts a stream opened over `transport`.
    pub(crate) fn stream_opened(&self, transport: Transport) {
        self.streams_open[transport.index()].inc();
        self.streams_opened[transport.index()].inc();
    }

    /// Counts a stream of `transport` closed after `lifetime`.
    pub(crate) fn stream_closed(&self, transport: Transport, lifetime: Duration) {
        self.streams_open[transport.index()].dec();
        self.stream_duration.observe(lifetime.as_secs_f64());
    }

    /// Counts a stream request refused for `reason`.
    pub(crate) fn refused(&self, reason: Refusal) {
        self.refused[reason.index()].inc();
    }

    /// Counts `events` events in `bytes` bytes handed to one connection.
    pub(crate) fn delivered(&self, events: u64, bytes: u64) {
        if events > 0 {
            self.events_delivered.add(events);
        }
        self.bytes_delivered.add(bytes);
    }

    /// Counts a stream closed for falling behind the history.
    pub(crate) fn slow_consumer(&self) {
        self.slow_consumers.inc();
    }

    /// Counts a reset signal sent for `reason`.
    pub(crate) fn reset_sent(&self, reason: ResetReason) {
        let index = match reason {
            ResetReason::UnknownId => 0,
            ResetReason::HistoryGap => 1,
        };
        self.resets[index].inc();
    }

    /// Records one sampled publish-to-write latency.
    pub(crate) fn publish_to_write(&self, latency: Duration) {
        self.publish_to_write.observe(latency.as_secs_f64());
    }

    /// Counts a request refused by access control.
    pub(crate) fn auth_refused(&self, reason: AuthFailure) {
        self.auth_failures[reason.index()].inc();
    }

    /// Counts a request refused by a per-address limit.
    pub(crate) fn rate_limited(&self, limit: RateLimit) {
        self.rate_limited[limit.index()].inc();
    }

    /// Counts a failed operation of the durable history.
    pub(crate) fn storage_error(&self) {
        self.storage_errors.inc();
    }

    /// Records the backplane's state: exported as `ssecast_backplane_up`, and an
    /// unreachable backplane makes `/readyz` answer 503. The hook for the Redis
    /// backplane: `hub/cluster.rs` calls it at start and on every change.
    pub(crate) fn set_backplane(&self, state: BackplaneState) {
        self.backplane.store(state as u8, Ordering::Release);
    }

    /// The backplane's state.
    pub(crate) fn backplane(&self) -> BackplaneState {
        BackplaneState::from_u8(self.backplane.load(Ordering::Acquire))
    }

    /// Fills the counters of `stats` that live here.
    pub(crate) fn fill(&self, stats: &mut Stats) {
        stats.streams_opened = self.streams_opened.iter().map(Counter::get).sum();
        stats.streams_refused = self.refused.iter().map(Counter::get).sum();
        stats.events_delivered = self.events_delivered.get();
        stats.bytes_delivered = self.bytes_delivered.get();
        stats.slow_consumers_dropped = self.slow_consumers.get();
        stats.resets_sent = self.resets.iter().map(Counter::get).sum();
        stats.auth_failures = self.auth_failures.iter().map(Counter::get).sum();
        stats.rate_limited = self.rate_limited.iter().map(Counter::get).sum();
    }

    /// The metrics as text in `format`, with the values of `stats` that are
    /// read at scrape time (topics, events published, events and bytes
    /// delivered): `stats` comes from the hub, filled by [`Metrics::fill`].
    pub(crate) fn encode(&self, stats: &Stats, format: Format) -> String {
        exposition::encode(&self.registry, stats, self.backplane(), format)
    }
}

#[cfg(test)]
mod tests;
