//! The safety matrix analysed: a cell's runs folded into its headline, each scenario validated
//! by its controls, releases of one runtime compared, and the cells `--fail-on` fails on.

use workloads::safety::Verdict;

use crate::plan::engines;
use crate::plan::safety_plan::is_control;
use crate::results::safety::{Cell, RunSummary, SafetyReport, Validation};

/// Fold the runs of one cell (in seed order) into the cell a reader sees.
pub fn aggregate(mut runs: Vec<(u64, Cell)>) -> Cell {
    runs.sort_by_key(|(s, _)| *s);
    let summaries: Vec<RunSummary> = runs
        .iter()
        .map(|(seed, c)| RunSummary {
            seed: *seed,
            verdict: c.verdict.clone(),
            findings: c.findings.clone(),
            in_flight: c.in_flight,
            raced: c
                .counts
                .as_ref()
                .map(|n| n.completed_in_kernel_before_drop)
                .filter(|_| {
                    workloads::safety::scenario(&c.scenario)
                        .is_some_and(|s| s.path == workloads::safety::Path::Race)
                }),
            exit: c.exit.clone(),
            wall_ms: c.wall_ms,
        })
        .collect();
    let n = runs.len() as u32;
    // The run shown: the worst headline (the first such run), else the first run.
    let worst = runs
        .iter()
        .enumerate()
        .max_by_key(|(i, (_, c))| (c.verdict.severity(), std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
        .unwrap_or(0);
    let kind = |v: &Verdict| std::mem::discriminant(v);
    let mut shown = runs.swap_remove(worst).1;
    let headline = kind(&shown.verdict);
    let headline_runs = summaries
        .iter()
        .filter(|r| kind(&r.verdict) == headline || r.findings.iter().any(|f| kind(f) == headline))
        .count() as u32;
    let flagged_runs = summaries.iter().filter(|r| r.verdict.flagged()).count() as u32;
    // "Not in flight" only when no run had an op in flight.
    if summaries.iter().any(|r| r.in_flight == Some(true)) {
        shown.in_flight = Some(true);
    }
    shown.repeats = n;
    shown.headline_runs = headline_runs;
    shown.flagged_runs = flagged_runs;
    shown.runs = summaries;
    if n > 1 {
        let raced: Vec<u64> = shown.runs.iter().filter_map(|r| r.raced).collect();
        let mut line = format!(
            "{n} runs with jittered timings: {flagged_runs} with a finding{}",
            if shown.verdict.flagged() {
                format!(
                    ", {headline_runs} with the headline ({})",
                    shown.verdict.label()
                )
            } else {
                String::new()
            }
        );
        if !raced.is_empty() {
            line.push_str(&format!(
                "; ops seen completed in the kernel before their drop, per run: {raced:?}"
            ));
        }
        shown.evidence.insert(0, line);
    }
    shown
}

/// Per scenario: which controls ran, how often each was flagged, and whether that validates
/// the scenario's oracles here.
pub fn validate(report: &SafetyReport) -> Vec<Validation> {
    let mut out = Vec::new();
    for id in &report.scenarios {
        let Some(sc) = workloads::safety::scenario(id) else {
            continue;
        };
        let mut flagged = Vec::new();
        let mut validated = false;
        let mut why = Vec::new();
        for ctl in sc.controls {
            match report.cell(ctl, id) {
                None => why.push(format!("control {ctl} not run")),
                Some(c) if matches!(c.verdict, Verdict::Skipped { .. }) => {
                    why.push(format!("control {ctl} skipped"))
                }
                Some(c) => {
                    flagged.push((ctl.to_string(), format!("{}/{}", c.flagged_runs, c.repeats)));
                    if c.flagged_runs > 0 {
                        validated = true;
                    } else {
                        why.push(format!("control {ctl} not flagged in {} runs", c.repeats));
                    }
                }
            }
        }
        out.push(Validation {
            scenario: id.clone(),
            controls: sc.controls.iter().map(|c| c.to_string()).collect(),
            flagged,
            validated,
            why_not: (!validated).then(|| why.join("; ")),
        });
    }
    out
}

/// One scenario on every release of one runtime that ran it: do they agree?
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionRow {
    /// The runtime (`compio`).
    pub runtime: String,
    /// Scenario id.
    pub scenario: String,
    /// Each release's engine with its cell label (`compio@0.16`, `data-loss 5/5`), in row
    /// order.
    pub cells: Vec<(String, String)>,
    /// `Some(true)`: every release saw the same kinds of finding (or none); `Some(false)`:
    /// they differ; `None`: not comparable (a release's cell is missing or skipped).
    pub agree: Option<bool>,
}

/// The kinds of finding a cell saw in any run, sorted (empty: clean). What two releases are
/// compared on: the kinds, not how often (frequencies of an intermittent race differ by
/// chance), nor the byte counts.
pub fn finding_kinds(c: &Cell) -> Vec<&'static str> {
    let mut k: Vec<&'static str> = c
        .runs
        .iter()
        .flat_map(|r| r.findings.iter().chain(std::iter::once(&r.verdict)))
        .chain(c.findings.iter())
        .chain(std::iter::once(&c.verdict))
        .filter(|v| v.flagged())
        .map(kind_name)
        .collect();
    k.sort_unstable();
    k.dedup();
    k
}

/// For every runtime with more than one release in the matrix (`compio@0.16` and `compio`),
/// whether the releases agree on each scenario. Empty when no runtime ran in two releases.
pub fn version_rows(report: &SafetyReport) -> Vec<VersionRow> {
    let mut families: Vec<&str> = Vec::new();
    for e in &report.engines {
        let f = engines::runtime_family(e);
        if !families.contains(&f) {
            families.push(f);
        }
    }
    let mut rows = Vec::new();
    for f in families {
        let members: Vec<&String> = report
            .engines
            .iter()
            .filter(|e| engines::runtime_family(e) == f)
            .collect();
        if members.len() < 2 {
            continue;
        }
        for sc in &report.scenarios {
            let cells: Vec<Option<&Cell>> = members.iter().map(|e| report.cell(e, sc)).collect();
            let comparable = cells
                .iter()
                .all(|c| c.is_some_and(|c| !matches!(c.verdict, Verdict::Skipped { .. })));
            let agree = comparable.then(|| {
                let kinds: Vec<Vec<&str>> =
                    cells.iter().flatten().map(|c| finding_kinds(c)).collect();
                kinds.windows(2).all(|w| w[0] == w[1])
            });
            rows.push(VersionRow {
                runtime: f.to_string(),
                scenario: sc.clone(),
                cells: members
                    .iter()
                    .zip(&cells)
                    .map(|(e, c)| (e.to_string(), c.map_or("-".into(), |c| report.label(c))))
                    .collect(),
                agree,
            });
        }
    }
    rows
}

/// The verdict kinds `--fail-on` accepts.
pub const FAIL_KINDS: &[&str] = &[
    "leak",
    "data-loss",
    "ghost-write",
    "use-after-free",
    "crash",
    "hang",
    "any",
];

/// The kind name of a verdict, as `--fail-on` and the report spell it.
pub fn kind_name(v: &Verdict) -> &'static str {
    match v {
        Verdict::Safe => "safe",
        Verdict::Leak { .. } => "leak",
        Verdict::DataLoss { .. } => "data-loss",
        Verdict::GhostWrite { .. } => "ghost-write",
        Verdict::UseAfterFree { .. } => "use-after-free",
        Verdict::Crash { .. } => "crash",
        Verdict::Hang { .. } => "hang",
        Verdict::Skipped { .. } => "skipped",
    }
}

/// The cells of ranked engines (not controls, not test support) with a finding of one of
/// `kinds` in any run: what `--fail-on` fails on.
pub fn failing<'a>(report: &'a SafetyReport, kinds: &[String]) -> Vec<(&'a Cell, &'static str)> {
    let mut out = Vec::new();
    for c in &report.cells {
        if is_control(&c.engine) || !engines::visible(&c.engine) {
            continue;
        }
        let found = c
            .runs
            .iter()
            .flat_map(|r| r.findings.iter().chain(std::iter::once(&r.verdict)))
            .chain(c.findings.iter())
            .chain(std::iter::once(&c.verdict))
            .filter(|v| v.flagged())
            .map(kind_name)
            .find(|k| kinds.iter().any(|w| w == "any" || w == k));
        if let Some(k) = found {
            out.push((c, k));
        }
    }
    out
}
