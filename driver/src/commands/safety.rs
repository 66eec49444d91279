//! `ringbench safety`: the safety matrix — every engine × every scenario, each cell in its own
//! child process with a deadline — and the hidden child side, `ringbench __safety ENGINE
//! SCENARIO`.
//!
//! # Contract for wiring (`cli/mod.rs`, `bin/ringbench.rs`)
//!
//! * Hidden child subcommand `ringbench __safety ENGINE SCENARIO` → `std::process::exit(
//!   safety::child_main(&engine, &scenario))`. It runs the scenario in-process and prints one
//!   JSON line ([`ChildReply`]) on stdout; exit 0 when that line was printed, 2 on an unknown
//!   engine or scenario. The binary must install the quarantining allocator, or the memory
//!   oracle is off (the cells then say so in their evidence; `bin/ringbench.rs` does):
//!   `#[global_allocator] static ALLOC: workloads::alloc::Quarantine = workloads::alloc::Quarantine::new();`
//! * `ringbench safety` → [`run_matrix`] with [`SafetyOptions`] (`exe` =
//!   `std::env::current_exe()`), then [`print_matrix`]. Defaults: engines
//!   [`default_engines`] (every registered engine that does real I/O, hidden ones included — so
//!   the `naive` control is always there; the null engines do no I/O and have nothing to
//!   observe), scenarios [`SCENARIOS`]; a cell normally takes well under a second, so a deadline of a few seconds is plenty. Names are validated by
//!   [`run_matrix`] (unknown engine or scenario → error naming it); [`known_scenario`] also
//!   accepts the hidden `selftest-*` scenarios used by tests.
//! * `safety.json` ([`SafetyReport`]) is (re)written into `out_dir` after every cell, so a
//!   crash of the parent loses nothing.
//!
//! Verdicts come from observation only: the child reports what its oracles saw, and the parent
//! adds what only it can see — a child killed at the deadline is a `hang`, one that died by a
//! signal a `crash`. Nothing here knows what an engine is expected to do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use workloads::safety::{Baseline, Counts, Observation, Params, Verdict};

use crate::plan::engines;

/// The scenario ids, in display order.
pub const SCENARIOS: &[&str] = workloads::safety::SCENARIOS;

/// Version of `safety.json`. 2: repeats with frequencies, baselines, validation by controls.
pub const SCHEMA: u32 = crate::results::schema::SAFETY.current;

/// Whether `id` is a scenario the child accepts (listed or hidden test support).
pub fn known_scenario(id: &str) -> bool {
    workloads::safety::known(id)
}

/// Whether `engine` is a positive control of some scenario (unsafe on purpose).
pub fn is_control(engine: &str) -> bool {
    workloads::safety::ALL
        .iter()
        .any(|s| s.controls.contains(&engine))
}

/// Whether `engine` runs `scenario`: every engine runs every scenario, except that a control
/// runs only the baseline and the scenarios it is the control of (elsewhere it proves nothing,
/// and the matrix stays quick).
pub fn runs(engine: &str, scenario: &str) -> bool {
    if !is_control(engine) {
        return true;
    }
    match workloads::safety::scenario(scenario) {
        Some(s) => s.id == workloads::safety::BASELINE || s.controls.contains(&engine),
        None => true, // hidden self-test scenarios
    }
}

/// The engines `ringbench safety` runs by default: every registered engine that does real I/O,
/// on its runtime's current release (other releases: [`all_version_engines`]).
pub fn default_engines() -> Vec<String> {
    all_version_engines()
        .into_iter()
        .filter(|n| !engines::other_release(n))
        .collect()
}

/// `ringbench safety -e all-versions`: the default engines and every other release of a
/// runtime (`compio@0.16`, ...).
pub fn all_version_engines() -> Vec<String> {
    engines::ALL
        .iter()
        .filter(|n| engines::info(n).is_some_and(|i| i.caps.does_io))
        .map(|n| n.to_string())
        .collect()
}

/// What `run_matrix` runs.
#[derive(Clone, Debug)]
pub struct SafetyOptions {
    /// Engine names.
    pub engines: Vec<String>,
    /// Scenario ids.
    pub scenarios: Vec<String>,
    /// Where `safety.json` goes (created if missing).
    pub out_dir: PathBuf,
    /// Per-run deadline; a child still running then is killed and recorded as `hang`.
    pub deadline: Duration,
    /// The `ringbench` binary to re-execute (`std::env::current_exe()`).
    pub exe: PathBuf,
    /// Runs of every cell.
    pub repeats: u32,
    /// Children at once.
    pub jobs: usize,
    /// The directory the children make their files in (a FIFO, regular files): one this
    /// command created.
    pub scratch: PathBuf,
}

/// The one JSON line a `__safety` child prints (in a `proc::reply::Envelope`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ChildReply {
    /// The scenario ran; what it saw.
    Observed(Box<Observation>),
    /// The scenario could not be set up here (engine unavailable, setup failed).
    Skipped {
        /// Why.
        reason: String,
    },
    /// The scenario panicked (a runtime panicking on drop, for instance).
    Panicked {
        /// The panic message.
        message: String,
    },
}

impl crate::proc::reply::Reply for ChildReply {
    const KIND: &'static str = "safety";
    const VERSION: u32 = 1;
}

/// One run of a cell, in short.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunSummary {
    /// The run's jitter seed.
    pub seed: u64,
    /// Its headline verdict.
    pub verdict: Verdict,
    /// Every finding, worst first.
    pub findings: Vec<Verdict>,
    /// Whether an op was proven in flight.
    pub in_flight: Option<bool>,
    /// Race scenarios: ops seen completed in the kernel before their drop.
    pub raced: Option<u64>,
    /// How the child ended.
    pub exit: String,
    /// Wall time, ms.
    pub wall_ms: f64,
}

/// One cell of the matrix: every run of one engine × scenario, and the headline.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cell {
    /// Engine name.
    pub engine: String,
    /// Scenario id.
    pub scenario: String,
    /// The headline verdict: the worst seen in any run.
    pub verdict: Verdict,
    /// Every finding of the run shown (the worst), worst first.
    pub findings: Vec<Verdict>,
    /// Whether an op was proven in flight when dropped (in the run shown).
    pub in_flight: Option<bool>,
    /// Whether the memory oracle was active in the child.
    pub memory_oracle: Option<bool>,
    /// The counts of the run shown.
    pub counts: Option<Counts>,
    /// What was seen in the run shown, in words.
    pub evidence: Vec<String>,
    /// Wall time of the run shown, ms.
    pub wall_ms: f64,
    /// How the child of the run shown ended (`exit 0`, `signal SIGSEGV`, `killed at deadline`).
    pub exit: String,
    /// The last lines of that child's stderr.
    pub stderr_tail: String,
    /// Runs made.
    #[serde(default)]
    pub repeats: u32,
    /// Runs whose verdict had the headline's kind.
    #[serde(default)]
    pub headline_runs: u32,
    /// Runs with any finding.
    #[serde(default)]
    pub flagged_runs: u32,
    /// Every run, in order.
    #[serde(default)]
    pub runs: Vec<RunSummary>,
    /// The baseline cell only: what the run measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
}

impl Cell {
    /// "k/n" runs with the headline's kind (empty for a single run).
    pub fn frequency(&self) -> String {
        if self.repeats <= 1 {
            String::new()
        } else {
            format!("{}/{}", self.headline_runs, self.repeats)
        }
    }
}

/// Whether a scenario's oracles were seen to fire on this machine: one of its controls flagged.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Validation {
    /// Scenario id.
    pub scenario: String,
    /// Its control engines.
    pub controls: Vec<String>,
    /// Each control that ran, with "k/n" runs flagged.
    pub flagged: Vec<(String, String)>,
    /// A control was flagged in at least one run.
    pub validated: bool,
    /// Why not, in words (no control run, control skipped, control not flagged).
    #[serde(default)]
    pub why_not: Option<String>,
}

/// `safety.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SafetyReport {
    /// [`SCHEMA`].
    pub schema: u32,
    /// Per-run deadline, ms.
    pub deadline_ms: u64,
    /// Runs of each cell.
    #[serde(default)]
    pub repeats: u32,
    /// Engines, in row order.
    pub engines: Vec<String>,
    /// Scenarios, in column order.
    pub scenarios: Vec<String>,
    /// One per engine × scenario that ran, row-major.
    pub cells: Vec<Cell>,
    /// Each engine's baseline (descriptors leaked without any cancellation), subtracted from
    /// its other cells.
    #[serde(default)]
    pub baselines: BTreeMap<String, Baseline>,
    /// Per scenario: was its control flagged here.
    #[serde(default)]
    pub validation: Vec<Validation>,
    /// Set when the command was interrupted: what ran is kept, the rest is missing.
    #[serde(default)]
    pub interrupted: Option<String>,
}

impl SafetyReport {
    /// The cell of `engine` × `scenario`.
    pub fn cell(&self, engine: &str, scenario: &str) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.engine == engine && c.scenario == scenario)
    }

    /// The engines whose baseline leaks descriptors without any cancellation, one line each
    /// ("glommio: 1 per runtime dropped, ...").
    pub fn leaky_baselines(&self) -> Vec<String> {
        self.baselines
            .iter()
            .filter(|(_, b)| b.runtime > 0 || b.file_closed > 0 || b.file_dropped > 0)
            .map(|(e, b)| {
                format!(
                    "{e}: {} per runtime dropped, {} per file closed, {} per file dropped unclosed",
                    b.runtime, b.file_closed, b.file_dropped
                )
            })
            .collect()
    }

    /// Whether `scenario`'s oracles were validated by a flagged control (`None`: no
    /// validation recorded, e.g. a hidden self-test scenario or an old file).
    pub fn validated(&self, scenario: &str) -> Option<bool> {
        self.validation
            .iter()
            .find(|v| v.scenario == scenario)
            .map(|v| v.validated)
    }

    /// The label a reader sees for a cell: the headline with its frequency; a clean cell of an
    /// unvalidated scenario is "unvalidated", never "safe".
    pub fn label(&self, c: &Cell) -> String {
        if !c.verdict.flagged()
            && !matches!(c.verdict, Verdict::Skipped { .. })
            && self.validated(&c.scenario) == Some(false)
        {
            return "unvalidated".into();
        }
        let mut l = c.verdict.label();
        let f = c.frequency();
        if c.verdict.flagged() && !f.is_empty() {
            l.push_str(&format!(" {f}"));
        }
        // The baseline drops nothing on purpose: "not in flight" would say nothing there.
        if c.in_flight == Some(false)
            && !matches!(c.verdict, Verdict::Skipped { .. })
            && c.scenario != workloads::safety::BASELINE
        {
            l.push_str(" (nif)");
        }
        l
    }
}

/// The hidden child: run one scenario in this process and print its [`ChildReply`].
pub fn child_main(engine: &str, scenario: &str, params: &Params) -> i32 {
    if !known_scenario(scenario) {
        eprintln!("ringbench __safety: unknown scenario `{scenario}`");
        return 2;
    }
    let r = std::panic::catch_unwind(|| engines::run_scenario(engine, scenario, params));
    let reply = match r {
        Ok(None) => {
            eprintln!("ringbench __safety: unknown engine `{engine}`");
            return 2;
        }
        Ok(Some(Ok(obs))) => ChildReply::Observed(Box::new(obs)),
        Ok(Some(Err(reason))) => ChildReply::Skipped { reason },
        Err(p) => ChildReply::Panicked {
            message: p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic".into()),
        },
    };
    match crate::proc::reply::encode(&reply) {
        Ok(line) => {
            println!("{line}");
            0
        }
        Err(e) => {
            eprintln!("ringbench __safety: cannot encode the reply: {e}");
            2
        }
    }
}

/// One child to run.
#[derive(Clone, Debug)]
struct Job {
    engine: String,
    scenario: String,
    seed: u64,
}

/// Run `jobs` with `opts.jobs` children at once; each result is handed to `done` on this
/// thread as it comes (in completion order).
fn run_jobs(
    opts: &SafetyOptions,
    jobs: &[Job],
    baseline: Option<&Baseline>,
    mut done: impl FnMut(&Job, Cell) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, std::io::Result<Cell>)>();
    std::thread::scope(|s| -> anyhow::Result<()> {
        for _ in 0..opts.jobs.max(1).min(jobs.len().max(1)) {
            let tx = tx.clone();
            let next = &next;
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(j) = jobs.get(i) else { return };
                    if crate::proc::spawn::interrupted() {
                        return;
                    }
                    let params = Params {
                        seed: j.seed,
                        baseline: baseline.cloned(),
                        dir: Some(opts.scratch.clone()),
                    };
                    let mut cmd = Command::new(&opts.exe);
                    cmd.args(["__safety", &j.engine, &j.scenario, "--params"])
                        .arg(serde_json::to_string(&params).unwrap_or_default());
                    let r = run_child(cmd, opts.deadline)
                        .map(|end| cell_from(&j.engine, &j.scenario, &end, opts.deadline));
                    if tx.send((i, r)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            let j = &jobs[i];
            let cell = r.with_context(|| {
                format!(
                    "starting {} for {} {}",
                    opts.exe.display(),
                    j.engine,
                    j.scenario
                )
            })?;
            if cell.exit.contains("interrupted") {
                continue; // not a result: the cell keeps the runs it had
            }
            done(j, cell)?;
        }
        Ok(())
    })
}

/// Fold the runs of one cell (in seed order) into the cell a reader sees.
pub fn aggregate(mut runs: Vec<(u64, Cell)>) -> Cell {
    runs.sort_by_key(|(s, _)| *s);
    let summaries: Vec<RunSummary> = runs
        .iter()
        .map(|(seed, c)| RunSummary {
            seed: *seed,
            verdict: c.verdict.clone(),
            findings: c.findings.clone(),
            in_flight: c.in_flight,
            raced: c
                .counts
                .as_ref()
                .map(|n| n.completed_in_kernel_before_drop)
                .filter(|_| {
                    workloads::safety::scenario(&c.scenario)
                        .is_some_and(|s| s.path == workloads::safety::Path::Race)
                }),
            exit: c.exit.clone(),
            wall_ms: c.wall_ms,
        })
        .collect();
    let n = runs.len() as u32;
    // The run shown: the worst headline (the first such run), else the first run.
    let worst = runs
        .iter()
        .enumerate()
        .max_by_key(|(i, (_, c))| (c.verdict.severity(), std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
        .unwrap_or(0);
    let kind = |v: &Verdict| std::mem::discriminant(v);
    let mut shown = runs.swap_remove(worst).1;
    let headline = kind(&shown.verdict);
    let headline_runs = summaries
        .iter()
        .filter(|r| kind(&r.verdict) == headline || r.findings.iter().any(|f| kind(f) == headline))
        .count() as u32;
    let flagged_runs = summaries.iter().filter(|r| r.verdict.flagged()).count() as u32;
    // "Not in flight" only when no run had an op in flight.
    if summaries.iter().any(|r| r.in_flight == Some(true)) {
        shown.in_flight = Some(true);
    }
    shown.repeats = n;
    shown.headline_runs = headline_runs;
    shown.flagged_runs = flagged_runs;
    shown.runs = summaries;
    if n > 1 {
        let raced: Vec<u64> = shown.runs.iter().filter_map(|r| r.raced).collect();
        let mut line = format!(
            "{n} runs with jittered timings: {flagged_runs} with a finding{}",
            if shown.verdict.flagged() {
                format!(
                    ", {headline_runs} with the headline ({})",
                    shown.verdict.label()
                )
            } else {
                String::new()
            }
        );
        if !raced.is_empty() {
            line.push_str(&format!(
                "; ops seen completed in the kernel before their drop, per run: {raced:?}"
            ));
        }
        shown.evidence.insert(0, line);
    }
    shown
}

/// Run every engine × scenario cell, `repeats` times each in its own child, writing
/// `safety.json` after every cell.
pub fn run_matrix(opts: &SafetyOptions) -> anyhow::Result<SafetyReport> {
    for e in &opts.engines {
        if engines::info(e).is_none() {
            bail!("unknown engine `{e}` (known: {})", engines::ALL.join(", "));
        }
    }
    for s in &opts.scenarios {
        if !known_scenario(s) {
            bail!(
                "unknown safety scenario `{s}` (known: {})",
                SCENARIOS.join(", ")
            );
        }
    }
    std::fs::create_dir_all(&opts.out_dir)
        .with_context(|| format!("creating {}", opts.out_dir.display()))?;
    let mut report = SafetyReport {
        schema: SCHEMA,
        deadline_ms: opts.deadline.as_millis() as u64,
        repeats: opts.repeats,
        engines: opts.engines.clone(),
        scenarios: opts.scenarios.clone(),
        cells: Vec::new(),
        baselines: BTreeMap::new(),
        validation: Vec::new(),
        interrupted: None,
    };
    let seeds: Vec<u64> = (1..=opts.repeats.max(1) as u64).collect();
    let base_id = workloads::safety::BASELINE;
    for engine in &opts.engines {
        if crate::proc::spawn::interrupted() {
            break;
        }
        let probe = engines::probe(engine).expect("validated above");
        let wanted: Vec<&String> = opts.scenarios.iter().filter(|s| runs(engine, s)).collect();
        if let Err(reason) = &probe {
            for s in wanted {
                report
                    .cells
                    .push(skipped(engine, s, format!("engine unavailable: {reason}")));
            }
            write_report(&opts.out_dir, &report)?;
            continue;
        }
        // The baseline first (whether or not its column was asked for): every other cell of
        // the engine subtracts it. The worst run counts (a leak that happens without
        // cancellation even once is the engine's, not the drop's).
        let base_jobs: Vec<Job> = seeds
            .iter()
            .map(|&seed| Job {
                engine: engine.clone(),
                scenario: base_id.into(),
                seed,
            })
            .collect();
        let mut base_runs = Vec::new();
        run_jobs(opts, &base_jobs, None, |j, c| {
            base_runs.push((j.seed, c));
            Ok(())
        })?;
        let mut baseline = Baseline::default();
        for (_, c) in &base_runs {
            if let Some(b) = baseline_of(c) {
                baseline.runtime = baseline.runtime.max(b.runtime);
                baseline.file_closed = baseline.file_closed.max(b.file_closed);
                baseline.file_dropped = baseline.file_dropped.max(b.file_dropped);
            }
        }
        report.baselines.insert(engine.clone(), baseline.clone());
        if wanted.iter().any(|s| s.as_str() == base_id) && !base_runs.is_empty() {
            report.cells.push(aggregate(base_runs));
            write_report(&opts.out_dir, &report)?;
        }
        let jobs: Vec<Job> = wanted
            .iter()
            .filter(|s| s.as_str() != base_id)
            .flat_map(|s| {
                seeds.iter().map(|&seed| Job {
                    engine: engine.clone(),
                    scenario: s.to_string(),
                    seed,
                })
            })
            .collect();
        let mut pending: BTreeMap<String, Vec<(u64, Cell)>> = BTreeMap::new();
        let per_cell = seeds.len();
        let mut finished: Vec<Cell> = Vec::new();
        run_jobs(opts, &jobs, Some(&baseline), |j, c| {
            let v = pending.entry(j.scenario.clone()).or_default();
            v.push((j.seed, c));
            if v.len() == per_cell {
                let runs = pending.remove(&j.scenario).unwrap_or_default();
                finished.push(aggregate(runs));
                // Keep the scenario order of the command line within the engine's row.
                let mut all = finished.clone();
                all.sort_by_key(|c| opts.scenarios.iter().position(|s| *s == c.scenario));
                let mut r = report.clone();
                r.cells.extend(all);
                write_report(&opts.out_dir, &r)?;
            }
            Ok(())
        })?;
        // Cells cut short by an interrupt keep the runs they had.
        for (_, runs) in std::mem::take(&mut pending) {
            finished.push(aggregate(runs));
        }
        finished.sort_by_key(|c| opts.scenarios.iter().position(|s| *s == c.scenario));
        report.cells.extend(finished);
        write_report(&opts.out_dir, &report)?;
    }
    report.validation = validate(&report);
    if crate::proc::spawn::interrupted() {
        report.interrupted = Some(format!(
            "interrupted after {} of {} cells",
            report.cells.len(),
            opts.engines
                .iter()
                .map(|e| opts.scenarios.iter().filter(|s| runs(e, s)).count())
                .sum::<usize>()
        ));
    }
    write_report(&opts.out_dir, &report)?;
    Ok(report)
}

/// The baseline a baseline run measured (none when the run died or was skipped).
fn baseline_of(c: &Cell) -> Option<Baseline> {
    c.baseline.clone()
}

/// Per scenario: which controls ran, how often each was flagged, and whether that validates
/// the scenario's oracles here.
pub fn validate(report: &SafetyReport) -> Vec<Validation> {
    let mut out = Vec::new();
    for id in &report.scenarios {
        let Some(sc) = workloads::safety::scenario(id) else {
            continue;
        };
        let mut flagged = Vec::new();
        let mut validated = false;
        let mut why = Vec::new();
        for ctl in sc.controls {
            match report.cell(ctl, id) {
                None => why.push(format!("control {ctl} not run")),
                Some(c) if matches!(c.verdict, Verdict::Skipped { .. }) => {
                    why.push(format!("control {ctl} skipped"))
                }
                Some(c) => {
                    flagged.push((ctl.to_string(), format!("{}/{}", c.flagged_runs, c.repeats)));
                    if c.flagged_runs > 0 {
                        validated = true;
                    } else {
                        why.push(format!("control {ctl} not flagged in {} runs", c.repeats));
                    }
                }
            }
        }
        out.push(Validation {
            scenario: id.clone(),
            controls: sc.controls.iter().map(|c| c.to_string()).collect(),
            flagged,
            validated,
            why_not: (!validated).then(|| why.join("; ")),
        });
    }
    out
}

fn write_report(dir: &Path, report: &SafetyReport) -> anyhow::Result<()> {
    let path = dir.join("safety.json");
    let tmp = dir.join(".safety.json.tmp");
    let mut bytes = serde_json::to_vec_pretty(report)?;
    bytes.push(b'\n');
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))
}

fn skipped(engine: &str, scenario: &str, reason: String) -> Cell {
    Cell {
        engine: engine.into(),
        scenario: scenario.into(),
        verdict: Verdict::Skipped { reason },
        findings: Vec::new(),
        in_flight: None,
        memory_oracle: None,
        counts: None,
        evidence: Vec::new(),
        wall_ms: 0.0,
        exit: "not started".into(),
        stderr_tail: String::new(),
        repeats: 0,
        headline_runs: 0,
        flagged_runs: 0,
        runs: Vec::new(),
        baseline: None,
    }
}

/// Run a `__safety` child under the driver's one supervisor ([`spawn::supervise`]): its own
/// process group (the deadline kills anything it started too, which would otherwise hold the
/// output pipes open), stdin at /dev/null, output capped.
fn run_child(cmd: Command, deadline: Duration) -> std::io::Result<Finished> {
    spawn::supervise(cmd, None, deadline)
}

use crate::proc::spawn::{self, Exit, Finished, signal_name};

fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// Turn how a child ended, and what it printed, into a cell.
fn cell_from(engine: &str, scenario: &str, c: &Finished, deadline: Duration) -> Cell {
    let stdout = String::from_utf8_lossy(&c.stdout);
    let stderr = String::from_utf8_lossy(&c.stderr);
    let mut cell = skipped(engine, scenario, String::new());
    cell.wall_ms = c.wall.as_secs_f64() * 1e3;
    cell.stderr_tail = tail(&stderr, 12);
    // A reply of another version skips the cell with both versions named: its fields are
    // not read as this version's.
    let reply = crate::proc::reply::decode::<ChildReply>(&stdout)
        .unwrap_or_else(|reason| Some(ChildReply::Skipped { reason }));
    cell.exit = match c.exit {
        Exit::Code(n) => format!("exit {n}"),
        Exit::Signal(s) => format!("signal {}", signal_name(s)),
        Exit::Timeout => format!("killed at the {} ms deadline", deadline.as_millis()),
        Exit::Interrupted => "killed: the command was interrupted".into(),
    };
    cell.verdict = match (&c.exit, reply) {
        (Exit::Timeout, _) => {
            cell.evidence.push(format!(
                "still running after {} ms (the data it waited for had been supplied long before): killed; last phase on stderr: {}",
                deadline.as_millis(),
                stderr
                    .lines()
                    .rev()
                    .find_map(|l| l.strip_prefix("safety phase: "))
                    .unwrap_or("none")
            ));
            Verdict::Hang {
                after_ms: deadline.as_millis() as u64,
                during: stderr
                    .lines()
                    .rev()
                    .find_map(|l| l.strip_prefix("safety phase: "))
                    .map(String::from),
                released_by_data: Some(false),
            }
        }
        (Exit::Interrupted, _) => Verdict::Skipped {
            reason: "interrupted".into(),
        },
        (Exit::Signal(s), _) => {
            cell.evidence
                .push(format!("the child died by {}", signal_name(*s)));
            Verdict::Crash {
                signal: Some(signal_name(*s)),
                detail: tail(&stderr, 3),
            }
        }
        (Exit::Code(0), Some(ChildReply::Observed(o))) => {
            cell.in_flight = Some(o.in_flight);
            cell.memory_oracle = Some(o.memory_oracle);
            cell.counts = Some(o.counts.clone());
            cell.evidence = o.evidence.clone();
            if o.scenario == workloads::safety::BASELINE {
                cell.baseline = o.baseline.clone();
            }
            cell.findings = o.findings.clone();
            o.verdict.clone()
        }
        (Exit::Code(0), Some(ChildReply::Skipped { reason })) => Verdict::Skipped { reason },
        (Exit::Code(0), Some(ChildReply::Panicked { message })) => {
            cell.evidence
                .push(format!("the scenario panicked: {message}"));
            Verdict::Crash {
                signal: None,
                detail: format!("panic: {message}"),
            }
        }
        (Exit::Code(n), _) => {
            cell.evidence
                .push(format!("the child exited with {n} without a valid reply"));
            Verdict::Crash {
                signal: None,
                detail: format!("exit {n}: {}", tail(&stderr, 3)),
            }
        }
    };
    if !cell.findings.contains(&cell.verdict) && cell.verdict.flagged() {
        cell.findings.insert(0, cell.verdict.clone());
    }
    cell
}

/// Print the matrix: engines down, scenarios across, the headline verdict in each cell.
pub fn print_matrix(report: &SafetyReport) {
    print!("{}", render_matrix(report));
}

/// The matrix as text (what [`print_matrix`] prints).
pub fn render_matrix(report: &SafetyReport) -> String {
    let label = |c: Option<&Cell>| -> String {
        match c {
            None => "-".into(),
            Some(c) => report.label(c),
        }
    };
    let mut rows: Vec<Vec<String>> = vec![
        std::iter::once("engine".to_string())
            .chain(report.scenarios.iter().cloned())
            .collect(),
    ];
    for e in &report.engines {
        let mut r = vec![e.clone()];
        r.extend(report.scenarios.iter().map(|s| label(report.cell(e, s))));
        rows.push(r);
    }
    // Transposed (scenarios down, engines across) when that is narrower: 14 scenarios by 12
    // engines does not fit a terminal either way, but the narrower way wraps less.
    let cols = rows[0].len();
    let width: Vec<usize> = (0..cols)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (k, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{s:<w$}", w = width[i]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if k == 0 {
            out.push_str(
                &width
                    .iter()
                    .map(|w| "-".repeat(*w))
                    .collect::<Vec<_>>()
                    .join("  "),
            );
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "\nEach cell ran {} time(s) with jittered timings; k/n = runs with the headline finding (k < n: intermittent).\n\
         (nif) = not in flight: every op completed before it could be dropped (a blocking engine completes ops inside poll), so nothing was cancelled.\n\
         UAF kernel-wrote = freed memory changed after free; UAF kernel-read = freed (poisoned) memory reached the output.\n\
         hang until data = a drop, close or shutdown that only returned once the data it had nothing to do with arrived; hang = never returned (killed at the deadline).\n\
         unvalidated = no finding, but none of the scenario's controls was flagged here, so the scenario cannot say \"safe\".\n",
        report.repeats.max(1)
    ));
    let leaky: Vec<String> = report
        .leaky_baselines()
        .iter()
        .map(|l| format!("  {l}"))
        .collect();
    if !leaky.is_empty() {
        out.push_str("baseline descriptor leaks without any cancellation (subtracted from every other cell of the engine):\n");
        out.push_str(&leaky.join("\n"));
        out.push('\n');
    }
    let unvalidated: Vec<String> = report
        .validation
        .iter()
        .filter(|v| !v.validated)
        .map(|v| {
            format!(
                "  {}: {}",
                v.scenario,
                v.why_not.as_deref().unwrap_or("no control flagged")
            )
        })
        .collect();
    if !unvalidated.is_empty() {
        out.push_str("unvalidated scenarios (their oracles were not seen to fire here):\n");
        out.push_str(&unvalidated.join("\n"));
        out.push('\n');
    }
    let skips: Vec<String> = report
        .cells
        .iter()
        .filter_map(|c| match &c.verdict {
            Verdict::Skipped { reason } => Some(format!("  {} {}: {reason}", c.engine, c.scenario)),
            _ => None,
        })
        .collect();
    if !skips.is_empty() {
        out.push_str("skipped:\n");
        out.push_str(&skips.join("\n"));
        out.push('\n');
    }
    let versions = render_versions(report, "  ");
    if !versions.is_empty() {
        out.push_str(
            "versions (releases of one runtime compared on the kinds of finding each saw):\n",
        );
        out.push_str(&versions);
    }
    if let Some(i) = &report.interrupted {
        out.push_str(&format!("INTERRUPTED: {i}; safety.json keeps what ran\n"));
    }
    out
}

/// One scenario on every release of one runtime that ran it: do they agree?
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionRow {
    /// The runtime (`compio`).
    pub runtime: String,
    /// Scenario id.
    pub scenario: String,
    /// Each release's engine with its cell label (`compio@0.16`, `data-loss 5/5`), in row
    /// order.
    pub cells: Vec<(String, String)>,
    /// `Some(true)`: every release saw the same kinds of finding (or none); `Some(false)`:
    /// they differ; `None`: not comparable (a release's cell is missing or skipped).
    pub agree: Option<bool>,
}

/// The kinds of finding a cell saw in any run, sorted (empty: clean). What two releases are
/// compared on: the kinds, not how often (frequencies of an intermittent race differ by
/// chance), nor the byte counts.
pub fn finding_kinds(c: &Cell) -> Vec<&'static str> {
    let mut k: Vec<&'static str> = c
        .runs
        .iter()
        .flat_map(|r| r.findings.iter().chain(std::iter::once(&r.verdict)))
        .chain(c.findings.iter())
        .chain(std::iter::once(&c.verdict))
        .filter(|v| v.flagged())
        .map(kind_name)
        .collect();
    k.sort_unstable();
    k.dedup();
    k
}

/// For every runtime with more than one release in the matrix (`compio@0.16` and `compio`),
/// whether the releases agree on each scenario. Empty when no runtime ran in two releases.
pub fn version_rows(report: &SafetyReport) -> Vec<VersionRow> {
    let mut families: Vec<&str> = Vec::new();
    for e in &report.engines {
        let f = engines::runtime_family(e);
        if !families.contains(&f) {
            families.push(f);
        }
    }
    let mut rows = Vec::new();
    for f in families {
        let members: Vec<&String> = report
            .engines
            .iter()
            .filter(|e| engines::runtime_family(e) == f)
            .collect();
        if members.len() < 2 {
            continue;
        }
        for sc in &report.scenarios {
            let cells: Vec<Option<&Cell>> = members.iter().map(|e| report.cell(e, sc)).collect();
            let comparable = cells
                .iter()
                .all(|c| c.is_some_and(|c| !matches!(c.verdict, Verdict::Skipped { .. })));
            let agree = comparable.then(|| {
                let kinds: Vec<Vec<&str>> =
                    cells.iter().flatten().map(|c| finding_kinds(c)).collect();
                kinds.windows(2).all(|w| w[0] == w[1])
            });
            rows.push(VersionRow {
                runtime: f.to_string(),
                scenario: sc.clone(),
                cells: members
                    .iter()
                    .zip(&cells)
                    .map(|(e, c)| (e.to_string(), c.map_or("-".into(), |c| report.label(c))))
                    .collect(),
                agree,
            });
        }
    }
    rows
}

/// The versions paragraph, one line per scenario (`prefix` starts each line: "  " in the
/// terminal, "- " in markdown). Empty when no runtime ran in two releases.
pub fn render_versions(report: &SafetyReport, prefix: &str) -> String {
    let rows = version_rows(report);
    let mut out = String::new();
    for r in &rows {
        let word = match r.agree {
            Some(true) => "agree",
            Some(false) => "DIFFER",
            None => "not compared",
        };
        let cells: Vec<String> = r.cells.iter().map(|(e, l)| format!("{e}: {l}")).collect();
        out.push_str(&format!(
            "{prefix}{} {}: {word} ({})\n",
            r.runtime,
            r.scenario,
            cells.join("; ")
        ));
    }
    out
}

/// The verdict kinds `--fail-on` accepts.
pub const FAIL_KINDS: &[&str] = &[
    "leak",
    "data-loss",
    "ghost-write",
    "use-after-free",
    "crash",
    "hang",
    "any",
];

/// The kind name of a verdict, as `--fail-on` and the report spell it.
pub fn kind_name(v: &Verdict) -> &'static str {
    match v {
        Verdict::Safe => "safe",
        Verdict::Leak { .. } => "leak",
        Verdict::DataLoss { .. } => "data-loss",
        Verdict::GhostWrite { .. } => "ghost-write",
        Verdict::UseAfterFree { .. } => "use-after-free",
        Verdict::Crash { .. } => "crash",
        Verdict::Hang { .. } => "hang",
        Verdict::Skipped { .. } => "skipped",
    }
}

/// The cells of ranked engines (not controls, not test support) with a finding of one of
/// `kinds` in any run: what `--fail-on` fails on.
pub fn failing<'a>(report: &'a SafetyReport, kinds: &[String]) -> Vec<(&'a Cell, &'static str)> {
    let mut out = Vec::new();
    for c in &report.cells {
        if is_control(&c.engine) || !engines::visible(&c.engine) {
            continue;
        }
        let found = c
            .runs
            .iter()
            .flat_map(|r| r.findings.iter().chain(std::iter::once(&r.verdict)))
            .chain(c.findings.iter())
            .chain(std::iter::once(&c.verdict))
            .filter(|v| v.flagged())
            .map(kind_name)
            .find(|k| kinds.iter().any(|w| w == "any" || w == k));
        if let Some(k) = found {
            out.push((c, k));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn cell_with(engine: &str, scenario: &str, verdict: Verdict) -> Cell {
        let mut c = skipped(engine, scenario, String::new());
        c.verdict = verdict;
        c.repeats = 1;
        c.headline_runs = 1;
        c
    }

    #[test]
    fn default_selections_keep_one_release_per_runtime() {
        let d = default_engines();
        assert!(d.iter().any(|e| e == "compio"));
        assert!(!d.iter().any(|e| e.contains('@')), "{d:?}");
        let all = all_version_engines();
        assert!(all.iter().any(|e| e == "compio@0.16"), "{all:?}");
        assert!(all.iter().any(|e| e == "compio"));
        assert_eq!(engines::runtime_family("compio@0.16"), "compio");
    }

    #[test]
    fn releases_of_one_runtime_are_compared_per_scenario() {
        let leak = Verdict::Leak {
            what: "fd".into(),
            count: 2,
        };
        let report = SafetyReport {
            schema: SCHEMA,
            deadline_ms: 1000,
            repeats: 1,
            engines: vec!["compio@0.16".into(), "compio".into(), "std".into()],
            scenarios: vec![
                "read-drop".into(),
                "runtime-drop".into(),
                "open-race".into(),
            ],
            cells: vec![
                cell_with("compio@0.16", "read-drop", Verdict::Safe),
                cell_with("compio", "read-drop", Verdict::Safe),
                cell_with("compio@0.16", "runtime-drop", leak.clone()),
                cell_with("compio", "runtime-drop", Verdict::Safe),
                cell_with("compio@0.16", "open-race", leak),
                skipped("compio", "open-race", "not here".into()),
                cell_with("std", "read-drop", Verdict::Safe),
            ],
            baselines: BTreeMap::new(),
            validation: Vec::new(),
            interrupted: None,
        };
        let rows = version_rows(&report);
        // std has one release: no rows of its own.
        assert!(rows.iter().all(|r| r.runtime == "compio"), "{rows:?}");
        let agree: Vec<Option<bool>> = rows.iter().map(|r| r.agree).collect();
        assert_eq!(agree, [Some(true), Some(false), None]);
        let text = render_matrix(&report);
        assert!(text.contains("versions ("), "{text}");
        assert!(
            text.contains("compio runtime-drop: DIFFER (compio@0.16: leak 2 fd; compio: safe)"),
            "{text}"
        );
        assert!(text.contains("compio open-race: not compared"), "{text}");
        // One release only: no paragraph.
        let mut one = report.clone();
        one.engines.retain(|e| e != "compio@0.16");
        assert!(version_rows(&one).is_empty());
        assert!(!render_matrix(&one).contains("versions ("));
    }

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn a_hung_child_is_a_hang() {
        let d = Duration::from_millis(300);
        let t = Instant::now();
        let end = run_child(sh("sleep 30"), d).unwrap();
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the deadline did not kill the child"
        );
        let cell = cell_from("std", "read-drop", &end, d);
        assert!(
            matches!(
                cell.verdict,
                Verdict::Hang {
                    after_ms: 300,
                    released_by_data: Some(false),
                    ..
                }
            ),
            "{:?}",
            cell.verdict
        );
    }

    #[test]
    fn a_crashing_child_is_a_crash_with_its_signal() {
        let d = Duration::from_secs(10);
        let end = run_child(sh("echo dying >&2; kill -SEGV $$"), d).unwrap();
        let cell = cell_from("std", "read-drop", &end, d);
        assert!(
            matches!(&cell.verdict, Verdict::Crash { signal: Some(s), .. } if s == "SIGSEGV"),
            "{:?}",
            cell.verdict
        );
        assert!(cell.stderr_tail.contains("dying"));
    }

    #[test]
    fn a_child_without_a_reply_is_not_safe() {
        let d = Duration::from_secs(10);
        let end = run_child(sh("echo not json; exit 0"), d).unwrap();
        let cell = cell_from("std", "read-drop", &end, d);
        assert!(
            matches!(cell.verdict, Verdict::Crash { signal: None, .. }),
            "{:?}",
            cell.verdict
        );
    }

    #[test]
    fn a_reply_is_read_back() {
        let reply = ChildReply::Skipped {
            reason: "no ring".into(),
        };
        let line = crate::proc::reply::encode(&reply).unwrap();
        let d = Duration::from_secs(10);
        let end = run_child(sh(&format!("echo 'noise'; echo '{line}'")), d).unwrap();
        let cell = cell_from("std", "read-drop", &end, d);
        assert_eq!(
            cell.verdict,
            Verdict::Skipped {
                reason: "no ring".into()
            }
        );
    }

    #[test]
    fn a_reply_of_another_version_skips_the_cell_naming_both() {
        let line = r#"{"reply":"safety","v":99,"body":{"status":"skipped","reason":"no ring"}}"#;
        let d = Duration::from_secs(10);
        let end = run_child(sh(&format!("echo '{line}'")), d).unwrap();
        let cell = cell_from("std", "read-drop", &end, d);
        let Verdict::Skipped { reason } = &cell.verdict else {
            panic!("{:?}", cell.verdict);
        };
        assert!(
            reason.contains("version 99") && reason.contains("reads version 1"),
            "{reason}"
        );
    }

    #[test]
    fn defaults_include_hidden_engines_that_do_io_only() {
        let d = default_engines();
        assert!(d.iter().all(|e| engines::info(e).unwrap().caps.does_io));
        let hidden_io: Vec<_> = engines::ALL
            .iter()
            .filter(|e| !engines::visible(e) && engines::info(e).unwrap().caps.does_io)
            .collect();
        assert!(hidden_io.iter().all(|e| d.contains(&e.to_string())));
    }

    #[test]
    fn matrix_renders_every_cell() {
        let mut r = SafetyReport {
            schema: SCHEMA,
            deadline_ms: 1,
            repeats: 1,
            engines: vec!["a".into(), "b".into()],
            scenarios: vec!["read-drop".into()],
            cells: vec![],
            baselines: BTreeMap::new(),
            validation: vec![],
            interrupted: None,
        };
        r.cells.push(skipped("a", "read-drop", "why".into()));
        let mut c = skipped("b", "read-drop", String::new());
        c.verdict = Verdict::DataLoss { bytes: 7 };
        c.in_flight = Some(true);
        r.cells.push(c);
        let s = render_matrix(&r);
        assert!(s.contains("data-loss 7B"), "{s}");
        assert!(s.contains("a read-drop: why"), "{s}");
    }
}
