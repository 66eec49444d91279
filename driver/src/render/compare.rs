//! compare.md and its ratio chart (`ringbench compare`), rendered from the comparison's data
//! ([`crate::analysis::compare::Compared`]): every number printed is the `--json` document's,
//! every verdict and agreement count the analysis layer's. The runs themselves are read only
//! for the header lines (device and its kind are not in the document).

use std::fmt::Write;

use crate::analysis::compare::{CompareDoc, Compared, Gap, RunAgreement};
use crate::analysis::run::RunData;
use crate::analysis::stats::{Ratio as StatRatio, Verdict};
use crate::render::overhead::{diff_words, ops};
use crate::render::plots::{self, Ratio, RatioPanel, RatioRow};
use crate::render::table::mbps;

/// compare.md: the runs, whether each draws A's conclusions, one table per workload and sweep
/// point, the overhead set's section, and the chart's link. `runs` are the runs `c` was built
/// from, in the same order.
pub fn markdown(runs: &[RunData], c: &Compared) -> String {
    let doc = &c.doc;
    let mut md = String::new();
    let _ = writeln!(md, "# ringbench comparison\n");
    for run in &doc.runs {
        let r = &runs[doc
            .runs
            .iter()
            .position(|x| x.label == run.label)
            .unwrap_or(0)];
        let e = &r.meta.environment;
        let _ = writeln!(
            md,
            "- **{}**: `{}` — {} ({} cores), kernel {}, {} on {} [{}], ringbench {} ({}), started {}",
            run.label,
            run.name,
            e.cpu,
            e.cores,
            e.kernel,
            e.filesystem,
            e.device
                .as_ref()
                .map_or("no block device".to_string(), |d| format!(
                    "{} ({})",
                    d.name, d.model
                )),
            e.device_kind.words(),
            e.ringbench,
            e.git,
            r.meta.started
        );
    }
    md.push_str(&conclusions_section(doc, &c.conclusions));
    let _ = writeln!(
        md,
        "\nMB/s medians with their order-statistic intervals; ratios are against A: `median_X / median_A` with the two runs' intervals combined as independent errors on a log scale; *within noise* when that interval contains 1 (or a side has under 2 samples). Reference rows (kernel-copy, fio) are compared like engines.\n"
    );
    for p in &doc.points {
        let _ = writeln!(
            md,
            "## {} — {}\n",
            p.workload,
            plots::config_words(&p.config)
        );
        let mut head = String::from("| engine |");
        let mut rule = String::from("|---|");
        for r in &doc.runs {
            let _ = write!(head, " {} MB/s |", r.label);
            rule.push_str("--:|");
        }
        for r in doc.runs.iter().skip(1) {
            let _ = write!(head, " {} / A |", r.label);
            rule.push_str("---|");
        }
        let _ = writeln!(md, "{head}\n{rule}");
        for row in &p.rows {
            let mut line = format!("| {} |", row.engine);
            for c in &row.cells {
                match (c.status, c.median_bps, c.ci_lo_bps, c.ci_hi_bps) {
                    ("ok", Some(m), Some(lo), Some(hi)) => {
                        let _ = write!(line, " {} [{}–{}] |", mbps(m), mbps(lo), mbps(hi));
                    }
                    ("failed", ..) => line.push_str(" failed |"),
                    _ => line.push_str(" not run |"),
                }
            }
            for r in &row.ratios {
                let _ = write!(line, " {} |", r.cross().map_or("–".into(), |r| r.words()));
            }
            let _ = writeln!(md, "{line}");
        }
        let _ = writeln!(md);
    }
    md.push_str(&overhead_section(doc));
    let _ = writeln!(
        md,
        "![Throughput ratio to run A](plots/compare.svg)\n\n[PNG](plots/compare.png)"
    );
    md
}

/// The chart: per workload and sweep point, each engine's ratio to run A with its interval.
pub fn chart(doc: &CompareDoc) -> anyhow::Result<plots::Chart> {
    let mut panels = Vec::new();
    for p in &doc.points {
        let mut ratio_rows = Vec::new();
        for row in &p.rows {
            let ratios: Vec<Ratio> = row
                .ratios
                .iter()
                .filter_map(|x| {
                    x.cross().map(|r| Ratio {
                        run: x.run.clone(),
                        median: r.median,
                        lo: r.lo,
                        hi: r.hi,
                        within_noise: r.verdict == Verdict::WithinNoise,
                    })
                })
                .collect();
            if !ratios.is_empty() {
                ratio_rows.push(RatioRow {
                    label: row.engine.clone(),
                    look: crate::render::style::look(&row.engine),
                    ratios,
                });
            }
        }
        if !ratio_rows.is_empty() {
            panels.push(RatioPanel {
                title: if doc
                    .points
                    .iter()
                    .filter(|x| x.workload == p.workload)
                    .count()
                    > 1
                {
                    format!("{} ({})", p.workload, p.config_id)
                } else {
                    p.workload.clone()
                },
                rows: ratio_rows,
            });
        }
    }
    let title = format!(
        "Throughput ratio to run A: {}",
        doc.runs
            .iter()
            .map(|r| format!("{} = {}", r.label, r.name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let notes = [concat!(
        "Marker: median_X / median_A; whiskers: its interval, the two runs' order-statistic ",
        "intervals of the median combined as independent errors on a log scale. Hollow marker, ",
        "\"(noise)\": the interval contains 1 (within noise). Right of 1× is faster than A."
    )
    .to_string()];
    plots::ratio_chart("compare".into(), title, &notes, &panels)
        .map_err(|e| anyhow::anyhow!("drawing the comparison chart: {e}"))
}

/// The overhead set side by side (`## Runtime cost per op`): per workload and queue depth, each
/// engine's ops/s in every run, its ratio to A by the cross-run rule, and its tax over the floor
/// (wall ns per op more than `io-uring-raw`, per round) in every run with whether the verdicts
/// agree with A's. Empty when no run has the set (older folders, `--no-overhead`).
fn overhead_section(doc: &CompareDoc) -> String {
    let mut md = String::new();
    if doc.overhead.is_empty() {
        return md;
    }
    let _ = writeln!(
        md,
        "## Runtime cost per op (overhead set)\n\nCache-warm 4 KiB ops of each run's overhead set: ops/s medians with their intervals, the ratio to A by the rule above, and each run's tax over the floor (wall ns per op more than {}, per round, with its interval); *tax vs A* says whether the verdicts agree (*same*), one run decided where the other did not (*differ*), or one shows more and the other less (**contradict**).\n",
        crate::analysis::overhead::FLOOR
    );
    for p in &doc.overhead {
        let _ = writeln!(md, "### {}, queue depth {}\n", p.workload, p.queue_depth);
        let mut head = String::from("| engine |");
        let mut rule = String::from("|---|");
        for r in &doc.runs {
            let _ = write!(head, " {} ops/s |", r.label);
            rule.push_str("--:|");
        }
        for r in doc.runs.iter().skip(1) {
            let _ = write!(head, " {} / A |", r.label);
            rule.push_str("---|");
        }
        for r in &doc.runs {
            let _ = write!(head, " {} tax |", r.label);
            rule.push_str("---|");
        }
        for r in doc.runs.iter().skip(1) {
            let _ = write!(head, " {} tax vs A |", r.label);
            rule.push_str("---|");
        }
        let _ = writeln!(md, "{head}\n{rule}");
        for row in &p.rows {
            let mut line = format!("| {} |", row.engine);
            for c in &row.cells {
                let _ = match c {
                    Some(c) if c.n > 0 => write!(
                        line,
                        " {} [{}–{}] |",
                        ops(c.ops_per_s),
                        ops(c.ops_ci.lo),
                        ops(c.ops_ci.hi)
                    ),
                    Some(_) => write!(line, " failed |"),
                    None => write!(line, " not run |"),
                };
            }
            for r in &row.ratios {
                let _ = write!(line, " {} |", r.cross().map_or("–".into(), |r| r.words()));
            }
            for c in &row.cells {
                let _ = match c.as_ref().and_then(|c| c.ns_over_floor.as_ref()) {
                    Some(d) => write!(line, " {} |", diff_words(d)),
                    None if c.as_ref().is_some_and(|c| c.floor) => write!(line, " the floor |"),
                    None => write!(line, " – |"),
                };
            }
            for t in &row.tax {
                let _ = write!(line, " {} |", t.map_or("–", |t| t.words()));
            }
            let _ = writeln!(md, "{line}");
        }
        let _ = writeln!(md);
    }
    md
}

/// One boundary's pair in both runs: `x / y: A 0.85× [0.77–0.90] (a boundary); B 0.93×
/// [0.86–1.01] (within noise)`. A boundary needs the interval below 1/(1 + margin).
fn gap_words(g: &Gap, la: &str, lb: &str, margins: [f64; 2]) -> String {
    let side = |label: &str, r: &Option<StatRatio>, margin: f64| match r {
        Some(r) => format!(
            "{label} {:.2}× [{:.2}–{:.2}] ({})",
            r.median,
            r.ci.lo,
            r.ci.hi,
            if r.slower_beyond(margin) {
                "a boundary".to_string()
            } else if r.verdict == Verdict::Slower {
                "slower, within the margin".to_string()
            } else {
                r.verdict_words()
            }
        ),
        None => format!("{label}: no paired round"),
    };
    format!(
        "{} / {}: {}; {}",
        g.engine,
        g.versus,
        side(la, &g.ratios[0], margins[0]),
        side(lb, &g.ratios[1], margins[1])
    )
}

/// Whether each run draws the same conclusions as run A in "How to choose" (the groups of each
/// table; rules in [`crate::analysis::conclusions`]), table by table, with a one-line verdict first.
fn conclusions_section(doc: &CompareDoc, runs: &[RunAgreement]) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "\n## Conclusions: does each run draw those of A?\n\nA conclusion is a table's groups as \"How to choose\" states them: a group boundary says the later group's first engine was shown slower per round than one of the group before, by more than that run's margin (how far its engine pairs' ratios moved between its two halves); inside a group nothing is decided. Engines that only one run ranked are left out. Under a table whose runs do not agree, each group boundary of either run, with that pair's per-round ratio in both runs: whether the gap itself moved, or only crossed the margin.\n"
    );
    let la = &doc.runs[0].label;
    for r in runs {
        let lb = &r.label;
        let (agree, n, contradict) = (r.agree, r.tables.len(), r.contradict);
        let _ = writeln!(
            md,
            "**{lb} vs {la}: {}** ({agree} of {n} tables draw the same conclusions or both say no decision here{}).\n",
            if r.all_agree() {
                "the conclusions agree"
            } else if contradict > 0 {
                "the conclusions contradict"
            } else {
                "the conclusions differ"
            },
            if contradict > 0 {
                format!("; {contradict} contradict")
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            md,
            "Margins: {la} {:.0}%, {lb} {:.0}%.\n",
            r.margins[0] * 100.0,
            r.margins[1] * 100.0
        );
        for t in &r.tables {
            let _ = writeln!(
                md,
                "- **{}** ({}): {la}: {}; {lb}: {} — {}",
                t.key.0,
                plots::config_words(&t.key.1),
                t.a.words(),
                t.b.words(),
                t.agreement.words()
            );
            for g in &t.gaps {
                let _ = writeln!(md, "  - {}", gap_words(g, la, lb, r.margins));
            }
        }
        let (same, compared, contra) = r.tax;
        if compared > 0 {
            let _ = writeln!(
                md,
                "- **runtime cost per op**: {same} of {compared} tax verdicts over the floor are the same in {lb} as in {la}{} (table in \"Runtime cost per op\" below)",
                if contra > 0 {
                    format!("; {contra} **contradict**")
                } else {
                    String::new()
                }
            );
        }
        let _ = writeln!(md);
    }
    md
}
