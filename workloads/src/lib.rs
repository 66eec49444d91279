//! ringbench's core: the [`Engine`] trait every runtime adapts to, the deterministic datasets
//! ([`data`], [`dataset`]), the copy workloads written once and generic over the trait, their
//! verification, the shared io_uring check ([`probe`]) and blocking fallback ([`blocking`]),
//! size and duration units ([`units`]), and the test support (a null engine, and the
//! conformance suite every engine runs, behind the `conformance` feature). See README.md.
//!
//! Dispatch is static: the driver matches an engine name to a type and calls
//! [`run_trial`]`::<E>`, so nothing dynamic sits on the measured path.
#![deny(missing_docs)]

mod buf;
mod ctx;
mod engine;
mod hist;
mod run;
mod rusage;
mod spec;

pub mod alloc;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod data;
pub mod dataset;
pub mod exec;
pub mod null;
pub mod probe;
pub mod profile;
pub mod repro;
pub mod safety;
pub mod units;

pub use buf::{ALIGN, AlignedBuf};
pub use ctx::Ctx;
pub use engine::{
    BufResult, Caps, DirEntry, Engine, EngineInfo, FileKind, Meta, Model, OpenHow, OpenMode, Route,
    Routes, RuntimeConfig, blocking,
};
pub use hist::Histogram;
pub use run::{run_trial, share_of};
pub use rusage::CpuUsage;
pub use spec::{CancelStats, Outcome, Stats, TrialPlan, Workload};

#[cfg(test)]
mod null_conformance {
    crate::conformance_tests!(crate::null::NullEngine);

    /// `cancel: false` is checked against the caps: an engine whose drops cannot leave an op
    /// in flight uncancelled (here, one with no ops in flight at all) must run its cases.
    #[test]
    #[should_panic(expected = "run its cancellation cases")]
    fn not_cancel_safe_is_checked_against_the_caps() {
        crate::conformance::not_cancel_safe::<crate::null::NullEngine>("large_cancel");
    }
}
