//! The decisions behind report.md's "How to choose": per workload and sweep point, which
//! ranked engines make the fastest group, which of them uses the least CPU, which engines are
//! shown slower and which sit in a later group by median order alone, whether anything was
//! decided at all, and which cells are noisy. `commands::report::how_to_choose` puts them into
//! words; nothing here writes a sentence.

use std::collections::BTreeSet;

use workloads::Workload;

use crate::analysis::summary::{Cell, Summary};
use crate::plan::options::Config;

/// The decision for one workload at one sweep point.
#[derive(Debug)]
pub struct Choice<'a> {
    /// The workload.
    pub workload: Workload,
    /// The sweep point.
    pub config: Config,
    /// Its ranked cells with at least one trial, in the summary's order (empty: none
    /// completed, and nothing below is decided).
    pub cells: Vec<&'a Cell>,
    /// The fastest group (group 1), highest median first; its first cell is the leader.
    pub fastest: Vec<&'a Cell>,
    /// The cell of the fastest group with the least CPU per GB, when the group has more than
    /// one engine and any CPU reading (the first such, on a tie).
    pub cheapest: Option<&'a Cell>,
    /// Engines in a later group that were shown slower than the leader by more than the
    /// run's margin ([`crate::analysis::summary::Summary::margin`]).
    pub slower: Vec<String>,
    /// Engines in a later group by median order only (below one shown slower), not shown
    /// slower themselves: said apart, so a reader does not take them as measured slower.
    pub unshown: Vec<String>,
    /// Several engines, all in group 1: no engine was shown slower than another.
    pub undecided: bool,
    /// Engines whose cell is noisy (interval wider than ±10%, or a single sample).
    pub noisy: Vec<String>,
}

/// One [`Choice`] per workload × sweep point, in the order the summary first names them, and
/// whether the summary has more than one sweep point (the words then name the point).
pub fn choices(s: &Summary) -> (Vec<Choice<'_>>, bool) {
    let mut keys: Vec<(Workload, Config)> = Vec::new();
    for c in &s.cells {
        if !keys.contains(&(c.workload, c.config)) {
            keys.push((c.workload, c.config));
        }
    }
    let multi = keys.iter().map(|k| k.1).collect::<BTreeSet<_>>().len() > 1;
    let out = keys
        .into_iter()
        .map(|(workload, config)| {
            let cells: Vec<&Cell> = s
                .cells
                .iter()
                .filter(|c| c.workload == workload && c.config == config && c.ranked && c.n > 0)
                .collect();
            let mut fastest: Vec<&Cell> = cells
                .iter()
                .copied()
                .filter(|c| c.group == Some(1))
                .collect();
            // Stable: engines with equal medians keep the summary's order.
            fastest.sort_by(|a, b| b.median_bps.total_cmp(&a.median_bps));
            let cheapest = fastest
                .iter()
                .copied()
                .filter(|c| c.cpu_s_per_gb.is_some())
                .min_by(|a, b| a.cpu_s_per_gb.unwrap().total_cmp(&b.cpu_s_per_gb.unwrap()))
                .filter(|_| fastest.len() > 1);
            // Later groups: those shown slower than the leader, and those placed there only
            // by the median order (below an engine that was shown slower), said apart.
            let later = |slower: bool| -> Vec<String> {
                cells
                    .iter()
                    .filter(|c| c.group.is_some_and(|g| g > 1))
                    .filter(|c| c.behind_best == slower)
                    .map(|c| c.engine.clone())
                    .collect()
            };
            let (slower, unshown) = (later(true), later(false));
            let undecided = cells.len() > 1 && cells.iter().all(|c| c.group == Some(1));
            let noisy = cells
                .iter()
                .filter(|c| c.noisy)
                .map(|c| c.engine.clone())
                .collect();
            Choice {
                workload,
                config,
                cells,
                fastest,
                cheapest,
                slower,
                unshown,
                undecided,
                noisy,
            }
        })
        .collect();
    (out, multi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_run_decides_per_workload() {
        let s = crate::analysis::fixtures::summary();
        let (v, multi) = choices(&s);
        assert!(!multi);
        // Both workloads, each with its two ranked engines (references are not ranked).
        assert_eq!(v.len(), 2);
        for ch in &v {
            assert_eq!(ch.cells.len(), 2, "{:?}", ch.workload);
            assert!(ch.cells.iter().all(|c| c.ranked));
            assert_eq!(ch.fastest[0].engine, "fast", "{:?}", ch.workload);
        }
        // `large`: fast is twice slow, which is shown slower and in a later group.
        let large = v.iter().find(|c| c.workload == Workload::Large).unwrap();
        assert_eq!(large.fastest.len(), 1);
        assert_eq!(large.slower, ["slow"]);
        assert!(large.unshown.is_empty() && !large.undecided && large.cheapest.is_none());
    }
}
