//! `safety.json`: the safety matrix as written and read back (`results::schema::SAFETY`),
//! its one writer, and the lookups every reader shares (a cell, a label, validation).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use workloads::safety::{Baseline, Counts, Verdict};

/// Version of `safety.json`. 2: repeats with frequencies, baselines, validation by controls.
pub const SCHEMA: u32 = crate::results::schema::SAFETY.current;

/// One run of a cell, in short.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunSummary {
    /// The run's jitter seed.
    pub seed: u64,
    /// Its headline verdict.
    pub verdict: Verdict,
    /// Every finding, worst first.
    pub findings: Vec<Verdict>,
    /// Whether an op was proven in flight.
    pub in_flight: Option<bool>,
    /// Race scenarios: ops seen completed in the kernel before their drop.
    pub raced: Option<u64>,
    /// How the child ended.
    pub exit: String,
    /// Wall time, ms.
    pub wall_ms: f64,
}

/// One cell of the matrix: every run of one engine × scenario, and the headline.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cell {
    /// Engine name.
    pub engine: String,
    /// Scenario id.
    pub scenario: String,
    /// The headline verdict: the worst seen in any run.
    pub verdict: Verdict,
    /// Every finding of the run shown (the worst), worst first.
    pub findings: Vec<Verdict>,
    /// Whether an op was proven in flight when dropped (in the run shown).
    pub in_flight: Option<bool>,
    /// Whether the memory oracle was active in the child.
    pub memory_oracle: Option<bool>,
    /// The counts of the run shown.
    pub counts: Option<Counts>,
    /// What was seen in the run shown, in words.
    pub evidence: Vec<String>,
    /// Wall time of the run shown, ms.
    pub wall_ms: f64,
    /// How the child of the run shown ended (`exit 0`, `signal SIGSEGV`, `killed at deadline`).
    pub exit: String,
    /// The last lines of that child's stderr.
    pub stderr_tail: String,
    /// Runs made.
    #[serde(default)]
    pub repeats: u32,
    /// Runs whose verdict had the headline's kind.
    #[serde(default)]
    pub headline_runs: u32,
    /// Runs with any finding.
    #[serde(default)]
    pub flagged_runs: u32,
    /// Every run, in order.
    #[serde(default)]
    pub runs: Vec<RunSummary>,
    /// The baseline cell only: what the run measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
}

impl Cell {
    /// "k/n" runs with the headline's kind (empty for a single run).
    pub fn frequency(&self) -> String {
        if self.repeats <= 1 {
            String::new()
        } else {
            format!("{}/{}", self.headline_runs, self.repeats)
        }
    }
}

/// A cell that did not run (or has not yet): the verdict `skipped` with `reason`, nothing
/// observed. Also the blank a child's cell is filled into.
pub fn skipped(engine: &str, scenario: &str, reason: String) -> Cell {
    Cell {
        engine: engine.into(),
        scenario: scenario.into(),
        verdict: Verdict::Skipped { reason },
        findings: Vec::new(),
        in_flight: None,
        memory_oracle: None,
        counts: None,
        evidence: Vec::new(),
        wall_ms: 0.0,
        exit: "not started".into(),
        stderr_tail: String::new(),
        repeats: 0,
        headline_runs: 0,
        flagged_runs: 0,
        runs: Vec::new(),
        baseline: None,
    }
}

/// Whether a scenario's oracles were seen to fire on this machine: one of its controls flagged.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Validation {
    /// Scenario id.
    pub scenario: String,
    /// Its control engines.
    pub controls: Vec<String>,
    /// Each control that ran, with "k/n" runs flagged.
    pub flagged: Vec<(String, String)>,
    /// A control was flagged in at least one run.
    pub validated: bool,
    /// Why not, in words (no control run, control skipped, control not flagged).
    #[serde(default)]
    pub why_not: Option<String>,
}

/// `safety.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SafetyReport {
    /// [`SCHEMA`].
    pub schema: u32,
    /// Per-run deadline, ms.
    pub deadline_ms: u64,
    /// Runs of each cell.
    #[serde(default)]
    pub repeats: u32,
    /// Engines, in row order.
    pub engines: Vec<String>,
    /// Scenarios, in column order.
    pub scenarios: Vec<String>,
    /// One per engine × scenario that ran, row-major.
    pub cells: Vec<Cell>,
    /// Each engine's baseline (descriptors leaked without any cancellation), subtracted from
    /// its other cells.
    #[serde(default)]
    pub baselines: BTreeMap<String, Baseline>,
    /// Per scenario: was its control flagged here.
    #[serde(default)]
    pub validation: Vec<Validation>,
    /// Set when the command was interrupted: what ran is kept, the rest is missing.
    #[serde(default)]
    pub interrupted: Option<String>,
}

impl SafetyReport {
    /// The cell of `engine` × `scenario`.
    pub fn cell(&self, engine: &str, scenario: &str) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.engine == engine && c.scenario == scenario)
    }

    /// The engines whose baseline leaks descriptors without any cancellation, one line each
    /// ("glommio: 1 per runtime dropped, ...").
    pub fn leaky_baselines(&self) -> Vec<String> {
        self.baselines
            .iter()
            .filter(|(_, b)| b.runtime > 0 || b.file_closed > 0 || b.file_dropped > 0)
            .map(|(e, b)| {
                format!(
                    "{e}: {} per runtime dropped, {} per file closed, {} per file dropped unclosed",
                    b.runtime, b.file_closed, b.file_dropped
                )
            })
            .collect()
    }

    /// Whether `scenario`'s oracles were validated by a flagged control (`None`: no
    /// validation recorded, e.g. a hidden self-test scenario or an old file).
    pub fn validated(&self, scenario: &str) -> Option<bool> {
        self.validation
            .iter()
            .find(|v| v.scenario == scenario)
            .map(|v| v.validated)
    }

    /// The label a reader sees for a cell: the headline with its frequency; a clean cell of an
    /// unvalidated scenario is "unvalidated", never "safe".
    pub fn label(&self, c: &Cell) -> String {
        if !c.verdict.flagged()
            && !matches!(c.verdict, Verdict::Skipped { .. })
            && self.validated(&c.scenario) == Some(false)
        {
            return "unvalidated".into();
        }
        let mut l = c.verdict.label();
        let f = c.frequency();
        if c.verdict.flagged() && !f.is_empty() {
            l.push_str(&format!(" {f}"));
        }
        // The baseline drops nothing on purpose: "not in flight" would say nothing there.
        if c.in_flight == Some(false)
            && !matches!(c.verdict, Verdict::Skipped { .. })
            && c.scenario != workloads::safety::BASELINE
        {
            l.push_str(" (nif)");
        }
        l
    }
}

/// The one writer of `safety.json`: into `dir`, through a temporary file and a rename, so a
/// reader (or a crash of the command) never sees half a file.
pub fn write(dir: &Path, report: &SafetyReport) -> anyhow::Result<()> {
    let path = dir.join("safety.json");
    let tmp = dir.join(".safety.json.tmp");
    let mut bytes = serde_json::to_vec_pretty(report)?;
    bytes.push(b'\n');
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))
}
