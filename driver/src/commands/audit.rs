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

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use workloads::TrialPlan;

use crate::analysis::audit::{Roots, fill_cell, parse_trace};
use crate::plan::faults::engine_info;
use crate::plan::options::RunOptions;
use crate::proc::child::TrialSpec;
use crate::proc::spawn::{self, Exit};
use crate::render::audit::render_markdown;
use crate::results::audit::{
    AUDIT_SCHEMA, AuditCell, AuditParams, AuditReport, HarnessOps, SkippedEngine,
};
use crate::sys::scratch::{self, Scratch};

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
        cpu: None,
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

/// Write `audit.json` (its one writer, `results::audit::write`) and `audit.md` into the
/// output folder.
pub fn write(r: &AuditReport, out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    crate::results::audit::write(r, out)?;
    std::fs::write(out.join("audit.md"), render_markdown(r))
        .with_context(|| format!("writing {}", out.join("audit.md").display()))?;
    Ok(())
}
