//! A run folder's data as a report reads it — meta.json, trials.jsonl, safety.json and
//! audit.json when present — with the summary recomputed from the trials, and what that data
//! lacks. Read by `commands::report::load`.

use crate::analysis::summary::Summary;
use crate::results::audit::AuditReport;
use crate::results::safety::SafetyReport;
use crate::results::{Meta, TrialRecord};

/// Everything a report is made of, read from a run folder.
#[derive(Clone, Debug)]
pub struct RunData {
    /// The folder's name (not its path: the report must not depend on where it is read).
    pub name: String,
    /// meta.json.
    pub meta: Meta,
    /// trials.jsonl.
    pub records: Vec<TrialRecord>,
    /// Lines of trials.jsonl that did not parse.
    pub warnings: Vec<String>,
    /// safety.json, when the folder has one.
    pub safety: Option<SafetyReport>,
    /// audit.json (`ringbench audit`), when the folder has one.
    pub audit: Option<AuditReport>,
    /// The summary, recomputed from the records.
    pub summary: Summary,
}

impl RunData {
    /// What this run's data lacks (see [`missing`]). Empty when the data is complete.
    pub fn missing(&self) -> Vec<String> {
        missing(&self.meta, &self.records, &self.warnings)
    }
}

/// What a run's data lacks, one phrase each: no trials at all, unreadable lines of
/// trials.jsonl, engines listed as available with no trial, a run interrupted or killed
/// before it finished.
pub fn missing(meta: &Meta, records: &[TrialRecord], warnings: &[String]) -> Vec<String> {
    let mut v = Vec::new();
    if meta.interrupted {
        v.push("the run was interrupted (meta.json says so); later trials never ran".into());
    } else if meta.finished.is_none() {
        v.push(
            "the run never finished (meta.json has no end time: killed, or still running)".into(),
        );
    }
    if records.is_empty() {
        v.push("trials.jsonl holds no trials".into());
    }
    v.extend(warnings.iter().cloned());
    if !records.is_empty() {
        let none: Vec<&str> = meta
            .engines
            .iter()
            .filter(|e| e.available && !records.iter().any(|r| r.engine == e.name))
            .map(|e| e.name.as_str())
            .collect();
        if !none.is_empty() {
            v.push(format!("no trial of engine(s) {}", none.join(", ")));
        }
    }
    v
}
