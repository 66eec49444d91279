//! `ringbench` end to end, as a user on someone's server would meet it: bad input (one line,
//! exit 2, nothing written), faulty trial children (each recorded, the run goes on), interrupts
//! (exit 130 for SIGINT, 143 for SIGTERM, scratch removed, results kept), files already in `--dir` (never touched), a
//! closed stdout, and io_uring refused by a seccomp filter (ring engines skipped with the
//! reason, the others run).
//!
//! Every command runs with its working directory set to a fresh temporary directory, so the
//! default `results/` lands there and can be checked too. Sizes are tiny; the file runs in
//! seconds.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use workloads::conformance::skipped;

const BIN: &str = env!("CARGO_BIN_EXE_ringbench");

/// A run small enough for a test: one repeat, no warm-up, tiny datasets, warm cache (dropping
/// the page cache would touch the whole machine).
const TINY: &[&str] = &[
    "--size",
    "1M",
    "--block-size",
    "64k",
    "--queue-depth",
    "2",
    "--files",
    "4",
    "--files-in-flight",
    "2",
    "--tree-depth",
    "1",
    "--tree-fanout",
    "2",
    "--tree-files",
    "2",
    "--repeat",
    "1",
    "--warmup",
    "0",
    "--cache",
    "warm",
];

fn ringbench(cwd: &Path) -> Command {
    let mut c = Command::new(BIN);
    // A panic anywhere must be loud: the checks below look for it.
    c.current_dir(cwd).env("RUST_BACKTRACE", "1");
    c
}

fn run_output(cwd: &Path, args: &[String]) -> Output {
    ringbench(cwd).args(args).output().expect("start ringbench")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What a directory holds, recursively: kind, mode, size, mtime and content of every entry.
/// Equal snapshots mean nothing was created, removed, or changed (byte for byte).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, p: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for e in entries {
            let m = std::fs::symlink_metadata(&e).unwrap();
            let rel = e.strip_prefix(root).unwrap().to_path_buf();
            let head = format!(
                "mode {:o} mtime {}.{}",
                m.permissions().mode(),
                m.mtime(),
                m.mtime_nsec()
            );
            if m.file_type().is_symlink() {
                out.insert(
                    rel,
                    format!("link -> {:?} {head}", std::fs::read_link(&e).unwrap()),
                );
            } else if m.is_dir() {
                out.insert(rel, format!("dir {head}"));
                walk(root, &e, out);
            } else {
                let bytes = std::fs::read(&e).unwrap();
                out.insert(rel, format!("file {head} {:?}", bytes));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Fill `dir` with files a user might keep next to a benchmark: plain files, an empty one, a
/// read-only one, a nested tree, a symlink, and names ringbench itself uses or could use.
fn fill_foreign(dir: &Path) {
    std::fs::write(dir.join("notes.txt"), b"important user data\n").unwrap();
    std::fs::write(dir.join("empty"), b"").unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    std::fs::write(dir.join(".direct-probe"), b"not ringbench's").unwrap();
    std::fs::write(dir.join("readonly.txt"), b"ro").unwrap();
    std::fs::set_permissions(
        dir.join("readonly.txt"),
        std::fs::Permissions::from_mode(0o444),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("ringbench-20200101T000000Z-1/src")).unwrap();
    std::fs::write(
        dir.join("ringbench-20200101T000000Z-1/src/large.bin"),
        b"looks like ours, is not",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("project/sub")).unwrap();
    std::fs::write(dir.join("project/sub/main.rs"), b"fn main() {}\n").unwrap();
    std::os::unix::fs::symlink("notes.txt", dir.join("link-to-notes")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target", dir.join("dangling")).unwrap();
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn run_args(dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut a = s(&["run", "--dir"]);
    a.push(dir.display().to_string());
    a.extend(s(TINY));
    a.extend(s(extra));
    a
}

fn trials(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("trials.jsonl"))
        .expect("trials.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a trial line"))
        .collect()
}

fn meta(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("meta.json")).expect("meta.json"))
        .expect("meta.json parses")
}

/// The one error line of a failed command, after checking its shape: exit code 2, nothing on
/// stdout, exactly one line on stderr in ringbench's format, no panic, no backtrace.
fn one_line_error(name: &str, o: &Output) -> String {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{name}: exit code; stderr: {err}");
    assert!(
        o.stdout.is_empty(),
        "{name}: stdout not empty: {}",
        text(&o.stdout)
    );
    assert!(
        !err.contains("panicked") && !err.to_lowercase().contains("backtrace"),
        "{name}: panic: {err}"
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{name}: expected one line on stderr, got: {err}"
    );
    assert!(lines[0].starts_with("ringbench: error: "), "{name}: {err}");
    lines[0].to_string()
}

/// A filesystem mounted for one test and unmounted when dropped (we run as root in CI; where
/// mounting is not permitted the caller skips the case and says so).
struct Mount {
    dir: tempfile::TempDir,
}

impl Mount {
    fn new(fstype: &str, opts: &str) -> Result<Mount, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let o = Command::new("mount")
            .args(["-t", fstype, "-o", opts, fstype])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !o.status.success() {
            return Err(format!(
                "mount -t {fstype} -o {opts}: {}",
                text(&o.stderr).trim()
            ));
        }
        Ok(Mount { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn bad_input_is_one_line_exit_2_and_writes_nothing() {
    // (name, arguments with {dir} for a fresh --dir holding foreign files, what the line says)
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "missing --dir",
            &["run", "--dir", "{dir}/nope"],
            &["--dir", "does not exist"],
        ),
        (
            "--dir is a file",
            &["run", "--dir", "{dir}/notes.txt"],
            &["--dir", "not a directory"],
        ),
        (
            "--dir under a file",
            &["run", "--dir", "{dir}/notes.txt/sub"],
            &["--dir", "not a directory"],
        ),
        (
            "zero size",
            &["run", "--dir", "{dir}", "--size", "0"],
            &["--size", "positive"],
        ),
        (
            "unparsable size",
            &["run", "--dir", "{dir}", "--size", "lots"],
            &["--size", "\"lots\""],
        ),
        (
            "unknown unit",
            &["run", "--dir", "{dir}", "--size", "12Q"],
            &["--size", "unit"],
        ),
        (
            "absurd size",
            &["run", "--dir", "{dir}", "--size", "2048T"],
            &["--size", "absurd"],
        ),
        (
            "overflowing size",
            &["run", "--dir", "{dir}", "--size", "99999999999999999999T"],
            &["--size"],
        ),
        (
            "more than the disk holds",
            &["run", "--dir", "{dir}", "-w", "large", "--size", "900T"],
            &["--dir", "not enough free space"],
        ),
        (
            "odd block size",
            &["run", "--dir", "{dir}", "--block-size", "1000"],
            &["--block-size"],
        ),
        (
            "zero block size",
            &["run", "--dir", "{dir}", "--block-size", "0"],
            &["--block-size"],
        ),
        (
            "unknown engine",
            &["run", "--dir", "{dir}", "-e", "std,uring9000"],
            &["--engines", "uring9000", "valid:", "std", "tokio"],
        ),
        (
            "empty engine list",
            &["run", "--dir", "{dir}", "-e", ","],
            &["--engines", "empty"],
        ),
        (
            "unknown workload",
            &["run", "--dir", "{dir}", "-w", "huge"],
            &["--workloads", "huge", "valid:", "large", "small", "tree"],
        ),
        (
            "--out holds other files",
            &["run", "--dir", "{dir}", "--out", "{dir}"],
            &["--out", "not a ringbench run folder"],
        ),
        (
            "--out is a file",
            &["run", "--dir", "{dir}", "--out", "{dir}/notes.txt"],
            &["--out", "not a folder"],
        ),
        (
            "--out under a file",
            &["run", "--dir", "{dir}", "--out", "{dir}/notes.txt/run"],
            &["--out", "not a folder"],
        ),
        (
            "zero repeats",
            &["run", "--dir", "{dir}", "--repeat", "0"],
            &["--repeat"],
        ),
        (
            "zero queue depth",
            &["run", "--dir", "{dir}", "--queue-depth", "0"],
            &["--queue-depth"],
        ),
        (
            "zero threads",
            &["run", "--dir", "{dir}", "--threads", "0"],
            &["--threads"],
        ),
        (
            "zero files",
            &["run", "--dir", "{dir}", "--files", "0"],
            &["--files"],
        ),
        (
            "cancel rate over 1",
            &["run", "--dir", "{dir}", "--cancel-rate", "2"],
            &["--cancel-rate"],
        ),
        (
            "unknown cache mode",
            &["run", "--dir", "{dir}", "--cache", "cold"],
            &["--cache", "valid:", "drop"],
        ),
        (
            "unknown profile",
            &["run", "--dir", "{dir}", "--profile", "huge"],
            &["--profile", "valid:", "quick"],
        ),
        (
            "zero trial timeout",
            &["run", "--dir", "{dir}", "--trial-timeout", "0"],
            &["--trial-timeout"],
        ),
        (
            "unparsable seed",
            &["run", "--dir", "{dir}", "--seed", "abc"],
            &["--seed"],
        ),
        (
            "--direct with an unaligned size",
            &["run", "--dir", "{dir}", "--direct", "--size", "1000"],
            &["--size", "--direct"],
        ),
        (
            "unknown flag",
            &["run", "--dir", "{dir}", "--bogus"],
            &["--bogus"],
        ),
        ("unknown subcommand", &["frobnicate"], &["frobnicate"]),
        (
            "env on a missing --dir",
            &["env", "--dir", "{dir}/nope"],
            &["--dir", "does not exist"],
        ),
        (
            "unknown safety scenario",
            &["safety", "-s", "no-such-scenario"],
            &["--scenarios", "no-such-scenario", "valid:"],
        ),
        (
            "unknown safety engine",
            &["safety", "-e", "uring9000"],
            &["--engines", "uring9000", "valid:"],
        ),
        (
            "empty item in a list",
            &["run", "--dir", "{dir}", "--queue-depth", "1,,4"],
            &["--queue-depth", "\"1,,4\"", "empty item"],
        ),
        (
            "trailing comma in a list",
            &["run", "--dir", "{dir}", "--block-size", "64k,"],
            &["--block-size", "empty item"],
        ),
        (
            "--target-ci 0",
            &["run", "--dir", "{dir}", "--target-ci", "0"],
            &["--target-ci", "more than 0", "less than 100"],
        ),
        (
            "all with an unknown engine",
            &["run", "--dir", "{dir}", "-e", "all,nosuch"],
            &["--engines", "\"nosuch\""],
        ),
        (
            "all with an unknown workload",
            &["run", "--dir", "{dir}", "-w", "all,huge"],
            &["--workloads", "\"huge\""],
        ),
        (
            "compare --out is a file",
            &["compare", "{dir}/a", "{dir}/b", "--out", "{dir}/notes.txt"],
            &["--out", "{dir}/notes.txt", "File exists"],
        ),
        (
            "report on a missing folder",
            &["report", "{dir}/nope"],
            &["{dir}/nope", "no such run folder"],
        ),
        (
            "report on a folder that is not a run",
            &["report", "{dir}/project"],
            &["{dir}/project", "no meta.json"],
        ),
        (
            "calibrate on a missing --dir",
            &["calibrate", "--dir", "{dir}/nope"],
            &["--dir", "{dir}/nope", "does not exist"],
        ),
        (
            "audit on a missing --dir",
            &["audit", "--dir", "{dir}/nope", "-e", "null"],
            &["--dir", "{dir}/nope", "does not exist"],
        ),
        (
            "safety --out holds other files",
            &["safety", "-s", "selftest-hang", "--out", "{dir}"],
            &["--out", "not a ringbench run folder"],
        ),
    ];
    assert!(cases.len() >= 15);
    for (name, args, expect) in cases {
        let cwd = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        fill_foreign(dir.path());
        let (before_dir, before_cwd) = (snapshot(dir.path()), snapshot(cwd.path()));
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{dir}", &dir.path().display().to_string()))
            .collect();
        let o = run_output(cwd.path(), &args);
        let line = one_line_error(name, &o);
        for e in *expect {
            let e = e.replace("{dir}", &dir.path().display().to_string());
            assert!(line.contains(&e), "{name}: expected {e:?} in: {line}");
        }
        assert!(
            !(name.starts_with("all with") && line.contains("\"all\"")),
            "{name}: blames all: {line}"
        );
        assert_eq!(snapshot(dir.path()), before_dir, "{name}: --dir changed");
        assert_eq!(
            snapshot(cwd.path()),
            before_cwd,
            "{name}: the working directory changed"
        );
        eprintln!("ok  {name:<34} {line}");
    }
}

/// The pre-flight checks that need a filesystem of their own: read-only, no O_DIRECT, too
/// small, too few inodes (the dataset fails halfway: the scratch directory still goes).
#[test]
fn filesystem_checks_on_mounted_filesystems() {
    // (name, filesystem type, mount options, run arguments, what the line says)
    type Case<'a> = (&'a str, &'a str, &'a str, &'a [&'a str], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            "read-only --dir",
            "tmpfs",
            "ro,size=4m",
            &["-w", "large"],
            &["--dir", "read-only"],
        ),
        (
            "no O_DIRECT (ramfs)",
            "ramfs",
            "mode=0755",
            &["-w", "large", "--direct"],
            &["--direct", "O_DIRECT"],
        ),
        // 1 MiB source and destination need more than the whole 1 MiB filesystem.
        (
            "too small for the data",
            "tmpfs",
            "size=1m",
            &["-w", "large"],
            &["--dir", "not enough free space"],
        ),
        // Four inodes: the root, the scratch directory, src/ and small/; the first file fails.
        // Not a pre-flight failure (progress has begun), so --quiet leaves only the error.
        (
            "dataset creation fails (no inodes left)",
            "tmpfs",
            "size=64m,nr_inodes=4",
            &["-w", "small", "--quiet"],
            &["small-file set"],
        ),
    ];
    for (name, fstype, opts, extra, expect) in cases {
        let m = match Mount::new(fstype, opts) {
            Ok(m) => m,
            Err(why) => {
                skipped(
                    name,
                    &format!("cannot mount a test filesystem here ({why})"),
                );
                continue;
            }
        };
        let cwd = tempfile::tempdir().unwrap();
        let (before_dir, before_cwd) = (snapshot(m.path()), snapshot(cwd.path()));
        let o = run_output(cwd.path(), &run_args(m.path(), extra));
        let line = one_line_error(name, &o);
        for e in *expect {
            assert!(line.contains(e), "{name}: expected {e:?} in: {line}");
        }
        assert_eq!(
            snapshot(m.path()),
            before_dir,
            "{name}: --dir changed (scratch left behind?)"
        );
        assert_eq!(
            snapshot(cwd.path()),
            before_cwd,
            "{name}: the working directory changed"
        );
        eprintln!("ok  {name:<34} {line}");
    }
}

/// Start a run whose second engine hangs, wait until the hanging trial is the one running,
/// send `sig`, and return the output.
fn interrupted_run(cwd: &Path, dir: &Path, out: &Path, sig: i32) -> (Output, Duration) {
    let mut args = run_args(
        dir,
        &[
            "-e",
            "std,null-hang",
            "-w",
            "large",
            "--trial-timeout",
            "120",
            "--out",
        ],
    );
    args.push(out.display().to_string());
    let child = ringbench(cwd)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let guard = KillOnDrop(Some(child));
    // The trial in progress is the one whose destination exists beyond the finished ones;
    // once the same one has been running for a while, it is the hanging one (std's and the
    // reference rows' 1 MiB copies take milliseconds, seconds apart even on a loaded machine).
    let start = Instant::now();
    let mut seen: Option<(usize, Instant)> = None;
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the run never reached the hanging trial"
        );
        let done = std::fs::read_to_string(out.join("trials.jsonl"))
            .map(|t| t.lines().count())
            .unwrap_or(0);
        let running = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name().to_string_lossy().starts_with("ringbench-2")
                    && e.path().join("dst").is_dir()
            })
            .any(|e| e.path().join(format!("dst/t{done:06}")).is_dir());
        match (running, seen) {
            (true, Some((d, since))) if d == done && since.elapsed() > Duration::from_secs(3) => {
                break;
            }
            (true, Some((d, _))) if d == done => {}
            (true, _) => seen = Some((done, Instant::now())),
            (false, _) => seen = None,
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let child = guard.0.as_ref().unwrap();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    let t = Instant::now();
    let o = guard.take().wait_with_output().unwrap();
    (o, t.elapsed())
}

struct KillOnDrop(Option<Child>);

impl KillOnDrop {
    fn take(mut self) -> Child {
        self.0.take().unwrap()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn check_interrupted(o: &Output, took: Duration, dir: &Path, out: &Path, sig: i32) {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(128 + sig), "exit code; stderr: {err}");
    assert!(took < Duration::from_secs(10), "stopping took {took:?}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    // Scratch gone, results kept: the interrupted trial is recorded as such.
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ringbench-2") && n != "ringbench-20200101T000000Z-1")
        .collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");
    let m = meta(out);
    assert_eq!(m["interrupted"], true);
    assert!(m["finished"].is_string());
    let t = trials(out);
    assert!(
        t.iter()
            .any(|r| r["engine"] == "null-hang" && r["status"] == "interrupted"),
        "no interrupted trial in {t:?}"
    );
    assert!(out.join("summary.json").is_file());
}

#[test]
fn sigint_stops_the_run_cleans_up_and_keeps_results() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = cwd.path().join("out");
    let (o, took) = interrupted_run(cwd.path(), dir.path(), &out, libc::SIGINT);
    check_interrupted(&o, took, dir.path(), &out, libc::SIGINT);
    assert!(snapshot(dir.path()).is_empty(), "--dir not left as found");
}

#[test]
fn sigterm_stops_the_run_cleans_up_and_keeps_results() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = cwd.path().join("out");
    let (o, took) = interrupted_run(cwd.path(), dir.path(), &out, libc::SIGTERM);
    check_interrupted(&o, took, dir.path(), &out, libc::SIGTERM);
    assert!(snapshot(dir.path()).is_empty(), "--dir not left as found");
}

#[test]
fn files_already_in_dir_are_never_touched() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    fill_foreign(dir.path());
    let before = snapshot(dir.path());

    // A normal run over every workload (O_DIRECT probed, inside the scratch directory).
    let o = run_output(
        cwd.path(),
        &run_args(dir.path(), &["-e", "std", "--direct", "--quiet"]),
    );
    assert_eq!(o.status.code(), Some(0), "normal run: {}", text(&o.stderr));
    assert_eq!(snapshot(dir.path()), before, "after a normal run");

    // A failed run: a trial child crashes.
    let o = run_output(
        cwd.path(),
        &run_args(
            dir.path(),
            &["-e", "std,null-crash", "-w", "large,tree", "--quiet"],
        ),
    );
    assert_eq!(o.status.code(), Some(1), "failed run: {}", text(&o.stderr));
    assert_eq!(snapshot(dir.path()), before, "after a failed run");

    // An interrupted run.
    let out = cwd.path().join("interrupted");
    let (o, took) = interrupted_run(cwd.path(), dir.path(), &out, libc::SIGINT);
    check_interrupted(&o, took, dir.path(), &out, libc::SIGINT);
    assert_eq!(snapshot(dir.path()), before, "after an interrupted run");

    // `env` probes O_DIRECT without touching --dir (not even a file named like its probe).
    let o = run_output(
        cwd.path(),
        &s(&["env", "--dir", &dir.path().display().to_string()]),
    );
    assert_eq!(o.status.code(), Some(0), "env: {}", text(&o.stderr));
    assert!(text(&o.stdout).contains("O_DIRECT"), "{}", text(&o.stdout));
    assert_eq!(snapshot(dir.path()), before, "after env");

    // Outside --dir, only the results folders the runs were asked to make.
    let mut made: Vec<String> = std::fs::read_dir(cwd.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    made.sort();
    assert_eq!(made, vec!["interrupted".to_string(), "results".to_string()]);
    assert_eq!(
        std::fs::read_dir(cwd.path().join("results"))
            .unwrap()
            .count(),
        2,
        "one folder per run"
    );
}

#[test]
fn faulty_children_are_recorded_and_the_run_goes_on() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = cwd.path().join("out");
    let mut args = run_args(
        dir.path(),
        &[
            "-e",
            "null-crash,null-hang,null-garbage,null-silent,std-corrupt,std",
            "-w",
            "large",
            // The hang costs the whole deadline; 2 s leaves the honest trials ample time on a
            // loaded machine.
            "--trial-timeout",
            "2",
            "--out",
        ],
    );
    args.push(out.display().to_string());
    let o = run_output(cwd.path(), &args);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("5 trial(s) failed"), "{err}");
    let t = trials(&out);
    let by_engine = |e: &str| {
        t.iter()
            .find(|r| r["engine"] == e)
            .unwrap_or_else(|| panic!("no trial of {e}: {t:?}"))
    };
    // (engine, status, a phrase its error or detail must hold)
    let expect = [
        ("null-crash", "crash", "SIGABRT"),
        ("null-hang", "timeout", "deadline"),
        ("null-garbage", "no-result", "this is not a result"),
        ("null-silent", "no-result", "without printing a result"),
    ];
    for (engine, status, phrase) in expect {
        let r = by_engine(engine);
        assert_eq!(r["status"], status, "{engine}: {r}");
        assert!(
            r["error"].as_str().is_some_and(|e| e.contains(phrase)),
            "{engine}: {r}"
        );
        assert!(r["throughput"].is_null(), "{engine}: {r}");
    }
    let corrupt = by_engine("std-corrupt");
    assert_eq!(corrupt["status"], "verify-failed", "{corrupt}");
    assert_eq!(corrupt["verified"], "no", "{corrupt}");
    assert!(
        corrupt["verify_detail"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{corrupt}"
    );
    // The honest engine, run in the same rounds, still measured and verified.
    let ok = by_engine("std");
    assert_eq!(ok["status"], "ok", "{ok}");
    assert_eq!(ok["verified"], "yes", "{ok}");
    assert!(ok["throughput"].as_f64().is_some_and(|v| v > 0.0), "{ok}");
    // Nothing left in --dir.
    assert!(snapshot(dir.path()).is_empty());
}

#[test]
fn json_and_quiet_keep_the_streams_clean() {
    let dir = tempfile::tempdir().unwrap();
    // --json: stdout is exactly one JSON document; progress still goes to stderr.
    let cwd = tempfile::tempdir().unwrap();
    let o = run_output(
        cwd.path(),
        &run_args(dir.path(), &["-e", "std", "-w", "large", "--json"]),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).expect("stdout is one JSON document");
    assert!(v.is_object(), "{v}");
    assert!(
        text(&o.stderr).contains("] round 0 std "),
        "plain progress lines when not a terminal: {}",
        text(&o.stderr)
    );
    // --quiet: nothing at all on a successful run.
    let cwd = tempfile::tempdir().unwrap();
    let o = run_output(
        cwd.path(),
        &run_args(dir.path(), &["-e", "std", "-w", "large", "--quiet"]),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty(), "{}", text(&o.stdout));
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
    // --quiet --json: the JSON only.
    let cwd = tempfile::tempdir().unwrap();
    let o = run_output(
        cwd.path(),
        &run_args(
            dir.path(),
            &["-e", "std", "-w", "large", "--quiet", "--json"],
        ),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
    serde_json::from_slice::<Value>(&o.stdout).expect("stdout is one JSON document");
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let cwd = tempfile::tempdir().unwrap();
    for args in [&["list"][..], &["env", "--dir", "."][..]] {
        let mut c = ringbench(cwd.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(c.stdout.take()); // the reader goes away before anything is written (`| head -0`)
        let o = c.wait_with_output().unwrap();
        let err = text(&o.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
        assert_eq!(o.status.code(), Some(0), "{args:?}");
    }
}

#[test]
fn env_shows_what_a_user_needs_first() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = run_output(
        cwd.path(),
        &s(&["env", "--dir", &dir.path().display().to_string()]),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    for key in [
        "kernel",
        "io_uring",
        "io_uring sysctl",
        "seccomp",
        "memlock",
        "filesystem",
        "device",
        "free",
        "page cache",
        "O_DIRECT",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(key)),
            "no {key:?} line in:\n{out}"
        );
    }
    let o = run_output(
        cwd.path(),
        &s(&["env", "--json", "--dir", &dir.path().display().to_string()]),
    );
    let v: Value = serde_json::from_slice(&o.stdout).expect("env --json");
    for key in [
        "kernel",
        "io_uring_unavailable",
        "io_uring_disabled",
        "memlock_limit",
        "filesystem",
        "device",
        "can_drop_caches",
        "o_direct",
    ] {
        assert!(v.get(key).is_some(), "no {key} in {v}");
    }
    assert!(
        snapshot(dir.path()).is_empty(),
        "env created something in --dir"
    );
    assert!(
        snapshot(cwd.path()).is_empty(),
        "env created something in the working directory"
    );
}

/// A seccomp filter that makes `io_uring_setup` fail with EPERM, as a container runtime's
/// default profile does; installed in the child between fork and exec, so only that process
/// tree is affected.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn deny_io_uring(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct SockFilter {
        code: u16,
        jt: u8,
        jf: u8,
        k: u32,
    }
    #[repr(C)]
    struct SockFprog {
        len: u16,
        filter: *const SockFilter,
    }
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const RET_ALLOW: u32 = 0x7fff_0000;
    const RET_ERRNO: u32 = 0x0005_0000;
    #[cfg(target_arch = "x86_64")]
    const ARCH: u32 = 0xC000_003E;
    #[cfg(target_arch = "aarch64")]
    const ARCH: u32 = 0xC000_00B7;
    let f = |code, jt, jf, k| SockFilter { code, jt, jf, k };
    let filter = [
        f(LD_W_ABS, 0, 0, 4), // seccomp_data.arch
        f(JEQ_K, 1, 0, ARCH),
        f(RET_K, 0, 0, RET_ALLOW),
        f(LD_W_ABS, 0, 0, 0), // seccomp_data.nr
        f(JEQ_K, 0, 1, libc::SYS_io_uring_setup as u32),
        f(RET_K, 0, 0, RET_ERRNO | libc::EPERM as u32),
        f(RET_K, 0, 0, RET_ALLOW),
    ];
    // SAFETY: only prctl(2) between fork and exec; the filter lives in the closure.
    unsafe {
        cmd.pre_exec(move || {
            let prog = SockFprog {
                len: filter.len() as u16,
                filter: filter.as_ptr(),
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(libc::PR_SET_SECCOMP, 2, &prog as *const SockFprog) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[test]
fn io_uring_refused_skips_ring_engines_with_the_reason_and_runs_the_rest() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = cwd.path().join("out");
    let mut args = run_args(dir.path(), &["-e", "std,compio", "-w", "large", "--out"]);
    args.push(out.display().to_string());
    let mut cmd = ringbench(cwd.path());
    cmd.args(&args);
    deny_io_uring(&mut cmd);
    let o = match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            skipped(
                "seccomp",
                &format!("cannot install a seccomp filter here ({e})"),
            );
            return;
        }
    };
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("skipping engine compio"), "{err}");
    let m = meta(&out);
    assert!(
        m["environment"]["io_uring_unavailable"].is_string(),
        "the environment says io_uring is unavailable: {}",
        m["environment"]
    );
    let compio = m["engines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "compio")
        .expect("compio in meta.json");
    assert_eq!(compio["available"], false, "{compio}");
    assert!(
        compio["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{compio}"
    );
    assert!(
        m["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .is_some_and(|n| n.starts_with("engine compio skipped"))),
        "{}",
        m["notes"]
    );
    // std ran (and any reference points the driver adds on its own); compio never did.
    let t = trials(&out);
    assert!(t.iter().any(|r| r["engine"] == "std"), "{t:?}");
    assert!(
        t.iter()
            .all(|r| r["engine"] != "compio" && r["status"] == "ok"),
        "{t:?}"
    );
}

#[test]
fn a_truncated_trials_file_is_refused_unless_allowed_then_reported_with_a_warning() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = cwd.path().join("out");
    let mut args = run_args(
        dir.path(),
        &[
            "-e",
            "std,tokio",
            "-w",
            "large",
            "--repeat",
            "2",
            "--quiet",
            "--out",
        ],
    );
    // --repeat appears in TINY too; the last one must be the only one.
    let at = args.iter().position(|a| a == "--repeat").unwrap();
    args.drain(at..at + 2);
    args.push(out.display().to_string());
    let o = run_output(cwd.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // Cut the last line in half, as a run killed mid-write would leave it.
    let path = out.join("trials.jsonl");
    let full = std::fs::read_to_string(&path).unwrap();
    let lines = full.lines().count();
    let last_start = full.trim_end().rfind('\n').unwrap() + 1;
    let cut = last_start + (full.len() - last_start) / 2;
    std::fs::write(&path, &full[..cut]).unwrap();
    for f in ["report.md", "summary.json"] {
        let _ = std::fs::remove_file(out.join(f));
    }
    // Without --allow-incomplete: refused, one line naming what is missing, nothing written.
    let o = run_output(cwd.path(), &s(&["report", &out.display().to_string()]));
    let line = one_line_error("truncated trials.jsonl", &o);
    assert!(
        line.contains(&format!("line {lines}")) && line.contains("--allow-incomplete"),
        "{line}"
    );
    assert!(!out.join("report.md").exists());
    let o = run_output(
        cwd.path(),
        &s(&["report", &out.display().to_string(), "--allow-incomplete"]),
    );
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(&format!("line {lines}")) && err.contains("skipped"),
        "{err}"
    );
    assert!(out.join("report.md").is_file());
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("incomplete data"), "{md}");
}

#[test]
fn bare_ringbench_prints_help_and_exits_2() {
    let cwd = tempfile::tempdir().unwrap();
    let o = ringbench(cwd.path()).output().unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("Usage") && err.contains("run"), "{err}");
    assert!(o.stdout.is_empty());
}

/// Paths that are not UTF-8, as Linux allows: a run, a calibration and an audit work in such a
/// `--dir` and write to such an `--out`; a missing one is named in one line (never a panic).
#[test]
fn paths_that_are_not_utf8_work_end_to_end() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let cwd = tempfile::tempdir().unwrap();
    let odd = |stem: &str| {
        let mut b = stem.as_bytes().to_vec();
        b.push(0xff);
        OsString::from_vec(b)
    };
    let dir = cwd.path().join(odd("dir-"));
    std::fs::create_dir(&dir).unwrap();
    let strace = Command::new("strace").arg("-V").output().is_ok();
    // (name, arguments, the file that must exist afterwards under --out)
    let cases: Vec<(&str, Vec<OsString>, &str)> = vec![
        (
            "run",
            [
                "run",
                "-e",
                "std",
                "-w",
                "large,small",
                "--size",
                "256k",
                "--files",
                "4",
            ]
            .iter()
            .map(OsString::from)
            .chain(["--repeat", "1", "--warmup", "0", "--cache", "warm", "-q"].map(Into::into))
            .collect(),
            "meta.json",
        ),
        (
            "calibrate",
            [
                "calibrate",
                "-e",
                "std",
                "--phases",
                "harness",
                "--harness-size",
                "256k",
                "--repeat",
                "1",
                "--warmup",
                "0",
                "-q",
            ]
            .map(Into::into)
            .to_vec(),
            "calibrate.json",
        ),
        (
            "audit",
            ["audit", "-e", "std", "-w", "large", "--size", "256k"]
                .map(Into::into)
                .to_vec(),
            "audit.json",
        ),
    ];
    for (name, mut args, file) in cases {
        if name == "audit" && !strace {
            skipped(name, "no strace here");
            continue;
        }
        let out = cwd.path().join(odd(&format!("out-{name}-")));
        args.extend([
            "--dir".into(),
            dir.clone().into_os_string(),
            "--out".into(),
            out.clone().into_os_string(),
        ]);
        let o = ringbench(cwd.path()).args(&args).output().unwrap();
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(out.join(file).is_file(), "{name}: no {file}");
        let meta = std::fs::read_to_string(out.join(file)).unwrap();
        if name == "audit" {
            // The trace is matched to the odd directory: the std copy's calls were seen and
            // agree with its declared routes.
            assert!(
                meta.contains("\"status\": \"ok\"") && meta.contains("\"mismatches\": []"),
                "{meta}"
            );
        } else {
            assert!(
                meta.contains("dir-\u{fffd}"),
                "{name}: the path is not recorded: {meta}"
            );
        }
        eprintln!("ok  {name}");
    }
    // Missing odd paths: one line naming the flag and the path, for every command.
    let missing = cwd.path().join(odd("nope-"));
    for cmd in ["run", "calibrate", "audit", "env"] {
        let o = ringbench(cwd.path())
            .arg(cmd)
            .arg("--dir")
            .arg(&missing)
            .output()
            .unwrap();
        let line = one_line_error(cmd, &o);
        assert!(
            line.contains("--dir")
                && line.contains("nope-\u{fffd}")
                && line.contains("does not exist"),
            "{cmd}: {line}"
        );
    }
}

/// A read-only working directory (the default results/ lands there): every command names
/// --out and the folder it could not make.
#[test]
fn a_read_only_working_directory_is_named_with_the_flag() {
    let m = match Mount::new("tmpfs", "ro,size=1m") {
        Ok(m) => m,
        Err(why) => {
            skipped(
                "read-only filesystem",
                &format!("cannot mount one here ({why})"),
            );
            return;
        }
    };
    let scratch = tempfile::tempdir().unwrap();
    let d = scratch.path().display().to_string();
    let runs = tempfile::tempdir().unwrap();
    let out = runs.path().join("a");
    let o = run_output(
        runs.path(),
        &run_args(scratch.path(), &["-e", "null", "-w", "read", "-q", "--out"])
            .into_iter()
            .chain([out.display().to_string()])
            .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let a = out.display().to_string();
    let cases: &[(&str, &[&str])] = &[
        ("run", &["run", "-e", "null", "-w", "read", "--dir", &d]),
        (
            "calibrate",
            &["calibrate", "--phases", "harness", "--dir", &d],
        ),
        ("compare", &["compare", &a, &a]),
    ];
    for (name, args) in cases {
        let o = run_output(m.path(), &s(args));
        let line = one_line_error(name, &o);
        assert!(
            line.contains("--out results/") && line.contains("Read-only file system"),
            "{name}: {line}"
        );
        eprintln!("ok  {name:<10} {line}");
    }
}

/// `--dir` removed while the run is going: the run stops with one line, keeps what it
/// measured, and does not re-create the directory.
#[test]
fn a_vanished_dir_stops_the_run_and_is_not_recreated() {
    let cwd = tempfile::tempdir().unwrap();
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("work");
    std::fs::create_dir(&dir).unwrap();
    let out = cwd.path().join("out");
    let mut args = run_args(
        &dir,
        &[
            "-e",
            "null-hang,null",
            "-w",
            "read",
            "--trial-timeout",
            "2",
            "--quiet",
            "--out",
        ],
    );
    args.push(out.display().to_string());
    let child = ringbench(cwd.path())
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let guard = KillOnDrop(Some(child));
    let start = Instant::now();
    // Once a trial is running (its destination exists), remove --dir under it.
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no trial started"
        );
        let started = std::fs::read_dir(&dir).is_ok_and(|rd| {
            rd.filter_map(|e| e.ok())
                .any(|e| e.path().join("dst").is_dir())
        });
        if started {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::remove_dir_all(&dir).unwrap();
    let o = guard.take().wait_with_output().unwrap();
    let line = one_line_error("vanished --dir", &o);
    assert!(
        line.contains("--dir")
            && line.contains(&dir.display().to_string())
            && line.contains("vanished"),
        "{line}"
    );
    assert!(!dir.exists(), "--dir was re-created");
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
    // What ran is kept, and meta.json says why the run stopped.
    let m = meta(&out);
    assert!(m["finished"].is_string());
    assert!(m["notes"].to_string().contains("vanished"), "{m}");
    assert!(!trials(&out).is_empty());
}

/// A run killed with SIGKILL cannot clean up: the next run in the same --dir names what it
/// left, with the command that removes it, and removes nothing itself.
#[test]
fn leftovers_of_a_killed_run_are_named_and_kept() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut args = run_args(dir.path(), &["-e", "null-hang", "-w", "read", "--quiet"]);
    args.extend(s(&["--trial-timeout", "60"]));
    let child = ringbench(cwd.path())
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let guard = KillOnDrop(Some(child));
    let start = Instant::now();
    let scratch = loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no trial started"
        );
        let found = std::fs::read_dir(dir.path()).unwrap().find_map(|e| {
            let p = e.ok()?.path();
            p.join("dst").is_dir().then_some(p)
        });
        if let Some(p) = found {
            break p;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // The trial child leads its own process group: find it before its parent dies.
    let children: Vec<i32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|st| {
                st.rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().nth(1))
                    == Some(&pid.to_string())
            })
        })
        .collect();
    drop(guard); // SIGKILL, as `kill -9` would
    for c in children {
        // SAFETY: killing the orphaned trial child's group (ours, from the run just killed).
        unsafe { libc::kill(-c, libc::SIGKILL) };
    }
    assert!(scratch.is_dir(), "the killed run cleaned up after all?");
    let before = snapshot(dir.path());
    let out = cwd.path().join("next");
    let mut args = run_args(dir.path(), &["-e", "null", "-w", "read", "--out"]);
    args.push(out.display().to_string());
    let o = run_output(cwd.path(), &args);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let name = scratch.file_name().unwrap().to_string_lossy().into_owned();
    let line = err
        .lines()
        .find(|l| l.contains(&name))
        .unwrap_or_else(|| panic!("leftover not named: {err}"));
    assert!(
        line.contains(&format!("pid {pid}")) && line.contains("rm -rf -- '"),
        "{line}"
    );
    assert_eq!(
        snapshot(dir.path()),
        before,
        "the next run touched the leftover"
    );
    assert!(meta(&out)["notes"].to_string().contains(&name));
    // No escape codes: stderr is not a terminal here (and TERM unset would do the same).
    assert!(!err.contains('\x1b'), "{err:?}");
}

/// With TERM unset and stderr not a terminal, progress is plain lines, no escape codes.
#[test]
fn progress_without_a_terminal_draws_no_escape_codes() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = ringbench(cwd.path())
        .env_remove("TERM")
        .args(run_args(dir.path(), &["-e", "null,std", "-w", "read"]))
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.is_empty(), "no progress at all");
    assert!(!err.contains('\x1b') && !err.contains('\r'), "{err:?}");
}
