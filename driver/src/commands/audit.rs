//! `ringbench audit`: proof of path. Each engine runs a tiny copy of each workload in a trial
//! child (`ringbench __trial`, the same spec and the same child as `run`) under
//! `strace -f`, and the system calls it made are counted and set against the routes the engine
//! declares in its `INFO.routes` — so an "io_uring" number is never really a thread pool.
//!
//! # Method
//!
//! - The child is traced with `strace -f -qq -y -s 16 -e trace=<list> -o FILE`. `-y` prints
//!   the path behind every descriptor, so a call is attributed to the workload only when the
//!   path it names (its descriptor, or its path argument resolved against its directory
//!   descriptor) lies inside the audit's scratch directory. That leaves out, by construction,
//!   everything the child does for itself: loading libraries, reading the spec from stdin,
//!   printing the result, counting `/proc/self/fd`, a runtime reading `/proc` or `/sys`.
//!   The datasets are made and the copies verified by the parent, which is not traced.
//! - The ring is counted whole: `io_uring_setup`, `io_uring_register`, `io_uring_enter`, and
//!   the SQEs submitted (`to_submit`, the second argument of `io_uring_enter`). A ring op makes
//!   no file syscall of its own, so "through the ring" shows as SQEs and the absence of
//!   `pread64`/`openat`/... on the files.
//! - Threads: every thread names itself with `prctl(PR_SET_NAME)`, and strace prefixes each
//!   call with the thread id. The harness runs each runtime on threads it names `ringbench-N`
//!   (the "runtime thread"); any other thread that touched the files is a helper (a pool).
//!   Threads spawned are the `clone`/`clone3` calls with `CLONE_THREAD`, less the harness's own.
//!   Kernel io-wq workers (which io_uring may use for buffered writes) make no syscalls and
//!   are not counted: they are the kernel's business, not a userspace pool.
//! - Each op the workload performs is then checked against its declared route: `Ring` means
//!   no file syscall of that kind on any thread (and SQEs at least as many as the ring's reads
//!   and writes); `Pool` means such calls on helper threads only; `Inline` means on the
//!   runtime thread only. Anything else is a mismatch, printed and kept in `audit.json`.
//!
//! Needs `strace` and permission to ptrace; without them the command says so and exits 2.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use workloads::{Route, Routes, TrialPlan, Workload};

use crate::plan::faults::engine_info;
use crate::plan::options::RunOptions;
use crate::proc::child::TrialSpec;
use crate::proc::spawn::{self, Exit};
use crate::sys::scratch::{self, Scratch};

/// Version of `audit.json`.
pub const AUDIT_SCHEMA: u32 = crate::results::schema::AUDIT.current;

/// The system calls traced. A `?` prefix lets strace ignore names this architecture lacks.
const TRACED: &[&str] = &[
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "read",
    "pread64",
    "readv",
    "preadv",
    "preadv2",
    "write",
    "pwrite64",
    "writev",
    "pwritev",
    "pwritev2",
    "?open",
    "openat",
    "?openat2",
    "?creat",
    "close",
    "fsync",
    "fdatasync",
    "sync_file_range",
    "statx",
    "newfstatat",
    "fstat",
    "?stat",
    "?lstat",
    "?mkdir",
    "mkdirat",
    "?chmod",
    "fchmod",
    "fchmodat",
    "?fchmodat2",
    "getdents64",
    "lseek",
    "fallocate",
    "ftruncate",
    "copy_file_range",
    "sendfile",
    "splice",
    "clone",
    "clone3",
    "?fork",
    "?vfork",
    "prctl",
    "execve",
];

/// The ops of the Engine trait, with the names `ringbench list` uses.
const OPS: [&str; 9] = [
    "open", "read", "write", "fsync", "close", "mkdir", "stat", "chmod", "readdir",
];

fn declared(r: &Routes, op: &str) -> Route {
    match op {
        "open" => r.open,
        "read" => r.read,
        "write" => r.write,
        "fsync" => r.sync,
        "close" => r.close,
        "mkdir" => r.mkdir,
        "stat" => r.metadata,
        "chmod" => r.set_mode,
        "readdir" => r.read_dir,
        _ => unreachable!("unknown op {op}"),
    }
}

/// The ops a workload performs (so only those are checked).
fn exercised(w: Workload, fsync: bool) -> Vec<&'static str> {
    let mut v = match w {
        Workload::Large | Workload::Small => vec!["open", "read", "write", "close"],
        Workload::Read | Workload::Randread => vec!["open", "read", "close"],
        Workload::Write => vec!["open", "write", "close"],
        Workload::Tree => OPS.iter().filter(|o| **o != "fsync").copied().collect(),
    };
    if fsync && !matches!(w, Workload::Read | Workload::Randread) {
        v.push("fsync");
    }
    v
}

/// What `ringbench audit` was asked to do, validated.
#[derive(Debug)]
pub struct AuditOptions {
    /// Sizes, engines and workloads, validated the way `run` validates them.
    pub run: RunOptions,
    /// Where `audit.json` and `audit.md` go.
    pub out: PathBuf,
    /// The strace binary.
    pub strace: PathBuf,
    /// Seconds one traced trial may take.
    pub deadline: Duration,
    /// Copy the raw traces into `out/traces/`.
    pub keep_traces: bool,
}

/// `audit.json`: every engine × workload cell, with the method and parameters.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditReport {
    /// [`AUDIT_SCHEMA`].
    pub schema: u32,
    /// When the audit started (UTC).
    pub started: String,
    /// `strace -V`'s first line.
    pub strace: String,
    /// How the counts were taken (one paragraph, for the report).
    pub method: String,
    /// Sizes and knobs of the tiny trials.
    pub parameters: AuditParams,
    /// Engines that could not run here, with the reason.
    pub skipped: Vec<SkippedEngine>,
    /// One cell per engine × workload.
    pub cells: Vec<AuditCell>,
    /// Cells planned (runnable engines × workloads); `cells` holds fewer when interrupted.
    #[serde(default)]
    pub planned: usize,
    /// Whether the audit was interrupted (SIGINT/SIGTERM): `cells` are those that finished.
    #[serde(default)]
    pub interrupted: bool,
    /// The signal that interrupted it (`SIGINT`, `SIGTERM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted_by: Option<String>,
}

/// The trial parameters every cell shared.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditParams {
    /// Size of the single file (large, read, write), bytes.
    pub size: u64,
    /// Block size, bytes.
    pub block_size: usize,
    /// Ops in flight.
    pub queue_depth: usize,
    /// Files of the small workload.
    pub files: usize,
    /// Files in flight (small, tree).
    pub files_in_flight: usize,
    /// Tree shape: depth, fan-out, files per directory.
    pub tree: [u32; 3],
    /// Whether written files were fsynced.
    pub fsync: bool,
}

/// An engine left out, and why.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SkippedEngine {
    /// Engine name.
    pub engine: String,
    /// Its probe's reason.
    pub reason: String,
}

/// What one engine did on one workload.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AuditCell {
    /// Engine name.
    pub engine: String,
    /// Workload name.
    pub workload: String,
    /// `ok`, or `failed` (the trial did not complete or did not verify; see `error`).
    pub status: String,
    /// Why the trial failed.
    pub error: Option<String>,
    /// Payload bytes the trial moved (copied, read or written).
    pub bytes: u64,
    /// Whether the copy was verified byte for byte afterwards.
    pub verified: bool,
    /// What the runtime chose at build time, if it says.
    pub detail: Option<String>,
    /// Ops the harness issued: `read_at` and `write_at` calls, and everything else.
    pub harness_ops: HarnessOps,
    /// Ring activity.
    pub ring: RingObs,
    /// Per op (`open`, `read`, ...): declared route and observed file syscalls.
    pub ops: BTreeMap<String, OpObs>,
    /// Every counted syscall by name (file calls inside the scratch directory, ring calls,
    /// thread creation).
    pub syscalls: BTreeMap<String, u64>,
    /// The same per MiB moved.
    pub per_mib: BTreeMap<String, f64>,
    /// Threads.
    pub threads: ThreadObs,
    /// Declared routes the observation contradicts, one sentence each.
    pub mismatches: Vec<String>,
    /// The raw trace, when kept (relative to the audit folder).
    pub trace: Option<String>,
}

/// Ops the harness issued, from the trial's own counters.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct HarnessOps {
    /// `read_at` calls.
    pub reads: u64,
    /// `write_at` calls.
    pub writes: u64,
    /// Opens, closes, syncs and directory ops.
    pub other: u64,
}

/// io_uring activity of the whole child.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RingObs {
    /// `io_uring_setup` calls (rings created, probes included).
    pub setup: u64,
    /// `io_uring_register` calls.
    pub register: u64,
    /// `io_uring_enter` calls.
    pub enter: u64,
    /// SQEs submitted (sum of `to_submit`).
    pub sqes: u64,
    /// Threads that entered a ring, by name.
    pub threads: Vec<String>,
}

/// One op kind: what was declared and what was seen.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpObs {
    /// The engine's declared route.
    pub declared: Route,
    /// Whether the workload performs this op (only those are checked).
    pub exercised: bool,
    /// File syscalls of this kind made on the runtime thread(s).
    pub runtime_thread: u64,
    /// File syscalls of this kind made on other (helper) threads.
    pub helper_threads: u64,
    /// By syscall name.
    pub syscalls: BTreeMap<String, u64>,
    /// Names of the helper threads that made them.
    pub helpers: Vec<String>,
    /// The route the observation shows: `ring` (no syscalls, the ring was used), `pool`,
    /// `inline`, `mixed`, or `none`.
    pub observed: String,
    /// Whether `observed` agrees with `declared` (always true when not exercised).
    pub ok: bool,
}

/// Threads of the trial child.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ThreadObs {
    /// `clone`/`clone3` with `CLONE_THREAD`.
    pub spawned: u64,
    /// Of those, the harness's own runtime threads (`ringbench-N`).
    pub harness: u64,
    /// Names of the other threads (a thread that never named itself is `unnamed`).
    pub helpers: BTreeMap<String, u64>,
    /// Processes forked (expected 0).
    pub processes: u64,
}

// ---------------------------------------------------------------------------------------------
// Running

/// Check that strace exists and may trace; returns its version line. The error is one line.
pub fn check_strace(strace: &Path, exe: &Path) -> anyhow::Result<String> {
    let v = std::process::Command::new(strace).arg("-V").output();
    let v = match v {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("strace")
            .trim()
            .to_string(),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let why = err
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map_or_else(|| o.status.to_string(), str::to_string);
            anyhow::bail!(
                "{} -V failed ({why}): audit needs a working strace",
                strace.display()
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
            "audit needs strace, and {} was not found (install it: apt-get install strace; or pass --strace PATH)",
            strace.display()
        ),
        Err(e) => anyhow::bail!("cannot run {}: {e}", strace.display()),
    };
    let t = std::process::Command::new(strace)
        .args(["-f", "-qq", "-o", "/dev/null", "--"])
        .arg(exe)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .output()
        .with_context(|| format!("running {}", strace.display()))?;
    if !t.status.success() {
        let why = String::from_utf8_lossy(&t.stderr);
        let why = why
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message")
            .trim();
        anyhow::bail!(
            "strace cannot trace here ({why}): ptrace is not permitted (in a container, allow it: --cap-add SYS_PTRACE, or kernel.yama.ptrace_scope)"
        );
    }
    Ok(v)
}

/// Run the audit: every runnable engine on every workload, one traced child each.
pub fn run(o: &AuditOptions) -> anyhow::Result<AuditReport> {
    // Bad input first: a --dir that cannot hold the scratch directory is named before strace.
    crate::sys::scratch::check_parent(&o.run.dir)?;
    let exe = std::env::current_exe().context("locating the ringbench binary")?;
    let strace_version = check_strace(&o.strace, &exe)?;
    let r = &o.run;
    let scratch = Scratch::create(&r.dir)?;
    let result = run_in(o, &exe, &scratch, strace_version);
    let removed = scratch.remove();
    let report = result?;
    removed.context("removing the scratch directory")?;
    Ok(report)
}

fn run_in(
    o: &AuditOptions,
    exe: &Path,
    scratch: &Scratch,
    strace_version: String,
) -> anyhow::Result<AuditReport> {
    let r = &o.run;
    scratch.check_space(crate::commands::runner::needed_bytes(r))?;
    std::fs::create_dir_all(&o.out)
        .with_context(|| format!("--out {}: cannot create it", o.out.display()))?;
    let traces = o.out.join("traces");
    if o.keep_traces {
        std::fs::create_dir_all(&traces)?;
    }
    let config = r.configs[0];
    let mut report = AuditReport {
        schema: AUDIT_SCHEMA,
        started: crate::sys::sysinfo::utc_rfc3339(),
        strace: strace_version,
        method: METHOD.into(),
        parameters: AuditParams {
            size: r.size,
            block_size: config.block_size,
            queue_depth: config.queue_depth,
            files: r.files,
            files_in_flight: config.files_in_flight,
            tree: [r.tree.depth, r.tree.fanout, r.tree.files_per_dir],
            fsync: r.fsync,
        },
        skipped: Vec::new(),
        cells: Vec::new(),
        planned: 0,
        interrupted: false,
        interrupted_by: None,
    };
    let mut runnable = Vec::new();
    for name in &r.engines {
        match crate::plan::engines::probe(crate::plan::faults::base_engine(name))
            .expect("validated engine")
        {
            Ok(()) => runnable.push(name.clone()),
            Err(reason) => {
                eprintln!("skipping engine {name}: {reason}");
                report.skipped.push(SkippedEngine {
                    engine: name.clone(),
                    reason,
                });
            }
        }
    }
    report.planned = runnable.len() * r.workloads.len();
    let interrupted = || spawn::INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst);
    let mark = |report: &mut AuditReport| {
        report.interrupted = true;
        report.interrupted_by = Some(spawn::interrupted_by_name());
    };
    if interrupted() {
        mark(&mut report);
        return Ok(report);
    }
    for l in scratch::leftovers(&r.dir, scratch.path()) {
        eprintln!("warning: {}", l.describe());
    }
    eprintln!("preparing datasets in {}", scratch.path().display());
    let srcs = crate::commands::runner::prepare_sources(r, scratch)?;
    let roots = Roots::of(scratch.path());
    let trace_file = scratch.path().join("trace.txt");
    let mut index = 0;
    'cells: for engine in &runnable {
        for &w in &r.workloads {
            if interrupted() {
                mark(&mut report);
                break 'cells;
            }
            let dst = scratch.trial_dst(index)?;
            index += 1;
            let plan = crate::commands::runner::plan_for(r, &srcs, w, &config, &dst);
            let _ = std::fs::remove_file(&trace_file);
            let mut cell = audit_one(o, exe, engine, &plan, &trace_file, &roots);
            if o.keep_traces && trace_file.exists() {
                let name = format!("{engine}-{}.strace", w.name());
                if std::fs::copy(&trace_file, traces.join(&name)).is_ok() {
                    cell.trace = Some(format!("traces/{name}"));
                }
            }
            scratch::remove_dst(&dst);
            if cell.status == "interrupted" {
                // No result: the cell is not kept, the report says it was cut short.
                mark(&mut report);
                break 'cells;
            }
            eprintln!(
                "audited {engine:<18} {:<6} {}",
                w.name(),
                if cell.status != "ok" {
                    format!("FAILED: {}", cell.error.as_deref().unwrap_or(""))
                } else if cell.mismatches.is_empty() {
                    "routes as declared".to_string()
                } else {
                    format!("{} mismatch(es)", cell.mismatches.len())
                }
            );
            report.cells.push(cell);
        }
    }
    Ok(report)
}

fn audit_one(
    o: &AuditOptions,
    exe: &Path,
    engine: &str,
    plan: &TrialPlan,
    trace_file: &Path,
    roots: &Roots,
) -> AuditCell {
    let mut cell = AuditCell {
        engine: engine.into(),
        workload: plan.workload.name().into(),
        status: "failed".into(),
        ..Default::default()
    };
    let info = engine_info(engine).expect("validated engine");
    let (child_plan, cwd) = spawn::plan_for_child(plan, &roots.0[0]);
    let spec = TrialSpec {
        passes: 1,
        engine: engine.to_string(),
        plan: child_plan,
    };
    let input = match serde_json::to_vec(&spec) {
        Ok(i) => i,
        Err(e) => {
            cell.error = Some(format!("cannot describe the trial to its child: {e}"));
            return cell;
        }
    };
    // Paths as they are (OsStr): a --dir or binary path need not be UTF-8.
    let mut args: Vec<std::ffi::OsString> = ["-f", "-qq", "-y", "-s", "16", "-e"]
        .iter()
        .map(|a| a.into())
        .collect();
    args.push(format!("trace={}", TRACED.join(",")).into());
    args.push("-o".into());
    // Relative to the child's working directory when it has one (a relative --dir would
    // otherwise name a path that does not exist from there).
    let trace_arg = match &cwd {
        Some(d) => trace_file.strip_prefix(d).unwrap_or(trace_file),
        None => trace_file,
    };
    args.push(trace_arg.as_os_str().to_owned());
    args.push("--".into());
    args.push(exe.as_os_str().to_owned());
    args.push("__trial".into());
    let child = match spawn::run_child(&o.strace, &args, &input, o.deadline, cwd.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            cell.error = Some(format!("starting strace: {e}"));
            return cell;
        }
    };
    let text = std::fs::read_to_string(trace_file).unwrap_or_default();
    let trace = parse_trace(&text, roots);
    // strace and its tracee share the process group the supervisor made: at a deadline or an
    // interrupt both were killed, so no tracee is left to find by pid.
    if matches!(child.exit, Exit::Interrupted) {
        cell.status = "interrupted".into();
        cell.error = Some("the audit was interrupted during this trial".into());
        return cell;
    }
    let outcome = match (&child.exit, child.reply) {
        (Exit::Code(_), Some(reply)) => match reply.result {
            Ok(outcome) => outcome,
            Err(e) => {
                cell.error = Some(e);
                return cell;
            }
        },
        (exit, _) => {
            let tail = if child.stderr.is_empty() {
                String::new()
            } else {
                format!(" (stderr: {})", child.stderr.replace('\n', " | "))
            };
            cell.error = Some(format!(
                "the traced trial ended without a result: {exit:?}{tail}"
            ));
            return cell;
        }
    };
    cell.bytes = outcome.bytes;
    cell.detail = outcome.detail.clone();
    cell.harness_ops = HarnessOps {
        reads: outcome.stats.reads,
        writes: outcome.stats.writes,
        other: outcome.stats.other_ops,
    };
    if info.caps.does_io {
        match workloads::dataset::verify(plan, outcome.stats.header_errors) {
            Ok(()) => cell.verified = true,
            Err(d) => {
                cell.error = Some(format!("copy did not verify: {d}"));
                return cell;
            }
        }
    }
    cell.status = "ok".into();
    fill_cell(&mut cell, &trace, &info.routes, plan);
    cell
}

fn fill_cell(cell: &mut AuditCell, t: &Trace, routes: &Routes, plan: &TrialPlan) {
    let name_of = |tid: u32| {
        t.names
            .get(&tid)
            .cloned()
            .unwrap_or_else(|| "unnamed".into())
    };
    let is_runtime = |tid: u32| {
        t.names
            .get(&tid)
            .is_some_and(|n| n.starts_with("ringbench-"))
    };
    cell.ring = RingObs {
        setup: t.ring_setup,
        register: t.ring_register,
        enter: t.ring_enter,
        sqes: t.sqes,
        threads: t
            .ring_tids
            .iter()
            .map(|&tid| name_of(tid))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    };
    let harness = t.thread_tids.iter().filter(|&&tid| is_runtime(tid)).count() as u64;
    let mut helpers: BTreeMap<String, u64> = BTreeMap::new();
    for &tid in t.thread_tids.iter().filter(|&&tid| !is_runtime(tid)) {
        *helpers.entry(name_of(tid)).or_default() += 1;
    }
    // A clone whose new thread made no traced call before exiting has no known tid here.
    let unseen = t.threads_spawned.saturating_sub(t.thread_tids.len() as u64);
    if unseen > 0 {
        *helpers.entry("unnamed".into()).or_default() += unseen;
    }
    cell.threads = ThreadObs {
        spawned: t.threads_spawned,
        harness,
        helpers,
        processes: t.processes_spawned,
    };

    let mut syscalls: BTreeMap<String, u64> = BTreeMap::new();
    for ((_, name, _), n) in &t.file_calls {
        *syscalls.entry(name.clone()).or_default() += n;
    }
    for (name, n) in [
        ("io_uring_setup", t.ring_setup),
        ("io_uring_register", t.ring_register),
        ("io_uring_enter", t.ring_enter),
        ("io_uring_sqes", t.sqes),
        ("threads_spawned", t.threads_spawned),
    ] {
        syscalls.insert(name.into(), n);
    }
    let mib = cell.bytes as f64 / (1024.0 * 1024.0);
    cell.per_mib = if mib > 0.0 {
        syscalls
            .iter()
            .map(|(k, v)| (k.clone(), *v as f64 / mib))
            .collect()
    } else {
        BTreeMap::new()
    };
    cell.syscalls = syscalls;

    let used = exercised(plan.workload, plan.fsync);
    for op in OPS {
        let mut o = OpObs {
            declared: declared(routes, op),
            exercised: used.contains(&op),
            runtime_thread: 0,
            helper_threads: 0,
            syscalls: BTreeMap::new(),
            helpers: Vec::new(),
            observed: String::new(),
            ok: true,
        };
        let mut helper_names = BTreeSet::new();
        for ((kind, name, tid), n) in &t.file_calls {
            if kind != op {
                continue;
            }
            *o.syscalls.entry(name.clone()).or_default() += n;
            if is_runtime(*tid) {
                o.runtime_thread += n;
            } else {
                o.helper_threads += n;
                helper_names.insert(name_of(*tid));
            }
        }
        o.helpers = helper_names.into_iter().collect();
        o.observed = match (o.runtime_thread > 0, o.helper_threads > 0) {
            (true, true) => "mixed",
            (true, false) => "inline",
            (false, true) => "pool",
            (false, false) if o.exercised && t.ring_enter > 0 => "ring",
            (false, false) => "none",
        }
        .into();
        if o.exercised
            && let Some(why) = contradiction(op, &o, t)
        {
            o.ok = false;
            cell.mismatches.push(why);
        }
        cell.ops.insert(op.into(), o);
    }
    // Ring reads and writes each need an SQE: fewer SQEs than those ops means some took
    // another way (one strace cannot see).
    let ring_rw = u64::from(routes.read == Route::Ring) * cell.harness_ops.reads
        + u64::from(routes.write == Route::Ring) * cell.harness_ops.writes;
    if ring_rw > 0 && t.sqes < ring_rw {
        cell.mismatches.push(format!(
            "declares Ring for {} but submitted only {} SQEs for {ring_rw} such ops",
            match (routes.read == Route::Ring, routes.write == Route::Ring) {
                (true, true) => "read and write",
                (true, false) => "read",
                _ => "write",
            },
            t.sqes
        ));
    }
}

/// Why the observation of an exercised op contradicts its declared route, if it does.
fn contradiction(op: &str, o: &OpObs, t: &Trace) -> Option<String> {
    let calls = |o: &OpObs| {
        o.syscalls
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let helpers = if o.helpers.is_empty() {
        String::new()
    } else {
        format!(" on {}", o.helpers.join(", "))
    };
    let hint = if t.ring_enter > 0 {
        " (the ring was entered: it may have gone through io_uring)"
    } else {
        ""
    };
    match o.declared {
        Route::Ring if o.runtime_thread + o.helper_threads > 0 => Some(format!(
            "declares Ring for {op} but made {} calls ({} on the runtime thread, {} on helper threads{helpers})",
            calls(o),
            o.runtime_thread,
            o.helper_threads
        )),
        Route::Ring if t.ring_enter == 0 => Some(format!(
            "declares Ring for {op} but never entered a ring (no io_uring_enter)"
        )),
        Route::Pool if o.runtime_thread > 0 => Some(format!(
            "declares Pool for {op} but {} of its calls ({}) ran on the runtime thread",
            o.runtime_thread,
            calls(o)
        )),
        Route::Pool if o.helper_threads == 0 => Some(format!(
            "declares Pool for {op} but no helper thread made a {op} syscall{hint}"
        )),
        Route::Inline if o.helper_threads > 0 => Some(format!(
            "declares Inline for {op} but {} of its calls ({}) ran on helper threads{helpers}",
            o.helper_threads,
            calls(o)
        )),
        Route::Inline if o.runtime_thread == 0 => Some(format!(
            "declares Inline for {op} but the runtime thread made no {op} syscall{hint}"
        )),
        Route::Nothing if o.runtime_thread + o.helper_threads > 0 => Some(format!(
            "declares Nothing for {op} but made {} calls",
            calls(o)
        )),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing strace output

/// The scratch directory as given and as the kernel resolves it (`-y` prints resolved paths).
struct Roots(Vec<PathBuf>);

impl Roots {
    fn of(p: &Path) -> Roots {
        let mut v = vec![p.to_path_buf()];
        if let Ok(c) = std::fs::canonicalize(p)
            && c != p
        {
            v.push(c);
        }
        // strace prints a byte that is not printable ASCII as an octal escape (`\377`): a
        // --dir whose name is not ASCII is matched in that form too.
        for r in v.clone() {
            let e = strace_escaped(&r);
            if e != r {
                v.push(e);
            }
        }
        Roots(v)
    }

    fn contains(&self, p: &Path) -> bool {
        self.0.iter().any(|r| p.starts_with(r))
    }
}

/// `p` as strace prints it: bytes outside printable ASCII as `\ooo`.
fn strace_escaped(p: &Path) -> PathBuf {
    let mut s = String::new();
    for &b in p.as_os_str().as_encoded_bytes() {
        if (0x20..0x7f).contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\{b:03o}"));
        }
    }
    PathBuf::from(s)
}

/// Counts from one trace.
#[derive(Debug, Default)]
struct Trace {
    /// The traced process (the first pid in the trace).
    main_pid: Option<u32>,
    /// Thread names from `prctl(PR_SET_NAME)`.
    names: HashMap<u32, String>,
    /// Tids of threads created (from clone's return value or their own calls).
    thread_tids: BTreeSet<u32>,
    threads_spawned: u64,
    processes_spawned: u64,
    ring_setup: u64,
    ring_register: u64,
    ring_enter: u64,
    sqes: u64,
    ring_tids: BTreeSet<u32>,
    /// (op kind, syscall, tid) -> calls on the scratch directory.
    file_calls: BTreeMap<(String, String, u32), u64>,
    /// Directories opened with O_DIRECTORY (their fstat/close belong to readdir).
    dirs: BTreeSet<PathBuf>,
}

/// Parse strace `-f -y` output, joining `<unfinished ...>` calls with their `resumed` half.
fn parse_trace(text: &str, roots: &Roots) -> Trace {
    let mut t = Trace::default();
    let mut pending: HashMap<u32, (String, String)> = HashMap::new();
    let mut seen: BTreeSet<u32> = BTreeSet::new();
    for line in text.lines() {
        let (pid, rest) = split_pid(line);
        if t.main_pid.is_none() && pid != 0 {
            t.main_pid = Some(pid);
        }
        seen.insert(pid);
        let rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("<... ") {
            let Some(end) = r.find(" resumed>") else {
                continue;
            };
            if let Some((name, args)) = pending.remove(&pid) {
                let tail = &r[end + " resumed>".len()..];
                t.call(pid, &name, &format!("{args}{tail}"), roots);
            }
            continue;
        }
        if rest.starts_with("---") || rest.starts_with("+++") {
            continue;
        }
        let Some(open) = rest.find('(') else { continue };
        let name = &rest[..open];
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        let args = &rest[open + 1..];
        if let Some(a) = args.strip_suffix("<unfinished ...>") {
            pending.insert(pid, (name.to_string(), a.to_string()));
        } else {
            t.call(pid, name, args, roots);
        }
    }
    // Calls cut short (the process was killed) still happened.
    for (pid, (name, args)) in pending {
        t.call(pid, &name, &args, roots);
    }
    // Every pid but the main one is a thread or process the child created.
    if let Some(main) = t.main_pid {
        t.thread_tids
            .extend(seen.into_iter().filter(|&p| p != main && p != 0));
    }
    t
}

fn split_pid(line: &str) -> (u32, &str) {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && line[digits..].starts_with(' ') {
        (line[..digits].parse().unwrap_or(0), &line[digits..])
    } else {
        (0, line)
    }
}

impl Trace {
    fn call(&mut self, tid: u32, name: &str, args: &str, roots: &Roots) {
        match name {
            "prctl" if args.starts_with("PR_SET_NAME") => {
                // The first name sticks: the harness names its runtime threads first thing,
                // and a runtime that renames the thread it was built on must not hide that.
                if let Some(n) = quoted(args) {
                    self.names.entry(tid).or_insert(n);
                }
                return;
            }
            "clone" | "clone3" | "fork" | "vfork" => {
                if args.contains("CLONE_THREAD") {
                    self.threads_spawned += 1;
                } else if !failed(args) {
                    self.processes_spawned += 1;
                }
                return;
            }
            "io_uring_setup" => {
                self.ring_setup += 1;
                self.ring_tids.insert(tid);
                return;
            }
            "io_uring_register" => {
                self.ring_register += 1;
                return;
            }
            "io_uring_enter" => {
                self.ring_enter += 1;
                self.ring_tids.insert(tid);
                self.sqes += args
                    .split(", ")
                    .nth(1)
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .unwrap_or(0);
                return;
            }
            _ => {}
        }
        let path_first = matches!(
            name,
            "open" | "creat" | "stat" | "lstat" | "mkdir" | "chmod"
        );
        let dirfd_path = matches!(
            name,
            "openat" | "openat2" | "mkdirat" | "fchmodat" | "fchmodat2" | "newfstatat" | "statx"
        );
        let (target, fd_based) = if path_first {
            (quoted(args).map(PathBuf::from), false)
        } else if dirfd_path {
            let p = quoted(args).unwrap_or_default();
            if p.is_empty() {
                (fd_path(args).map(PathBuf::from), true)
            } else if p.starts_with('/') {
                (Some(PathBuf::from(p)), false)
            } else {
                (fd_path(args).map(|d| Path::new(&d).join(&p)), false)
            }
        } else {
            (fd_path(args).map(PathBuf::from), true)
        };
        let Some(target) = target.filter(|p| roots.contains(p)) else {
            return;
        };
        let is_dir_open =
            matches!(name, "open" | "openat" | "openat2") && args.contains("O_DIRECTORY");
        if is_dir_open {
            self.dirs.insert(target.clone());
        }
        let kind = match name {
            "read" | "pread64" | "readv" | "preadv" | "preadv2" => "read",
            "write" | "pwrite64" | "writev" | "pwritev" | "pwritev2" => "write",
            "open" | "openat" | "openat2" | "creat" if is_dir_open => "readdir",
            "open" | "openat" | "openat2" | "creat" => "open",
            "close" if self.dirs.contains(&target) => "readdir",
            "close" => "close",
            "fsync" | "fdatasync" | "sync_file_range" => "fsync",
            "mkdir" | "mkdirat" => "mkdir",
            "statx" | "newfstatat" | "fstat" | "stat" | "lstat"
                if fd_based && self.dirs.contains(&target) =>
            {
                "readdir"
            }
            "statx" | "newfstatat" | "fstat" | "stat" | "lstat" => "stat",
            "chmod" | "fchmod" | "fchmodat" | "fchmodat2" => "chmod",
            "getdents64" | "getdents" => "readdir",
            _ => "other",
        };
        *self
            .file_calls
            .entry((kind.to_string(), name.to_string(), tid))
            .or_default() += 1;
    }
}

/// Whether a completed call line failed (`= -1 ...`).
fn failed(args: &str) -> bool {
    args.rsplit_once(" = ")
        .is_some_and(|(_, r)| r.starts_with('-'))
}

/// The path `-y` printed for the first descriptor argument: `3</a/b>` or `AT_FDCWD</cwd>`.
fn fd_path(args: &str) -> Option<String> {
    let first = args.split(", ").next()?;
    let open = first.find('<')?;
    let inner = &first[open + 1..];
    let end = inner.rfind('>')?;
    Some(inner[..end].to_string())
}

/// The first double-quoted string of the arguments, unescaped.
fn quoted(args: &str) -> Option<String> {
    let start = args.find('"')?;
    let mut out = String::new();
    let mut chars = args[start + 1..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Rendering

const METHOD: &str = "Each engine ran one tiny trial per workload in the same trial child as `ringbench run` \
(`ringbench __trial`, same spec), under `strace -f -qq -y`. A file syscall counts only when the path it names \
(its descriptor as printed by `-y`, or its path argument) lies inside the audit's scratch directory, which leaves \
out the child's own setup (libraries, the spec on stdin, the result on stdout, /proc and /sys reads); datasets are \
made and copies verified by the untraced parent. Ring activity is counted whole: io_uring_setup/register/enter and \
the SQEs submitted (io_uring_enter's to_submit). The harness runs each runtime on threads it names `ringbench-N` \
(the runtime thread); a file syscall on any other thread is a helper (pool) call. Threads spawned are clone/clone3 \
calls with CLONE_THREAD, less the harness's own. Kernel io-wq workers make no syscalls and are not counted. Each op \
the workload performs is checked against the engine's declared route: Ring = no file syscall of that kind and the \
ring entered (and at least one SQE per ring read/write); Pool = such calls on helper threads only; Inline = on the \
runtime thread only.";

fn per_mib(c: &AuditCell, key: &str) -> f64 {
    c.per_mib.get(key).copied().unwrap_or(0.0)
}

fn fmt_rate(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// An op's observed calls per MiB with where they ran: `8.00 inline`, `8.00 pool`, `ring`.
fn op_cell(c: &AuditCell, op: &str) -> String {
    let Some(o) = c.ops.get(op) else {
        return "-".into();
    };
    if !o.exercised && o.runtime_thread + o.helper_threads == 0 {
        return "-".into();
    }
    let mib = c.bytes as f64 / (1024.0 * 1024.0);
    let n = o.runtime_thread + o.helper_threads;
    let mark = if o.ok { "" } else { " !" };
    if n == 0 {
        return format!("{}{mark}", o.observed);
    }
    let rate = if mib > 0.0 {
        fmt_rate(n as f64 / mib)
    } else {
        n.to_string()
    };
    format!("{rate} {}{mark}", o.observed)
}

fn counts(c: &AuditCell, ops: &[&str]) -> String {
    ops.iter()
        .map(|op| {
            c.ops
                .get(*op)
                .map_or(0, |o| o.runtime_thread + o.helper_threads)
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn helpers(c: &AuditCell) -> String {
    let n: u64 = c.threads.helpers.values().sum();
    if n == 0 {
        return "0".into();
    }
    let names = c
        .threads
        .helpers
        .iter()
        .map(|(k, v)| format!("{v}x {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{n} ({names})")
}

struct Row(Vec<String>);

fn rows(r: &AuditReport) -> (Vec<&'static str>, Vec<Row>) {
    let head = vec![
        "engine",
        "workload",
        "MiB",
        "SQEs/MiB",
        "enter/MiB",
        "read calls/MiB",
        "write calls/MiB",
        "open/close/fsync",
        "stat/mkdir/chmod/readdir",
        "helper threads",
        "routes",
    ];
    let mut out = Vec::new();
    for c in &r.cells {
        if c.status != "ok" {
            out.push(Row(vec![
                c.engine.clone(),
                c.workload.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "FAILED".into(),
            ]));
            continue;
        }
        out.push(Row(vec![
            c.engine.clone(),
            c.workload.clone(),
            format!("{:.2}", c.bytes as f64 / (1024.0 * 1024.0)),
            fmt_rate(per_mib(c, "io_uring_sqes")),
            fmt_rate(per_mib(c, "io_uring_enter")),
            op_cell(c, "read"),
            op_cell(c, "write"),
            counts(c, &["open", "close", "fsync"]),
            counts(c, &["stat", "mkdir", "chmod", "readdir"]),
            helpers(c),
            if c.mismatches.is_empty() {
                "as declared".into()
            } else {
                format!("{} MISMATCH", c.mismatches.len())
            },
        ]));
    }
    (head, out)
}

/// "interrupted by SIGINT after 3 of 20 cells ...", when the audit was cut short.
pub fn interrupted_line(r: &AuditReport) -> Option<String> {
    r.interrupted.then(|| {
        format!(
            "INTERRUPTED by {} after {} of {} cells: only the cells that finished are shown; the rest were not audited",
            r.interrupted_by.as_deref().unwrap_or("a signal"),
            r.cells.len(),
            r.planned
        )
    })
}

/// The terminal table, then the mismatches.
pub fn render_table(r: &AuditReport) -> String {
    let (head, rows) = rows(r);
    let mut width: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (i, v) in row.0.iter().enumerate() {
            width[i] = width[i].max(v.chars().count());
        }
    }
    let mut s = String::new();
    let line = |s: &mut String, cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{v:<w$}", w = width[i]))
            .collect();
        let _ = writeln!(s, "{}", parts.join("  ").trim_end());
    };
    line(
        &mut s,
        &head.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
    );
    for row in &rows {
        line(&mut s, &row.0);
    }
    s.push_str(LEGEND);
    s.push('\n');
    for sk in &r.skipped {
        let _ = writeln!(s, "skipped {}: {}", sk.engine, sk.reason);
    }
    if let Some(l) = interrupted_line(r) {
        let _ = writeln!(s, "{l}");
    }
    for c in &r.cells {
        if let Some(e) = &c.error {
            let _ = writeln!(s, "FAILED {} {}: {e}", c.engine, c.workload);
        }
        for m in &c.mismatches {
            let _ = writeln!(s, "MISMATCH {} {}: {m}", c.engine, c.workload);
        }
    }
    s
}

const LEGEND: &str = "\nread/write calls: file syscalls of that op per MiB moved and where they ran (inline = the runtime \
thread, pool = helper threads, ring = none: the op went through io_uring; ! = contradicts the declared route). \
open/close/fsync and stat/mkdir/chmod/readdir: syscall counts on the workload's files. SQEs: submitted to io_uring.";

/// `audit.md`: the method, the table and the mismatches, for the run report.
pub fn render_markdown(r: &AuditReport) -> String {
    let (head, rows) = rows(r);
    let mut s = String::new();
    let _ = writeln!(s, "## Proof of path (syscall audit)\n");
    let p = &r.parameters;
    let _ = writeln!(
        s,
        "Tiny trials: {} single file, {} blocks, queue depth {}, {} small files, tree {}x{}x{}, fsync {}; traced with {} on {}.\n",
        workloads::units::size(p.size),
        workloads::units::size(p.block_size as u64),
        p.queue_depth,
        p.files,
        p.tree[0],
        p.tree[1],
        p.tree[2],
        if p.fsync { "on" } else { "off" },
        r.strace,
        r.started
    );
    if let Some(l) = interrupted_line(r) {
        let _ = writeln!(s, "**{l}.**\n");
    }
    let _ = writeln!(s, "| {} |", head.join(" | "));
    let _ = writeln!(s, "|{}", head.iter().map(|_| "---|").collect::<String>());
    for row in &rows {
        let _ = writeln!(
            s,
            "| {} |",
            row.0
                .iter()
                .map(|v| v.replace('|', "/"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    let _ = writeln!(s, "{}\n", LEGEND.trim());
    let mismatches: Vec<String> = r
        .cells
        .iter()
        .flat_map(|c| {
            c.mismatches
                .iter()
                .map(move |m| format!("- **{}** on `{}`: {m}", c.engine, c.workload))
        })
        .collect();
    if mismatches.is_empty() {
        let _ = writeln!(
            s,
            "Every engine's observed system calls agree with the routes it declares{}.\n",
            if r.interrupted {
                " (in the cells that ran)"
            } else {
                ""
            }
        );
    } else {
        let _ = writeln!(s, "### Declared routes contradicted by the trace\n");
        for m in mismatches {
            let _ = writeln!(s, "{m}");
        }
        s.push('\n');
    }
    for c in r.cells.iter().filter(|c| c.status != "ok") {
        let _ = writeln!(
            s,
            "- {} `{}` failed: {}",
            c.engine,
            c.workload,
            c.error.as_deref().unwrap_or("")
        );
    }
    for sk in &r.skipped {
        let _ = writeln!(s, "- {} skipped: {}", sk.engine, sk.reason);
    }
    let _ = writeln!(s, "\nMethod: {}", r.method);
    s
}

/// Write `audit.json` and `audit.md` into the output folder.
pub fn write(r: &AuditReport, out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("audit.json"), serde_json::to_vec_pretty(r)?)
        .with_context(|| format!("writing {}", out.join("audit.json").display()))?;
    std::fs::write(out.join("audit.md"), render_markdown(r))
        .with_context(|| format!("writing {}", out.join("audit.md").display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots() -> Roots {
        Roots(vec![PathBuf::from("/s")])
    }

    #[test]
    fn joins_unfinished_calls_and_filters_by_path() {
        let text = r#"100   execve("/bin/ringbench", ["ringbench", "__trial"], 0x0 /* 1 var */) = 0
100   read(0<pipe:[1]>, "{}", 32) = 2
100   clone3({flags=CLONE_VM|CLONE_THREAD, child_tid=0x1}, 88) = 101
101   prctl(PR_SET_NAME, "ringbench-0") = 0
101   clone3({flags=CLONE_VM|CLONE_THREAD, child_tid=0x2}, 88) = 102
102   prctl(PR_SET_NAME, "tokio-rt-worker"...) = 0
102   openat(AT_FDCWD</home>, "/s/src/a", O_RDONLY|O_CLOEXEC) = 3</s/src/a>
102   pread64(3</s/src/a>,  <unfinished ...>
101   io_uring_enter(6<anon_inode:[io_uring]>, 3, 0, 0, NULL, 128) = 3
102   <... pread64 resumed>"\301\\", 131072, 0) = 131072
101   pwrite64(4</s/dst/a>, "\301", 131072, 0) = 131072
101   openat(AT_FDCWD</home>, "/proc/self/fd", O_RDONLY|O_DIRECTORY) = 5</proc/100/fd>
101   openat(AT_FDCWD</home>, "/s/src/tree", O_RDONLY|O_DIRECTORY) = 5</s/src/tree>
101   newfstatat(5</s/src/tree>, "", {st_mode=S_IFDIR|0755, ...}, AT_EMPTY_PATH) = 0
101   getdents64(5</s/src/tree>, 0x1 /* 3 entries */, 32768) = 80
101   close(5</s/src/tree>) = 0
101   statx(AT_FDCWD</home>, "/s/src/tree/f", AT_SYMLINK_NOFOLLOW, STATX_ALL, {}) = 0
101   mkdirat(5</s/dst>, "sub", 0700) = 0
100   write(1<pipe:[2]>, "{\"ringbench_trial\"", 10) = 10
"#;
        let t = parse_trace(text, &roots());
        assert_eq!(t.main_pid, Some(100));
        assert_eq!(
            t.names.get(&102).map(String::as_str),
            Some("tokio-rt-worker")
        );
        assert_eq!(t.threads_spawned, 2);
        assert_eq!((t.ring_enter, t.sqes), (1, 3));
        let get = |k: &str, n: &str, tid: u32| {
            t.file_calls
                .get(&(k.to_string(), n.to_string(), tid))
                .copied()
                .unwrap_or(0)
        };
        assert_eq!(get("open", "openat", 102), 1);
        assert_eq!(get("read", "pread64", 102), 1);
        assert_eq!(get("write", "pwrite64", 101), 1);
        assert_eq!(get("readdir", "openat", 101), 1);
        assert_eq!(get("readdir", "newfstatat", 101), 1);
        assert_eq!(get("readdir", "getdents64", 101), 1);
        assert_eq!(get("readdir", "close", 101), 1);
        assert_eq!(get("stat", "statx", 101), 1);
        assert_eq!(get("mkdir", "mkdirat", 101), 1);
        // stdin, stdout and /proc are not the workload's.
        assert_eq!(t.file_calls.values().sum::<u64>(), 9);
    }

    fn cell_for(text: &str, routes: Routes) -> AuditCell {
        let t = parse_trace(text, &roots());
        let plan = TrialPlan {
            workload: Workload::Read,
            src: "/s/src/a".into(),
            dst: "/s/dst/x".into(),
            size: 1 << 20,
            files: 1,
            files_in_flight: 1,
            tree: workloads::data::TreeShape {
                depth: 0,
                fanout: 1,
                files_per_dir: 0,
            },
            direct: false,
            fsync: false,
            seed: 1,
            threads: 1,
            runtime: workloads::RuntimeConfig::default(),
            cancel_rate: 0.0,
        };
        let mut c = AuditCell {
            bytes: 1 << 20,
            harness_ops: HarnessOps {
                reads: 1,
                writes: 0,
                other: 2,
            },
            ..Default::default()
        };
        fill_cell(&mut c, &t, &routes, &plan);
        c
    }

    const POOLED_READ: &str = r#"100   execve("/bin/ringbench", ["ringbench"], 0x0) = 0
100   clone3({flags=CLONE_THREAD}, 88) = 101
101   prctl(PR_SET_NAME, "ringbench-0") = 0
101   io_uring_setup(256, {}) = 6
101   openat(AT_FDCWD</home>, "/s/src/a", O_RDONLY) = 3</s/src/a>
101   clone3({flags=CLONE_THREAD}, 88) = 102
102   prctl(PR_SET_NAME, "pool") = 0
102   pread64(3</s/src/a>, "", 131072, 0) = 131072
101   io_uring_enter(6<anon_inode:[io_uring]>, 1, 0, 0, NULL, 8) = 1
101   close(3</s/src/a>) = 0
"#;

    #[test]
    fn a_pool_read_declared_ring_is_a_mismatch() {
        let routes = Routes {
            read: Route::Ring,
            open: Route::Inline,
            close: Route::Inline,
            ..Routes::INLINE
        };
        let c = cell_for(POOLED_READ, routes);
        assert_eq!(c.ops["read"].observed, "pool");
        assert!(!c.ops["read"].ok);
        assert!(
            c.mismatches
                .iter()
                .any(|m| m.contains("declares Ring for read") && m.contains("1 pread64")),
            "{:?}",
            c.mismatches
        );
        assert_eq!(c.threads.harness, 1);
        assert_eq!(c.threads.helpers.get("pool"), Some(&1));
        assert!(c.ops["open"].ok && c.ops["close"].ok);
    }

    #[test]
    fn declared_pool_matches_and_inline_on_a_helper_does_not() {
        let ok = cell_for(
            POOLED_READ,
            Routes {
                read: Route::Pool,
                ..Routes::INLINE
            },
        );
        assert!(ok.mismatches.is_empty(), "{:?}", ok.mismatches);
        let bad = cell_for(POOLED_READ, Routes::INLINE);
        assert_eq!(bad.mismatches.len(), 1, "{:?}", bad.mismatches);
        assert!(bad.mismatches[0].contains("declares Inline for read"));
    }

    #[test]
    fn ring_needs_an_sqe_per_ring_op() {
        let text = "100   execve(\"x\", [], 0) = 0\n101   prctl(PR_SET_NAME, \"ringbench-0\") = 0\n101   io_uring_enter(6<anon_inode:[io_uring]>, 0, 1, IORING_ENTER_GETEVENTS, NULL, 8) = 0\n101   openat(AT_FDCWD</h>, \"/s/src/a\", O_RDONLY) = 3</s/src/a>\n101   close(3</s/src/a>) = 0\n";
        let c = cell_for(
            text,
            Routes {
                read: Route::Ring,
                ..Routes::INLINE
            },
        );
        assert_eq!(c.ops["read"].observed, "ring");
        assert!(
            c.mismatches.iter().any(|m| m.contains("only 0 SQEs")),
            "{:?}",
            c.mismatches
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(fd_path("3</a/b c>, \"x\", 1"), Some("/a/b c".into()));
        assert_eq!(fd_path("AT_FDCWD</cwd>, \"p\""), Some("/cwd".into()));
        assert_eq!(
            quoted("PR_SET_NAME, \"tokio-rt-worker\"...) = 0"),
            Some("tokio-rt-worker".into())
        );
        assert_eq!(quoted("x, \"a\\\"b\""), Some("a\"b".into()));
        assert_eq!(split_pid("123  close(3) = 0"), (123, "  close(3) = 0"));
        assert_eq!(
            exercised(Workload::Read, true),
            vec!["open", "read", "close"]
        );
    }
}
