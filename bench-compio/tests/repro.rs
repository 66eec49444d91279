//! Standalone reproducers of the ringbench safety scenarios on compio 0.19, written against
//! compio's public API only (`compio::fs::File`, `compio::runtime::Runtime`, `compio::net`,
//! `compio::time`), the way its documentation shows it, with `workloads::repro::raw` (raw pipes,
//! `/proc/self/fd`, `FIONREAD`) and libc for the oracle. Not through `CompioEngine`: that is the
//! harness, and these exist to check that the harness sees what plain compio code sees.
//!
//! Every reproducer measures its own no-cancel twin (the same steps with every op awaited) and
//! reports descriptor leaks beyond it. "Polled once and not again" is a manual poll inside the
//! runtime (`poll_once`); runtime turns are compio's own `time::sleep`, during which compio
//! submits and reaps.
//!
//! `RINGBENCH_REPRO_ONLY=1 cargo test -p bench-compio --test repro` prints what each saw. The
//! body is shared with compio 0.16's twin, `tests/repro_0_16.rs` (feature `versions`).

use compio as rt;

/// The engine whose harness cells these reproducers are compared with.
type ReproEngine = bench_compio::CompioEngine;

include!("common/repro_body.rs");
