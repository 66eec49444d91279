//! Test data shared by the tests of this layer and the layers above: one fixed run, summarised
//! as `ringbench report` would (the render tests use its summary, the command tests wrap it).

use workloads::Workload;

use crate::analysis::reference;
use crate::analysis::rows::{engine_order, ranked_rule};
use crate::analysis::summary::{self, Summary};
use crate::results::fixtures::{meta, trial};
use crate::results::{Meta, Status, TrialRecord};

/// Fixed data: two engines and both references over 5 rounds; "fast" is clearly faster.
pub(crate) fn run() -> (Meta, Vec<TrialRecord>, Summary) {
    let meta = meta(&["slow", "fast"]);
    let mut records = Vec::new();
    let mut i = 0;
    for round in 0..5u32 {
        let jitter = [1.0, 1.03, 0.98, 1.01, 0.99][round as usize];
        for (e, w, v) in [
            ("slow", Workload::Large, 100.0),
            ("fast", Workload::Large, 200.0),
            (reference::KERNEL_COPY, Workload::Large, 220.0),
            ("slow", Workload::Read, 250.0),
            ("fast", Workload::Read, 310.0),
            (reference::FIO, Workload::Read, 400.0),
        ] {
            records.push(trial(i, round, e, w, v * jitter));
            i += 1;
        }
    }
    let mut bad = trial(i, 4, "slow", Workload::Large, 1.0);
    bad.status = Status::VerifyFailed;
    bad.throughput = None;
    bad.verify_detail = Some("byte 7 differs".into());
    bad.round = 5;
    records.push(bad);
    let order = engine_order(&meta, &records);
    let summary = summary::summarise(&records, &order, ranked_rule(&meta));
    (meta, records, summary)
}

/// The summary of [`run`].
pub(crate) fn summary() -> Summary {
    run().2
}

/// The fixed run as `ringbench report` reads it (a `RunData`), for the tests of every layer
/// from here up.
pub(crate) fn data() -> crate::analysis::run::RunData {
    let (meta, records, summary) = run();
    crate::analysis::run::RunData {
        name: "synthetic".into(),
        meta,
        records,
        warnings: vec![],
        safety: None,
        audit: None,
        summary,
    }
}
