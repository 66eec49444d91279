//! Statistics for noisy machines: medians with distribution-free confidence intervals, paired
//! per-round ratios, and the "within noise" verdict.
//!
//! Why order statistics and not a bootstrap: for the median, the interval between the k-th
//! smallest and k-th largest of n samples covers the true median with probability
//! `1 - 2 * P(Binomial(n, 1/2) < k)`, exactly, for any continuous distribution — no resampling
//! noise, no normality assumption, and an honest achieved level when n is small (with 3
//! samples the best available is [min, max] at 75%, and we say so rather than print a "95%"
//! interval that isn't one).
//!
//! Ratios (engine vs std, vs the best) are computed per round, from trials that ran side by
//! side, and the same interval is taken over the per-round ratios. A difference whose ratio
//! interval contains 1 is "within noise", as criterion words its change verdict; one whose
//! interval reaches less than [`MIN_VERDICT_LEVEL`] is "too few rounds (75%)", never "within
//! noise": the data did not show the engines alike, it could not show anything.

use serde::{Deserialize, Serialize};

/// Target confidence of the intervals.
pub const CONFIDENCE: f64 = 0.95;

/// The least achieved confidence at which a ratio may be called faster or slower. Below it
/// (fewer than 4 paired rounds: 3 give [min, max] at 75%) every difference is "too few
/// rounds": three rounds that happen to agree are too weak a reason to rank runtimes.
pub const MIN_VERDICT_LEVEL: f64 = 0.85;

/// A cell or ratio whose interval is wider than ±this share of its median is noisy.
pub const NOISY: f64 = 0.10;

/// The least difference a ranking states: a group boundary, and "measurably slower" in "How to
/// choose", need the per-round ratio's whole interval below `1 / (1 + DECISION_MARGIN)` (shown
/// at least 10% slower), not merely below 1. The ratio columns keep the plain verdict.
///
/// Why: a run's rounds share its datasets and the machine's state of those minutes, so its
/// interval does not cover how much the same two engines' ratio moves from run to run. Over
/// six default runs on the 2-vCPU VM this was written on, the median per-round ratio of one
/// pair moved by a factor of 1.32 between runs (median over pairs; quartiles 1.19 and 1.52),
/// and boundaries at "interval below 1" made two runs' groups agree in 14 of 90 table pairs,
/// with 4 contradicting; at 10% (the same as [`NOISY`]; 5% kept 2 contradictions, 10-25% all
/// gave the same result) 54 of 90 agreed and none contradicted (`ringbench compare` on the
/// runs, pairwise, re-rendered under each margin).
pub const DECISION_MARGIN: f64 = 0.10;

/// The one noise rule (summaries, calibration): an interval wider than ±[`NOISY`] of its
/// median (`rel_ci`, the relative half-width), or fewer than two samples to have one.
pub fn is_noisy(samples: usize, rel_ci: f64) -> bool {
    samples < 2 || rel_ci > NOISY
}

/// A confidence interval and the confidence level it actually achieves.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
    /// Achieved confidence (may be below the target with few samples).
    pub level: f64,
}

/// Median of a sample (mean of the middle two for even sizes); NaN when empty.
pub fn median(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// P(Binomial(n, 1/2) <= j), computed in log space so any n works.
fn binom_half_cdf(n: usize, j: usize) -> f64 {
    let ln2 = std::f64::consts::LN_2;
    let mut ln_c = 0.0f64; // ln C(n, 0)
    let mut total = 0.0;
    for i in 0..=j.min(n) {
        if i > 0 {
            ln_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        total += (ln_c - n as f64 * ln2).exp();
    }
    total.min(1.0)
}

/// Distribution-free interval for the median: the narrowest `[x(k), x(n-k+1)]` whose coverage
/// reaches `target`, or `[min, max]` with its (lower) coverage when n is too small.
pub fn median_ci(xs: &[f64], target: f64) -> Interval {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return Interval {
            lo: f64::NAN,
            hi: f64::NAN,
            level: 0.0,
        };
    }
    let coverage = |k: usize| 1.0 - 2.0 * binom_half_cdf(n, k - 1);
    let mut k = 1;
    for cand in (1..=n.div_ceil(2)).rev() {
        if coverage(cand) >= target {
            k = cand;
            break;
        }
    }
    Interval {
        lo: v[k - 1],
        hi: v[n - k],
        level: coverage(k).max(0.0),
    }
}

/// How one engine compares with another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The ratio's interval lies above 1.
    Faster,
    /// The ratio's interval lies below 1.
    Slower,
    /// The interval contains 1 at an achieved level of at least [`MIN_VERDICT_LEVEL`].
    WithinNoise,
    /// The interval reaches less than [`MIN_VERDICT_LEVEL`] (too few paired rounds): no
    /// verdict either way.
    TooFewRounds,
}

impl Verdict {
    /// Words for tables.
    pub fn words(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "slower",
            Verdict::WithinNoise => "within noise",
            Verdict::TooFewRounds => "too few rounds",
        }
    }
}

/// A ratio summarised over paired rounds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    /// Median of the per-round ratios.
    pub median: f64,
    /// Its interval.
    pub ci: Interval,
    /// Rounds in which both sides succeeded.
    pub rounds: usize,
    /// The verdict.
    pub verdict: Verdict,
}

impl Ratio {
    /// Shown slower by more than [`DECISION_MARGIN`]: the verdict is *slower* and the whole
    /// interval lies below `1 / (1 + DECISION_MARGIN)`. What a group boundary needs.
    pub fn slower_beyond_margin(&self) -> bool {
        self.verdict == Verdict::Slower && self.ci.hi < 1.0 / (1.0 + DECISION_MARGIN)
    }

    /// The verdict in words, with the achieved level where it is too low to decide:
    /// "too few rounds (75%)".
    pub fn verdict_words(&self) -> String {
        match self.verdict {
            Verdict::TooFewRounds => format!("too few rounds ({:.0}%)", self.ci.level * 100.0),
            v => v.words().to_string(),
        }
    }
}

/// Summarise paired per-round ratios `a_i / b_i` (throughputs).
pub fn paired_ratio(pairs: &[(f64, f64)]) -> Option<Ratio> {
    let rs: Vec<f64> = pairs
        .iter()
        .filter(|(_, b)| *b > 0.0)
        .map(|(a, b)| a / b)
        .collect();
    if rs.is_empty() {
        return None;
    }
    let ci = median_ci(&rs, CONFIDENCE);
    let verdict = if ci.level < MIN_VERDICT_LEVEL {
        Verdict::TooFewRounds
    } else if ci.lo <= 1.0 && ci.hi >= 1.0 {
        Verdict::WithinNoise
    } else if ci.lo > 1.0 {
        Verdict::Faster
    } else {
        Verdict::Slower
    };
    Some(Ratio {
        median: median(&rs),
        ci,
        rounds: rs.len(),
        verdict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_an_interval_over_ten_percent_or_a_single_sample() {
        assert!(!is_noisy(5, 0.10));
        assert!(is_noisy(5, 0.1001));
        assert!(is_noisy(1, 0.0));
        assert!(!is_noisy(2, 0.0));
    }
    use workloads::data::Rng;

    fn uniform(r: &mut Rng) -> f64 {
        (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Lognormal-ish skewed samples (like throughput on a noisy VM) with a known median.
    fn skewed(r: &mut Rng) -> f64 {
        // Box-Muller normal, then exp: median of exp(N(0, 0.5)) is 1.
        let (u1, u2) = (uniform(r).max(1e-12), uniform(r));
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (0.5 * z).exp()
    }

    #[test]
    fn median_basics() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn achieved_levels_are_exact() {
        // n = 3: only [min, max], coverage 1 - 2/8.
        let ci = median_ci(&[1.0, 2.0, 3.0], 0.95);
        assert_eq!((ci.lo, ci.hi), (1.0, 3.0));
        assert!((ci.level - 0.75).abs() < 1e-12);
        // n = 6: [min, max] covers 1 - 2/64 = 0.96875.
        let ci = median_ci(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 0.95);
        assert!((ci.level - 0.96875).abs() < 1e-12);
        // n = 20: narrower than the range and at least 95%.
        let xs: Vec<f64> = (1..=20).map(f64::from).collect();
        let ci = median_ci(&xs, 0.95);
        assert!(ci.lo > 1.0 && ci.hi < 20.0 && ci.level >= 0.95, "{ci:?}");
    }

    #[test]
    fn coverage_near_nominal_on_skewed_data() {
        // Over many seeded draws, the interval contains the true median (1.0) at least at the
        // level it claims, and not absurdly more (it is the narrowest such interval).
        for n in [6usize, 10, 25] {
            let mut r = Rng::new(99, n as u64);
            let draws = 4000;
            let mut hit = 0;
            let mut claimed = 0.0;
            for _ in 0..draws {
                let xs: Vec<f64> = (0..n).map(|_| skewed(&mut r)).collect();
                let ci = median_ci(&xs, 0.95);
                claimed = ci.level;
                if ci.lo <= 1.0 && 1.0 <= ci.hi {
                    hit += 1;
                }
            }
            let cover = hit as f64 / draws as f64;
            assert!(
                cover > claimed - 0.015,
                "n={n}: coverage {cover} below claimed {claimed}"
            );
            assert!(cover < 0.999, "n={n}: coverage {cover} suspiciously total");
        }
    }

    #[test]
    fn within_noise_rule() {
        let mut r = Rng::new(5, 1);
        // A/A: same distribution on both sides, paired by round -> within noise (nearly always).
        let mut aa_noise = 0;
        let mut slow_found = 0;
        for _ in 0..200 {
            let aa: Vec<(f64, f64)> = (0..7).map(|_| (skewed(&mut r), skewed(&mut r))).collect();
            if paired_ratio(&aa).unwrap().verdict == Verdict::WithinNoise {
                aa_noise += 1;
            }
            // B is 20% slower with 2% noise on a shared per-round machine factor.
            let slow: Vec<(f64, f64)> = (0..7)
                .map(|_| {
                    let machine = skewed(&mut r);
                    let e = 1.0 + 0.02 * (uniform(&mut r) - 0.5);
                    (machine * 0.8 * e, machine)
                })
                .collect();
            if paired_ratio(&slow).unwrap().verdict == Verdict::Slower {
                slow_found += 1;
            }
        }
        assert!(
            aa_noise >= 190,
            "A/A judged different {} of 200 times",
            200 - aa_noise
        );
        assert_eq!(
            slow_found, 200,
            "a consistent 20% slowdown must always be seen"
        );
        // One paired round is never enough to call a difference, nor are three (75%); and
        // that is said as such, not as "within noise"...
        assert_eq!(
            paired_ratio(&[(2.0, 1.0)]).unwrap().verdict,
            Verdict::TooFewRounds
        );
        let three = paired_ratio(&[(2.0, 1.0), (2.1, 1.0), (2.2, 1.0)]).unwrap();
        assert_eq!(three.verdict, Verdict::TooFewRounds);
        assert_eq!(three.verdict_words(), "too few rounds (75%)");
        // ... but four consistent rounds (87.5%) are.
        let four = [(2.0, 1.0), (2.1, 1.0), (2.2, 1.0), (1.9, 1.0)];
        assert_eq!(paired_ratio(&four).unwrap().verdict, Verdict::Faster);
    }
}
