//! Child processes: the supervisor that runs a child with a deadline, an output cap and
//! rusage, interrupt handling, the trial child's side of the protocol, and the one versioned
//! reply envelope every child prints (`reply`).

pub mod child;
pub mod kernel_copy;
pub mod reply;
pub mod safety_child;
pub mod spawn;
