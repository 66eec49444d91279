//! Renderers of a [`Summary`]: the terminal table (the CSV is csv_out.rs). Each returns a
//! `String`; the caller decides where it goes (hyperfine's exporter habit).

use std::fmt::Write;

use crate::stats::Ratio;
use crate::summary::{Cell, Summary};

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

/// The terminal table: one block per workload and sweep point.
pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    let mut last = None;
    for c in &s.cells {
        let key = (c.workload, c.config);
        if last != Some(key) {
            last = Some(key);
            let _ = writeln!(
                out,
                "\n{}  (block {}, queue depth {}, files in flight {}, threads {}{})",
                c.workload,
                workloads::units::size(c.config.block_size as u64),
                c.config.queue_depth,
                c.config.files_in_flight,
                c.config.threads,
                if c.config.cancel_bp > 0 {
                    format!(", cancel rate {}", c.config.cancel_rate())
                } else {
                    String::new()
                }
            );
            let _ = writeln!(
                out,
                "  {:<18} {:>9} {:>21} {:>3} {:>5} {:>34} {:>8}",
                "engine",
                "MB/s",
                "interval (level)",
                "n",
                "group",
                "vs std (per-round, interval)",
                "CPU s/GB"
            );
        }
        let _ = writeln!(out, "{}", row(c));
    }
    out
}

fn row(c: &Cell) -> String {
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
    let mut s = format!(
        "  {:<18} {:>9} {:>21} {:>3} {:>5} {:>34} {:>8}",
        name,
        mbps(c.median_bps),
        interval,
        c.n,
        c.group.map_or("-".into(), |g| g.to_string()),
        ratio(&c.vs_std),
        c.cpu_s_per_gb.map_or("-".into(), |v| format!("{v:.2}")),
    );
    if let Some(k) = &c.cancel {
        let _ = write!(
            s,
            "  cancels: {} in flight, {} vacuous, vs no cancel {}",
            k.landed_in_flight,
            k.vacuous,
            ratio(&c.vs_no_cancel)
        );
        if k.max_leaked_fds > 0 || k.max_leaked_buffer_bytes > 0 {
            let _ = write!(
                s,
                " LEAK {} fds {} buffer bytes",
                k.max_leaked_fds, k.max_leaked_buffer_bytes
            );
        }
    }
    if c.failed > 0 {
        let _ = write!(s, "  FAILED {}: {}", c.failed, c.failures.join(","));
    }
    s
}

/// Legend printed under the table.
pub const LEGEND: &str = "group: walking engines by median, highest first, each joins the current group unless its per-round ratio against the group's leader is slower (interval below 1 at >= 85%), then it opens the next group: \
never a better group than a higher median; too few rounds = fewer than 4 paired rounds (level shown), no verdict; \
~ marks a noisy cell (interval wider than +-10% or a single sample); level = achieved confidence of the order-statistic interval; \
CPU s/GB = CPU of every thread of the trial process over the timed section alone, per GB moved.";
