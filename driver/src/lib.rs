//! The `ringbench` driver as a library, in layers whose imports only point down (see
//! README.md): `cli` (clap types, validated into options) → `commands` (one per subcommand)
//! → `render` (markdown, terminal table, plots, progress) → `analysis` (statistics, ratios,
//! groups) → `results` (schema types and the files they live in) → `proc` (child processes)
//! → `plan` (run options, the engine registry) → `sys` (the machine: environment capture,
//! scratch directories). The binary (`src/bin/ringbench.rs`) only calls [`cli::real_main`].

pub mod analysis;
pub mod cli;
pub mod commands;
pub mod plan;
pub mod proc;
pub mod render;
pub mod results;
pub mod sys;
