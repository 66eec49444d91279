//! Interrupts of every long-running subcommand but `safety` (tested in `safety.rs`): `run`,
//! `audit` and `calibrate`, each stopped by SIGINT or SIGTERM while a trial child hangs. After
//! the signal no process of the command is left, checked by process group (the command's own
//! group and each child's), the result files say "interrupted", stderr says what was kept, and
//! the exit code is 128 + the signal.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ringbench");

/// Every process on the machine: pid -> (parent pid, process group, command line).
fn processes() -> BTreeMap<i32, (i32, i32, String)> {
    let mut out = BTreeMap::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name is in parentheses and may hold anything: fields follow the last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() < 3 || f[0] == "Z" {
            continue; // a zombie has exited; it only waits for its parent
        }
        let (Ok(ppid), Ok(pgrp)) = (f[1].parse(), f[2].parse()) else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        out.insert(pid, (ppid, pgrp, cmd));
    }
    out
}

/// `root` and every process below it: pid -> (process group, command line).
fn tree(root: i32) -> BTreeMap<i32, (i32, String)> {
    let all = processes();
    let mut out = BTreeMap::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        if let Some((_, g, c)) = all.get(&p) {
            out.insert(p, (*g, c.clone()));
        }
        for (pid, (ppid, _, _)) in &all {
            if *ppid == p && !out.contains_key(pid) {
                todo.push(*pid);
            }
        }
    }
    out
}

struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            // SAFETY: killing the group this test made for its own child.
            unsafe { libc::kill(-(c.id() as i32), libc::SIGKILL) };
            let _ = c.wait();
        }
    }
}

/// Start `args` in a process group of its own, wait until a `__trial` child has been alive
/// for 3 s (the hanging one: the others take milliseconds), send `sig` to the command, and
/// return its output, how long it took to stop, and the process groups seen under it.
fn interrupt(cwd: &Path, args: &[String], sig: i32) -> (Output, Duration, BTreeSet<i32>) {
    let child = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env("RUST_BACKTRACE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let mut guard = KillOnDrop(Some(child));
    let start = Instant::now();
    let mut seen: Option<(i32, Instant)> = None;
    let mut groups = BTreeSet::from([pid]);
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "no hanging trial after 90 s"
        );
        let t = tree(pid);
        groups.extend(t.values().map(|(g, _)| *g));
        let trial = t
            .iter()
            .find(|(p, (_, c))| **p != pid && c.contains("__trial"))
            .map(|(p, _)| *p);
        match (trial, seen) {
            (Some(p), Some((q, since))) if p == q && since.elapsed() > Duration::from_secs(3) => {
                break;
            }
            (Some(p), Some((q, _))) if p == q => {}
            (Some(p), _) => seen = Some((p, Instant::now())),
            (None, _) => seen = None,
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // The command's children lead groups of their own.
    assert!(
        groups.len() > 1,
        "children share the command's process group: {:?}",
        tree(pid)
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, sig) };
    let t = Instant::now();
    let o = guard.0.take().unwrap().wait_with_output().unwrap();
    (o, t.elapsed(), groups)
}

fn json(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn audit_calibrate_and_run_stop_on_a_signal_leave_no_process_and_mark_their_files() {
    // (name, arguments after the binary with {dir} and {out}, signal, the file that must say
    // interrupted (relative to {out}), what stderr must say)
    type Case<'a> = (&'a str, &'a [&'a str], i32, &'a str, &'a [&'a str]);
    let cases: &[Case] = &[
        (
            "audit, SIGINT",
            &[
                "audit",
                "--dir",
                "{dir}",
                "--out",
                "{out}",
                "-e",
                "null-hang",
                "-w",
                "large",
                "--size",
                "1M",
                "--timeout",
                "300",
            ],
            libc::SIGINT,
            "audit.json",
            &["interrupted by SIGINT", "audit.json", "0 of 1 cells"],
        ),
        (
            "audit, SIGTERM",
            &[
                "audit",
                "--dir",
                "{dir}",
                "--out",
                "{out}",
                "-e",
                "null,null-hang",
                "-w",
                "read",
                "--size",
                "1M",
                "--timeout",
                "300",
            ],
            libc::SIGTERM,
            "audit.json",
            &["interrupted by SIGTERM", "1 of 2 cells"],
        ),
        (
            "calibrate, SIGINT",
            &[
                "calibrate",
                "--dir",
                "{dir}",
                "--out",
                "{out}",
                "-e",
                "null-hang",
                "--phases",
                "harness",
                "--harness-size",
                "1M",
                "--harness-block-size",
                "64k",
                "--repeat",
                "1",
                "--warmup",
                "0",
                "--quiet",
            ],
            libc::SIGINT,
            "calibrate.json",
            &["interrupted by SIGINT", "calibrate.json", "1 of 1 runs"],
        ),
        (
            "calibrate, SIGTERM",
            &[
                "calibrate",
                "--dir",
                "{dir}",
                "--out",
                "{out}",
                "-e",
                "null-hang",
                "--phases",
                "harness",
                "--harness-size",
                "1M",
                "--harness-block-size",
                "64k",
                "--repeat",
                "1",
                "--warmup",
                "0",
                "--quiet",
            ],
            libc::SIGTERM,
            "calibrate.json",
            &["interrupted by SIGTERM"],
        ),
        (
            "run, SIGTERM",
            &[
                "run",
                "--dir",
                "{dir}",
                "--out",
                "{out}",
                "-e",
                "null,null-hang",
                "-w",
                "read",
                "--size",
                "1M",
                "--repeat",
                "1",
                "--warmup",
                "0",
                "--cache",
                "warm",
                "--quiet",
            ],
            libc::SIGTERM,
            "meta.json",
            &["interrupted by SIGTERM", "results so far"],
        ),
    ];
    for (name, args, sig, file, say) in cases {
        let cwd = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = cwd.path().join("out");
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                a.replace("{dir}", &dir.path().display().to_string())
                    .replace("{out}", &out.display().to_string())
            })
            .collect();
        let (o, took, groups) = interrupt(cwd.path(), &args, *sig);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(128 + sig),
            "{name}: exit code; stderr: {err}"
        );
        assert!(
            took < Duration::from_secs(15),
            "{name}: stopping took {took:?}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
        for w in *say {
            assert!(err.contains(w), "{name}: expected {w:?} in stderr: {err}");
        }
        // Nothing of the command is left, in any of its process groups.
        let left: Vec<_> = processes()
            .into_iter()
            .filter(|(_, (_, g, _))| groups.contains(g))
            .collect();
        assert!(left.is_empty(), "{name}: processes left: {left:?}");
        // The file says interrupted, and by what.
        let v = json(&out.join(file));
        assert_eq!(v["interrupted"], true, "{name}: {file}: {v}");
        if *file != "meta.json" {
            let by = if *sig == libc::SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            assert_eq!(v["interrupted_by"], by, "{name}: {file}");
        }
        // The scratch directory went with it.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{name}: left in --dir: {left:?}");
        eprintln!("ok  {name:<20} {}", err.lines().last().unwrap_or(""));
    }
}
