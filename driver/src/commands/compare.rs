//! `ringbench compare A B [C...]`: runs side by side (two machines, two versions, two kernels),
//! each engine's median per workload and sweep point, with its ratio to the first run.
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

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Serialize;
use workloads::Workload;

use crate::analysis::overhead::{OverheadCell, TaxAgreement};
use crate::analysis::run::RunData;
use crate::analysis::stats::{Interval, Verdict};
use crate::analysis::summary::Cell;
use crate::commands::report;
use crate::plan::options::Config;
use crate::render::plots::{self, Ratio, RatioPanel, RatioRow};
use crate::render::table::mbps;
use crate::results;

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

/// What `compare` produces.
pub struct Comparison {
    /// compare.md.
    pub markdown: String,
    /// The chart.
    pub chart: plots::Chart,
    /// The same tables as data (`ringbench compare --json`).
    pub data: CompareDoc,
}

/// `ringbench compare --json`: the runs and, per workload and sweep point, each engine's cell
/// in every run and its ratio to run A — what compare.md's tables show. Field names are
/// documented in results/README.md.
#[derive(Debug, Serialize)]
pub struct CompareDoc {
    /// The runs, A first (the baseline).
    pub runs: Vec<CompareRun>,
    /// One per workload and sweep point, in compare.md's order.
    pub points: Vec<ComparePoint>,
    /// The overhead set (runtime cost per op), one per workload and queue depth that any run
    /// measured; empty when no run has the set.
    pub overhead: Vec<CompareOverheadPoint>,
    /// Where compare.md was written (empty before [`run`] writes it).
    pub compare_md: String,
}

/// One (workload, queue depth) of the overhead set.
#[derive(Debug, Serialize)]
pub struct CompareOverheadPoint {
    /// Workload name.
    pub workload: String,
    /// Ops in flight.
    pub queue_depth: usize,
    /// One per engine seen in any run at this point.
    pub rows: Vec<CompareOverheadRow>,
}

/// One engine at one point of the overhead set.
#[derive(Debug, Serialize)]
pub struct CompareOverheadRow {
    /// Engine name.
    pub engine: String,
    /// Its cell in each run, in run order (`null` where that run has none).
    pub cells: Vec<Option<OverheadCell>>,
    /// Its ops/s ratio to run A in each later run (B first), by the rule of the throughput
    /// tables; `null` where a side is missing.
    pub ratios: Vec<CompareRatio>,
    /// Whether each later run's tax verdict (wall ns per op over the floor) agrees with A's;
    /// `null` where a side has no tax (the floor itself, or no paired round).
    pub tax: Vec<Option<TaxAgreement>>,
}

/// One run folder.
#[derive(Debug, Serialize)]
pub struct CompareRun {
    /// `A`, `B`, ...
    pub label: String,
    /// The folder's name.
    pub name: String,
    /// Host name.
    pub host: String,
    /// CPU model.
    pub cpu: String,
    /// Online CPUs.
    pub cores: usize,
    /// Kernel release.
    pub kernel: String,
    /// Filesystem of the directory under test.
    pub filesystem: String,
    /// ringbench version and git revision.
    pub ringbench: String,
    /// See `ringbench`.
    pub git: String,
    /// When the run started (meta.json's `started`).
    pub started: String,
}

/// One workload at one sweep point.
#[derive(Debug, Serialize)]
pub struct ComparePoint {
    /// Workload name.
    pub workload: String,
    /// The sweep point.
    pub config: Config,
    /// Its short id (`bs128k-qd8-f8-t1`).
    pub config_id: String,
    /// One per engine seen in any run.
    pub rows: Vec<CompareRow>,
}

/// One engine at one point.
#[derive(Debug, Serialize)]
pub struct CompareRow {
    /// Engine (or reference) name.
    pub engine: String,
    /// Its cell in each run, in run order.
    pub cells: Vec<CompareCell>,
    /// Its ratio to run A in each later run, in run order (B first).
    pub ratios: Vec<CompareRatio>,
}

/// An engine's cell in one run.
#[derive(Debug, Serialize)]
pub struct CompareCell {
    /// Run label.
    pub run: String,
    /// `ok`, `failed` (no completed trial) or `not-run`.
    pub status: &'static str,
    /// Completed trials.
    pub n: usize,
    /// Median throughput, bytes/s (`null` unless `ok`).
    pub median_bps: Option<f64>,
    /// Interval of the median, bytes/s.
    pub ci_lo_bps: Option<f64>,
    /// See `ci_lo_bps`.
    pub ci_hi_bps: Option<f64>,
    /// The interval's achieved level.
    pub ci_level: Option<f64>,
}

/// `median_X / median_A` with its interval and verdict (module doc).
#[derive(Debug, Serialize)]
pub struct CompareRatio {
    /// Run label (X).
    pub run: String,
    /// `null` when either side has no completed trial.
    pub median: Option<f64>,
    /// Lower bound of the ratio's interval (module doc: the two runs' intervals combined on a
    /// log scale).
    pub lo: Option<f64>,
    /// Upper bound (see `lo`).
    pub hi: Option<f64>,
    /// `faster`, `slower` or `within-noise`.
    pub verdict: Option<Verdict>,
}

impl CompareRatio {
    /// Run `run`'s ratio to A, or nulls when a side has no completed trial.
    fn of(run: &str, r: Option<CrossRatio>) -> CompareRatio {
        CompareRatio {
            run: run.to_string(),
            median: r.map(|r| r.median),
            lo: r.map(|r| r.lo),
            hi: r.map(|r| r.hi),
            verdict: r.map(|r| r.verdict),
        }
    }
}

fn cell<'a>(d: &'a RunData, w: Workload, c: &Config, e: &str) -> Option<&'a Cell> {
    d.summary
        .cells
        .iter()
        .find(|x| x.workload == w && x.config == *c && x.engine == e)
}

/// Build the comparison of loaded runs (the first is the baseline).
pub fn build(runs: &[RunData]) -> anyhow::Result<Comparison> {
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
        .map(|(i, r)| {
            (
                ((b'A' + (i % 26) as u8) as char).to_string(),
                r.name.clone(),
            )
        })
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
    let mut md = String::new();
    let _ = writeln!(md, "# ringbench comparison\n");
    for (l, n) in &labels {
        let r = &runs[labels.iter().position(|x| &x.0 == l).unwrap_or(0)];
        let e = &r.meta.environment;
        let _ = writeln!(
            md,
            "- **{l}**: `{n}` — {} ({} cores), kernel {}, {} on {} [{}], ringbench {} ({}), started {}",
            e.cpu,
            e.cores,
            e.kernel,
            e.filesystem,
            e.device
                .as_ref()
                .map_or("no block device".to_string(), |d| format!(
                    "{} ({})",
                    d.name, d.model
                )),
            e.device_kind.words(),
            e.ringbench,
            e.git,
            r.meta.started
        );
    }
    md.push_str(&conclusions_section(runs, &labels));
    let _ = writeln!(
        md,
        "\nMB/s medians with their order-statistic intervals; ratios are against A: `median_X / median_A` with the two runs' intervals combined as independent errors on a log scale; *within noise* when that interval contains 1 (or a side has under 2 samples). Reference rows (kernel-copy, fio) are compared like engines.\n"
    );
    let mut data = CompareDoc {
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
    let mut panels = Vec::new();
    for (w, cfg) in &keys {
        let mut point = ComparePoint {
            workload: w.name().to_string(),
            config: *cfg,
            config_id: cfg.id(),
            rows: Vec::new(),
        };
        let _ = writeln!(md, "## {w} — {}\n", plots::config_words(cfg));
        let mut head = String::from("| engine |");
        let mut rule = String::from("|---|");
        for (l, _) in &labels {
            let _ = write!(head, " {l} MB/s |");
            rule.push_str("--:|");
        }
        for (l, _) in labels.iter().skip(1) {
            let _ = write!(head, " {l} / A |");
            rule.push_str("---|");
        }
        let _ = writeln!(md, "{head}\n{rule}");
        let mut ratio_rows = Vec::new();
        for e in &engines {
            let cells: Vec<Option<&Cell>> = runs.iter().map(|r| cell(r, *w, cfg, e)).collect();
            if cells.iter().all(|c| c.is_none()) {
                continue;
            }
            let mut data_row = CompareRow {
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
            let mut row = format!("| {e} |");
            for c in cells.iter() {
                match c {
                    Some(c) if c.n > 0 => {
                        let _ = write!(
                            row,
                            " {} [{}–{}] |",
                            mbps(c.median_bps),
                            mbps(c.ci.lo),
                            mbps(c.ci.hi)
                        );
                    }
                    Some(_) => row.push_str(" failed |"),
                    None => row.push_str(" not run |"),
                }
            }
            let mut ratios = Vec::new();
            for (k, c) in cells.iter().enumerate().skip(1) {
                let r = match (cells[0], c) {
                    (Some(a), Some(b)) => {
                        cross((a.median_bps, a.ci, a.n), (b.median_bps, b.ci, b.n))
                    }
                    _ => None,
                };
                data_row.ratios.push(CompareRatio::of(&labels[k].0, r));
                if let Some(r) = &r {
                    ratios.push(Ratio {
                        run: labels[k].0.to_string(),
                        median: r.median,
                        lo: r.lo,
                        hi: r.hi,
                        within_noise: r.verdict == Verdict::WithinNoise,
                    });
                }
                let _ = write!(row, " {} |", r.map_or("–".into(), |r| r.words()));
            }
            let _ = writeln!(md, "{row}");
            point.rows.push(data_row);
            if !ratios.is_empty() {
                ratio_rows.push(RatioRow {
                    label: e.to_string(),
                    look: crate::render::style::look(e),
                    ratios,
                });
            }
        }
        let _ = writeln!(md);
        data.points.push(point);
        if !ratio_rows.is_empty() {
            panels.push(RatioPanel {
                title: if keys.iter().filter(|k| k.0 == *w).count() > 1 {
                    format!("{w} ({})", cfg.id())
                } else {
                    w.to_string()
                },
                rows: ratio_rows,
            });
        }
    }
    let (overhead_md, overhead) = overhead_section(runs, &labels);
    md.push_str(&overhead_md);
    data.overhead = overhead;
    let title = format!(
        "Throughput ratio to run A: {}",
        labels
            .iter()
            .map(|(l, n)| format!("{l} = {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let notes = [concat!(
        "Marker: median_X / median_A; whiskers: its interval, the two runs' order-statistic ",
        "intervals of the median combined as independent errors on a log scale. Hollow marker, ",
        "\"(noise)\": the interval contains 1 (within noise). Right of 1× is faster than A."
    )
    .to_string()];
    let chart = plots::ratio_chart("compare".into(), title, &notes, &panels)
        .map_err(|e| anyhow::anyhow!("drawing the comparison chart: {e}"))?;
    let _ = writeln!(
        md,
        "![Throughput ratio to run A](plots/compare.svg)\n\n[PNG](plots/compare.png)"
    );
    Ok(Comparison {
        markdown: md,
        chart,
        data,
    })
}

/// The overhead set side by side (`## Runtime cost per op`): per workload and queue depth, each
/// engine's ops/s in every run, its ratio to A by the cross-run rule, and its tax over the floor
/// (wall ns per op more than `io-uring-raw`, per round) in every run with whether the verdicts
/// agree with A's. Empty when no run has the set (older folders, `--no-overhead`).
fn overhead_section(
    runs: &[RunData],
    labels: &[(String, String)],
) -> (String, Vec<CompareOverheadPoint>) {
    use crate::render::overhead::{diff_words, ops};
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
    let mut md = String::new();
    let mut points = Vec::new();
    if keys.is_empty() {
        return (md, points);
    }
    keys.sort();
    let _ = writeln!(
        md,
        "## Runtime cost per op (overhead set)\n\nCache-warm 4 KiB ops of each run's overhead set: ops/s medians with their intervals, the ratio to A by the rule above, and each run's tax over the floor (wall ns per op more than {}, per round, with its interval); *tax vs A* says whether the verdicts agree (*same*), one run decided where the other did not (*differ*), or one shows more and the other less (**contradict**).\n",
        crate::analysis::overhead::FLOOR
    );
    for (w, qd) in keys {
        let _ = writeln!(md, "### {w}, queue depth {qd}\n");
        let mut head = String::from("| engine |");
        let mut rule = String::from("|---|");
        for (l, _) in labels {
            let _ = write!(head, " {l} ops/s |");
            rule.push_str("--:|");
        }
        for (l, _) in labels.iter().skip(1) {
            let _ = write!(head, " {l} / A |");
            rule.push_str("---|");
        }
        for (l, _) in labels {
            let _ = write!(head, " {l} tax |");
            rule.push_str("---|");
        }
        for (l, _) in labels.iter().skip(1) {
            let _ = write!(head, " {l} tax vs A |");
            rule.push_str("---|");
        }
        let _ = writeln!(md, "{head}\n{rule}");
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
            let mut row = format!("| {e} |");
            for c in &cells {
                let _ = match c {
                    Some(c) if c.n > 0 => write!(
                        row,
                        " {} [{}–{}] |",
                        ops(c.ops_per_s),
                        ops(c.ops_ci.lo),
                        ops(c.ops_ci.hi)
                    ),
                    Some(_) => write!(row, " failed |"),
                    None => write!(row, " not run |"),
                };
            }
            let mut ratios = Vec::new();
            for (k, c) in cells.iter().enumerate().skip(1) {
                let r = match (cells[0], c) {
                    (Some(a), Some(b)) if a.n > 0 && b.n > 0 => {
                        cross((a.ops_per_s, a.ops_ci, a.n), (b.ops_per_s, b.ops_ci, b.n))
                    }
                    _ => None,
                };
                let _ = write!(row, " {} |", r.map_or("–".into(), |r| r.words()));
                ratios.push(CompareRatio::of(&labels[k].0, r));
            }
            for c in &cells {
                let _ = match c.and_then(|c| c.ns_over_floor.as_ref()) {
                    Some(d) => write!(row, " {} |", diff_words(d)),
                    None if c.is_some_and(|c| c.floor) => write!(row, " the floor |"),
                    None => write!(row, " – |"),
                };
            }
            let mut tax = Vec::new();
            let base = cells[0].and_then(|c| c.ns_over_floor);
            for c in cells.iter().skip(1) {
                let t = base
                    .zip(c.and_then(|c| c.ns_over_floor))
                    .map(|(a, b)| TaxAgreement::of(a.verdict, b.verdict));
                let _ = write!(row, " {} |", t.map_or("–", |t| t.words()));
                tax.push(t);
            }
            let _ = writeln!(md, "{row}");
            point.rows.push(CompareOverheadRow {
                engine: e.clone(),
                cells: cells.iter().map(|c| c.cloned()).collect(),
                ratios,
                tax,
            });
        }
        let _ = writeln!(md);
        points.push(point);
    }
    (md, points)
}

/// How run `b`'s tax verdicts (overhead set) relate to run `a`'s over the cells both have:
/// (same, compared, contradicting).
fn tax_counts(a: &RunData, b: &RunData) -> (usize, usize, usize) {
    let (mut same, mut compared, mut contra) = (0, 0, 0);
    for ca in &a.summary.overhead {
        let Some(ta) = ca.ns_over_floor else { continue };
        let tb = b.summary.overhead.iter().find(|cb| {
            cb.workload == ca.workload
                && cb.config.queue_depth == ca.config.queue_depth
                && cb.engine == ca.engine
        });
        if let Some(tb) = tb.and_then(|c| c.ns_over_floor) {
            let t = TaxAgreement::of(ta.verdict, tb.verdict);
            compared += 1;
            same += usize::from(t == TaxAgreement::Same);
            contra += usize::from(t == TaxAgreement::Contradict);
        }
    }
    (same, compared, contra)
}

/// Whether each run draws the same conclusions as run A in "How to choose" (the groups of each
/// table; rules in [`crate::analysis::conclusions`]), table by table, with a one-line verdict first.
fn conclusions_section(runs: &[RunData], labels: &[(String, String)]) -> String {
    use crate::analysis::conclusions;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "\n## Conclusions: does each run draw those of A?\n\nA conclusion is a table's groups as \"How to choose\" states them: a group boundary says the later group's leader was shown slower per round; inside a group nothing is decided. Engines that only one run ranked are left out.\n"
    );
    let base = conclusions::of_run(&runs[0]);
    for (k, r) in runs.iter().enumerate().skip(1) {
        let other = conclusions::of_run(r);
        let (la, lb) = (&labels[0].0, &labels[k].0);
        let mut lines = Vec::new();
        let mut agree = 0;
        for (key, a) in &base {
            let Some(b) = other.get(key) else {
                continue;
            };
            let ag = conclusions::agreement(a, b, la, lb);
            if ag.agrees() {
                agree += 1;
            }
            lines.push(format!(
                "- **{}** ({}): {la}: {}; {lb}: {} — {}",
                key.0,
                plots::config_words(&key.1),
                a.words(),
                b.words(),
                ag.words()
            ));
        }
        let n = lines.len();
        let contradict = lines
            .iter()
            .filter(|l| l.contains("**contradict**"))
            .count();
        let _ = writeln!(
            md,
            "**{lb} vs {la}: {}** ({agree} of {n} tables draw the same conclusions or both say no decision here{}).\n",
            if agree == n {
                "the conclusions agree"
            } else if contradict > 0 {
                "the conclusions contradict"
            } else {
                "the conclusions differ"
            },
            if contradict > 0 {
                format!("; {contradict} contradict")
            } else {
                String::new()
            }
        );
        for l in lines {
            let _ = writeln!(md, "{l}");
        }
        let (same, compared, contra) = tax_counts(&runs[0], r);
        if compared > 0 {
            let _ = writeln!(
                md,
                "- **runtime cost per op**: {same} of {compared} tax verdicts over the floor are the same in {lb} as in {la}{} (table in \"Runtime cost per op\" below)",
                if contra > 0 {
                    format!("; {contra} **contradict**")
                } else {
                    String::new()
                }
            );
        }
        let _ = writeln!(md);
    }
    md
}

/// `ringbench compare`: load, check, build, write `compare.md` and the chart into `out`, and
/// return the comparison for the terminal (its markdown, or its data for `--json`).
///
/// A run with incomplete data (see [`RunData::missing`]) is refused unless `allow_incomplete`;
/// `out` is checked before anything is read, and every error names the path and the flag.
pub fn run(dirs: &[PathBuf], out: &Path, allow_incomplete: bool) -> anyhow::Result<Comparison> {
    match std::fs::metadata(out) {
        Ok(m) if !m.is_dir() => bail!(
            "--out {}: File exists and is not a folder; choose a new folder",
            out.display()
        ),
        Ok(_) if std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some()) => bail!(
            "--out {}: already exists and is not empty; choose a new folder",
            out.display()
        ),
        _ => {}
    }
    let mut runs = Vec::new();
    for d in dirs {
        let r = report::load(d)?;
        let missing = r.missing();
        if !missing.is_empty() {
            if !allow_incomplete {
                bail!(
                    "{}: incomplete data: {} (pass --allow-incomplete to compare what there is)",
                    d.display(),
                    missing.join("; ")
                );
            }
            for w in missing {
                eprintln!("ringbench: warning: {}: {w}", d.display());
            }
        }
        runs.push(r);
    }
    let mut c = build(&runs)?;
    c.data.compare_md = out.join("compare.md").display().to_string();
    let w = |name: &str, bytes: &[u8]| {
        results::write_atomic(&out.join(name), bytes)
            .with_context(|| format!("--out {}: cannot write {name}", out.display()))
    };
    w("compare.md", c.markdown.as_bytes())?;
    w("plots/compare.svg", c.chart.svg.as_bytes())?;
    w("plots/compare.png", &c.chart.png)?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::report::tests::data;

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

    #[test]
    fn a_run_against_itself_is_within_noise_everywhere() {
        let c = build(&[data(), data()]).unwrap();
        assert!(c.markdown.contains("| fast | 200.0 [196.0–206.0] | 200.0 [196.0–206.0] | 1.00× [0.96–1.04] within noise |"), "{}", c.markdown);
        assert!(!c.markdown.contains("faster |") && !c.markdown.contains("slower |"));
        assert!(c.chart.svg.contains("Throughput ratio to run A"));
        assert!(
            c.markdown.contains(
                "**B vs A: the conclusions agree** (2 of 2 tables draw the same conclusions"
            ),
            "{}",
            c.markdown
        );
    }

    #[test]
    fn swapped_engines_contradict() {
        // B: "slow" and "fast" trade places, so every table's order is reversed.
        let mut b = data();
        for r in &mut b.records {
            r.engine = match r.engine.as_str() {
                "slow" => "fast".into(),
                "fast" => "slow".into(),
                e => e.into(),
            };
        }
        let order = crate::analysis::rows::engine_order(&b.meta, &b.records);
        b.summary = crate::analysis::summary::summarise(
            &b.records,
            &order,
            crate::analysis::rows::ranked_rule(&b.meta),
        );
        let md = build(&[data(), b]).unwrap().markdown;
        assert!(
            md.contains("**B vs A: the conclusions contradict** (0 of 2"),
            "{md}"
        );
        assert!(
            md.contains("fast ahead of slow in A, behind it in B"),
            "{md}"
        );
    }

    /// A run whose overhead set has the floor at 1000 ns per op and `rt` at `rt_ns`.
    fn with_overhead(rt_ns: f64) -> RunData {
        use crate::analysis::overhead::{FLOOR, summarise, tests::rec};
        let mut d = data();
        let mut records = Vec::new();
        for round in 0..8 {
            // A little spread per round so intervals are not points.
            let j = 1.0 + f64::from(round % 3) * 0.01;
            records.push(rec(FLOOR, round, 1, 1000.0 * j, 900.0));
            records.push(rec("rt", round, 1, rt_ns * j, 900.0));
        }
        d.summary.overhead = summarise(&records, &[FLOOR.to_string(), "rt".to_string()]);
        d
    }

    #[test]
    fn the_overhead_set_is_compared_with_its_tax_verdicts() {
        // Same taxes: the section shows both runs and the verdicts agree.
        let c = build(&[with_overhead(1500.0), with_overhead(1500.0)]).unwrap();
        let md = &c.markdown;
        assert!(md.contains("## Runtime cost per op (overhead set)"), "{md}");
        assert!(md.contains("### read, queue depth 1"), "{md}");
        assert!(md.contains("| io-uring-raw |"), "{md}");
        assert!(md.contains("the floor |"), "{md}");
        assert!(
            md.contains("1 of 1 tax verdicts over the floor are the same in B as in A"),
            "{md}"
        );
        assert_eq!(c.data.overhead.len(), 1);
        assert_eq!(
            c.data.overhead[0]
                .rows
                .iter()
                .find(|r| r.engine == "rt")
                .unwrap()
                .tax,
            vec![Some(TaxAgreement::Same)]
        );
        // B's runtime is below the floor where A's is above: a contradiction, said.
        let c = build(&[with_overhead(1500.0), with_overhead(500.0)]).unwrap();
        assert!(c.markdown.contains("0 of 1 tax verdicts"), "{}", c.markdown);
        assert!(c.markdown.contains("1 **contradict**"), "{}", c.markdown);
        // No set in either run: no section.
        let c = build(&[data(), data()]).unwrap();
        assert!(!c.markdown.contains("Runtime cost per op"));
        assert!(c.data.overhead.is_empty());
    }
}
