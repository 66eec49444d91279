//! Plumbing for the standalone reproducers that check the safety matrix from outside.
//!
//! A safety cell is only trusted when a reproducer written **outside the harness** — a few
//! dozen lines against the runtime's public API, as its documentation shows it, with raw pipes
//! and `/proc/self/fd` for the oracle — sees the same thing. Each engine crate keeps its
//! reproducers in `tests/repro.rs` (a `harness = false` test whose `main` calls [`main`]); this
//! module only runs them: each reproducer and each harness cell in its own forked child with a
//! deadline (descriptor counts are process-wide, and a hang must not take the test with it),
//! then compares the kinds of finding both saw.
//!
//! What is compared: descriptor leaks (beyond the engine's baseline), data loss, ghost writes
//! and hangs. Use-after-free is not: a reproducer has no quarantining allocator, and the
//! harness's memory oracle is off in a test binary too. A race may not happen every time, so
//! each side runs [`TRIES`] times (up to [`MAX_TRIES`] while they disagree) and the *union* of
//! kinds is compared.

use std::collections::BTreeSet;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Engine;
use crate::safety::{self, Observation, Verdict};

/// Runs of each side per scenario.
pub const TRIES: usize = 3;
/// Runs of each side when the first [`TRIES`] disagree: a race that went one way on one side
/// and the other way on the other (an op completed at its first poll in every reproducer run,
/// pending in a harness run) is given more chances to show on both before it counts as a
/// disagreement.
pub const MAX_TRIES: usize = 8;
/// Deadline of one run (a reproducer or a harness cell); past it the run is a hang.
pub const DEADLINE: Duration = Duration::from_secs(8);

/// What a standalone reproducer saw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    /// Descriptors open after the scenario that were not before, **beyond** what the same
    /// steps leak without the drop (the reproducer measures that twin itself).
    pub leaked_fds: i64,
    /// Bytes sent and never delivered (through the same handle, or a raw drain).
    pub lost_bytes: u64,
    /// Bytes of a write whose future was dropped that reached the file or pipe.
    pub ghost_bytes: u64,
    /// A wait (drop, close, runtime shutdown) that ended only once the reproducer supplied
    /// the data, or never.
    pub hang: bool,
    /// Whether the race the scenario is about really happened (the op had completed in the
    /// kernel before the drop), where the reproducer counted it.
    pub raced: Option<bool>,
    /// What it saw, in words.
    pub notes: Vec<String>,
}

impl Seen {
    /// The kinds of finding, in the harness's words.
    pub fn kinds(&self) -> BTreeSet<&'static str> {
        let mut k = BTreeSet::new();
        if self.leaked_fds > 0 {
            k.insert("leak-fd");
        }
        if self.lost_bytes > 0 {
            k.insert("data-loss");
        }
        if self.ghost_bytes > 0 {
            k.insert("ghost-write");
        }
        if self.hang {
            k.insert("hang");
        }
        k
    }
}

/// How an isolated run ended.
#[derive(Clone, Debug)]
pub enum Ended<T> {
    /// It returned this.
    Done(T),
    /// Still running at the deadline: killed.
    Deadline,
    /// It died (a signal, a panic, no reply), with what was seen.
    Died(String),
}

/// The kinds of finding of a harness observation that a reproducer can also see.
pub fn cell_kinds(o: &Observation) -> BTreeSet<&'static str> {
    let mut k = BTreeSet::new();
    for f in &o.findings {
        match f {
            Verdict::Leak { what, .. } if what == "fd" => {
                k.insert("leak-fd");
            }
            Verdict::DataLoss { .. } => {
                k.insert("data-loss");
            }
            Verdict::GhostWrite { .. } => {
                k.insert("ghost-write");
            }
            Verdict::Hang { .. } => {
                k.insert("hang");
            }
            _ => {}
        }
    }
    k
}

fn ended_kinds<T>(
    e: &Ended<T>,
    kinds: impl Fn(&T) -> BTreeSet<&'static str>,
) -> BTreeSet<&'static str> {
    match e {
        Ended::Done(v) => kinds(v),
        Ended::Deadline => ["hang"].into_iter().collect(),
        Ended::Died(_) => ["crash"].into_iter().collect(),
    }
}

/// Run `f` in a forked child with `deadline`; its value comes back as JSON through a pipe.
///
/// Call from a single-threaded process (a `harness = false` test's `main`): a fork copies only
/// the calling thread.
pub fn isolated<T: Serialize + DeserializeOwned>(
    deadline: Duration,
    f: impl FnOnce() -> T,
) -> Ended<T> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Ended::Died(format!("pipe: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: pipe2 returned these; we own them.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: fork; the child only runs `f`, writes its reply and exits without unwinding
    // into the parent's state.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Ended::Died(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // The child: its own process group, so the deadline kills what it started too.
        // SAFETY: setpgid on ourselves.
        unsafe { libc::setpgid(0, 0) };
        drop(r);
        // The harness's progress lines (and a runtime's chatter) would bury the comparison:
        // stderr goes nowhere unless RINGBENCH_REPRO_VERBOSE is set.
        if std::env::var_os("RINGBENCH_REPRO_VERBOSE").is_none()
            && let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null")
        {
            // SAFETY: replacing our own stderr with /dev/null.
            unsafe { libc::dup2(null.as_raw_fd(), 2) };
        }
        let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            Ok(v) => {
                let mut line = serde_json::to_vec(&v).unwrap_or_default();
                line.push(b'\n');
                let mut file = std::fs::File::from(w);
                let _ = std::io::Write::write_all(&mut file, &line);
                0
            }
            Err(_) => 101,
        };
        // SAFETY: leave at once: no destructors of the parent's copied state.
        unsafe { libc::_exit(code) };
    }
    drop(w);
    let t = Instant::now();
    let mut status = 0;
    let timed_out = loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break false;
        }
        if t.elapsed() >= deadline {
            // SAFETY: killing the child's process group, then reaping it.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            break true;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if timed_out {
        return Ended::Deadline;
    }
    let mut out = String::new();
    let _ = std::fs::File::from(r).read_to_string(&mut out);
    if libc::WIFSIGNALED(status) {
        return Ended::Died(format!("signal {}", libc::WTERMSIG(status)));
    }
    match serde_json::from_str(out.trim()) {
        Ok(v) => Ended::Done(v),
        Err(_) => Ended::Died(format!(
            "exit {} without a reply (a panic?)",
            libc::WEXITSTATUS(status)
        )),
    }
}

/// The `ringbench` binary built beside this test (`target/<profile>/ringbench`), when it is
/// there and no older than this test executable by more than a few minutes (both come from one
/// `cargo test --workspace`); `RINGBENCH_BIN` overrides.
fn ringbench_bin() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("RINGBENCH_BIN") {
        return Some(p.into());
    }
    let me = std::env::current_exe().ok()?;
    let bin = me.parent()?.parent()?.join("ringbench");
    let age = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let (b, t) = (age(&bin)?, age(&me)?);
    let stale = t
        .duration_since(b)
        .is_ok_and(|d| d > Duration::from_secs(600));
    (!stale).then_some(bin)
}

/// Run one harness cell exactly as `ringbench safety` does: `ringbench __safety ENGINE
/// SCENARIO --params JSON`, a fresh process (not a fork of this one, whose state — a ring, a
/// buffer pool — a fork would inherit), its one JSON line read back.
fn exec_cell(
    bin: &std::path::Path,
    engine: &str,
    scenario: &str,
    params: &safety::Params,
) -> Ended<Result<Observation, String>> {
    use std::process::{Command, Stdio};
    let Ok(json) = serde_json::to_string(params) else {
        return Ended::Died("cannot encode the parameters".into());
    };
    let child = Command::new(bin)
        .args(["__safety", engine, scenario, "--params", &json])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return Ended::Died(format!("cannot start {}", bin.display()));
    };
    let t = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if t.elapsed() >= DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                return Ended::Deadline;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Ended::Died(e.to_string()),
        }
    }
    let mut out = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    let Some(v) = out
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l.trim()).ok())
    else {
        return Ended::Died("no reply from the harness child".into());
    };
    match v["status"].as_str() {
        Some("observed") => match serde_json::from_value::<Observation>(v) {
            Ok(o) => Ended::Done(Ok(o)),
            Err(e) => Ended::Died(format!("bad reply: {e}")),
        },
        Some("skipped") => Ended::Done(Err(v["reason"].as_str().unwrap_or("skipped").to_string())),
        _ => Ended::Died(format!("the harness child said: {v}")),
    }
}

/// The harness's own cell for `scenario` on `E`, run the way the driver runs it: the engine's
/// baseline first (its own process), then the scenario judged against it (another). Through
/// the built `ringbench` binary when there is one ([`ringbench_bin`]), else in forked
/// children of this process.
pub fn harness_cell<E: Engine>(scenario: &str, seed: u64) -> Ended<Observation> {
    let fork = |id: &str, params: &safety::Params| {
        isolated(DEADLINE, || safety::run_with::<E>(id, params))
    };
    let seeded = safety::Params::seeded(seed);
    let mut bin = ringbench_bin();
    let mut first = bin
        .as_ref()
        .map(|b| exec_cell(b, E::INFO.name, safety::BASELINE, &seeded));
    // A binary built without this engine (a cargo feature this test has and it lacks) says
    // it cannot run it: then the cells run in forked children, which have the engine.
    if let Some(Ended::Done(Err(_)) | Ended::Died(_)) = &first {
        bin = None;
        first = None;
    }
    let baseline = match first.unwrap_or_else(|| fork(safety::BASELINE, &seeded)) {
        Ended::Done(Ok(o)) => o.baseline.clone(),
        Ended::Done(Err(e)) => return Ended::Died(format!("baseline: {e}")),
        Ended::Deadline => return Ended::Died("baseline: hang".into()),
        Ended::Died(d) => return Ended::Died(format!("baseline: {d}")),
    };
    let params = safety::Params {
        seed,
        baseline,
        ..safety::Params::default()
    };
    let cell = match &bin {
        Some(b) => exec_cell(b, E::INFO.name, scenario, &params),
        None => fork(scenario, &params),
    };
    match cell {
        Ended::Done(Ok(o)) => Ended::Done(o),
        Ended::Done(Err(e)) => Ended::Died(format!("skipped: {e}")),
        Ended::Deadline => Ended::Deadline,
        Ended::Died(d) => Ended::Died(d),
    }
}

/// One reproducer: the scenario it reproduces and the function that does it.
pub type Repro = (&'static str, fn() -> Seen);

/// Run each reproducer and its harness cell [`TRIES`] times, print whether they agree, and
/// end with the plain `N passed, N failed` line. The exit code is non-zero on a disagreement.
///
/// A scenario the harness skips on this engine (no spawn, io_uring unavailable) is reported
/// as skipped with the reason, never as passed.
pub fn main<E: Engine>(repros: &[Repro]) -> std::process::ExitCode {
    let only: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    // The probe runs in a child too: a probe may leave a runtime (or a thread-local ring) in
    // this process, and every forked child would inherit it — submitting to a ring whose
    // kernel side belongs to this process changes how ops complete.
    let probed = match isolated(DEADLINE, || E::probe()) {
        Ended::Done(r) => r,
        Ended::Deadline => Err("the engine's probe did not return".into()),
        Ended::Died(d) => Err(format!("the engine's probe died: {d}")),
    };
    if let Err(why) = probed {
        if std::env::var_os("RINGBENCH_REQUIRE_ENGINES").is_some() {
            eprintln!(
                "{}: engine unavailable here and RINGBENCH_REQUIRE_ENGINES is set: {why}",
                E::INFO.name
            );
            return std::process::ExitCode::FAILURE;
        }
        println!("0 passed, 0 failed, {} skipped", repros.len());
        println!("skipped: {} unavailable here: {why}", E::INFO.name);
        return std::process::ExitCode::SUCCESS;
    }
    match ringbench_bin() {
        Some(b) => println!(
            "harness cells run by {} (or in forked children where it lacks the engine)",
            b.display()
        ),
        None => println!(
            "harness cells run in forked children (no fresh ringbench binary beside this test)"
        ),
    }
    let (mut pass, mut fail, mut skip) = (0, 0, 0);
    // RINGBENCH_REPRO_ONLY=1: run the reproducers alone and print what each saw (for writing
    // one; compares nothing, so it counts nothing as passed).
    let alone = std::env::var_os("RINGBENCH_REPRO_ONLY").is_some();
    for (scenario, f) in repros {
        if only.as_deref().is_some_and(|o| !scenario.contains(o)) {
            continue;
        }
        if alone {
            println!("{} {scenario}: {:?}", E::INFO.name, isolated(DEADLINE, *f));
            continue;
        }
        match agree::<E>(scenario, *f) {
            Agreement::Agree(s) => {
                pass += 1;
                println!("ok      {} {scenario}: {s}", E::INFO.name);
            }
            Agreement::Skipped(s) => {
                skip += 1;
                println!("skipped {} {scenario}: {s}", E::INFO.name);
            }
            Agreement::Disagree(s) => {
                fail += 1;
                println!("FAILED  {} {scenario}: {s}", E::INFO.name);
            }
        }
    }
    println!("{pass} passed, {fail} failed, {skip} skipped");
    if fail > 0 {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}

/// The outcome of comparing a reproducer with its harness cell.
#[derive(Clone, Debug)]
pub enum Agreement {
    /// Both saw the same kinds of finding; what they saw.
    Agree(String),
    /// The harness skipped the cell; why.
    Skipped(String),
    /// They saw different things; both sides.
    Disagree(String),
}

fn words(k: &BTreeSet<&str>) -> String {
    if k.is_empty() {
        "nothing".into()
    } else {
        k.iter().copied().collect::<Vec<_>>().join(", ")
    }
}

/// Run reproducer `f` and the harness's `scenario` cell on `E` [`TRIES`] times each (each run
/// in its own child) and compare the union of the kinds of finding each side saw.
pub fn agree<E: Engine>(scenario: &str, f: fn() -> Seen) -> Agreement {
    let (mut rk, mut hk) = (BTreeSet::new(), BTreeSet::new());
    let (mut rn, mut hn) = (Vec::new(), Vec::new());
    let (mut rsets, mut hsets) = (Vec::new(), Vec::new());
    let mut notes = Vec::new();
    let mut i = 0;
    while i < TRIES || (rk != hk && i < MAX_TRIES) {
        let h = harness_cell::<E>(scenario, i as u64 + 1);
        if let Ended::Done(o) = &h
            && let Verdict::Skipped { reason } = &o.verdict
        {
            return Agreement::Skipped(reason.clone());
        }
        if let Ended::Died(d) = &h
            && let Some(why) = d.strip_prefix("skipped: ")
        {
            return Agreement::Skipped(why.to_string());
        }
        let k = ended_kinds(&h, cell_kinds);
        hn.push(words(&k));
        hsets.push(k.clone());
        hk.extend(k);
        let r = isolated(DEADLINE, f);
        if let Ended::Done(s) = &r
            && i == 0
        {
            notes.extend(s.notes.iter().cloned());
        }
        if let Ended::Died(d) = &r {
            notes.push(format!("reproducer died: {d}"));
        }
        let k = ended_kinds(&r, Seen::kinds);
        rn.push(words(&k));
        rsets.push(k.clone());
        rk.extend(k);
        i += 1;
    }
    let s = format!(
        "reproducer saw {}, harness saw {}{}{}",
        words(&rk),
        words(&hk),
        if i > TRIES {
            format!(
                " (after {i} runs each; per run: reproducer [{}], harness [{}])",
                rn.join("; "),
                hn.join("; ")
            )
        } else {
            String::new()
        },
        if notes.is_empty() {
            String::new()
        } else {
            format!(" (reproducer: {})", notes.join("; "))
        }
    );
    // A race that went both ways on one side (its runs differ) and never the other way on
    // the other side is not a contradiction of kind, only of frequency: it is reported as
    // not confirmed (skipped, visibly), never as passed.
    let varies = |v: &[BTreeSet<&'static str>]| v.windows(2).any(|w| w[0] != w[1]);
    if rk == hk {
        Agreement::Agree(s)
    } else if (varies(&rsets) && hk.is_subset(&rk)) || (varies(&hsets) && rk.is_subset(&hk)) {
        Agreement::Skipped(format!("intermittent race, not confirmed: {s}"))
    } else {
        Agreement::Disagree(s)
    }
}

/// Raw helpers a reproducer may use for its oracle: std and libc only (plain syscalls,
/// `/proc/self/fd`, threads, `std::future`), no runtime and no harness, so a reproducer that
/// uses them still depends on nothing but its runtime's public API. What differs between
/// reproducers (a scratch directory's name, a fallback delay, a settle time, the runtime's
/// timer) is a parameter.
pub mod raw {
    use super::*;
    use std::collections::BTreeMap;
    use std::future::Future;
    use std::path::{Path, PathBuf};
    use std::pin::Pin;
    use std::sync::mpsc;
    use std::task::Poll;

    /// Open descriptors of this process (`/proc/self/fd`, minus the listing's own).
    pub fn fds() -> i64 {
        std::fs::read_dir("/proc/self/fd")
            .map(|d| d.count() as i64 - 1)
            .unwrap_or(-1)
    }

    /// Wait up to `within` for the descriptor count to fall to `target`; the count then.
    pub fn fds_settled(target: i64, within: Duration) -> i64 {
        let t = Instant::now();
        let mut n = fds();
        while n > target && t.elapsed() < within {
            std::thread::sleep(Duration::from_millis(2));
            n = fds();
        }
        n
    }

    /// A pipe `(read end, write end)`, close-on-exec.
    pub fn pipe() -> (OwnedFd, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: room for two descriptors.
        assert_eq!(
            unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) },
            0,
            "pipe2"
        );
        // SAFETY: just created, ours.
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
    }

    /// Bytes waiting in a pipe (`FIONREAD`).
    pub fn pending(fd: &OwnedFd) -> usize {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int.
        unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) };
        n.max(0) as usize
    }

    /// Write all of `data` to `fd` (blocking).
    pub fn write_all(fd: &OwnedFd, data: &[u8]) {
        let mut f = std::mem::ManuallyDrop::new(
            // SAFETY: borrowed for the call; ManuallyDrop keeps it open.
            unsafe { std::fs::File::from_raw_fd(fd.as_raw_fd()) },
        );
        std::io::Write::write_all(&mut *f, data).expect("write to pipe");
    }

    /// Read whatever arrives on `fd` until nothing came for `idle` (non-blocking poll loop).
    pub fn drain(fd: &OwnedFd, idle: Duration) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            let mut p = libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut p, 1, idle.as_millis() as libc::c_int) };
            if r <= 0 {
                return out;
            }
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n as usize]);
        }
    }

    /// `/proc/self/fd/N` of a raw descriptor: how a pipe end (or any descriptor) is reopened
    /// through a runtime's own `open`.
    pub fn proc_path(fd: &impl AsRawFd) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
    }

    /// `n` recognisable bytes, different for each `seed`, none of them zero (so a file's
    /// unwritten hole never matches them).
    pub fn payload(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| ((i as u32).wrapping_mul(31).wrapping_add(u32::from(seed)) % 251 + 1) as u8)
            .collect()
    }

    /// Set a pipe's capacity to at least `n` bytes (`F_SETPIPE_SZ`; the kernel rounds up to a
    /// power of two pages); the capacity it has now. Panics if the kernel refuses, so a
    /// scenario never runs on a pipe of the wrong size.
    pub fn set_pipe_size(fd: &OwnedFd, n: usize) -> usize {
        // SAFETY: F_SETPIPE_SZ on a pipe the caller owns.
        let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, n as libc::c_int) };
        assert!(
            r >= n as libc::c_int,
            "F_SETPIPE_SZ: {}",
            std::io::Error::last_os_error()
        );
        r as usize
    }

    /// Descriptor number -> what it points at (`/proc/self/fd`), to name what is left over.
    pub fn fd_table() -> BTreeMap<i32, String> {
        let mut t = BTreeMap::new();
        for e in std::fs::read_dir("/proc/self/fd")
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Some(n) = e.file_name().to_str().and_then(|s| s.parse().ok()) {
                let target = std::fs::read_link(e.path())
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                t.insert(n, target);
            }
        }
        t
    }

    /// Descriptors open now that were not (or were something else) in `before`, in words
    /// (`"none"` when there are none); the listing's own descriptor is left out.
    pub fn new_fds(before: &BTreeMap<i32, String>) -> String {
        let v: Vec<String> = fd_table()
            .into_iter()
            .filter(|(k, v)| before.get(k) != Some(v) && !v.ends_with("/fd"))
            .map(|(k, v)| format!("{k} -> {v}"))
            .collect();
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    }

    /// Descriptors of this process that point at `path` (a file, a FIFO, or a name such as
    /// `anon_inode:[io_uring]`).
    pub fn fds_of(path: &Path) -> i64 {
        fd_table()
            .values()
            .filter(|t| Path::new(t.as_str()) == path)
            .count() as i64
    }

    /// Descriptors still open beyond `before` after up to `within` for late closes
    /// ([`fds_settled`]).
    pub fn extra_fds(before: i64, within: Duration) -> i64 {
        fds_settled(before, within) - before
    }

    /// Descriptors leaked since `before` (after up to `within` for late closes) and their
    /// names, against `table`, the [`fd_table`] taken with `before`.
    pub fn leaked_since(
        before: i64,
        table: &BTreeMap<i32, String>,
        within: Duration,
    ) -> (i64, String) {
        (extra_fds(before, within), new_fds(table))
    }

    /// Record in `seen` the descriptors open beyond `before` **and** beyond `base` (what the
    /// same steps leave open without a drop), after up to `within` for late closes, with a
    /// note of the three counts.
    pub fn leaked_beyond(before: i64, base: i64, within: Duration, seen: &mut Seen) {
        let after = fds_settled(before + base, within);
        seen.leaked_fds = after - before - base;
        seen.notes.push(format!(
            "descriptors: {before} before, {after} after, {base} left by the same steps without a drop"
        ));
    }

    /// Wait with plain sleeps (outside any runtime) until `cond` holds or `deadline` passes;
    /// whether it held.
    pub fn wait_until(mut cond: impl FnMut() -> bool, deadline: Duration) -> bool {
        let t = Instant::now();
        while !cond() {
            if t.elapsed() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        true
    }

    /// A scratch directory of this process, removed (with what is in it) on drop. Its path is
    /// canonical, so it compares equal to what `/proc/self/fd` links say.
    pub struct Scratch(PathBuf);

    impl Scratch {
        /// `$TMPDIR/ringbench-repro-<engine>-<what>-<pid>`, emptied first.
        pub fn new(engine: &str, what: &str) -> Scratch {
            let p = std::env::temp_dir().join(format!(
                "ringbench-repro-{engine}-{what}-{}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).expect("scratch dir");
            Scratch(p.canonicalize().expect("canonical scratch path"))
        }

        /// The directory.
        pub fn path(&self) -> &Path {
            &self.0
        }

        /// `name` inside the directory.
        pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// What a [`Feeder`] is told.
    enum Feed {
        /// Write now.
        Now,
        /// Do not write; give the write end back.
        Back,
    }

    /// Writes `data` into a pipe's write end on a helper thread when told to, or by itself
    /// after a fallback delay, then closes it: a wait (a drop, a close, a runtime shutdown)
    /// that only ends once data arrives shows as a hang (the fallback fed it) instead of
    /// hanging the reproducer.
    pub struct Feeder {
        tell: mpsc::Sender<Feed>,
        thread: std::thread::JoinHandle<(Option<OwnedFd>, bool)>,
    }

    impl Feeder {
        /// Start the helper for write end `w`; it writes on its own once `fallback` passed.
        /// Dropping the feeder untold makes it write at once.
        pub fn spawn(w: OwnedFd, data: Vec<u8>, fallback: Duration) -> Feeder {
            let (tell, rx) = mpsc::channel();
            let thread = std::thread::spawn(move || {
                let (fed, by_fallback) = match rx.recv_timeout(fallback) {
                    Ok(Feed::Back) => return (Some(w), false),
                    Ok(Feed::Now) => (true, false),
                    Err(_) => (true, true),
                };
                if fed {
                    write_all(&w, &data);
                }
                drop(w);
                (None, by_fallback)
            });
            Feeder { tell, thread }
        }

        /// Let it write now (if it has not already); whether its fallback had fired.
        pub fn go(self) -> bool {
            let _ = self.tell.send(Feed::Now);
            self.thread.join().expect("feeder thread").1
        }

        /// Stop it: the write end, unwritten, or `None` if the fallback had already written
        /// the data (the wait needed it) and closed it.
        pub fn stop(self) -> Option<OwnedFd> {
            let _ = self.tell.send(Feed::Back);
            self.thread.join().expect("feeder thread").0
        }
    }

    /// A FIFO at `path` (mode 0600). Panics if it cannot be made.
    pub fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    }

    /// Open the FIFO at `path` read-write: a reader appears (releasing every open that waits
    /// for one) and the open itself never waits for a writer.
    pub fn fifo_reader(path: &Path) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
    }

    /// Opens a FIFO's reader ([`fifo_reader`]) on a helper thread when told, or on its own
    /// after a fallback delay: a wait (a drop, a runtime turn) that only ended once a reader
    /// came is then a hang, instead of hanging the reproducer.
    pub struct Releaser {
        go: mpsc::Sender<()>,
        thread: std::thread::JoinHandle<(bool, Option<std::fs::File>)>,
    }

    impl Releaser {
        /// Start the helper for the FIFO at `fifo`; it opens the reader on its own once
        /// `fallback` passed.
        pub fn spawn(fifo: PathBuf, fallback: Duration) -> Releaser {
            let (go, rx) = mpsc::channel();
            let thread = std::thread::spawn(move || {
                let by_fallback = rx.recv_timeout(fallback).is_err();
                (by_fallback, fifo_reader(&fifo).ok())
            });
            Releaser { go, thread }
        }

        /// Tell it to open the reader now (if it has not already).
        pub fn go(&self) {
            let _ = self.go.send(());
        }

        /// Let it open the reader now (if it has not already) and wait for it: whether its
        /// fallback had fired, and the reader (the caller closes it when it is done).
        pub fn join(self) -> (bool, Option<std::fs::File>) {
            self.go();
            self.thread.join().expect("releaser thread")
        }
    }

    /// Poll `fut` once, from inside the runtime that awaits this.
    pub async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
        std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
    }

    /// Poll `fut` until it is ready or `timer` (the runtime's own sleep) fires first; its
    /// output, or `None` with `fut` left as it is.
    pub async fn within<F: Future + Unpin>(fut: &mut F, timer: impl Future) -> Option<F::Output> {
        let mut timer = std::pin::pin!(timer);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(v) = Pin::new(&mut *fut).poll(cx) {
                return Poll::Ready(Some(v));
            }
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await
    }

    /// Poll every future in `futs` (those still pending) until all are ready or `timer` (the
    /// runtime's own sleep) fires; the outputs of those that completed, `None` for those
    /// still pending at the end.
    pub async fn poll_all_for<F: Future + Unpin>(
        futs: &mut [F],
        timer: impl Future,
    ) -> Vec<Option<F::Output>> {
        let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
        let mut timer = std::pin::pin!(timer);
        std::future::poll_fn(|cx| {
            for (f, o) in futs.iter_mut().zip(out.iter_mut()) {
                if o.is_none()
                    && let Poll::Ready(v) = Pin::new(f).poll(cx)
                {
                    *o = Some(v);
                }
            }
            if out.iter().all(Option::is_some) || timer.as_mut().poll(cx).is_ready() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::raw::*;
    use std::time::Duration;

    #[test]
    fn payload_has_no_zero_byte_and_depends_on_the_seed() {
        let (a, b) = (payload(4096, 1), payload(4096, 2));
        assert_eq!(a.len(), 4096);
        assert!(a.iter().all(|&x| x != 0));
        assert_ne!(a, b);
    }

    #[test]
    fn feeder_writes_when_told_and_gives_the_write_end_back_when_stopped() {
        let (r, w) = pipe();
        let f = Feeder::spawn(w, vec![7; 100], Duration::from_secs(30));
        assert!(!f.go(), "told at once: not the fallback");
        // It closed the write end: the drain ends at end of stream with all of it.
        assert_eq!(drain(&r, Duration::from_millis(200)), vec![7; 100]);

        let (r, w) = pipe();
        let f = Feeder::spawn(w, vec![7; 100], Duration::from_secs(30));
        let back = f
            .stop()
            .expect("stopped before the fallback: the write end comes back");
        assert_eq!(pending(&r), 0);
        drop(back);

        let (r, w) = pipe();
        let f = Feeder::spawn(w, vec![7; 100], Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(50));
        assert!(f.stop().is_none(), "the fallback had written");
        assert_eq!(drain(&r, Duration::from_millis(200)), vec![7; 100]);
    }

    #[test]
    fn scratch_fifo_reader_and_fds_of() {
        let dir = Scratch::new("unit", "fifo");
        let p = dir.join("fifo");
        mkfifo(&p);
        assert_eq!(fds_of(&p), 0);
        let rel = Releaser::spawn(p.clone(), Duration::from_secs(30));
        let (fallback, reader) = rel.join();
        assert!(!fallback);
        assert!(reader.is_some());
        assert_eq!(fds_of(&p), 1);
        drop(reader);
        assert_eq!(fds_of(&p), 0);
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(!path.exists(), "removed on drop");
    }
}
