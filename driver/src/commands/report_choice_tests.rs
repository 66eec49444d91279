//! Tests of `render::choice` (the choice page), with the command that assembles the report:
//! they use its fixtures and check the page leads report.md.

use workloads::Workload;

use crate::analysis::reference;
use crate::analysis::rows::{engine_order, ranked_rule};
use crate::analysis::run::RunData;
use crate::analysis::summary::Cell;
use crate::commands::report::tests::{meta, safety_cell, trial};
use crate::render::choice::*;
use crate::results::safety::SafetyReport;
use workloads::safety::Verdict as V;

/// A fixed run with one workload of each decision: `a` wins `large`; `a` and `b` tie on
/// `small` (their per-round ratio straddles 1) while `c` loses; on `read` every engine is
/// within noise of the others. The floor engine and kernel-copy are context rows.
pub(crate) fn data() -> RunData {
    let mut meta = meta(&["a", "b", "c", "io-uring-raw"]);
    meta.engines[3].info.model = Some("floor".into());
    let machine = [1.0, 1.03, 0.98, 1.01, 0.99, 1.02];
    let wobble = [1.04, 0.96, 1.02, 0.97, 1.01, 0.99];
    let mut records = Vec::new();
    for (round, m) in machine.iter().enumerate() {
        let w = wobble[round];
        let v = wobble[(round + 3) % 6];
        for (e, wl, mbps) in [
            ("a", Workload::Large, 200.0 * m),
            ("b", Workload::Large, 150.0 * m),
            ("c", Workload::Large, 100.0 * m),
            ("io-uring-raw", Workload::Large, 210.0 * m),
            (reference::KERNEL_COPY, Workload::Large, 220.0 * m),
            ("a", Workload::Small, 100.0 * m),
            ("b", Workload::Small, 99.0 * m * w),
            ("c", Workload::Small, 50.0 * m),
            ("a", Workload::Read, 300.0 * m * w),
            ("b", Workload::Read, 301.0 * m * v),
            ("c", Workload::Read, 299.0 * m),
        ] {
            records.push(trial(records.len(), round as u32, e, wl, mbps));
        }
    }
    let order = engine_order(&meta, &records);
    let summary = crate::analysis::summary::summarise(&records, &order, ranked_rule(&meta));
    let safety = SafetyReport {
        schema: crate::results::safety::SCHEMA,
        deadline_ms: 5000,
        repeats: 1,
        baselines: Default::default(),
        validation: vec![crate::results::safety::Validation {
            scenario: "open-race".into(),
            controls: vec!["naive".into()],
            flagged: vec![],
            validated: false,
            why_not: Some("control not flagged".into()),
        }],
        interrupted: None,
        engines: vec!["a".into(), "b".into(), "io-uring-raw".into()],
        scenarios: ["baseline", "read-drop", "read-race", "open-race"]
            .map(String::from)
            .to_vec(),
        cells: vec![
            safety_cell("a", "baseline", V::Safe, false),
            safety_cell("a", "read-drop", V::Safe, true),
            safety_cell("a", "read-race", V::DataLoss { bytes: 4096 }, true),
            safety_cell(
                "a",
                "open-race",
                V::Leak {
                    what: "fd".into(),
                    count: 1,
                },
                true,
            ),
            safety_cell("b", "baseline", V::Safe, false),
            safety_cell("b", "read-drop", V::Safe, true),
            safety_cell("b", "read-race", V::Safe, false),
            safety_cell("b", "open-race", V::Safe, true),
            safety_cell("io-uring-raw", "baseline", V::Safe, false),
            safety_cell("io-uring-raw", "read-drop", V::Safe, false),
            safety_cell(
                "io-uring-raw",
                "read-race",
                V::Skipped {
                    reason: "no FIFO".into(),
                },
                false,
            ),
        ],
    };
    RunData {
        name: "choice".into(),
        meta,
        records,
        warnings: vec![],
        safety: Some(safety),
        audit: None,
        summary,
    }
}

fn cells_of(d: &RunData, w: Workload) -> Vec<&Cell> {
    d.summary.cells.iter().filter(|c| c.workload == w).collect()
}

#[test]
fn standings_follow_the_groups() {
    let d = data();
    let at = |w: Workload, e: &str| {
        let cells = cells_of(&d, w);
        let c = cells.iter().find(|c| c.engine == e).unwrap();
        (standing(&cells, c), c.group)
    };
    assert_eq!(at(Workload::Large, "a"), (Some(Standing::Win), Some(1)));
    assert_eq!(at(Workload::Large, "b"), (Some(Standing::Lose), Some(2)));
    assert_eq!(at(Workload::Small, "a").0, Some(Standing::Tie));
    assert_eq!(at(Workload::Small, "b").0, Some(Standing::Tie));
    assert_eq!(at(Workload::Small, "c").0, Some(Standing::Lose));
    for e in ["a", "b", "c"] {
        assert_eq!(at(Workload::Read, e), (Some(Standing::Tie), Some(1)), "{e}");
    }
    // Context rows are never a choice.
    assert_eq!(at(Workload::Large, "io-uring-raw").0, None);
    assert_eq!(at(Workload::Large, reference::KERNEL_COPY).0, None);
    assert!(decision(&cells_of(&d, Workload::Read)).starts_with("no decision here: within noise"));
}

#[test]
fn badges_say_findings_qualifications_and_untested() {
    let d = data();
    let sr = d.safety.as_ref();
    assert_eq!(
        safety_badge(sr, "a"),
        "2 findings: data-loss read-race; leak open-race"
    );
    assert_eq!(
        safety_badge(sr, "b"),
        "safe in 2 of 3 scenarios (1 unvalidated: control not flagged here; 1 with nothing in flight)"
    );
    assert_eq!(
        safety_badge(sr, "io-uring-raw"),
        "safe in 1 of 3 scenarios (2 skipped or not run; nothing was in flight: never tested under a real cancel)"
    );
    assert_eq!(safety_badge(sr, "c"), "not tested");
    assert_eq!(safety_badge(None, "a"), "not tested (no safety.json)");
}

#[test]
fn a_later_group_by_order_only_and_missing_cpu_are_said() {
    // "b" is steadily 40% behind "a" (group 2, beyond the run's margin, which c's drift
    // between the halves sets near 30%); "c" has a lower median still but is too noisy to be
    // shown slower than "a": group 2 by the median order only.
    let a = [100.0, 101.0, 99.0, 100.0, 102.0, 98.0];
    let c = [40.0, 130.0, 45.0, 120.0, 55.0, 58.0];
    let meta = meta(&["a", "b", "c"]);
    let mut records = Vec::new();
    for round in 0..6 {
        for (e, v) in [("a", a[round]), ("b", a[round] * 0.6), ("c", c[round])] {
            let mut t = trial(records.len(), round as u32, e, Workload::Large, v);
            // As in results from an older ringbench: no CPU reading of the timed section.
            t.outcome.as_mut().unwrap().cpu = None;
            records.push(t);
        }
    }
    let order = engine_order(&meta, &records);
    let summary = crate::analysis::summary::summarise(&records, &order, ranked_rule(&meta));
    let cells: Vec<&Cell> = summary.cells.iter().collect();
    let c = cells.iter().find(|x| x.engine == "c").unwrap();
    assert_eq!(standing(&cells, c), Some(Standing::LoseByOrder));
    assert_eq!(
        decision(&cells),
        "a wins; the other 2 lose (1 by the median order only)"
    );
    let md = render(&summary, &meta, None);
    for want in [
        "| c | lose\\* 56.5 · – | not tested (no safety.json) |",
        "*lose\\**: in a later group by the median order only",
        "CPU s/GB is – throughout",
        "No safety.json in this folder",
    ] {
        assert!(md.contains(want), "missing {want:?}\n{md}");
    }
}

#[test]
fn choice_page_snapshot() {
    let d = data();
    insta::assert_snapshot!(render(&d.summary, &d.meta, d.safety.as_ref()));
}

#[test]
fn choice_page_leads_the_report() {
    let d = data();
    let md = crate::commands::report::render(&d, &[]);
    let sections: Vec<&str> = md.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(sections[0], "## Choice page", "{sections:?}");
    assert!(md.contains(&render(&d.summary, &d.meta, d.safety.as_ref())));
}
