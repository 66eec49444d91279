//! Fault-injection engines (test support, hidden): names that run a real engine's code and
//! then misbehave on purpose in the trial child (see `proc::child`), so the driver's handling
//! of crashes, hangs, garbage and silence is tested for real. Here so that validating an
//! engine name (plan) does not reach up into the child.

use workloads::EngineInfo;

use crate::plan::engines;

/// Hidden engines that fault on purpose, and the real engine each runs otherwise.
const FAULTS: &[(&str, &str)] = &[
    ("null-crash", "null"),   // aborts mid-trial (SIGABRT)
    ("null-hang", "null"),    // never finishes
    ("null-garbage", "null"), // prints a line that is not a result
    ("null-silent", "null"),  // exits 0 without printing anything
    ("std-corrupt", "std"),   // runs std, then flips a byte of the destination
];

/// Whether `name` is a fault-injection engine.
pub fn is_fault_engine(name: &str) -> bool {
    FAULTS.iter().any(|(f, _)| *f == name)
}

/// The engine whose code a (possibly fault) engine name runs.
pub fn base_engine(name: &str) -> &str {
    FAULTS
        .iter()
        .find(|(f, _)| *f == name)
        .map_or(name, |(_, b)| b)
}

/// Static info of any runnable engine name.
pub fn engine_info(name: &str) -> Option<EngineInfo> {
    engines::info(base_engine(name))
}

/// Registry class of any runnable engine name: a fault engine has its base engine's class
/// (`std-corrupt` is a runtime row that misbehaves, `null-crash` is test support).
pub fn engine_class(name: &str) -> Option<registry::Class> {
    engines::class(base_engine(name))
}
