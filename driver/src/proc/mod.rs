//! Child processes: the supervisor that runs a child with a deadline, an output cap and
//! rusage, interrupt handling, and the trial child's side of the protocol.

pub mod child;
pub mod kernel_copy;
pub mod spawn;
