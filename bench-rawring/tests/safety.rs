//! The floor engine must be what it claims, safe by construction. In every safety scenario
//! (run in this process under the quarantine allocator, one at a time, as the naive control's
//! oracle tests do) the kernel never touches freed memory, no descriptor leaks, nothing hangs
//! or crashes; and where the engine's cancel reaches the kernel first (the slow path, the
//! runtime drop) nothing is lost either. The same scenarios catch the naive control
//! (bench-naive/tests/oracles.rs), so a clean result here is the engine's, not a blind
//! oracle's.
//!
//! Not asserted, printed: on the race path an op the kernel completed before its future was
//! dropped has done its I/O — a read consumed its bytes (data loss), a write landed (a ghost
//! write). No engine can hand back what the caller dropped; that is the scenario's finding
//! about dropping a completed op, reported in the matrix for every engine alike.
//!
//! `shutdown-live-task` cannot be set up (the engine spawns no tasks) and says so.

use bench_rawring::RawEngine;
use workloads::conformance::available;
use workloads::safety::{self, Path, Verdict};
use workloads::{Engine, alloc};

#[global_allocator]
static ALLOC: alloc::Quarantine = alloc::Quarantine::new();

#[test]
fn memory_safe_leak_free_and_lossless_where_the_cancel_lands_first() {
    if !available::<RawEngine>() {
        return;
    }
    assert!(alloc::installed());
    for s in safety::ALL {
        let id = s.id;
        let o = match safety::run::<RawEngine>(id) {
            Ok(o) => o,
            Err(e) if id == "shutdown-live-task" => {
                assert!(e.contains("no task"), "{id}: {e}");
                eprintln!("{id}: not set up: {e}");
                continue;
            }
            Err(e) => panic!("{id}: setup failed: {e}"),
        };
        eprintln!(
            "{} {id}: {} {:?}\n  {}",
            RawEngine::INFO.name,
            o.verdict,
            o.findings,
            o.evidence.join("\n  ")
        );
        let all = std::iter::once(&o.verdict).chain(&o.findings);
        for v in all {
            let allowed = match v {
                Verdict::Safe => true,
                Verdict::DataLoss { .. } | Verdict::GhostWrite { .. } => s.path == Path::Race,
                _ => false,
            };
            assert!(allowed, "{id} ({:?} path): {v:?}\n{:?}", s.path, o.evidence);
        }
    }
}
