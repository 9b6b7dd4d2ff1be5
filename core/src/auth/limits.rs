//! Per-address limits on event streams: how many one address may hold open
//! (`max_connections_per_ip`) and how fast it may open new ones
//! (`connection_rate_per_ip` per second, bursts of `connection_burst_per_ip`).
//!
//! Addresses are counted as keys: an IPv4 address is its own key, an IPv6
//! address counts with the rest of its /64 (the block one subscriber's network
//! gets, so rotating through it gains nothing).
//!
//! The memory both limits use is bounded. Open-stream counts exist only for keys
//! with a stream open, so there are never more than the open streams. The rate
//! limiter keeps one small state per key (governor's GCRA); states that have
//! refilled are dropped every [`SWEEP_EVERY`], and at most
//! [`MAX_TRACKED_ADDRESSES`] are kept. When that many keys opened streams within
//! one refill period (an attacker rotating through more addresses than that), new
//! streams are refused with `429` until states refill, rather than letting the
//! table grow or the limit lapse.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

use super::outcome::{Denial, DenialKind};
use crate::config::Config;

/// Most keys the rate limiter tracks at once.
pub const MAX_TRACKED_ADDRESSES: usize = 100_000;

/// How often refilled rate-limit states are dropped.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// How often a full table is swept before a new key is refused.
const SWEEP_FULL_EVERY: Duration = Duration::from_secs(1);

/// `Retry-After` for an address at its open-stream limit: streams end at any
/// time, so this is a polite guess.
const CONNECTION_LIMIT_RETRY_SECS: u64 = 5;

/// The key an address is limited by: IPv4 as is, IPv6 by its /64.
pub(crate) fn limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

type Table = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// A stream's place in its address's open-stream count, given back on drop.
#[derive(Debug)]
#[must_use = "the slot is given back as soon as it is dropped"]
pub struct ConnectionSlot {
    held: Option<(Table, IpAddr)>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Some((table, key)) = self.held.take() {
            let mut open = table.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(count) = open.get_mut(&key) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&key);
                }
            }
        }
    }
}

/// Both per-address limits.
pub(crate) struct IpLimits<C: Clock = DefaultClock> {
    max_open: usize,
    open: Table,
    rate: Option<RateLimit<C>>,
}

struct RateLimit<C: Clock> {
    limiter: RateLimiter<IpAddr, HashMapStateStore<IpAddr>, C, NoOpMiddleware<C::Instant>>,
    clock: C,
    cap: usize,
    last_sweep: Mutex<C::Instant>,
}

impl IpLimits {
    /// The limits of `config` (0 turns each off).
    pub(crate) fn from_config(config: &Config) -> IpLimits {
        IpLimits::with_clock(config, DefaultClock::default(), MAX_TRACKED_ADDRESSES)
    }
}

impl<C: Clock + Clone> IpLimits<C> {
    fn with_clock(config: &Config, clock: C, cap: usize) -> IpLimits<C> {
        let rate = NonZeroU32::new(config.connection_rate_per_ip).map(|rate| {
            let burst = NonZeroU32::new(config.connection_burst_per_ip).unwrap_or(rate);
            let quota = Quota::per_second(rate).allow_burst(burst);
            RateLimit {
                limiter: RateLimiter::hashmap_with_clock(quota, clock.clone()),
                last_sweep: Mutex::new(clock.now()),
                clock,
                cap,
            }
        });
        IpLimits {
            max_open: config.max_connections_per_ip,
            open: Arc::default(),
            rate,
        }
    }

    /// Admits a new stream from `client`: counts it against the rate, then
    /// takes a slot among its open streams.
    pub(crate) fn admit(&self, client: IpAddr) -> Result<ConnectionSlot, Denial> {
        let key = limit_key(client);
        if let Some(rate) = &self.rate {
            rate.check(key)?;
        }
        if self.max_open == 0 {
            return Ok(ConnectionSlot { held: None });
        }
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(key).or_insert(0);
        if *count >= self.max_open {
            return Err(Denial::new(
                DenialKind::TooManyConnections,
                format!(
                    "this address holds its maximum of {} streams (max_connections_per_ip)",
                    self.max_open
                ),
            )
            .retry_after(CONNECTION_LIMIT_RETRY_SECS));
        }
        *count += 1;
        Ok(ConnectionSlot {
            held: Some((self.open.clone(), key)),
        })
    }

    #[cfg(test)]
    fn open_keys(&self) -> usize {
        self.open.lock().unwrap().len()
    }

    #[cfg(test)]
    fn tracked_keys(&self) -> usize {
        self.rate.as_ref().map_or(0, |r| r.limiter.len())
    }
}

impl<C: Clock> RateLimit<C> {
    fn check(&self, key: IpAddr) -> Result<(), Denial> {
        self.sweep_if_due(false);
        if self.limiter.len() >= self.cap {
            self.sweep_if_due(true);
            if self.limiter.len() >= self.cap {
                return Err(Denial::new(
                    DenialKind::RateLimited,
                    "too many addresses are opening streams; retry shortly",
                )
                .retry_after(1));
            }
        }
        self.limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            Denial::new(
                DenialKind::RateLimited,
                "this address opens streams too fast (connection_rate_per_ip)",
            )
            .retry_after(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        })
    }

    /// Drops refilled states when the last sweep is [`SWEEP_EVERY`] old, or
    /// [`SWEEP_FULL_EVERY`] old when the table is full.
    fn sweep_if_due(&self, full: bool) {
        let now = self.clock.now();
        let mut last = self
            .last_sweep
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let every = if full { SWEEP_FULL_EVERY } else { SWEEP_EVERY };
        if Duration::from(now.duration_since(*last)) < every {
            return;
        }
        *last = now;
        drop(last);
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use http::StatusCode;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn config(pairs: &[(&str, &str)]) -> Config {
        let mut config = Config::default();
        for (key, value) in pairs {
            config.set(key, value).unwrap();
        }
        config
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv6_counts_by_its_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(limit_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn off_by_default() {
        let limits = IpLimits::from_config(&Config::default());
        let slots: Vec<_> = (0..1000)
            .map(|_| limits.admit(ip("192.0.2.1")).unwrap())
            .collect();
        assert_eq!(limits.open_keys(), 0, "nothing is counted");
        drop(slots);
    }

    #[test]
    fn open_streams_per_address_are_capped_and_given_back() {
        let limits = IpLimits::from_config(&config(&[("max_connections_per_ip", "2")]));
        let a = limits.admit(ip("192.0.2.1")).unwrap();
        let b = limits.admit(ip("192.0.2.1")).unwrap();
        let refused = limits.admit(ip("192.0.2.1")).unwrap_err();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.code(), "TOO_MANY_CONNECTIONS_FROM_ADDRESS");
        assert_eq!(
            refused.retry_after_secs(),
            Some(CONNECTION_LIMIT_RETRY_SECS)
        );
        // Another address, and another host of the same IPv6 /64.
        let _c = limits.admit(ip("192.0.2.2")).unwrap();
        let _d = limits.admit(ip("2001:db8::1")).unwrap();
        let _e = limits.admit(ip("2001:db8::2")).unwrap();
        assert!(limits.admit(ip("2001:db8::ffff")).is_err());
        drop(a);
        let _f = limits.admit(ip("192.0.2.1")).unwrap();
        drop((b, _f));
        assert_eq!(limits.open_keys(), 2, "keys without streams are forgotten");
    }

    #[test]
    fn ten_thousand_streams_from_one_address() {
        let limits = IpLimits::from_config(&config(&[("max_connections_per_ip", "100")]));
        let mut held = Vec::new();
        let mut refused = 0;
        for _ in 0..10_000 {
            match limits.admit(ip("198.51.100.7")) {
                Ok(slot) => held.push(slot),
                Err(_) => refused += 1,
            }
        }
        assert_eq!((held.len(), refused), (100, 9_900));
        held.clear();
        assert_eq!(limits.open_keys(), 0);
    }

    #[test]
    fn rate_allows_a_burst_then_refills() {
        let clock = FakeRelativeClock::default();
        let config = config(&[
            ("connection_rate_per_ip", "2"),
            ("connection_burst_per_ip", "3"),
        ]);
        let limits = IpLimits::with_clock(&config, clock.clone(), 1000);
        for _ in 0..3 {
            drop(limits.admit(ip("192.0.2.1")).unwrap());
        }
        let refused = limits.admit(ip("192.0.2.1")).unwrap_err();
        assert_eq!(refused.code(), "RATE_LIMITED");
        assert_eq!(refused.retry_after_secs(), Some(1));
        assert!(
            limits.admit(ip("192.0.2.2")).is_ok(),
            "other addresses are not affected"
        );
        clock.advance(Duration::from_millis(500));
        assert!(
            limits.admit(ip("192.0.2.1")).is_ok(),
            "one refilled after 1/rate s"
        );
        assert!(limits.admit(ip("192.0.2.1")).is_err());
    }

    #[test]
    fn burst_defaults_to_the_rate() {
        let clock = FakeRelativeClock::default();
        let limits = IpLimits::with_clock(&config(&[("connection_rate_per_ip", "5")]), clock, 1000);
        let admitted = (0..20)
            .filter(|_| limits.admit(ip("192.0.2.1")).is_ok())
            .count();
        assert_eq!(admitted, 5);
    }

    #[test]
    fn addresses_rotating_through_a_slash_16_do_not_grow_memory() {
        let clock = FakeRelativeClock::default();
        let config = config(&[("connection_rate_per_ip", "1")]);
        let limits = IpLimits::with_clock(&config, clock.clone(), MAX_TRACKED_ADDRESSES);
        // 65,536 addresses, one stream each, 1,000 per second: the table holds
        // those of the 10 s between sweeps plus those of the 2 s a state takes
        // to refill (one cell's interval past its theoretical arrival time).
        let mut largest = 0;
        for i in 0..=u16::MAX {
            let [a, b] = i.to_be_bytes();
            assert!(limits.admit(IpAddr::V4(Ipv4Addr::new(10, 7, a, b))).is_ok());
            clock.advance(Duration::from_millis(1));
            largest = largest.max(limits.tracked_keys());
        }
        assert!(largest <= 12_000, "the table held {largest} addresses");
        clock.advance(SWEEP_EVERY);
        assert!(limits.admit(ip("192.0.2.1")).is_ok());
        assert_eq!(limits.tracked_keys(), 1, "everything refilled was dropped");
    }

    #[test]
    fn a_full_table_refuses_new_addresses_instead_of_growing() {
        let clock = FakeRelativeClock::default();
        let config = config(&[
            ("connection_rate_per_ip", "1"),
            ("connection_burst_per_ip", "1000"),
        ]);
        let cap = 10_000;
        let limits = IpLimits::with_clock(&config, clock.clone(), cap);
        let mut refused = 0;
        for i in 0..=u16::MAX {
            let [a, b] = i.to_be_bytes();
            if limits
                .admit(IpAddr::V4(Ipv4Addr::new(10, 8, a, b)))
                .is_err()
            {
                refused += 1;
            }
        }
        assert_eq!(limits.tracked_keys(), cap);
        assert_eq!(refused, 65_536 - cap);
        // A new address while the table is full is asked to come back soon.
        let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0);
        let err = limits.admit(IpAddr::V6(v6)).unwrap_err();
        assert_eq!(err.retry_after_secs(), Some(1));
        // Once the states refill (1000 s for a burst of 1000 at 1/s), the
        // sweep frees the table.
        clock.advance(Duration::from_secs(1001));
        assert!(limits.admit(IpAddr::V6(v6)).is_ok());
        assert_eq!(limits.tracked_keys(), 1);
    }
}
