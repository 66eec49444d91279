//! From trial records to summary cells: per (workload, sweep point, engine), the median
//! throughput with its interval, CPU per GB, and paired per-round ratios against std and
//! against the fastest engine, with "within noise" groupings. Pure: records in, cells out.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use workloads::Workload;

use crate::analysis::stats::{self, CONFIDENCE, Interval, Ratio};
use crate::plan::options::Config;
use crate::results::{Status, TrialRecord};

/// One row of the summary.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Cell {
    /// Workload.
    pub workload: Workload,
    /// Sweep point.
    pub config: Config,
    /// Engine.
    pub engine: String,
    /// Measured trials that succeeded and verified.
    pub n: usize,
    /// Measured trials that did not (error, verify failure, crash, timeout, ...).
    pub failed: usize,
    /// Status of each failure, for the table.
    pub failures: Vec<String>,
    /// Median throughput, bytes/s.
    pub median_bps: f64,
    /// Smallest and largest throughput.
    pub min_bps: f64,
    /// Largest throughput.
    pub max_bps: f64,
    /// Interval of the median throughput.
    pub ci: Interval,
    /// Relative half-width of the interval (noise flag above 10%).
    pub rel_ci: f64,
    /// Whether the cell is noisy (interval wider than ±10% of the median).
    pub noisy: bool,
    /// CPU seconds (user + system, every thread of the trial process, io_uring's workers
    /// included) over the timed section per GB moved: median over trials. Start-up, dataset
    /// checks and verification are outside it, so it does not depend on the file size.
    pub cpu_s_per_gb: Option<f64>,
    /// Interval of CPU per GB.
    pub cpu_ci: Option<Interval>,
    /// The whole child's CPU seconds (`wait4`: process start-up and everything outside the
    /// timed section included) per GB moved: median over trials. Shown apart; never ranked.
    #[serde(default)]
    pub child_cpu_s_per_gb: Option<f64>,
    /// Median peak RSS of the child, KiB.
    pub max_rss_kib: Option<u64>,
    /// Per-round ratio against std.
    pub vs_std: Option<Ratio>,
    /// Per-round ratio against the fastest engine of this workload and sweep point.
    pub vs_best: Option<Ratio>,
    /// `vs_best` shows it slower beyond the run's margin ([`Summary::margin`]): measurably
    /// slower than the top median's engine, as "How to choose" says it.
    #[serde(default)]
    pub behind_best: bool,
    /// Group by the rule of [`assign_groups`]: 1 for the engine with the highest median and
    /// every engine after it (by median) not shown slower, beyond the margin, than one before
    /// it in the group; 2 from the first that is, ...; null for unranked rows.
    pub group: Option<usize>,
    /// For the engine that opened a group after the first: its per-round ratio against the
    /// member of the previous group whose "slower beyond the margin" verdict opened the group
    /// (the ratio a reader needs to check the grouping).
    #[serde(default)]
    pub group_split: Option<GroupSplit>,
    /// Read latency percentiles p50, p90, p99, p99.9 (ns), over all measured trials.
    pub read_lat_ns: Option<[u64; 4]>,
    /// The reads and writes outstanding at once when the latencies were measured (the most
    /// over the cell's trials of `Stats::max_in_flight`); latencies are only comparable
    /// between cells with the same count. Null when not recorded (older results).
    #[serde(default)]
    pub ops_in_flight: Option<u64>,
    /// Write latency percentiles (ns).
    pub write_lat_ns: Option<[u64; 4]>,
    /// Per percentile of `read_lat_ns`, `[lo, hi]` (ns): the order-statistic interval (at
    /// `ci.level`'s rule, 95% or the level reached) of that percentile taken per trial, so a
    /// reader sees how much it moves from round to round; the pooled figure above may sit
    /// anywhere in it. Null with fewer than 2 trials or in older results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_lat_ci_ns: Option<[[u64; 2]; 4]>,
    /// The same for `write_lat_ns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_lat_ci_ns: Option<[[u64; 2]; 4]>,
    /// Whether this engine performs real I/O (false: null; not ranked).
    pub ranked: bool,
    /// Cancellation injection, summed over the measured trials (runs with --cancel-rate).
    #[serde(default)]
    pub cancel: Option<CancelSummary>,
    /// Per-round ratio against the same engine, workload and sweep point without injected
    /// cancellation: the throughput cost of cancelling.
    #[serde(default)]
    pub vs_no_cancel: Option<Ratio>,
    /// Per-round ratios against the reference rows of this workload measured in the same
    /// rounds (kernel-copy, fio read, fio write; see reference.rs). Ranked engines only.
    #[serde(default)]
    pub references: Vec<crate::analysis::reference::RefRatio>,
    /// With `--target-ci`: whether this cell's interval reached the target before the time
    /// budget ran out (absent without `--target-ci`).
    #[serde(default)]
    pub converged: Option<bool>,
}

/// Why a group starts where it does: its first engine against the member of the previous group
/// that showed it slower beyond the margin.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GroupSplit {
    /// The member of the previous group that showed it slower.
    pub versus: String,
    /// This engine / that one, per round; its verdict is `slower`.
    pub ratio: Ratio,
}

/// Injected cancellations of a cell, summed over its measured trials.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct CancelSummary {
    /// Cancels attempted.
    pub attempted: u64,
    /// Attempts whose op was still pending after one poll: dropped in flight, then retried.
    pub landed_in_flight: u64,
    /// Attempts whose op had already completed (counted, nothing cancelled).
    pub vacuous: u64,
    /// Largest descriptor leak seen in one trial.
    pub max_leaked_fds: i64,
    /// Largest growth of live buffer bytes seen in one trial.
    pub max_leaked_buffer_bytes: i64,
}

/// The whole summary.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Schema version.
    pub schema: u32,
    /// Target confidence of intervals.
    pub confidence: f64,
    /// The least difference this run's groups state ([`stats::run_margin`]).
    #[serde(default)]
    pub margin: Margin,
    /// Cells, by workload, sweep point, then engine order of the run.
    pub cells: Vec<Cell>,
    /// The overhead set's cells (runtime cost per op, `overhead.rs`); absent in older results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overhead: Vec<crate::analysis::overhead::OverheadCell>,
}

type Key = (Workload, Config);

/// A run's margin ([`stats::run_margin`]) and how many engine pairs it was read from (0: none
/// qualified, and the margin is [`stats::FALLBACK_MARGIN`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Margin {
    /// The margin: a group boundary needs a ratio interval below `1 / (1 + value)`.
    pub value: f64,
    /// Engine pairs (× tables) whose half-to-half movement it was read from.
    pub pairs: usize,
}

impl Default for Margin {
    fn default() -> Self {
        Margin {
            value: stats::FALLBACK_MARGIN,
            pairs: 0,
        }
    }
}

impl Margin {
    /// `31% (90% of its 180 engine pairs' ratios moved at most that much ...)`, or the
    /// fallback said as such, for the reports.
    pub fn words(&self) -> String {
        if self.pairs == 0 {
            format!(
                "{:.0}% (the fallback: no pair of engines had two paired rounds in each half of the run)",
                self.value * 100.0
            )
        } else {
            format!(
                "{:.0}% ({:.0}% of its {} engine pairs' ratios moved at most that much between the first and second half of its rounds)",
                self.value * 100.0,
                stats::MARGIN_QUANTILE * 100.0,
                self.pairs
            )
        }
    }
}

/// Throughput by engine, by round, of one table (workload and sweep point).
type ByRound<'a> = BTreeMap<&'a str, BTreeMap<u32, f64>>;

/// The trials a summary is made of: warm-up, interrupted and overhead trials left out (the
/// overhead set is summarised apart, `overhead.rs`: its cells may share a workload and sweep
/// point with the main ones, but not their file or cache state).
fn measured(records: &[TrialRecord]) -> Vec<&TrialRecord> {
    records
        .iter()
        .filter(|r| !r.warmup && r.status != Status::Interrupted && !r.overhead)
        .collect()
}

/// Every table's throughputs by engine and round, from the successful trials.
fn by_round<'a>(measured: &[&'a TrialRecord]) -> BTreeMap<Key, ByRound<'a>> {
    let mut tables: BTreeMap<Key, ByRound<'a>> = BTreeMap::new();
    for r in measured {
        if let (Status::Ok, Some(t)) = (&r.status, r.throughput) {
            tables
                .entry((r.workload, r.config))
                .or_default()
                .entry(&r.engine)
                .or_default()
                .insert(r.round, t);
        }
    }
    tables
}

/// The rounds both sides completed, `(a, b)`, in round order.
fn paired_rounds(a: &BTreeMap<u32, f64>, b: &BTreeMap<u32, f64>) -> Vec<(f64, f64)> {
    a.iter()
        .filter_map(|(round, x)| b.get(round).map(|y| (*x, *y)))
        .collect()
}

/// The run's margin: every pair of ranked engines on every table, its per-round ratios in round
/// order, and how far they moved between the halves ([`stats::half_movement`]).
fn margin_of(tables: &BTreeMap<Key, ByRound<'_>>, ranked: &impl Fn(&str) -> bool) -> Margin {
    let mut moves = Vec::new();
    for by_engine in tables.values() {
        let engines: Vec<(&&str, &BTreeMap<u32, f64>)> =
            by_engine.iter().filter(|(e, _)| ranked(e)).collect();
        for (i, (_, ma)) in engines.iter().enumerate() {
            for (_, mb) in &engines[i + 1..] {
                let ratios: Vec<f64> = paired_rounds(ma, mb)
                    .into_iter()
                    .filter(|(_, y)| *y > 0.0)
                    .map(|(x, y)| x / y)
                    .collect();
                if let Some(m) = stats::half_movement(&ratios) {
                    moves.push(m);
                }
            }
        }
    }
    let (value, pairs) = stats::run_margin(&moves);
    Margin { value, pairs }
}

/// Each percentile's interval over the trials' own percentiles (see `Cell::read_lat_ci_ns`).
fn percentile_intervals(per_trial: &[[u64; 4]]) -> Option<[[u64; 2]; 4]> {
    if per_trial.len() < 2 {
        return None;
    }
    let mut out = [[0u64; 2]; 4];
    for (i, slot) in out.iter_mut().enumerate() {
        let v: Vec<f64> = per_trial.iter().map(|p| p[i] as f64).collect();
        let ci = stats::median_ci(&v, CONFIDENCE);
        *slot = [ci.lo as u64, ci.hi as u64];
    }
    Some(out)
}

fn percentiles(h: &workloads::Histogram) -> Option<[u64; 4]> {
    Some([
        h.quantile(0.5)?,
        h.quantile(0.9)?,
        h.quantile(0.99)?,
        h.quantile(0.999)?,
    ])
}

/// The per-round ratio `a / b` (throughput) on one workload and sweep point, from the measured
/// trials of `records` (warm-up, interrupted and overhead trials left out, as in
/// [`summarise`]); `None` without a paired round. What `ringbench compare` reads a gap off
/// in a run whose groups do not show it.
pub fn paired_ratio_in(
    records: &[TrialRecord],
    workload: Workload,
    config: Config,
    a: &str,
    b: &str,
) -> Option<Ratio> {
    let tables = by_round(&measured(records));
    let table = tables.get(&(workload, config))?;
    stats::paired_ratio(&paired_rounds(table.get(a)?, table.get(b)?))
}

/// Build the summary. `engines` gives the display order; `ranked(engine)` says whether an
/// engine takes part in rankings (the null and naive engines do not).
pub fn summarise(
    records: &[TrialRecord],
    engines: &[String],
    ranked: impl Fn(&str) -> bool,
) -> Summary {
    let measured = measured(records);
    let keys: BTreeSet<Key> = measured.iter().map(|r| (r.workload, r.config)).collect();
    let tables = by_round(&measured);
    let margin = margin_of(&tables, &ranked);
    let no_trial = ByRound::new();
    let mut cells = Vec::new();
    for key in keys {
        let by_engine = tables.get(&key).unwrap_or(&no_trial);
        let med = |e: &str| {
            by_engine
                .get(e)
                .map(|m| stats::median(&m.values().copied().collect::<Vec<_>>()))
        };
        let best = engines
            .iter()
            .filter(|e| ranked(e))
            .filter_map(|e| med(e).map(|m| (e.as_str(), m)))
            // Ties broken by name, as `assign_groups` orders them, so "best" is group 1's leader.
            .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(e, _)| e);
        let paired = |a: &str, b: &str| -> Option<Ratio> {
            stats::paired_ratio(&paired_rounds(by_engine.get(a)?, by_engine.get(b)?))
        };
        // The same engine, workload and sweep point without injected cancellation, by round.
        let no_cancel = |engine: &str| -> Option<Ratio> {
            if key.1.cancel_bp == 0 {
                return None;
            }
            let base = Config {
                cancel_bp: 0,
                ..key.1
            };
            let without = tables.get(&(key.0, base))?.get(engine)?;
            stats::paired_ratio(&paired_rounds(by_engine.get(engine)?, without))
        };
        let mut key_cells = Vec::new();
        for engine in engines {
            let rs: Vec<&&TrialRecord> = measured
                .iter()
                .filter(|r| (r.workload, r.config) == key && &r.engine == engine)
                .collect();
            if rs.is_empty() {
                continue;
            }
            let ok: Vec<&&TrialRecord> = rs
                .iter()
                .copied()
                .filter(|r| r.status == Status::Ok && r.throughput.is_some())
                .collect();
            let thr: Vec<f64> = ok.iter().filter_map(|r| r.throughput).collect();
            let ci = stats::median_ci(&thr, CONFIDENCE);
            let median = stats::median(&thr);
            let per_gb = |r: &TrialRecord, cpu_s: Option<f64>| -> Option<f64> {
                let gb = r.outcome.as_ref()?.bytes as f64 / 1e9;
                (gb > 0.0).then_some(cpu_s? / gb)
            };
            let cpu: Vec<f64> = ok
                .iter()
                .filter_map(|r| {
                    let timed = r.outcome.as_ref()?.cpu.as_ref()?.total_s();
                    per_gb(r, Some(timed))
                })
                .collect();
            let child_cpu: Vec<f64> = ok
                .iter()
                .filter_map(|r| per_gb(r, Some(r.usage.user_s + r.usage.sys_s)))
                .collect();
            let rss: Vec<f64> = ok.iter().map(|r| r.usage.max_rss_kib as f64).collect();
            let mut rh = workloads::Histogram::default();
            let mut wh = workloads::Histogram::default();
            let (mut r_trials, mut w_trials) = (Vec::new(), Vec::new());
            for r in &ok {
                if let Some(o) = &r.outcome {
                    rh.merge(&o.stats.read_latency);
                    wh.merge(&o.stats.write_latency);
                    r_trials.extend(percentiles(&o.stats.read_latency));
                    w_trials.extend(percentiles(&o.stats.write_latency));
                }
            }
            let rel_ci = if median > 0.0 {
                (ci.hi - ci.lo) / 2.0 / median
            } else {
                f64::NAN
            };
            let is_ranked = ranked(engine);
            key_cells.push(Cell {
                workload: key.0,
                config: key.1,
                engine: engine.clone(),
                n: thr.len(),
                failed: rs.len() - ok.len(),
                failures: rs
                    .iter()
                    .filter(|r| r.status != Status::Ok)
                    .map(|r| {
                        serde_json::to_value(&r.status)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default()
                    })
                    .collect(),
                median_bps: median,
                min_bps: thr.iter().copied().fold(f64::NAN, f64::min),
                max_bps: thr.iter().copied().fold(f64::NAN, f64::max),
                ci,
                rel_ci,
                noisy: stats::is_noisy(thr.len(), rel_ci),
                cpu_s_per_gb: (!cpu.is_empty()).then(|| stats::median(&cpu)),
                cpu_ci: (!cpu.is_empty()).then(|| stats::median_ci(&cpu, CONFIDENCE)),
                child_cpu_s_per_gb: (!child_cpu.is_empty()).then(|| stats::median(&child_cpu)),
                max_rss_kib: (!rss.is_empty()).then(|| stats::median(&rss) as u64),
                vs_std: if engine != "std" && is_ranked {
                    paired(engine, "std")
                } else {
                    None
                },
                vs_best: match best {
                    Some(b) if b != engine && is_ranked => paired(engine, b),
                    _ => None,
                },
                behind_best: false,
                group: None,
                group_split: None,
                read_lat_ns: percentiles(&rh),
                ops_in_flight: ok
                    .iter()
                    .filter_map(|r| r.outcome.as_ref().map(|o| o.stats.max_in_flight))
                    .max()
                    .filter(|n| *n > 0),
                write_lat_ns: percentiles(&wh),
                read_lat_ci_ns: percentile_intervals(&r_trials),
                write_lat_ci_ns: percentile_intervals(&w_trials),
                ranked: is_ranked,
                cancel: (key.1.cancel_bp > 0).then(|| {
                    let mut c = CancelSummary::default();
                    for o in ok.iter().filter_map(|r| r.outcome.as_ref()) {
                        c.attempted += o.cancel.attempted;
                        c.landed_in_flight += o.cancel.landed_in_flight;
                        c.vacuous += o.cancel.vacuous;
                        c.max_leaked_fds = c.max_leaked_fds.max(o.cancel.leaked_fds);
                        c.max_leaked_buffer_bytes =
                            c.max_leaked_buffer_bytes.max(o.cancel.leaked_buffer_bytes);
                    }
                    c
                }),
                vs_no_cancel: no_cancel(engine),
                converged: None,
                references: if is_ranked {
                    crate::analysis::reference::ratios(&measured, key.0, key.1, engine)
                } else {
                    Vec::new()
                },
            });
        }
        for c in &mut key_cells {
            c.behind_best = c.vs_best.is_some_and(|r| r.slower_beyond(margin.value));
        }
        assign_groups(&mut key_cells, &paired, margin.value);
        cells.extend(key_cells);
    }
    Summary {
        schema: crate::results::schema::SUMMARY.current,
        confidence: CONFIDENCE,
        margin,
        cells,
        overhead: crate::analysis::overhead::summarise(records, engines),
    }
}

/// The grouping rule, one pass in median order, so a reader can check it from the table:
///
/// 1. Take the ranked engines that completed a trial, by median throughput, highest first
///    (ties by name).
/// 2. The first opens group 1.
/// 3. Each next engine joins the current group unless its per-round ratio against *some
///    member* of the current group is *slower beyond the margin* (the whole interval below
///    `1 / (1 + margin)` at an achieved confidence of at least [`stats::MIN_VERDICT_LEVEL`];
///    the margin is the run's own, [`stats::run_margin`]); then it opens the next group, and
///    its ratio against the first such member (highest median first) is kept as the cell's
///    `group_split`.
///
/// Groups are therefore contiguous in median order (an engine never sits in a better group
/// than one with a higher median), and no group holds an engine shown slower beyond the margin
/// than one above it in the same group. Within noise, slower by less than the margin, too few
/// rounds, or no paired round all keep an engine in the current group. Against every member,
/// not only the group's first: which engine has the top median is itself noisy, and comparing
/// with it alone let two runs with the same gaps draw different groups.
pub fn assign_groups(
    cells: &mut [Cell],
    paired: &dyn Fn(&str, &str) -> Option<Ratio>,
    margin: f64,
) {
    let mut order: Vec<usize> = (0..cells.len())
        .filter(|&i| cells[i].ranked && cells[i].n > 0)
        .collect();
    order.sort_by(|&a, &b| {
        cells[b]
            .median_bps
            .total_cmp(&cells[a].median_bps)
            .then_with(|| cells[a].engine.cmp(&cells[b].engine))
    });
    let mut group = 0;
    let mut members: Vec<String> = Vec::new();
    for i in order {
        let split = members.iter().find_map(|m| {
            paired(&cells[i].engine, m)
                .filter(|r| r.slower_beyond(margin))
                .map(|ratio| GroupSplit {
                    versus: m.clone(),
                    ratio,
                })
        });
        if members.is_empty() || split.is_some() {
            group += 1;
            members.clear();
            cells[i].group_split = split;
        }
        members.push(cells[i].engine.clone());
        cells[i].group = Some(group);
    }
}

/// With adaptive repeats (`--target-ci`): mark each measured cell converged or not — its
/// interval within `target` (relative half-width) at the target confidence — and return the
/// ids (`workload/config/engine`) of those that are not. Ranked engines and reference rows
/// count; test-support engines do not.
pub fn mark_convergence(s: &mut Summary, target: f64) -> Vec<String> {
    let mut missed = Vec::new();
    for c in &mut s.cells {
        if !(c.ranked || crate::analysis::reference::is_reference(&c.engine)) {
            continue;
        }
        let ok = c.n > 0 && c.rel_ci <= target && c.ci.level >= CONFIDENCE;
        c.converged = Some(ok);
        if !ok {
            missed.push(format!("{}/{}/{}", c.workload, c.config.id(), c.engine));
        }
    }
    missed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::stats::{MIN_VERDICT_LEVEL, Verdict};
    use crate::results::fixtures::trial;
    use workloads::data::Rng;

    fn summary_of(runs: &[(&str, Vec<Option<f64>>)]) -> Summary {
        let mut records = Vec::new();
        for (e, per_round) in runs {
            for (round, mbps) in per_round.iter().enumerate() {
                if let Some(m) = mbps {
                    records.push(trial(records.len(), round as u32, e, Workload::Large, *m));
                }
            }
        }
        let engines: Vec<String> = runs.iter().map(|(e, _)| e.to_string()).collect();
        summarise(&records, &engines, |_| true)
    }

    /// Engines "a", "b" and "c" with these throughputs, round by round.
    fn abc(a: &[f64], b: &[f64], c: &[f64]) -> Summary {
        let some = |v: &[f64]| v.iter().copied().map(Some).collect::<Vec<_>>();
        summary_of(&[("a", some(a)), ("b", some(b)), ("c", some(c))])
    }

    /// The properties a reader checks from the table, on one key's cells.
    fn check(s: &Summary, case: &str) {
        let cells: Vec<&Cell> = s.cells.iter().filter(|c| c.group.is_some()).collect();
        for a in &cells {
            for b in &cells {
                // Monotone in the medians: never a better group than a higher median.
                if a.median_bps > b.median_bps {
                    assert!(
                        a.group <= b.group,
                        "{case}: {} ({}, group {:?}) below {} ({}, group {:?})",
                        a.engine,
                        a.median_bps,
                        a.group,
                        b.engine,
                        b.median_bps,
                        b.group
                    );
                }
            }
            // A group after the first opens only on a "slower beyond the margin" against a
            // member of the previous group, and its cell carries that ratio.
            let g = a.group.unwrap();
            let opens = !cells
                .iter()
                .any(|b| b.group == Some(g) && b.median_bps > a.median_bps);
            if g > 1 && opens {
                let sp = a.group_split.as_ref().unwrap_or_else(|| {
                    panic!("{case}: {} opens group {g} without its ratio", a.engine)
                });
                assert!(
                    sp.ratio.slower_beyond(s.margin.value),
                    "{case}: {:?}",
                    sp.ratio
                );
                assert!(sp.ratio.ci.hi < 1.0 / (1.0 + s.margin.value), "{case}");
                let prev = cells
                    .iter()
                    .find(|b| b.engine == sp.versus)
                    .unwrap_or_else(|| panic!("{case}: {} is not a row", sp.versus));
                assert_eq!(prev.group, Some(g - 1), "{case}");
            } else {
                assert!(a.group_split.is_none(), "{case}: {}", a.engine);
            }
            // "Within noise" only at the stated level; too few rounds said as such.
            for r in a.vs_best.iter().chain(&a.vs_std) {
                match r.verdict {
                    Verdict::TooFewRounds => assert!(r.ci.level < MIN_VERDICT_LEVEL, "{case}"),
                    Verdict::WithinNoise => assert!(
                        r.ci.level >= MIN_VERDICT_LEVEL && r.ci.lo <= 1.0 && r.ci.hi >= 1.0,
                        "{case}: {r:?}"
                    ),
                    Verdict::Faster => assert!(r.ci.lo > 1.0, "{case}"),
                    Verdict::Slower => assert!(r.ci.hi < 1.0, "{case}"),
                }
            }
        }
        // Group 1's leader is the top median, and "vs best" is against it.
        if let Some(top) = cells
            .iter()
            .max_by(|a, b| a.median_bps.total_cmp(&b.median_bps))
        {
            assert_eq!(top.group, Some(1), "{case}");
            assert!(top.vs_best.is_none(), "{case}: {}", top.engine);
        }
    }

    #[test]
    fn groups_are_monotone_in_the_medians_on_synthetic_data() {
        // A seeded property test: engines with random speeds, noise and a shared per-round
        // machine factor (as on a noisy VM), random round counts and missing trials.
        let mut r = Rng::new(15, 7);
        let mut u = move || (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        for case in 0..500 {
            let engines = 2 + (u() * 7.0) as usize;
            let rounds = 1 + (u() * 9.0) as usize;
            let machine: Vec<f64> = (0..rounds).map(|_| 0.5 + u()).collect();
            let names: Vec<String> = (0..engines).map(|i| format!("e{i}")).collect();
            let runs: Vec<(&str, Vec<Option<f64>>)> = names
                .iter()
                .map(|n| {
                    let speed = 50.0 + 200.0 * u();
                    let noise = 0.3 * u();
                    let per_round = machine
                        .iter()
                        .map(|m| (u() > 0.1).then(|| speed * m * (1.0 + noise * (u() - 0.5))))
                        .collect();
                    (n.as_str(), per_round)
                })
                .collect();
            check(&summary_of(&runs), &format!("case {case}"));
        }
    }

    #[test]
    fn a_lower_median_never_joins_a_better_group() {
        // "b" is consistently 40% behind "a"; "c" has a lower median still but is so noisy
        // that its ratio to "a" is within noise. Grouping each engine against the leader alone
        // put "c" in group 1 above "b" in group 2; the rule walks in median order instead.
        let a = [100.0, 101.0, 99.0, 100.0, 102.0, 98.0];
        let b: Vec<f64> = a.iter().map(|x| x * 0.6).collect();
        let c = [40.0, 130.0, 45.0, 120.0, 55.0, 58.0];
        let s = abc(&a, &b, &c);
        let cell = |e: &str| s.cells.iter().find(|x| x.engine == e).unwrap();
        assert_eq!(cell("c").vs_best.unwrap().verdict, Verdict::WithinNoise);
        assert_eq!(cell("b").group, Some(2));
        assert!(cell("c").group >= cell("b").group);
        check(&s, "fixed");
    }

    #[test]
    fn the_margin_is_the_runs_own_and_a_gap_under_it_splits_nothing() {
        // Eight rounds. "d" drifts between the halves of the run (0.7 of "a", then 0.9): the
        // run's pairs moved 0% ("a", "b", "c": steady ratios) or 28.6% (every pair with "d"),
        // and the 90th percentile of those six is 28.6%.
        let a = [100.0; 8];
        let scaled = |k: f64| a.iter().map(|x| Some(x * k)).collect::<Vec<_>>();
        let d: Vec<Option<f64>> = (0..8)
            .map(|i| Some(if i < 4 { 70.0 } else { 90.0 }))
            .collect();
        let s = summary_of(&[
            ("a", scaled(1.0)),
            ("b", scaled(0.95)),
            ("c", scaled(0.5)),
            ("d", d),
        ]);
        assert_eq!(s.margin.pairs, 6);
        assert!(
            (s.margin.value - (0.9 / 0.7 - 1.0)).abs() < 1e-6,
            "{:?}",
            s.margin
        );
        let cell = |e: &str| s.cells.iter().find(|x| x.engine == e).unwrap();
        // "b", 5% behind in every round: shown slower, but under the margin: group 1.
        assert_eq!(cell("b").vs_best.unwrap().verdict, Verdict::Slower);
        assert!(!cell("b").behind_best);
        assert_eq!(cell("b").group, Some(1));
        // "d", 10-30% behind: not beyond the margin either; "c", half of "a": group 2.
        assert_eq!(cell("d").group, Some(1));
        assert_eq!(cell("c").group, Some(2));
        assert!(cell("c").behind_best);
        check(&s, "margin");
        // Too few rounds to split in halves: the fallback, said as such.
        let short = summary_of(&[
            ("a", scaled(1.0)[..3].to_vec()),
            ("c", scaled(0.5)[..3].to_vec()),
        ]);
        assert_eq!(short.margin.pairs, 0);
        assert_eq!(short.margin.value, stats::FALLBACK_MARGIN);
        assert!(short.margin.words().contains("fallback"));
    }

    #[test]
    fn a_group_holds_no_engine_shown_slower_than_another_member() {
        // "a" tops the medians; "b" and "c" are each within noise of "a" (a noisy top), but
        // "c" is 40% behind "b" in every round: against the leader alone "c" would join group
        // 1 with "b"; against every member it opens group 2, split against "b".
        let a = [130.0, 40.0, 130.0, 40.0, 130.0, 40.0, 130.0, 40.0];
        let b = [80.0; 8];
        let c: Vec<f64> = b.iter().map(|x| x * 0.6).collect();
        let s = abc(&a, &b, &c);
        let cell = |e: &str| s.cells.iter().find(|x| x.engine == e).unwrap();
        assert_eq!(cell("c").vs_best.unwrap().verdict, Verdict::WithinNoise);
        assert_eq!(cell("b").group, Some(1));
        assert_eq!(cell("c").group, Some(2));
        assert_eq!(cell("c").group_split.as_ref().unwrap().versus, "b");
        check(&s, "member");
    }

    #[test]
    fn latency_percentiles_get_an_interval_over_trials() {
        // Seven trials whose p50 is 100..700 ns: the interval brackets the middle ones and
        // never lies outside the trials' own range; one trial gives no interval.
        let trials: Vec<[u64; 4]> = (1..=7u64)
            .map(|k| [k * 100, k * 200, k * 300, k * 400])
            .collect();
        let ci = percentile_intervals(&trials).unwrap();
        for (i, [lo, hi]) in ci.iter().enumerate() {
            let mid = trials[3][i];
            assert!(*lo <= mid && mid <= *hi, "p{i}: [{lo}, {hi}] misses {mid}");
            assert!(*lo >= trials[0][i] && *hi <= trials[6][i]);
            assert!(lo < hi);
        }
        assert!(percentile_intervals(&trials[..1]).is_none());
    }
}
