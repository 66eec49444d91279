//! `ringbench compare A B [C...]`: runs side by side (two machines, two versions, two kernels),
//! each engine's median per workload and sweep point, with its ratio to the first run. The
//! command loads the folders and writes compare.md and the chart; what must match, the ratio
//! rule and the verdicts are `analysis::compare`, the schema of `--json` is `results::compare`,
//! compare.md and the chart are `render::compare`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::analysis::compare::{self as analysis, CompareDoc};
use crate::analysis::run::RunData;
use crate::commands::report;
use crate::render::compare as render;
use crate::render::plots;
use crate::results;

/// What `compare` produces.
pub struct Comparison {
    /// compare.md.
    pub markdown: String,
    /// The chart.
    pub chart: plots::Chart,
    /// The same tables as data (`ringbench compare --json`).
    pub data: CompareDoc,
}

/// Build the comparison of loaded runs (the first is the baseline): the data first, then
/// compare.md and the chart rendered from it.
fn build(runs: &[RunData]) -> anyhow::Result<Comparison> {
    let c = analysis::build(runs)?;
    let chart = render::chart(&c.doc)?;
    let markdown = render::markdown(runs, &c);
    Ok(Comparison {
        markdown,
        chart,
        data: c.doc,
    })
}

/// `ringbench compare`: load, check, build, write `compare.md` and the chart into `out`, and
/// return the comparison for the terminal (its markdown, or its data for `--json`).
///
/// A run with incomplete data (see [`RunData::missing`]) is refused unless `allow_incomplete`;
/// `out` is checked before anything is read, and every error names the path and the flag.
pub fn run(dirs: &[PathBuf], out: &Path, allow_incomplete: bool) -> anyhow::Result<Comparison> {
    match std::fs::metadata(out) {
        Ok(m) if !m.is_dir() => bail!(
            "--out {}: File exists and is not a folder; choose a new folder",
            out.display()
        ),
        Ok(_) if std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some()) => bail!(
            "--out {}: already exists and is not empty; choose a new folder",
            out.display()
        ),
        _ => {}
    }
    let mut runs = Vec::new();
    for d in dirs {
        let r = report::load(d)?;
        let missing = r.missing();
        if !missing.is_empty() {
            if !allow_incomplete {
                bail!(
                    "{}: incomplete data: {} (pass --allow-incomplete to compare what there is)",
                    d.display(),
                    missing.join("; ")
                );
            }
            for w in missing {
                eprintln!("ringbench: warning: {}: {w}", d.display());
            }
        }
        runs.push(r);
    }
    let mut c = build(&runs)?;
    c.data.compare_md = out.join("compare.md").display().to_string();
    let w = |name: &str, bytes: &[u8]| {
        results::write_atomic(&out.join(name), bytes)
            .with_context(|| format!("--out {}: cannot write {name}", out.display()))
    };
    w("compare.md", c.markdown.as_bytes())?;
    w("plots/compare.svg", c.chart.svg.as_bytes())?;
    w("plots/compare.png", &c.chart.png)?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::overhead::TaxAgreement;
    use crate::commands::report::tests::data;

    #[test]
    fn a_run_against_itself_is_within_noise_everywhere() {
        let c = build(&[data(), data()]).unwrap();
        assert!(c.markdown.contains("| fast | 200.0 [196.0–206.0] | 200.0 [196.0–206.0] | 1.00× [0.96–1.04] within noise |"), "{}", c.markdown);
        assert!(!c.markdown.contains("faster |") && !c.markdown.contains("slower |"));
        assert!(c.chart.svg.contains("Throughput ratio to run A"));
        assert!(
            c.markdown.contains(
                "**B vs A: the conclusions agree** (2 of 2 tables draw the same conclusions"
            ),
            "{}",
            c.markdown
        );
    }

    #[test]
    fn swapped_engines_contradict() {
        // B: "slow" and "fast" trade places, so every table's order is reversed.
        let mut b = data();
        for r in &mut b.records {
            r.engine = match r.engine.as_str() {
                "slow" => "fast".into(),
                "fast" => "slow".into(),
                e => e.into(),
            };
        }
        let order = crate::analysis::rows::engine_order(&b.meta, &b.records);
        b.summary = crate::analysis::summary::summarise(
            &b.records,
            &order,
            crate::analysis::rows::ranked_rule(&b.meta),
        );
        let md = build(&[data(), b]).unwrap().markdown;
        assert!(
            md.contains("**B vs A: the conclusions contradict** (0 of 2"),
            "{md}"
        );
        assert!(
            md.contains("fast ahead of slow in A, behind it in B"),
            "{md}"
        );
        // Under each table, the boundary of each run with that pair's ratio in both: the gap
        // itself moved (large: slow is half of fast in A, twice it in B).
        assert!(
            md.contains(
                "  - slow / fast: A 0.50× [0.50–0.50] (a boundary); B 2.00× [2.00–2.00] (faster)"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "  - fast / slow: A 2.00× [2.00–2.00] (faster); B 0.50× [0.50–0.50] (a boundary)"
            ),
            "{md}"
        );
        // Tables that agree list no gaps.
        let same = build(&[data(), data()]).unwrap().markdown;
        assert!(!same.contains(" (a boundary)"), "{same}");
    }

    /// A run whose overhead set has the floor at 1000 ns per op and `rt` at `rt_ns`.
    fn with_overhead(rt_ns: f64) -> RunData {
        use crate::analysis::overhead::{FLOOR, summarise, tests::rec};
        let mut d = data();
        let mut records = Vec::new();
        for round in 0..8 {
            // A little spread per round so intervals are not points.
            let j = 1.0 + f64::from(round % 3) * 0.01;
            records.push(rec(FLOOR, round, 1, 1000.0 * j, 900.0));
            records.push(rec("rt", round, 1, rt_ns * j, 900.0));
        }
        d.summary.overhead = summarise(&records, &[FLOOR.to_string(), "rt".to_string()]);
        d
    }

    #[test]
    fn the_overhead_set_is_compared_with_its_tax_verdicts() {
        // Same taxes: the section shows both runs and the verdicts agree.
        let c = build(&[with_overhead(1500.0), with_overhead(1500.0)]).unwrap();
        let md = &c.markdown;
        assert!(md.contains("## Runtime cost per op (overhead set)"), "{md}");
        assert!(md.contains("### read, queue depth 1"), "{md}");
        assert!(md.contains("| io-uring-raw |"), "{md}");
        assert!(md.contains("the floor |"), "{md}");
        assert!(
            md.contains("1 of 1 tax verdicts over the floor are the same in B as in A"),
            "{md}"
        );
        assert_eq!(c.data.overhead.len(), 1);
        assert_eq!(
            c.data.overhead[0]
                .rows
                .iter()
                .find(|r| r.engine == "rt")
                .unwrap()
                .tax,
            vec![Some(TaxAgreement::Same)]
        );
        // B's runtime is below the floor where A's is above: a contradiction, said.
        let c = build(&[with_overhead(1500.0), with_overhead(500.0)]).unwrap();
        assert!(c.markdown.contains("0 of 1 tax verdicts"), "{}", c.markdown);
        assert!(c.markdown.contains("1 **contradict**"), "{}", c.markdown);
        // No set in either run: no section.
        let c = build(&[data(), data()]).unwrap();
        assert!(!c.markdown.contains("Runtime cost per op"));
        assert!(c.data.overhead.is_empty());
    }
}
