//! An engine above its references (render layer): when an engine's per-round ratio against a
//! reference (the better of fio's io_uring and psync rows in each round, or the kernel copy)
//! has its whole interval above 1, the ratio is not a share of a limit, and the report says so
//! and why it can be, next to the table and in "How to choose", instead of printing a ratio
//! above the limit as if it were one.
//!
//! The reasons are the run's own circumstances, each said only where it applies: the page
//! cache (`--cache warm` without `--direct`: both sides read memory), buffered writes (they
//! reach the device at the final fsync, or never with `--no-fsync`), a RAM-backed device (its
//! cost per op is the CPU's), fio's own per-op overhead (always part of its figure), and for
//! the kernel copy that it is a reference, not a ceiling. Where none of the first three holds
//! (a cold cache or O_DIRECT on a real device), the note says that this should not happen and
//! what to check.

use std::fmt::Write;

use workloads::Workload;

use crate::analysis::reference::RefRatio;
use crate::analysis::run::RunData;
use crate::analysis::summary::Cell;
use crate::sys::devkind::DeviceKind;

/// The reference ratios of `c` whose whole interval lies above 1.
pub fn above(c: &Cell) -> Vec<&RefRatio> {
    if !c.ranked || c.n == 0 {
        return Vec::new();
    }
    c.references
        .iter()
        .filter(|r| r.ratio.rounds > 0 && r.ratio.ci.lo > 1.0)
        .collect()
}

/// `1.87× fio read [1.61–2.02] (75%)`, the level when it is under 85%.
fn ratio_words(r: &RefRatio) -> String {
    let mut s = format!(
        "{:.2}× {} [{:.2}–{:.2}]",
        r.ratio.median, r.reference, r.ratio.ci.lo, r.ratio.ci.hi
    );
    if r.ratio.verdict == crate::analysis::stats::Verdict::TooFewRounds {
        let _ = write!(s, " ({})", r.ratio.verdict_words());
    }
    s
}

/// Why an engine's cell `c` can measure above the references `refs` in this run.
pub fn reasons(d: &RunData, c: &Cell, refs: &[&RefRatio]) -> Vec<String> {
    let trials: Vec<_> = d
        .records
        .iter()
        .filter(|r| r.engine == c.engine && r.workload == c.workload && r.config == c.config)
        .filter(|r| !r.warmup && r.throughput.is_some())
        .collect();
    let direct = !trials.is_empty() && trials.iter().all(|r| r.direct);
    let warm = trials.iter().any(|r| r.cache == "warm");
    let fsync = d
        .meta
        .options
        .get("fsync")
        .and_then(|v| v.as_bool())
        .unwrap_or(true);
    let kind = &d.meta.environment.device_kind;
    let writes =
        refs.iter().any(|r| r.reference.contains("write")) || matches!(c.workload, Workload::Write);
    let mut v = Vec::new();
    if warm && !direct {
        v.push("the file is in the page cache (`--cache warm`): engine and fio both read memory, so the figures compare per-op costs, not the device".to_string());
    }
    if writes && !direct {
        v.push(if fsync {
            "buffered writes land in the page cache and reach the device only at the final fsync, so a write's speed is largely memory's".to_string()
        } else {
            "buffered writes with `--no-fsync` never wait for the device".to_string()
        });
    }
    if kind.kind == DeviceKind::RamBacked {
        v.push(format!(
            "the device is {}: its cost per op is the CPU's, so the tools' own overhead decides, and neither of fio's engines is its limit",
            kind.words()
        ));
    }
    if refs.iter().any(|r| r.reference.starts_with("fio")) {
        v.push("fio's own work per I/O (its job loop, per-I/O accounting and clock reads) is inside its figure: an engine that does less per op can beat it wherever the device is not the limit".to_string());
    }
    if refs
        .iter()
        .any(|r| r.reference == crate::analysis::reference::KERNEL_COPY)
    {
        v.push("kernel-copy is the kernel's `copy_file_range` in chunks it chooses: a reference, not a ceiling".to_string());
    }
    let explained = ((warm || writes) && !direct) || kind.kind == DeviceKind::RamBacked;
    if !explained {
        v.push(format!(
            "with {} on a {} device this should not happen beyond noise: check the device's own cache (a drive's write cache absorbs writes) and the fio rows' detail (the whole-millisecond clock bound)",
            if direct { "O_DIRECT" } else { "a cold page cache" },
            kind.kind.words()
        ));
    }
    v
}

/// The note under a results table: each engine above a reference, and why it can be.
pub fn table_note(d: &RunData, cells: &[&Cell]) -> String {
    let mut o = String::new();
    for c in cells {
        let refs = above(c);
        if refs.is_empty() {
            continue;
        }
        let list: Vec<String> = refs.iter().map(|r| ratio_words(r)).collect();
        let _ = writeln!(
            o,
            "\n**{} is above the reference** ({}): the ratio is not a share of the device's limit. It can be because {}.",
            c.engine,
            list.join("; "),
            reasons(d, c, &refs).join("; ")
        );
    }
    o
}

/// The table's notes-column entry for a cell above a reference.
pub fn cell_note(c: &Cell) -> Option<String> {
    let refs = above(c);
    (!refs.is_empty()).then(|| {
        let names: Vec<&str> = refs.iter().map(|r| r.reference.as_str()).collect();
        format!("above {} (see the note below)", names.join(", "))
    })
}

/// The "How to choose" line for a workload whose engines measured above a reference.
pub fn choose_line(d: &RunData, what: &str, cells: &[&Cell]) -> Option<String> {
    let mut who = Vec::new();
    let mut why: Vec<String> = Vec::new();
    for c in cells {
        let refs = above(c);
        if refs.is_empty() {
            continue;
        }
        let list: Vec<String> = refs.iter().map(|r| ratio_words(r)).collect();
        who.push(format!("{} ({})", c.engine, list.join("; ")));
        for r in reasons(d, c, &refs) {
            if !why.contains(&r) {
                why.push(r);
            }
        }
    }
    (!who.is_empty()).then(|| {
        format!(
            "- {what}: **above the reference**: {}. Read these as costs compared, not as shares of the device's limit: {}.",
            who.join(", "),
            why.join("; ")
        )
    })
}
