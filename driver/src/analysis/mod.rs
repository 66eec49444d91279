//! Analysis: statistics (medians, intervals, paired ratios), the per-cell summary with its
//! groups, and the reference rows' ratios. Reads results; renders nothing.

pub mod audit;
pub mod calibration;
pub mod choose;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod overhead;
pub mod reference;
pub mod rows;
pub mod run;
pub mod safety;
pub mod stats;
pub mod summary;
