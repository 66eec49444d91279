//! From trial records to summary cells: per (workload, sweep point, engine), the median
//! throughput with its interval, CPU per GB, and paired per-round ratios against std and
//! against the fastest engine, with "within noise" groupings. Pure: records in, cells out.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use workloads::Workload;

use crate::options::Config;
use crate::results::{Status, TrialRecord};
use crate::stats::{self, CONFIDENCE, Interval, Ratio, Verdict};

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
    /// 1 for the fastest group (engines within noise of the fastest), 2 for the next, ...
    pub group: Option<usize>,
    /// Read latency percentiles p50, p90, p99, p99.9 (ns), over all measured trials.
    pub read_lat_ns: Option<[u64; 4]>,
    /// Write latency percentiles (ns).
    pub write_lat_ns: Option<[u64; 4]>,
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
    pub references: Vec<crate::reference::RefRatio>,
    /// With `--target-ci`: whether this cell's interval reached the target before the time
    /// budget ran out (absent without `--target-ci`).
    #[serde(default)]
    pub converged: Option<bool>,
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
    /// Cells, by workload, sweep point, then engine order of the run.
    pub cells: Vec<Cell>,
}

type Key = (Workload, Config);

fn percentiles(h: &workloads::Histogram) -> Option<[u64; 4]> {
    Some([
        h.quantile(0.5)?,
        h.quantile(0.9)?,
        h.quantile(0.99)?,
        h.quantile(0.999)?,
    ])
}

/// Build the summary. `engines` gives the display order; `ranked(engine)` says whether an
/// engine takes part in rankings (the null and naive engines do not).
pub fn summarise(
    records: &[TrialRecord],
    engines: &[String],
    ranked: impl Fn(&str) -> bool,
) -> Summary {
    let measured: Vec<&TrialRecord> = records
        .iter()
        .filter(|r| !r.warmup && r.status != Status::Interrupted)
        .collect();
    let keys: BTreeSet<Key> = measured.iter().map(|r| (r.workload, r.config)).collect();
    let mut cells = Vec::new();
    for key in keys {
        // throughput by engine, by round
        let mut by_engine: BTreeMap<&str, BTreeMap<u32, f64>> = BTreeMap::new();
        for r in measured.iter().filter(|r| (r.workload, r.config) == key) {
            if let (Status::Ok, Some(t)) = (&r.status, r.throughput) {
                by_engine.entry(&r.engine).or_default().insert(r.round, t);
            }
        }
        let med = |e: &str| {
            by_engine
                .get(e)
                .map(|m| stats::median(&m.values().copied().collect::<Vec<_>>()))
        };
        let best = engines
            .iter()
            .filter(|e| ranked(e))
            .filter_map(|e| med(e).map(|m| (e.as_str(), m)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(e, _)| e);
        let paired = |a: &str, b: &str| -> Option<Ratio> {
            let (ma, mb) = (by_engine.get(a)?, by_engine.get(b)?);
            let pairs: Vec<(f64, f64)> = ma
                .iter()
                .filter_map(|(round, x)| mb.get(round).map(|y| (*x, *y)))
                .collect();
            stats::paired_ratio(&pairs)
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
            let by_round = |k: Config| -> BTreeMap<u32, f64> {
                measured
                    .iter()
                    .filter(|r| (r.workload, r.config) == (key.0, k) && r.engine == engine)
                    .filter_map(|r| (r.status == Status::Ok).then_some((r.round, r.throughput?)))
                    .collect()
            };
            let (with, without) = (by_round(key.1), by_round(base));
            let pairs: Vec<(f64, f64)> = with
                .iter()
                .filter_map(|(round, x)| without.get(round).map(|y| (*x, *y)))
                .collect();
            stats::paired_ratio(&pairs)
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
            for r in &ok {
                if let Some(o) = &r.outcome {
                    rh.merge(&o.stats.read_latency);
                    wh.merge(&o.stats.write_latency);
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
                noisy: thr.len() < 2 || rel_ci > 0.10,
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
                group: None,
                read_lat_ns: percentiles(&rh),
                write_lat_ns: percentiles(&wh),
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
                    crate::reference::ratios(&measured, key.0, key.1, engine)
                } else {
                    Vec::new()
                },
            });
        }
        assign_groups(&mut key_cells, &paired);
        cells.extend(key_cells);
    }
    Summary {
        schema: crate::results::SCHEMA_VERSION,
        confidence: CONFIDENCE,
        cells,
    }
}

/// Group engines that are within noise of each other: the fastest remaining engine leads a
/// group, and every remaining engine whose paired ratio to the leader is within noise joins it.
fn assign_groups(cells: &mut [Cell], paired: &dyn Fn(&str, &str) -> Option<Ratio>) {
    let mut order: Vec<usize> = (0..cells.len())
        .filter(|&i| cells[i].ranked && cells[i].n > 0)
        .collect();
    order.sort_by(|&a, &b| cells[b].median_bps.total_cmp(&cells[a].median_bps));
    let mut group = 0;
    while let Some(&lead) = order.first() {
        group += 1;
        let leader = cells[lead].engine.clone();
        let mut rest = Vec::new();
        for &i in &order {
            let same = i == lead
                || paired(&cells[i].engine, &leader)
                    .is_none_or(|r| r.verdict == Verdict::WithinNoise);
            if same {
                cells[i].group = Some(group);
            } else {
                rest.push(i);
            }
        }
        order = rest;
    }
}

/// With adaptive repeats (`--target-ci`): mark each measured cell converged or not — its
/// interval within `target` (relative half-width) at the target confidence — and return the
/// ids (`workload/config/engine`) of those that are not. Ranked engines and reference rows
/// count; test-support engines do not.
pub fn mark_convergence(s: &mut Summary, target: f64) -> Vec<String> {
    let mut missed = Vec::new();
    for c in &mut s.cells {
        if !(c.ranked || crate::reference::is_reference(&c.engine)) {
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
