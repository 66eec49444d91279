//! Tests of `render::ceiling` through the whole report (they render report.md and "How to
//! choose"), so they live with the command that assembles it.

use workloads::Workload;

use crate::analysis::reference::{FIO, FIO_PSYNC};
use crate::analysis::rows::{engine_order, ranked_rule};
use crate::analysis::run::RunData;
use crate::commands::report::render;
use crate::commands::report::tests::{meta, trial};
use crate::render::ceiling::*;
use crate::sys::devkind::DeviceKind;
use crate::sys::devkind::Kind;

/// Five rounds of `read`: "fast" at 500 MB/s, above both fio rows (400 and 350), "slow"
/// at 300, below them; every trial in the given cache state and O_DIRECT setting.
fn run(cache: &str, direct: bool, kind: DeviceKind) -> RunData {
    let mut meta = meta(&["slow", "fast"]);
    meta.environment.device_kind = Kind {
        kind,
        evidence: "test0".into(),
    };
    let mut records = Vec::new();
    for round in 0..5u32 {
        let jitter = [1.0, 1.03, 0.98, 1.01, 0.99][round as usize];
        for (e, v) in [
            ("slow", 300.0),
            ("fast", 500.0),
            (FIO, 400.0),
            (FIO_PSYNC, 350.0),
        ] {
            let mut r = trial(records.len(), round, e, Workload::Read, v * jitter);
            r.cache = cache.into();
            r.direct = direct;
            records.push(r);
        }
    }
    let order = engine_order(&meta, &records);
    let summary = crate::analysis::summary::summarise(&records, &order, ranked_rule(&meta));
    RunData {
        name: "synthetic".into(),
        meta,
        records,
        warnings: vec![],
        safety: None,
        audit: None,
        summary,
    }
}

/// Every engine above a reference is explained next to the table and in "How to choose";
/// one below is not.
fn check(d: &RunData, want_reason: &str) {
    let md = render(d, &[]);
    let fast = d.summary.cells.iter().find(|c| c.engine == "fast").unwrap();
    assert_eq!(above(fast).len(), 1, "{:?}", fast.references);
    assert!(
        md.contains("**fast is above the reference** (1.25× fio read"),
        "{md}"
    );
    assert!(md.contains("above fio read (see the note below)"), "{md}");
    let choose = crate::commands::report::how_to_choose(d);
    assert!(
        choose.contains("**above the reference**: fast (1.25× fio read"),
        "{choose}"
    );
    assert!(
        choose.contains(want_reason),
        "{want_reason} missing:\n{choose}"
    );
    assert!(md.contains(want_reason), "{want_reason} missing:\n{md}");
    let slow = d.summary.cells.iter().find(|c| c.engine == "slow").unwrap();
    assert!(above(slow).is_empty() && !md.contains("**slow is above"));
}

#[test]
fn warm_cache_above_the_reference_is_explained() {
    check(
        &run("warm", false, DeviceKind::Virtio),
        "page cache (`--cache warm`)",
    );
}

#[test]
fn direct_above_the_reference_is_explained() {
    // O_DIRECT on a RAM device: the device is the reason.
    check(
        &run("dropped", true, DeviceKind::RamBacked),
        "RAM-backed (test0)",
    );
    // O_DIRECT on a real device: fio's overhead, and a warning that it should not happen.
    let d = run("dropped", true, DeviceKind::Nvme);
    check(&d, "should not happen beyond noise");
    let md = render(&d, &[]);
    assert!(!md.contains("page cache (`--cache warm`)"), "{md}");
    assert!(md.contains("fio's own work per I/O"), "{md}");
}

#[test]
fn below_the_reference_says_nothing() {
    let d = crate::commands::report::tests::data();
    let md = render(&d, &[]);
    assert!(!md.contains("above the reference"), "{md}");
}
