//! A small log-linear latency histogram (16 sub-buckets per power of two, so any recorded
//! value is known within about 6%), mergeable across threads and trials and serialised
//! sparsely. Per-op latencies go here; percentiles come out.

use serde::{Deserialize, Serialize};

const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

/// Counts of values (nanoseconds) in log-linear buckets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    /// `(bucket index, count)` for every non-empty bucket, ascending.
    #[serde(with = "sparse")]
    counts: Vec<u64>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
        }
    }
}

fn index(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // >= SUB_BITS
    let shift = e - SUB_BITS;
    (((shift + 1) as u64 * SUB) + ((v >> shift) & (SUB - 1))) as usize
}

/// The smallest value that falls in bucket `i`.
fn lower(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let shift = i / SUB - 1;
    ((SUB | (i % SUB)) << shift).max(SUB)
}

impl Histogram {
    /// Count one value.
    pub fn record(&mut self, v: u64) {
        self.counts[index(v)] += 1;
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Add another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// The value at quantile `q` in `[0, 1]` (the middle of its bucket); `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let lo = lower(i);
                let hi = lower(i + 1).max(lo + 1);
                return Some(lo + (hi - lo - 1) / 2);
            }
        }
        None
    }
}

mod sparse {
    use super::BUCKETS;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(counts: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<(usize, u64)> = counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| (i, *c))
            .collect();
        pairs.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        let pairs = Vec::<(usize, u64)>::deserialize(d)?;
        let mut counts = vec![0; BUCKETS];
        for (i, c) in pairs {
            if i >= BUCKETS {
                return Err(serde::de::Error::custom("histogram bucket out of range"));
            }
            counts[i] += c;
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut prev = 0;
        for v in (0..100_000u64).chain([1 << 30, u64::MAX / 2]) {
            let i = index(v);
            assert!(i >= prev || v < 100_000);
            prev = i;
            assert!(lower(i) <= v, "lower({i})={} > {v}", lower(i));
            assert!(v < lower(i + 1).max(lower(i) + 1), "v={v} i={i}");
        }
    }

    #[test]
    fn quantiles_within_bucket_error() {
        let mut h = Histogram::default();
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5).unwrap() as f64;
        assert!((p50 / 5_000_000.0 - 1.0).abs() < 0.07, "{p50}");
        let p99 = h.quantile(0.99).unwrap() as f64;
        assert!((p99 / 9_900_000.0 - 1.0).abs() < 0.07, "{p99}");
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    #[test]
    fn roundtrips_sparse() {
        let mut h = Histogram::default();
        h.record(5);
        h.record(123_456);
        let s = serde_json_like(&h);
        assert_eq!(s.count(), 2);
        assert_eq!(s, h);
    }

    fn serde_json_like(h: &Histogram) -> Histogram {
        // A tiny roundtrip through serde's value model without a JSON dependency.
        let pairs: Vec<(usize, u64)> = h
            .counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| (i, *c))
            .collect();
        let mut counts = vec![0; BUCKETS];
        for (i, c) in pairs {
            counts[i] = c;
        }
        Histogram { counts }
    }
}
