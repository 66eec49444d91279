//! Render layer: the `--json` document of `ringbench safety` — the matrix summary the terminal
//! shows (each cell's label, the leaky baselines, unvalidated scenarios, skips, release
//! agreement), as data. The full record with every run stays in safety.json; field names are
//! documented in results/README.md.

use std::path::Path;

use serde::Serialize;

use crate::analysis::safety::{kind_name, version_rows};
use crate::plan::safety_plan::is_control;
use crate::results::safety::SafetyReport;

/// `ringbench safety --json`.
#[derive(Debug, Serialize)]
pub struct SafetySummary {
    /// Runs of each cell.
    pub repeats: u32,
    /// Engines, in row order.
    pub engines: Vec<String>,
    /// Scenarios, in column order.
    pub scenarios: Vec<String>,
    /// One per engine × scenario that ran, row-major.
    pub cells: Vec<SafetyCell>,
    /// Engines whose baseline leaks descriptors without any cancellation.
    pub leaky_baselines: Vec<LeakyBaseline>,
    /// Scenarios whose controls were not seen flagged here, with why.
    pub unvalidated: Vec<Unvalidated>,
    /// Cells that could not run here, with why.
    pub skipped: Vec<Skipped>,
    /// Per runtime with more than one release: do the releases agree per scenario.
    pub versions: Vec<VersionAgreement>,
    /// Set when the command was interrupted.
    pub interrupted: Option<String>,
    /// Where the full record (every run) was written.
    pub safety_json: String,
}

/// One cell as the matrix shows it.
#[derive(Debug, Serialize)]
pub struct SafetyCell {
    /// Engine name.
    pub engine: String,
    /// Scenario id.
    pub scenario: String,
    /// The text in the matrix (`safe`, `leak 3/5`, `unvalidated`, `safe (nif)`).
    pub label: String,
    /// The headline's kind, as `--fail-on` spells it (`safe`, `leak`, ..., `skipped`).
    pub kind: &'static str,
    /// Whether the headline is a finding.
    pub flagged: bool,
    /// Runs made.
    pub repeats: u32,
    /// Runs whose verdict had the headline's kind.
    pub headline_runs: u32,
    /// Runs with any finding.
    pub flagged_runs: u32,
    /// Whether an op was proven in flight when dropped (`null`: unknown).
    pub in_flight: Option<bool>,
    /// Whether the engine is a positive control (not ranked).
    pub control: bool,
}

/// An engine's descriptor leaks without any cancellation.
#[derive(Debug, Serialize)]
pub struct LeakyBaseline {
    /// Engine name.
    pub engine: String,
    /// Per runtime built and dropped.
    pub runtime: i64,
    /// Per file opened and closed.
    pub file_closed: i64,
    /// Per file opened and dropped unclosed.
    pub file_dropped: i64,
}

/// A scenario whose oracles were not seen to fire.
#[derive(Debug, Serialize)]
pub struct Unvalidated {
    /// Scenario id.
    pub scenario: String,
    /// Why, in words.
    pub why: String,
}

/// A cell that could not run.
#[derive(Debug, Serialize)]
pub struct Skipped {
    /// Engine name.
    pub engine: String,
    /// Scenario id.
    pub scenario: String,
    /// Why.
    pub reason: String,
}

/// One scenario across the releases of one runtime.
#[derive(Debug, Serialize)]
pub struct VersionAgreement {
    /// The runtime (`compio`).
    pub runtime: String,
    /// Scenario id.
    pub scenario: String,
    /// Each release's engine and its cell label.
    pub cells: Vec<(String, String)>,
    /// `true`: the same kinds of finding; `false`: they differ; `null`: not comparable.
    pub agree: Option<bool>,
}

/// The summary of `report` (written to `safety_json`).
pub fn safety_summary(report: &SafetyReport, safety_json: &Path) -> SafetySummary {
    SafetySummary {
        repeats: report.repeats.max(1),
        engines: report.engines.clone(),
        scenarios: report.scenarios.clone(),
        cells: report
            .cells
            .iter()
            .map(|c| SafetyCell {
                engine: c.engine.clone(),
                scenario: c.scenario.clone(),
                label: report.label(c),
                kind: kind_name(&c.verdict),
                flagged: c.verdict.flagged(),
                repeats: c.repeats,
                headline_runs: c.headline_runs,
                flagged_runs: c.flagged_runs,
                in_flight: c.in_flight,
                control: is_control(&c.engine),
            })
            .collect(),
        leaky_baselines: report
            .baselines
            .iter()
            .filter(|(_, b)| b.runtime > 0 || b.file_closed > 0 || b.file_dropped > 0)
            .map(|(e, b)| LeakyBaseline {
                engine: e.clone(),
                runtime: b.runtime,
                file_closed: b.file_closed,
                file_dropped: b.file_dropped,
            })
            .collect(),
        unvalidated: report
            .validation
            .iter()
            .filter(|v| !v.validated)
            .map(|v| Unvalidated {
                scenario: v.scenario.clone(),
                why: v
                    .why_not
                    .clone()
                    .unwrap_or_else(|| "no control flagged".into()),
            })
            .collect(),
        skipped: report
            .cells
            .iter()
            .filter_map(|c| match &c.verdict {
                workloads::safety::Verdict::Skipped { reason } => Some(Skipped {
                    engine: c.engine.clone(),
                    scenario: c.scenario.clone(),
                    reason: reason.clone(),
                }),
                _ => None,
            })
            .collect(),
        versions: version_rows(report)
            .into_iter()
            .map(|v| VersionAgreement {
                runtime: v.runtime,
                scenario: v.scenario,
                cells: v.cells,
                agree: v.agree,
            })
            .collect(),
        interrupted: report.interrupted.clone(),
        safety_json: safety_json.display().to_string(),
    }
}
