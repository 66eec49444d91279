//! The descriptor oracle, end to end, alone in its own test process: descriptor counts are
//! process-wide, so the late closes of other scenarios (the controls leak on purpose) must not
//! share its window.

use bench_std::StdEngine;
use workloads::safety::{self, Verdict};

#[test]
fn the_fd_oracle_sees_a_deliberate_leak() {
    let o = safety::run::<StdEngine>(safety::SELFTEST_LEAK_FD).expect("set up");
    assert_eq!(
        o.verdict,
        Verdict::Leak {
            what: "fd".into(),
            count: 1
        },
        "{:?}",
        o.evidence
    );
}
