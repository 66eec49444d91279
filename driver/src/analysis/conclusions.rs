//! The conclusions a run draws (analysis layer): for each workload and sweep point, the groups
//! of ranked engines that "How to choose" and the results table state, and whether two runs'
//! conclusions agree (`ringbench compare`).
//!
//! A run's conclusion for a table is its partition into groups (README, "Groups"): every
//! boundary between two groups is a decisive statement (the later group's leader was shown
//! slower, per round, than an engine of the earlier one, by more than the run's margin,
//! `stats::run_margin`); inside a group nothing is decided. One group
//! for several engines is "no decision here". Two runs
//!
//! * draw the **same** conclusion when their partitions are equal (engines only one run has
//!   are left out of the comparison, and said);
//! * **both say no decision here** when neither separates any engine;
//! * **differ without contradiction** when one separates engines the other leaves together
//!   (more rounds, or less noise, decided more), but no engine is ahead of another in one run
//!   and behind it in the other;
//! * **contradict** each other when some engine is in an earlier group than another in one run
//!   and in a later group in the other.

use std::collections::BTreeMap;

use workloads::Workload;

use crate::analysis::run::RunData;
use crate::plan::options::Config;

/// One table's groups: engine names per group, best group first, names sorted in a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conclusion {
    /// The groups.
    pub groups: Vec<Vec<String>>,
}

impl Conclusion {
    /// Whether any engine is separated from another.
    pub fn decided(&self) -> bool {
        self.groups.len() > 1
    }

    fn group_of(&self, e: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.iter().any(|x| x == e))
    }

    fn engines(&self) -> Vec<&str> {
        self.groups.iter().flatten().map(String::as_str).collect()
    }

    /// Only the engines in `keep`.
    fn restricted(&self, keep: &[&str]) -> Conclusion {
        Conclusion {
            groups: self
                .groups
                .iter()
                .map(|g| {
                    g.iter()
                        .filter(|e| keep.contains(&e.as_str()))
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .filter(|g| !g.is_empty())
                .collect(),
        }
    }

    /// `fastest: a, b; then: c` or `no decision here (a, b, c)`.
    pub fn words(&self) -> String {
        match self.groups.len() {
            0 => "no ranked engine completed a trial".into(),
            1 if self.groups[0].len() == 1 => format!("only {}", self.groups[0][0]),
            1 => format!("no decision here ({})", self.groups[0].join(", ")),
            _ => {
                let mut s = format!("fastest: {}", self.groups[0].join(", "));
                for g in &self.groups[1..] {
                    s.push_str("; then: ");
                    s.push_str(&g.join(", "));
                }
                s
            }
        }
    }
}

/// Each table's conclusion, keyed by workload and sweep point, from the ranked cells that
/// completed a trial.
pub fn of_run(d: &RunData) -> BTreeMap<(Workload, Config), Conclusion> {
    let mut by: BTreeMap<(Workload, Config), BTreeMap<usize, Vec<String>>> = BTreeMap::new();
    for c in &d.summary.cells {
        let groups = by.entry((c.workload, c.config)).or_default();
        if let (true, true, Some(g)) = (c.ranked, c.n > 0, c.group) {
            groups.entry(g).or_default().push(c.engine.clone());
        }
    }
    by.into_iter()
        .map(|(k, gs)| {
            let groups = gs
                .into_values()
                .map(|mut v| {
                    v.sort();
                    v
                })
                .collect();
            (k, Conclusion { groups })
        })
        .collect()
}

/// How two runs' conclusions on one table relate (module doc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Agreement {
    /// Equal partitions, some engines separated.
    Same,
    /// Neither separates any engine.
    BothUndecided,
    /// One separates engines the other leaves together; no pair in opposite order.
    Compatible,
    /// Pairs in opposite order: `"x ahead of y in A, behind it in B"`.
    Contradict(Vec<String>),
}

impl Agreement {
    /// Whether the two runs draw the same conclusions (or both none).
    pub fn agrees(&self) -> bool {
        matches!(self, Agreement::Same | Agreement::BothUndecided)
    }

    /// In words, for compare.md.
    pub fn words(&self) -> String {
        match self {
            Agreement::Same => "same conclusions".into(),
            Agreement::BothUndecided => "both say no decision here".into(),
            Agreement::Compatible => {
                "different, not contradictory (one run separates engines the other leaves together)"
                    .into()
            }
            Agreement::Contradict(v) => format!("**contradict**: {}", v.join("; ")),
        }
    }
}

/// Compare conclusion `b` with `a`, over the engines both ranked.
pub fn agreement(a: &Conclusion, b: &Conclusion, la: &str, lb: &str) -> Agreement {
    let ea = a.engines();
    let common: Vec<&str> = b.engines().into_iter().filter(|e| ea.contains(e)).collect();
    let (a, b) = (a.restricted(&common), b.restricted(&common));
    if !a.decided() && !b.decided() {
        return Agreement::BothUndecided;
    }
    if a == b {
        return Agreement::Same;
    }
    let mut contra = Vec::new();
    for x in &common {
        for y in &common {
            let (ax, ay, bx, by) = (a.group_of(x), a.group_of(y), b.group_of(x), b.group_of(y));
            if ax < ay && bx > by {
                contra.push(format!("{x} ahead of {y} in {la}, behind it in {lb}"));
            }
        }
    }
    if contra.is_empty() {
        Agreement::Compatible
    } else {
        Agreement::Contradict(contra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(groups: &[&[&str]]) -> Conclusion {
        Conclusion {
            groups: groups
                .iter()
                .map(|g| g.iter().map(|s| s.to_string()).collect())
                .collect(),
        }
    }

    #[test]
    fn agreement_rules() {
        let ag = |a, b| agreement(&c(a), &c(b), "A", "B");
        assert_eq!(ag(&[&["x"], &["y"]], &[&["x"], &["y"]]), Agreement::Same);
        assert_eq!(ag(&[&["x", "y"]], &[&["y", "x"]]), Agreement::BothUndecided);
        assert_eq!(
            ag(&[&["x"], &["y", "z"]], &[&["x", "y"], &["z"]]),
            Agreement::Compatible
        );
        assert_eq!(
            ag(&[&["x"], &["y"]], &[&["y"], &["x"]]),
            Agreement::Contradict(vec!["x ahead of y in A, behind it in B".into()])
        );
        // An engine only one run has does not count.
        assert_eq!(
            ag(&[&["x"], &["y"]], &[&["x"], &["y"], &["w"]]),
            Agreement::Same
        );
        assert!(!ag(&[&["x"], &["y"]], &[&["x", "y"]]).agrees());
        assert_eq!(c(&[&["a", "b"]]).words(), "no decision here (a, b)");
        assert_eq!(c(&[&["a"], &["b", "c"]]).words(), "fastest: a; then: b, c");
    }

    #[test]
    fn a_run_agrees_with_itself() {
        let d = crate::analysis::fixtures::data();
        let k = of_run(&d);
        assert!(k.values().all(|x| x.decided()), "{k:?}");
        for v in k.values() {
            assert_eq!(agreement(v, v, "A", "B"), Agreement::Same);
        }
    }
}
