//! `ringbench compare --json`: the document's schema (field names documented in
//! results/README.md). Built by `analysis::compare`, rendered into compare.md by
//! `render::compare`, printed by the `compare` command.
//!
//! Three values in it are the analysis layer's types, above this layer: a ratio's verdict
//! (`analysis::stats::Verdict`), an overhead-set cell (`analysis::overhead::OverheadCell`) and
//! a tax agreement (`analysis::overhead::TaxAgreement`). The types here take them as parameters
//! (`V`, `C`, `T`); `analysis::compare` names the document with them filled in
//! (`analysis::compare::CompareDoc` and the other aliases there).

use serde::Serialize;

use crate::plan::options::Config;

/// `ringbench compare --json`: the runs and, per workload and sweep point, each engine's cell
/// in every run and its ratio to run A — what compare.md's tables show. Field names are
/// documented in results/README.md.
#[derive(Debug, Serialize)]
pub struct CompareDoc<V, C, T> {
    /// The runs, A first (the baseline).
    pub runs: Vec<CompareRun>,
    /// One per workload and sweep point, in compare.md's order.
    pub points: Vec<ComparePoint<V>>,
    /// The overhead set (runtime cost per op), one per workload and queue depth that any run
    /// measured; empty when no run has the set.
    pub overhead: Vec<CompareOverheadPoint<V, C, T>>,
    /// Where compare.md was written (empty before the `compare` command writes it).
    pub compare_md: String,
}

/// One (workload, queue depth) of the overhead set.
#[derive(Debug, Serialize)]
pub struct CompareOverheadPoint<V, C, T> {
    /// Workload name.
    pub workload: String,
    /// Ops in flight.
    pub queue_depth: usize,
    /// One per engine seen in any run at this point.
    pub rows: Vec<CompareOverheadRow<V, C, T>>,
}

/// One engine at one point of the overhead set.
#[derive(Debug, Serialize)]
pub struct CompareOverheadRow<V, C, T> {
    /// Engine name.
    pub engine: String,
    /// Its cell in each run, in run order (`null` where that run has none).
    pub cells: Vec<Option<C>>,
    /// Its ops/s ratio to run A in each later run (B first), by the rule of the throughput
    /// tables; `null` where a side is missing.
    pub ratios: Vec<CompareRatio<V>>,
    /// Whether each later run's tax verdict (wall ns per op over the floor) agrees with A's;
    /// `null` where a side has no tax (the floor itself, or no paired round).
    pub tax: Vec<Option<T>>,
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
pub struct ComparePoint<V> {
    /// Workload name.
    pub workload: String,
    /// The sweep point.
    pub config: Config,
    /// Its short id (`bs128k-qd8-f8-t1`).
    pub config_id: String,
    /// One per engine seen in any run.
    pub rows: Vec<CompareRow<V>>,
}

/// One engine at one point.
#[derive(Debug, Serialize)]
pub struct CompareRow<V> {
    /// Engine (or reference) name.
    pub engine: String,
    /// Its cell in each run, in run order.
    pub cells: Vec<CompareCell>,
    /// Its ratio to run A in each later run, in run order (B first).
    pub ratios: Vec<CompareRatio<V>>,
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

/// `median_X / median_A` with its interval and verdict (the rule: `analysis::compare`).
#[derive(Debug, Serialize)]
pub struct CompareRatio<V> {
    /// Run label (X).
    pub run: String,
    /// `null` when either side has no completed trial.
    pub median: Option<f64>,
    /// Lower bound of the ratio's interval (the two runs' intervals combined on a log scale).
    pub lo: Option<f64>,
    /// Upper bound (see `lo`).
    pub hi: Option<f64>,
    /// `faster`, `slower` or `within-noise`.
    pub verdict: Option<V>,
}
