//! Machine-readable and shell-facing output, through the built binary (assert_cmd): `--json` on
//! `list`, `env`, `safety` and `compare` parses and carries the data the human output shows;
//! `completions` and `man` print non-empty scripts and pages; the fio-style aliases `--bs` and
//! `--iodepth` reach the same options as `--block-size` and `--queue-depth`.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn ringbench() -> Command {
    Command::cargo_bin("ringbench").expect("the ringbench binary")
}

/// Run, require exit 0, and return stdout.
fn stdout_of(args: &[&str]) -> String {
    let o = ringbench().args(args).output().expect("run ringbench");
    assert!(
        o.status.success(),
        "ringbench {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("UTF-8 stdout")
}

fn json_of(args: &[&str]) -> Value {
    let text = stdout_of(args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("ringbench {args:?}: {e}\n{text}"))
}

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temporary path")
}

/// A tiny real run of std on `read` (two rounds, 1 MiB) into `out`, with extra flags.
fn tiny_run(scratch: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "run", "-e", "std", "-w", "read", "--size", "1M", "--repeat", "2", "--warmup", "0",
        "--quiet", "--dir",
    ];
    args.push(p(scratch));
    args.extend(["--out", p(out)]);
    args.extend(extra);
    stdout_of(&args);
}

#[test]
fn list_json_has_what_the_text_lists() {
    let text = stdout_of(&["list"]);
    let v = json_of(&["list", "--json"]);
    let engines = v["engines"].as_array().expect("engines");
    assert!(!engines.is_empty());
    for e in engines {
        let name = e["name"].as_str().expect("name");
        // Every engine of the JSON is a row of the text, with the same availability word.
        let row = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing from the text:\n{text}"));
        let available = e["available"].as_bool().expect("available");
        assert_eq!(row.contains("UNAVAILABLE"), !available, "{row}");
        assert_eq!(e["unavailable_reason"].is_null(), available, "{e}");
        assert!(e["routes"]["read"].is_string(), "{e}");
        assert!(e["model"].is_string(), "{e}");
    }
    let std = engines.iter().find(|e| e["name"] == "std").expect("std");
    assert_eq!(std["available"], true, "std is always available");
    for key in ["workloads", "safety_scenarios"] {
        let items = v[key].as_array().expect(key);
        assert!(!items.is_empty(), "{key}");
        for w in items {
            let name = w["name"].as_str().unwrap();
            assert!(
                text.lines()
                    .any(|l| l.split_whitespace().next() == Some(name)),
                "{key} {name} not in the text"
            );
        }
    }
    // Test-support engines only with --all, in JSON as in text.
    let all = json_of(&["list", "--all", "--json"]);
    assert!(all["engines"].as_array().unwrap().len() > engines.len());
}

#[test]
fn env_json_describes_the_dir_asked_for() {
    let t = tempfile::tempdir().unwrap();
    let v = json_of(&["env", "--dir", p(t.path()), "--json"]);
    assert_eq!(v["dir"].as_str(), Some(p(t.path())));
    assert!(v["cores"].as_u64().unwrap() >= 1);
    assert!(!v["kernel"].as_str().unwrap().is_empty());
    assert!(v["o_direct"].is_boolean());
}

#[test]
fn safety_json_is_the_matrix_summary() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("s");
    let v = json_of(&[
        "safety",
        "-e",
        "std",
        "-s",
        "read-drop",
        "--repeats",
        "1",
        "--no-controls",
        "--dir",
        p(t.path()),
        "--out",
        p(&out),
        "--json",
    ]);
    assert_eq!(v["engines"], serde_json::json!(["std"]));
    assert_eq!(v["scenarios"], serde_json::json!(["read-drop"]));
    let cells = v["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 1);
    let c = &cells[0];
    assert_eq!(
        (c["engine"].as_str(), c["scenario"].as_str()),
        (Some("std"), Some("read-drop"))
    );
    // The summary agrees with the full record it points to.
    let path = v["safety_json"].as_str().unwrap();
    assert_eq!(Path::new(path), out.join("safety.json"));
    let full: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let fc = &full["cells"][0];
    assert_eq!(c["repeats"], fc["repeats"]);
    assert_eq!(c["flagged_runs"], fc["flagged_runs"]);
    // No control ran (--no-controls): the scenario is unvalidated, and a clean cell says so.
    let unvalidated = v["unvalidated"].as_array().unwrap();
    assert!(
        unvalidated.iter().any(|u| u["scenario"] == "read-drop"),
        "{v}"
    );
    if c["flagged"] == false && c["kind"] != "skipped" {
        assert_eq!(c["label"], "unvalidated", "{c}");
    }
    assert!(v["interrupted"].is_null());
}

#[test]
fn compare_json_carries_the_cells_and_ratios() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    tiny_run(t.path(), &a, &[]);
    tiny_run(t.path(), &b, &[]);
    let cmp = t.path().join("cmp");
    let v = json_of(&["compare", p(&a), p(&b), "--out", p(&cmp), "--json"]);
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        (runs[0]["label"].as_str(), runs[0]["name"].as_str()),
        (Some("A"), Some("a"))
    );
    assert_eq!(
        v["compare_md"].as_str().map(Path::new),
        Some(cmp.join("compare.md").as_path())
    );
    assert!(cmp.join("compare.md").is_file());
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 1);
    assert_eq!(points[0]["workload"], "read");
    let row = points[0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["engine"] == "std")
        .expect("std row");
    // Each run's cell is that run's summary.json cell.
    for (k, dir) in [a, b].iter().enumerate() {
        let s: Value =
            serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
        let want = s["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["engine"] == "std" && c["workload"] == "read")
            .expect("std read cell");
        let got = &row["cells"][k];
        assert_eq!(got["status"], "ok");
        assert_eq!(got["median_bps"], want["median_bps"]);
        assert_eq!(got["ci_lo_bps"], want["ci"]["lo"]);
        assert_eq!(got["n"], want["n"]);
    }
    // The ratio is B's median over A's.
    let r = &row["ratios"][0];
    assert_eq!(r["run"], "B");
    let (ma, mb) = (
        row["cells"][0]["median_bps"].as_f64().unwrap(),
        row["cells"][1]["median_bps"].as_f64().unwrap(),
    );
    assert!(
        (r["median"].as_f64().unwrap() - mb / ma).abs() < 1e-9,
        "{r}"
    );
    assert!(r["lo"].as_f64().unwrap() <= r["median"].as_f64().unwrap());
    assert!(["faster", "slower", "within-noise"].contains(&r["verdict"].as_str().unwrap()));
}

#[test]
fn completions_and_man_pages_are_printed() {
    for sh in ["bash", "zsh", "fish"] {
        let s = stdout_of(&["completions", sh]);
        assert!(s.len() > 1000, "{sh}: {} bytes", s.len());
        // Real subcommands and flags, not the internal child commands.
        assert!(s.contains("safety") && s.contains("iodepth"), "{sh}");
        assert!(!s.contains("__trial"), "{sh} offers the internal __trial");
    }
    let top = stdout_of(&["man"]);
    assert!(
        top.starts_with(".ie") || top.contains(".TH ringbench 1"),
        "{top}"
    );
    assert!(top.contains("ringbench\\-run(1)"));
    let run = stdout_of(&["man", "run"]);
    // (clap_mangen lists no aliases; --help does.)
    assert!(
        run.contains(".TH ringbench-run 1") && run.contains("queue\\-depth"),
        "{run}"
    );
    // Bad input: one line, exit 2.
    let o = ringbench().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&o.stderr).lines().count(), 1);
    let o = ringbench().args(["man", "nosuch"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown command \"nosuch\""));
}

#[test]
fn fio_style_aliases_reach_the_same_options() {
    // Listed in every subcommand's help that has the flags.
    for cmd in ["run", "audit", "calibrate"] {
        let help = stdout_of(&[cmd, "--help"]);
        assert!(help.contains("--bs"), "{cmd} --help lacks --bs");
        assert!(help.contains("--iodepth"), "{cmd} --help lacks --iodepth");
    }
    // A run with the aliases measures at the block size and queue depth they give.
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("o");
    tiny_run(t.path(), &out, &["--bs", "16k", "--iodepth", "3"]);
    let s: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let cfg = &s["cells"][0]["config"];
    assert_eq!(cfg["block_size"], 16384, "{cfg}");
    assert_eq!(cfg["queue_depth"], 3, "{cfg}");
    // Bad values through an alias are refused like the long flag's, in one line.
    for cmd in ["audit", "calibrate"] {
        let o = ringbench()
            .args([cmd, "--bs", "nonsense", "--out", p(&t.path().join(cmd))])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("nonsense"), "{cmd}: {err}");
    }
}
