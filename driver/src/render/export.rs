//! The exporter seam: every file rendered into a run folder from its data — summary.json,
//! summary.csv, the charts, report.md, report.html — is one entry of [`EXPORTERS`], and
//! [`export`] is the one function that writes them, for the runner (after every round: the
//! entries that need only the summary) and for `ringbench report` (all of them). A new format
//! is one file (its renderer) and one line in the table.
//!
//! The report's markdown and charts are made above this layer (they include the sections that
//! live beside their commands), so they come in ready in [`Report`]; each exporter only turns
//! what it is given into bytes.

use crate::analysis::summary::Summary;
use crate::render::plots::Chart;

/// What the exporters render from.
pub struct Source<'a> {
    /// The run's summary.
    pub summary: &'a Summary,
    /// The report, when one is written (`None` while a run is still measuring: only the
    /// exporters that need the summary alone run).
    pub report: Option<Report<'a>>,
}

/// A run's report, rendered above this layer.
pub struct Report<'a> {
    /// The run folder's name.
    pub name: &'a str,
    /// report.md's text.
    pub markdown: &'a str,
    /// Every chart of the run.
    pub charts: &'a [Chart],
}

/// Files an exporter makes: paths relative to the run folder, and their bytes.
pub type Files = Vec<(String, Vec<u8>)>;

/// One file (or family of files) of a run folder.
pub struct Exporter {
    /// What it writes (`summary.json`, `charts`), for errors and the docs.
    pub name: &'static str,
    /// Whether it needs the report ([`Source::report`]); those that do not are rewritten
    /// after every round of a run.
    pub needs_report: bool,
    /// The files it makes from a source.
    pub render: fn(&Source) -> anyhow::Result<Files>,
}

/// Every exporter, in the order their files are written: report.html last, after the charts
/// it inlines.
pub const EXPORTERS: &[Exporter] = &[
    Exporter {
        name: "summary.json",
        needs_report: false,
        render: summary_json,
    },
    Exporter {
        name: "summary.csv",
        needs_report: false,
        render: summary_csv,
    },
    Exporter {
        name: "charts",
        needs_report: true,
        render: charts,
    },
    Exporter {
        name: "report.md",
        needs_report: true,
        render: report_md,
    },
    Exporter {
        name: "report.html",
        needs_report: true,
        render: report_html,
    },
];

/// Render every exporter `src` can feed and hand each file to `write` (a path relative to the
/// run folder, its bytes), in table order; the first error stops it.
pub fn export(
    src: &Source,
    write: &mut dyn FnMut(&str, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    for e in EXPORTERS {
        if e.needs_report && src.report.is_none() {
            continue;
        }
        for (path, bytes) in (e.render)(src)? {
            write(&path, &bytes)?;
        }
    }
    Ok(())
}

/// The report of a source, for the exporters that need one (never called without: see
/// [`export`]).
fn report<'a>(src: &'a Source) -> anyhow::Result<&'a Report<'a>> {
    src.report
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no report to export"))
}

fn summary_json(src: &Source) -> anyhow::Result<Files> {
    Ok(vec![(
        "summary.json".into(),
        serde_json::to_vec_pretty(src.summary)?,
    )])
}

fn summary_csv(src: &Source) -> anyhow::Result<Files> {
    Ok(vec![(
        "summary.csv".into(),
        crate::render::csv_out::csv(src.summary).into_bytes(),
    )])
}

fn charts(src: &Source) -> anyhow::Result<Files> {
    let mut out = Vec::new();
    for c in report(src)?.charts {
        out.push((format!("plots/{}.svg", c.stem), c.svg.clone().into_bytes()));
        out.push((format!("plots/{}.png", c.stem), c.png.clone()));
    }
    Ok(out)
}

fn report_md(src: &Source) -> anyhow::Result<Files> {
    Ok(vec![(
        "report.md".into(),
        report(src)?.markdown.as_bytes().to_vec(),
    )])
}

fn report_html(src: &Source) -> anyhow::Result<Files> {
    let r = report(src)?;
    // The charts inline, from the very SVG text the charts exporter writes to plots/.
    let svg = |path: &str| {
        r.charts
            .iter()
            .find(|c| {
                path.strip_prefix("plots/")
                    .and_then(|p| p.strip_suffix(".svg"))
                    == Some(&c.stem)
            })
            .map(|c| c.svg.clone())
    };
    let html =
        crate::render::html::render(&format!("ringbench report: {}", r.name), r.markdown, &svg);
    Ok(vec![("report.html".into(), html.into_bytes())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_in_progress_writes_the_summary_files_only_and_a_report_writes_all() {
        let summary = crate::analysis::fixtures::summary();
        let mut names = Vec::new();
        let src = Source {
            summary: &summary,
            report: None,
        };
        export(&src, &mut |p, _| {
            names.push(p.to_string());
            Ok(())
        })
        .unwrap();
        assert_eq!(names, ["summary.json", "summary.csv"]);

        let chart = Chart {
            stem: "throughput".into(),
            title: "Throughput".into(),
            svg: "<svg>t</svg>".into(),
            png: vec![1, 2],
        };
        let md = "# r\n\n![Throughput](plots/throughput.svg)\n";
        let src = Source {
            summary: &summary,
            report: Some(Report {
                name: "run",
                markdown: md,
                charts: std::slice::from_ref(&chart),
            }),
        };
        let mut files = Vec::new();
        export(&src, &mut |p, b| {
            files.push((p.to_string(), b.to_vec()));
            Ok(())
        })
        .unwrap();
        let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            names,
            [
                "summary.json",
                "summary.csv",
                "plots/throughput.svg",
                "plots/throughput.png",
                "report.md",
                "report.html"
            ]
        );
        assert_eq!(files[4].1, md.as_bytes());
        let html = String::from_utf8(files[5].1.clone()).unwrap();
        assert!(
            html.contains("<title>ringbench report: run</title>"),
            "{html}"
        );
    }
}
