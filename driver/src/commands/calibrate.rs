//! `ringbench calibrate`: how close the harness and the engines come to the machine's limits,
//! measured in one run on one directory, with per-round ratios and their intervals.
//!
//! It runs `ringbench run` ([`runner::run`]) several times, each a complete run folder under
//! the calibration folder, all on the same `--dir`:
//!
//! * `fidelity/` — `read`, `write` and `large` with `--direct` on every selected engine
//!   (default: every io_uring engine and std), with the reference rows the runner adds in the
//!   same rounds: fio's io_uring engine on `read` and `write` (same block size, queue depth,
//!   size and O_DIRECT) and the kernel's `copy_file_range` on `large` (page cache dropped
//!   before every trial). The targets: the best io_uring engine's `read` and `write` within 5%
//!   of fio, its `large` at least as fast as the kernel copy.
//! * `harness/` — `read` with 4 KiB blocks on the hidden `null` engine (no I/O: the harness
//!   alone) and on every selected engine, in the same rounds. The harness's cost per op is the
//!   null engine's elapsed time per op; the target is under 1% of the time per op of a 4 KiB
//!   read on the fastest engine, as a per-round paired ratio.
//! * `memory-<size>-<bs>x<qd>/` — `large --direct` at two file sizes and two block size ×
//!   queue depth settings: the peak RSS of each trial's child (its own `VmHWM`) against
//!   `queue_depth × block_size`, and whether it grows with the file size (it must not).
//!
//! Separate runs and not one sweep because a run has one file size, and its block-size sweep
//! would apply to every workload (a 4 KiB `large` on every engine would triple the time);
//! ratios never cross runs: each is paired by round inside one run folder.
//!
//! Targets are reported, never asserted: whether they are met depends on the machine. A
//! verdict is "meets target" or "short of target" only when the ratio's whole interval lies on
//! one side of the target at the confidence a verdict needs ([`stats::MIN_VERDICT_LEVEL`]);
//! otherwise it is "within noise".

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use workloads::{Workload, units};

use crate::analysis::reference;
use crate::analysis::stats::{self, CONFIDENCE, MIN_VERDICT_LEVEL, Ratio};
use crate::analysis::summary::Summary;
use crate::plan::options::{self, RunOptions, RunRequest};
use crate::results::{Status, TrialRecord};

/// Version of calibrate.json's schema.
pub const CALIBRATE_SCHEMA: u32 = crate::results::schema::CALIBRATE.current;

/// Target: the best io_uring engine's read/write throughput over fio's, at least this.
pub const FIO_TARGET: f64 = 0.95;
/// Target: the best io_uring engine's `large --direct` over the kernel copy, at least this.
pub const KERNEL_COPY_TARGET: f64 = 1.0;
/// Target: the harness's time per op over a 4 KiB read's on the fastest engine, below this.
pub const HARNESS_TARGET: f64 = 0.01;
pub use crate::analysis::stats::NOISY;
/// RSS "grows with the file size" when the larger file's lowest peak RSS exceeds the smaller
/// file's highest by more than this share of the extra bytes moved: a trial that kept even 1%
/// of what it copied resident is caught; allocator and page-table jitter (tens of KiB) is not.
pub const RSS_GROWTH_SHARE: f64 = 0.01;

/// The phases, in the order they run.
pub const PHASES: [&str; 3] = ["fidelity", "harness", "memory"];

/// Validated `calibrate` options.
#[derive(Clone, Debug, Serialize)]
pub struct CalibrateOptions {
    /// Parent directory of every phase's scratch directory (`None`: as `run` defaults it).
    #[serde(serialize_with = "options::lossy_opt_path")]
    pub dir: Option<PathBuf>,
    /// The calibration folder (phase run folders go inside it).
    #[serde(serialize_with = "options::lossy_path")]
    pub out: PathBuf,
    /// Engines (the null engine is added to the harness phase).
    pub engines: Vec<String>,
    /// Phases to run.
    pub phases: Vec<String>,
    /// File size of the fidelity phase.
    pub size: u64,
    /// Block size of the fidelity phase.
    pub block_size: u64,
    /// Queue depth of the fidelity and harness phases.
    pub queue_depth: u64,
    /// Measured rounds of the fidelity and harness phases.
    pub repeat: u32,
    /// Discarded warm-up rounds of the fidelity and harness phases.
    pub warmup: u32,
    /// File size of the harness phase (4 KiB reads).
    pub harness_size: u64,
    /// Block size of the harness phase.
    pub harness_block: u64,
    /// The two file sizes of the memory phase.
    pub memory_sizes: Vec<u64>,
    /// The (block size, queue depth) settings of the memory phase.
    pub memory_configs: Vec<(u64, u64)>,
    /// Measured rounds of each memory run.
    pub memory_repeat: u32,
    /// No progress output.
    pub quiet: bool,
    /// calibrate.json on stdout instead of the text.
    pub json: bool,
}

/// Whether `name` is an io_uring engine (its `caps.io_uring`).
pub fn is_io_uring(name: &str) -> bool {
    crate::plan::engines::info(name).is_some_and(|i| i.caps.io_uring)
}

/// The default engines: every listed io_uring engine, and std as the baseline.
pub fn default_engines() -> Vec<String> {
    crate::plan::engines::ALL
        .iter()
        .filter(|n| crate::plan::engines::default_selected(n) && (is_io_uring(n) || **n == "std"))
        .map(|n| n.to_string())
        .collect()
}

impl CalibrateOptions {
    /// The run each phase asks for, `(phase, folder name, request)`: built here as a typed
    /// request and validated by `run`'s own validation ([`RunOptions::from_request`]), so
    /// every phase's trials are planned exactly as `ringbench run` would plan them. Paths stay
    /// as given (a path need not be UTF-8).
    pub fn runs(&self) -> Vec<(String, String, RunRequest)> {
        let mut out = Vec::new();
        let mut common = |phase: &str, name: String, cache: &str, r: RunRequest| {
            out.push((
                phase.to_string(),
                name.clone(),
                RunRequest {
                    out: Some(self.out.join(&name)),
                    direct: true,
                    cache: cache.into(),
                    dir: self.dir.clone(),
                    quiet: self.quiet,
                    // Calibration measures the main workloads against their references; the
                    // overhead set has its own section in `ringbench run`.
                    no_overhead: true,
                    ..r
                },
            ));
        };
        let s = |x: &u64| Some(x.to_string());
        if self.phases.iter().any(|p| p == "fidelity") {
            // read and write against fio: the source's data is evicted before each trial
            // (fadvise, as fio's own invalidate=1 does) but metadata stays cached, because
            // fio's clock starts after it opened the file and ours includes the open; with
            // every cache dropped, the cold path lookup alone cost the engines 10-15% of a
            // 64 MiB read on this VM (see the README). The copy against copy_file_range runs
            // cold (drop_caches): both sides open inside their timed section.
            for (name, workloads, cache) in [
                ("fidelity-rw", "read,write", "fadvise"),
                ("fidelity-copy", "large", "drop"),
            ] {
                common(
                    "fidelity",
                    name.into(),
                    cache,
                    RunRequest {
                        workloads: workloads.into(),
                        engines: self.engines.join(","),
                        size: s(&self.size),
                        block_size: s(&self.block_size),
                        queue_depth: s(&self.queue_depth),
                        repeat: Some(self.repeat),
                        warmup: Some(self.warmup),
                        ..RunRequest::default()
                    },
                );
            }
        }
        if self.phases.iter().any(|p| p == "harness") {
            let mut engines = vec!["null".to_string()];
            engines.extend(self.engines.iter().filter(|e| *e != "null").cloned());
            // Metadata warm (fadvise evicts the data only): the cost measured is per op, not
            // a cold path lookup spread over the ops.
            common(
                "harness",
                "harness".into(),
                "fadvise",
                RunRequest {
                    workloads: "read".into(),
                    engines: engines.join(","),
                    size: s(&self.harness_size),
                    block_size: s(&self.harness_block),
                    queue_depth: s(&self.queue_depth),
                    repeat: Some(self.repeat),
                    warmup: Some(self.warmup),
                    ..RunRequest::default()
                },
            );
        }
        if self.phases.iter().any(|p| p == "memory") {
            for size in &self.memory_sizes {
                for (b, q) in &self.memory_configs {
                    let name = format!(
                        "memory-{}-{}x{q}",
                        units::size(*size).to_lowercase(),
                        units::size(*b).to_lowercase()
                    );
                    common(
                        "memory",
                        name,
                        "drop",
                        RunRequest {
                            workloads: "large".into(),
                            engines: self.engines.join(","),
                            size: s(size),
                            block_size: s(b),
                            queue_depth: s(q),
                            repeat: Some(self.memory_repeat),
                            warmup: Some(0),
                            ..RunRequest::default()
                        },
                    );
                }
            }
        }
        out
    }
}

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

/// "INTERRUPTED by SIGINT after 2 of 7 runs had started ...", when the calibration was cut short.
pub fn interrupted_line(c: &Calibration) -> Option<String> {
    c.interrupted.then(|| {
        format!(
            "INTERRUPTED by {} after {} of {} runs had started: verdicts use only the trials that finished",
            c.interrupted_by.as_deref().unwrap_or("a signal"),
            c.runs.len(),
            c.planned_runs
        )
    })
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

struct PhaseRun {
    phase: String,
    folder: String,
    summary: Summary,
    records: Vec<TrialRecord>,
}

/// Run the calibration: every phase's run, then the analysis. Returns the calibration and
/// the exit code (0, 1 when trials failed, 130/143 when interrupted by SIGINT/SIGTERM).
pub fn run(o: &CalibrateOptions, argv: Vec<String>) -> anyhow::Result<(Calibration, i32)> {
    crate::results::check_new_out(&o.out)?;
    // --dir is checked before the calibration folder is made: bad input leaves nothing.
    crate::sys::scratch::check_parent(&o.dir.clone().unwrap_or_else(|| options::default_dir().0))?;
    std::fs::create_dir_all(&o.out)
        .with_context(|| format!("--out {}: cannot create", o.out.display()))?;
    let mut cal = Calibration {
        schema: CALIBRATE_SCHEMA,
        command: argv,
        started: crate::sys::sysinfo::utc_rfc3339(),
        finished: None,
        interrupted: false,
        interrupted_by: None,
        planned_runs: o.runs().len(),
        options: serde_json::to_value(o).unwrap_or_default(),
        machine: String::new(),
        runs: Vec::new(),
        cache: Vec::new(),
        targets: Vec::new(),
        harness: None,
        memory: None,
        noisy: Vec::new(),
        notes: Vec::new(),
    };
    let mut done: Vec<PhaseRun> = Vec::new();
    let mut code = 0;
    for (phase, folder, request) in o.runs() {
        if crate::proc::spawn::INTERRUPTED.load(Ordering::SeqCst) {
            break;
        }
        // What ran, for the record and the progress line: the equivalent command.
        let shown: Vec<String> = ["ringbench".into(), "run".into()]
            .into_iter()
            .chain(request.args())
            .map(|a: OsString| a.to_string_lossy().into_owned())
            .collect();
        let ro = RunOptions::from_request(&request)?;
        if !o.quiet {
            eprintln!("ringbench calibrate: {phase}: {}", shown.join(" "));
        }
        let (end, summary) = crate::commands::runner::run(&ro, shown.clone())
            .with_context(|| format!("calibrate phase {phase} ({folder})"))?;
        let (records, _) = crate::results::read_trials(&end.out)?;
        if let Ok(meta) = crate::results::read_meta(&end.out) {
            if cal.machine.is_empty() {
                cal.machine = machine_line(&meta);
            }
            for n in meta.notes {
                if !cal.notes.contains(&n) {
                    cal.notes.push(n);
                }
            }
        }
        cal.runs.push(RunRef {
            phase: phase.clone(),
            folder: folder.clone(),
            command: shown.join(" "),
            failed: end.failed,
        });
        if end.failed > 0 {
            code = 1;
        }
        if end.interrupted {
            cal.interrupted = true;
        }
        done.push(PhaseRun {
            phase,
            folder,
            summary,
            records,
        });
    }
    analyse(&mut cal, &done, o);
    cal.finished = Some(crate::sys::sysinfo::utc_rfc3339());
    cal.interrupted |= crate::proc::spawn::INTERRUPTED.load(Ordering::SeqCst);
    if cal.interrupted {
        code = crate::proc::spawn::interrupted_exit_code();
        cal.interrupted_by = Some(crate::proc::spawn::interrupted_by_name());
    }
    crate::results::write_atomic(
        &o.out.join("calibrate.json"),
        &serde_json::to_vec_pretty(&cal)?,
    )?;
    crate::results::write_atomic(&o.out.join("calibrate.md"), render(&cal).as_bytes())?;
    Ok((cal, code))
}

fn machine_line(meta: &crate::results::Meta) -> String {
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

fn analyse(cal: &mut Calibration, runs: &[PhaseRun], o: &CalibrateOptions) {
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
        let targets = fidelity(&f.records, is_io_uring);
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
            let size = size_of_folder(&r.folder, o);
            r.records.iter().map(move |t| (size, t))
        })
        .collect();
    if !mem.is_empty() {
        cal.memory = Some(memory(&mem, &o.memory_sizes));
    }
}

fn size_of_folder(folder: &str, o: &CalibrateOptions) -> u64 {
    o.memory_sizes
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

fn fig(f: &Figure, scale: f64, digits: usize) -> String {
    format!(
        "{:.d$} [{:.d$}-{:.d$}]{}",
        f.median / scale,
        f.lo / scale,
        f.hi / scale,
        if f.noisy { " ~" } else { "" },
        d = digits
    )
}

fn ratio_words(f: &Figure) -> String {
    format!(
        "{:.3}x [{:.3}-{:.3}] ({:.0}%, {} rounds){}",
        f.median,
        f.lo,
        f.hi,
        f.level * 100.0,
        f.n,
        if f.noisy { " ~" } else { "" }
    )
}

/// calibrate.md (also what is printed).
pub fn render(c: &Calibration) -> String {
    let mut s = String::new();
    macro_rules! w {
        ($($t:tt)*) => {{ s.push_str(&format!($($t)*)); s.push('\n'); }};
    }
    w!("# ringbench calibrate");
    w!("");
    w!("- machine: {}", c.machine);
    w!("- command: `{}`", c.command.join(" "));
    w!(
        "- started {}, finished {}{}",
        c.started,
        c.finished.as_deref().unwrap_or("-"),
        if c.interrupted { " (interrupted)" } else { "" }
    );
    if let Some(l) = interrupted_line(c) {
        w!("- **{l}**");
    }
    w!("- page cache before trials: {}", c.cache.join(", "));
    w!("- runs (each a complete run folder; its meta.json has the full environment):");
    for r in &c.runs {
        w!(
            "  - `{}/` ({}, {} failed trial(s)): `{}`",
            r.folder,
            r.phase,
            r.failed,
            r.command
        );
    }
    for n in &c.notes {
        w!("- note: {n}");
    }
    w!("");
    w!("Ratios are per round (paired trials that ran side by side), summarised as the median");
    w!("with an order-statistic interval and its achieved confidence. A verdict is given only");
    w!(
        "when the whole interval lies on one side of the target at >= {:.0}% confidence; `~` marks",
        MIN_VERDICT_LEVEL * 100.0
    );
    w!(
        "a figure whose interval is wider than +-{:.0}% of its median.",
        NOISY * 100.0
    );
    w!("");
    if !c.targets.is_empty() || c.harness.is_some() || c.memory.is_some() {
        w!("## Targets");
        w!("");
        w!(
            "| target | best io_uring engine | engine MB/s | reference MB/s | ratio per round | verdict |"
        );
        w!("|---|---|---|---|---|---|");
        for t in &c.targets {
            let (eng, thr, ratio) = match &t.best_row {
                Some(b) => (
                    b.engine.clone(),
                    fig(&b.throughput, 1e6, 0),
                    b.ratio.as_ref().map_or("-".into(), ratio_words),
                ),
                None => ("-".into(), "-".into(), "-".into()),
            };
            w!(
                "| {} vs {}: {} (ratio >= {}) | {} | {} | {} | {} | **{}** |",
                t.workload.name(),
                t.reference,
                t.goal,
                t.target,
                eng,
                thr,
                t.reference_throughput
                    .as_ref()
                    .map_or("-".into(), |f| fig(f, 1e6, 0)),
                ratio,
                t.verdict.words()
            );
        }
        if let Some(h) = &c.harness {
            w!(
                "| harness cost per op: null engine's ns/op over the fastest engine's {} read (< {}) | {} | | | {} | **{}** |",
                units::size(h.block_size as u64),
                h.target,
                h.fastest.as_deref().unwrap_or("-"),
                h.share.as_ref().map_or("-".into(), |f| format!(
                    "{:.2}% [{:.2}-{:.2}%] ({:.0}%, {} rounds){}",
                    f.median * 100.0,
                    f.lo * 100.0,
                    f.hi * 100.0,
                    f.level * 100.0,
                    f.n,
                    if f.noisy { " ~" } else { "" }
                )),
                h.verdict.words()
            );
        }
        if let Some(m) = &c.memory {
            let grows: Vec<String> = m
                .checks
                .iter()
                .filter(|k| k.verdict != "independent")
                .map(|k| {
                    format!(
                        "{} {}x{}",
                        k.engine,
                        units::size(k.block_size as u64),
                        k.queue_depth
                    )
                })
                .collect();
            w!(
                "| peak RSS independent of file size ({} vs {}) | every engine | | | {} of {} checks independent | **{}** |",
                units::size(m.sizes[0]),
                units::size(m.sizes[m.sizes.len() - 1]),
                m.checks.len() - grows.len(),
                m.checks.len(),
                if m.checks.is_empty() {
                    "not measured".to_string()
                } else if grows.is_empty() {
                    "meets target".to_string()
                } else {
                    format!("grows with file size: {}", grows.join(", "))
                }
            );
        }
        w!("");
        for t in &c.targets {
            w!(
                "### {} vs {} (every engine; target ratio >= {})",
                t.workload.name(),
                t.reference,
                t.target
            );
            w!("");
            w!(
                "| engine | io_uring | MB/s [interval] | vs {} per round | verdict |",
                t.reference
            );
            w!("|---|---|---|---|---|");
            if let Some(r) = &t.reference_throughput {
                w!("| {} (reference) | | {} | | |", t.reference, fig(r, 1e6, 0));
            }
            for e in &t.engines {
                w!(
                    "| {} | {} | {} | {} | {} |",
                    e.engine,
                    if e.io_uring { "yes" } else { "no" },
                    fig(&e.throughput, 1e6, 0),
                    e.ratio.as_ref().map_or("-".into(), ratio_words),
                    e.verdict.words()
                );
            }
            w!("");
        }
    }
    if let Some(h) = &c.harness {
        w!(
            "## Harness cost per op ({} reads, queue depth {})",
            units::size(h.block_size as u64),
            h.queue_depth
        );
        w!("");
        w!(
            "ns per op = a trial's elapsed time over its read ops (inverse IOPS at this queue depth)."
        );
        w!("The null engine does no I/O: its ns/op is the generic loop, the op funnel (counting,");
        w!("latency histogram), header checks and the executor alone.");
        w!("");
        w!("| row | ns per op [interval] |");
        w!("|---|---|");
        if let Some(n) = &h.null_ns_per_op {
            w!("| null (harness only) | {} |", fig(n, 1.0, 0));
        }
        for (e, f) in &h.rows {
            w!(
                "| {}{} | {} |",
                e,
                if h.fastest.as_deref() == Some(e) {
                    " (fastest)"
                } else {
                    ""
                },
                fig(f, 1.0, 0)
            );
        }
        w!("");
    }
    if let Some(m) = &c.memory {
        w!("## Peak RSS (large --direct)");
        w!("");
        w!("Peak resident set of each trial's child (its own VmHWM, reported at the end of the");
        w!("trial), median [interval] over its trials; buffers = queue depth x block size;");
        w!(
            "overhead = RSS - buffers. kernel-copy holds no buffers of ours: its RSS is the binary's"
        );
        w!("own floor.");
        w!("");
        w!(
            "| engine | block x depth | buffers KiB | RSS KiB at {} | RSS KiB at {} | overhead KiB | grows with file? |",
            units::size(m.sizes[0]),
            units::size(m.sizes[m.sizes.len() - 1])
        );
        w!("|---|---|---|---|---|---|---|");
        let mut keys: Vec<(String, usize, usize)> = m
            .cells
            .iter()
            .map(|c| (c.engine.clone(), c.block_size, c.queue_depth))
            .collect();
        keys.dedup();
        for (e, bs, qd) in keys {
            let at = |s: u64| {
                m.cells.iter().find(|c| {
                    c.engine == e && c.block_size == bs && c.queue_depth == qd && c.size == s
                })
            };
            let (a, b) = (at(m.sizes[0]), at(m.sizes[m.sizes.len() - 1]));
            let check = m
                .checks
                .iter()
                .find(|k| k.engine == e && k.block_size == bs && k.queue_depth == qd);
            w!(
                "| {} | {}x{} | {} | {} | {} | {} | {} |",
                e,
                units::size(bs as u64),
                qd,
                a.or(b).map_or(0, |c| c.buffers_kib),
                a.map_or("-".into(), |c| fig(&c.rss_kib, 1.0, 0)),
                b.map_or("-".into(), |c| fig(&c.rss_kib, 1.0, 0)),
                b.or(a)
                    .map_or("-".into(), |c| format!("{:.0}", c.overhead_kib)),
                check.map_or("-".into(), |k| format!(
                    "{} ({:+.0} KiB, {:+.2} KiB per MiB of file)",
                    k.verdict, k.delta_kib, k.kib_per_file_mib
                ))
            );
        }
        w!("");
        if !m.buffer_slope.is_empty() {
            w!(
                "Extra RSS per extra buffer byte between the smallest and largest setting (1.0: only"
            );
            w!("the buffers scale; 2.0: every buffer is held twice):");
            w!("");
            for (e, k) in &m.buffer_slope {
                w!("- {e}: {k:.2}");
            }
            w!("");
        }
    }
    if !c.noisy.is_empty() {
        w!(
            "## Noisy figures (interval wider than +-{:.0}% of the median)",
            NOISY * 100.0
        );
        w!("");
        for n in &c.noisy {
            w!("- {}: {} (+-{:.0}%)", n.run, n.what, n.rel_ci * 100.0);
        }
        w!("");
    }
    s
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
