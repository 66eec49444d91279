//! The choice page at the top of report.md and report.html (render layer): per workload and
//! setting, which engines win, tie or lose on throughput, each engine's CPU per GB over the
//! timed section, and a cancellation-safety badge per engine from the folder's safety.json.
//!
//! Nothing is decided here: win, tie and lose are read off the groups that
//! [`crate::analysis::summary::assign_groups`] already gave the cells (group 1 alone: win; group 1
//! shared: tie; a later group: lose), and the badges off the safety matrix's cells. The floor
//! engine (model `floor`) and the reference rows are shown as context, never as a choice.

use std::fmt::Write;

use workloads::Workload;

use crate::analysis::reference;
use crate::analysis::stats::{Ratio, Verdict};
use crate::analysis::summary::{Cell, Summary};
use crate::plan::options::Config;
use crate::render::report::list;
use crate::render::table::mbps;
use crate::results::Meta;
use crate::results::safety::SafetyReport;

/// Where an engine of one workload and setting stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Alone in group 1, with other ranked engines behind it.
    Win,
    /// In group 1 with others: not shown apart from its leader.
    Tie,
    /// In a later group, shown slower than the top engine per round, beyond the margin.
    Lose,
    /// In a later group by the median order only: its ratio against the top engine is not
    /// "slower" (it sits below an engine that was).
    LoseByOrder,
    /// The only ranked engine with a result: nothing to compare it with.
    Only,
}

impl Standing {
    fn word(self) -> &'static str {
        match self {
            Standing::Win => "**win**",
            Standing::Tie => "tie",
            Standing::Lose => "lose",
            Standing::LoseByOrder => "lose\\*",
            Standing::Only => "only",
        }
    }
}

/// What a row of the choice table is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// A ranked engine: a choice.
    Choice,
    /// The floor engine (model `floor`): what the runtimes cost above the raw ring.
    Floor,
    /// A reference row (kernel-copy, fio).
    Reference,
    /// Anything else not ranked (test-support engines).
    NotRanked,
}

fn role(meta: &Meta, c: &Cell) -> Role {
    let floor = meta
        .engines
        .iter()
        .any(|m| m.name == c.engine && m.info.model.as_deref() == Some("floor"));
    if c.ranked {
        Role::Choice
    } else if floor {
        Role::Floor
    } else if reference::is_reference(&c.engine) {
        Role::Reference
    } else {
        Role::NotRanked
    }
}

/// Why an engine shares group 1 with its leader, in the words of its ratio against it: within
/// noise, too few rounds (with the level), faster per round, or no paired round. The "how to
/// choose" section says the same.
pub fn tie_reason(vs_best: &Option<Ratio>) -> String {
    match vs_best {
        Some(r) if r.verdict == Verdict::WithinNoise => "within noise".to_string(),
        Some(r) if r.verdict == Verdict::Faster => {
            "faster per round though its median is lower".to_string()
        }
        Some(r) if r.verdict == Verdict::Slower => {
            "slower, by less than the run's margin".to_string()
        }
        Some(r) => r.verdict_words(),
        None => "no paired round".to_string(),
    }
}

/// The ranked cells of one workload and setting that completed a trial.
fn ranked<'a>(cells: &[&'a Cell]) -> Vec<&'a Cell> {
    cells
        .iter()
        .copied()
        .filter(|c| c.ranked && c.n > 0)
        .collect()
}

/// Where `c` stands among `cells` (one workload and setting), from its group; `None` for a row
/// that is not a choice or has no result.
pub fn standing(cells: &[&Cell], c: &Cell) -> Option<Standing> {
    if !c.ranked || c.n == 0 {
        return None;
    }
    let ranked = ranked(cells);
    if ranked.len() == 1 {
        return Some(Standing::Only);
    }
    let first = ranked.iter().filter(|x| x.group == Some(1)).count();
    Some(match c.group? {
        1 if first == 1 => Standing::Win,
        1 => Standing::Tie,
        _ if c.behind_best => Standing::Lose,
        _ => Standing::LoseByOrder,
    })
}

/// The decision of one workload and setting, in one phrase.
pub fn decision(cells: &[&Cell]) -> String {
    let ranked = ranked(cells);
    match ranked.len() {
        0 => return "no ranked engine completed a trial".into(),
        1 => return format!("{} only: nothing to choose between", ranked[0].engine),
        _ => {}
    }
    let mut first: Vec<&Cell> = ranked
        .iter()
        .copied()
        .filter(|c| c.group == Some(1))
        .collect();
    first.sort_by(|a, b| b.median_bps.total_cmp(&a.median_bps));
    let behind = ranked.len() - first.len();
    let by_order = ranked
        .iter()
        .filter(|c| standing(cells, c) == Some(Standing::LoseByOrder))
        .count();
    let lose_words = |n: usize| {
        let mut t = others_lose(n);
        if by_order > 0 {
            let _ = write!(t, " ({by_order} by the median order only)");
        }
        t
    };
    if first.len() == 1 {
        return format!("{} wins; {}", first[0].engine, lose_words(behind));
    }
    let mut why: Vec<String> = Vec::new();
    for c in &first[1..] {
        let w = tie_reason(&c.vs_best);
        if !why.contains(&w) {
            why.push(w);
        }
    }
    let mut line = if behind == 0 {
        format!(
            "no decision here: {} (all {} engines tie)",
            why.join("; "),
            first.len()
        )
    } else {
        let names: Vec<String> = first.iter().map(|c| c.engine.clone()).collect();
        format!(
            "{} tie ({}); {}",
            list(&names),
            why.join("; "),
            lose_words(behind)
        )
    };
    if let Some(c) = first
        .iter()
        .filter(|c| c.cpu_s_per_gb.is_some())
        .min_by(|a, b| a.cpu_s_per_gb.unwrap().total_cmp(&b.cpu_s_per_gb.unwrap()))
    {
        let _ = write!(
            line,
            "; least CPU among them: {} ({:.2} CPU s/GB)",
            c.engine,
            c.cpu_s_per_gb.unwrap_or(f64::NAN)
        );
    }
    line
}

fn others_lose(n: usize) -> String {
    if n == 1 {
        "the other one loses".into()
    } else {
        format!("the other {n} lose")
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Finding kinds, worst first: what a badge lists first.
const SEVERITY: [&str; 6] = [
    "use-after-free",
    "crash",
    "data-loss",
    "ghost-write",
    "hang",
    "leak",
];

/// The cancellation-safety badge of an engine: its findings (kind and scenario, from every
/// run of each cell), or how many scenarios it was safe in and what qualifies that (skipped,
/// unvalidated, nothing in flight), or "not tested".
pub fn safety_badge(sr: Option<&SafetyReport>, engine: &str) -> String {
    let Some(sr) = sr else {
        return "not tested (no safety.json)".into();
    };
    let cells: Vec<&crate::results::safety::Cell> =
        sr.cells.iter().filter(|c| c.engine == engine).collect();
    if cells.is_empty() {
        return "not tested".into();
    }
    // Findings by kind, the worst kind first, each with its scenarios in matrix order.
    let mut by_kind: Vec<(&'static str, Vec<&str>)> =
        SEVERITY.iter().map(|k| (*k, vec![])).collect();
    let mut n = 0;
    for sc in &sr.scenarios {
        if let Some(c) = sr.cell(engine, sc) {
            for k in crate::analysis::safety::finding_kinds(c) {
                n += 1;
                match by_kind.iter_mut().find(|(x, _)| *x == k) {
                    Some((_, v)) => v.push(sc),
                    None => by_kind.push((k, vec![sc])),
                }
            }
        }
    }
    let interrupted = if sr.interrupted.is_some() {
        " (safety run interrupted)"
    } else {
        ""
    };
    if n > 0 {
        let kinds: Vec<String> = by_kind
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k} {}", v.join(", ")))
            .collect();
        return format!(
            "{}: {}{interrupted}",
            plural(n, "finding", "findings"),
            kinds.join("; ")
        );
    }
    // The baseline cancels nothing: it is not counted as a scenario (its leaks, when it has
    // any, are findings above).
    let total = sr
        .scenarios
        .iter()
        .filter(|s| s.as_str() != workloads::safety::BASELINE)
        .count();
    let tested: Vec<&&crate::results::safety::Cell> = cells
        .iter()
        .filter(|c| c.scenario != workloads::safety::BASELINE)
        .filter(|c| !matches!(c.verdict, workloads::safety::Verdict::Skipped { .. }))
        .collect();
    if tested.is_empty() {
        return format!("not tested (every scenario skipped){interrupted}");
    }
    let unvalidated = tested
        .iter()
        .filter(|c| sr.label(c) == "unvalidated")
        .count();
    let nif = tested.iter().filter(|c| c.in_flight == Some(false)).count();
    let clean = tested.len() - unvalidated;
    let mut badge = if clean == total {
        format!("safe in all {}", plural(total, "scenario", "scenarios"))
    } else {
        format!(
            "safe in {clean} of {}",
            plural(total, "scenario", "scenarios")
        )
    };
    let mut notes = Vec::new();
    if unvalidated > 0 {
        notes.push(format!(
            "{unvalidated} unvalidated: control not flagged here"
        ));
    }
    if total > tested.len() {
        notes.push(format!("{} skipped or not run", total - tested.len()));
    }
    if nif == tested.len() {
        notes.push("nothing was in flight: never tested under a real cancel".to_string());
    } else if nif > 0 {
        notes.push(format!("{nif} with nothing in flight"));
    }
    if !notes.is_empty() {
        let _ = write!(badge, " ({})", notes.join("; "));
    }
    badge.push_str(interrupted);
    badge
}

fn esc(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// One cell of the table: standing, median MB/s, CPU s/GB (timed section).
fn cell_text(cells: &[&Cell], c: Option<&&Cell>) -> String {
    let Some(c) = c else {
        return "–".into();
    };
    if c.n == 0 {
        return if c.failed > 0 {
            format!("all {} failed", c.failed)
        } else {
            "–".into()
        };
    }
    let mut t = String::new();
    if let Some(s) = standing(cells, c) {
        let _ = write!(t, "{} ", s.word());
    }
    let _ = write!(
        t,
        "{} · {}",
        mbps(c.median_bps),
        c.cpu_s_per_gb.map_or("–".into(), |v| format!("{v:.2}"))
    );
    if c.failed > 0 {
        let _ = write!(t, " ({} failed)", c.failed);
    }
    t
}

/// The choice page: a section of report.md (and so of report.html).
pub fn render(summary: &Summary, meta: &Meta, safety: Option<&SafetyReport>) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "## Choice page\n");
    let _ = writeln!(
        o,
        "Per workload, which engines **win**, tie or lose on throughput in this run, read off the groups of the results tables below (alone in group 1: *win*; group 1 shared: *tie*, not shown apart; a later group: *lose*), each cell with the median MB/s and the CPU seconds per GB over the timed section; and each engine's cancellation safety, from this folder's safety.json (findings by kind, worst first, with their scenarios; the baseline, which cancels nothing, is not counted as a scenario). Rows in italics are context, never a choice: the floor engine when the run has one (the io_uring crate driven directly, no runtime: what a runtime's cost is measured from) and the reference rows. Every interval and ratio behind a cell is in the results tables; the section after this one says it in sentences.\n"
    );
    let mut configs: Vec<Config> = Vec::new();
    for c in &summary.cells {
        if !configs.contains(&c.config) {
            configs.push(c.config);
        }
    }
    let multi = configs.len() > 1;
    let mut by_order = false;
    for cfg in &configs {
        if multi {
            let _ = writeln!(o, "### {}\n", crate::render::plots::config_words(cfg));
        }
        let cells: Vec<&Cell> = summary.cells.iter().filter(|c| c.config == *cfg).collect();
        let mut workloads: Vec<Workload> = Vec::new();
        for c in &cells {
            if !workloads.contains(&c.workload) {
                workloads.push(c.workload);
            }
        }
        let of = |w: Workload| -> Vec<&Cell> {
            cells.iter().copied().filter(|c| c.workload == w).collect()
        };
        for w in &workloads {
            let _ = writeln!(o, "- **{w}**: {}.", esc(&decision(&of(*w))));
        }
        let _ = writeln!(o);
        // Rows: the choices, then the context, each in the run's order.
        let mut rows: Vec<(String, Role)> = Vec::new();
        for c in &cells {
            if !rows.iter().any(|(e, _)| *e == c.engine) {
                rows.push((c.engine.clone(), role(meta, c)));
            }
        }
        rows.sort_by_key(|(_, r)| *r != Role::Choice);
        let _ = write!(o, "| engine |");
        for w in &workloads {
            let _ = write!(o, " {w}: MB/s · CPU s/GB |");
        }
        let _ = writeln!(
            o,
            " cancellation safety |\n|---|{}---|",
            "---|".repeat(workloads.len())
        );
        for (e, r) in &rows {
            let name = match r {
                Role::Choice => e.clone(),
                Role::Floor => format!("*{e} (floor: not a choice)*"),
                Role::Reference => format!("*{e} (reference)*"),
                Role::NotRanked => format!("*{e} (not ranked)*"),
            };
            let _ = write!(o, "| {name} |");
            for w in &workloads {
                let wc = of(*w);
                let c = wc.iter().find(|c| c.engine == *e);
                by_order |= c.is_some_and(|c| standing(&wc, c) == Some(Standing::LoseByOrder));
                let _ = write!(o, " {} |", esc(&cell_text(&wc, c)));
            }
            let badge = if *r == Role::Reference {
                "–".to_string()
            } else {
                safety_badge(safety, e)
            };
            let _ = writeln!(o, " {} |", esc(&badge));
        }
        let _ = writeln!(o);
    }
    if by_order {
        let _ = writeln!(
            o,
            "*lose\\**: in a later group by the median order only; its per-round ratio against the top engine did not show it slower (it sits below an engine that was).\n"
        );
    }
    if summary
        .cells
        .iter()
        .all(|c| c.n == 0 || c.cpu_s_per_gb.is_none())
    {
        let _ = writeln!(
            o,
            "CPU s/GB is – throughout: this run's trials have no CPU reading over the timed section (results from an older ringbench); the whole child's figure is `child_cpu_s_per_gb` in summary.csv, not comparable with it.\n"
        );
    }
    if safety.is_none() {
        let _ = writeln!(
            o,
            "No safety.json in this folder: run `ringbench safety`, then `ringbench report <this folder> --safety <its safety.json>`.\n"
        );
    }
    o
}
