//! Renderers of a [`Summary`]: the terminal table (the CSV is csv_out.rs). Each returns a
//! `String`; the caller decides where it goes (hyperfine's exporter habit).

use std::fmt::Write;

use comfy_table::{CellAlignment, ContentArrangement, Table};

use crate::analysis::stats::Ratio;
use crate::analysis::summary::{Cell, Summary};

/// Throughput in MB/s (10^6 bytes per second), the unit of every table.
pub fn mbps(bps: f64) -> String {
    if bps.is_finite() {
        format!("{:.1}", bps / 1e6)
    } else {
        "-".into()
    }
}

fn ratio(r: &Option<Ratio>) -> String {
    match r {
        None => "-".into(),
        Some(r) => format!(
            "{:.2}x [{:.2}-{:.2}] {}",
            r.median,
            r.ci.lo,
            r.ci.hi,
            r.verdict_words()
        ),
    }
}

/// The terminal table: one block per workload and sweep point, each a comfy-table (columns
/// sized to their content, numbers right-aligned, no borders, so it pastes as plain text).
pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    let mut rest = &s.cells[..];
    while let Some(first) = rest.first() {
        let key = (first.workload, first.config);
        let n = rest
            .iter()
            .take_while(|c| (c.workload, c.config) == key)
            .count();
        let (block, tail) = rest.split_at(n);
        rest = tail;
        let _ = writeln!(
            out,
            "\n{}  (block {}, queue depth {}, files in flight {}, threads {}{})",
            first.workload,
            workloads::units::size(first.config.block_size as u64),
            first.config.queue_depth,
            first.config.files_in_flight,
            first.config.threads,
            if first.config.cancel_bp > 0 {
                format!(", cancel rate {}", first.config.cancel_rate())
            } else {
                String::new()
            }
        );
        let rows: Vec<Vec<String>> = block.iter().map(row).collect();
        // The notes column (cancels, leaks, failures) only when a row has one.
        let notes = rows.iter().any(|r| !r[7].is_empty());
        let mut header = vec![
            "engine",
            "MB/s",
            "interval (level)",
            "n",
            "group",
            "vs std (per-round, interval)",
            "CPU s/GB",
        ];
        if notes {
            header.push("notes");
        }
        let mut t = Table::new();
        t.load_style(comfy_table::presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(header);
        for mut r in rows {
            if !notes {
                r.truncate(7);
            }
            t.add_row(r);
        }
        for i in 1..=6 {
            if let Some(c) = t.column_mut(i) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        for line in t.to_string().lines() {
            let _ = writeln!(out, " {}", line.trim_end());
        }
    }
    out
}

/// One row's cells: engine, MB/s, interval, n, group, vs std, CPU s/GB, notes.
fn row(c: &Cell) -> Vec<String> {
    let interval = if c.n > 0 {
        format!(
            "[{}-{}] {:.0}%",
            mbps(c.ci.lo),
            mbps(c.ci.hi),
            c.ci.level * 100.0
        )
    } else {
        "-".into()
    };
    let mut name = c.engine.clone();
    if c.noisy && c.n > 0 {
        name.push_str(" ~");
    }
    let mut notes = String::new();
    if let Some(k) = &c.cancel {
        let _ = write!(
            notes,
            "cancels: {} in flight, {} vacuous, vs no cancel {}",
            k.landed_in_flight,
            k.vacuous,
            ratio(&c.vs_no_cancel)
        );
        if k.max_leaked_fds > 0 || k.max_leaked_buffer_bytes > 0 {
            let _ = write!(
                notes,
                " LEAK {} fds {} buffer bytes",
                k.max_leaked_fds, k.max_leaked_buffer_bytes
            );
        }
    }
    if c.failed > 0 {
        if !notes.is_empty() {
            notes.push_str("  ");
        }
        let _ = write!(notes, "FAILED {}: {}", c.failed, c.failures.join(","));
    }
    vec![
        name,
        mbps(c.median_bps),
        interval,
        c.n.to_string(),
        c.group.map_or("-".into(), |g| g.to_string()),
        ratio(&c.vs_std),
        c.cpu_s_per_gb.map_or("-".into(), |v| format!("{v:.2}")),
        notes,
    ]
}

/// Legend printed under the table.
pub const LEGEND: &str = "group: walking engines by median, highest first, each joins the current group unless its per-round ratio against an engine already in the group is slower by more than the run's margin (interval below 1/(1+margin) at >= 85%; margin printed above), then it opens the next group: \
never a better group than a higher median; too few rounds = fewer than 4 paired rounds (level shown), no verdict; \
~ marks a noisy cell (interval wider than +-10% or a single sample); level = achieved confidence of the order-statistic interval; \
CPU s/GB = CPU of every thread of the trial process over the timed section alone, per GB moved.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixtures::summary;

    #[test]
    fn one_block_per_point_with_right_aligned_numbers() {
        let s = summary();
        let text = render(&s);
        let blocks: Vec<&str> = text
            .split("\n\n")
            .filter(|b| !b.trim().is_empty())
            .collect();
        let mut points: Vec<_> = s.cells.iter().map(|c| (c.workload, c.config)).collect();
        points.dedup();
        assert_eq!(blocks.len(), points.len(), "{text}");
        // Blocks follow the cells' order, a row per cell.
        let mut cells = s.cells.iter();
        for b in blocks {
            let lines: Vec<&str> = b.lines().filter(|l| !l.is_empty()).collect();
            let header = lines[1];
            assert!(header.trim_start().starts_with("engine"), "{b}");
            // The MB/s figures end where their heading ends.
            let end = header.find("MB/s").unwrap() + "MB/s".len();
            for line in &lines[2..] {
                let c = cells.next().expect("a cell per row");
                assert!(line.trim_start().starts_with(&c.engine), "{line}");
                let v = format!(" {}", mbps(c.median_bps));
                assert_eq!(line.find(&v).map(|i| i + v.len()), Some(end), "{line}\n{b}");
            }
        }
        assert!(cells.next().is_none());
    }

    #[test]
    fn failures_go_to_a_notes_column() {
        let mut s = summary();
        s.cells[0].failed = 1;
        s.cells[0].failures = vec!["timeout".into()];
        let text = render(&s);
        assert!(text.contains("notes"), "{text}");
        assert!(text.contains("FAILED 1: timeout"), "{text}");
    }

    /// The whole terminal table of the fixed run, as a reader sees it: any change to its
    /// columns, alignment or wording shows up here for review (`cargo insta review`).
    #[test]
    fn terminal_table_snapshot() {
        insta::assert_snapshot!(format!("{}\n{LEGEND}", render(&summary())));
    }
}
