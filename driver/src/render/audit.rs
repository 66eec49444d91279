//! `ringbench audit` as text: the terminal table with its legend and mismatches, and
//! `audit.md` (the method, the table, the mismatches), also a section of the run report.

use std::fmt::Write as _;

use crate::results::audit::{AuditCell, AuditReport};

fn per_mib(c: &AuditCell, key: &str) -> f64 {
    c.per_mib.get(key).copied().unwrap_or(0.0)
}

fn fmt_rate(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// An op's observed calls per MiB with where they ran: `8.00 inline`, `8.00 pool`, `ring`.
fn op_cell(c: &AuditCell, op: &str) -> String {
    let Some(o) = c.ops.get(op) else {
        return "-".into();
    };
    if !o.exercised && o.runtime_thread + o.helper_threads == 0 {
        return "-".into();
    }
    let mib = c.bytes as f64 / (1024.0 * 1024.0);
    let n = o.runtime_thread + o.helper_threads;
    let mark = if o.ok { "" } else { " !" };
    if n == 0 {
        return format!("{}{mark}", o.observed);
    }
    let rate = if mib > 0.0 {
        fmt_rate(n as f64 / mib)
    } else {
        n.to_string()
    };
    format!("{rate} {}{mark}", o.observed)
}

fn counts(c: &AuditCell, ops: &[&str]) -> String {
    ops.iter()
        .map(|op| {
            c.ops
                .get(*op)
                .map_or(0, |o| o.runtime_thread + o.helper_threads)
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn helpers(c: &AuditCell) -> String {
    let n: u64 = c.threads.helpers.values().sum();
    if n == 0 {
        return "0".into();
    }
    let names = c
        .threads
        .helpers
        .iter()
        .map(|(k, v)| format!("{v}x {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{n} ({names})")
}

struct Row(Vec<String>);

fn rows(r: &AuditReport) -> (Vec<&'static str>, Vec<Row>) {
    let head = vec![
        "engine",
        "workload",
        "MiB",
        "SQEs/MiB",
        "enter/MiB",
        "read calls/MiB",
        "write calls/MiB",
        "open/close/fsync",
        "stat/mkdir/chmod/readdir",
        "helper threads",
        "routes",
    ];
    let mut out = Vec::new();
    for c in &r.cells {
        if c.status != "ok" {
            out.push(Row(vec![
                c.engine.clone(),
                c.workload.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "FAILED".into(),
            ]));
            continue;
        }
        out.push(Row(vec![
            c.engine.clone(),
            c.workload.clone(),
            format!("{:.2}", c.bytes as f64 / (1024.0 * 1024.0)),
            fmt_rate(per_mib(c, "io_uring_sqes")),
            fmt_rate(per_mib(c, "io_uring_enter")),
            op_cell(c, "read"),
            op_cell(c, "write"),
            counts(c, &["open", "close", "fsync"]),
            counts(c, &["stat", "mkdir", "chmod", "readdir"]),
            helpers(c),
            if c.mismatches.is_empty() {
                "as declared".into()
            } else {
                format!("{} MISMATCH", c.mismatches.len())
            },
        ]));
    }
    (head, out)
}

/// "interrupted by SIGINT after 3 of 20 cells ...", when the audit was cut short.
pub fn interrupted_line(r: &AuditReport) -> Option<String> {
    r.interrupted.then(|| {
        format!(
            "INTERRUPTED by {} after {} of {} cells: only the cells that finished are shown; the rest were not audited",
            r.interrupted_by.as_deref().unwrap_or("a signal"),
            r.cells.len(),
            r.planned
        )
    })
}

/// The terminal table, then the mismatches.
pub fn render_table(r: &AuditReport) -> String {
    let (head, rows) = rows(r);
    let mut width: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (i, v) in row.0.iter().enumerate() {
            width[i] = width[i].max(v.chars().count());
        }
    }
    let mut s = String::new();
    let line = |s: &mut String, cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{v:<w$}", w = width[i]))
            .collect();
        let _ = writeln!(s, "{}", parts.join("  ").trim_end());
    };
    line(
        &mut s,
        &head.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
    );
    for row in &rows {
        line(&mut s, &row.0);
    }
    s.push_str(LEGEND);
    s.push('\n');
    for sk in &r.skipped {
        let _ = writeln!(s, "skipped {}: {}", sk.engine, sk.reason);
    }
    if let Some(l) = interrupted_line(r) {
        let _ = writeln!(s, "{l}");
    }
    for c in &r.cells {
        if let Some(e) = &c.error {
            let _ = writeln!(s, "FAILED {} {}: {e}", c.engine, c.workload);
        }
        for m in &c.mismatches {
            let _ = writeln!(s, "MISMATCH {} {}: {m}", c.engine, c.workload);
        }
    }
    s
}

const LEGEND: &str = "\nread/write calls: file syscalls of that op per MiB moved and where they ran (inline = the runtime \
thread, pool = helper threads, ring = none: the op went through io_uring; ! = contradicts the declared route). \
open/close/fsync and stat/mkdir/chmod/readdir: syscall counts on the workload's files. SQEs: submitted to io_uring.";

/// `audit.md`: the method, the table and the mismatches, for the run report.
pub fn render_markdown(r: &AuditReport) -> String {
    let (head, rows) = rows(r);
    let mut s = String::new();
    let _ = writeln!(s, "## Proof of path (syscall audit)\n");
    let p = &r.parameters;
    let _ = writeln!(
        s,
        "Tiny trials: {} single file, {} blocks, queue depth {}, {} small files, tree {}x{}x{}, fsync {}; traced with {} on {}.\n",
        workloads::units::size(p.size),
        workloads::units::size(p.block_size as u64),
        p.queue_depth,
        p.files,
        p.tree[0],
        p.tree[1],
        p.tree[2],
        if p.fsync { "on" } else { "off" },
        r.strace,
        r.started
    );
    if let Some(l) = interrupted_line(r) {
        let _ = writeln!(s, "**{l}.**\n");
    }
    let _ = writeln!(s, "| {} |", head.join(" | "));
    let _ = writeln!(s, "|{}", head.iter().map(|_| "---|").collect::<String>());
    for row in &rows {
        let _ = writeln!(
            s,
            "| {} |",
            row.0
                .iter()
                .map(|v| v.replace('|', "/"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    let _ = writeln!(s, "{}\n", LEGEND.trim());
    let mismatches: Vec<String> = r
        .cells
        .iter()
        .flat_map(|c| {
            c.mismatches
                .iter()
                .map(move |m| format!("- **{}** on `{}`: {m}", c.engine, c.workload))
        })
        .collect();
    if mismatches.is_empty() {
        let _ = writeln!(
            s,
            "Every engine's observed system calls agree with the routes it declares{}.\n",
            if r.interrupted {
                " (in the cells that ran)"
            } else {
                ""
            }
        );
    } else {
        let _ = writeln!(s, "### Declared routes contradicted by the trace\n");
        for m in mismatches {
            let _ = writeln!(s, "{m}");
        }
        s.push('\n');
    }
    for c in r.cells.iter().filter(|c| c.status != "ok") {
        let _ = writeln!(
            s,
            "- {} `{}` failed: {}",
            c.engine,
            c.workload,
            c.error.as_deref().unwrap_or("")
        );
    }
    for sk in &r.skipped {
        let _ = writeln!(s, "- {} skipped: {}", sk.engine, sk.reason);
    }
    let _ = writeln!(s, "\nMethod: {}", r.method);
    s
}
