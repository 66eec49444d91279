//! What to run: validated run options (sizes, engines, workloads, profiles), the engine
//! registry, and what `ringbench safety` runs (`safety_plan`).

pub mod engines;
pub mod faults;
pub mod options;
pub mod overhead_plan;
pub mod safety_plan;
