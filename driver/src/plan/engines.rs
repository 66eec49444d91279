//! The engine registry: every engine the driver can run, by stable name, dispatched
//! statically (a `match` over names calling `run_trial::<Type>`), so nothing dynamic sits on
//! the measured path. Adding an engine is one line in the `engines!` list below.
//!
//! Another release of a runtime whose current release has its own engine is registered as
//! `runtime@label` (`compio@0.16`): listed, but not in the default selection (`all`), which
//! keeps one version per runtime; `all-versions` brings them in ([`other_release`]).

use std::io;

use workloads::{Engine, EngineInfo, Outcome, TrialPlan};

macro_rules! engines {
    ($( $name:literal => $ty:ty, $visible:literal; )*) => {
        /// Every engine name, in display order (hidden test engines included).
        pub const ALL: &[&str] = &[$($name),*];

        /// Whether `name` is listed and selected by default (test-support engines are not).
        pub fn visible(name: &str) -> bool {
            match name {
                $($name => $visible,)*
                _ => false,
            }
        }

        /// Static description of an engine.
        pub fn info(name: &str) -> Option<EngineInfo> {
            match name {
                $($name => Some(<$ty as Engine>::INFO),)*
                _ => None,
            }
        }

        /// Whether an engine can run here, with the reason if not.
        pub fn probe(name: &str) -> Option<Result<(), String>> {
            match name {
                $($name => Some(<$ty as Engine>::probe()),)*
                _ => None,
            }
        }

        /// Run one safety scenario on the named engine (in the current process: the
        /// `__safety` child). `Err` is a setup failure (the cell is skipped with that reason).
        pub fn run_scenario(name: &str, scenario: &str, params: &workloads::safety::Params) -> Option<Result<workloads::safety::Observation, String>> {
            match name {
                $($name => Some(workloads::safety::run_with::<$ty>(scenario, params)),)*
                _ => None,
            }
        }

        /// Run one trial of `plan` on the named engine (in the current process).
        pub fn run_trial(name: &str, plan: &TrialPlan) -> Option<io::Result<Outcome>> {
            match name {
                $($name => Some(workloads::run_trial::<$ty>(plan)),)*
                _ => None,
            }
        }
    };
}

engines! {
    "std" => bench_std::StdEngine, true;
    "tokio" => bench_tokio::TokioEngine, true;
    "tokio-io-uring" => bench_tokio::TokioIoUringEngine, true;
    "compio" => bench_compio::CompioEngine, true;
    // Other compio releases (bench-compio feature `versions`; without it they are listed as
    // unavailable, with the reason).
    "compio@0.16" => bench_compio::Compio016Engine, true;
    "compio@0.20-beta" => bench_compio::Compio020BetaEngine, true;
    "tokio-uring" => bench_tokio_uring::TokioUringEngine, true;
    "tokio-uring-fixed" => bench_tokio_uring::TokioUringFixedEngine, true;
    "monoio" => bench_monoio::MonoioEngine, true;
    "glommio" => bench_glommio::GlommioEngine, true;
    "safer-ring" => bench_safer_ring::SaferRingEngine, true;
    // The safety control: unsafe on purpose, never in throughput runs, always in `safety`.
    "naive" => bench_naive::NaiveEngine, false;
    "naive-leak-ring" => bench_naive::NaiveLeakRingEngine, false;
    "naive-close-waits" => bench_naive::NaiveCloseWaitsEngine, false;
    // Test support: the harness alone, and a synthetic engine with a known per-op cost (the
    // "-twin" is the same engine under a second name for A/A checks, "-slow" is 20% slower).
    "null" => workloads::null::NullEngine<0>, false;
    "null-spin" => workloads::null::NullEngine<20_000>, false;
    "null-spin-twin" => workloads::null::NullEngine<20_000>, false;
    "null-spin-slow" => workloads::null::NullEngine<24_000>, false;
}

/// Whether `name` is another release of a runtime (`runtime@label`): listed and runnable by
/// name, but left out of the default selection (`all`), which keeps one version per runtime.
pub fn other_release(name: &str) -> bool {
    name.contains('@')
}

/// Whether `name` is in the default selection (`all`): listed, and the current release.
pub fn default_selected(name: &str) -> bool {
    visible(name) && !other_release(name)
}

/// The runtime an engine adapts, without a release label (`compio@0.16` → `compio`): the
/// versions of one runtime are grouped under it.
pub fn runtime_family(name: &str) -> &str {
    name.split_once('@').map_or(name, |(base, _)| base)
}
