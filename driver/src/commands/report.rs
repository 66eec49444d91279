//! `report.md` and the charts of a run folder, rendered from its data files alone —
//! `meta.json`, `trials.jsonl` and, when present, `safety.json` — so `ringbench report DIR`
//! reproduces exactly what `ringbench run` wrote (both call [`write_all`]). Nothing here
//! measures; every sentence of the "how to choose" section is derived from the numbers and
//! verdicts in those files.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use anyhow::Context;
use workloads::Workload;

use crate::analysis::choose::choices;
use crate::analysis::reference;
use crate::analysis::rows::{engine_order, ranked_rule};
use crate::analysis::run::{RunData, missing};
use crate::analysis::stats::Verdict;
use crate::analysis::summary::{self, Cell};
use crate::render::export::{Report, Source, export};
use crate::render::plots::{self, Chart};
use crate::render::report::{
    charts_section, esc, failures_section, latency_tables, list, params_words, ratio_cell,
    ratio_words, references_section, safety_grid, safety_section, verdict_kind, verdict_meaning,
};
use crate::render::table::mbps;
use crate::results;
use crate::results::safety::SafetyReport;

/// Read a run folder.
pub fn load(dir: &Path) -> anyhow::Result<RunData> {
    let meta = results::read_meta(dir)?;
    let (records, warnings) = results::read_trials(dir)?;
    let safety = read_optional::<SafetyReport>(dir, results::schema::SAFETY)?;
    let audit = read_optional::<crate::results::audit::AuditReport>(dir, results::schema::AUDIT)?;
    let order = engine_order(&meta, &records);
    let mut summary = summary::summarise(&records, &order, ranked_rule(&meta));
    if let Some(target) = meta.options.get("target_ci").and_then(|v| v.as_f64()) {
        summary::mark_convergence(&mut summary, target);
    }
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string());
    Ok(RunData {
        name,
        meta,
        records,
        warnings,
        safety,
        audit,
        summary,
    })
}

/// What a run folder's data lacks, from meta.json and trials.jsonl only (safety.json and
/// audit.json are not read: `report --safety` may be about to replace a damaged one).
pub fn missing_in(dir: &Path) -> anyhow::Result<Vec<String>> {
    let meta = results::read_meta(dir)?;
    let (records, warnings) = results::read_trials(dir)?;
    Ok(missing(&meta, &records, &warnings))
}

/// Every chart of a run.
pub fn charts(d: &RunData) -> anyhow::Result<Vec<Chart>> {
    let s = &d.summary;
    let mut out = Vec::new();
    let err = |e: Box<dyn std::error::Error>| anyhow::anyhow!("drawing a chart: {e}");
    let configs = plots::configs_in(s);
    let single = configs.len() == 1;
    for c in &configs {
        let suffix = if single {
            String::new()
        } else {
            format!("-{}", c.id())
        };
        out.push(plots::throughput(s, c, format!("throughput{suffix}")).map_err(err)?);
    }
    for p in plots::swept(s) {
        out.push(plots::scaling(s, p, format!("scaling-{}", p.id())).map_err(err)?);
    }
    for c in &configs {
        let suffix = if single {
            String::new()
        } else {
            format!("-{}", c.id())
        };
        if let Some(ch) = plots::cpu(s, c, format!("cpu{suffix}")).map_err(err)? {
            out.push(ch);
        }
        if let Some(ch) = plots::latency(s, c, format!("latency{suffix}")).map_err(err)? {
            out.push(ch);
        }
    }
    if let Some(ch) = crate::render::overhead::chart(d).map_err(err)? {
        out.push(ch);
    }
    if let Some(sr) = &d.safety {
        out.push(
            plots::grid_chart(
                "safety".into(),
                "Cancellation safety: engine × scenario".into(),
                &safety_grid(sr),
            )
            .map_err(err)?,
        );
    }
    Ok(out)
}

/// A JSON file of the run folder that may be absent (safety.json, audit.json); one that is
/// present must parse.
fn read_optional<T: serde::de::DeserializeOwned>(
    dir: &Path,
    schema: results::schema::Schema,
) -> anyhow::Result<Option<T>> {
    let name = schema.file;
    match std::fs::read(dir.join(name)) {
        Ok(bytes) => {
            let corrupt = || format!("{}: {name} is corrupt", dir.display());
            let v: serde_json::Value = serde_json::from_slice(&bytes).with_context(corrupt)?;
            // Another schema is named as such, not as corrupt.
            if let Err(why) = schema.check(&v) {
                anyhow::bail!("{}: {why}", dir.join(name).display());
            }
            Ok(Some(serde_json::from_value::<T>(v).with_context(corrupt)?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!(
            "{}: cannot read it: {e}",
            dir.join(name).display()
        )),
    }
}

/// Copy `file` (checked to parse as `T`) into a run folder as `name`, for `ringbench report
/// --safety` / `--audit`: the folder stays self-contained and later re-renders see it too.
pub fn adopt<T: serde::de::DeserializeOwned>(
    dir: &Path,
    file: &Path,
    flag: &str,
    schema: results::schema::Schema,
) -> anyhow::Result<()> {
    let name = schema.file;
    results::read_meta(dir)?;
    let bytes =
        std::fs::read(file).with_context(|| format!("{flag} {}: cannot read", file.display()))?;
    let not_ours = || format!("{flag} {}: not a ringbench {name}", file.display());
    let v: serde_json::Value = serde_json::from_slice(&bytes).with_context(not_ours)?;
    if let Err(why) = schema.check(&v) {
        anyhow::bail!("{flag} {}: {why}", file.display());
    }
    serde_json::from_value::<T>(v).with_context(not_ours)?;
    results::write_atomic(&dir.join(name), &bytes)
        .with_context(|| format!("writing {}", dir.join(name).display()))
}

/// Re-render a run folder from its data: summary.json, summary.csv, report.md, report.html and
/// plots/.
pub fn write_all(dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let d = load(dir)?;
    let charts = charts(&d)?;
    let md = render(&d, &charts);
    // Every file through the one exporter table (render::export), the same one the runner
    // writes the summary files with after every round.
    let src = Source {
        summary: &d.summary,
        report: Some(Report {
            name: &d.name,
            markdown: &md,
            charts: &charts,
        }),
    };
    export(&src, &mut |name, bytes| {
        results::write_atomic(&dir.join(name), bytes)
            .with_context(|| format!("writing {}", dir.join(name).display()))
    })?;
    Ok(dir.join("report.md"))
}

/// The whole report.
pub fn render(d: &RunData, charts: &[Chart]) -> String {
    let m = &d.meta;
    let s = &d.summary;
    let mut out = String::new();
    let o = &mut out;
    let _ = writeln!(o, "# ringbench report: {}\n", d.name);
    let _ = writeln!(
        o,
        "Started {}, finished {}{}. Command: `{}`\n",
        m.started,
        m.finished.as_deref().unwrap_or("(not finished)"),
        if m.interrupted {
            " — **interrupted: partial results**"
        } else {
            ""
        },
        m.command
            .iter()
            .skip(1)
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    // The choice page first: it is the one table a reader choosing a runtime reads.
    out.push_str(&crate::render::choice::render(s, m, d.safety.as_ref()));
    let o = &mut out;
    let _ = writeln!(o, "## Reading the numbers\n");
    let _ = writeln!(
        o,
        "Throughput is payload bytes per second of the timed section (MB/s = 10^6 bytes/s), every copy verified byte for byte after the timed section. Each cell is the median over measured rounds; the interval is the distribution-free order-statistic interval of the median with its achieved confidence level; ratios are computed per round from trials that ran side by side and summarised the same way; a ratio whose interval contains 1 is *within noise*, one whose interval reaches less than 85% confidence (fewer than 4 paired rounds) is *too few rounds*, with the level it reached. Groups follow one rule, walked down each table (rows sorted by group, then median): the engine with the highest median leads group 1; each next engine joins the current group unless its per-round ratio against an engine already in that group is *slower by more than the run's margin* (the whole interval below 1/(1+margin)), in which case it opens the next group, and the group cell shows that ratio. So an engine never sits in a better group than one with a higher median. The margin is measured by the run itself: how far the ratio of a pair of engines moved between the first and the second half of the run's rounds, the 90th percentile over every pair on every table. A smaller difference is decided by which minutes of the machine the run happened to get, so it is shown in the ratio columns but ranks nothing (README, \"Groups\"). The *vs* column compares every engine with the top median's engine, per round (a ratio above 1 there means it won more rounds though its median is lower). CPU s/GB is the CPU time of every thread of the trial's process (io_uring's kernel workers included) over the timed section alone, per 10^9 bytes moved; the whole child's figure, start-up included, is `child_cpu_s_per_gb` in summary.csv.\n"
    );

    // How to choose first: it is what a reader came for.
    out.push_str(&how_to_choose(d));

    let o = &mut out;
    let _ = writeln!(
        o,
        "## Environment\n\n```text\n{}```\n",
        crate::sys::env::render(&m.environment)
    );
    let _ = writeln!(o, "| parameter | value |\n|---|---|");
    for (k, v) in params_words(m) {
        let _ = writeln!(o, "| {k} | {} |", esc(&v));
    }
    let _ = writeln!(o);
    let mut notes: Vec<String> = m.notes.clone();
    notes.extend(
        d.missing()
            .into_iter()
            .map(|w| format!("incomplete data: {w}")),
    );
    let untimed = d
        .records
        .iter()
        .filter(|r| r.status == crate::results::Status::Ok)
        .filter(|r| r.outcome.as_ref().is_some_and(|o| o.cpu.is_none()))
        .count();
    if untimed > 0 {
        // Older results (schema 1) did not read CPU at the edges of the timed section.
        notes.push(format!(
            "{untimed} trial(s) have no CPU reading over the timed section (results from an older ringbench): their CPU s/GB is shown as –; the whole child's figure is `child_cpu_s_per_gb` in summary.csv"
        ));
    }
    if !notes.is_empty() {
        let _ = writeln!(o, "Notes:\n");
        for n in &notes {
            let _ = writeln!(o, "- {}", esc(n));
        }
        let _ = writeln!(o);
    }

    let _ = writeln!(
        o,
        "## Engines\n\n| engine | runtime | model | read / write route | status |\n|---|---|---|---|---|"
    );
    for e in &m.engines {
        let ver = m
            .environment
            .runtimes
            .get(&e.runtime)
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
        let route = |r: Option<workloads::Route>| {
            r.and_then(|r| serde_json::to_value(r).ok())
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_else(|| "?".into())
        };
        let model = e.info.model.as_deref().unwrap_or("?");
        let status = if e.available && d.records.iter().any(|r| r.engine == e.name) {
            "ran".to_string()
        } else if e.available {
            "available, no trial recorded".to_string()
        } else {
            format!("skipped: {}", e.reason.as_deref().unwrap_or("unavailable"))
        };
        let _ = writeln!(
            o,
            "| {} | {}{ver} | {model} | {} / {} | {} |",
            e.name,
            e.runtime,
            route(e.info.routes.read),
            route(e.info.routes.write),
            esc(&status)
        );
    }
    let _ = writeln!(o);
    out.push_str(&references_section(d));
    out.push_str(&results_section(d));
    out.push_str(&crate::render::overhead::section(d));
    out.push_str(&charts_section(charts));
    if let Some(sr) = &d.safety {
        out.push_str(&safety_section(sr));
    }
    if let Some(a) = &d.audit {
        out.push_str(&crate::render::audit::render_markdown(a));
        out.push('\n');
    }
    out.push_str(&failures_section(d));
    let _ = s;
    out
}

fn results_section(d: &RunData) -> String {
    let s = &d.summary;
    let mut o = String::new();
    let _ = writeln!(o, "## Results\n");
    let mut keys: Vec<(Workload, crate::plan::options::Config)> = Vec::new();
    for c in &s.cells {
        if !keys.contains(&(c.workload, c.config)) {
            keys.push((c.workload, c.config));
        }
    }
    for (w, cfg) in keys {
        let mut cells: Vec<&Cell> = s
            .cells
            .iter()
            .filter(|c| c.workload == w && c.config == cfg)
            .collect();
        // Grouped rows first, in the order the grouping rule walks them (group, then median),
        // so a reader checks the groups down the table; the rest keep the run's order.
        cells.sort_by(|a, b| match (a.group, b.group) {
            (Some(x), Some(y)) => x.cmp(&y).then(b.median_bps.total_cmp(&a.median_bps)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        let best = cells
            .iter()
            .find(|c| c.group == Some(1) && c.group_split.is_none())
            .map(|c| c.engine.clone());
        let _ = writeln!(o, "### {w} — {}\n", plots::config_words(&cfg));
        let refs: Vec<&str> = reference::targets(w)
            .iter()
            .map(|t| t.0)
            .filter(|l| {
                cells
                    .iter()
                    .any(|c| c.references.iter().any(|r| r.reference == *l))
            })
            .collect();
        let mut head = format!(
            "| engine | MB/s | interval (level) | n | group | vs {} | vs std |",
            best.as_deref().unwrap_or("best")
        );
        let mut rule = String::from("|---|--:|---|--:|--:|---|---|");
        for r in &refs {
            let _ = write!(head, " vs {r} |");
            rule.push_str("---|");
        }
        head.push_str(" CPU s/GB | peak RSS | notes |");
        rule.push_str("--:|--:|---|");
        let _ = writeln!(o, "{head}\n{rule}");
        for c in &cells {
            let name = if reference::is_reference(&c.engine) {
                format!("*{} (reference)*", c.engine)
            } else {
                c.engine.clone()
            };
            let interval = if c.n > 0 {
                format!(
                    "{}–{} ({:.0}%)",
                    mbps(c.ci.lo),
                    mbps(c.ci.hi),
                    c.ci.level * 100.0
                )
            } else {
                "–".into()
            };
            let mut row = format!(
                "| {name} | {} | {interval} | {} | {} | {} | {} |",
                if c.n > 0 {
                    mbps(c.median_bps)
                } else {
                    "–".into()
                },
                c.n,
                match (c.group, &c.group_split) {
                    (None, _) => "–".into(),
                    (Some(g), None) => g.to_string(),
                    (Some(g), Some(sp)) =>
                        format!("{g}: {} vs {}", ratio_words(&sp.ratio), sp.versus),
                },
                if best.as_deref() == Some(c.engine.as_str()) {
                    "top median".into()
                } else {
                    ratio_cell(&c.vs_best)
                },
                ratio_cell(&c.vs_std),
            );
            for r in &refs {
                let _ = write!(
                    row,
                    " {} |",
                    c.references
                        .iter()
                        .find(|x| x.reference == *r)
                        .map_or("–".into(), |x| ratio_words(&x.ratio))
                );
            }
            let mut notes = Vec::new();
            if c.noisy && c.n > 0 {
                notes.push("noisy (interval over ±10%)".to_string());
            }
            if c.failed > 0 {
                notes.push(format!("{} failed: {}", c.failed, c.failures.join(", ")));
            }
            if let Some(k) = &c.cancel {
                notes.push(format!(
                    "cancels {} attempted, {} in flight",
                    k.attempted, k.landed_in_flight
                ));
                if k.max_leaked_fds > 0 || k.max_leaked_buffer_bytes > 0 {
                    notes.push(format!(
                        "leaked up to {} fds, {} buffer bytes per trial",
                        k.max_leaked_fds, k.max_leaked_buffer_bytes
                    ));
                }
            }
            if let Some(r) = &c.vs_no_cancel {
                notes.push(format!("vs no cancel {}", ratio_words(r)));
            }
            if let Some(n) = crate::render::ceiling::cell_note(c) {
                notes.push(n);
            }
            let _ = writeln!(
                o,
                "{row} {} | {} | {} |",
                c.cpu_s_per_gb.map_or("–".into(), |v| format!("{v:.2}")),
                c.max_rss_kib
                    .map_or("–".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
                esc(&notes.join("; "))
            );
        }
        o.push_str(&crate::render::ceiling::table_note(d, &cells));
        o.push_str(&latency_tables(&cells));
        let _ = writeln!(o);
    }
    o
}

/// "How to choose": derived from the summary and the safety matrix only.
pub fn how_to_choose(d: &RunData) -> String {
    let s = &d.summary;
    let mut o = String::new();
    let _ = writeln!(o, "## How to choose (from this run's data)\n");
    let _ = writeln!(
        o,
        "Ranked by groups; this run's margin: {}. A gap smaller than that ranks nothing.\n",
        s.margin.words()
    );
    let (choices, multi) = choices(s);
    for ch in &choices {
        let (w, cfg, cells) = (ch.workload, ch.config, &ch.cells);
        let what = if multi {
            format!("**{w}** ({})", plots::config_words(&cfg))
        } else {
            format!("**{w}**")
        };
        if cells.is_empty() {
            let _ = writeln!(o, "- {what}: no ranked engine completed a trial.");
            continue;
        }
        let first = &ch.fastest;
        let names: Vec<String> = first
            .iter()
            .map(|c| format!("{} ({} MB/s)", c.engine, mbps(c.median_bps)))
            .collect();
        let lead = first[0];
        // Why the others share group 1 with the leader: their ratio against it did not show
        // them slower. Said as it is: within noise, or too few rounds to tell.
        let mut why: Vec<String> = Vec::new();
        for c in &first[1..] {
            let w = crate::render::choice::tie_reason(&c.vs_best);
            if !why.contains(&w) {
                why.push(w);
            }
        }
        let mut line = if first.len() == 1 {
            format!("- {what}: fastest is {}", names[0])
        } else if why == ["within noise"] {
            format!(
                "- {what}: fastest group (within noise of each other): {}",
                list(&names)
            )
        } else {
            format!(
                "- {what}: fastest group (not shown slower than {}: {}): {}",
                lead.engine,
                why.join("; "),
                list(&names)
            )
        };
        if let Some(cheapest) = ch.cheapest {
            let _ = write!(
                line,
                "; least CPU among them: {} ({:.2} CPU s/GB over the timed section)",
                cheapest.engine,
                cheapest.cpu_s_per_gb.unwrap_or(f64::NAN)
            );
        }
        for r in &lead.references {
            let _ = write!(
                line,
                "; {} = {}",
                lead.engine,
                match r.ratio.verdict {
                    Verdict::WithinNoise | Verdict::TooFewRounds => format!(
                        "{:.2} × {} ({})",
                        r.ratio.median,
                        r.reference,
                        if r.ratio.verdict == Verdict::WithinNoise {
                            "within noise of it".to_string()
                        } else {
                            r.ratio.verdict_words()
                        }
                    ),
                    _ => format!(
                        "{:.2} × {} [{:.2}–{:.2}]",
                        r.ratio.median, r.reference, r.ratio.ci.lo, r.ratio.ci.hi
                    ),
                }
            );
        }
        // One group for several engines: nothing was decided, and the line says so in the
        // words `ringbench compare` matches on (conclusions.rs).
        if ch.undecided {
            line.push_str(
                "; no decision here: no engine was shown slower than another by more than the margin",
            );
        }
        if !ch.slower.is_empty() {
            let _ = write!(
                line,
                "; measurably slower (by more than the margin): {}",
                list(&ch.slower)
            );
        }
        if !ch.unshown.is_empty() {
            let _ = write!(
                line,
                "; in a later group by median but not shown slower than {}: {}",
                lead.engine,
                list(&ch.unshown)
            );
        }
        if ch.noisy.len() == cells.len() && cells.len() > 1 {
            line.push_str(
                " (every cell is noisy: intervals wider than ±10%; more rounds would narrow them)",
            );
        } else if !ch.noisy.is_empty() {
            let _ = write!(line, " (noisy cells: {})", list(&ch.noisy));
        }
        let _ = writeln!(o, "{line}.");
        if let Some(l) = crate::render::ceiling::choose_line(d, &what, cells) {
            let _ = writeln!(o, "{l}");
        }
    }
    if let Some(line) = crate::render::overhead::how_to_choose_line(d) {
        let _ = writeln!(o, "{line}");
    }
    let failed: BTreeMap<String, usize> =
        s.cells
            .iter()
            .filter(|c| c.failed > 0)
            .fold(BTreeMap::new(), |mut m, c| {
                *m.entry(c.engine.clone()).or_default() += c.failed;
                m
            });
    if !failed.is_empty() {
        let v: Vec<String> = failed.iter().map(|(e, n)| format!("{e} ({n})")).collect();
        let _ = writeln!(
            o,
            "- Failed trials (see the end of this report): {}.",
            list(&v)
        );
    }
    match &d.safety {
        None => {
            let _ = writeln!(
                o,
                "- Cancellation safety: not measured in this folder (run `ringbench safety`, then `ringbench report <this folder> --safety <its safety.json>`)."
            );
        }
        Some(sr) => {
            let mut by_engine: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            let mut kinds: Vec<&'static str> = Vec::new();
            for c in &sr.cells {
                for f in c
                    .findings
                    .iter()
                    .chain(std::iter::once(&c.verdict))
                    .filter(|f| f.flagged())
                {
                    let k = verdict_kind(f);
                    let entry = format!("{k} in {}", c.scenario);
                    let v = by_engine.entry(c.engine.as_str()).or_default();
                    if !v.contains(&entry) {
                        v.push(entry);
                    }
                    if !kinds.contains(&k) {
                        kinds.push(k);
                    }
                }
            }
            // An engine with no finding whose cells include unvalidated scenarios is not called
            // clean: nothing showed those scenarios' oracles can fire here.
            let unvalidated_of = |e: &str| -> Vec<String> {
                sr.cells
                    .iter()
                    .filter(|c| c.engine == e && sr.label(c) == "unvalidated")
                    .map(|c| c.scenario.clone())
                    .collect()
            };
            let unproven: Vec<String> = sr
                .engines
                .iter()
                .filter(|e| !by_engine.contains_key(e.as_str()))
                .filter_map(|e| {
                    let u = unvalidated_of(e);
                    (!u.is_empty()).then(|| format!("{e} ({})", u.join(", ")))
                })
                .collect();
            if !unproven.is_empty() {
                let _ = writeln!(
                    o,
                    "- No findings, but some scenarios unvalidated on this machine (their controls were not flagged): {}.",
                    list(&unproven)
                );
            }
            let clean: Vec<String> = sr
                .engines
                .iter()
                .filter(|e| !by_engine.contains_key(e.as_str()))
                .filter(|e| unvalidated_of(e).is_empty())
                .filter(|e| {
                    sr.cells.iter().any(|c| {
                        &c.engine == *e
                            && !matches!(c.verdict, workloads::safety::Verdict::Skipped { .. })
                    })
                })
                .cloned()
                .collect();
            if by_engine.is_empty() {
                let _ = writeln!(
                    o,
                    "- Cancellation safety: no findings on any engine in the scenarios run."
                );
            } else {
                let _ = writeln!(o, "- Cancellation safety findings:");
                for e in &sr.engines {
                    if let Some(v) = by_engine.get(e.as_str()) {
                        // An engine that is not a runtime (the unsafe positive control) says so.
                        let what = match crate::plan::engines::info(e) {
                            Some(i) if !crate::plan::engines::visible(e) => {
                                format!(" (test-support engine, not a runtime: {})", i.summary)
                            }
                            _ => String::new(),
                        };
                        let _ = writeln!(o, "  - {e}{what}: {}.", v.join("; "));
                    }
                }
                let _ = writeln!(o, "  What they mean for a user:");
                for k in kinds {
                    let _ = writeln!(o, "  - *{k}*: {}.", verdict_meaning(k));
                }
            }
            if !clean.is_empty() {
                let nif: Vec<String> = clean
                    .iter()
                    .filter(|e| {
                        sr.cells
                            .iter()
                            .filter(|c| &c.engine == *e)
                            .all(|c| c.in_flight != Some(true))
                    })
                    .cloned()
                    .collect();
                let _ = write!(o, "- No safety findings: {}", list(&clean));
                if !nif.is_empty() {
                    let _ = write!(
                        o,
                        " (of which {} never had an op in flight to cancel: safe by observation, not tested under a real cancel)",
                        list(&nif)
                    );
                }
                let _ = writeln!(o, ".");
            }
        }
    }
    let _ = writeln!(o);
    o
}

// The choice page's and the ceiling notes' tests render the whole report, so they live here
// (their modules are in render/, which cannot import this layer).
#[cfg(test)]
#[path = "report_ceiling_tests.rs"]
mod ceiling_tests;
#[cfg(test)]
#[path = "report_choice_tests.rs"]
pub(crate) mod choice_tests;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    // Shared with the tests of the other commands.
    pub(crate) use crate::results::fixtures::{meta, trial};

    pub(crate) use crate::analysis::fixtures::data;

    #[test]
    fn references_are_not_ranked_but_give_ratios() {
        let d = data();
        let fast_large = d
            .summary
            .cells
            .iter()
            .find(|c| c.engine == "fast" && c.workload == Workload::Large)
            .unwrap();
        assert_eq!(fast_large.group, Some(1));
        let kc = fast_large
            .references
            .iter()
            .find(|r| r.reference == "kernel-copy")
            .unwrap();
        assert!((kc.ratio.median - 200.0 / 220.0).abs() < 1e-3, "{kc:?}");
        assert_eq!(kc.ratio.verdict, Verdict::Slower);
        let fio = fast_large
            .references
            .iter()
            .find(|r| r.reference == "fio read")
            .unwrap();
        assert!((fio.ratio.median - 0.5).abs() < 1e-3);
        let kcell = d
            .summary
            .cells
            .iter()
            .find(|c| c.engine == reference::KERNEL_COPY)
            .unwrap();
        assert!(!kcell.ranked && kcell.group.is_none() && kcell.references.is_empty());
    }

    #[test]
    fn a_latency_table_never_mixes_ops_in_flight() {
        let d = data();
        let md = render(&d, &[]);
        let mut tables = 0;
        let mut lines = md.lines().peekable();
        while let Some(l) = lines.next() {
            let Some(rest) = l.strip_prefix("Per-op latency at ") else {
                continue;
            };
            tables += 1;
            let heading: u64 = rest.split(' ').next().unwrap().parse().unwrap();
            let mut rows = 0;
            for row in lines.by_ref().skip_while(|x| x.is_empty()).skip(2) {
                if !row.starts_with('|') {
                    break;
                }
                let cols: Vec<&str> = row.split('|').map(str::trim).collect();
                let (engine, k) = (cols[1], cols[2].parse::<u64>().unwrap());
                assert_eq!(k, heading, "{row}");
                // And the count is the cell's own, as measured.
                let cell = d
                    .summary
                    .cells
                    .iter()
                    .find(|c| c.engine == engine && c.ops_in_flight == Some(k));
                assert!(cell.is_some(), "{row}");
                rows += 1;
            }
            assert!(rows > 0, "{l}");
        }
        // The data has engines at 1 and 8 ops in flight, on two workloads.
        assert!(tables >= 4, "{tables} latency tables\n{md}");
    }

    #[test]
    fn report_snapshot_of_fixed_data() {
        let d = data();
        let md = render(&d, &[]);
        // The decisive lines, exactly.
        let want = [
            "- **large**: fastest is fast (200.0 MB/s); fast = 0.91 × kernel-copy [0.91–0.91]; fast = 0.50 × fio read [0.50–0.50]; measurably slower (by more than the margin): slow.",
            "- **read**: fastest is fast (310.0 MB/s); fast = 0.78 × fio read [0.77–0.78]; measurably slower (by more than the margin): slow.",
            "| engine | MB/s | interval (level) | n | group | vs fast | vs std | vs kernel-copy | vs fio read | CPU s/GB | peak RSS | notes |",
            "| slow | 100.0 | 98.0–103.0 (94%) | 5 | 2: 0.50× [0.50–0.50] slower vs fast | 0.50× [0.50–0.50] slower | – | 0.45× [0.45–0.45] slower | 0.25× [0.25–0.25] slower | 0.75 | 4.0 MiB | 1 failed: verify-failed |",
            "| fast | 200.0 | 196.0–206.0 (94%) | 5 | 1 | top median | – | 0.91× [0.91–0.91] slower | 0.50× [0.50–0.50] slower | 1.00 | 4.0 MiB |  |",
            "| *kernel-copy (reference)* | 220.0 | 215.6–226.6 (94%) | 5 | – | – | – | – | – | 1.05 | 4.0 MiB |  |",
            "| *fio (reference)* | 400.0 | 392.0–412.0 (94%) | 5 | – | – | – | – | 1.50 | 4.0 MiB |  |",
            "| 30 | 5 | slow | large | verify-failed | byte 7 differs |",
            "- Failed trials (see the end of this report): slow (1).",
            "- Cancellation safety: not measured in this folder",
        ];
        for w in want {
            assert!(md.contains(w), "missing line:\n{w}\n--- report ---\n{md}");
        }
        // Rendering is a pure function of the data.
        assert_eq!(md, render(&data(), &[]));
    }

    #[test]
    fn fio_missing_is_said() {
        let mut d = data();
        d.records.retain(|r| r.engine != reference::FIO);
        d.meta.environment.fio = None;
        let md = render(&d, &[]);
        assert!(
            md.contains("no device-limit reference: fio is not installed on this machine"),
            "{md}"
        );
    }

    #[test]
    fn fio_rows_are_described_as_the_run_measured_them() {
        // The fixture's fio row alone: a run from before fio-psync, described as such.
        let mut d = data();
        let md = render(&d, &[]);
        assert!(md.contains("This run predates the `fio-psync` row"), "{md}");
        assert!(!md.contains("two rows on the read"), "{md}");
        // With a fio-psync row beside it: the two-row description.
        let mut psync = d
            .records
            .iter()
            .find(|r| r.engine == reference::FIO)
            .unwrap()
            .clone();
        psync.engine = reference::FIO_PSYNC.into();
        d.records.push(psync);
        let md = render(&d, &[]);
        assert!(
            md.contains("two rows on the read, write and randread jobs"),
            "{md}"
        );
        assert!(!md.contains("This run predates"), "{md}");
    }

    #[test]
    fn charts_are_valid_svg_and_png() {
        let d = data();
        let cs = charts(&d).unwrap();
        let stems: Vec<&str> = cs.iter().map(|c| c.stem.as_str()).collect();
        assert_eq!(stems, ["throughput", "cpu", "latency"]);
        for c in &cs {
            assert!(
                c.svg.starts_with("<svg") && c.svg.trim_end().ends_with("</svg>"),
                "{}",
                c.stem
            );
            assert!(
                c.png.len() > 1000 && c.png.starts_with(b"\x89PNG\r\n\x1a\n"),
                "{}",
                c.stem
            );
        }
        let tp = &cs[0].svg;
        for e in [
            "fast",
            "slow",
            "kernel-copy 220",
            "fio read (io_uring) 400",
            "throughput, MB/s",
        ] {
            assert!(tp.contains(e), "throughput chart lacks {e:?}");
        }
        // Each engine's fixed colour is used for its bar.
        let c = crate::render::style::look("fast").colour;
        assert!(
            tp.contains(&format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)),
            "colour of fast missing"
        );
    }

    pub(crate) fn safety_cell(
        engine: &str,
        scenario: &str,
        verdict: workloads::safety::Verdict,
        in_flight: bool,
    ) -> crate::results::safety::Cell {
        crate::results::safety::Cell {
            engine: engine.into(),
            scenario: scenario.into(),
            findings: if verdict.flagged() {
                vec![verdict.clone()]
            } else {
                vec![]
            },
            verdict,
            in_flight: Some(in_flight),
            memory_oracle: Some(true),
            counts: Some(workloads::safety::Counts {
                ops: 1,
                dropped_in_flight: u64::from(in_flight),
                ..Default::default()
            }),
            evidence: vec!["poison changed after free".into()],
            wall_ms: 1.0,
            exit: "exit 0".into(),
            stderr_tail: String::new(),
            repeats: 1,
            headline_runs: 1,
            flagged_runs: 0,
            runs: vec![],
            baseline: None,
        }
    }

    #[test]
    fn safety_findings_reach_the_report_and_the_grid() {
        use workloads::safety::Verdict as V;
        let mut d = data();
        d.safety = Some(SafetyReport {
            schema: crate::results::safety::SCHEMA,
            deadline_ms: 5000,
            repeats: 1,
            baselines: Default::default(),
            validation: vec![],
            interrupted: None,
            engines: vec!["fast".into(), "slow".into(), "blocking".into()],
            scenarios: vec!["read-drop".into(), "open-drop".into()],
            cells: vec![
                safety_cell(
                    "fast",
                    "read-drop",
                    V::UseAfterFree {
                        direction: "kernel-wrote".into(),
                        bytes: 64,
                    },
                    true,
                ),
                safety_cell(
                    "fast",
                    "open-drop",
                    V::Leak {
                        what: "fd".into(),
                        count: 8,
                    },
                    true,
                ),
                safety_cell("slow", "read-drop", V::Safe, true),
                safety_cell("slow", "open-drop", V::Safe, true),
                safety_cell("blocking", "read-drop", V::Safe, false),
                safety_cell(
                    "blocking",
                    "open-drop",
                    V::Skipped {
                        reason: "no FIFO".into(),
                    },
                    false,
                ),
            ],
        });
        let md = render(&d, &[]);
        for want in [
            "  - fast: use-after-free in read-drop; leak in open-drop.",
            "  - *use-after-free*: the kernel touched memory after it was freed",
            "  - *leak*: dropping an in-flight op left a descriptor or buffer behind",
            "- No safety findings: slow and blocking (of which blocking never had an op in flight to cancel",
            "| fast | UAF kernel-wrote 64B | leak 8 fd |",
            "| blocking | safe (not in flight) | skipped |",
            "- **fast × read-drop**: UAF kernel-wrote 64B",
            "- blocking × open-drop: no FIFO",
        ] {
            assert!(md.contains(want), "missing:\n{want}\n--- report ---\n{md}");
        }
        let cs = charts(&d).unwrap();
        let g = cs
            .iter()
            .find(|c| c.stem == "safety")
            .expect("a safety chart");
        assert!(g.svg.contains("UAF kernel-wrote 64B") && g.svg.contains("1/1 dropped in flight"));
        assert!(g.png.starts_with(b"\x89PNG"));
    }

    /// report.html made from report.md (`render::html`), on the choice fixture.
    mod html {
        use crate::render::html;
        use crate::render::plots::Chart;

        /// A stand-in for a chart file: small, and naming the path it was read for.
        fn fake_svg(path: &str) -> Option<String> {
            Some(format!(
                "<?xml version=\"1.0\"?>\n<svg width=\"20\" height=\"10\" viewBox=\"0 0 20 10\" xmlns=\"http://www.w3.org/2000/svg\"><text>{path}</text></svg>\n"
            ))
        }

        fn report() -> (String, String) {
            let d = crate::commands::report::choice_tests::data();
            let chart = Chart {
                stem: "throughput".into(),
                title: "Throughput per engine".into(),
                svg: String::new(),
                png: Vec::new(),
            };
            let md = super::super::render(&d, &[chart]);
            let html = html::render("ringbench report: choice", &md, &fake_svg);
            (md, html)
        }

        /// The page's structure: headings, each table's header row, figures, script and style, one
        /// line each, in document order.
        fn skeleton(html: &str) -> String {
            let mut out = Vec::new();
            let mut rest = html;
            while let Some(at) = rest.find('<') {
                rest = &rest[at..];
                let end = rest.find('>').map_or(rest.len(), |e| e + 1);
                let tag = &rest[..end];
                let name: String = tag[1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '/' || *c == '!')
                    .collect();
                let close = |t: &str| rest.find(t).unwrap_or(rest.len());
                match name.as_str() {
                    "!DOCTYPE" | "html" | "head" | "body" | "title" | "style" | "script"
                    | "nav" | "figure" | "table" | "thead" | "tbody" => {
                        out.push(format!("<{name}>"));
                    }
                    "h1" | "h2" | "h3" => {
                        let text = &rest[end..close(&format!("</{name}>"))];
                        out.push(format!("{tag} {text}"));
                    }
                    "th" => {
                        let text = &rest[end..close("</th>")];
                        out.push(format!("  th {text}"));
                    }
                    "svg" => out.push("  <svg> (inline)".into()),
                    _ => {}
                }
                // Skip the bodies of style and script: their text is not structure.
                rest = match name.as_str() {
                    "style" => &rest[close("</style>")..],
                    "script" => &rest[close("</script>")..],
                    _ => &rest[end..],
                };
            }
            out.join("\n")
        }

        #[test]
        fn html_skeleton_snapshot() {
            let (_, html) = report();
            insta::assert_snapshot!(skeleton(&html));
        }

        #[test]
        fn sections_match_the_markdown_exactly() {
            let (md, html) = report();
            // Every heading of report.md, in order, is a heading of report.html with the same text.
            let md_heads: Vec<String> = md
                .lines()
                .filter_map(|l| {
                    let hashes = l.chars().take_while(|c| *c == '#').count();
                    (hashes > 0 && l[hashes..].starts_with(' '))
                        .then(|| format!("h{hashes} {}", l[hashes + 1..].trim()))
                })
                .collect();
            let html_heads: Vec<String> = skeleton(&html)
                .lines()
                .filter(|l| l.starts_with("<h") && l.as_bytes()[2].is_ascii_digit())
                .map(|l| {
                    let level = &l[1..3];
                    let text = l.split_once("> ").map_or("", |x| x.1);
                    format!("{level} {}", text.replace("&amp;", "&"))
                })
                .collect();
            assert_eq!(md_heads, html_heads);
            // And the same tables.
            let md_tables = md.lines().filter(|l| l.starts_with("|---")).count();
            assert_eq!(md_tables, html.matches("<table>").count());
        }

        #[test]
        fn self_contained_and_charts_inline() {
            let (md, html) = report();
            for bad in ["src=", "<link", "@import", "url(", "<img"] {
                assert!(!html.contains(bad), "report.html has {bad:?}");
            }
            // Each chart the markdown shows is inlined, read for its own path.
            let shown = md.matches("](plots/").count() - md.matches("[PNG](plots/").count();
            assert_eq!(shown, 2, "{md}");
            assert_eq!(
                html.matches("<figure class=\"chart\"><svg role=\"img\"")
                    .count(),
                shown
            );
            for p in ["plots/throughput.svg", "plots/safety.svg"] {
                assert!(html.contains(&format!("<text>{p}</text>")), "{p}");
            }
            assert!(!html.contains("<?xml"));
            // A chart whose file is missing is said, not fetched.
            let missing = html::render("t", "![a chart](plots/gone.svg)\n", &|_| None);
            assert!(missing.contains("[chart plots/gone.svg is not in this folder]"));
            // Only plots/NAME.svg is ever read.
            let asked = std::cell::RefCell::new(Vec::new());
            html::render(
                "t",
                "![x](../../etc/passwd.svg) ![y](plots/../x.svg)\n",
                &|p| {
                    asked.borrow_mut().push(p.to_string());
                    None
                },
            );
            assert!(asked.borrow().is_empty(), "{:?}", asked.borrow());
        }
    }
}
