//! `ringbench calibrate` end to end, tiny: std only, every phase, one folder per run, and a
//! calibrate.json whose figures come from the trials it ran. Targets are reported, never
//! asserted: this checks the plumbing (phases, pairing, RSS from the child), not the machine.

use std::process::Command;

use serde_json::Value;

#[test]
fn calibrate_writes_every_phase() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cal");
    let o = Command::new(env!("CARGO_BIN_EXE_ringbench"))
        .args([
            "calibrate",
            "-e",
            "std",
            "--size",
            "1M",
            "--harness-size",
            "256k",
            "--memory-sizes",
            "8M,16M",
            "--memory-configs",
            "64kx2,1Mx8",
            "--repeat",
            "2",
            "--warmup",
            "0",
            "--memory-repeat",
            "1",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .arg("--dir")
        .arg(tmp.path())
        .output()
        .expect("run ringbench");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stdout.contains("## Targets"), "{stdout}");
    let cal: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("calibrate.json")).unwrap())
            .unwrap();
    assert!(out.join("calibrate.md").is_file());
    let runs = cal["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2 + 1 + 4, "{runs:?}");
    for r in runs {
        let dir = out.join(r["folder"].as_str().unwrap());
        assert!(dir.join("trials.jsonl").is_file(), "{}", dir.display());
        assert_eq!(r["failed"], 0, "{r}");
    }
    // Fidelity: std is not an io_uring engine, so no best engine, but its row is there.
    let targets = cal["targets"].as_array().unwrap();
    let large = targets.iter().find(|t| t["workload"] == "large").unwrap();
    assert_eq!(large["reference"], "kernel-copy");
    assert!(large["best"].is_null());
    assert_eq!(large["verdict"], "not-measured");
    let std_row = &large["engines"][0];
    assert_eq!(std_row["engine"], "std");
    assert_eq!(std_row["ratio"]["n"], 2, "two paired rounds: {std_row}");
    // Harness: null against std, per round.
    let h = &cal["harness"];
    assert_eq!(h["fastest"], "std");
    assert!(h["null_ns_per_op"]["median"].as_f64().unwrap() > 0.0);
    assert_eq!(h["share"]["n"], 2);
    // Memory: std at both sizes and both settings, plus the kernel-copy floor; RSS is the
    // child's own, so the larger setting's buffers (1 MiB vs 128 KiB) show in it.
    let m = &cal["memory"];
    let cells = m["cells"].as_array().unwrap();
    assert_eq!(
        cells.iter().filter(|c| c["engine"] == "std").count(),
        4,
        "{cells:?}"
    );
    let rss = |bs: u64, size: u64| {
        cells
            .iter()
            .find(|c| c["engine"] == "std" && c["block_size"] == bs && c["size"] == size)
            .unwrap()["rss_kib"]["median"]
            .as_f64()
            .unwrap()
    };
    // 8 MiB of buffers against 128 KiB: far above the few hundred KiB the baseline RSS of a
    // child varies by (a 1 MiB difference was not).
    assert!(rss(1 << 20, 8 << 20) > rss(64 << 10, 8 << 20), "{m}");
    assert_eq!(
        m["checks"].as_array().unwrap().len(),
        4,
        "std and kernel-copy, two settings"
    );
}
