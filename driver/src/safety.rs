//! `ringbench safety`: the safety matrix — every engine × every scenario, each cell in its own
//! child process with a deadline — and the hidden child side, `ringbench __safety ENGINE
//! SCENARIO`.
//!
//! # Contract for wiring (main.rs / cli.rs)
//!
//! * Hidden child subcommand `ringbench __safety ENGINE SCENARIO` → `std::process::exit(
//!   safety::child_main(&engine, &scenario))`. It runs the scenario in-process and prints one
//!   JSON line ([`ChildReply`]) on stdout; exit 0 when that line was printed, 2 on an unknown
//!   engine or scenario. The binary must install the quarantining allocator, or the memory
//!   oracle is off (the cells then say so in their evidence):
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

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use workloads::safety::{Counts, Observation, Verdict};

use crate::engines;

/// The scenario ids, in display order.
pub const SCENARIOS: &[&str] = workloads::safety::SCENARIOS;

/// Version of `safety.json`.
pub const SCHEMA: u32 = 1;

/// Whether `id` is a scenario the child accepts (listed or hidden test support).
pub fn known_scenario(id: &str) -> bool {
    workloads::safety::known(id)
}

/// The engines `ringbench safety` runs by default: every registered engine that does real I/O.
pub fn default_engines() -> Vec<String> {
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
    /// Per-cell deadline; a child still running then is killed and recorded as `hang`.
    pub deadline: Duration,
    /// The `ringbench` binary to re-execute (`std::env::current_exe()`).
    pub exe: PathBuf,
}

/// The one JSON line a `__safety` child prints.
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

/// One cell of the matrix.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cell {
    /// Engine name.
    pub engine: String,
    /// Scenario id.
    pub scenario: String,
    /// The headline verdict.
    pub verdict: Verdict,
    /// Every finding, worst first.
    pub findings: Vec<Verdict>,
    /// Whether an op was proven in flight when dropped (absent when the child said nothing).
    pub in_flight: Option<bool>,
    /// Whether the memory oracle was active in the child.
    pub memory_oracle: Option<bool>,
    /// The child's counts.
    pub counts: Option<Counts>,
    /// What was seen, in words.
    pub evidence: Vec<String>,
    /// Wall time of the child, ms.
    pub wall_ms: f64,
    /// How the child ended (`exit 0`, `signal SIGSEGV`, `killed at deadline`).
    pub exit: String,
    /// The last lines of the child's stderr.
    pub stderr_tail: String,
}

/// `safety.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SafetyReport {
    /// [`SCHEMA`].
    pub schema: u32,
    /// Per-cell deadline, ms.
    pub deadline_ms: u64,
    /// Engines, in row order.
    pub engines: Vec<String>,
    /// Scenarios, in column order.
    pub scenarios: Vec<String>,
    /// One per engine × scenario, row-major.
    pub cells: Vec<Cell>,
}

impl SafetyReport {
    /// The cell of `engine` × `scenario`.
    pub fn cell(&self, engine: &str, scenario: &str) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.engine == engine && c.scenario == scenario)
    }
}

/// The hidden child: run one scenario in this process and print its [`ChildReply`].
pub fn child_main(engine: &str, scenario: &str) -> i32 {
    if !known_scenario(scenario) {
        eprintln!("ringbench __safety: unknown scenario `{scenario}`");
        return 2;
    }
    let r = std::panic::catch_unwind(|| engines::run_scenario(engine, scenario));
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
    match serde_json::to_string(&reply) {
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

/// Run every engine × scenario cell, each in its own child, writing `safety.json` as it goes.
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
        engines: opts.engines.clone(),
        scenarios: opts.scenarios.clone(),
        cells: Vec::new(),
    };
    for engine in &opts.engines {
        let probe = engines::probe(engine).expect("validated above");
        for scenario in &opts.scenarios {
            let cell = match &probe {
                Err(reason) => skipped(engine, scenario, format!("engine unavailable: {reason}")),
                Ok(()) => {
                    let mut cmd = Command::new(&opts.exe);
                    cmd.args(["__safety", engine, scenario]);
                    let end = run_child(cmd, opts.deadline).with_context(|| {
                        format!("starting {} for {engine} {scenario}", opts.exe.display())
                    })?;
                    cell_from(engine, scenario, &end, opts.deadline)
                }
            };
            report.cells.push(cell);
            write_report(&opts.out_dir, &report)?;
        }
    }
    Ok(report)
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
    }
}

/// How a child ended.
#[derive(Debug)]
enum End {
    Code(i32),
    Signal(i32),
    Deadline,
}

#[derive(Debug)]
struct ChildEnd {
    end: End,
    stdout: String,
    stderr: String,
    wall: Duration,
}

/// Run `cmd` with piped output, killing it at `deadline`.
fn run_child(mut cmd: Command, deadline: Duration) -> std::io::Result<ChildEnd> {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let t = Instant::now();
    // Its own process group, so the deadline kills anything it started too (which would
    // otherwise hold the output pipes open).
    let mut child = cmd
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pump = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let out = pump(Box::new(child.stdout.take().expect("piped")));
    let err = pump(Box::new(child.stderr.take().expect("piped")));
    let end = loop {
        if let Some(st) = child.try_wait()? {
            break match (st.code(), st.signal()) {
                (Some(c), _) => End::Code(c),
                (None, Some(s)) => End::Signal(s),
                (None, None) => End::Code(-1),
            };
        }
        if t.elapsed() >= deadline {
            // SAFETY: signalling the process group we created for this child.
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = child.kill();
            let _ = child.wait();
            break End::Deadline;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = t.elapsed();
    Ok(ChildEnd {
        end,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        wall,
    })
}

fn signal_name(s: i32) -> String {
    match s {
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGILL => "SIGILL".into(),
        libc::SIGFPE => "SIGFPE".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGPIPE => "SIGPIPE".into(),
        libc::SIGTRAP => "SIGTRAP".into(),
        n => format!("signal {n}"),
    }
}

fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// Turn how a child ended, and what it printed, into a cell.
fn cell_from(engine: &str, scenario: &str, c: &ChildEnd, deadline: Duration) -> Cell {
    let mut cell = skipped(engine, scenario, String::new());
    cell.wall_ms = c.wall.as_secs_f64() * 1e3;
    cell.stderr_tail = tail(&c.stderr, 12);
    let reply = c
        .stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<ChildReply>(l.trim()).ok());
    cell.exit = match c.end {
        End::Code(n) => format!("exit {n}"),
        End::Signal(s) => format!("signal {}", signal_name(s)),
        End::Deadline => format!("killed at the {} ms deadline", deadline.as_millis()),
    };
    cell.verdict = match (&c.end, reply) {
        (End::Deadline, _) => {
            cell.evidence.push(format!(
                "still running after {} ms: killed",
                deadline.as_millis()
            ));
            Verdict::Hang {
                after_ms: deadline.as_millis() as u64,
            }
        }
        (End::Signal(s), _) => {
            cell.evidence
                .push(format!("the child died by {}", signal_name(*s)));
            Verdict::Crash {
                signal: Some(signal_name(*s)),
                detail: tail(&c.stderr, 3),
            }
        }
        (End::Code(0), Some(ChildReply::Observed(o))) => {
            cell.in_flight = Some(o.in_flight);
            cell.memory_oracle = Some(o.memory_oracle);
            cell.counts = Some(o.counts.clone());
            cell.evidence = o.evidence.clone();
            cell.findings = o.findings.clone();
            o.verdict.clone()
        }
        (End::Code(0), Some(ChildReply::Skipped { reason })) => Verdict::Skipped { reason },
        (End::Code(0), Some(ChildReply::Panicked { message })) => {
            cell.evidence
                .push(format!("the scenario panicked: {message}"));
            Verdict::Crash {
                signal: None,
                detail: format!("panic: {message}"),
            }
        }
        (End::Code(n), _) => {
            cell.evidence
                .push(format!("the child exited with {n} without a valid reply"));
            Verdict::Crash {
                signal: None,
                detail: format!("exit {n}: {}", tail(&c.stderr, 3)),
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
            Some(c) => {
                let mut l = c.verdict.label();
                if c.in_flight == Some(false) && !matches!(c.verdict, Verdict::Skipped { .. }) {
                    l.push_str(" (nif)");
                }
                l
            }
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
    out.push_str(
        "\n(nif) = not in flight: every op completed before it could be dropped (a blocking engine completes ops inside poll), so nothing was cancelled.\n\
         UAF kernel-wrote = freed memory changed after free; UAF kernel-read = freed (poisoned) memory reached the output.\n",
    );
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(cell.verdict, Verdict::Hang { after_ms: 300 });
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
        let line = serde_json::to_string(&reply).unwrap();
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
            engines: vec!["a".into(), "b".into()],
            scenarios: vec!["read-drop".into()],
            cells: vec![],
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
