//! The trial child: `ringbench __trial` reads one JSON [`TrialSpec`] on stdin, runs it in this
//! process, and prints exactly one JSON line on stdout (rustc-perf's habit: the measured code
//! never prints to stdout). The parent treats anything else as a failed trial.
//!
//! Fault-injection engines (test support, hidden) make the child misbehave on purpose so the
//! driver's handling of crashes, hangs, garbage and silence is tested for real.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use workloads::{Outcome, TrialPlan};

use crate::plan::engines;
use crate::plan::faults::base_engine;
use crate::proc::reply::{self, Reply};

/// Version of the child's reply body ([`TrialReply`], in a [`reply::Envelope`]).
pub const PROTOCOL: u32 = 1;

/// What the parent sends.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrialSpec {
    /// Engine name.
    pub engine: String,
    /// The plan.
    pub plan: TrialPlan,
    /// Timed passes of the plan in this one child (the overhead set, whose trials last a few
    /// milliseconds: one descheduling of the VM would be the whole measurement); the pass with
    /// the median wall time is the outcome, its CPU with it. Absent = 1.
    #[serde(default = "one_pass", skip_serializing_if = "is_one_pass")]
    pub passes: u32,
    /// The CPU the child pins itself to before the runtime starts, so every thread of the
    /// trial and the kernel's io_uring workers run there (the overhead set's `--overhead-cpu`;
    /// `sys::cpus` says why). Absent = not pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<usize>,
}

fn one_pass() -> u32 {
    1
}

fn is_one_pass(n: &u32) -> bool {
    *n == 1
}

/// What the child prints, in the envelope: `{"reply":"trial","v":1,"body":{"result":...}}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrialReply {
    /// The outcome, or the error text.
    pub result: Result<Outcome, String>,
    /// The child's own peak resident set (VmHWM), KiB, read just before replying. wait4's
    /// `ru_maxrss` cannot give it: at exec the kernel folds the parent's peak into the child's
    /// (`setmax_mm_hiwater_rss` in `exec_mmap`), so every small trial reads as the driver's size.
    #[serde(default)]
    pub peak_rss_kib: Option<u64>,
}

/// Entry point of `ringbench __trial`; returns the exit code.
pub fn main() -> i32 {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        return reply(Err(format!("reading the trial spec: {e}")));
    }
    let spec: TrialSpec = match serde_json::from_str(&input) {
        Ok(s) => s,
        Err(e) => return reply(Err(format!("invalid trial spec: {e}"))),
    };
    let engine = spec.engine.as_str();
    match engine {
        "null-hang" => loop {
            std::thread::park();
        },
        "null-silent" => return 0,
        _ => {}
    }
    // Before any runtime exists: the threads it starts inherit the mask.
    if let Some(cpu) = spec.cpu
        && let Err(e) = crate::sys::cpus::pin(cpu)
    {
        return reply(Err(e));
    }
    let result = run_passes(engine, &spec.plan, spec.passes.max(1));
    match engine {
        "null-crash" => std::process::abort(),
        "null-garbage" => {
            println!("this is not a result {{");
            return 0;
        }
        "std-corrupt" => corrupt(&spec.plan),
        _ => {}
    }
    reply(result)
}

/// One timed run of `plan` on `engine`.
fn run_once(engine: &str, plan: &TrialPlan) -> Result<Outcome, String> {
    match engines::run_trial(base_engine(engine), plan) {
        // The kernel-copy reference row runs here like an engine (see reference.rs).
        None if engine == crate::proc::kernel_copy::KERNEL_COPY => {
            crate::proc::kernel_copy::kernel_copy(plan).map_err(|e| e.to_string())
        }
        None => Err(format!("unknown engine {engine:?}")),
        Some(r) => r.map_err(|e| e.to_string()),
    }
}

/// `passes` timed runs of `plan`, each on a fresh destination (a written file is removed
/// before the next pass writes it again); the outcome is the pass with the median wall time
/// (the upper one of an even count), its `detail` saying so. Any failed pass fails the trial.
fn run_passes(engine: &str, plan: &TrialPlan, passes: u32) -> Result<Outcome, String> {
    if passes == 1 {
        return run_once(engine, plan);
    }
    let mut outs = Vec::new();
    for i in 0..passes {
        if i > 0 && plan.workload == workloads::Workload::Write {
            std::fs::remove_file(&plan.dst)
                .map_err(|e| format!("removing {} between passes: {e}", plan.dst.display()))?;
        }
        outs.push(run_once(engine, plan)?);
    }
    outs.sort_by_key(|o| o.elapsed_ns);
    let mut o = outs.swap_remove(outs.len() / 2);
    let note = format!("median of {passes} passes by wall time");
    o.detail = Some(match o.detail.take() {
        Some(d) => format!("{d}; {note}"),
        None => note,
    });
    Ok(o)
}

/// Flip one byte of the trial's destination (test support for the verification path).
fn corrupt(plan: &TrialPlan) {
    use std::os::unix::fs::FileExt;
    let target = if plan.dst.is_dir() {
        walk_first_file(&plan.dst)
    } else {
        Some(plan.dst.clone())
    };
    if let Some(p) = target
        && let Ok(f) = std::fs::OpenOptions::new().read(true).write(true).open(&p)
    {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len > 0 {
            let at = len / 2;
            let mut b = [0u8; 1];
            let _ = f.read_at(&mut b, at);
            b[0] ^= 0xFF;
            let _ = f.write_at(&b, at);
        }
    }
}

fn walk_first_file(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in &entries {
        if p.is_file() && p.metadata().map(|m| m.len() > 0).unwrap_or(false) {
            return Some(p.clone());
        }
    }
    entries
        .iter()
        .filter(|p| p.is_dir())
        .find_map(|p| walk_first_file(p))
}

/// This process's peak resident set, KiB (`VmHWM` in /proc/self/status).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl Reply for TrialReply {
    const KIND: &'static str = "trial";
    const VERSION: u32 = PROTOCOL;
}

fn reply(result: Result<Outcome, String>) -> i32 {
    let ok = result.is_ok();
    let line = reply::encode(&TrialReply {
        result,
        peak_rss_kib: peak_rss_kib(),
    })
    .unwrap_or_else(|e| {
        // An error's text always serialises: the parent still gets a reply it can read.
        reply::encode(&TrialReply {
            result: Err(format!("serialising: {e}")),
            peak_rss_kib: None,
        })
        .expect("a string result serialises")
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
    if ok { 0 } else { 1 }
}
