//! `ringbench safety` end to end: the parent's oracles (deadline, signal) and the child's
//! (memory, descriptors) each fire on a case built to trigger them, and std is never flagged.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

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
        let skipped = verdict(&r, "naive", s)["kind"] == "skipped";
        if skipped {
            eprintln!("SKIPPED naive {s}: {}", verdict(&r, "naive", s));
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
                eprintln!("SKIPPED {e} {s}: {}", c["verdict"]);
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
        eprintln!("SKIPPED: {v}");
        return;
    }
    assert_eq!(v["kind"], "hang", "{v}");
    assert_eq!(v["released_by_data"], true, "{v}");
}

/// tokio's io_uring backend writes files through the same tokio code as plain tokio: the two
/// engines must get the same write verdicts (an adapter difference would show here).
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
    for s in ["write-drop", "write-timeout-file"] {
        let (a, b) = (verdict(&r, "tokio", s), verdict(&r, "tokio-io-uring", s));
        if b["kind"] == "skipped" {
            eprintln!("SKIPPED tokio-io-uring {s}: {b}");
            continue;
        }
        assert_eq!(a["kind"], b["kind"], "{s}: tokio {a} vs tokio-io-uring {b}");
    }
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
        eprintln!(
            "SKIPPED: compio@0.16 not here ({}); run with --features bench-compio/versions",
            old["reason"]
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
