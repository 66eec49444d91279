//! The sections of report.md that need only the run's data: parameters, references,
//! latency tables, charts, the safety section and grid, failures, and the small formatters
//! they share. `commands::report::render` assembles them with the sections that live beside
//! their commands (the choice page, ceilings, overhead).

use std::fmt::Write;

use workloads::Workload;

use crate::analysis::reference;
use crate::analysis::run::RunData;
use crate::analysis::stats::Ratio;
use crate::analysis::summary::Cell;
use crate::render::plots::{self, Chart};
use crate::results::safety::SafetyReport;
use crate::results::{Meta, Status, TrialRecord};

pub fn ratio_words(r: &Ratio) -> String {
    format!(
        "{:.2}× [{:.2}–{:.2}] {}",
        r.median,
        r.ci.lo,
        r.ci.hi,
        r.verdict_words()
    )
}

pub fn ratio_cell(r: &Option<Ratio>) -> String {
    r.as_ref().map_or("–".into(), ratio_words)
}

pub fn esc(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn opt_str<'a>(v: &'a serde_json::Value, k: &str) -> Option<&'a serde_json::Value> {
    v.get(k).filter(|x| !x.is_null())
}

/// The run's fixed parameters, in words (from meta.options).
pub fn params_words(meta: &Meta) -> Vec<(String, String)> {
    let o = &meta.options;
    let mut v = Vec::new();
    let size = |k: &str| {
        opt_str(o, k)
            .and_then(|x| x.as_u64())
            .map(workloads::units::size)
    };
    if let Some(s) = size("size") {
        v.push(("file size (large/read/write)".into(), s));
    }
    for (k, label) in [
        ("files", "small files"),
        ("repeat", "measured rounds"),
        ("warmup", "warm-up rounds"),
        ("seed", "seed"),
        ("ring_entries", "ring entries"),
    ] {
        if let Some(x) = opt_str(o, k) {
            v.push((label.into(), x.to_string()));
        }
    }
    if let Some(t) = opt_str(o, "tree") {
        v.push((
            "tree".into(),
            format!(
                "depth {}, fan-out {}, {} files per directory",
                t.get("depth").unwrap_or(&serde_json::Value::Null),
                t.get("fanout").unwrap_or(&serde_json::Value::Null),
                t.get("files_per_dir").unwrap_or(&serde_json::Value::Null)
            ),
        ));
    }
    for (k, label) in [
        ("direct", "O_DIRECT"),
        ("fsync", "fsync in the timed section"),
    ] {
        if let Some(b) = opt_str(o, k).and_then(|x| x.as_bool()) {
            v.push((label.into(), if b { "yes" } else { "no" }.into()));
        }
    }
    if let Some(c) = opt_str(o, "cache").and_then(|x| x.as_str()) {
        v.push(("page cache between trials".into(), c.into()));
    }
    v
}

pub fn references_section(d: &RunData) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "## Reference points\n");
    let has = |e: &str| d.records.iter().any(|r| r.engine == e);
    let workloads_run: Vec<Workload> = d.summary.cells.iter().map(|c| c.workload).collect();
    if has(reference::KERNEL_COPY) {
        let _ = writeln!(
            o,
            "- **kernel-copy**: the kernel's `copy_file_range(2)` copy of the large file, as `cp` does, measured in the same rounds on the same directory and verified like every copy. It ignores block size, queue depth and threads."
        );
    } else if workloads_run.contains(&Workload::Large) {
        let _ = writeln!(o, "- **kernel-copy**: not measured in this run.");
    }
    if has(reference::FIO) && !has(reference::FIO_PSYNC) {
        // A run from before fio-psync and time-based reads: describe what it measured.
        let ver = d.meta.environment.fio.as_deref().unwrap_or("fio");
        let _ = writeln!(
            o,
            "- **fio** ({ver}): its `io_uring` engine on the read and write jobs at the same block size, queue depth, size, threads (numjobs) and O_DIRECT setting, in the same rounds. This run predates the `fio-psync` row and fio's time-based reads: each job ran one pass, so its bandwidth is over a runtime counted in whole milliseconds (a `--size` that fio reads in under ~100 ms is quantised by several percent), and a later run's reference is the better of fio's io_uring and psync engines. fio writes its own data, so its rows are not byte-verified."
        );
    } else if reference::FIO_ROWS.iter().any(|r| has(r)) {
        let ver = d.meta.environment.fio.as_deref().unwrap_or("fio");
        let _ = writeln!(
            o,
            "- **fio** ({ver}): two rows on the read, write and randread jobs, at the same block size, size, threads (numjobs) and O_DIRECT setting, in the same rounds: **fio** is its `io_uring` engine at the run's queue depth, **fio-psync** its blocking `pread`/`pwrite` engine, one op in flight per job. Neither is the device's limit everywhere (on a RAM-backed device blocking `pread` beats io_uring; on NVMe at depth the reverse), so each engine's \"vs fio …\" ratio is against the **better of the two in each round**. Reads use the same file in the same cache state; writes write a fresh file each time, with the engines' fsync rule. Where the cache state holds over passes (`--cache warm`, or `--direct`) a read job is time-based ({} ms ramp, then {} ms timed), since fio's bandwidth is over whole milliseconds; otherwise one pass, and each fio row's detail gives the rounding bound. fio writes its own data, so its rows are not byte-verified.",
            reference::FIO_RAMP_MS,
            reference::FIO_RUNTIME_MS
        );
    } else if workloads_run
        .iter()
        .any(|w| matches!(w, Workload::Read | Workload::Write))
    {
        let why = if d.meta.environment.fio.is_none() {
            "fio is not installed on this machine"
        } else {
            "fio rows are missing from this run"
        };
        let _ = writeln!(o, "- **fio**: no device-limit reference: {why}.");
    } else {
        let _ = writeln!(
            o,
            "- **fio**: the run had no read or write workload, so no fio reference."
        );
    }
    let _ = writeln!(
        o,
        "\nReference rows are never ranked; each engine's table row shows its per-round ratio against them.\n"
    );
    o
}

/// How precise the latency figures are, in words for the tables.
pub const LATENCY_PRECISION: &str = "3 significant digits";

/// A duration in nanoseconds with the histogram's precision (`workloads::hist::SIGFIG`
/// significant digits) and a unit that keeps the digits significant: 14.2 µs, 270 µs, 6.42 ms.
pub fn sig3(ns: u64) -> String {
    const UNITS: [(f64, &str); 4] = [(1.0, "ns"), (1e3, "µs"), (1e6, "ms"), (1e9, "s")];
    let round3 = |v: f64| -> f64 {
        if v == 0.0 {
            return 0.0;
        }
        let scale = 10f64.powi(2 - v.log10().floor() as i32);
        (v * scale).round() / scale
    };
    let x = ns as f64;
    let mut u = UNITS.iter().rposition(|(s, _)| x >= *s).unwrap_or(0);
    let mut r = round3(x / UNITS[u].0);
    // 999.6 µs rounds to 1000 µs: say 1.00 ms.
    if r >= 1000.0 && u + 1 < UNITS.len() {
        u += 1;
        r = round3(x / UNITS[u].0);
    }
    let int_digits = if r < 1.0 {
        1
    } else {
        r.log10().floor() as i32 + 1
    };
    let decimals = (3 - int_digits).max(0) as usize;
    format!("{r:.decimals$} {}", UNITS[u].1)
}

pub fn lat(p: Option<[u64; 4]>) -> String {
    p.map_or("–".into(), |p| {
        p.iter().map(|ns| sig3(*ns)).collect::<Vec<_>>().join(" / ")
    })
}

/// Per-op latency of one table's cells, one table per count of ops in flight: a latency grows
/// with the ops queued before it (Little's law), so figures measured at different counts are
/// never set side by side. Cells whose count was not recorded get a table of their own.
pub fn latency_tables(cells: &[&Cell]) -> String {
    let mut o = String::new();
    let rows: Vec<&&Cell> = cells
        .iter()
        .filter(|c| c.read_lat_ns.is_some() || c.write_lat_ns.is_some())
        .collect();
    let mut counts: Vec<Option<u64>> = rows.iter().map(|c| c.ops_in_flight).collect();
    counts.sort();
    counts.dedup();
    for k in counts {
        let what = match k {
            Some(1) => "1 op in flight".to_string(),
            Some(n) => format!("{n} ops in flight"),
            None => "ops in flight not recorded (older results)".to_string(),
        };
        let _ = writeln!(
            o,
            "\nPer-op latency at {what} (p50 / p90 / p99 / p99.9 over all measured trials, {}):\n\n| engine | ops in flight | read | write |\n|---|--:|---|---|",
            LATENCY_PRECISION
        );
        for c in rows.iter().filter(|c| c.ops_in_flight == k) {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                c.engine,
                k.map_or("?".into(), |n| n.to_string()),
                lat(c.read_lat_ns),
                lat(c.write_lat_ns)
            );
        }
    }
    o
}

pub fn charts_section(charts: &[Chart]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "## Charts\n\nEach chart is in `plots/` as SVG and PNG. One colour and marker per engine in every chart (Okabe–Ito colours; the shapes alone tell engines apart in greyscale); grey dashed lines are reference rows.\n"
    );
    for c in charts.iter().filter(|c| c.stem != "safety") {
        let _ = writeln!(
            o,
            "### {}\n\n![{}](plots/{}.svg)\n\n[PNG](plots/{}.png)\n",
            c.title, c.title, c.stem, c.stem
        );
    }
    o
}

/// A verdict's kind name (`safe`, `leak`, ...), as `--fail-on` spells it: one list, in the
/// analysis layer.
pub use crate::analysis::safety::kind_name as verdict_kind;

/// What a verdict kind means for someone using the engine (about the verdict, never about a
/// particular runtime).
pub fn verdict_meaning(kind: &str) -> &'static str {
    match kind {
        "safe" => "no oracle saw anything wrong after the drop",
        "leak" => {
            "dropping an in-flight op left a descriptor or buffer behind; code that cancels often (timeouts, select!) accumulates them until the process exits"
        }
        "data-loss" => {
            "bytes a cancelled read had consumed were never delivered to anyone; a reader that times out and retries silently skips data"
        }
        "ghost-write" => {
            "a write whose future was dropped still reached its target; code that treats a cancelled write as not written can duplicate or interleave output"
        }
        "use-after-free" => {
            "the kernel touched memory after it was freed: memory corruption; do not drop in-flight ops on this engine"
        }
        "crash" => "the process died (signal or panic) around the drop",
        "hang" => {
            "dropping the op, closing its file or shutting the runtime down did not finish by itself: it waited until unrelated data arrived (\"until data\"), or never (killed at the deadline); a server stuck there stops serving"
        }
        _ => "the cell was not run here",
    }
}

pub fn cell_label(sr: &SafetyReport, c: &crate::results::safety::Cell) -> String {
    sr.label(c).replace(" (nif)", " (not in flight)")
}

/// The safety matrix as a coloured grid.
pub fn safety_grid(sr: &SafetyReport) -> plots::Grid {
    let colour = crate::render::style::verdict;
    let mut cells = Vec::new();
    for e in &sr.engines {
        for sc in &sr.scenarios {
            cells.push(match sr.cell(e, sc) {
                None => plots::GridCell {
                    verdict: colour("skipped", false),
                    text: "–".into(),
                    detail: String::new(),
                },
                Some(c) => {
                    let k = verdict_kind(&c.verdict);
                    let race = workloads::safety::scenario(sc)
                        .is_some_and(|s| s.path == workloads::safety::Path::Race);
                    let detail = c.counts.as_ref().map_or(String::new(), |n| {
                        // Short enough for one line of a cell.
                        if race {
                            format!(
                                "{}/{} done before the drop",
                                n.completed_in_kernel_before_drop, n.ops
                            )
                        } else {
                            format!("{}/{} dropped in flight", n.dropped_in_flight, n.ops)
                        }
                    });
                    let k = if sr.label(c) == "unvalidated" {
                        "unvalidated"
                    } else {
                        k
                    };
                    let mut text = sr.label(c).replace(" (nif)", "");
                    if c.findings.len() > 1 {
                        text.push_str(&format!(" +{}", c.findings.len() - 1));
                    }
                    plots::GridCell {
                        verdict: colour(k, c.in_flight == Some(false)),
                        text,
                        detail,
                    }
                }
            });
        }
    }
    let legend = [
        "safe",
        "leak",
        "data-loss",
        "ghost-write",
        "use-after-free",
        "crash",
        "hang",
        "unvalidated",
        "skipped",
    ]
    .iter()
    .map(|k| (colour(k, false), k.to_string()))
    .chain(std::iter::once((
        colour("safe", true),
        "safe, nothing was in flight".into(),
    )))
    .collect();
    plots::Grid {
        rows: sr.engines.clone(),
        cols: sr.scenarios.clone(),
        cells,
        legend,
    }
}

pub fn safety_section(sr: &SafetyReport) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "## Cancellation safety\n\nEach cell ran {} time(s), each run in its own process with jittered timings: ops dropped either while still waiting in the kernel with a runtime turn before anything arrives (*slow path*), or after the kernel had already completed them (*race*, counted per run), or with the runtime itself dropped (*shutdown*); then oracles (quarantined freed memory, descriptors minus the engine's own baseline, bytes sent vs received, waits that only end when data arrives, deadline) looked at what a user would lose. *k/n* = runs with the headline finding. Deadline per run: {} ms. *+N* = further findings. A clean cell of a scenario whose positive control was not flagged on this machine reads *unvalidated*, never safe.\n",
        sr.repeats.max(1),
        sr.deadline_ms
    );
    if let Some(i) = &sr.interrupted {
        let _ = writeln!(o, "**Interrupted**: {i}; the cells below are what ran.\n");
    }
    let _ = writeln!(
        o,
        "| scenario | path | what | control flagged here |\n|---|---|---|---|"
    );
    for sc in &sr.scenarios {
        let Some(info) = workloads::safety::scenario(sc) else {
            continue;
        };
        let v = sr.validation.iter().find(|v| &v.scenario == sc);
        let ctl = match v {
            Some(v) if v.validated => v
                .flagged
                .iter()
                .map(|(e, f)| format!("{e} {f}"))
                .collect::<Vec<_>>()
                .join(", "),
            Some(v) => format!(
                "**no: unvalidated** ({})",
                v.why_not.as_deref().unwrap_or("no control flagged")
            ),
            None => "not recorded".into(),
        };
        let path = serde_json::to_value(info.path)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "| {sc} | {path} | {} | {} |",
            esc(info.summary),
            esc(&ctl)
        );
    }
    let _ = writeln!(o);
    let leaky: Vec<String> = sr
        .leaky_baselines()
        .iter()
        .map(|l| format!("- {l}"))
        .collect();
    if !leaky.is_empty() {
        let _ = writeln!(
            o,
            "Descriptors leaked **without any cancellation** (the `baseline` column), reported once here and subtracted from every other cell of the engine:\n\n{}\n",
            leaky.join("\n")
        );
    }
    let _ = writeln!(
        o,
        "![Cancellation safety matrix](plots/safety.svg)\n\n[PNG](plots/safety.png)\n"
    );
    let _ = write!(o, "| engine |");
    for sc in &sr.scenarios {
        let _ = write!(o, " {sc} |");
    }
    let _ = writeln!(o, "\n|---|{}", "---|".repeat(sr.scenarios.len()));
    for e in &sr.engines {
        let _ = write!(o, "| {e} |");
        for sc in &sr.scenarios {
            let l = sr.cell(e, sc).map_or("–".into(), |c| cell_label(sr, c));
            let _ = write!(o, " {} |", esc(&l));
        }
        let _ = writeln!(o);
    }
    let versions = crate::render::safety::render_versions(sr, "- ");
    if !versions.is_empty() {
        let _ = writeln!(
            o,
            "\n**Versions.** Releases of one runtime side by side, per scenario: *agree* = the same kinds of finding (or none) in every release, whatever their frequency; the evidence of each finding is below, and the engine crate's README (\"Versions side by side\") names the source change behind each difference.\n\n{versions}"
        );
    }
    let flagged: Vec<&crate::results::safety::Cell> = sr
        .cells
        .iter()
        .filter(|c| c.verdict.flagged() || c.findings.iter().any(|f| f.flagged()))
        .collect();
    if !flagged.is_empty() {
        let _ = writeln!(o, "\nEvidence of every finding:\n");
        for c in flagged {
            let kinds: Vec<String> = c.findings.iter().map(|f| f.label()).collect();
            let _ = writeln!(
                o,
                "- **{} × {}**: {}",
                c.engine,
                c.scenario,
                esc(&if kinds.is_empty() {
                    c.verdict.label()
                } else {
                    kinds.join(", ")
                })
            );
            for ev in &c.evidence {
                let _ = writeln!(o, "  - {}", esc(ev));
            }
            if let Some(n) = &c.counts {
                let _ = writeln!(
                    o,
                    "  - counts: {} ops, {} dropped in flight, {} B sent, {} B received, {} B lost, {} ghost B, {} freed B written, {} freed B read, fds {}→{}",
                    n.ops,
                    n.dropped_in_flight,
                    n.bytes_sent,
                    n.bytes_received,
                    n.bytes_lost,
                    n.ghost_bytes,
                    n.freed_bytes_written,
                    n.freed_bytes_read,
                    n.fds_before,
                    n.fds_after
                );
            }
        }
    }
    let skipped: Vec<String> = sr
        .cells
        .iter()
        .filter_map(|c| match &c.verdict {
            workloads::safety::Verdict::Skipped { reason } => {
                Some(format!("- {} × {}: {}", c.engine, c.scenario, esc(reason)))
            }
            _ => None,
        })
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(o, "\nSkipped cells:\n\n{}", skipped.join("\n"));
    }
    let _ = writeln!(o);
    o
}

pub fn failures_section(d: &RunData) -> String {
    let failed: Vec<&TrialRecord> = d
        .records
        .iter()
        .filter(|r| !matches!(r.status, Status::Ok | Status::Interrupted))
        .collect();
    let mut o = String::new();
    if failed.is_empty() {
        return o;
    }
    let _ = writeln!(
        o,
        "## Failed trials\n\nA failed trial is never a number in a table or chart.\n\n| # | round | engine | workload | status | detail |\n|--:|--:|---|---|---|---|"
    );
    for r in failed {
        let status = serde_json::to_value(&r.status)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let detail = r
            .error
            .as_deref()
            .or(r.verify_detail.as_deref())
            .unwrap_or("");
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {status} | {} |",
            r.index,
            r.round,
            r.engine,
            r.workload,
            esc(detail)
        );
    }
    let _ = writeln!(o);
    o
}

/// "a", "a and b", "a, b and c".
pub fn list(v: &[String]) -> String {
    match v.len() {
        0 => String::new(),
        1 => v[0].clone(),
        _ => format!("{} and {}", v[..v.len() - 1].join(", "), v[v.len() - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_figures_keep_three_significant_digits() {
        for (ns, want) in [
            (0, "0.00 ns"),
            (7, "7.00 ns"),
            (14_234, "14.2 µs"),
            (270_499, "270 µs"),
            (6_423_000, "6.42 ms"),
            (999_600, "1.00 ms"),
            (1_234_567_890, "1.23 s"),
        ] {
            assert_eq!(sig3(ns), want, "{ns}");
        }
    }
}
