//! Conclusions that repeat: two small runs back to back, through the CLI as a user runs them,
//! must draw the same conclusions in "How to choose", and `ringbench compare` must say so.
//!
//! A default-like run (every default workload, small sizes) of two synthetic engines with a
//! known cost per op: `null` (the harness alone) and `null-spin` (the same, busy-waiting 20 µs
//! per read and write), so the right conclusion is known by construction: on every workload,
//! null first and null-spin measurably slower, a gap of an order of magnitude that no load on
//! this VM closes. (`null-spin` against `null-spin-slow`, 20% apart, is decided in one run of
//! two on this VM at these sizes: a test of the machine's noise, not of the report.) The other
//! half, that compare tells disagreeing runs apart, is in compare.rs's unit tests (swapped
//! engines contradict).

use std::path::Path;
use std::process::Command;

fn ringbench(args: &[&str], dirs: &[&Path]) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ringbench"));
    c.args(args);
    for d in dirs {
        c.arg(d);
    }
    let o = c.output().expect("run ringbench");
    assert!(
        o.status.success(),
        "ringbench {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn run(dir: &Path, out: &Path) {
    let mut args = vec!["run", "-e", "null,null-spin"];
    args.extend([
        "--size",
        "16M",
        "--block-size",
        // 16 KiB: 1024 ops of 16 MiB, so null-spin's 20 µs per op (about 20 ms a trial)
        // dwarfs the VM's noise on every workload (at 64 KiB one run in a few, under the load
        // of a parallel test run, found a gap "within noise").
        "16k",
        "--repeat",
        "8",
        "--warmup",
        "1",
    ]);
    // compare refuses runs of different seeds (they fix the datasets).
    args.extend(["--cache", "warm", "--quiet", "--seed", "11", "--dir"]);
    let mut c = Command::new(env!("CARGO_BIN_EXE_ringbench"));
    let o = c
        .args(&args)
        .arg(dir)
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

fn how_to_choose(out: &Path) -> String {
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let start = md
        .find("## How to choose")
        .expect("report has How to choose");
    let end = md[start + 3..]
        .find("\n## ")
        .map_or(md.len(), |i| i + start + 3);
    md[start..end].to_string()
}

#[test]
fn two_runs_back_to_back_draw_the_same_conclusions() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run(dir.path(), &a);
    run(dir.path(), &b);
    for out in [&a, &b] {
        let h = how_to_choose(out);
        let tables: Vec<&str> = h
            .lines()
            .filter(|l| l.starts_with("- **") && l.contains(" MB/s)"))
            .collect();
        assert!(tables.len() >= 5, "{}: too few tables:\n{h}", out.display());
        for l in tables {
            assert!(
                l.contains(": fastest is null (")
                    && l.contains("measurably slower (by more than the margin): null-spin"),
                "{}: not the conclusion built in:\n{l}",
                out.display()
            );
        }
    }
    let cmp = dir.path().join("cmp");
    let md = ringbench(
        &["compare", "--out", cmp.to_str().unwrap()],
        &[a.as_path(), b.as_path()],
    );
    assert!(
        md.contains("**B vs A: the conclusions agree**"),
        "compare does not say the conclusions agree:\n{md}"
    );
    let lines: Vec<&str> = md.lines().filter(|l| l.contains("; B: ")).collect();
    assert!(lines.len() >= 5, "{md}");
    for l in lines {
        assert!(
            l.contains("A: fastest: null; then: null-spin; B: fastest: null; then: null-spin — same conclusions"),
            "{l}"
        );
    }
}
