//! What to run: validated run options (sizes, engines, workloads, profiles) and the engine
//! registry.

pub mod engines;
pub mod faults;
pub mod options;
pub mod overhead_plan;
pub mod safety_plan;
