//! `ringbench calibrate`'s analysis: medians and per-round ratios (`Figure`), each set against
//! its target (`judge`), for fidelity (engines against fio and the kernel copy), the harness's
//! cost per op, and memory (peak RSS against buffers and file size).

use std::collections::BTreeMap;

use workloads::{Workload, units};

use crate::analysis::reference;
use crate::analysis::stats::{self, CONFIDENCE, MIN_VERDICT_LEVEL, Ratio};
use crate::analysis::summary::Summary;
use crate::results::calibration::{
    Calibration, EngineVsRef, Figure, Goal, Harness, MemCell, Memory, NoisyCell, SizeCheck, Target,
};
use crate::results::{Status, TrialRecord};

/// Target: the best io_uring engine's read/write throughput over fio's, at least this.
pub const FIO_TARGET: f64 = 0.95;

/// Target: the best io_uring engine's `large --direct` over the kernel copy, at least this.
pub const KERNEL_COPY_TARGET: f64 = 1.0;

/// Target: the harness's time per op over a 4 KiB read's on the fastest engine, below this.
pub const HARNESS_TARGET: f64 = 0.01;

/// RSS "grows with the file size" when the larger file's lowest peak RSS exceeds the smaller
/// file's highest by more than this share of the extra bytes moved: a trial that kept even 1%
/// of what it copied resident is caught; allocator and page-table jitter (tens of KiB) is not.
pub const RSS_GROWTH_SHARE: f64 = 0.01;

// The statistics of a Figure live here, beside the rest of the analysis; the type is in
// results (calibrate.json).
impl Figure {
    /// Median and order-statistic interval of `xs` (NaNs dropped); `None` when empty.
    pub fn of(xs: &[f64]) -> Option<Figure> {
        let v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        let ci = stats::median_ci(&v, CONFIDENCE);
        let median = stats::median(&v);
        let rel_ci = if median != 0.0 {
            (ci.hi - ci.lo) / 2.0 / median.abs()
        } else {
            0.0
        };
        Some(Figure {
            median,
            lo: ci.lo,
            hi: ci.hi,
            level: ci.level,
            n: v.len(),
            rel_ci,
            noisy: stats::is_noisy(v.len(), rel_ci),
        })
    }

    fn of_ratio(r: &Ratio) -> Figure {
        let rel_ci = (r.ci.hi - r.ci.lo) / 2.0 / r.median;
        Figure {
            median: r.median,
            lo: r.ci.lo,
            hi: r.ci.hi,
            level: r.ci.level,
            n: r.rounds,
            rel_ci,
            noisy: stats::is_noisy(r.rounds, rel_ci),
        }
    }
}

/// Judge a ratio against a target: at least `target` (`at_least`) or below it.
pub fn judge(r: Option<&Figure>, target: f64, at_least: bool) -> Goal {
    let Some(r) = r else {
        return Goal::NotMeasured;
    };
    if r.level < MIN_VERDICT_LEVEL {
        return Goal::WithinNoise;
    }
    let (good, bad) = if at_least {
        (r.lo >= target, r.hi < target)
    } else {
        (r.hi < target, r.lo >= target)
    };
    if good {
        Goal::MeetsTarget
    } else if bad {
        Goal::ShortOfTarget
    } else {
        Goal::WithinNoise
    }
}

/// One finished run of the calibration, as the analysis reads it.
pub struct PhaseRun {
    /// Its phase (`fidelity`, `harness`, `memory`).
    pub phase: String,
    /// Its folder under the calibration folder.
    pub folder: String,
    /// Its summary.
    pub summary: Summary,
    /// Its trials.
    pub records: Vec<TrialRecord>,
}

/// The machine in one line (host, kernel, CPU, cores, device, filesystem) from a run's meta.json.
pub fn machine_line(meta: &crate::results::Meta) -> String {
    let e = serde_json::to_value(&meta.environment).unwrap_or_default();
    let s = |k: &str| e[k].as_str().map(str::to_string);
    let mut parts = Vec::new();
    for k in ["host", "kernel", "cpu"] {
        if let Some(v) = s(k) {
            parts.push(v);
        }
    }
    if let Some(c) = e["cores"].as_u64() {
        parts.push(format!("{c} cores"));
    }
    let dev = &e["device"];
    if let Some(d) = dev["name"].as_str().or(dev.as_str()) {
        parts.push(format!("device {d}"));
    }
    if let Some(fs) = e["filesystem"].as_str() {
        parts.push(fs.to_string());
    }
    parts.join(", ")
}

/// Fill the calibration's figures from its finished runs: cache states, noisy cells, the
/// fidelity targets, the harness's cost and memory (`memory_sizes`: the memory phase's two
/// file sizes, which its folder names carry).
pub fn analyse(cal: &mut Calibration, runs: &[PhaseRun], memory_sizes: &[u64]) {
    let mut cache: Vec<String> = runs
        .iter()
        .flat_map(|r| r.records.iter().map(|t| t.cache.clone()))
        .collect();
    cache.sort();
    cache.dedup();
    cal.cache = cache;
    for r in runs {
        for c in &r.summary.cells {
            if c.n > 0 && c.noisy {
                cal.noisy.push(NoisyCell {
                    run: r.folder.clone(),
                    what: format!("{} {} {}", c.engine, c.workload.name(), c.config.id()),
                    rel_ci: c.rel_ci,
                });
            }
        }
    }
    for f in runs.iter().filter(|r| r.phase == "fidelity") {
        let targets = fidelity(&f.records, crate::plan::engines::is_io_uring);
        for t in &targets {
            for e in &t.engines {
                if let Some(r) = e.ratio.as_ref().filter(|r| r.noisy) {
                    cal.noisy.push(NoisyCell {
                        run: f.folder.clone(),
                        what: format!("{} {} / {}", e.engine, t.workload.name(), t.reference),
                        rel_ci: r.rel_ci,
                    });
                }
            }
        }
        cal.targets.extend(targets);
    }
    if let Some(h) = runs.iter().find(|r| r.phase == "harness") {
        let hr = harness(&h.records);
        if let Some(s) = hr.share.as_ref().filter(|s| s.noisy) {
            cal.noisy.push(NoisyCell {
                run: h.folder.clone(),
                what: "harness share (null / fastest, ns per op)".into(),
                rel_ci: s.rel_ci,
            });
        }
        cal.harness = Some(hr);
    }
    let mem: Vec<(u64, &TrialRecord)> = runs
        .iter()
        .filter(|r| r.phase == "memory")
        .flat_map(|r| {
            let size = size_of_folder(&r.folder, memory_sizes);
            r.records.iter().map(move |t| (size, t))
        })
        .collect();
    if !mem.is_empty() {
        cal.memory = Some(memory(&mem, memory_sizes));
    }
}

fn size_of_folder(folder: &str, memory_sizes: &[u64]) -> u64 {
    memory_sizes
        .iter()
        .copied()
        .find(|s| folder.starts_with(&format!("memory-{}-", units::size(*s).to_lowercase())))
        .unwrap_or(0)
}

/// Measured (not warm-up), successful records.
fn ok(records: &[TrialRecord]) -> impl Iterator<Item = &TrialRecord> {
    records
        .iter()
        .filter(|r| !r.warmup && r.status == Status::Ok && r.throughput.is_some())
}

/// Throughput by round of one row of one workload (first config seen: a fidelity run has one).
fn by_round(records: &[TrialRecord], engine: &str, w: Workload) -> BTreeMap<u32, f64> {
    ok(records)
        .filter(|r| r.engine == engine && r.workload == w)
        .filter_map(|r| Some((r.round, r.throughput?)))
        .collect()
}

fn paired(a: &BTreeMap<u32, f64>, b: &BTreeMap<u32, f64>) -> Option<Figure> {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .filter_map(|(k, x)| b.get(k).map(|y| (*x, *y)))
        .collect();
    stats::paired_ratio(&pairs).map(|r| Figure::of_ratio(&r))
}

/// The fidelity targets from a fidelity run's records: for `read` and `write` the engines
/// against fio, for `large` against the kernel copy, each as a per-round paired ratio; the
/// best io_uring engine (highest median throughput) carries the verdict.
pub fn fidelity(records: &[TrialRecord], io_uring: impl Fn(&str) -> bool) -> Vec<Target> {
    let goals = [
        (
            Workload::Read,
            "fio read",
            reference::FIO,
            FIO_TARGET,
            "within 5% of fio (io_uring engine, same block size, queue depth, O_DIRECT)",
        ),
        (
            Workload::Write,
            "fio write",
            reference::FIO,
            FIO_TARGET,
            "within 5% of fio (io_uring engine, same block size, queue depth, O_DIRECT)",
        ),
        (
            Workload::Large,
            "kernel-copy",
            reference::KERNEL_COPY,
            KERNEL_COPY_TARGET,
            "at least as fast as copy_file_range, cold cache",
        ),
    ];
    let mut engines: Vec<String> = Vec::new();
    for r in records {
        if !reference::is_reference(&r.engine) && !engines.contains(&r.engine) {
            engines.push(r.engine.clone());
        }
    }
    engines.sort();
    let mut out = Vec::new();
    for (w, label, row, target, goal) in goals {
        if !records.iter().any(|r| r.workload == w) {
            continue;
        }
        let theirs = by_round(records, row, w);
        let mut rows = Vec::new();
        for e in &engines {
            let mine = by_round(records, e, w);
            let Some(throughput) = Figure::of(&mine.values().copied().collect::<Vec<_>>()) else {
                continue;
            };
            let ratio = paired(&mine, &theirs);
            let verdict = judge(ratio.as_ref(), target, true);
            rows.push(EngineVsRef {
                engine: e.clone(),
                io_uring: io_uring(e),
                throughput,
                ratio,
                verdict,
            });
        }
        let best_row = rows
            .iter()
            .filter(|r| r.io_uring)
            .max_by(|a, b| a.throughput.median.total_cmp(&b.throughput.median))
            .cloned();
        out.push(Target {
            workload: w,
            reference: label.into(),
            goal: goal.into(),
            target,
            best: best_row.as_ref().map(|r| r.engine.clone()),
            reference_throughput: Figure::of(&theirs.values().copied().collect::<Vec<_>>()),
            verdict: best_row.as_ref().map_or(Goal::NotMeasured, |r| r.verdict),
            best_row,
            engines: rows,
        });
    }
    out
}

/// ns per read op of a record (elapsed over reads).
fn ns_per_op(r: &TrialRecord) -> Option<f64> {
    let o = r.outcome.as_ref()?;
    (o.stats.reads > 0).then(|| o.elapsed_ns as f64 / o.stats.reads as f64)
}

/// Harness cost from a harness run's records (`read` on `null` and on engines).
pub fn harness(records: &[TrialRecord]) -> Harness {
    let per_round = |e: &str| -> BTreeMap<u32, f64> {
        records
            .iter()
            .filter(|r| !r.warmup && r.status == Status::Ok && r.engine == e)
            .filter_map(|r| Some((r.round, ns_per_op(r)?)))
            .collect()
    };
    let first = records.iter().find(|r| !r.warmup);
    let null = per_round("null");
    let mut names: Vec<String> = Vec::new();
    for r in records {
        if r.engine != "null" && !names.contains(&r.engine) {
            names.push(r.engine.clone());
        }
    }
    names.sort();
    let mut rows: Vec<(String, Figure)> = Vec::new();
    for e in &names {
        if let Some(f) = Figure::of(&per_round(e).values().copied().collect::<Vec<_>>()) {
            rows.push((e.clone(), f));
        }
    }
    let fastest = rows
        .iter()
        .filter(|(e, _)| !reference::is_reference(e))
        .min_by(|a, b| a.1.median.total_cmp(&b.1.median))
        .map(|(e, _)| e.clone());
    let share = fastest.as_ref().and_then(|f| paired(&null, &per_round(f)));
    Harness {
        block_size: first.map_or(0, |r| r.config.block_size),
        queue_depth: first.map_or(0, |r| r.config.queue_depth),
        null_ns_per_op: Figure::of(&null.values().copied().collect::<Vec<_>>()),
        rows,
        fastest,
        verdict: judge(share.as_ref(), HARNESS_TARGET, false),
        share,
        target: HARNESS_TARGET,
    }
}

/// Memory results from the memory runs' records, each with its file size.
pub fn memory(records: &[(u64, &TrialRecord)], sizes: &[u64]) -> Memory {
    type Key = (String, usize, usize, u64);
    let mut by: BTreeMap<Key, Vec<(u32, u64)>> = BTreeMap::new();
    for (size, r) in records {
        if r.warmup || r.status != Status::Ok {
            continue;
        }
        by.entry((
            r.engine.clone(),
            r.config.block_size,
            r.config.queue_depth,
            *size,
        ))
        .or_default()
        .push((r.round, r.usage.max_rss_kib));
    }
    let mut cells = Vec::new();
    for ((engine, bs, qd, size), mut v) in by {
        v.sort();
        let per: Vec<u64> = v.iter().map(|x| x.1).collect();
        let Some(rss) = Figure::of(&per.iter().map(|x| *x as f64).collect::<Vec<_>>()) else {
            continue;
        };
        // kernel-copy holds no buffers of ours: its RSS is the binary's own floor.
        let buffers_kib = if engine == reference::KERNEL_COPY {
            0
        } else {
            (bs * qd) as u64 / 1024
        };
        cells.push(MemCell {
            overhead_kib: rss.median - buffers_kib as f64,
            engine,
            size,
            block_size: bs,
            queue_depth: qd,
            buffers_kib,
            rss_kib: rss,
            per_trial_kib: per,
        });
    }
    let mut checks = Vec::new();
    let (small, large) = (sizes[0], sizes[sizes.len() - 1]);
    let extra_kib = (large.saturating_sub(small)) as f64 / 1024.0;
    let find = |e: &str, bs: usize, qd: usize, s: u64| {
        cells
            .iter()
            .find(|c| c.engine == e && c.block_size == bs && c.queue_depth == qd && c.size == s)
    };
    for c in cells.iter().filter(|c| c.size == small) {
        let Some(l) = find(&c.engine, c.block_size, c.queue_depth, large) else {
            continue;
        };
        let delta = l.rss_kib.median - c.rss_kib.median;
        let grows = l.rss_kib.lo - c.rss_kib.hi > RSS_GROWTH_SHARE * extra_kib;
        checks.push(SizeCheck {
            engine: c.engine.clone(),
            block_size: c.block_size,
            queue_depth: c.queue_depth,
            delta_kib: delta,
            kib_per_file_mib: delta / (extra_kib / 1024.0),
            verdict: if grows {
                "grows with file size"
            } else {
                "independent"
            }
            .into(),
        });
    }
    let mut buffer_slope = Vec::new();
    let mut engines: Vec<&str> = cells.iter().map(|c| c.engine.as_str()).collect();
    engines.dedup();
    for e in engines {
        if e == reference::KERNEL_COPY {
            continue;
        }
        let mut slopes = Vec::new();
        for &s in sizes {
            let mine: Vec<&MemCell> = cells
                .iter()
                .filter(|c| c.engine == e && c.size == s)
                .collect();
            let lo = mine.iter().min_by_key(|c| c.block_size * c.queue_depth);
            let hi = mine.iter().max_by_key(|c| c.block_size * c.queue_depth);
            if let (Some(lo), Some(hi)) = (lo, hi)
                && hi.buffers_kib > lo.buffers_kib
            {
                slopes.push(
                    (hi.rss_kib.median - lo.rss_kib.median)
                        / (hi.buffers_kib - lo.buffers_kib) as f64,
                );
            }
        }
        if !slopes.is_empty() {
            buffer_slope.push((e.to_string(), stats::median(&slopes)));
        }
    }
    Memory {
        sizes: sizes.to_vec(),
        cells,
        checks,
        buffer_slope,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::options::Config;
    use crate::results::{Usage, Verified, schema};
    use workloads::{Outcome, Stats};

    fn rec(engine: &str, w: Workload, round: u32, bps: f64, reads: u64, rss: u64) -> TrialRecord {
        let bytes = 1u64 << 26;
        let elapsed_ns = (bytes as f64 / bps * 1e9) as u64;
        TrialRecord {
            schema: schema::TRIALS.current,
            index: 0,
            round,
            warmup: false,
            engine: engine.into(),
            workload: w,
            config: Config {
                block_size: 4096,
                queue_depth: 8,
                files_in_flight: 8,
                threads: 1,
                cancel_bp: 0,
            },
            status: Status::Ok,
            error: None,
            verified: Verified::Yes,
            verify_detail: None,
            cache: "dropped".into(),
            direct: true,
            outcome: Some(Outcome {
                elapsed_ns,
                bytes,
                files: 1,
                stats: Stats {
                    reads,
                    ..Stats::default()
                },
                detail: None,
                cancel: Default::default(),
                cpu: None,
            }),
            throughput: Some(bps),
            usage: Usage {
                max_rss_kib: rss,
                ..Usage::default()
            },
            child_wall_s: 0.0,
            overhead: false,
        }
    }

    fn fig_of(lo: f64, med: f64, hi: f64, level: f64) -> Figure {
        Figure {
            median: med,
            lo,
            hi,
            level,
            n: 6,
            rel_ci: (hi - lo) / 2.0 / med,
            noisy: false,
        }
    }

    #[test]
    fn verdicts_against_targets() {
        assert_eq!(judge(None, 0.95, true), Goal::NotMeasured);
        assert_eq!(
            judge(Some(&fig_of(0.96, 0.99, 1.02, 0.97)), 0.95, true),
            Goal::MeetsTarget
        );
        assert_eq!(
            judge(Some(&fig_of(0.80, 0.85, 0.94, 0.97)), 0.95, true),
            Goal::ShortOfTarget
        );
        assert_eq!(
            judge(Some(&fig_of(0.90, 0.97, 1.05, 0.97)), 0.95, true),
            Goal::WithinNoise
        );
        // Too few rounds: never a verdict, however clear the ratios look.
        assert_eq!(
            judge(Some(&fig_of(0.5, 0.55, 0.6, 0.75)), 0.95, true),
            Goal::WithinNoise
        );
        // "below" targets (the harness share).
        assert_eq!(
            judge(Some(&fig_of(0.001, 0.002, 0.003, 0.97)), 0.01, false),
            Goal::MeetsTarget
        );
        assert_eq!(
            judge(Some(&fig_of(0.02, 0.03, 0.04, 0.97)), 0.01, false),
            Goal::ShortOfTarget
        );
    }

    #[test]
    fn fidelity_pairs_by_round_and_picks_the_best_io_uring_engine() {
        // The machine's speed swings by round; ring-a is always 0.9x fio, ring-b 1.0x, std
        // (not io_uring) 1.2x: the best io_uring engine is ring-b and the pairing removes the
        // swing.
        let mut rs = Vec::new();
        for round in 0..6 {
            let m = if round % 2 == 0 { 1e9 } else { 2e9 };
            rs.push(rec("fio", Workload::Read, round, m, 1, 0));
            rs.push(rec("ring-a", Workload::Read, round, 0.9 * m, 1, 0));
            rs.push(rec(
                "ring-b",
                Workload::Read,
                round,
                m * (1.0 + 0.001 * round as f64),
                1,
                0,
            ));
            rs.push(rec("std", Workload::Read, round, 1.2 * m, 1, 0));
        }
        let t = fidelity(&rs, |e| e.starts_with("ring"));
        assert_eq!(t.len(), 1);
        let t = &t[0];
        assert_eq!(t.best.as_deref(), Some("ring-b"));
        assert_eq!(t.verdict, Goal::MeetsTarget);
        let a = t.engines.iter().find(|e| e.engine == "ring-a").unwrap();
        assert_eq!(a.verdict, Goal::ShortOfTarget);
        assert!((a.ratio.as_ref().unwrap().median - 0.9).abs() < 1e-9);
        // Unpaired throughput is noisy (1 vs 2 GB/s), the paired ratio is not.
        assert!(a.throughput.noisy && !a.ratio.as_ref().unwrap().noisy);
        // fio is a reference, never an engine row.
        assert!(t.engines.iter().all(|e| e.engine != "fio"));
    }

    #[test]
    fn harness_share_is_null_time_over_the_fastest() {
        // 1 op = 4 KiB: 64 MiB is 16384 ops. The null engine moves the same bytes `null_x`
        // times faster than the fastest engine, so its share of an op's time is 1 / null_x.
        let run = |null_x: f64| {
            let mut rs = Vec::new();
            for round in 0..6 {
                let (ops, m) = (16384, if round % 2 == 0 { 1.0 } else { 1.5 });
                rs.push(rec("null", Workload::Read, round, null_x * 1e9 * m, ops, 0));
                rs.push(rec("slow", Workload::Read, round, 0.5e9 * m, ops, 0));
                rs.push(rec("fast", Workload::Read, round, 1e9 * m, ops, 0));
                rs.push(rec("fio", Workload::Read, round, 5e9 * m, ops, 0));
            }
            harness(&rs)
        };
        let h = run(50.0);
        assert_eq!(h.fastest.as_deref(), Some("fast"), "fio is not an engine");
        let s = h.share.as_ref().unwrap();
        assert!((s.median - 0.02).abs() < 1e-6, "{s:?}");
        assert_eq!(h.verdict, Goal::ShortOfTarget);
        assert_eq!(run(200.0).verdict, Goal::MeetsTarget);
        // 6 rounds: the interval is [min, max], the slow rounds' ns/op at the top.
        let null = run(100.0).null_ns_per_op.unwrap();
        let want = (1u64 << 26) as f64 / 100e9 * 1e9 / 16384.0;
        assert!((null.hi - want).abs() / want < 1e-3, "{null:?} vs {want}");
    }

    #[test]
    fn memory_flags_growth_with_file_size() {
        let small = 64u64 << 20;
        let large = 256u64 << 20;
        let mut owned = Vec::new();
        for round in 0..3 {
            for (size, extra) in [(small, 0u64), (large, 1)] {
                // "flat" keeps a constant RSS (jitter of a few KiB); "leaky" keeps 5% of the
                // file resident.
                owned.push((
                    size,
                    rec(
                        "flat",
                        Workload::Large,
                        round,
                        1e9,
                        1,
                        9000 + round as u64 * 7 + extra * 20,
                    ),
                ));
                owned.push((
                    size,
                    rec(
                        "leaky",
                        Workload::Large,
                        round,
                        1e9,
                        1,
                        9000 + size / 1024 / 20,
                    ),
                ));
            }
        }
        let refs: Vec<(u64, &TrialRecord)> = owned.iter().map(|(s, r)| (*s, r)).collect();
        let m = memory(&refs, &[small, large]);
        let v = |e: &str| {
            m.checks
                .iter()
                .find(|c| c.engine == e)
                .unwrap()
                .verdict
                .clone()
        };
        assert_eq!(v("flat"), "independent");
        assert_eq!(v("leaky"), "grows with file size");
        let c = m.cells.iter().find(|c| c.engine == "flat").unwrap();
        assert_eq!(c.buffers_kib, 32);
        assert_eq!(c.per_trial_kib.len(), 3);
    }
}
