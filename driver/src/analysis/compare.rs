//! `ringbench compare A B [C...]`, the analysis: runs side by side (two machines, two versions,
//! two kernels), each engine's median per workload and sweep point, with its ratio to the first
//! run, as the `--json` document's data ([`build`]); whether the runs may be compared at all
//! ([`mismatch`]); and whether each run draws the conclusions of the first (table by table, and
//! the overhead set's tax verdicts). compare.md is rendered from this by `render::compare`.
//!
//! # What must match
//! Runs are comparable when they measured the same thing: the same file size, small-file count,
//! tree shape, O_DIRECT, fsync, seed (it fixes the datasets), ring entries, page-cache policy,
//! workloads and sweep points. Engines may differ (an engine missing from one run is shown as
//! missing); repeats and warm-ups may differ (they change precision, not what is measured).
//! The first parameter that differs is named in a one-line refusal (exit 2).
//!
//! # The "within noise" rule across runs
//! Runs are not paired by round (they ran at different times, maybe on different machines), so
//! the ratio `B / A` of medians gets its interval by combining each side's order-statistic
//! interval as independent errors on a log scale: with `a⁻ = ln(med_A / lo_A)`,
//! `a⁺ = ln(hi_A / med_A)` (and `b⁻`, `b⁺` for B), the interval is
//! `[r·exp(−√(b⁻² + a⁺²)), r·exp(√(b⁺² + a⁻²))]` around `r = med_B / med_A`. The difference is
//! *within noise* when that interval contains 1, or when either side has fewer than 2 samples;
//! otherwise B is faster or slower. For two ~95% intervals this is the usual test of a
//! difference of independent estimates (Cumming & Finch, 2005: intervals that overlap by less
//! than about half their average half-width), and the verdict can always be read off the
//! interval printed beside it.

use anyhow::bail;
use workloads::Workload;

use crate::analysis::conclusions::{self, Agreement, Conclusion};
use crate::analysis::overhead::{OverheadCell, TaxAgreement};
use crate::analysis::run::RunData;
use crate::analysis::stats::{Interval, Ratio, Verdict};
use crate::analysis::summary::Cell;
use crate::plan::options::Config;
use crate::results::compare as schema;
pub use crate::results::compare::{CompareCell, CompareRun};

/// The `--json` document ([`schema::CompareDoc`]) with this layer's verdicts, overhead cells
/// and tax agreements.
pub type CompareDoc = schema::CompareDoc<Verdict, OverheadCell, TaxAgreement>;
/// See [`CompareDoc`].
pub type ComparePoint = schema::ComparePoint<Verdict>;
/// See [`CompareDoc`].
pub type CompareRow = schema::CompareRow<Verdict>;
/// See [`CompareDoc`].
pub type CompareRatio = schema::CompareRatio<Verdict>;
/// See [`CompareDoc`].
pub type CompareOverheadPoint = schema::CompareOverheadPoint<Verdict, OverheadCell, TaxAgreement>;
/// See [`CompareDoc`].
pub type CompareOverheadRow = schema::CompareOverheadRow<Verdict, OverheadCell, TaxAgreement>;

/// Parameters (meta.options keys) that must be equal, with the flag that sets each.
const MUST_MATCH: &[(&str, &str)] = &[
    ("size", "--size"),
    ("files", "--files"),
    ("tree", "--tree-depth/--tree-fanout/--tree-files"),
    ("direct", "--direct"),
    ("fsync", "--no-fsync"),
    ("seed", "--seed"),
    ("ring_entries", "--ring-entries"),
    ("cache", "--cache"),
];

/// Why two runs cannot be compared: the parameter and both values.
pub fn mismatch(a: &RunData, b: &RunData) -> Option<String> {
    for (k, flag) in MUST_MATCH {
        let (x, y) = (a.meta.options.get(*k), b.meta.options.get(*k));
        if x != y {
            let show =
                |v: Option<&serde_json::Value>| v.map_or("unset".to_string(), |v| v.to_string());
            return Some(format!("{flag} differs ({} vs {})", show(x), show(y)));
        }
    }
    let keys = |d: &RunData| -> Vec<(Workload, Config)> {
        let mut v: Vec<(Workload, Config)> = d
            .summary
            .cells
            .iter()
            .map(|c| (c.workload, c.config))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let (ka, kb) = (keys(a), keys(b));
    let wl = |k: &[(Workload, Config)]| {
        let mut v: Vec<Workload> = k.iter().map(|x| x.0).collect();
        v.sort();
        v.dedup();
        v
    };
    if wl(&ka) != wl(&kb) {
        let names = |v: Vec<Workload>| v.iter().map(|w| w.name()).collect::<Vec<_>>().join(",");
        return Some(format!(
            "the workloads differ ({} vs {})",
            names(wl(&ka)),
            names(wl(&kb))
        ));
    }
    if ka != kb {
        let cfgs = |k: &[(Workload, Config)]| {
            let mut v: Vec<String> = k.iter().map(|x| x.1.id()).collect();
            v.dedup();
            v.join(",")
        };
        return Some(format!(
            "the sweep points differ (block size, queue depth, files in flight, threads, cancel rate: {} vs {})",
            cfgs(&ka),
            cfgs(&kb)
        ));
    }
    None
}

/// The comparison of one engine's cell in run `b` against run `a`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrossRatio {
    /// median_b / median_a.
    pub median: f64,
    /// Bounds of the ratio's interval (module doc).
    pub lo: f64,
    /// See `lo`.
    pub hi: f64,
    /// The verdict (module doc).
    pub verdict: Verdict,
}

impl CrossRatio {
    /// `1.07× [0.94–1.21] within noise`, as compare.md prints it.
    pub fn words(&self) -> String {
        format!(
            "{:.2}× [{:.2}–{:.2}] {}",
            self.median,
            self.lo,
            self.hi,
            self.verdict.words()
        )
    }
}

/// Run `i`'s label: `A`…`Z`, then `AA`, `AB`, … (spreadsheet columns), so that every run of a
/// long comparison has its own.
pub fn label(i: usize) -> String {
    let mut n = i + 1;
    let mut out = Vec::new();
    while n > 0 {
        n -= 1;
        out.push(b'A' + (n % 26) as u8);
        n /= 26;
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII letters")
}

/// Compare two cells' medians and intervals (module doc).
pub fn cross(a: (f64, Interval, usize), b: (f64, Interval, usize)) -> Option<CrossRatio> {
    let ((ma, ia, na), (mb, ib, nb)) = (a, b);
    if !(ma > 0.0 && mb > 0.0) || na == 0 || nb == 0 {
        return None;
    }
    // Half-widths on a log scale, below and above each median (an interval reaching 0 gives an
    // infinite half-width: a ratio interval from 0 to infinity, within noise).
    let down = |m: f64, lo: f64| (m / lo.min(m)).ln();
    let up = |m: f64, hi: f64| (hi.max(m) / m).ln();
    let r = mb / ma;
    let lo = r * (-(down(mb, ib.lo).powi(2) + up(ma, ia.hi).powi(2)).sqrt()).exp();
    let hi = r
        * (down(ma, ia.lo).powi(2) + up(mb, ib.hi).powi(2))
            .sqrt()
            .exp();
    let verdict = if na < 2 || nb < 2 || (lo <= 1.0 && hi >= 1.0) {
        Verdict::WithinNoise
    } else if r > 1.0 {
        Verdict::Faster
    } else {
        Verdict::Slower
    };
    Some(CrossRatio {
        median: r,
        lo,
        hi,
        verdict,
    })
}

impl CompareRatio {
    /// Run `run`'s ratio to A, or nulls when a side has no completed trial.
    pub fn of(run: &str, r: Option<CrossRatio>) -> CompareRatio {
        CompareRatio {
            run: run.to_string(),
            median: r.map(|r| r.median),
            lo: r.map(|r| r.lo),
            hi: r.map(|r| r.hi),
            verdict: r.map(|r| r.verdict),
        }
    }

    /// The ratio it records, or `None` when a side had no completed trial (the inverse of
    /// [`CompareRatio::of`]).
    pub fn cross(&self) -> Option<CrossRatio> {
        match (self.median, self.lo, self.hi, self.verdict) {
            (Some(median), Some(lo), Some(hi), Some(verdict)) => Some(CrossRatio {
                median,
                lo,
                hi,
                verdict,
            }),
            _ => None,
        }
    }
}

/// The comparison of loaded runs: the `--json` document and whether each later run draws the
/// conclusions of run A.
pub struct Compared {
    /// The data of compare.md's tables.
    pub doc: CompareDoc,
    /// One per later run (B first).
    pub conclusions: Vec<RunAgreement>,
}

/// Whether run `label` draws the conclusions of run A.
pub struct RunAgreement {
    /// The later run's label (`B`, ...).
    pub label: String,
    /// One per table (workload and sweep point) both runs have, in A's order.
    pub tables: Vec<TableAgreement>,
    /// Tables that draw the same conclusions or both say no decision.
    pub agree: usize,
    /// Tables whose conclusions contradict.
    pub contradict: usize,
    /// The overhead set's tax verdicts: (same, compared, contradicting); see [`tax_counts`].
    pub tax: (usize, usize, usize),
    /// Run A's margin and this run's (`Summary::margin`): what a group boundary needed in each.
    pub margins: [f64; 2],
}

impl RunAgreement {
    /// Every table agrees.
    pub fn all_agree(&self) -> bool {
        self.agree == self.tables.len()
    }
}

/// One table's conclusions in run A and in a later run, and how they relate.
pub struct TableAgreement {
    /// Workload and sweep point.
    pub key: (Workload, Config),
    /// Run A's conclusion.
    pub a: Conclusion,
    /// The later run's.
    pub b: Conclusion,
    /// How they relate ([`conclusions::agreement`]).
    pub agreement: Agreement,
    /// Where they do not agree: every group boundary of either run, with the same pair's
    /// per-round ratio in both runs, so a reader sees whether a gap moved or only crossed the
    /// margin. Empty when they agree.
    pub gaps: Vec<Gap>,
}

/// A group boundary of one run (`engine` opened a group against `versus`, the member of the
/// previous group that showed it slower) and that pair's per-round ratio `engine / versus` in
/// run A and in the later run (`None`: no paired round there).
#[derive(Clone, Debug)]
pub struct Gap {
    /// The engine that opened a group.
    pub engine: String,
    /// The member of the group before it that showed it slower.
    pub versus: String,
    /// The ratio in run A and in the later run.
    pub ratios: [Option<Ratio>; 2],
}

/// The boundaries of runs `a` and `b` on one table (each pair once, A's first), with the pair's
/// ratio in both.
fn gaps(a: &RunData, b: &RunData, key: (Workload, Config)) -> Vec<Gap> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for d in [a, b] {
        for c in &d.summary.cells {
            if let Some(sp) = &c.group_split
                && (c.workload, c.config) == key
                && !pairs.contains(&(c.engine.clone(), sp.versus.clone()))
            {
                pairs.push((c.engine.clone(), sp.versus.clone()));
            }
        }
    }
    pairs
        .into_iter()
        .map(|(engine, versus)| {
            let r = |d: &RunData| {
                crate::analysis::summary::paired_ratio_in(
                    &d.records, key.0, key.1, &engine, &versus,
                )
            };
            Gap {
                ratios: [r(a), r(b)],
                engine,
                versus,
            }
        })
        .collect()
}

fn cell<'a>(d: &'a RunData, w: Workload, c: &Config, e: &str) -> Option<&'a Cell> {
    d.summary
        .cells
        .iter()
        .find(|x| x.workload == w && x.config == *c && x.engine == e)
}

/// Build the comparison of loaded runs (the first is the baseline): refuses fewer than two
/// runs, a run without a completed trial, and runs that did not measure the same thing
/// ([`mismatch`]).
pub fn build(runs: &[RunData]) -> anyhow::Result<Compared> {
    if runs.len() < 2 {
        bail!("compare needs at least two run folders");
    }
    if let Some(r) = runs.iter().find(|r| r.summary.cells.is_empty()) {
        bail!("{}: no completed trial to compare", r.name);
    }
    for (i, r) in runs.iter().enumerate().skip(1) {
        if let Some(why) = mismatch(&runs[0], r) {
            bail!(
                "cannot compare {} with {}: {why}",
                runs[0].name,
                runs[i].name
            );
        }
    }
    let labels: Vec<(String, String)> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (label(i), r.name.clone()))
        .collect();
    let mut keys: Vec<(Workload, Config)> = Vec::new();
    let mut engines: Vec<String> = Vec::new();
    for r in runs {
        for c in &r.summary.cells {
            if !keys.contains(&(c.workload, c.config)) {
                keys.push((c.workload, c.config));
            }
            if !engines.contains(&c.engine) {
                engines.push(c.engine.clone());
            }
        }
    }
    let mut doc = CompareDoc {
        runs: labels
            .iter()
            .zip(runs)
            .map(|((l, n), r)| {
                let e = &r.meta.environment;
                CompareRun {
                    label: l.clone(),
                    name: n.clone(),
                    host: e.host.clone(),
                    cpu: e.cpu.clone(),
                    cores: e.cores,
                    kernel: e.kernel.clone(),
                    filesystem: e.filesystem.clone(),
                    ringbench: e.ringbench.clone(),
                    git: e.git.clone(),
                    started: r.meta.started.clone(),
                }
            })
            .collect(),
        points: Vec::new(),
        overhead: Vec::new(),
        compare_md: String::new(),
    };
    for (w, cfg) in &keys {
        let mut point = ComparePoint {
            workload: w.name().to_string(),
            config: *cfg,
            config_id: cfg.id(),
            rows: Vec::new(),
        };
        for e in &engines {
            let cells: Vec<Option<&Cell>> = runs.iter().map(|r| cell(r, *w, cfg, e)).collect();
            if cells.iter().all(|c| c.is_none()) {
                continue;
            }
            let mut row = CompareRow {
                engine: e.clone(),
                cells: cells
                    .iter()
                    .zip(&labels)
                    .map(|(c, (l, _))| {
                        let ok = c.filter(|c| c.n > 0);
                        CompareCell {
                            run: l.clone(),
                            status: match c {
                                Some(c) if c.n > 0 => "ok",
                                Some(_) => "failed",
                                None => "not-run",
                            },
                            n: c.map_or(0, |c| c.n),
                            median_bps: ok.map(|c| c.median_bps),
                            ci_lo_bps: ok.map(|c| c.ci.lo),
                            ci_hi_bps: ok.map(|c| c.ci.hi),
                            ci_level: ok.map(|c| c.ci.level),
                        }
                    })
                    .collect(),
                ratios: Vec::new(),
            };
            for (k, c) in cells.iter().enumerate().skip(1) {
                let r = match (cells[0], c) {
                    (Some(a), Some(b)) => {
                        cross((a.median_bps, a.ci, a.n), (b.median_bps, b.ci, b.n))
                    }
                    _ => None,
                };
                row.ratios.push(CompareRatio::of(&labels[k].0, r));
            }
            point.rows.push(row);
        }
        doc.points.push(point);
    }
    doc.overhead = overhead_points(runs, &labels);
    let conclusions = agreements(runs, &labels, &doc.overhead);
    Ok(Compared { doc, conclusions })
}

/// The overhead set side by side: per workload and queue depth, each engine's cell in every
/// run, its ops/s ratio to A by the cross-run rule, and whether each later run's tax over the
/// floor (wall ns per op more than `io-uring-raw`, per round) agrees with A's. Empty when no
/// run has the set (older folders, `--no-overhead`).
fn overhead_points(runs: &[RunData], labels: &[(String, String)]) -> Vec<CompareOverheadPoint> {
    let mut keys: Vec<(Workload, usize)> = Vec::new();
    let mut engines: Vec<String> = Vec::new();
    for r in runs {
        for c in &r.summary.overhead {
            if !keys.contains(&(c.workload, c.config.queue_depth)) {
                keys.push((c.workload, c.config.queue_depth));
            }
            if !engines.contains(&c.engine) {
                engines.push(c.engine.clone());
            }
        }
    }
    keys.sort();
    let mut points = Vec::new();
    for (w, qd) in keys {
        let mut point = CompareOverheadPoint {
            workload: w.name().to_string(),
            queue_depth: qd,
            rows: Vec::new(),
        };
        for e in &engines {
            let cells: Vec<Option<&OverheadCell>> =
                runs.iter()
                    .map(|r| {
                        r.summary.overhead.iter().find(|c| {
                            c.workload == w && c.config.queue_depth == qd && &c.engine == e
                        })
                    })
                    .collect();
            if cells.iter().all(|c| c.is_none()) {
                continue;
            }
            let mut ratios = Vec::new();
            for (k, c) in cells.iter().enumerate().skip(1) {
                let r = match (cells[0], c) {
                    (Some(a), Some(b)) if a.n > 0 && b.n > 0 => {
                        cross((a.ops_per_s, a.ops_ci, a.n), (b.ops_per_s, b.ops_ci, b.n))
                    }
                    _ => None,
                };
                ratios.push(CompareRatio::of(&labels[k].0, r));
            }
            let base = cells[0].and_then(|c| c.ns_over_floor);
            let tax = cells
                .iter()
                .skip(1)
                .map(|c| {
                    base.zip(c.and_then(|c| c.ns_over_floor))
                        .map(|(a, b)| TaxAgreement::of(a.verdict, b.verdict))
                })
                .collect();
            point.rows.push(CompareOverheadRow {
                engine: e.clone(),
                cells: cells.iter().map(|c| c.cloned()).collect(),
                ratios,
                tax,
            });
        }
        points.push(point);
    }
    points
}

/// How the `k`-th later run's tax verdicts (overhead set; B is 0) relate to run A's, read off
/// the rows [`overhead_points`] built: (same, compared, contradicting), over the cells where
/// both runs have a tax.
fn tax_counts(points: &[CompareOverheadPoint], k: usize) -> (usize, usize, usize) {
    let ts: Vec<TaxAgreement> = points
        .iter()
        .flat_map(|p| &p.rows)
        .filter_map(|r| r.tax.get(k).copied().flatten())
        .collect();
    let count = |t: TaxAgreement| ts.iter().filter(|x| **x == t).count();
    (
        count(TaxAgreement::Same),
        ts.len(),
        count(TaxAgreement::Contradict),
    )
}

/// Whether each later run draws the same conclusions as run A in "How to choose" (the groups of
/// each table; rules in [`crate::analysis::conclusions`]), table by table, with the counts
/// compare.md's one-line verdict is read from.
fn agreements(
    runs: &[RunData],
    labels: &[(String, String)],
    overhead: &[CompareOverheadPoint],
) -> Vec<RunAgreement> {
    let base = conclusions::of_run(&runs[0]);
    let mut out = Vec::new();
    for (k, r) in runs.iter().enumerate().skip(1) {
        let other = conclusions::of_run(r);
        let (la, lb) = (&labels[0].0, &labels[k].0);
        let mut tables = Vec::new();
        for (key, a) in &base {
            let Some(b) = other.get(key) else {
                continue;
            };
            let agreement = conclusions::agreement(a, b, la, lb);
            tables.push(TableAgreement {
                key: *key,
                a: a.clone(),
                b: b.clone(),
                gaps: if agreement.agrees() {
                    Vec::new()
                } else {
                    gaps(&runs[0], r, *key)
                },
                agreement,
            });
        }
        let agree = tables.iter().filter(|t| t.agreement.agrees()).count();
        let contradict = tables
            .iter()
            .filter(|t| matches!(t.agreement, Agreement::Contradict(_)))
            .count();
        out.push(RunAgreement {
            label: lb.clone(),
            tables,
            agree,
            contradict,
            tax: tax_counts(overhead, k - 1),
            margins: [runs[0].summary.margin.value, r.summary.margin.value],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_run_has_its_own_label() {
        let l: Vec<String> = (0..60).map(label).collect();
        assert_eq!(
            (&l[0][..], &l[25][..], &l[26][..], &l[27][..]),
            ("A", "Z", "AA", "AB")
        );
        assert_eq!(l[51], "AZ");
        assert_eq!(l[52], "BA");
        let mut u = l.clone();
        u.sort();
        u.dedup();
        assert_eq!(u.len(), l.len());
    }

    use super::*;
    use crate::analysis::fixtures::data;

    fn iv(lo: f64, hi: f64) -> Interval {
        Interval {
            lo,
            hi,
            level: 0.95,
        }
    }

    #[test]
    fn cross_rule() {
        // Same interval: within noise.
        let r = cross((100.0, iv(90.0, 110.0), 5), (101.0, iv(91.0, 111.0), 5)).unwrap();
        assert_eq!(r.verdict, Verdict::WithinNoise);
        // Disjoint: a verdict, and the ratio's interval lies inside the crude bound
        // [lo_B / hi_A, hi_B / lo_A] (errors combined, not added) and excludes 1.
        let r = cross((100.0, iv(95.0, 105.0), 5), (150.0, iv(140.0, 160.0), 5)).unwrap();
        assert_eq!(r.verdict, Verdict::Faster);
        assert!(r.lo > 140.0 / 105.0 && r.lo < 1.5 && r.hi > 1.5 && r.hi < 160.0 / 95.0);
        assert!(
            (r.lo - 1.378).abs() < 1e-3 && (r.hi - 1.629).abs() < 1e-3,
            "{r:?}"
        );
        // Overlapping by a sliver (less than half the average half-width): still a difference.
        let r = cross((100.0, iv(90.0, 110.0), 5), (80.0, iv(70.0, 91.0), 5)).unwrap();
        assert_eq!(r.verdict, Verdict::Slower);
        assert!(r.hi < 1.0, "{r:?}");
        // The verdict can always be read off the printed interval: within noise exactly when
        // it contains 1, over a grid of medians and widths.
        for mb in [80.0, 95.0, 99.0, 101.0, 105.0, 120.0, 200.0] {
            for w in [0.01, 0.05, 0.1, 0.3] {
                let r = cross(
                    (100.0, iv(100.0 * (1.0 - w), 100.0 * (1.0 + w)), 5),
                    (mb, iv(mb * (1.0 - w), mb * (1.0 + w)), 5),
                )
                .unwrap();
                let contains = r.lo <= 1.0 && r.hi >= 1.0;
                assert_eq!(
                    r.verdict == Verdict::WithinNoise,
                    contains,
                    "{mb} ±{w}: {r:?}"
                );
            }
        }
        // One sample is never enough.
        assert_eq!(
            cross((100.0, iv(100.0, 100.0), 1), (200.0, iv(200.0, 200.0), 1))
                .unwrap()
                .verdict,
            Verdict::WithinNoise
        );
    }

    #[test]
    fn mismatched_runs_are_refused_with_the_parameter() {
        let a = data();
        let mut b = data();
        b.meta.options["size"] = serde_json::json!(8388608);
        assert_eq!(
            mismatch(&a, &b).unwrap(),
            "--size differs (4194304 vs 8388608)"
        );
        let mut c = data();
        c.summary.cells.retain(|x| x.workload != Workload::Read);
        assert!(
            mismatch(&a, &c)
                .unwrap()
                .contains("workloads differ (large,read vs large)")
        );
        assert!(mismatch(&a, &data()).is_none());
    }
}
