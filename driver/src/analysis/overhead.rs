//! Analysis layer: the overhead set's cells (runtime cost per op; the set is planned in
//! `overhead_plan.rs`). Per workload, queue depth and engine: ops per second and CPU ns per op
//! over the timed section, each a median with its order-statistic interval, and each runtime's
//! **tax over the floor** (`io-uring-raw`: the io-uring crate driven directly, no runtime):
//! its per-round ratio of ops/s against the floor's trial of the same round (the pairing that
//! reference ratios use, `stats::paired_ratio`), and the per-round difference in wall ns per
//! op and in CPU ns per op. Pure: records in, cells out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use workloads::Workload;

use crate::analysis::stats::{self, CONFIDENCE, Interval, MIN_VERDICT_LEVEL, Ratio, Verdict};
use crate::plan::options::Config;
use crate::results::{Status, TrialRecord};

/// The floor engine every runtime's tax is measured against (registry: model `floor`).
pub const FLOOR: &str = "io-uring-raw";

/// A per-round difference (engine − floor), summarised like a ratio.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    /// Median of the per-round differences.
    pub median: f64,
    /// Its interval.
    pub ci: Interval,
    /// Rounds in which both sides succeeded.
    pub rounds: usize,
    /// `slower` (interval above 0: more ns per op than the floor), `faster` (below 0),
    /// `within-noise` (contains 0), `too-few-rounds` (the interval reaches less than 85%).
    pub verdict: Verdict,
}

/// One engine at one (workload, queue depth) of the overhead set.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OverheadCell {
    /// Workload (`read`, `randread`, `write`).
    pub workload: Workload,
    /// Sweep point (4 KiB, queue depth 1 or 32).
    pub config: Config,
    /// Engine.
    pub engine: String,
    /// Whether this row is the floor itself.
    pub floor: bool,
    /// Measured trials that succeeded and verified.
    pub n: usize,
    /// Measured trials that did not.
    pub failed: usize,
    /// Median ops (reads + writes) per second of the timed section.
    pub ops_per_s: f64,
    /// Its interval.
    pub ops_ci: Interval,
    /// Relative half-width of that interval.
    pub ops_rel_ci: f64,
    /// CPU ns (every thread of the trial process, over the timed section) per op: median.
    pub cpu_ns_per_op: Option<f64>,
    /// Its interval.
    pub cpu_ci: Option<Interval>,
    /// Relative half-width of the CPU interval.
    pub cpu_rel_ci: Option<f64>,
    /// Either interval wider than ±10% of its median, or fewer than 2 trials.
    pub noisy: bool,
    /// This engine's ops/s over the floor's, per round (below 1: it does fewer ops per second).
    pub vs_floor: Option<Ratio>,
    /// Wall ns per op (1 / ops/s) minus the floor's, per round: the runtime's tax per op.
    pub ns_over_floor: Option<Diff>,
    /// CPU ns per op minus the floor's, per round.
    pub cpu_ns_over_floor: Option<Diff>,
}

/// Ops per second and CPU ns per op of one trial.
type PerOp = (f64, Option<f64>);

/// What one successful trial gives: ops per second and CPU ns per op.
fn per_op(r: &TrialRecord) -> Option<PerOp> {
    if r.status != Status::Ok {
        return None;
    }
    let o = r.outcome.as_ref()?;
    let ops = (o.stats.reads + o.stats.writes) as f64;
    if ops <= 0.0 || o.elapsed_ns == 0 {
        return None;
    }
    let ops_per_s = ops / (o.elapsed_ns as f64 / 1e9);
    let cpu = o.cpu.as_ref().map(|c| c.total_s() * 1e9 / ops);
    Some((ops_per_s, cpu))
}

/// Summarise per-round differences `a_i − b_i`.
pub fn paired_diff(pairs: &[(f64, f64)]) -> Option<Diff> {
    let ds: Vec<f64> = pairs
        .iter()
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| a - b)
        .collect();
    if ds.is_empty() {
        return None;
    }
    let ci = stats::median_ci(&ds, CONFIDENCE);
    let verdict = if ci.level < MIN_VERDICT_LEVEL {
        Verdict::TooFewRounds
    } else if ci.lo <= 0.0 && ci.hi >= 0.0 {
        Verdict::WithinNoise
    } else if ci.lo > 0.0 {
        Verdict::Slower
    } else {
        Verdict::Faster
    };
    Some(Diff {
        median: stats::median(&ds),
        ci,
        rounds: ds.len(),
        verdict,
    })
}

fn rel(ci: &Interval, median: f64) -> f64 {
    if median > 0.0 {
        (ci.hi - ci.lo) / 2.0 / median
    } else {
        f64::NAN
    }
}

/// The overhead cells of a run's records (only those with `overhead: true`, warm-ups and
/// interrupted trials left out), by workload, sweep point, then `engines` order.
pub fn summarise(records: &[TrialRecord], engines: &[String]) -> Vec<OverheadCell> {
    let measured: Vec<&TrialRecord> = records
        .iter()
        .filter(|r| r.overhead && !r.warmup && r.status != Status::Interrupted)
        .collect();
    let mut keys: Vec<(Workload, Config)> =
        measured.iter().map(|r| (r.workload, r.config)).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for key in keys {
        let of = |e: &str| -> Vec<&&TrialRecord> {
            measured
                .iter()
                .filter(|r| (r.workload, r.config) == key && r.engine == e)
                .collect()
        };
        // Per round: (ops/s, CPU ns/op) of each engine's successful trial.
        let by_round = |e: &str| -> BTreeMap<u32, PerOp> {
            of(e)
                .into_iter()
                .filter_map(|r| per_op(r).map(|v| (r.round, v)))
                .collect()
        };
        let floor = by_round(FLOOR);
        for engine in engines {
            let rs = of(engine);
            if rs.is_empty() {
                continue;
            }
            let mine = by_round(engine);
            let ops: Vec<f64> = mine.values().map(|v| v.0).collect();
            let cpu: Vec<f64> = mine.values().filter_map(|v| v.1).collect();
            let ops_ci = stats::median_ci(&ops, CONFIDENCE);
            let ops_per_s = stats::median(&ops);
            let cpu_ns_per_op = (!cpu.is_empty()).then(|| stats::median(&cpu));
            let cpu_ci = (!cpu.is_empty()).then(|| stats::median_ci(&cpu, CONFIDENCE));
            let ops_rel_ci = rel(&ops_ci, ops_per_s);
            let cpu_rel_ci = cpu_ci.zip(cpu_ns_per_op).map(|(c, m)| rel(&c, m));
            let is_floor = engine == FLOOR;
            let pairs = |f: &dyn Fn(&PerOp) -> Option<f64>| -> Vec<(f64, f64)> {
                mine.iter()
                    .filter_map(|(round, a)| Some((f(a)?, f(floor.get(round)?)?)))
                    .collect()
            };
            let (vs_floor, ns_over_floor, cpu_ns_over_floor) = if is_floor {
                (None, None, None)
            } else {
                (
                    stats::paired_ratio(&pairs(&|v| Some(v.0))),
                    paired_diff(&pairs(&|v| Some(1e9 / v.0))),
                    paired_diff(&pairs(&|v| v.1)),
                )
            };
            out.push(OverheadCell {
                workload: key.0,
                config: key.1,
                engine: engine.clone(),
                floor: is_floor,
                n: ops.len(),
                failed: rs.len() - ops.len(),
                ops_per_s,
                ops_ci,
                ops_rel_ci,
                cpu_ns_per_op,
                cpu_ci,
                cpu_rel_ci,
                // NaN (no median) counts as noisy, as in summary.rs.
                noisy: ops.len() < 2
                    || ops_rel_ci.is_nan()
                    || ops_rel_ci > 0.10
                    || cpu_rel_ci.is_some_and(|c| c.is_nan() || c > 0.10),
                vs_floor,
                ns_over_floor,
                cpu_ns_over_floor,
            });
        }
    }
    out
}

/// How two runs' tax verdicts for one engine at one cell of the set relate (`compare`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaxAgreement {
    /// The same verdict (both more, both less, both within noise, both too few rounds).
    Same,
    /// One run decided (more or less than the floor) where the other did not: more rounds or
    /// less noise decided more, but nothing is contradicted.
    Differ,
    /// One run shows more than the floor and the other less.
    Contradict,
}

impl TaxAgreement {
    /// Compare run B's verdict with run A's.
    pub fn of(a: Verdict, b: Verdict) -> TaxAgreement {
        match (a, b) {
            _ if a == b => TaxAgreement::Same,
            (Verdict::Slower, Verdict::Faster) | (Verdict::Faster, Verdict::Slower) => {
                TaxAgreement::Contradict
            }
            _ => TaxAgreement::Differ,
        }
    }

    /// Words for tables.
    pub fn words(self) -> &'static str {
        match self {
            TaxAgreement::Same => "same",
            TaxAgreement::Differ => "differ",
            TaxAgreement::Contradict => "**contradict**",
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::results::{Usage, Verified};
    use workloads::{Outcome, Stats};

    /// A synthetic overhead trial: `ops` 4 KiB reads in `ns_per_op` each (wall), with
    /// `cpu_ns_per_op` of CPU each.
    pub(crate) fn rec(
        engine: &str,
        round: u32,
        qd: usize,
        ns_per_op: f64,
        cpu_ns_per_op: f64,
    ) -> TrialRecord {
        let ops = 4096u64;
        TrialRecord {
            schema: crate::results::schema::TRIALS.current,
            index: 0,
            round,
            warmup: false,
            engine: engine.into(),
            workload: Workload::Read,
            config: Config {
                block_size: 4096,
                queue_depth: qd,
                files_in_flight: 1,
                threads: 1,
                cancel_bp: 0,
            },
            status: Status::Ok,
            error: None,
            verified: Verified::Yes,
            verify_detail: None,
            cache: "warm".into(),
            direct: false,
            outcome: Some(Outcome {
                elapsed_ns: (ops as f64 * ns_per_op) as u64,
                bytes: ops * 4096,
                files: 1,
                stats: Stats {
                    reads: ops,
                    ..Stats::default()
                },
                detail: None,
                cancel: Default::default(),
                cpu: Some(workloads::CpuUsage {
                    user_s: ops as f64 * cpu_ns_per_op / 1e9,
                    ..Default::default()
                }),
            }),
            throughput: Some(4096.0 / ns_per_op * 1e9),
            usage: Usage::default(),
            child_wall_s: 0.05,
            overhead: true,
        }
    }

    fn cell<'a>(cs: &'a [OverheadCell], e: &str, qd: usize) -> &'a OverheadCell {
        cs.iter()
            .find(|c| c.engine == e && c.config.queue_depth == qd)
            .unwrap_or_else(|| panic!("no cell {e} qd{qd}"))
    }

    #[test]
    fn the_tax_over_the_floor_is_paired_per_round() {
        // The machine slows every engine alike in odd rounds (a noisy VM); the runtime costs
        // 500 ns more per op than the floor in every round, and a twin of the floor costs the
        // same within 1%.
        let mut records = Vec::new();
        for round in 0..7 {
            let m = if round % 2 == 1 { 1.6 } else { 1.0 };
            let jitter = 1.0 + 0.01 * (round as f64 - 3.0) / 3.0;
            records.push(rec(FLOOR, round, 1, 1000.0 * m, 900.0 * m));
            records.push(rec(
                "runtime",
                round,
                1,
                1000.0 * m + 500.0,
                900.0 * m + 400.0,
            ));
            records.push(rec("twin", round, 1, 1000.0 * m * jitter, 900.0 * m));
        }
        // Overhead records only: a main-set trial of the same engine is not part of it.
        let mut main = rec("runtime", 0, 1, 10.0, 10.0);
        main.overhead = false;
        records.push(main);
        let engines: Vec<String> = [FLOOR, "runtime", "twin"].map(String::from).to_vec();
        let cs = summarise(&records, &engines);
        assert_eq!(cs.len(), 3, "{cs:?}");
        let f = cell(&cs, FLOOR, 1);
        assert!(f.floor && f.vs_floor.is_none() && f.ns_over_floor.is_none());
        assert_eq!(f.n, 7);
        let r = cell(&cs, "runtime", 1);
        assert!(!r.floor);
        let d = r.ns_over_floor.unwrap();
        assert!((d.median - 500.0).abs() < 1.0, "{d:?}");
        assert_eq!(d.verdict, Verdict::Slower);
        assert_eq!(d.rounds, 7);
        let c = r.cpu_ns_over_floor.unwrap();
        assert!((c.median - 400.0).abs() < 1.0, "{c:?}");
        assert_eq!(r.vs_floor.unwrap().verdict, Verdict::Slower);
        // The machine factor swings ops/s by 1.6x, so the cells themselves are noisy, but the
        // pairing cancels it.
        assert!(r.noisy);
        let t = cell(&cs, "twin", 1);
        assert_eq!(t.vs_floor.unwrap().verdict, Verdict::WithinNoise);
        assert_eq!(t.ns_over_floor.unwrap().verdict, Verdict::WithinNoise);
        // ops/s and CPU ns/op are per op, not per byte.
        assert!((f.ops_per_s - 1e6).abs() / 1e6 < 0.61, "{}", f.ops_per_s);
        assert!((f.cpu_ns_per_op.unwrap() - 900.0).abs() < 1.0);
    }

    #[test]
    fn each_depth_is_its_own_cell_and_few_rounds_say_so() {
        let mut records = Vec::new();
        for round in 0..3 {
            for qd in [1, 32] {
                records.push(rec(FLOOR, round, qd, 1000.0, 800.0));
                records.push(rec("rt", round, qd, 1300.0 + round as f64, 1000.0));
            }
        }
        // A warm-up round and a failed trial are not measured.
        let mut w = rec("rt", 9, 1, 1.0, 1.0);
        w.warmup = true;
        records.push(w);
        let mut bad = rec("rt", 3, 32, 1.0, 1.0);
        bad.status = Status::Crash;
        records.push(bad);
        let engines: Vec<String> = [FLOOR, "rt"].map(String::from).to_vec();
        let cs = summarise(&records, &engines);
        assert_eq!(cs.len(), 4);
        for qd in [1, 32] {
            let c = cell(&cs, "rt", qd);
            assert_eq!(c.n, 3);
            let d = c.ns_over_floor.unwrap();
            assert_eq!(d.verdict, Verdict::TooFewRounds, "qd{qd}: {d:?}");
            assert!(d.ci.level < MIN_VERDICT_LEVEL);
        }
        assert_eq!(cell(&cs, "rt", 32).failed, 1);
        assert_eq!(cell(&cs, "rt", 1).failed, 0);
    }

    #[test]
    fn without_a_floor_there_is_no_tax() {
        let records: Vec<TrialRecord> = (0..6).map(|r| rec("rt", r, 1, 1000.0, 900.0)).collect();
        let cs = summarise(&records, &["rt".to_string()]);
        assert_eq!(cs.len(), 1);
        assert!(cs[0].vs_floor.is_none() && cs[0].ns_over_floor.is_none());
        assert!(!cs[0].noisy, "identical rounds: {:?}", cs[0]);
    }

    #[test]
    fn old_records_have_no_overhead_set() {
        // A trial line written before the set existed has no `overhead` field.
        let mut v = serde_json::to_value(rec("rt", 0, 1, 1000.0, 900.0)).unwrap();
        v.as_object_mut().unwrap().remove("overhead");
        let r: TrialRecord = serde_json::from_value(v).unwrap();
        assert!(!r.overhead);
        assert!(summarise(&[r], &["rt".to_string()]).is_empty());
    }

    #[test]
    fn tax_verdicts_contradict_only_when_opposite() {
        use Verdict::*;
        assert_eq!(TaxAgreement::of(Slower, Slower), TaxAgreement::Same);
        assert_eq!(
            TaxAgreement::of(WithinNoise, WithinNoise),
            TaxAgreement::Same
        );
        assert_eq!(TaxAgreement::of(Slower, WithinNoise), TaxAgreement::Differ);
        assert_eq!(TaxAgreement::of(TooFewRounds, Faster), TaxAgreement::Differ);
        assert_eq!(TaxAgreement::of(Slower, Faster), TaxAgreement::Contradict);
        assert_eq!(TaxAgreement::of(Faster, Slower), TaxAgreement::Contradict);
    }
}
