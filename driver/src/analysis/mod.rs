//! Analysis: statistics (medians, intervals, paired ratios), the per-cell summary with its
//! groups, and the reference rows' ratios. Reads results; renders nothing.

pub mod overhead;
pub mod reference;
pub mod stats;
pub mod summary;
