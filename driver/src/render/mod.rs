//! Rendering: the terminal table and CSV, progress lines, plots, report.md's sections and
//! report.html, the safety matrix, audit and calibration as text, and the exporter seam every
//! file of a run folder is written through (`export`). Takes analysed data and returns text or
//! bytes.

pub mod audit;
pub mod calibration;
pub mod ceiling;
pub mod choice;
pub mod compare;
pub mod csv_out;
pub mod export;
pub mod html;
pub mod overhead;
pub mod plots;
pub mod progress;
pub mod report;
pub mod safety;
pub mod style;
pub mod table;
