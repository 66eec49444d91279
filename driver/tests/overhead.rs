//! End to end: a tiny `ringbench run` has the overhead set (runtime cost per op) planned on
//! every engine, summarised with a row per engine in report.md's "Runtime cost per op" section
//! and in summary.json, charted in plots/overhead.*, and named in "How to choose";
//! `--no-overhead` leaves all of it out, and `ringbench report` re-renders it from the data;
//! its trials are pinned to one CPU unless `--overhead-cpu none`, and a child that cannot pin
//! itself fails its trial rather than running unpinned. No timing is asserted: this VM's speed
//! is not the subject.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn run(scratch: &Path, out: &Path, extra: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_ringbench"))
        .args([
            "run",
            "-e",
            "std,compio,io-uring-raw",
            "-w",
            "read",
            "--size",
            "256k",
            "--repeat",
            "2",
            "--warmup",
            "0",
            "--quiet",
        ])
        .args(extra)
        .arg("--dir")
        .arg(scratch)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run ringbench");
    assert!(
        o.status.success(),
        "ringbench run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn trials(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("trials.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The rows of the markdown table under `### {workload}` in the section.
fn table_rows<'a>(section: &'a str, workload: &str) -> Vec<&'a str> {
    let start = section
        .find(&format!("### {workload}\n"))
        .unwrap_or_else(|| panic!("no table for {workload}:\n{section}"));
    section[start..]
        .lines()
        .skip(1)
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .collect()
}

#[test]
fn the_overhead_set_has_a_section_with_a_row_per_engine() {
    let scratch = tempfile::tempdir().unwrap();
    let res = tempfile::tempdir().unwrap();
    let out = res.path().join("run");
    run(scratch.path(), &out, &["--overhead-size", "64k"]);
    let engines = ["std", "compio", "io-uring-raw"];

    // Planned: every engine × {read, randread, write} × {qd1, qd32} in each round, 4 KiB,
    // cache warm, no fsync, tagged apart from the main trials.
    let set: Vec<Value> = trials(&out)
        .into_iter()
        .filter(|t| t["overhead"] == true)
        .collect();
    assert_eq!(set.len(), engines.len() * 3 * 2 * 2, "{set:?}");
    for t in &set {
        assert_eq!(t["config"]["block_size"], 4096);
        assert_eq!(t["cache"], "warm", "{t}");
        assert_eq!(t["status"], "ok", "{t}");
        // Several timed passes in the one child, the median pass kept and said so.
        let detail = t["outcome"]["detail"].as_str().unwrap_or("");
        assert!(detail.contains("median of 5 passes"), "{t}");
    }
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["options"]["overhead"]["size"], 64 << 10);
    assert_eq!(meta["options"]["overhead"]["passes"], 5);
    // Pinned by default, to the last CPU this process may use, and said in the section.
    let cpu = driver::sys::cpus::default_pin().expect("this process's affinity");
    assert_eq!(meta["options"]["overhead"]["cpu"], cpu);

    // Summarised apart: the main cells are the `read` workload only.
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let main = summary["cells"].as_array().unwrap();
    assert!(main.iter().all(|c| c["workload"] == "read"), "{main:?}");
    assert!(main.iter().all(|c| c["config"]["block_size"] != 4096));
    let cells = summary["overhead"].as_array().unwrap();
    assert_eq!(cells.len(), engines.len() * 3 * 2);
    for c in cells {
        let floor = c["engine"] == "io-uring-raw";
        assert_eq!(c["floor"], floor);
        assert!(c["ops_per_s"].as_f64().unwrap() > 0.0, "{c}");
        // The tax is paired with the floor's trial of the same round.
        assert_eq!(c["ns_over_floor"].is_null(), floor, "{c}");
        if !floor {
            assert_eq!(c["ns_over_floor"]["rounds"], 2, "{c}");
        }
    }

    // The section: a table per workload with a row per engine at each depth.
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let start = report
        .find("## Runtime cost per op")
        .unwrap_or_else(|| panic!("no overhead section:\n{report}"));
    let end = report[start + 3..]
        .find("\n## ")
        .map_or(report.len(), |e| start + 3 + e);
    let section = &report[start..end];
    for w in ["read", "randread", "write"] {
        let rows = table_rows(section, w);
        assert_eq!(rows.len(), engines.len() * 2, "{w}: {rows:?}");
        for e in engines {
            for qd in [1, 32] {
                assert!(
                    rows.iter()
                        .any(|r| r.starts_with(&format!("| {e}"))
                            && r.contains(&format!(" | {qd} | "))),
                    "{w}: no row for {e} at depth {qd}: {rows:?}"
                );
            }
        }
    }
    assert!(
        section.contains(&format!("every trial pinned to CPU {cpu}")),
        "{section}"
    );
    // Two rounds cannot decide: the tax says so rather than "within noise".
    assert!(section.contains("too few rounds"), "{section}");
    let how = &report[report.find("## How to choose").unwrap()..];
    assert!(how.contains("**runtime cost per op**"), "{how}");
    assert!(report.contains("plots/overhead.svg"));
    for ext in ["svg", "png"] {
        assert!(out.join(format!("plots/overhead.{ext}")).is_file());
    }

    // Re-rendered from the data alone, the same report.
    let o = Command::new(env!("CARGO_BIN_EXE_ringbench"))
        .arg("report")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(out.join("report.md")).unwrap(),
        report
    );
}

#[test]
fn no_overhead_leaves_the_set_out() {
    let scratch = tempfile::tempdir().unwrap();
    let res = tempfile::tempdir().unwrap();
    let out = res.path().join("run");
    run(scratch.path(), &out, &["--no-overhead"]);
    assert!(trials(&out).iter().all(|t| t.get("overhead").is_none()));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(!report.contains("Runtime cost per op"), "{report}");
    assert!(!report.contains("runtime cost per op"));
    assert!(!out.join("plots/overhead.png").exists());
}

#[test]
fn overhead_size_is_validated() {
    for (args, flag) in [
        (vec!["--overhead-size", "1000"], "--overhead-size"),
        (
            vec!["--no-overhead", "--overhead-size", "64k"],
            "--overhead-size",
        ),
        (vec!["--overhead-cpu", "99999"], "--overhead-cpu"),
        (vec!["--overhead-cpu", "last"], "--overhead-cpu"),
        (
            vec!["--no-overhead", "--overhead-cpu", "0"],
            "--overhead-cpu",
        ),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_ringbench"))
            .arg("run")
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(flag) && err.trim().lines().count() == 1,
            "{err}"
        );
    }
}

#[test]
fn overhead_cpu_none_runs_unpinned_and_says_so() {
    let scratch = tempfile::tempdir().unwrap();
    let res = tempfile::tempdir().unwrap();
    let out = res.path().join("run");
    run(
        scratch.path(),
        &out,
        &["--overhead-size", "16k", "--overhead-cpu", "none"],
    );
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("meta.json")).unwrap()).unwrap();
    assert!(meta["options"]["overhead"]["cpu"].is_null(), "{meta}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("trials not pinned to a CPU"), "{report}");
}

/// The trial child pins itself before its runtime starts: to a CPU it may use it runs the
/// trial; to one it may not, the trial fails with the reason instead of running unpinned.
#[test]
fn a_trial_child_pins_itself_or_fails_saying_why() {
    use std::io::Write;
    use std::process::Stdio;

    use driver::plan::overhead_plan::OverheadSet;
    use driver::proc::child::TrialSpec;

    let dir = tempfile::tempdir().unwrap();
    let set = OverheadSet::new(64 << 10, None);
    let config = set.configs()[0];
    let trial = |cpu: usize| -> String {
        let dst = dir.path().join(format!("cpu{cpu}"));
        std::fs::create_dir_all(&dst).unwrap();
        let plan = set.plan(
            Path::new(""),
            workloads::Workload::Write,
            &config,
            &dst,
            1,
            64,
        );
        let spec = TrialSpec {
            engine: "std".into(),
            plan,
            passes: 1,
            cpu: Some(cpu),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_ringbench"))
            .arg("__trial")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&serde_json::to_vec(&spec).unwrap())
            .unwrap();
        String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
    };
    let allowed = driver::sys::cpus::allowed();
    let ok = trial(*allowed.last().unwrap());
    assert!(ok.contains(r#""Ok""#), "{ok}");
    let missing = (0..1024).find(|c| !allowed.contains(c)).unwrap();
    let refused = trial(missing);
    assert!(
        refused.contains(r#""Err""#) && refused.contains(&format!("CPU {missing}")),
        "{refused}"
    );
}
