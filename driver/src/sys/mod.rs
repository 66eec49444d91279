//! The machine: system facts (clock, hostname, free space, filesystem), the environment
//! record, scratch directories, and byte sizes.

pub mod devkind;
pub mod env;
pub mod scratch;
pub mod sysinfo;
