//! Render layer: summary.csv, one row per cell of a [`Summary`], written by the `csv` crate
//! (RFC 4180 quoting: a failure list or any text with a comma, quote or newline stays one
//! field). Every number the terminal table and summary.json carry is a column: all four latency
//! percentiles and every reference ratio. The columns are documented in results/README.md.

use crate::analysis::reference;
use crate::analysis::stats::Ratio;
use crate::analysis::summary::{Cell, Summary};

/// The reference labels (`kernel-copy`, `fio read`, ...) of every workload, each once, in
/// [`reference::targets`]' order: one group of columns each, so every row has the same columns
/// whatever workloads the run had.
fn reference_labels() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for w in workloads::Workload::ALL {
        for (label, _, _) in reference::targets(w) {
            if !v.contains(label) {
                v.push(label);
            }
        }
    }
    v
}

/// A column-name stem from a reference label: `fio read` -> `vs_fio_read`.
fn reference_column(label: &str) -> String {
    format!("vs_{}", label.replace([' ', '-'], "_"))
}

/// The header: names in row order.
pub fn columns() -> Vec<String> {
    let mut h: Vec<String> = [
        "workload",
        "block_size",
        "queue_depth",
        "files_in_flight",
        "threads",
        "cancel_rate",
        "engine",
        "n",
        "failed",
        "failures",
        "median_bps",
        "min_bps",
        "max_bps",
        "ci_lo_bps",
        "ci_hi_bps",
        "ci_level",
        "noisy",
        "group",
        "group_split_versus",
        "group_split",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let ratio = |h: &mut Vec<String>, stem: &str| {
        for suffix in ["", "_lo", "_hi", "_verdict"] {
            h.push(format!("{stem}{suffix}"));
        }
    };
    ratio(&mut h, "vs_std");
    ratio(&mut h, "vs_best");
    ratio(&mut h, "vs_no_cancel");
    for l in reference_labels() {
        ratio(&mut h, &reference_column(l));
    }
    h.extend(
        [
            "cpu_s_per_gb",
            "child_cpu_s_per_gb",
            "max_rss_kib",
            "ops_in_flight",
            "read_p50_ns",
            "read_p90_ns",
            "read_p99_ns",
            "read_p999_ns",
            "write_p50_ns",
            "write_p90_ns",
            "write_p99_ns",
            "write_p999_ns",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    h
}

/// A number with 6 decimals; empty when not finite (a cell without the measurement).
fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.6}")
    } else {
        String::new()
    }
}

fn ratio_fields(r: Option<&Ratio>, row: &mut Vec<String>) {
    match r {
        None => row.extend(std::iter::repeat_n(String::new(), 4)),
        Some(r) => row.extend([
            num(r.median),
            num(r.ci.lo),
            num(r.ci.hi),
            r.verdict.words().to_string(),
        ]),
    }
}

fn row(c: &Cell, refs: &[&str]) -> Vec<String> {
    let opt = |v: Option<f64>| v.map_or(String::new(), num);
    let mut r = vec![
        c.workload.to_string(),
        c.config.block_size.to_string(),
        c.config.queue_depth.to_string(),
        c.config.files_in_flight.to_string(),
        c.config.threads.to_string(),
        c.config.cancel_rate().to_string(),
        c.engine.clone(),
        c.n.to_string(),
        c.failed.to_string(),
        c.failures.join(","),
        num(c.median_bps),
        num(c.min_bps),
        num(c.max_bps),
        num(c.ci.lo),
        num(c.ci.hi),
        num(c.ci.level),
        c.noisy.to_string(),
        c.group.map_or(String::new(), |g| g.to_string()),
        c.group_split
            .as_ref()
            .map_or(String::new(), |g| g.versus.clone()),
        c.group_split
            .as_ref()
            .map_or(String::new(), |g| num(g.ratio.median)),
    ];
    ratio_fields(c.vs_std.as_ref(), &mut r);
    ratio_fields(c.vs_best.as_ref(), &mut r);
    ratio_fields(c.vs_no_cancel.as_ref(), &mut r);
    for l in refs {
        let found = c.references.iter().find(|x| x.reference == *l);
        ratio_fields(found.map(|x| &x.ratio), &mut r);
    }
    r.extend([
        opt(c.cpu_s_per_gb),
        opt(c.child_cpu_s_per_gb),
        c.max_rss_kib.map_or(String::new(), |v| v.to_string()),
        c.ops_in_flight.map_or(String::new(), |n| n.to_string()),
    ]);
    for lat in [c.read_lat_ns, c.write_lat_ns] {
        for i in 0..4 {
            r.push(lat.map_or(String::new(), |p| p[i].to_string()));
        }
    }
    r
}

/// summary.csv: the header and one row per cell.
pub fn csv(s: &Summary) -> String {
    let refs = reference_labels();
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing into a Vec cannot fail, and every record has the header's length (the test
    // below checks it), so these results are errors only in this module's own logic.
    w.write_record(columns()).expect("csv header");
    for c in &s.cells {
        w.write_record(row(c, &refs)).expect("csv row");
    }
    let bytes = w.into_inner().expect("csv flush into a Vec");
    String::from_utf8(bytes).expect("csv of UTF-8 fields")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixtures::summary;
    use crate::analysis::reference::RefRatio;

    fn read(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let head = r.headers().unwrap().iter().map(String::from).collect();
        let rows = r
            .records()
            .map(|x| x.unwrap().iter().map(String::from).collect())
            .collect();
        (head, rows)
    }

    #[test]
    fn a_field_with_a_comma_or_quote_round_trips() {
        let mut s = summary();
        s.cells[0].failures = vec!["verify: mismatch at 4096, 8192".into(), "say \"hi\"".into()];
        s.cells[0].failed = 2;
        let (head, rows) = read(&csv(&s));
        assert_eq!(rows.len(), s.cells.len());
        for r in &rows {
            assert_eq!(r.len(), head.len(), "every row has the header's columns");
        }
        let i = head.iter().position(|h| h == "failures").unwrap();
        assert_eq!(rows[0][i], s.cells[0].failures.join(","));
        let e = head.iter().position(|h| h == "engine").unwrap();
        assert_eq!(rows[0][e], s.cells[0].engine);
    }

    #[test]
    fn every_percentile_and_reference_ratio_is_a_column() {
        let mut s = summary();
        let c = &mut s.cells[0];
        c.read_lat_ns = Some([11, 22, 33, 44]);
        c.write_lat_ns = Some([55, 66, 77, 88]);
        let mut r = c.vs_std.unwrap_or(Ratio {
            median: 1.0,
            ci: crate::analysis::stats::Interval {
                lo: 0.9,
                hi: 1.1,
                level: 0.95,
            },
            rounds: 5,
            verdict: crate::analysis::stats::Verdict::WithinNoise,
        });
        r.median = 0.75;
        c.references = vec![RefRatio {
            reference: "fio read".into(),
            ratio: r,
            best_of: Default::default(),
        }];
        let (head, rows) = read(&csv(&s));
        let col = |name: &str| {
            let i = head
                .iter()
                .position(|h| h == name)
                .unwrap_or_else(|| panic!("no column {name}: {head:?}"));
            rows[0][i].clone()
        };
        for (name, want) in [
            ("read_p50_ns", "11"),
            ("read_p90_ns", "22"),
            ("read_p99_ns", "33"),
            ("read_p999_ns", "44"),
            ("write_p50_ns", "55"),
            ("write_p90_ns", "66"),
            ("write_p99_ns", "77"),
            ("write_p999_ns", "88"),
            ("vs_fio_read", "0.750000"),
        ] {
            assert_eq!(col(name), want, "{name}");
        }
        // References the cell was not compared with are empty, not missing.
        for l in reference_labels() {
            let stem = reference_column(l);
            assert!(head.contains(&format!("{stem}_verdict")), "{stem}");
        }
        assert_eq!(col("vs_kernel_copy"), "");
        assert_eq!(col("vs_fio_read_verdict"), r.verdict.words());
    }
}
