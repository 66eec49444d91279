//! The engine registry: every engine the driver can run, by stable name, dispatched
//! statically (a `match` over names calling `run_trial::<Type>`), so nothing dynamic sits on
//! the measured path. The list itself is the registry crate's ([`registry::for_each_engine!`],
//! shared with the build script and the benches): adding an engine is one line there.
//!
//! Another release of a runtime whose current release has its own engine is registered as
//! `runtime@label` (`compio@0.16`): listed, but not in the default selection (`all`), which
//! keeps one version per runtime; `all-versions` brings them in ([`other_release`]).

use std::io;

use workloads::{Engine, EngineInfo, Outcome, TrialPlan};

macro_rules! engines {
    ($( $name:literal => $ty:ty, $class:ident, [$($krate:literal),*]; )*) => {
        /// Every engine name, in display order (hidden test engines included).
        pub const ALL: &[&str] = &[$($name),*];

        /// Whether `name` is listed and selected by default (test-support engines are not).
        pub fn visible(name: &str) -> bool {
            match name {
                $($name => registry::Class::$class.listed(),)*
                _ => false,
            }
        }

        /// An engine's registry class (a runtime's release, another release, a safety
        /// control, test support): what a row *is*, recorded in meta.json so that ranking
        /// asks the class instead of knowing names.
        pub fn class(name: &str) -> Option<registry::Class> {
            match name {
                $($name => Some(registry::Class::$class),)*
                _ => None,
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

registry::for_each_engine!(engines);

/// Whether `name` is an io_uring engine (its `caps.io_uring`).
pub fn is_io_uring(name: &str) -> bool {
    info(name).is_some_and(|i| i.caps.io_uring)
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
