//! End to end: two small real runs (std and tokio), `ringbench report` reproducing the run's
//! report and charts byte for byte from the data alone, `ringbench compare` setting the two runs
//! side by side, and refusing a run whose parameters differ; a swept run with a safety matrix
//! writing every chart the report links.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ringbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ringbench"))
        .args(args)
        .output()
        .expect("run ringbench")
}

fn run(scratch: &Path, out: &Path, size: &str) {
    let o = Command::new(env!("CARGO_BIN_EXE_ringbench"))
        .args([
            "run",
            "-e",
            "std,tokio",
            "-w",
            "large,read",
            "--size",
            size,
            "--repeat",
            "2",
            "--warmup",
            "0",
            "--quiet",
        ])
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

/// Every file of a folder, by relative path, with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                v.push((
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    v.sort();
    v
}

fn is_png(b: &[u8]) -> bool {
    b.len() > 1000 && b.starts_with(b"\x89PNG\r\n\x1a\n")
}

#[test]
fn report_reproduces_and_compare_works_and_refuses() {
    let t = tempfile::tempdir().unwrap();
    let (a, b, c) = (t.path().join("a"), t.path().join("b"), t.path().join("c"));
    run(t.path(), &a, "4M");
    run(t.path(), &b, "4M");

    // The run wrote its report and charts.
    let md = std::fs::read_to_string(a.join("report.md")).unwrap();
    for want in [
        "## How to choose",
        "## Environment",
        "### large",
        "### read",
        "## Reference points",
        "kernel-copy",
        "![Throughput per engine",
    ] {
        assert!(md.contains(want), "report.md lacks {want:?}");
    }
    let svg = std::fs::read_to_string(a.join("plots/throughput.svg")).unwrap();
    assert!(
        svg.starts_with("<svg")
            && svg.trim_end().ends_with("</svg>")
            && svg.contains("std")
            && svg.contains("tokio")
    );
    assert!(is_png(
        &std::fs::read(a.join("plots/throughput.png")).unwrap()
    ));
    // fio is a reference only where installed; either way the report says which.
    let fio = Command::new("fio")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if fio {
        assert!(
            md.contains("| *fio (reference)* |"),
            "fio installed but no fio row"
        );
    } else {
        assert!(
            md.contains("fio is not installed"),
            "fio missing but not said"
        );
    }

    // `report` re-renders every file identically from the data alone.
    let before = snapshot(&a);
    let o = ringbench(&["report", a.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let after = snapshot(&a);
    assert_eq!(before.len(), after.len());
    for ((pa, ba), (pb, bb)) in before.iter().zip(&after) {
        assert_eq!(pa, pb);
        assert!(
            ba == bb,
            "{} differs after `ringbench report`",
            pa.display()
        );
    }

    // compare: side by side with ratios and a chart.
    let cmp = t.path().join("cmp");
    let o = ringbench(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        cmp.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cmd = std::fs::read_to_string(cmp.join("compare.md")).unwrap();
    assert!(
        cmd.contains("| engine | A MB/s | B MB/s | B / A |"),
        "{cmd}"
    );
    assert!(
        cmd.lines()
            .any(|l| l.starts_with("| std |") && l.contains("×")),
        "{cmd}"
    );
    // The comparison chart is a ratio chart: one row per engine, its ratio written beside it.
    let csvg = std::fs::read_to_string(cmp.join("plots/compare.svg")).unwrap();
    assert!(
        csvg.contains("\nstd\n") && csvg.contains("ratio to run A") && csvg.contains("×"),
        "{}",
        &csvg[..csvg.len().min(600)]
    );
    assert!(is_png(
        &std::fs::read(cmp.join("plots/compare.png")).unwrap()
    ));

    // A run of another size is refused in one line, exit 2.
    run(t.path(), &c, "8M");
    let o = ringbench(&[
        "compare",
        a.to_str().unwrap(),
        c.to_str().unwrap(),
        "--out",
        t.path().join("cmp2").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--size differs (4194304 vs 8388608)"), "{err}");
    assert!(
        !t.path().join("cmp2").exists(),
        "a refused comparison wrote files"
    );

    // Not a run folder: one line, exit 2.
    let o = ringbench(&["report", t.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("meta.json"));
}

#[test]
fn a_swept_run_writes_every_chart_the_report_links() {
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a");
    let o = Command::new(env!("CARGO_BIN_EXE_ringbench"))
        .args([
            "run",
            "-e",
            "std,tokio",
            "-w",
            "large,read",
            "--size",
            "2M",
            "--block-size",
            "64k,256k",
            "--queue-depth",
            "1,4",
            "--repeat",
            "2",
            "--warmup",
            "0",
            "--quiet",
        ])
        .arg("--dir")
        .arg(t.path())
        .arg("--out")
        .arg(&a)
        .output()
        .expect("run ringbench");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let safety = t.path().join("safety");
    let o = ringbench(&[
        "safety",
        "-e",
        "std",
        "-s",
        "read-drop",
        "--repeats",
        "1",
        "--out",
        safety.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = ringbench(&[
        "report",
        a.to_str().unwrap(),
        "--safety",
        safety.join("safety.json").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let plots: Vec<String> = std::fs::read_dir(a.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let stems: std::collections::BTreeSet<&str> = plots
        .iter()
        .filter_map(|f| f.strip_suffix(".svg").or_else(|| f.strip_suffix(".png")))
        .collect();
    // Two block sizes × two queue depths: four sweep points, each with its throughput, CPU and
    // latency chart; one scaling chart per swept parameter; the safety grid; the overhead set's
    // chart.
    let count = |prefix: &str| stems.iter().filter(|s| s.starts_with(prefix)).count();
    assert_eq!(count("throughput-"), 4, "{stems:?}");
    assert_eq!(count("cpu-"), 4, "{stems:?}");
    assert_eq!(count("latency-"), 4, "{stems:?}");
    for s in [
        "scaling-block-size",
        "scaling-queue-depth",
        "safety",
        "overhead",
    ] {
        assert!(stems.contains(s), "no {s} chart: {stems:?}");
    }
    assert_eq!(stems.len(), 16, "{stems:?}");
    let md = std::fs::read_to_string(a.join("report.md")).unwrap();
    for s in &stems {
        let svg = std::fs::read_to_string(a.join(format!("plots/{s}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>") && svg.len() > 2000,
            "{s}.svg is empty or cut"
        );
        let png = std::fs::read(a.join(format!("plots/{s}.png"))).unwrap();
        assert!(is_png(&png), "{s}.png is empty or not a PNG");
        // Its pixel size is the SVG's (the PNG is rasterised from it).
        let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
        assert!(
            svg.contains(&format!("width=\"{w}\"")),
            "{s}.png is {w} px wide, unlike its SVG"
        );
        assert!(
            md.contains(&format!("plots/{s}.svg")),
            "report.md does not link {s}"
        );
    }
    // And every chart the report links exists.
    for l in md.split("](plots/").skip(1) {
        let f = &l[..l.find(')').unwrap()];
        assert!(
            a.join("plots").join(f).is_file(),
            "report.md links a missing {f}"
        );
    }
    // report.html: every chart report.md shows is inline (the SVG file's own drawing), the
    // same sections in the same order, and nothing to fetch.
    let html = std::fs::read_to_string(a.join("report.html")).unwrap();
    let shown: Vec<&str> = md
        .split("![")
        .skip(1)
        .filter_map(|l| l.split_once("](plots/").map(|x| x.1))
        .map(|l| &l[..l.find(')').unwrap()])
        .collect();
    assert_eq!(shown.len(), stems.len(), "{shown:?}");
    assert_eq!(
        html.matches("<figure class=\"chart\"><svg role=\"img\"")
            .count(),
        shown.len()
    );
    for f in &shown {
        let svg = std::fs::read_to_string(a.join("plots").join(f)).unwrap();
        let drawing = &svg[svg.find('>').unwrap() + 1..];
        assert!(
            html.contains(drawing.trim_end()),
            "report.html lacks {f} inline"
        );
    }
    let sections = |text: &str, open: &str, close: &str| -> Vec<String> {
        text.split(open)
            .skip(1)
            .map(|l| l[..l.find(close).unwrap()].to_string())
            .collect()
    };
    let md_h2 = sections(&format!("\n{md}"), "\n## ", "\n");
    let html_h2: Vec<String> = sections(&html, "<h2 id=\"", "</h2>")
        .iter()
        .map(|h| h[h.find('>').unwrap() + 1..].replace("&#39;", "'"))
        .collect();
    assert_eq!(md_h2, html_h2);
    for bad in ["src=", "<link", "<img", "url("] {
        assert!(!html.contains(bad), "report.html has {bad:?}");
    }
}

/// The summary `run` prints (`--json`, the same one its terminal table renders) has each row
/// once per table, reference rows included: fio's rows are planned once per workload, and
/// every name must still be shown once (a run with read and write once printed each fio row
/// twice in both tables).
#[test]
fn every_row_is_printed_once_per_table() {
    let t = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_ringbench"))
        .args([
            "run",
            "-e",
            "std",
            "-w",
            "large,read,write",
            "--size",
            "1M",
            "--repeat",
            "1",
            "--warmup",
            "0",
            "--no-overhead",
            "--json",
        ])
        .arg("--dir")
        .arg(t.path())
        .arg("--out")
        .arg(t.path().join("out"))
        .output()
        .expect("run ringbench");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).expect("--json prints JSON");
    let cells = s["cells"].as_array().expect("cells");
    let mut seen = std::collections::HashSet::new();
    for c in cells {
        let key = (
            c["workload"].to_string(),
            c["config"].to_string(),
            c["engine"].to_string(),
        );
        assert!(seen.insert(key.clone()), "row printed twice: {key:?}");
    }
    assert!(cells.iter().any(|c| c["engine"] == "kernel-copy"));
}
