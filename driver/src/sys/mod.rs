//! The machine: system facts (clock, hostname, free space, filesystem), the environment
//! record, and scratch directories.

pub mod env;
pub mod scratch;
pub mod sysinfo;
