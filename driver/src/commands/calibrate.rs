//! `ringbench calibrate`: how close the harness and the engines come to the machine's limits,
//! measured in one run on one directory, with per-round ratios and their intervals.
//!
//! It runs `ringbench run` (`commands::runner::run`) several times, each a complete run folder under
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
//! one side of the target at the confidence a verdict needs (`analysis::stats::MIN_VERDICT_LEVEL`);
//! otherwise it is "within noise".

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use anyhow::Context;
use serde::Serialize;
use workloads::units;

use crate::analysis::calibration::{PhaseRun, analyse, machine_line};
use crate::plan::engines::is_io_uring;
use crate::plan::options::{self, RunOptions, RunRequest};
use crate::render::calibration::render;
use crate::results::calibration::{CALIBRATE_SCHEMA, Calibration, RunRef};

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
    analyse(&mut cal, &done, &o.memory_sizes);
    cal.finished = Some(crate::sys::sysinfo::utc_rfc3339());
    cal.interrupted |= crate::proc::spawn::INTERRUPTED.load(Ordering::SeqCst);
    if cal.interrupted {
        code = crate::proc::spawn::interrupted_exit_code();
        cal.interrupted_by = Some(crate::proc::spawn::interrupted_by_name());
    }
    crate::results::calibration::write(&o.out, &cal)?;
    crate::results::write_atomic(&o.out.join("calibrate.md"), render(&cal).as_bytes())?;
    Ok((cal, code))
}
