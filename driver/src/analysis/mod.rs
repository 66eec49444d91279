//! Analysis: statistics (medians, intervals, paired ratios), the per-cell summary with its
//! groups, the reference rows' ratios, what each row is (`rows`), the decisions of "How to
//! choose", and the analysis of the safety matrix, the strace audit and the calibration. Reads
//! results; renders nothing.

pub mod audit;
pub mod calibration;
pub mod choose;
pub mod compare;
pub mod conclusions;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod overhead;
pub mod reference;
pub mod rows;
pub mod run;
pub mod safety;
pub mod stats;
pub mod summary;
