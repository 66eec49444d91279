//! `ringbench safety` end to end: the parent's oracles (deadline, signal) and the child's
//! (memory, descriptors) each fire on a case built to trigger them, and std is never flagged.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use workloads::conformance::skipped;

fn safety(dir: &Path, engines: &str, scenarios: &str, timeout: &str) -> Value {
    safety_with(dir, engines, scenarios, timeout, &["--repeats", "1"])
}

fn safety_with(dir: &Path, engines: &str, scenarios: &str, timeout: &str, extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ringbench"))
        .args([
            "safety",
            "-e",
            engines,
            "-s",
            scenarios,
            "--timeout",
            timeout,
            "--out",
        ])
        .arg(dir)
        .args(extra)
        .output()
        .expect("run ringbench");
    assert!(
        out.status.success(),
        "ringbench safety failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.join("safety.json")).expect("safety.json written");
    serde_json::from_str(&text).expect("safety.json parses")
}

fn verdict<'a>(report: &'a Value, engine: &str, scenario: &str) -> &'a Value {
    let cells = report["cells"].as_array().expect("cells");
    let c = cells
        .iter()
        .find(|c| c["engine"] == engine && c["scenario"] == scenario)
        .unwrap_or_else(|| panic!("no cell {engine} {scenario}"));
    &c["verdict"]
}

#[test]
fn a_hung_child_is_recorded_as_hang() {
    let dir = tempfile::tempdir().unwrap();
    let r = safety(dir.path(), "std", "selftest-hang", "1");
    assert_eq!(verdict(&r, "std", "selftest-hang")["kind"], "hang");
}

#[test]
fn a_crashing_child_is_recorded_with_its_signal() {
    let dir = tempfile::tempdir().unwrap();
    let r = safety(dir.path(), "std", "selftest-crash", "10");
    let v = verdict(&r, "std", "selftest-crash");
    assert_eq!(v["kind"], "crash");
    assert_eq!(v["signal"], "SIGSEGV");
}

#[test]
fn a_leaked_descriptor_is_recorded_as_leak() {
    let dir = tempfile::tempdir().unwrap();
    let r = safety(dir.path(), "std", "selftest-leak-fd", "10");
    let v = verdict(&r, "std", "selftest-leak-fd");
    assert_eq!(v["kind"], "leak");
    assert_eq!(v["what"], "fd");
    assert_eq!(v["count"], 1);
}

#[test]
fn the_naive_control_is_caught_and_std_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let r = safety(dir.path(), "std,naive", "read-drop,write-drop", "10");
    for s in ["read-drop", "write-drop"] {
        let v = verdict(&r, "std", s);
        assert_eq!(v["kind"], "safe", "std {s}: {v}");
        let not_run = verdict(&r, "naive", s)["kind"] == "skipped";
        if not_run {
            skipped(&format!("naive {s}"), &verdict(&r, "naive", s).to_string());
            continue;
        }
        assert_eq!(
            verdict(&r, "naive", s)["kind"],
            "use-after-free",
            "naive {s}"
        );
    }
    assert_eq!(
        verdict(&r, "naive", "read-drop")["direction"],
        "kernel-wrote"
    );
    assert_eq!(
        verdict(&r, "naive", "write-drop")["direction"],
        "kernel-read"
    );
}

/// Every cell's verdict (kind and counts), by engine and scenario.
fn verdicts(report: &Value) -> Vec<(String, String, String)> {
    report["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| {
            (
                c["engine"].as_str().unwrap_or_default().to_string(),
                c["scenario"].as_str().unwrap_or_default().to_string(),
                c["verdict"].to_string(),
            )
        })
        .collect()
}

/// Issue 4: re-running gives the same verdicts. On ring engines whose verdicts depend on how a
/// cancel races the data (the harness gives the runtime a turn before data arrives so that
/// they do not), and on the naive control whose verdict counts bytes of freed memory changed.
#[test]
fn a_second_run_gives_the_same_verdicts() {
    let engines = "naive,tokio-uring,monoio,compio,glommio";
    let scenarios = "read-drop,open-drop,runtime-drop,timeout-read";
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let first = verdicts(&safety(a.path(), engines, scenarios, "5"));
    let second = verdicts(&safety(b.path(), engines, scenarios, "5"));
    // Four runtimes by four scenarios; naive, a control, runs the three it controls, and
    // runtime-drop's control is added for that one.
    assert_eq!(first.len(), 4 * 4 + 3 + 1);
    let observed = first
        .iter()
        .filter(|(_, _, v)| !v.contains("\"skipped\""))
        .count();
    eprintln!("{observed} of {} cells observed (not skipped)", first.len());
    for (x, y) in first.iter().zip(&second) {
        assert_eq!(x, y, "verdict changed between two runs");
    }
}

fn validation<'a>(report: &'a Value, scenario: &str) -> &'a Value {
    report["validation"]
        .as_array()
        .expect("validation")
        .iter()
        .find(|v| v["scenario"] == scenario)
        .unwrap_or_else(|| panic!("no validation of {scenario}"))
}

fn cell<'a>(report: &'a Value, engine: &str, scenario: &str) -> &'a Value {
    report["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| c["engine"] == engine && c["scenario"] == scenario)
        .unwrap_or_else(|| panic!("no cell {engine} {scenario}"))
}

/// Every scenario has a positive control, and on this machine each one is flagged: no column
/// of the matrix can say "safe" without its oracle having been seen to fire.
#[test]
fn every_scenario_is_validated_by_its_control() {
    let dir = tempfile::tempdir().unwrap();
    // No engine but the controls, which are added for every scenario asked for.
    let r = safety(dir.path(), "naive", "all", "5");
    let mut missing = Vec::new();
    for v in r["validation"].as_array().expect("validation") {
        eprintln!(
            "{} validated={} flagged={}",
            v["scenario"], v["validated"], v["flagged"]
        );
        if v["validated"] != true {
            missing.push(format!("{}: {}", v["scenario"], v["why_not"]));
        }
    }
    let ids = r["scenarios"].as_array().unwrap().len();
    assert_eq!(
        r["validation"].as_array().unwrap().len(),
        ids,
        "one validation per scenario"
    );
    assert!(missing.is_empty(), "controls not flagged: {missing:?}");
}

/// Without the controls, a clean cell is "unvalidated", never "safe" — in safety.json's
/// validation and in the printed matrix.
#[test]
fn an_unflagged_control_makes_the_scenario_unvalidated() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ringbench"))
        .args([
            "safety",
            "-e",
            "std",
            "-s",
            "read-drop",
            "--repeats",
            "1",
            "--no-controls",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .expect("run ringbench");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("safety.json")).unwrap())
            .unwrap();
    assert_eq!(validation(&r, "read-drop")["validated"], false);
    assert_eq!(verdict(&r, "std", "read-drop")["kind"], "safe");
    let row = text
        .lines()
        .find(|l| l.starts_with("std "))
        .expect("std row");
    assert!(
        row.contains("unvalidated") && !row.contains("safe"),
        "{text}"
    );
}

/// The race scenarios count, per run, the ops the kernel had completed before their future
/// was dropped: on a ring engine the race must really happen (not be assumed).
#[test]
fn the_races_really_happen() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = "open-race,read-race,write-timeout-file,accept-drop";
    let r = safety_with(
        dir.path(),
        "naive,compio",
        scenarios,
        "5",
        &["--repeats", "2", "--no-controls"],
    );
    for e in ["naive", "compio"] {
        for s in scenarios.split(',') {
            let c = cell(&r, e, s);
            if c["verdict"]["kind"] == "skipped" {
                skipped(&format!("{e} {s}"), &c["verdict"].to_string());
                continue;
            }
            let raced: u64 = c["runs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["raced"].as_u64().unwrap_or(0))
                .sum();
            assert!(
                raced > 0,
                "{e} {s}: no op seen completed in the kernel before its drop: {c}"
            );
        }
    }
}

/// A close that only returns once unrelated data arrives is a hang ("until data"), not the
/// data loss the old fallback timer made of it.
#[test]
fn a_wait_ended_only_by_data_is_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let r = safety(dir.path(), "naive-close-waits", "close-after-drop", "5");
    let v = verdict(&r, "naive-close-waits", "close-after-drop");
    if v["kind"] == "skipped" {
        skipped("naive-close-waits close-after-drop", &v.to_string());
        return;
    }
    assert_eq!(v["kind"], "hang", "{v}");
    assert_eq!(v["released_by_data"], true, "{v}");
}

/// tokio's io_uring backend writes a `File` through the same tokio code as plain tokio (its
/// ring does not do `File` writes), and both engines' stream ops call tokio's `File` the same
/// way: their `write-drop` verdicts must agree (an adapter difference would show here). Their
/// positional writes do not share a path (plain tokio's is a `spawn_blocking` `pwrite`, which
/// tokio's `File` has no form of), and `write-timeout-file` says so in its evidence.
#[test]
fn engines_sharing_a_write_path_get_the_same_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let r = safety_with(
        dir.path(),
        "tokio,tokio-io-uring",
        "write-drop,write-timeout-file",
        "5",
        &["--repeats", "2", "--no-controls"],
    );
    let (a, b) = (
        verdict(&r, "tokio", "write-drop"),
        verdict(&r, "tokio-io-uring", "write-drop"),
    );
    if b["kind"] == "skipped" {
        skipped("tokio-io-uring write-drop", &b.to_string());
    } else {
        assert_eq!(
            a["kind"], b["kind"],
            "write-drop: tokio {a} vs tokio-io-uring {b}"
        );
    }
    let ev = cell(&r, "tokio", "write-timeout-file")["evidence"].to_string();
    assert!(ev.contains("thread pool"), "{ev}");
}

/// `--fail-on` exits 1 on a finding of a listed kind in a ranked engine, 0 otherwise; a bad
/// kind is one clear line and exit 2.
#[test]
fn fail_on_gates_on_the_kinds_listed() {
    let run = |kinds: &str| {
        let dir = tempfile::tempdir().unwrap();
        Command::new(env!("CARGO_BIN_EXE_ringbench"))
            .args([
                "safety",
                "-e",
                "std",
                "-s",
                "selftest-leak-fd",
                "--repeats",
                "1",
                "--fail-on",
                kinds,
                "--out",
            ])
            .arg(dir.path().join("o"))
            .output()
            .expect("run ringbench")
    };
    assert_eq!(run("leak").status.code(), Some(1));
    assert_eq!(run("hang,crash").status.code(), Some(0));
    assert_eq!(run("any").status.code(), Some(1));
    let bad = run("leaks");
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("--fail-on") && err.lines().count() == 1,
        "{err}"
    );
}

/// Repeats are recorded per run, with the frequency of the headline.
#[test]
fn repeats_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let r = safety_with(
        dir.path(),
        "std",
        "selftest-leak-fd",
        "5",
        &["--repeats", "3"],
    );
    let c = cell(&r, "std", "selftest-leak-fd");
    assert_eq!(c["repeats"], 3);
    assert_eq!(c["runs"].as_array().unwrap().len(), 3);
    assert_eq!(c["headline_runs"], 3);
}

/// Processes whose command line mentions `marker` (the run's scratch directory, which every
/// child of the run gets in its parameters).
fn processes_mentioning(marker: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if !e
            .file_name()
            .to_string_lossy()
            .chars()
            .all(|c| c.is_ascii_digit())
        {
            continue;
        }
        if let Ok(c) = std::fs::read(e.path().join("cmdline")) {
            let c = String::from_utf8_lossy(&c).replace('\0', " ");
            if c.contains(marker) {
                out.push(format!("{}: {c}", e.file_name().to_string_lossy()));
            }
        }
    }
    out
}

/// SIGINT and SIGTERM stop `ringbench safety`: its children (and their process groups) are
/// gone, safety.json keeps the cells that ran and says it was interrupted, stderr says what
/// was kept, and the exit code is 128 + the signal.
#[test]
fn an_interrupted_safety_run_keeps_its_cells_and_leaves_no_process() {
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let dir = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ringbench"))
            .args([
                "safety",
                "-e",
                "std,naive",
                "-s",
                "selftest-leak-fd,selftest-hang",
                "--repeats",
                "3",
                "--timeout",
                "30",
                "--dir",
            ])
            .arg(dir.path())
            .arg("--out")
            .arg(out.path().join("s"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start ringbench");
        // Long enough for the leak cells to finish and the hang cells to start.
        let marker = dir.path().to_string_lossy().into_owned();
        let t = std::time::Instant::now();
        while processes_mentioning(&marker).is_empty() && t.elapsed().as_secs() < 20 {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        std::thread::sleep(std::time::Duration::from_millis(1500));
        // SAFETY: signalling the child we started.
        unsafe { libc::kill(child.id() as libc::pid_t, sig) };
        let o = child.wait_with_output().unwrap();
        assert!(
            t.elapsed().as_secs() < 25,
            "the run did not stop on the signal"
        );
        assert_eq!(
            o.status.code(),
            Some(code),
            "signal {sig}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("interrupted"), "{err}");
        let r: Value = serde_json::from_str(
            &std::fs::read_to_string(out.path().join("s/safety.json")).expect("safety.json kept"),
        )
        .unwrap();
        assert!(
            r["interrupted"]
                .as_str()
                .is_some_and(|s| s.contains("interrupted after")),
            "{}",
            r["interrupted"]
        );
        assert!(
            !r["cells"].as_array().unwrap().is_empty(),
            "the cells that ran are kept"
        );
        let t = std::time::Instant::now();
        let mut left = processes_mentioning(&marker);
        while !left.is_empty() && t.elapsed().as_secs() < 5 {
            std::thread::sleep(std::time::Duration::from_millis(50));
            left = processes_mentioning(&marker);
        }
        assert!(
            left.is_empty(),
            "processes of the run left after {sig}: {left:?}"
        );
        // The scratch directory the run made inside --dir is gone too.
        let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert!(entries.is_empty(), "left in --dir: {entries:?}");
    }
}

/// `-e compio@0.16,compio` runs every scenario asked on both releases and the matrix says, per
/// scenario, whether they agree, consistently with the cells (whatever the verdicts are).
/// Needs the other release compiled in (`--features bench-compio/versions`, as CI runs this
/// file); without it the engine is skipped with its reason and so is this test.
#[test]
fn two_releases_run_side_by_side_and_are_compared() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = "read-drop,open-race,runtime-drop";
    let out = Command::new(env!("CARGO_BIN_EXE_ringbench"))
        .args(["safety", "-e", "compio@0.16,compio", "-s", scenarios])
        .args(["--repeats", "1", "--timeout", "10", "--out"])
        .arg(dir.path())
        .output()
        .expect("run ringbench");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("safety.json")).unwrap())
            .unwrap();
    let old = verdict(&report, "compio@0.16", "read-drop");
    if old["kind"] == "skipped" {
        skipped(
            "compio@0.16 read-drop",
            &format!(
                "not built here ({}); run with --features bench-compio/versions",
                old["reason"]
            ),
        );
        return;
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("versions ("), "{stdout}");
    // The kinds of finding of a cell (one run: its headline and further findings).
    let kinds = |engine: &str, sc: &str| -> Vec<String> {
        let c = cell(&report, engine, sc);
        let mut k: Vec<String> = c["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(std::iter::once(&c["verdict"]))
            .filter_map(|v| v["kind"].as_str())
            .filter(|k| *k != "safe")
            .map(String::from)
            .collect();
        k.sort();
        k.dedup();
        k
    };
    for sc in scenarios.split(',') {
        let (a, b) = (kinds("compio@0.16", sc), kinds("compio", sc));
        assert!(
            !a.contains(&"skipped".to_string()) && !b.contains(&"skipped".to_string()),
            "{sc}: {a:?} / {b:?}"
        );
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("compio {sc}:")))
            .unwrap_or_else(|| panic!("no versions line for {sc}: {stdout}"));
        let word = if a == b { "agree" } else { "DIFFER" };
        assert!(line.contains(word), "{sc}: {a:?} vs {b:?} but `{line}`");
    }
}
