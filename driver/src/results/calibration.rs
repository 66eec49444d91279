//! `calibrate.json` (`results::schema::CALIBRATE`): what `ringbench calibrate` measured —
//! fidelity targets, the harness's cost, memory — as written and read back, and its one writer.
//! The figures are computed in `analysis::calibration`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use workloads::Workload;

/// Version of calibrate.json's schema.
pub const CALIBRATE_SCHEMA: u32 = crate::results::schema::CALIBRATE.current;

/// A median with its interval.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Figure {
    /// Median.
    pub median: f64,
    /// Interval, low end.
    pub lo: f64,
    /// Interval, high end.
    pub hi: f64,
    /// Achieved confidence of the interval.
    pub level: f64,
    /// Samples.
    pub n: usize,
    /// Half-width of the interval over the median.
    pub rel_ci: f64,
    /// Interval wider than ±10% of the median, or a single sample.
    pub noisy: bool,
}

/// A ratio set against a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Goal {
    /// The whole interval is on the right side of the target.
    MeetsTarget,
    /// The whole interval is on the wrong side.
    ShortOfTarget,
    /// The interval straddles the target, or too few rounds to say.
    WithinNoise,
    /// Nothing to compare (a side did not run or failed every round).
    NotMeasured,
}

impl Goal {
    /// Words for tables.
    pub fn words(self) -> &'static str {
        match self {
            Goal::MeetsTarget => "meets target",
            Goal::ShortOfTarget => "short of target",
            Goal::WithinNoise => "within noise",
            Goal::NotMeasured => "not measured",
        }
    }
}

/// One engine's cell against a reference.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EngineVsRef {
    /// Engine.
    pub engine: String,
    /// Whether it is an io_uring engine.
    pub io_uring: bool,
    /// Throughput, bytes/s.
    pub throughput: Figure,
    /// Per-round ratio engine / reference.
    pub ratio: Option<Figure>,
    /// The ratio against the target.
    pub verdict: Goal,
}

/// One fidelity target.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Target {
    /// Workload.
    pub workload: Workload,
    /// The reference: `fio read`, `fio write`, `kernel-copy`.
    pub reference: String,
    /// What is asked, in words.
    pub goal: String,
    /// Target ratio (at least).
    pub target: f64,
    /// The best io_uring engine (highest median throughput), if any ran.
    pub best: Option<String>,
    /// The reference's throughput, bytes/s.
    pub reference_throughput: Option<Figure>,
    /// The best engine's row.
    pub best_row: Option<EngineVsRef>,
    /// Every engine of the workload against the same reference.
    pub engines: Vec<EngineVsRef>,
    /// The best engine's verdict.
    pub verdict: Goal,
}

/// Harness cost per op.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Harness {
    /// Block size of the reads.
    pub block_size: usize,
    /// Queue depth.
    pub queue_depth: usize,
    /// The null engine's ns per op (elapsed / reads), per trial.
    pub null_ns_per_op: Option<Figure>,
    /// Every other row's ns per op (engines, and fio's 4 KiB read for scale).
    pub rows: Vec<(String, Figure)>,
    /// The fastest engine (lowest median ns/op; fio excluded).
    pub fastest: Option<String>,
    /// Per-round ratio: null ns/op over the fastest engine's.
    pub share: Option<Figure>,
    /// Target share (below).
    pub target: f64,
    /// The share against the target.
    pub verdict: Goal,
}

/// Peak RSS of one engine at one file size and setting.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MemCell {
    /// Engine (or kernel-copy).
    pub engine: String,
    /// File size, bytes.
    pub size: u64,
    /// Block size.
    pub block_size: usize,
    /// Queue depth.
    pub queue_depth: usize,
    /// queue depth × block size × threads, KiB.
    pub buffers_kib: u64,
    /// Peak RSS of the trial child, KiB: median and interval.
    pub rss_kib: Figure,
    /// Every trial's peak RSS, KiB, in round order.
    pub per_trial_kib: Vec<u64>,
    /// Median peak RSS minus the buffers, KiB: the fixed overhead at this point.
    pub overhead_kib: f64,
}

/// Whether one engine's peak RSS depends on the file size, at one setting.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SizeCheck {
    /// Engine.
    pub engine: String,
    /// Block size.
    pub block_size: usize,
    /// Queue depth.
    pub queue_depth: usize,
    /// Median RSS at the larger file minus at the smaller, KiB.
    pub delta_kib: f64,
    /// That difference per MiB of extra file, KiB.
    pub kib_per_file_mib: f64,
    /// `independent` or `grows with file size`.
    pub verdict: String,
}

/// Memory results.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Memory {
    /// The two file sizes.
    pub sizes: Vec<u64>,
    /// Every cell.
    pub cells: Vec<MemCell>,
    /// File-size dependence per engine and setting.
    pub checks: Vec<SizeCheck>,
    /// Per engine: extra RSS per extra buffer byte between the smallest and largest setting
    /// (1.0: the buffers are the only thing that scales; 2.0: each buffer is held twice).
    pub buffer_slope: Vec<(String, f64)>,
}

/// A flagged figure.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NoisyCell {
    /// Which run folder.
    pub run: String,
    /// What: `engine workload config` or a ratio.
    pub what: String,
    /// Half-width of its interval over its median.
    pub rel_ci: f64,
}

/// calibrate.json.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Calibration {
    /// Schema version.
    pub schema: u32,
    /// The exact command line.
    pub command: Vec<String>,
    /// Start, RFC 3339 UTC.
    pub started: String,
    /// End.
    pub finished: Option<String>,
    /// Whether it was interrupted.
    pub interrupted: bool,
    /// The signal that interrupted it (`SIGINT`, `SIGTERM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted_by: Option<String>,
    /// Runs planned; `runs` holds those that started (the last one cut short when interrupted).
    #[serde(default)]
    pub planned_runs: usize,
    /// Options.
    pub options: serde_json::Value,
    /// Machine in one line (kernel, CPU, device, filesystem); each run's meta.json has it all.
    pub machine: String,
    /// Each run: (phase, folder, the equivalent `ringbench run` command, failed trials).
    pub runs: Vec<RunRef>,
    /// Page-cache state before trials, as the trials recorded it (e.g. `dropped`).
    pub cache: Vec<String>,
    /// Fidelity targets.
    pub targets: Vec<Target>,
    /// Harness cost.
    pub harness: Option<Harness>,
    /// Memory.
    pub memory: Option<Memory>,
    /// Cells and ratios whose interval is wider than ±10% of the median.
    pub noisy: Vec<NoisyCell>,
    /// The runs' notes (engines skipped and why, cache policy, ...), without repeats.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// One run folder of the calibration.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunRef {
    /// Phase.
    pub phase: String,
    /// Folder name under the calibration folder.
    pub folder: String,
    /// The equivalent command.
    pub command: String,
    /// Trials that failed.
    pub failed: usize,
}

/// The one writer of `calibrate.json`: into the calibration folder, atomically.
pub fn write(out: &Path, cal: &Calibration) -> anyhow::Result<()> {
    crate::results::write_atomic(
        &out.join("calibrate.json"),
        &serde_json::to_vec_pretty(cal)?,
    )?;
    Ok(())
}
