//! The standalone reproducers of `tests/repro.rs` on compio **0.16.0** (the same body,
//! `tests/common/repro_body.rs`, with `rt` = compio 0.16), compared with the `compio@0.16`
//! engine's harness cells. Needs the `versions` feature:
//! `RINGBENCH_REPRO_ONLY=1 cargo test -p bench-compio --features versions --test repro_0_16`.

use compio_0_16 as rt;

/// The engine whose harness cells these reproducers are compared with.
type ReproEngine = bench_compio::Compio016Engine;

include!("common/repro_body.rs");
