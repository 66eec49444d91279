//! Commands: what each subcommand does, wiring the layers below (plan, run children, write
//! results, analyse, render).

pub mod audit;
pub mod calibrate;
pub mod compare;
pub mod listing;
pub mod machine;
pub mod report;
pub mod runner;
pub mod safety;
