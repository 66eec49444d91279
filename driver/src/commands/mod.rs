//! Commands: what each subcommand does, wiring the layers below (plan, run children, write
//! results, analyse, render).

pub mod audit;
pub mod calibrate;
pub mod ceiling;
pub mod choice;
pub mod compare;
pub mod conclusions;
pub mod listing;
pub mod machine;
pub mod overhead_report;
pub mod report;
pub mod runner;
pub mod safety;
