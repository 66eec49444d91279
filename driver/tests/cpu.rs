//! CPU per GB covers the timed section only: an engine's figure must not depend on the file
//! size. The whole trial child's CPU (process start-up, dataset checks, verification) is a
//! fixed cost that a small file spreads over few bytes; the timed section's is not.
//!
//! The same engines copy a small file and one 8 times larger, through the CLI as a user runs
//! it, and each engine's median CPU per GB must agree within [`TOLERANCE`] between the two.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// How far apart the two sizes' CPU per GB may be, as a ratio.
const TOLERANCE: f64 = 0.25;

/// The smaller file; the larger one is [`FACTOR`] times it.
const SMALL_MIB: u64 = 8;
const FACTOR: u64 = 8;

/// The engines checked: the harness alone, and the blocking baseline.
const ENGINES: [&str; 2] = ["null", "std"];

fn run(dir: &Path, mib: u64) -> Value {
    let out = dir.join(format!("out-{mib}"));
    let o = Command::new(env!("CARGO_BIN_EXE_ringbench"))
        .args(["run", "-e", &ENGINES.join(","), "-w", "large"])
        // 4 KiB blocks: many ops per trial even for the small file, so the null engine's
        // figure is its cost per op, not a few timer readings.
        .args(["--size", &format!("{mib}M"), "--block-size", "4k"])
        .args(["--repeat", "5", "--warmup", "1", "--cache", "warm"])
        .args(["--quiet", "--json", "--dir"])
        .arg(dir)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run ringbench");
    assert!(
        o.status.success(),
        "ringbench failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

fn figure(s: &Value, engine: &str, field: &str) -> f64 {
    let c = s["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["engine"] == engine)
        .unwrap_or_else(|| panic!("no cell for {engine}"));
    c[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{engine}: no {field} in {c}"))
}

#[test]
fn cpu_per_gb_does_not_depend_on_file_size() {
    let dir = tempfile::tempdir().unwrap();
    let small = run(dir.path(), SMALL_MIB);
    let large = run(dir.path(), SMALL_MIB * FACTOR);
    for e in ENGINES {
        let (a, b) = (
            figure(&small, e, "cpu_s_per_gb"),
            figure(&large, e, "cpu_s_per_gb"),
        );
        assert!(a > 0.0 && b > 0.0, "{e}: {a} {b}");
        let ratio = a / b;
        assert!(
            (ratio - 1.0).abs() <= TOLERANCE,
            "{e}: CPU s/GB {a:.3} at {SMALL_MIB} MiB vs {b:.3} at {} MiB ({ratio:.2}x)",
            SMALL_MIB * FACTOR
        );
        // The whole child did everything the timed section did, and more.
        for s in [&small, &large] {
            assert!(
                figure(s, e, "child_cpu_s_per_gb") >= figure(s, e, "cpu_s_per_gb"),
                "{e}: whole child below its timed section"
            );
        }
        eprintln!(
            "{e}: timed {a:.3} / {b:.3} CPU s/GB; whole child {:.3} / {:.3}",
            figure(&small, e, "child_cpu_s_per_gb"),
            figure(&large, e, "child_cpu_s_per_gb")
        );
    }
}
