//! Render layer: the overhead set in report.md — the "Runtime cost per op" section (a table per
//! workload: engine, queue depth, ops/s, CPU ns per op, and each runtime's tax over the floor
//! `io-uring-raw` with its interval), its chart (`plots/overhead.*`: ops per second per engine,
//! the floor as a dashed reference), and the "runtime cost per op" line of "How to choose".
//! Every statement is read off the cells' intervals and verdicts (`overhead.rs`); a run without
//! the set (older folders, `--no-overhead`) renders nothing here.

use std::error::Error;
use std::fmt::Write;

use workloads::Workload;

use crate::analysis::overhead::{Diff, FLOOR, OverheadCell};
use crate::analysis::run::RunData;
use crate::analysis::stats::{Ratio, Verdict};
use crate::render::plots::{self, Bar, BarPanel, Chart, RefLine};
use crate::render::style;

/// The (workload, queue depth) keys of the cells, in plan order.
fn keys(cells: &[OverheadCell]) -> Vec<(Workload, usize)> {
    let mut v: Vec<(Workload, usize)> = Vec::new();
    for c in cells {
        if !v.contains(&(c.workload, c.config.queue_depth)) {
            v.push((c.workload, c.config.queue_depth));
        }
    }
    v
}

/// A key's cells: the floor first, then by ops/s, highest first (ties by name).
fn rows(cells: &[OverheadCell], w: Workload, qd: usize) -> Vec<&OverheadCell> {
    let mut v: Vec<&OverheadCell> = cells
        .iter()
        .filter(|c| c.workload == w && c.config.queue_depth == qd)
        .collect();
    v.sort_by(|a, b| {
        b.floor
            .cmp(&a.floor)
            .then_with(|| b.ops_per_s.total_cmp(&a.ops_per_s))
            .then_with(|| a.engine.cmp(&b.engine))
    });
    v
}

/// Ops per second with three significant digits and a k/M suffix.
pub fn ops(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    // Bounds at 999.5 so a value that rounds to 1000 takes the next unit ("1.00M", not "1000k").
    let (x, unit) = if v >= 999.5e3 {
        (v / 1e6, "M")
    } else if v >= 999.5 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    format!("{}{unit}", sig3(x))
}

fn sig3(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// Nanoseconds in ns or µs with three significant digits; `signed` puts a `+` on positive
/// values (a negative one always has its `−`).
pub fn ns(v: f64, signed: bool) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let sign = if v < 0.0 {
        "−"
    } else if signed && v > 0.0 {
        "+"
    } else {
        ""
    };
    let a = v.abs();
    if a >= 1000.0 {
        format!("{sign}{} µs", sig3(a / 1000.0))
    } else {
        format!("{sign}{} ns", sig3(a))
    }
}

fn ns_range(lo: f64, hi: f64) -> String {
    // A comma, not a dash, between signed bounds: "−352 ns–+17.6 ns" reads as arithmetic.
    format!("{}, {}", ns(lo, true), ns(hi, true))
}

/// A tax with its interval and verdict in words (`+812 ns [+790 ns, +840 ns] more`).
pub fn diff_words(d: &Diff) -> String {
    let v = match d.verdict {
        Verdict::Slower => "more".to_string(),
        Verdict::Faster => "less".to_string(),
        Verdict::WithinNoise => "within noise".to_string(),
        Verdict::TooFewRounds => format!("too few rounds ({:.0}%)", d.ci.level * 100.0),
    };
    format!(
        "{} [{}] {v}",
        ns(d.median, true),
        ns_range(d.ci.lo, d.ci.hi)
    )
}

fn ratio_words(r: &Ratio) -> String {
    format!(
        "{:.2}× [{:.2}–{:.2}] {}",
        r.median,
        r.ci.lo,
        r.ci.hi,
        r.verdict_words()
    )
}

fn levels(it: impl Iterator<Item = f64>) -> String {
    let mut v: Vec<String> = it
        .filter(|l| l.is_finite())
        .map(|l| format!("{:.0}%", l * 100.0))
        .collect();
    v.sort();
    v.dedup();
    if v.is_empty() {
        "–".into()
    } else {
        v.join(", ")
    }
}

/// The set's file size from meta.json (`options.overhead.size`), in words.
fn size_words(d: &RunData) -> String {
    d.meta
        .options
        .pointer("/overhead/size")
        .and_then(|v| v.as_u64())
        .map_or("?".into(), workloads::units::size)
}

/// The runtimes that send the op through io_uring (by their recorded capabilities and route,
/// the floor left out) whose wall ns per op is shown *below* the floor's at (`w`, `qd`). The floor drives the same ring with nothing
/// around it, so a runtime beating it means the two were not served the same way below the
/// runtime (the kernel's path for the op differed), and the tax of that cell is not runtime
/// cost: the report says so instead of stating a negative tax.
fn beat_the_floor(d: &RunData, w: Workload, qd: usize) -> Vec<String> {
    // Whether the engine sends this workload's op through the ring (its declared route, as
    // `ringbench audit` checks it): tokio's io_uring backend, for one, writes through its pool.
    let io_uring = |e: &str| {
        d.meta.engines.iter().any(|m| {
            let route = if w == Workload::Write {
                m.info.routes.write
            } else {
                m.info.routes.read
            };
            m.name == e && m.info.caps.io_uring && route == Some(workloads::Route::Ring)
        })
    };
    rows(&d.summary.overhead, w, qd)
        .into_iter()
        .filter(|c| !c.floor && io_uring(&c.engine))
        .filter(|c| {
            c.ns_over_floor
                .is_some_and(|x| x.verdict == Verdict::Faster)
        })
        .map(|c| c.engine.clone())
        .collect()
}

/// Where the set's trials ran: pinned to one CPU (`--overhead-cpu`) or wherever the scheduler
/// put them (`none`, and runs from before pinning).
fn pinning_words(d: &RunData) -> String {
    match d.meta.options.pointer("/overhead/cpu").and_then(|v| v.as_u64()) {
        Some(cpu) => format!(
            "every trial pinned to CPU {cpu} with its threads and the kernel's io_uring workers (`--overhead-cpu`: an op that hops threads then costs a context switch, not a wake-up of another CPU, whose latency is the machine's)"
        ),
        None => "trials not pinned to a CPU (an op that hops threads includes the machine's cross-CPU wake-up latency)".into(),
    }
}

/// The "Runtime cost per op" section; empty when the run has no overhead set.
pub fn section(d: &RunData) -> String {
    let cells = &d.summary.overhead;
    if cells.is_empty() {
        return String::new();
    }
    let mut o = String::new();
    let has_floor = cells.iter().any(|c| c.floor);
    let _ = writeln!(o, "## Runtime cost per op\n");
    let _ = writeln!(
        o,
        "What each runtime costs per operation when the device is out of the way: 4 KiB reads (`read`, and `randread` at seeded random offsets) from a {} file warmed into the page cache right before each trial, and 4 KiB writes into the page cache (`write`, no fsync), at queue depth 1 and 32, one thread, {}; each trial is the median of {} timed pass(es) in one child; run as extra trials in the same rounds as the rest (`--no-overhead` skips them). ops/s counts reads and writes over the timed section; CPU ns/op is the CPU of every thread of the trial's process over the timed section per op. Each figure is the median over rounds with its order-statistic interval (achieved confidence: {}); *noisy* marks a cell whose ops/s or CPU interval is wider than ±10% of its median. The tax is measured against **{FLOOR}** (the io-uring crate driven directly: owned buffers, one submit/wait loop, no runtime; shown, never ranked), per round, from the two trials of the same round: the ratio of ops/s (below 1: fewer ops per second than the floor) and the difference in wall ns per op (1/ops/s; *more* or *less* when its interval excludes 0, *within noise* when it contains 0).\n",
        size_words(d),
        pinning_words(d),
        d.meta
            .options
            .pointer("/overhead/passes")
            .and_then(|v| v.as_u64())
            .unwrap_or(1),
        levels(cells.iter().map(|c| c.ops_ci.level))
    );
    if !has_floor {
        let _ = writeln!(
            o,
            "No {FLOOR} trial completed in this run, so no tax over the floor can be stated.\n"
        );
    }
    let mut workloads: Vec<Workload> = Vec::new();
    for (w, _) in keys(cells) {
        if !workloads.contains(&w) {
            workloads.push(w);
        }
    }
    for w in workloads {
        let _ = writeln!(o, "### {w}\n");
        let _ = writeln!(
            o,
            "| engine | queue depth | ops/s | CPU ns/op | ops/s vs {FLOOR} | wall ns/op over {FLOOR} | CPU ns/op over {FLOOR} |\n|---|---|---|---|---|---|---|"
        );
        for (kw, qd) in keys(cells) {
            if kw != w {
                continue;
            }
            for c in rows(cells, w, qd) {
                let name = if c.floor {
                    format!("{} (floor)", c.engine)
                } else {
                    c.engine.clone()
                };
                let noisy = if c.noisy { " *noisy*" } else { "" };
                let failed = if c.failed > 0 {
                    format!(" ({} failed)", c.failed)
                } else {
                    String::new()
                };
                let ops_cell = if c.n > 0 {
                    format!(
                        "{} [{}–{}]{failed}",
                        ops(c.ops_per_s),
                        ops(c.ops_ci.lo),
                        ops(c.ops_ci.hi)
                    )
                } else {
                    format!("–{failed}")
                };
                let cpu_cell = match (c.cpu_ns_per_op, c.cpu_ci) {
                    (Some(m), Some(ci)) => format!(
                        "{} [{}, {}]",
                        ns(m, false),
                        ns(ci.lo, false),
                        ns(ci.hi, false)
                    ),
                    _ => "–".into(),
                };
                let dash = || {
                    if c.floor {
                        "(floor)".to_string()
                    } else {
                        "–".to_string()
                    }
                };
                let _ = writeln!(
                    o,
                    "| {name}{noisy} | {qd} | {ops_cell} | {cpu_cell} | {} | {} | {} |",
                    c.vs_floor.as_ref().map_or_else(dash, ratio_words),
                    c.ns_over_floor.as_ref().map_or_else(dash, diff_words),
                    c.cpu_ns_over_floor.as_ref().map_or_else(dash, diff_words),
                );
            }
        }
        let _ = writeln!(o);
        for (kw, qd) in keys(cells) {
            let beat = beat_the_floor(d, kw, qd);
            if kw == w && !beat.is_empty() {
                let _ = writeln!(
                    o,
                    "**The floor is not a lower bound for {w} at queue depth {qd}**: {} (whose ops go through the ring) did more ops per second than {FLOOR}, which drives the same ring with nothing around it. So the kernel served the same op differently underneath (not explained by this run), and this cell's taxes do not measure runtime cost.\n",
                    beat.join(", ")
                );
            }
        }
    }
    let noisy = cells.iter().filter(|c| c.noisy).count();
    let _ = writeln!(
        o,
        "{} of {} cells are noisy (an interval wider than ±10%).\n",
        noisy,
        cells.len()
    );
    o
}

/// The "runtime cost per op" line of "How to choose": per workload and depth, the engines whose
/// wall ns per op over the floor is shown above 0 (with the figure), those within noise of it,
/// and those shown below it; nothing the intervals do not support. `None` without the set.
pub fn how_to_choose_line(d: &RunData) -> Option<String> {
    let cells = &d.summary.overhead;
    if cells.is_empty() {
        return None;
    }
    if !cells.iter().any(|c| c.floor && c.n > 0) {
        return Some(format!(
            "- **runtime cost per op**: no {FLOOR} trial completed, so no tax over the floor to state."
        ));
    }
    let mut parts = Vec::new();
    for (w, qd) in keys(cells) {
        let beat = beat_the_floor(d, w, qd);
        if !beat.is_empty() {
            parts.push(format!(
                "{w} qd{qd}: no tax stated, the floor is beaten by {} (not a lower bound there)",
                beat.join(", ")
            ));
            continue;
        }
        let mut taxed: Vec<(&OverheadCell, Diff)> = rows(cells, w, qd)
            .into_iter()
            .filter_map(|c| c.ns_over_floor.map(|d| (c, d)))
            .collect();
        if taxed.is_empty() {
            continue;
        }
        taxed.sort_by(|a, b| a.1.median.total_cmp(&b.1.median));
        let of = |v: Verdict| -> Vec<String> {
            taxed
                .iter()
                .filter(|(_, d)| d.verdict == v)
                .map(|(c, d)| match v {
                    Verdict::Slower | Verdict::Faster => {
                        format!("{} {}", c.engine, ns(d.median, true))
                    }
                    _ => c.engine.clone(),
                })
                .collect()
        };
        let mut clause = Vec::new();
        for (v, label) in [
            (Verdict::Faster, "less"),
            (Verdict::WithinNoise, "within noise"),
            (Verdict::Slower, "more"),
            (Verdict::TooFewRounds, "too few rounds to tell"),
        ] {
            let names = of(v);
            if !names.is_empty() {
                clause.push(format!("{label}: {}", names.join(", ")));
            }
        }
        parts.push(format!("{w} qd{qd}: {}", clause.join("; ")));
    }
    if parts.is_empty() {
        return Some(format!(
            "- **runtime cost per op**: no engine has a round paired with {FLOOR}, so no tax to state."
        ));
    }
    Some(format!(
        "- **runtime cost per op** (cache-warm 4 KiB; wall ns per op more or less than {FLOOR}, per round, where the interval excludes 0; medians, intervals in \"Runtime cost per op\"): {}.",
        parts.join(" · ")
    ))
}

/// The overhead chart: one panel per workload and depth, a bar per engine (ops/s, thousands)
/// with its interval, the floor as a dashed line with its band. `None` without the set.
pub fn chart(d: &RunData) -> Result<Option<Chart>, Box<dyn Error>> {
    let cells = &d.summary.overhead;
    if cells.is_empty() {
        return Ok(None);
    }
    let k = |v: f64| v / 1e3;
    let mut panels = Vec::new();
    for (w, qd) in keys(cells) {
        let rs = rows(cells, w, qd);
        let bars: Vec<Bar> = rs
            .iter()
            .filter(|c| !c.floor)
            .map(|c| Bar {
                label: c.engine.clone(),
                look: style::look(&c.engine),
                median: if c.n > 0 { k(c.ops_per_s) } else { f64::NAN },
                lo: k(c.ops_ci.lo),
                hi: k(c.ops_ci.hi),
                level: c.ops_ci.level,
            })
            .collect();
        let refs: Vec<RefLine> = rs
            .iter()
            .filter(|c| c.floor && c.n > 0)
            .map(|c| RefLine {
                label: format!("{} (floor)", c.engine),
                value: k(c.ops_per_s),
                lo: k(c.ops_ci.lo),
                hi: k(c.ops_ci.hi),
            })
            .collect();
        if bars.is_empty() && refs.is_empty() {
            continue;
        }
        panels.push(BarPanel {
            title: format!("{w}, queue depth {qd}"),
            x_desc: "thousand ops/s (4 KiB, page cache)".into(),
            bars,
            refs,
        });
    }
    let level = levels(cells.iter().map(|c| c.ops_ci.level));
    let note = format!(
        "Cache-warm 4 KiB ops on a {} file. Bar and marker: median ops/s over rounds, most on top; whiskers: its interval at {level} confidence. Dashed line and grey band: {FLOOR}, the io-uring crate with no runtime, and its interval.",
        size_words(d)
    );
    Ok(Some(plots::bar_chart(
        "overhead".into(),
        "Runtime cost per op: operations per second".into(),
        &[note],
        &panels,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixtures::data;
    use crate::analysis::overhead::{summarise, tests::rec};

    /// A run whose overhead set has the floor at 1000 ns per op and a ring runtime `ring` and a
    /// blocking `blk` at the given ns per op.
    fn run(ring_ns: f64, blk_ns: f64) -> RunData {
        let mut d = data();
        let mut ring = crate::results::fixtures::engine("ring", true);
        ring.info.caps.io_uring = true;
        ring.info.routes.read = Some(workloads::Route::Ring);
        d.meta.engines = vec![
            ring,
            crate::results::fixtures::engine("blk", true),
            crate::results::fixtures::engine(FLOOR, true),
        ];
        d.meta.engines[2].info.caps.io_uring = true;
        let mut records = Vec::new();
        for round in 0..8 {
            let j = 1.0 + f64::from(round % 3) * 0.01;
            records.push(rec(FLOOR, round, 1, 1000.0 * j, 900.0));
            records.push(rec("ring", round, 1, ring_ns * j, 900.0));
            records.push(rec("blk", round, 1, blk_ns * j, 900.0));
        }
        let names = ["ring", "blk", FLOOR].map(String::from);
        d.summary.overhead = summarise(&records, &names);
        d
    }

    #[test]
    fn a_floor_beaten_by_a_ring_runtime_states_no_tax() {
        // The ring runtime above the floor, the blocking one below it: a tax is stated (a
        // blocking engine may well beat a ring; that is not the floor's fault).
        let d = run(1500.0, 500.0);
        let line = how_to_choose_line(&d).unwrap();
        assert!(line.contains("more: ring +505 ns"), "{line}");
        assert!(line.contains("less: blk −505 ns"), "{line}");
        assert!(!section(&d).contains("not a lower bound"));
        // The ring runtime below the floor: no tax for that cell, and the section says why.
        let d = run(500.0, 500.0);
        let line = how_to_choose_line(&d).unwrap();
        assert!(
            line.contains("read qd1: no tax stated, the floor is beaten by ring"),
            "{line}"
        );
        assert!(!line.contains("less: "), "{line}");
        let s = section(&d);
        assert!(
            s.contains("**The floor is not a lower bound for read at queue depth 1**: ring"),
            "{s}"
        );
    }
}
