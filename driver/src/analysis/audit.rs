//! `ringbench audit`'s analysis: strace `-f -y` output parsed into counts per op, thread and
//! ring (only calls on the audit's scratch directory count), then set against each op's
//! declared route. See `commands::audit` for the method.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use workloads::{Route, Routes, TrialPlan, Workload};

use crate::results::audit::{AuditCell, OpObs, RingObs, ThreadObs};

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

/// Fill a cell from its trace: ring activity, threads, each op's observed route and whether
/// it contradicts the declared one.
pub fn fill_cell(cell: &mut AuditCell, t: &Trace, routes: &Routes, plan: &TrialPlan) {
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

/// The scratch directory as given and as the kernel resolves it (`-y` prints resolved paths).
pub struct Roots(pub Vec<PathBuf>);

impl Roots {
    pub fn of(p: &Path) -> Roots {
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
pub struct Trace {
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
pub fn parse_trace(text: &str, roots: &Roots) -> Trace {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::audit::HarnessOps;

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
