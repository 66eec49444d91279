//! End-to-end checks of the statistics on synthetic engines with a known cost per op: the same
//! engine under two names (A/A) must come out within noise of itself, and a copy of it made
//! 20% slower per op must be reported slower (and, where the gap exceeds the run's margin, in a
//! later group); trials must be interleaved round by round.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn run(dir: &Path, seed: u64) -> (Value, Vec<Value>) {
    let out = dir.join(format!("out-{seed}"));
    let status = Command::new(env!("CARGO_BIN_EXE_ringbench"))
        .args([
            "run",
            "-e",
            "null-spin,null-spin-twin,null-spin-slow",
            "-w",
            "large",
        ])
        .args([
            "--size",
            "64M",
            "--block-size",
            "128k",
            "--repeat",
            "20",
            "--warmup",
            "1",
        ])
        .args([
            "--cache",
            "warm",
            "--quiet",
            "--json",
            "--seed",
            &seed.to_string(),
        ])
        .arg("--dir")
        .arg(dir)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run ringbench");
    assert!(
        status.status.success(),
        "ringbench failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let trials = std::fs::read_to_string(out.join("trials.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (summary, trials)
}

fn cell<'a>(s: &'a Value, engine: &str) -> &'a Value {
    s["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["engine"] == engine)
        .unwrap()
}

#[test]
fn aa_within_noise_and_slowdown_detected() {
    let dir = tempfile::tempdir().unwrap();
    let mut aa_same_group = 0;
    let mut slow_split = 0;
    for seed in [1u64, 2, 3] {
        let (s, trials) = run(dir.path(), seed);
        let (a, b, slow) = (
            cell(&s, "null-spin"),
            cell(&s, "null-spin-twin"),
            cell(&s, "null-spin-slow"),
        );
        for c in [a, b, slow] {
            assert_eq!(c["n"], 20, "{c}");
        }
        // The 20% slower engine is found slower than the fastest, and in a later group, every time.
        // 20 rounds: the interval then drops the 5 most extreme per-round ratios on each side,
        // so a few preempted trials on a busy machine cannot hide a real 20%.
        assert_eq!(slow["vs_best"]["verdict"], "slower", "seed {seed}: {slow}");
        // A later group needs the gap to exceed the run's own margin (how far its pairs'
        // ratios moved between its halves): on a steady machine it does; under the load of a
        // parallel test run the margin may honestly grow past 20%, and then the engines share
        // a group. Either way the group must follow the margin, and at least one of three runs
        // must split them (below).
        let margin = s["margin"]["value"].as_f64().unwrap();
        let hi = slow["vs_best"]["ci"]["hi"].as_f64().unwrap();
        let later = slow["group"].as_u64() > a["group"].as_u64().max(b["group"].as_u64());
        if later {
            slow_split += 1;
        } else {
            assert!(
                hi >= 1.0 / (1.0 + margin),
                "seed {seed}: slow/best interval ends at {hi}, beyond the margin {margin}, yet no later group"
            );
        }
        let ratio = slow["vs_best"]["median"].as_f64().unwrap();
        assert!(
            (0.70..0.95).contains(&ratio),
            "seed {seed}: slow/best = {ratio}"
        );
        // A/A: the same engine under two names. A 95%-style interval calls identical engines
        // different about one time in twenty by construction, so require it in at least one of
        // three independent runs (a systematic bias would fail all three).
        if a["group"] == b["group"] {
            aa_same_group += 1;
        }
        // Interleaving: every round holds each engine exactly once, never one engine's repeats
        // in a block.
        for round in 0..21u64 {
            let mut engines: Vec<&str> = trials
                .iter()
                .filter(|t| t["round"] == round)
                .map(|t| t["engine"].as_str().unwrap())
                .collect();
            engines.sort();
            assert_eq!(
                engines,
                ["null-spin", "null-spin-slow", "null-spin-twin"],
                "round {round}"
            );
        }
        let firsts: std::collections::BTreeSet<&str> = (0..21u64)
            .map(|round| {
                trials.iter().find(|t| t["round"] == round).unwrap()["engine"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert!(firsts.len() > 1, "round order must be shuffled, not fixed");
    }
    assert!(aa_same_group >= 1, "A/A judged different in all three runs");
    assert!(
        slow_split >= 1,
        "a 20% slower engine shared the fastest group in all three runs"
    );
}
