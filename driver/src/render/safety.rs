//! The safety matrix as text: the terminal matrix with its legend and paragraphs, and the
//! versions paragraph (shared with report.md).

use workloads::safety::Verdict;

use crate::analysis::safety::version_rows;
use crate::results::safety::{Cell, SafetyReport};

/// The matrix as text (what `commands::safety::print_matrix` prints).
pub fn render_matrix(report: &SafetyReport) -> String {
    let label = |c: Option<&Cell>| -> String {
        match c {
            None => "-".into(),
            Some(c) => report.label(c),
        }
    };
    let mut rows: Vec<Vec<String>> = vec![
        std::iter::once("engine".to_string())
            .chain(report.scenarios.iter().cloned())
            .collect(),
    ];
    for e in &report.engines {
        let mut r = vec![e.clone()];
        r.extend(report.scenarios.iter().map(|s| label(report.cell(e, s))));
        rows.push(r);
    }
    // Transposed (scenarios down, engines across) when that is narrower: 14 scenarios by 12
    // engines does not fit a terminal either way, but the narrower way wraps less.
    let cols = rows[0].len();
    let width: Vec<usize> = (0..cols)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (k, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{s:<w$}", w = width[i]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if k == 0 {
            out.push_str(
                &width
                    .iter()
                    .map(|w| "-".repeat(*w))
                    .collect::<Vec<_>>()
                    .join("  "),
            );
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "\nEach cell ran {} time(s) with jittered timings; k/n = runs with the headline finding (k < n: intermittent).\n\
         (nif) = not in flight: every op completed before it could be dropped (a blocking engine completes ops inside poll), so nothing was cancelled.\n\
         UAF kernel-wrote = freed memory changed after free; UAF kernel-read = freed (poisoned) memory reached the output.\n\
         hang until data = a drop, close or shutdown that only returned once the data it had nothing to do with arrived; hang = never returned (killed at the deadline).\n\
         unvalidated = no finding, but none of the scenario's controls was flagged here, so the scenario cannot say \"safe\".\n",
        report.repeats.max(1)
    ));
    let leaky: Vec<String> = report
        .leaky_baselines()
        .iter()
        .map(|l| format!("  {l}"))
        .collect();
    if !leaky.is_empty() {
        out.push_str("baseline descriptor leaks without any cancellation (subtracted from every other cell of the engine):\n");
        out.push_str(&leaky.join("\n"));
        out.push('\n');
    }
    let unvalidated: Vec<String> = report
        .validation
        .iter()
        .filter(|v| !v.validated)
        .map(|v| {
            format!(
                "  {}: {}",
                v.scenario,
                v.why_not.as_deref().unwrap_or("no control flagged")
            )
        })
        .collect();
    if !unvalidated.is_empty() {
        out.push_str("unvalidated scenarios (their oracles were not seen to fire here):\n");
        out.push_str(&unvalidated.join("\n"));
        out.push('\n');
    }
    let skips: Vec<String> = report
        .cells
        .iter()
        .filter_map(|c| match &c.verdict {
            Verdict::Skipped { reason } => Some(format!("  {} {}: {reason}", c.engine, c.scenario)),
            _ => None,
        })
        .collect();
    if !skips.is_empty() {
        out.push_str("skipped:\n");
        out.push_str(&skips.join("\n"));
        out.push('\n');
    }
    let versions = render_versions(report, "  ");
    if !versions.is_empty() {
        out.push_str(
            "versions (releases of one runtime compared on the kinds of finding each saw):\n",
        );
        out.push_str(&versions);
    }
    if let Some(i) = &report.interrupted {
        out.push_str(&format!("INTERRUPTED: {i}; safety.json keeps what ran\n"));
    }
    out
}

/// The versions paragraph, one line per scenario (`prefix` starts each line: "  " in the
/// terminal, "- " in markdown). Empty when no runtime ran in two releases.
pub fn render_versions(report: &SafetyReport, prefix: &str) -> String {
    let rows = version_rows(report);
    let mut out = String::new();
    for r in &rows {
        let word = match r.agree {
            Some(true) => "agree",
            Some(false) => "DIFFER",
            None => "not compared",
        };
        let cells: Vec<String> = r.cells.iter().map(|(e, l)| format!("{e}: {l}")).collect();
        out.push_str(&format!(
            "{prefix}{} {}: {word} ({})\n",
            r.runtime,
            r.scenario,
            cells.join("; ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::results::safety::{SCHEMA, skipped};

    fn cell_with(engine: &str, scenario: &str, verdict: Verdict) -> Cell {
        let mut c = skipped(engine, scenario, String::new());
        c.verdict = verdict;
        c.repeats = 1;
        c.headline_runs = 1;
        c
    }

    #[test]
    fn releases_of_one_runtime_are_compared_per_scenario() {
        let leak = Verdict::Leak {
            what: "fd".into(),
            count: 2,
        };
        let report = SafetyReport {
            schema: SCHEMA,
            deadline_ms: 1000,
            repeats: 1,
            engines: vec!["compio@0.16".into(), "compio".into(), "std".into()],
            scenarios: vec![
                "read-drop".into(),
                "runtime-drop".into(),
                "open-race".into(),
            ],
            cells: vec![
                cell_with("compio@0.16", "read-drop", Verdict::Safe),
                cell_with("compio", "read-drop", Verdict::Safe),
                cell_with("compio@0.16", "runtime-drop", leak.clone()),
                cell_with("compio", "runtime-drop", Verdict::Safe),
                cell_with("compio@0.16", "open-race", leak),
                skipped("compio", "open-race", "not here".into()),
                cell_with("std", "read-drop", Verdict::Safe),
            ],
            baselines: BTreeMap::new(),
            validation: Vec::new(),
            interrupted: None,
        };
        let rows = version_rows(&report);
        // std has one release: no rows of its own.
        assert!(rows.iter().all(|r| r.runtime == "compio"), "{rows:?}");
        let agree: Vec<Option<bool>> = rows.iter().map(|r| r.agree).collect();
        assert_eq!(agree, [Some(true), Some(false), None]);
        let text = render_matrix(&report);
        assert!(text.contains("versions ("), "{text}");
        assert!(
            text.contains("compio runtime-drop: DIFFER (compio@0.16: leak 2 fd; compio: safe)"),
            "{text}"
        );
        assert!(text.contains("compio open-race: not compared"), "{text}");
        // One release only: no paragraph.
        let mut one = report.clone();
        one.engines.retain(|e| e != "compio@0.16");
        assert!(version_rows(&one).is_empty());
        assert!(!render_matrix(&one).contains("versions ("));
    }

    #[test]
    fn matrix_renders_every_cell() {
        let mut r = SafetyReport {
            schema: SCHEMA,
            deadline_ms: 1,
            repeats: 1,
            engines: vec!["a".into(), "b".into()],
            scenarios: vec!["read-drop".into()],
            cells: vec![],
            baselines: BTreeMap::new(),
            validation: vec![],
            interrupted: None,
        };
        r.cells.push(skipped("a", "read-drop", "why".into()));
        let mut c = skipped("b", "read-drop", String::new());
        c.verdict = Verdict::DataLoss { bytes: 7 };
        c.in_flight = Some(true);
        r.cells.push(c);
        let s = render_matrix(&r);
        assert!(s.contains("data-loss 7B"), "{s}");
        assert!(s.contains("a read-drop: why"), "{s}");
    }
}
