//! `ringbench calibrate` as text: calibrate.md, which is also what the command prints.

use workloads::units;

use crate::analysis::stats::{MIN_VERDICT_LEVEL, NOISY};
use crate::results::calibration::{Calibration, Figure};

/// "INTERRUPTED by SIGINT after 2 of 7 runs had started ...", when the calibration was cut short.
pub fn interrupted_line(c: &Calibration) -> Option<String> {
    c.interrupted.then(|| {
        format!(
            "INTERRUPTED by {} after {} of {} runs had started: verdicts use only the trials that finished",
            c.interrupted_by.as_deref().unwrap_or("a signal"),
            c.runs.len(),
            c.planned_runs
        )
    })
}

fn fig(f: &Figure, scale: f64, digits: usize) -> String {
    format!(
        "{:.d$} [{:.d$}-{:.d$}]{}",
        f.median / scale,
        f.lo / scale,
        f.hi / scale,
        if f.noisy { " ~" } else { "" },
        d = digits
    )
}

fn ratio_words(f: &Figure) -> String {
    format!(
        "{:.3}x [{:.3}-{:.3}] ({:.0}%, {} rounds){}",
        f.median,
        f.lo,
        f.hi,
        f.level * 100.0,
        f.n,
        if f.noisy { " ~" } else { "" }
    )
}

/// calibrate.md (also what is printed).
pub fn render(c: &Calibration) -> String {
    let mut s = String::new();
    macro_rules! w {
        ($($t:tt)*) => {{ s.push_str(&format!($($t)*)); s.push('\n'); }};
    }
    w!("# ringbench calibrate");
    w!("");
    w!("- machine: {}", c.machine);
    w!("- command: `{}`", c.command.join(" "));
    w!(
        "- started {}, finished {}{}",
        c.started,
        c.finished.as_deref().unwrap_or("-"),
        if c.interrupted { " (interrupted)" } else { "" }
    );
    if let Some(l) = interrupted_line(c) {
        w!("- **{l}**");
    }
    w!("- page cache before trials: {}", c.cache.join(", "));
    w!("- runs (each a complete run folder; its meta.json has the full environment):");
    for r in &c.runs {
        w!(
            "  - `{}/` ({}, {} failed trial(s)): `{}`",
            r.folder,
            r.phase,
            r.failed,
            r.command
        );
    }
    for n in &c.notes {
        w!("- note: {n}");
    }
    w!("");
    w!("Ratios are per round (paired trials that ran side by side), summarised as the median");
    w!("with an order-statistic interval and its achieved confidence. A verdict is given only");
    w!(
        "when the whole interval lies on one side of the target at >= {:.0}% confidence; `~` marks",
        MIN_VERDICT_LEVEL * 100.0
    );
    w!(
        "a figure whose interval is wider than +-{:.0}% of its median.",
        NOISY * 100.0
    );
    w!("");
    if !c.targets.is_empty() || c.harness.is_some() || c.memory.is_some() {
        w!("## Targets");
        w!("");
        w!(
            "| target | best io_uring engine | engine MB/s | reference MB/s | ratio per round | verdict |"
        );
        w!("|---|---|---|---|---|---|");
        for t in &c.targets {
            let (eng, thr, ratio) = match &t.best_row {
                Some(b) => (
                    b.engine.clone(),
                    fig(&b.throughput, 1e6, 0),
                    b.ratio.as_ref().map_or("-".into(), ratio_words),
                ),
                None => ("-".into(), "-".into(), "-".into()),
            };
            w!(
                "| {} vs {}: {} (ratio >= {}) | {} | {} | {} | {} | **{}** |",
                t.workload.name(),
                t.reference,
                t.goal,
                t.target,
                eng,
                thr,
                t.reference_throughput
                    .as_ref()
                    .map_or("-".into(), |f| fig(f, 1e6, 0)),
                ratio,
                t.verdict.words()
            );
        }
        if let Some(h) = &c.harness {
            w!(
                "| harness cost per op: null engine's ns/op over the fastest engine's {} read (< {}) | {} | | | {} | **{}** |",
                units::size(h.block_size as u64),
                h.target,
                h.fastest.as_deref().unwrap_or("-"),
                h.share.as_ref().map_or("-".into(), |f| format!(
                    "{:.2}% [{:.2}-{:.2}%] ({:.0}%, {} rounds){}",
                    f.median * 100.0,
                    f.lo * 100.0,
                    f.hi * 100.0,
                    f.level * 100.0,
                    f.n,
                    if f.noisy { " ~" } else { "" }
                )),
                h.verdict.words()
            );
        }
        if let Some(m) = &c.memory {
            let grows: Vec<String> = m
                .checks
                .iter()
                .filter(|k| k.verdict != "independent")
                .map(|k| {
                    format!(
                        "{} {}x{}",
                        k.engine,
                        units::size(k.block_size as u64),
                        k.queue_depth
                    )
                })
                .collect();
            w!(
                "| peak RSS independent of file size ({} vs {}) | every engine | | | {} of {} checks independent | **{}** |",
                units::size(m.sizes[0]),
                units::size(m.sizes[m.sizes.len() - 1]),
                m.checks.len() - grows.len(),
                m.checks.len(),
                if m.checks.is_empty() {
                    "not measured".to_string()
                } else if grows.is_empty() {
                    "meets target".to_string()
                } else {
                    format!("grows with file size: {}", grows.join(", "))
                }
            );
        }
        w!("");
        for t in &c.targets {
            w!(
                "### {} vs {} (every engine; target ratio >= {})",
                t.workload.name(),
                t.reference,
                t.target
            );
            w!("");
            w!(
                "| engine | io_uring | MB/s [interval] | vs {} per round | verdict |",
                t.reference
            );
            w!("|---|---|---|---|---|");
            if let Some(r) = &t.reference_throughput {
                w!("| {} (reference) | | {} | | |", t.reference, fig(r, 1e6, 0));
            }
            for e in &t.engines {
                w!(
                    "| {} | {} | {} | {} | {} |",
                    e.engine,
                    if e.io_uring { "yes" } else { "no" },
                    fig(&e.throughput, 1e6, 0),
                    e.ratio.as_ref().map_or("-".into(), ratio_words),
                    e.verdict.words()
                );
            }
            w!("");
        }
    }
    if let Some(h) = &c.harness {
        w!(
            "## Harness cost per op ({} reads, queue depth {})",
            units::size(h.block_size as u64),
            h.queue_depth
        );
        w!("");
        w!(
            "ns per op = a trial's elapsed time over its read ops (inverse IOPS at this queue depth)."
        );
        w!("The null engine does no I/O: its ns/op is the generic loop, the op funnel (counting,");
        w!("latency histogram), header checks and the executor alone.");
        w!("");
        w!("| row | ns per op [interval] |");
        w!("|---|---|");
        if let Some(n) = &h.null_ns_per_op {
            w!("| null (harness only) | {} |", fig(n, 1.0, 0));
        }
        for (e, f) in &h.rows {
            w!(
                "| {}{} | {} |",
                e,
                if h.fastest.as_deref() == Some(e) {
                    " (fastest)"
                } else {
                    ""
                },
                fig(f, 1.0, 0)
            );
        }
        w!("");
    }
    if let Some(m) = &c.memory {
        w!("## Peak RSS (large --direct)");
        w!("");
        w!("Peak resident set of each trial's child (its own VmHWM, reported at the end of the");
        w!("trial), median [interval] over its trials; buffers = queue depth x block size;");
        w!(
            "overhead = RSS - buffers. kernel-copy holds no buffers of ours: its RSS is the binary's"
        );
        w!("own floor.");
        w!("");
        w!(
            "| engine | block x depth | buffers KiB | RSS KiB at {} | RSS KiB at {} | overhead KiB | grows with file? |",
            units::size(m.sizes[0]),
            units::size(m.sizes[m.sizes.len() - 1])
        );
        w!("|---|---|---|---|---|---|---|");
        let mut keys: Vec<(String, usize, usize)> = m
            .cells
            .iter()
            .map(|c| (c.engine.clone(), c.block_size, c.queue_depth))
            .collect();
        keys.dedup();
        for (e, bs, qd) in keys {
            let at = |s: u64| {
                m.cells.iter().find(|c| {
                    c.engine == e && c.block_size == bs && c.queue_depth == qd && c.size == s
                })
            };
            let (a, b) = (at(m.sizes[0]), at(m.sizes[m.sizes.len() - 1]));
            let check = m
                .checks
                .iter()
                .find(|k| k.engine == e && k.block_size == bs && k.queue_depth == qd);
            w!(
                "| {} | {}x{} | {} | {} | {} | {} | {} |",
                e,
                units::size(bs as u64),
                qd,
                a.or(b).map_or(0, |c| c.buffers_kib),
                a.map_or("-".into(), |c| fig(&c.rss_kib, 1.0, 0)),
                b.map_or("-".into(), |c| fig(&c.rss_kib, 1.0, 0)),
                b.or(a)
                    .map_or("-".into(), |c| format!("{:.0}", c.overhead_kib)),
                check.map_or("-".into(), |k| format!(
                    "{} ({:+.0} KiB, {:+.2} KiB per MiB of file)",
                    k.verdict, k.delta_kib, k.kib_per_file_mib
                ))
            );
        }
        w!("");
        if !m.buffer_slope.is_empty() {
            w!(
                "Extra RSS per extra buffer byte between the smallest and largest setting (1.0: only"
            );
            w!("the buffers scale; 2.0: every buffer is held twice):");
            w!("");
            for (e, k) in &m.buffer_slope {
                w!("- {e}: {k:.2}");
            }
            w!("");
        }
    }
    if !c.noisy.is_empty() {
        w!(
            "## Noisy figures (interval wider than +-{:.0}% of the median)",
            NOISY * 100.0
        );
        w!("");
        for n in &c.noisy {
            w!("- {}: {} (+-{:.0}%)", n.run, n.what, n.rel_ci * 100.0);
        }
        w!("");
    }
    s
}
