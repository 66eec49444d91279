//! Renderers of a [`Summary`]: the terminal table and CSV. Each returns a `String`; the
//! caller decides where it goes (hyperfine's exporter habit).

use std::fmt::Write;

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

/// CSV with one row per cell.
pub fn csv(s: &Summary) -> String {
    let mut out = String::from(
        "workload,block_size,queue_depth,files_in_flight,threads,cancel_rate,engine,n,failed,median_bps,min_bps,max_bps,ci_lo_bps,ci_hi_bps,ci_level,noisy,group,vs_std,vs_std_lo,vs_std_hi,vs_std_verdict,vs_best,vs_best_lo,vs_best_hi,vs_best_verdict,cpu_s_per_gb,max_rss_kib,read_p50_ns,read_p99_ns,write_p50_ns,write_p99_ns,child_cpu_s_per_gb,group_split_versus,group_split,ops_in_flight\n",
    );
    let f = |v: f64| {
        if v.is_finite() {
            format!("{v:.6}")
        } else {
            String::new()
        }
    };
    let r = |r: &Option<Ratio>| match r {
        None => ",,,".to_string(),
        Some(r) => format!(
            "{},{},{},{}",
            f(r.median),
            f(r.ci.lo),
            f(r.ci.hi),
            r.verdict.words()
        ),
    };
    for c in &s.cells {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            c.workload,
            c.config.block_size,
            c.config.queue_depth,
            c.config.files_in_flight,
            c.config.threads,
            c.config.cancel_rate(),
            c.engine,
            c.n,
            c.failed,
            f(c.median_bps),
            f(c.min_bps),
            f(c.max_bps),
            f(c.ci.lo),
            f(c.ci.hi),
            f(c.ci.level),
            c.noisy,
            c.group.map_or(String::new(), |g| g.to_string()),
            r(&c.vs_std),
            r(&c.vs_best),
            c.cpu_s_per_gb.map_or(String::new(), f),
            c.max_rss_kib.map_or(String::new(), |v| v.to_string()),
            c.read_lat_ns.map_or(String::new(), |p| p[0].to_string()),
            c.read_lat_ns.map_or(String::new(), |p| p[2].to_string()),
            c.write_lat_ns.map_or(String::new(), |p| p[0].to_string()),
            c.write_lat_ns.map_or(String::new(), |p| p[2].to_string()),
            c.child_cpu_s_per_gb.map_or(String::new(), f),
            c.group_split
                .as_ref()
                .map_or(String::new(), |g| g.versus.clone()),
            c.group_split
                .as_ref()
                .map_or(String::new(), |g| f(g.ratio.median)),
            c.ops_in_flight.map_or(String::new(), |n| n.to_string()),
        );
    }
    out
}
