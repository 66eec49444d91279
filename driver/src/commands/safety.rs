//! `ringbench safety`: the safety matrix — every engine × every scenario, each cell in its own
//! child process with a deadline.
//!
//! This module is the orchestration: it validates the names, runs the children (a few at
//! once, each under `proc::spawn::supervise` with a deadline), turns how each ended into a
//! cell, and writes `safety.json` after every cell (so a crash of the parent loses nothing).
//! The layers below hold the rest: the scenarios and default engines
//! (`plan::safety_plan`), the child and its reply (`proc::safety_child`), the file's types and
//! writer (`results::safety`), aggregation, validation and `--fail-on`
//! (`analysis::safety`), and the matrix as text (`render::safety`).
//!
//! The hidden child is `ringbench __safety ENGINE SCENARIO` (`proc::safety_child::child_main`);
//! the binary must install the quarantining allocator, or the memory oracle is off (the cells
//! then say so in their evidence; `bin/ringbench.rs` does).
//!
//! Verdicts come from observation only: the child reports what its oracles saw, and the parent
//! adds what only it can see — a child killed at the deadline is a `hang`, one that died by a
//! signal a `crash`. Nothing here knows what an engine is expected to do.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};
use workloads::safety::{Baseline, Params, Verdict};

use crate::analysis::safety::{aggregate, validate};
use crate::plan::engines;
use crate::plan::safety_plan::{SCENARIOS, known_scenario, runs};
use crate::proc::safety_child::ChildReply;
use crate::proc::spawn::{self, Exit, Finished, signal_name};
use crate::render::safety::render_matrix;
use crate::results::safety::{self as file, Cell, SCHEMA, SafetyReport, skipped};

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
            file::write(&opts.out_dir, &report)?;
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
            file::write(&opts.out_dir, &report)?;
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
                file::write(&opts.out_dir, &r)?;
            }
            Ok(())
        })?;
        // Cells cut short by an interrupt keep the runs they had.
        for (_, runs) in std::mem::take(&mut pending) {
            finished.push(aggregate(runs));
        }
        finished.sort_by_key(|c| opts.scenarios.iter().position(|s| *s == c.scenario));
        report.cells.extend(finished);
        file::write(&opts.out_dir, &report)?;
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
    file::write(&opts.out_dir, &report)?;
    Ok(report)
}

/// The baseline a baseline run measured (none when the run died or was skipped).
fn baseline_of(c: &Cell) -> Option<Baseline> {
    c.baseline.clone()
}

/// Run a `__safety` child under the driver's one supervisor ([`spawn::supervise`]): its own
/// process group (the deadline kills anything it started too, which would otherwise hold the
/// output pipes open), stdin at /dev/null, output capped.
fn run_child(cmd: Command, deadline: Duration) -> std::io::Result<Finished> {
    spawn::supervise(cmd, None, deadline)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

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
}
