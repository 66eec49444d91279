//! `ringbench run`: prepare the scratch directory and datasets, run every trial in its own
//! child process round by round (every engine once per round, order shuffled by the seed),
//! verify each copy outside the timed section, and write results as they come.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::Context;
use workloads::data::{self, Rng};
use workloads::{RuntimeConfig, TrialPlan, Workload};

use crate::analysis::summary::{self, Summary};
use crate::plan::faults::engine_info;
use crate::plan::options::{CacheMode, Config, RunOptions};
use crate::proc::child::TrialSpec;
use crate::proc::spawn::{self, Exit, INTERRUPTED};
use crate::render::progress::{Mode, Progress, Trial};
use crate::results::{EngineMeta, Meta, RunWriter, Status, TrialRecord, Verified, schema};
use crate::sys::scratch::{self, Scratch};

/// How a run ended, for the exit code.
pub struct RunEnd {
    /// Trials that did not succeed.
    pub failed: usize,
    /// Whether the run was interrupted.
    pub interrupted: bool,
    /// The results folder.
    pub out: PathBuf,
}

/// The sources a run's workloads read.
pub(crate) struct Sources {
    large: PathBuf,
    small: PathBuf,
    tree: PathBuf,
}

pub(crate) fn needed_bytes(o: &RunOptions) -> u64 {
    let mut n = 0u64;
    let has = |w| o.workloads.contains(&w);
    if has(Workload::Large) || has(Workload::Read) || has(Workload::Randread) {
        n += o.size; // source
    }
    if has(Workload::Large) || has(Workload::Write) {
        n += o.size; // one destination at a time
    }
    if has(Workload::Small) {
        n += 2 * data::small_total(o.seed, o.files);
    }
    if has(Workload::Tree) {
        n += 2 * data::tree_bytes(o.seed, o.tree);
    }
    n
}

pub(crate) fn prepare_sources(o: &RunOptions, s: &Scratch) -> anyhow::Result<Sources> {
    let src = s.subdir("src")?;
    let srcs = Sources {
        large: src.join("large.bin"),
        small: src.join("small"),
        tree: src.join("tree"),
    };
    let has = |w| o.workloads.contains(&w);
    if has(Workload::Large) || has(Workload::Read) || has(Workload::Randread) {
        data::create_file(&srcs.large, o.seed, o.size).context("creating the large source")?;
    }
    if has(Workload::Small) {
        data::create_small(&srcs.small, o.seed, o.files).context("creating the small-file set")?;
    }
    if has(Workload::Tree) {
        data::create_tree(&srcs.tree, o.seed, o.tree).context("creating the tree")?;
    }
    Ok(srcs)
}

pub(crate) fn plan_for(
    o: &RunOptions,
    srcs: &Sources,
    w: Workload,
    c: &Config,
    dst: &Path,
) -> TrialPlan {
    let (src, dst) = match w {
        Workload::Large => (srcs.large.clone(), dst.join("large.bin")),
        Workload::Read | Workload::Randread => (srcs.large.clone(), dst.join("unused")),
        Workload::Write => (PathBuf::new(), dst.join("write.bin")),
        Workload::Small => (srcs.small.clone(), dst.to_path_buf()),
        Workload::Tree => (srcs.tree.clone(), dst.join("tree")),
    };
    TrialPlan {
        workload: w,
        src,
        dst,
        size: o.size,
        files: o.files,
        files_in_flight: c.files_in_flight,
        tree: o.tree,
        direct: o.direct && w.supports_direct(),
        fsync: o.fsync,
        seed: o.seed,
        threads: c.threads,
        runtime: RuntimeConfig {
            ring_entries: o.ring_entries,
            queue_depth: c.queue_depth,
            block_size: c.block_size,
        },
        cancel_rate: c.cancel_rate(),
    }
}

/// The overhead set's source file (beside the main sources).
fn overhead_src(s: &Scratch) -> PathBuf {
    s.path().join("src").join("overhead.bin")
}

/// Drop the page cache (or advise it away) before a trial; returns what was done.
fn cool_cache(mode: CacheMode, srcs: &Sources) -> String {
    if mode == CacheMode::Warm {
        return "warm".into();
    }
    if mode == CacheMode::Drop {
        rustix::fs::sync();
        if std::fs::write("/proc/sys/vm/drop_caches", b"3\n").is_ok() {
            return "dropped".into();
        }
    }
    for p in [&srcs.large, &srcs.small, &srcs.tree] {
        fadvise_tree(p);
    }
    "fadvise".into()
}

fn fadvise_tree(p: &Path) {
    let Ok(m) = std::fs::symlink_metadata(p) else {
        return;
    };
    if m.is_dir() {
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                fadvise_tree(&e.path());
            }
        }
    } else if m.is_file()
        && let Ok(f) = std::fs::File::open(p)
    {
        // Advice only: a failure leaves the cache as it was, which the record says ("fadvise").
        let _ = rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed);
    }
}

/// Run the benchmark.
///
/// Nothing is created before the pre-flight checks pass (results folder, then `--dir`); the
/// scratch directory is removed on every way out of here — success, error, interrupt, or a
/// panic unwinding through (`Scratch`'s `Drop`).
pub fn run(o: &RunOptions, argv: Vec<String>) -> anyhow::Result<(RunEnd, Summary)> {
    crate::results::check_new_out(&o.out)?;
    let exe = std::env::current_exe().context("locating the ringbench binary")?;
    let scratch = Scratch::create(&o.dir)?;
    let result = run_in(o, argv, &exe, &scratch);
    let removed = scratch.remove();
    let (end, summary) = result?;
    removed.context("removing the scratch directory")?;
    Ok((end, summary))
}

fn run_in(
    o: &RunOptions,
    argv: Vec<String>,
    exe: &Path,
    scratch: &Scratch,
) -> anyhow::Result<(RunEnd, Summary)> {
    if o.direct && !workloads::dataset::direct_supported(scratch.path()) {
        anyhow::bail!(
            "--direct: the filesystem under {} does not support O_DIRECT",
            o.dir.display()
        );
    }
    scratch.check_space(needed_bytes(o) + o.overhead.as_ref().map_or(0, |x| x.needed_bytes()))?;
    let mut progress = Progress::new(Mode::detect(o.quiet), 0);
    let environment = crate::sys::env::capture(scratch.path());
    let mut notes = Vec::new();
    if let Some(n) = &o.dir_note {
        notes.push(n.clone());
    }
    // Scratch directories of runs killed before they could clean up: named, never removed.
    for l in scratch::leftovers(&o.dir, scratch.path()) {
        progress.note(&format!("warning: {}", l.describe()));
        notes.push(l.describe());
    }
    if o.direct && o.workloads.iter().any(|w| !w.supports_direct()) {
        notes.push("--direct applies to large, read and write; small and tree ran buffered (their odd file sizes cannot be written with O_DIRECT)".into());
    }
    if o.cache == CacheMode::Drop && !environment.can_drop_caches {
        notes.push("the page cache could not be dropped (not root): trials used posix_fadvise(DONTNEED) on the sources instead".into());
    }
    if o.cache == CacheMode::Warm {
        notes.push(
            "--cache warm: sources may be in the page cache; numbers reflect cached reads".into(),
        );
    }

    // Engines: probe each; unavailable ones are skipped with their reason, the rest run.
    let mut engine_meta = Vec::new();
    let mut runnable = Vec::new();
    for name in &o.engines {
        let info = engine_info(name).expect("validated engine");
        let probe = crate::plan::engines::probe(crate::plan::faults::base_engine(name))
            .expect("validated engine");
        if let Err(reason) = &probe {
            progress.note(&format!("skipping engine {name}: {reason}"));
            notes.push(format!("engine {name} skipped: {reason}"));
        } else {
            runnable.push(name.clone());
        }
        engine_meta.push(EngineMeta {
            name: name.clone(),
            runtime: info.runtime.into(),
            summary: info.summary.into(),
            available: probe.is_ok(),
            reason: probe.err(),
            info: (&info).into(),
            class: crate::plan::faults::engine_class(name).map(Into::into),
        });
    }
    // Reference rows (kernel-copy, fio) run in the same rounds as the engines (reference.rs);
    // they measure the device, so a run of synthetic engines only (harness checks) has none.
    let any_io = runnable
        .iter()
        .any(|e| engine_info(e).is_some_and(|i| i.caps.does_io));
    // The overhead set (runtime cost per op) needs engines that move data: a run of synthetic
    // engines only has none.
    let overhead = o.overhead.as_ref().filter(|_| any_io);
    let (ref_rows, ref_notes) = if any_io {
        crate::analysis::reference::plan_rows(&o.workloads, environment.fio.as_deref())
    } else {
        (Vec::new(), Vec::new())
    };
    notes.extend(ref_notes);
    let mut shown = o.engines.clone();
    shown.extend(
        ref_rows
            .iter()
            .map(|r| r.0.clone())
            .filter(|r| !o.engines.contains(r)),
    );
    // Reference rows come once per workload (fio, fio-psync, fio, ...): keep each name once,
    // in order of first appearance (`dedup` alone kept every non-adjacent repeat, and the
    // terminal table then showed each fio row once per workload).
    let mut seen = std::collections::HashSet::new();
    shown.retain(|e| seen.insert(e.clone()));
    let mut meta = Meta {
        schema: schema::META.current,
        started: crate::sys::sysinfo::utc_rfc3339(),
        finished: None,
        interrupted: false,
        command: argv,
        options: serde_json::to_value(o).unwrap_or_default(),
        environment,
        engines: engine_meta,
        notes,
    };

    // Datasets before the results folder: a dataset that cannot be made (disk full, inodes)
    // fails the run without leaving an empty results folder behind.
    let srcs = if INTERRUPTED.load(Ordering::SeqCst) {
        None
    } else {
        progress.note(&format!(
            "preparing datasets in {}",
            scratch.path().display()
        ));
        let srcs = prepare_sources(o, scratch)?;
        if let Some(set) = overhead {
            data::create_file(&overhead_src(scratch), o.seed, set.size)
                .context("creating the overhead set's source")?;
        }
        (!INTERRUPTED.load(Ordering::SeqCst)).then_some(srcs)
    };
    let mut writer = RunWriter::create(&o.out)?;
    writer.file("meta.json", &serde_json::to_vec_pretty(&meta)?)?;

    // An engine that cannot open with O_DIRECT sits out the direct workloads (with a note)
    // instead of failing every such trial.
    let no_direct = |e: &str, w: Workload| {
        o.direct && w.supports_direct() && !engine_info(e).is_some_and(|i| i.caps.o_direct)
    };
    for e in &runnable {
        let skipped: Vec<&str> = o
            .workloads
            .iter()
            .filter(|w| no_direct(e, **w))
            .map(|w| w.name())
            .collect();
        if !skipped.is_empty() {
            let why = format!(
                "engine {e} skipped for {} with --direct: it cannot open files with O_DIRECT",
                skipped.join(", ")
            );
            progress.note(&why);
            meta.notes.push(why);
        }
    }

    // Rounds of every (engine, workload, config) once, shuffled by the seed (never all repeats
    // of one engine in a block).
    // The overhead set's cells (flag `true`) join every round, on every engine that moves
    // data; no reference rows (its comparison is the floor engine, io-uring-raw).
    let round_cells = |round: u32| -> Vec<(String, Workload, Config, bool)> {
        let mut cells = Vec::new();
        for w in &o.workloads {
            for c in &o.configs {
                for e in runnable.iter().filter(|e| !no_direct(e, *w)) {
                    cells.push((e.clone(), *w, *c, false));
                }
                for (r, _) in ref_rows.iter().filter(|(_, rw)| rw == w) {
                    cells.push((r.clone(), *w, *c, false));
                }
            }
        }
        for (w, c) in overhead.map(|set| set.cells()).unwrap_or_default() {
            // The fault engines (tests of crash and timeout handling) add nothing here.
            for e in runnable.iter().filter(|e| {
                engine_info(e).is_some_and(|i| i.caps.does_io)
                    && !crate::plan::faults::is_fault_engine(e)
            }) {
                cells.push((e.clone(), w, c, true));
            }
        }
        Rng::new(o.seed, 0x0F0E_0000 + round as u64).shuffle(&mut cells);
        cells
    };

    // Which engines are ranked: the same rule `ringbench report` applies to the saved data.
    let rule_meta = meta.clone();
    let ranked = crate::analysis::rows::ranked_rule(&rule_meta);
    let mut records: Vec<TrialRecord> = Vec::new();
    let mut failed = 0;
    let planned_rounds = o.warmup + o.repeat;
    let per_round = round_cells(0).len();
    progress.set_total(per_round * planned_rounds as usize);
    let started = Instant::now();
    // An error mid-run (a destination that cannot be made, results disk full) stops the loop,
    // but what was measured is still summarised and meta.json says why the run ended.
    let mut stopped: Option<anyhow::Error> = None;
    let mut index = 0usize;
    let mut round = 0u32;
    if let Some(srcs) = &srcs {
        'rounds: loop {
            if round >= planned_rounds {
                // Adaptive repeats: keep adding rounds until every interval is as tight as
                // asked, or the time budget is spent.
                let Some(target) = o.target_ci else { break };
                let mut s = summary::summarise(&records, &shown, &ranked);
                if summary::mark_convergence(&mut s, target).is_empty()
                    || started.elapsed() >= o.max_time
                {
                    break;
                }
                progress.set_total(per_round * (round as usize + 1));
            }
            for (engine, w, config, in_set) in round_cells(round) {
                if INTERRUPTED.load(Ordering::SeqCst) {
                    break 'rounds;
                }
                let t = Trial {
                    round,
                    warmup: round < o.warmup,
                    engine: engine.clone(),
                    workload: w.name(),
                    config: if in_set {
                        format!("overhead-{}", config.id())
                    } else {
                        config.id()
                    },
                };
                progress.started(&t);
                let set = overhead.filter(|_| in_set);
                let rec =
                    match run_one(o, exe, scratch, srcs, set, index, round, &engine, w, config) {
                        Ok(r) => r,
                        Err(e) => {
                            stopped = Some(e);
                            break 'rounds;
                        }
                    };
                index += 1;
                progress.finished(&t, &rec);
                if rec.status != Status::Ok && rec.status != Status::Interrupted {
                    failed += 1;
                }
                if let Err(e) = writer.trial(&rec) {
                    stopped = Some(anyhow::Error::new(e).context("appending to trials.jsonl"));
                    break 'rounds;
                }
                records.push(rec);
            }
            // Rewrite the summary when a round completes, so an interrupted run keeps one.
            if round >= o.warmup
                && let Err(e) =
                    write_summary(&writer, &summary::summarise(&records, &shown, &ranked))
            {
                stopped = Some(e);
                break;
            }
            round += 1;
        }
    }
    progress.finish();
    let interrupted = INTERRUPTED.load(Ordering::SeqCst);
    let mut s = summary::summarise(&records, &shown, &ranked);
    if let Some(target) = o.target_ci {
        let missed = summary::mark_convergence(&mut s, target);
        meta.notes.push(if missed.is_empty() {
            format!(
                "--target-ci {}%: every interval converged after {round} rounds",
                target * 100.0
            )
        } else {
            format!(
                "--target-ci {}%: {} cell(s) did not converge within --max-time {}s: {}",
                target * 100.0,
                missed.len(),
                o.max_time.as_secs(),
                missed.join(", ")
            )
        });
    }
    meta.finished = Some(crate::sys::sysinfo::utc_rfc3339());
    meta.interrupted = interrupted;
    if let Some(e) = &stopped {
        meta.notes
            .push(format!("the run stopped early on an error: {e:#}"));
    }
    let finalised = write_summary(&writer, &s)
        .and_then(|()| Ok(writer.file("meta.json", &serde_json::to_vec_pretty(&meta)?)?));
    if let Some(e) = stopped {
        return Err(e);
    }
    finalised?;
    // report.md and the charts, rendered from the files just written (as `ringbench report`).
    if let Err(e) = crate::commands::report::write_all(writer.dir()) {
        progress.note(&format!("warning: report not written: {e:#}"));
    }
    Ok((
        RunEnd {
            failed,
            interrupted,
            out: writer.dir().to_path_buf(),
        },
        s,
    ))
}

/// The summary files (summary.json, summary.csv), through the exporter table `report` writes
/// every file with: only the entries that need no report.
fn write_summary(writer: &RunWriter, s: &Summary) -> anyhow::Result<()> {
    let src = crate::render::export::Source {
        summary: s,
        report: None,
    };
    crate::render::export::export(&src, &mut |name, bytes| Ok(writer.file(name, bytes)?))
}

#[allow(clippy::too_many_arguments)]
fn run_one(
    o: &RunOptions,
    exe: &Path,
    scratch: &Scratch,
    srcs: &Sources,
    overhead: Option<&crate::plan::overhead_plan::OverheadSet>,
    index: usize,
    round: u32,
    engine: &str,
    w: Workload,
    config: Config,
) -> anyhow::Result<TrialRecord> {
    let dst = scratch.trial_dst(index)?;
    // An overhead trial reads its own source with the page cache warm, whatever --cache says.
    let (plan, cache) = match overhead {
        Some(set) => {
            let src = overhead_src(scratch);
            let cache = crate::plan::overhead_plan::warm(&src);
            let plan = set.plan(&src, w, &config, &dst, o.seed, o.ring_entries);
            (plan, cache)
        }
        None => (
            plan_for(o, srcs, w, &config, &dst),
            cool_cache(o.cache, srcs),
        ),
    };
    let (child_plan, cwd) = spawn::plan_for_child(&plan, scratch.path());
    let spec = TrialSpec {
        engine: engine.to_string(),
        plan: child_plan.clone(),
        passes: overhead.map_or(1, |set| set.passes),
        cpu: overhead.and_then(|set| set.cpu),
    };
    let input = serde_json::to_vec(&spec)?;
    let child = if crate::analysis::reference::is_fio(engine) {
        crate::analysis::reference::run_fio(
            &child_plan,
            engine,
            &cache,
            o.trial_timeout,
            cwd.as_deref(),
        )
        .context("starting fio")?
    } else {
        spawn::run_child(exe, &["__trial"], &input, o.trial_timeout, cwd.as_deref())
            .context("starting a trial child")?
    };
    let does_io = engine_info(engine).is_some_and(|i| i.caps.does_io)
        || engine == crate::analysis::reference::KERNEL_COPY;
    let mut rec = TrialRecord {
        schema: schema::TRIALS.current,
        index,
        round,
        warmup: round < o.warmup,
        engine: engine.to_string(),
        workload: w,
        config,
        status: Status::Ok,
        error: None,
        verified: Verified::NotApplicable,
        verify_detail: None,
        cache,
        direct: plan.direct,
        outcome: None,
        throughput: None,
        usage: child.usage,
        child_wall_s: child.wall.as_secs_f64(),
        overhead: overhead.is_some(),
    };
    // The child's own peak RSS: wait4's counts the driver's peak too (see TrialReply).
    if let Some(k) = child.reply.as_ref().and_then(|r| r.peak_rss_kib) {
        rec.usage.max_rss_kib = k;
    }
    let stderr_tail = |s: &str| {
        if s.is_empty() {
            String::new()
        } else {
            format!(" (stderr: {s})")
        }
    };
    match (&child.exit, child.reply) {
        (Exit::Timeout, _) => {
            rec.status = Status::Timeout;
            rec.error = Some(format!(
                "killed after the {}s deadline",
                o.trial_timeout.as_secs()
            ));
        }
        (Exit::Interrupted, _) => {
            rec.status = Status::Interrupted;
            rec.error = Some("run interrupted".into());
        }
        (Exit::Signal(sig), _) => {
            rec.status = Status::Crash;
            rec.error = Some(format!(
                "child killed by {}{}",
                spawn::signal_name(*sig),
                stderr_tail(&child.stderr)
            ));
        }
        (Exit::Code(_), Some(reply)) => match reply.result {
            Err(e) => {
                rec.status = Status::Error;
                rec.error = Some(e);
            }
            Ok(outcome) => {
                if does_io {
                    match workloads::dataset::verify(&plan, outcome.stats.header_errors) {
                        Ok(()) => rec.verified = Verified::Yes,
                        Err(detail) => {
                            rec.verified = Verified::No;
                            rec.verify_detail = Some(detail);
                            rec.status = Status::VerifyFailed;
                        }
                    }
                }
                if rec.status == Status::Ok {
                    rec.throughput = Some(outcome.bytes_per_sec());
                }
                rec.outcome = Some(outcome);
            }
        },
        (Exit::Code(code), None) => {
            rec.status = Status::NoResult;
            rec.error = Some(match &child.garbage {
                Some(g) => format!("exited {code} with no valid result line; printed: {g:?}"),
                None => format!(
                    "exited {code} without printing a result{}",
                    stderr_tail(&child.stderr)
                ),
            });
        }
    }
    scratch::remove_dst(&dst);
    Ok(rec)
}
