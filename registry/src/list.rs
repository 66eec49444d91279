// The engine list itself, kept apart from lib.rs so that the driver's build script, which
// cannot depend on the engine crates, reads the same list with `include!` (it only takes the
// runtime crate names; the type tokens are never resolved there). No `//!` doc here: this file
// is included into lib.rs and into driver/build.rs, never compiled as a module of its own.

/// Calls `$callback!` with every engine, one entry each, in display order:
///
/// ```text
/// "name" => path::to::Type, Class, ["runtime-crate", ...];
/// ```
///
/// `Class` is a variant of [`Class`](crate::Class) (listed and in `all`; another release;
/// safety control; test support). The crate names are the ones whose locked versions every
/// run's meta.json records (driver/build.rs). Adding a runtime is its crate plus one line here.
#[macro_export]
macro_rules! for_each_engine {
    ($callback:ident) => {
        $callback! {
            "std" => $crate::bench_std::StdEngine, Engine, [];
            "tokio" => $crate::bench_tokio::TokioEngine, Engine, ["tokio"];
            "tokio-io-uring" => $crate::bench_tokio::TokioIoUringEngine, Engine, ["tokio", "io-uring"];
            "compio" => $crate::bench_compio::CompioEngine, Engine, ["compio", "compio-driver", "io-uring"];
            // Other compio releases (bench-compio feature `versions`; without it they are listed
            // as unavailable, with the reason).
            "compio@0.16" => $crate::bench_compio::Compio016Engine, Release, ["compio", "compio-driver"];
            "compio@0.20-beta" => $crate::bench_compio::Compio020BetaEngine, Release, ["compio", "compio-driver"];
            "tokio-uring" => $crate::bench_tokio_uring::TokioUringEngine, Engine, ["tokio-uring", "io-uring"];
            "tokio-uring-fixed" => $crate::bench_tokio_uring::TokioUringFixedEngine, Engine, ["tokio-uring", "io-uring"];
            "monoio" => $crate::bench_monoio::MonoioEngine, Engine, ["monoio", "io-uring"];
            "glommio" => $crate::bench_glommio::GlommioEngine, Engine, ["glommio"];
            "safer-ring" => $crate::bench_safer_ring::SaferRingEngine, Engine, ["safer-ring"];
            // The floor: the io-uring crate driven directly, no runtime (model `floor`: shown,
            // never ranked; each runtime's cost per op is measured against it).
            "io-uring-raw" => $crate::bench_rawring::RawEngine, Engine, ["io-uring"];
            // The safety controls: unsafe on purpose, never in throughput runs, always in
            // `safety`.
            "naive" => $crate::bench_naive::NaiveEngine, Control, ["io-uring"];
            "naive-leak-ring" => $crate::bench_naive::NaiveLeakRingEngine, Control, ["io-uring"];
            "naive-close-waits" => $crate::bench_naive::NaiveCloseWaitsEngine, Control, ["io-uring"];
            // Test support: the harness alone, and a synthetic engine with a known per-op cost
            // (the "-twin" is the same engine under a second name for A/A checks, "-slow" is 20%
            // slower).
            "null" => $crate::workloads::null::NullEngine<0>, Test, [];
            "null-spin" => $crate::workloads::null::NullEngine<20_000>, Test, [];
            "null-spin-twin" => $crate::workloads::null::NullEngine<20_000>, Test, [];
            "null-spin-slow" => $crate::workloads::null::NullEngine<24_000>, Test, [];
        }
    };
}
