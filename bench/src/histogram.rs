//! A log-linear latency histogram in microseconds (relative error under 1.6 %).

const LINEAR: usize = 128;
const SUB: usize = 64;
const BUCKETS: usize = LINEAR + 57 * SUB;

/// Counts of latencies, mergeable and cheap to record.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max: 0,
        }
    }
}

fn index(us: u64) -> usize {
    if us < LINEAR as u64 {
        return us as usize;
    }
    let exp = 63 - us.leading_zeros() as usize;
    let mantissa = (us >> (exp - 6)) as usize;
    LINEAR + (exp - 7) * SUB + (mantissa - SUB)
}

fn lower_bound(index: usize) -> u64 {
    if index < LINEAR {
        return index as u64;
    }
    let exp = (index - LINEAR) / SUB + 7;
    let mantissa = ((index - LINEAR) % SUB + SUB) as u64;
    mantissa << (exp - 6)
}

impl Histogram {
    /// Records one latency.
    pub fn record(&mut self, us: u64) {
        self.counts[index(us)] += 1;
        self.total += 1;
        self.max = self.max.max(us);
    }

    /// The largest sample.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value below which `q` (0..=1) of the samples fall (bucket lower bound).
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((self.total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return lower_bound(i).min(self.max);
            }
        }
        self.max
    }

    /// Adds the samples of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// Forgets every sample.
    pub fn clear(&mut self) {
        self.counts.iter_mut().for_each(|c| *c = 0);
        self.total = 0;
        self.max = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_close() {
        let mut last = 0;
        for us in [0u64, 1, 127, 128, 129, 1000, 65_535, 1 << 40] {
            let i = index(us);
            assert!(i >= last);
            last = i;
            let low = lower_bound(i);
            assert!(low <= us && us - low <= us / 64, "{us} -> {low}");
        }
    }

    #[test]
    fn quantiles() {
        let mut h = Histogram::default();
        (1..=100).for_each(|us| h.record(us));
        assert_eq!(h.quantile(0.5), 50);
        assert_eq!(h.quantile(0.99), 99);
        assert_eq!(h.max(), 100);
    }
}
