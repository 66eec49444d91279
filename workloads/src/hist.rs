//! Latency histograms with a stated precision: an HdrHistogram (the `hdrhistogram` crate)
//! keeping [`SIGFIG`] significant digits, so any recorded value — and any percentile read
//! back — is known within 0.1%. Mergeable across threads and trials; serialised sparsely as
//! `{"sigfig": 3, "values": [[value, count], ...]}` (each value the highest one its bucket
//! holds). Per-op latencies go here; percentiles come out.
//!
//! Results written before this (schema 1) used a log-linear histogram with 16 sub-buckets per
//! power of two (about ±6%), serialised as `{"counts": [[bucket, count], ...]}`; those still
//! read, each bucket as its middle value, so their percentiles keep their old ±6% precision.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Significant decimal digits every histogram keeps: values within 0.1%.
pub const SIGFIG: u8 = 3;

/// Counts of values (nanoseconds).
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    h: hdrhistogram::Histogram<u64>,
}

impl Default for Histogram {
    fn default() -> Self {
        // Auto-resizing: it grows (rarely: once per new power of two reached) to the largest
        // value recorded, so an idle histogram (a read workload's writes) stays small.
        Histogram {
            h: hdrhistogram::Histogram::new(SIGFIG).expect("3 significant digits are valid"),
        }
    }
}

/// The latency a trial's histograms are sized for up front: 1 s (about 160 KiB each, zeroed
/// pages the kernel maps only when touched). A larger value still grows the histogram.
const PRESIZED_NS: u64 = 1_000_000_000;

impl Histogram {
    /// A histogram already sized for any latency up to a second, so recording inside a timed
    /// section does not reallocate it each time a new power of two is reached.
    pub fn presized() -> Histogram {
        let mut h = hdrhistogram::Histogram::new_with_max(PRESIZED_NS, SIGFIG)
            .expect("3 significant digits and a 1 s bound are valid");
        h.auto(true);
        Histogram { h }
    }

    /// Count one value.
    pub fn record(&mut self, v: u64) {
        self.record_n(v, 1);
    }

    /// Count `n` copies of one value. (The saturating calls would clamp to the current size
    /// instead of growing; only a value beyond what any size can hold is clamped.)
    fn record_n(&mut self, v: u64, n: u64) {
        if self.h.record_n(v, n).is_err() {
            self.h.saturating_record_n(v, n);
        }
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.h.len()
    }

    /// Add another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for v in other.h.iter_recorded() {
            self.record_n(v.value_iterated_to(), v.count_at_value());
        }
    }

    /// The value at quantile `q` in `[0, 1]`, within 0.1% (the highest value its bucket
    /// holds); `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        (self.count() > 0).then(|| self.h.value_at_quantile(q.clamp(0.0, 1.0)))
    }
}

/// The serialised form; the older shape is read only.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Wire {
    Hdr { sigfig: u8, values: Vec<(u64, u64)> },
    LogLinear { counts: Vec<(usize, u64)> },
}

impl Serialize for Histogram {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire::Hdr {
            sigfig: SIGFIG,
            values: self
                .h
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Histogram {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut h = Histogram::default();
        match Wire::deserialize(d)? {
            Wire::Hdr { values, .. } => {
                for (v, c) in values {
                    h.record_n(v, c);
                }
            }
            Wire::LogLinear { counts } => {
                for (i, c) in counts {
                    h.record_n(legacy::middle(i)?, c);
                }
            }
        }
        Ok(h)
    }
}

/// The schema-1 log-linear buckets, to read older results.
mod legacy {
    const SUB_BITS: u32 = 4;
    const SUB: u64 = 1 << SUB_BITS;
    const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

    /// The smallest value that falls in bucket `i`.
    fn lower(i: usize) -> u64 {
        let i = i as u64;
        if i < SUB {
            return i;
        }
        let shift = i / SUB - 1;
        ((SUB | (i % SUB)) << shift).max(SUB)
    }

    /// The middle of bucket `i`, as the old histogram reported its quantiles.
    pub fn middle<E: serde::de::Error>(i: usize) -> Result<u64, E> {
        if i + 1 >= BUCKETS {
            return Err(E::custom("histogram bucket out of range"));
        }
        let lo = lower(i);
        let hi = lower(i + 1).max(lo + 1);
        Ok(lo + (hi - lo - 1) / 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_within_the_stated_precision() {
        let mut h = Histogram::default();
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        for (q, want) in [
            (0.5, 5_000_000.0),
            (0.99, 9_900_000.0),
            (0.999, 9_990_000.0),
        ] {
            let got = h.quantile(q).unwrap() as f64;
            assert!((got / want - 1.0).abs() <= 1e-3, "q {q}: {got} vs {want}");
        }
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    #[test]
    fn roundtrips_and_merges() {
        let mut h = Histogram::default();
        for v in [5, 123_456, 123_456, 9_876_543_210] {
            h.record(v);
        }
        let json = serde_json::to_string(&h).unwrap();
        assert!(json.starts_with(r#"{"sigfig":3,"values":[["#), "{json}");
        let back: Histogram = serde_json::from_str(&json).unwrap();
        assert_eq!(back, h);
        let mut m = Histogram::default();
        m.merge(&h);
        m.merge(&back);
        assert_eq!(m.count(), 8);
        assert_eq!(m.quantile(0.5), h.quantile(0.5));
    }

    #[test]
    fn reads_the_old_log_linear_form() {
        // Bucket 16 holds [16, 17): its middle is 16; bucket 200 is near 1.6 ms.
        let h: Histogram = serde_json::from_str(r#"{"counts":[[16,3],[200,1]]}"#).unwrap();
        assert_eq!(h.count(), 4);
        assert_eq!(h.quantile(0.5), Some(16));
        assert!(serde_json::from_str::<Histogram>(r#"{"counts":[[99999,1]]}"#).is_err());
    }
}
