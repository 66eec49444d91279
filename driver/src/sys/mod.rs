//! The machine: system facts (clock, hostname, free space, filesystem), the environment
//! record, scratch directories, byte sizes, and CPU affinity.

pub mod cpus;
pub mod devkind;
pub mod env;
pub mod scratch;
pub mod sysinfo;
