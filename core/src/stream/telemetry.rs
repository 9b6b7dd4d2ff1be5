//! What a stream reports about itself: its open and close in the metrics and
//! in the debug log (peer, transport, topics, duration, events, bytes, why it
//! closed), what it delivered, and a sample of publish-to-write latencies.
//! Never a token and never a payload: only counts and topic names are logged.

use std::fmt;
use std::net::IpAddr;
use std::time::Instant;

use crate::metrics::{Metrics, Transport};

/// A live batch in this many per stream has its publish-to-write latency
/// measured (the first live batch always): enough samples for a histogram,
/// without a clock read and a histogram lock on every batch.
const SAMPLE_EVERY: u32 = 16;

/// Where a stream goes: its transport and, for a network stream, its peer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamOrigin {
    /// How the stream reaches its client.
    pub(crate) transport: Transport,
    /// The client's address (the socket's peer); `None` for an in-app stream.
    pub(crate) peer: Option<IpAddr>,
}

/// A stream's own counts, reported when it closes.
pub(super) struct Telemetry {
    origin: StreamOrigin,
    opened_at: Instant,
    /// Events after this sequence number are live (not replayed history), so
    /// their publish-to-write latency means something.
    live_from: u64,
    events: u64,
    bytes: u64,
    /// Live batches to skip before the next latency sample.
    until_sample: u32,
    /// Why the stream ended, when it ended by itself ([`crate::report::EndReason::as_str`]
    /// or `answered`).
    ended: Option<&'static str>,
}

/// Shows a peer address, or `in-app`.
struct Peer(Option<IpAddr>);

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(addr) => addr.fmt(f),
            None => f.write_str("in-app"),
        }
    }
}

impl Telemetry {
    /// Counts a stream opened from `origin` on `topics`, whose live events are
    /// those after `live_from`.
    pub(super) fn open(
        metrics: &Metrics,
        origin: StreamOrigin,
        live_from: u64,
        topics: impl fmt::Display,
    ) -> Self {
        metrics.stream_opened(origin.transport);
        tracing::debug!(
            peer = %Peer(origin.peer),
            transport = origin.transport.as_str(),
            topics = %topics,
            "stream opened"
        );
        Telemetry {
            origin,
            opened_at: Instant::now(),
            live_from,
            events: 0,
            bytes: 0,
            until_sample: 0,
            ended: None,
        }
    }

    /// Counts a batch of `events` events in `bytes` bytes handed to the connection.
    pub(super) fn delivered(&mut self, metrics: &Metrics, events: usize, bytes: usize) {
        self.events += events as u64;
        self.bytes += bytes as u64;
        metrics.delivered(events as u64, bytes as u64);
    }

    /// True when the batch whose oldest event is `oldest_seq` should have its
    /// latency measured.
    pub(super) fn wants_sample(&mut self, oldest_seq: u64) -> bool {
        if oldest_seq <= self.live_from {
            return false;
        }
        if self.until_sample == 0 {
            self.until_sample = SAMPLE_EVERY - 1;
            return true;
        }
        self.until_sample -= 1;
        false
    }

    /// Records why the stream ended (the first reason given wins).
    pub(super) fn ended(&mut self, reason: &'static str) {
        self.ended.get_or_insert(reason);
    }

    /// Counts the stream closed and logs it; a stream that never ended by
    /// itself was closed by its connection: the client left, or its writer
    /// cut it (write deadline, behind the history while a batch was pending).
    pub(super) fn close(&self, metrics: &Metrics, topics: impl fmt::Display) {
        let lifetime = self.opened_at.elapsed();
        metrics.stream_closed(self.origin.transport, lifetime);
        tracing::debug!(
            peer = %Peer(self.origin.peer),
            transport = self.origin.transport.as_str(),
            topics = %topics,
            duration_ms = lifetime.as_millis() as u64,
            events = self.events,
            bytes = self.bytes,
            reason = self.ended.unwrap_or("connection-closed"),
            "stream closed"
        );
    }
}
