//! The engine registry: the one list of every engine ringbench knows, by stable name, read by
//! the driver (its name → type dispatch), the driver's build script (which runtime crates'
//! versions to record) and the benches (which engines to bench).
//!
//! The list is a callback macro, [`for_each_engine!`], so each reader expands it into what it
//! needs (a `match` over names, a slice of monomorphised functions, a list of crate names) and
//! dispatch stays static: nothing dynamic sits on the measured path. Adding a runtime is its
//! crate (a `bench-<runtime>` folder, a workspace member by the `bench-*` glob) plus one line in
//! the list, and the dependency line in this crate's Cargo.toml; see CONTRIBUTING.md.
#![deny(missing_docs)]

// Re-exported so the list can name each type as `$crate::bench_x::Type`: a reader depends on
// this crate alone, not on every engine crate.
#[doc(hidden)]
pub use {
    bench_compio, bench_glommio, bench_monoio, bench_naive, bench_rawring, bench_safer_ring,
    bench_std, bench_tokio, bench_tokio_uring, workloads,
};

include!("list.rs");

/// What an engine is for: decides where it is listed and selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// A runtime's current release: listed, in the default selection (`all`), benched.
    Engine,
    /// Another release of a runtime that has an `Engine` (`compio@0.16`): listed and runnable
    /// by name, in `all-versions` but not in `all`, not benched.
    Release,
    /// A positive control of the safety oracles (bench-naive): unsafe on purpose, hidden from
    /// listings and throughput runs, always run by `safety`.
    Control,
    /// Test support (the null engines): hidden, never benched.
    Test,
}

impl Class {
    /// Whether engines of this class are listed (`ringbench list`, `-e all-versions`).
    pub const fn listed(self) -> bool {
        matches!(self, Class::Engine | Class::Release)
    }

    /// Whether engines of this class run in the benches (`cargo bench`).
    pub const fn benched(self) -> bool {
        matches!(self, Class::Engine)
    }
}

/// One entry of the list, without its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The engine's stable name (`EngineInfo::name`).
    pub name: &'static str,
    /// What it is for.
    pub class: Class,
    /// The runtime crates whose locked versions a run records for it.
    pub crates: &'static [&'static str],
}

macro_rules! entries {
    ($( $name:literal => $ty:ty, $class:ident, [$($krate:literal),*]; )*) => {
        /// Every engine, in display order.
        pub const ENGINES: &[Entry] = &[$(Entry {
            name: $name,
            class: Class::$class,
            crates: &[$($krate),*],
        }),*];

        /// Each entry's type's `EngineInfo::name`, in list order (checked by the tests).
        #[cfg(test)]
        fn info_names() -> Vec<&'static str> {
            vec![$(<$ty as workloads::Engine>::INFO.name),*]
        }

        /// Each io_uring engine's name and its `probe()` (uncalled), in list order.
        #[cfg(test)]
        #[allow(clippy::type_complexity)]
        fn io_uring_probes() -> Vec<(&'static str, fn() -> Result<(), String>)> {
            let mut v: Vec<(&'static str, fn() -> Result<(), String>)> = Vec::new();
            $(if <$ty as workloads::Engine>::INFO.caps.io_uring {
                v.push(($name, <$ty as workloads::Engine>::probe));
            })*
            v
        }
    };
}

for_each_engine!(entries);

/// The entry of the engine named `name`.
pub fn entry(name: &str) -> Option<&'static Entry> {
    ENGINES.iter().find(|e| e.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_match_the_types() {
        let names: Vec<_> = ENGINES.iter().map(|e| e.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            names.len(),
            "duplicate engine name in {names:?}"
        );
        // The null engines are one type, `null`, under several names on purpose (a per-op
        // cost in the name, an A/A twin); every other name is its type's own.
        for (e, info) in ENGINES.iter().zip(info_names()) {
            let want = if e.class == Class::Test {
                "null"
            } else {
                e.name
            };
            assert_eq!(info, want, "{}: the type's EngineInfo::name", e.name);
        }
    }

    #[test]
    fn no_io_uring_engine_is_available_where_the_shared_check_refuses() {
        // Every engine's probe starts with workloads::probe::io_uring; where that refuses (a
        // kernel without io_uring, the sysctl at 2, seccomp), so must every io_uring engine.
        let probes = io_uring_probes();
        assert!(
            probes.len() >= 8,
            "io_uring engines in the list: {}",
            probes.len()
        );
        match workloads::probe::io_uring() {
            Ok(()) => {
                // Straight to the stderr handle: the test harness captures only the print macros.
                use std::io::Write;
                let _ = std::io::stderr().write_all(
                    b"SKIPPED no_io_uring_engine_is_available_where_the_shared_check_refuses: \
                      io_uring is available here, so there is no refusal to agree with\n",
                );
            }
            Err(why) => {
                for (name, probe) in probes {
                    assert!(probe().is_err(), "{name} available although: {why}");
                }
            }
        }
    }

    #[test]
    fn other_releases_are_labelled_and_nothing_else_is() {
        for e in ENGINES {
            assert_eq!(
                e.name.contains('@'),
                e.class == Class::Release,
                "{}",
                e.name
            );
        }
    }

    #[test]
    fn every_io_uring_engine_records_a_runtime_crate() {
        for e in ENGINES {
            if e.class != Class::Test && e.name != "std" {
                assert!(
                    !e.crates.is_empty(),
                    "{}: no runtime crate to record",
                    e.name
                );
            }
        }
    }
}
