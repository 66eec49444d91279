//! The command line: parses the command line, validates it into options, and
//! dispatches. Every error ends as one line on stderr and a meaningful exit code:
//! 0 success, 1 some trials failed (results still written), 2 bad input or a failed run,
//! 130/143 interrupted by SIGINT/SIGTERM (results so far kept).

pub mod args;
pub mod convert;
pub mod shell;

use clap::Parser;

use crate::analysis;
use crate::commands::{audit, calibrate, compare, report, runner, safety};
use crate::plan::{engines, options, safety_plan};
use crate::proc::{child, spawn};
use crate::render::table;
use crate::results;
use crate::sys::{env, scratch};
use args::{Cli, Command};

/// Parse the command line, run the subcommand, and return the process's exit code.
pub fn real_main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return 0;
            }
            // Bare `ringbench` (no subcommand): the help, on stderr, and the exit code of bad
            // input, so a script that forgot its subcommand does not pass.
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                let _ = e.print();
                return 2;
            }
            // One line: clap's first line, without the usage block.
            let text = e.to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            eprintln!("ringbench: error: {first} (see ringbench --help)");
            return 2;
        }
    };
    match cli.command {
        Command::Trial => child::main(),
        Command::SafetyChild {
            engine,
            scenario,
            params,
        } => match params.as_deref().map(serde_json::from_str).transpose() {
            Ok(p) => {
                crate::proc::safety_child::child_main(&engine, &scenario, &p.unwrap_or_default())
            }
            Err(e) => {
                eprintln!("ringbench __safety: --params: {e}");
                2
            }
        },
        Command::Safety(a) => fail_on_err(cmd_safety(&a)),
        Command::Audit(a) => fail_on_err(cmd_audit(&a)),
        Command::Calibrate(a) => fail_on_err(cmd_calibrate(&a)),
        Command::Run(a) => fail_on_err(cmd_run(&a)),
        Command::Report(a) => fail_on_err(cmd_report(&a)),
        Command::Compare(a) => fail_on_err(cmd_compare(&a)),
        Command::List(a) => fail_on_err(cmd_list(&a).map(|()| 0)),
        Command::Env(a) => fail_on_err(cmd_env(&a).map(|()| 0)),
        Command::Completions { shell: sh } => {
            let mut text = Vec::new();
            shell::completions(sh, &mut text);
            fail_on_err(out(&String::from_utf8_lossy(&text)).map(|()| 0))
        }
        Command::Man { command } => {
            let mut text = Vec::new();
            fail_on_err(
                shell::man(command.as_deref(), &mut text)
                    .and_then(|()| out(&String::from_utf8_lossy(&text)))
                    .map(|()| 0),
            )
        }
    }
}

fn fail_on_err(r: anyhow::Result<i32>) -> i32 {
    r.unwrap_or_else(|e| {
        // stdout closed under us (`ringbench list | head -1`) is not an error: exit quietly.
        if is_broken_pipe(&e) {
            return 0;
        }
        eprintln!("ringbench: error: {e:#}");
        2
    })
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Write to stdout; a closed pipe comes back as an error (where `println!` would panic).
fn out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_bytes())?;
    o.flush()?;
    Ok(())
}

/// For output printed by code that uses `println!` (which panics on a closed stdout), once
/// all work is done: a closed pipe then ends the process silently, as for most Unix tools.
fn default_sigpipe() {
    // SAFETY: restoring the default disposition of a signal.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}

/// The command line as given, for the records: a path that is not UTF-8 is kept lossily
/// (`std::env::args` would panic on it).
fn argv() -> Vec<String> {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn cmd_run(a: &args::RunArgs) -> anyhow::Result<i32> {
    let o = options::RunOptions::from_request(&a.into())?;
    spawn::install_signal_handlers();
    let (end, summary) = runner::run(&o, argv())?;
    // --json: the summary and nothing else on stdout; --quiet: no table either. A reader that
    // went away (broken pipe) does not change the exit code: the results are on disk.
    let printed = if o.json {
        out(&format!("{}\n", serde_json::to_string_pretty(&summary)?))
    } else if o.quiet {
        Ok(())
    } else {
        out(&format!(
            "{}\nmargin: {}\n{}\nresults: {}\n",
            table::render(&summary),
            summary.margin.words(),
            table::LEGEND,
            end.out.display()
        ))
    };
    if let Err(e) = printed
        && !is_broken_pipe(&e)
    {
        return Err(e);
    }
    if end.interrupted {
        eprintln!(
            "ringbench: interrupted by {}; results so far are in {}",
            spawn::interrupted_by_name(),
            end.out.display()
        );
        return Ok(spawn::interrupted_exit_code());
    }
    if end.failed > 0 {
        eprintln!(
            "ringbench: {} trial(s) failed; see {}",
            end.failed,
            end.out.join("trials.jsonl").display()
        );
        return Ok(1);
    }
    Ok(0)
}

fn cmd_list(a: &args::ListArgs) -> anyhow::Result<()> {
    let l = crate::commands::listing::collect(a.all);
    if a.json {
        out(&format!("{}\n", serde_json::to_string_pretty(&l)?))
    } else {
        out(&crate::commands::listing::render(&l))
    }
}

fn cmd_env(a: &args::EnvArgs) -> anyhow::Result<()> {
    let dir = a.dir.clone().unwrap_or_else(|| options::default_dir().0);
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => anyhow::bail!("--dir {}: not a directory", dir.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            anyhow::bail!("--dir {}: does not exist", dir.display())
        }
        Err(e) => anyhow::bail!("--dir {}: {e}", dir.display()),
    }
    // Nothing in --dir is touched: the O_DIRECT probe runs in a scratch directory of its own.
    let e = env::capture_outside(&dir);
    if a.json {
        out(&format!("{}\n", serde_json::to_string_pretty(&e)?))
    } else {
        out(&env::render(&e))
    }
}

fn cmd_safety(a: &args::SafetyArgs) -> anyhow::Result<i32> {
    let engines: Vec<String> = if a.engines.trim() == "all" {
        safety_plan::default_engines()
    } else if a.engines.trim() == "all-versions" {
        safety_plan::all_version_engines()
    } else {
        a.engines
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let scenarios: Vec<String> = if a.scenarios.trim() == "all" {
        safety_plan::SCENARIOS
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        a.scenarios
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let secs = options::parse_num("--timeout", &a.timeout, 1, 3600)?;
    let repeats = options::parse_num("--repeats", &a.repeats, 1, 1000)? as u32;
    let jobs = match &a.jobs {
        Some(j) => options::parse_num("--jobs", j, 1, 256)? as usize,
        None => 2 * std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let fail_on: Vec<String> = match &a.fail_on {
        None => Vec::new(),
        Some(list) => {
            let kinds: Vec<String> = list
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if kinds.is_empty() {
                anyhow::bail!("--fail-on {list:?}: empty list");
            }
            if let Some(k) = kinds
                .iter()
                .find(|k| !analysis::safety::FAIL_KINDS.contains(&k.as_str()))
            {
                anyhow::bail!(
                    "--fail-on: unknown kind {k:?} (valid: {})",
                    analysis::safety::FAIL_KINDS.join(", ")
                );
            }
            kinds
        }
    };
    if let Some(d) = &a.dir
        && !d.is_dir()
    {
        anyhow::bail!("--dir {}: not an existing directory", d.display());
    }
    // Names are checked here, before anything is created, with the flag to fix.
    if engines.is_empty() {
        anyhow::bail!("--engines {:?}: empty list", a.engines);
    }
    if let Some(e) = engines.iter().find(|e| engines::info(e).is_none()) {
        anyhow::bail!(
            "--engines: unknown engine {e:?} (valid: {})",
            safety_plan::default_engines().join(", ")
        );
    }
    if scenarios.is_empty() {
        anyhow::bail!("--scenarios {:?}: empty list", a.scenarios);
    }
    if let Some(s) = scenarios.iter().find(|s| !safety_plan::known_scenario(s)) {
        anyhow::bail!(
            "--scenarios: unknown scenario {s:?} (valid: {})",
            safety_plan::SCENARIOS.join(", ")
        );
    }
    // Every scenario's positive controls run too (only in the scenarios they control): a
    // clean cell is only "safe" where a control was seen flagged in the same run.
    let mut engines = engines;
    if !a.no_controls {
        for s in &scenarios {
            for c in workloads::safety::scenario(s).map_or(&[][..], |s| s.controls) {
                if !engines.iter().any(|e| e == c) {
                    engines.push(c.to_string());
                }
            }
        }
    }
    let out_dir = a
        .out
        .clone()
        .unwrap_or_else(|| options::default_out("-safety"));
    results::check_new_out(&out_dir)?;
    // Every file a scenario makes lives in this fresh directory, removed at the end; named
    // like every other command's, so the next command in that --dir finds it if this one is
    // killed.
    let base = a.dir.clone().unwrap_or_else(std::env::temp_dir);
    let scratch = scratch::Scratch::create(&base)?;
    for l in scratch::leftovers(&base, scratch.path()) {
        eprintln!("ringbench safety: {}", l.describe());
    }
    spawn::install_signal_handlers();
    let opts = safety::SafetyOptions {
        engines,
        scenarios,
        out_dir: out_dir.clone(),
        deadline: std::time::Duration::from_secs(secs),
        exe: std::env::current_exe()?,
        repeats,
        jobs,
        scratch: scratch.path().to_path_buf(),
    };
    let report = safety::run_matrix(&opts)?;
    if let Err(e) = scratch.remove() {
        eprintln!("ringbench safety: removing the scratch directory: {e}");
    }
    default_sigpipe();
    if a.json {
        let doc = crate::commands::machine::safety_summary(&report, &out_dir.join("safety.json"));
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        safety::print_matrix(&report);
        println!("safety.json: {}", out_dir.join("safety.json").display());
    }
    if spawn::interrupted() {
        eprintln!(
            "ringbench safety: interrupted; {} written with the {} cells that ran",
            out_dir.join("safety.json").display(),
            report.cells.len()
        );
        return Ok(spawn::interrupted_exit_code());
    }
    let failing = analysis::safety::failing(&report, &fail_on);
    if !failing.is_empty() {
        for (c, k) in &failing {
            eprintln!("--fail-on: {} × {}: {k}", c.engine, c.scenario);
        }
        return Ok(1);
    }
    Ok(0)
}

fn cmd_calibrate(a: &args::CalibrateArgs) -> anyhow::Result<i32> {
    let o = calibrate::CalibrateOptions::from_args(a)?;
    spawn::install_signal_handlers();
    let (cal, code) = calibrate::run(&o, argv())?;
    let text = if a.json {
        format!("{}\n", serde_json::to_string_pretty(&cal)?)
    } else {
        format!(
            "{}\ncalibrate.md: {}\n",
            crate::render::calibration::render(&cal),
            o.out.join("calibrate.md").display()
        )
    };
    if let Err(e) = out(&text)
        && !is_broken_pipe(&e)
    {
        return Err(e);
    }
    if cal.interrupted {
        eprintln!(
            "ringbench calibrate: interrupted by {}; {} written with the {} of {} runs that started (each run's folder keeps its trials)",
            spawn::interrupted_by_name(),
            o.out.join("calibrate.json").display(),
            cal.runs.len(),
            cal.planned_runs
        );
    }
    Ok(code)
}

fn cmd_audit(a: &args::AuditArgs) -> anyhow::Result<i32> {
    let o = audit::AuditOptions::from_args(a)?;
    spawn::install_signal_handlers();
    let report = audit::run(&o)?;
    audit::write(&report, &o.out)?;
    default_sigpipe();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", crate::render::audit::render_table(&report));
        println!("audit.json: {}", o.out.join("audit.json").display());
    }
    if report.interrupted {
        eprintln!(
            "ringbench audit: interrupted by {}; {} written with the {} of {} cells that finished",
            spawn::interrupted_by_name(),
            o.out.join("audit.json").display(),
            report.cells.len(),
            report.planned
        );
        return Ok(spawn::interrupted_exit_code());
    }
    // 1 when an engine's trace contradicts its declared routes or a trial failed.
    let bad = report
        .cells
        .iter()
        .any(|c| c.status != "ok" || !c.mismatches.is_empty());
    Ok(if bad { 1 } else { 0 })
}

fn cmd_report(a: &args::ReportArgs) -> anyhow::Result<i32> {
    // Incomplete data is refused before anything is written (nothing adopted either).
    let missing = report::missing_in(&a.dir)?;
    if !missing.is_empty() && !a.allow_incomplete {
        anyhow::bail!(
            "{}: incomplete data: {} (pass --allow-incomplete to report what there is)",
            a.dir.display(),
            missing.join("; ")
        );
    }
    if let Some(f) = &a.safety {
        report::adopt::<results::safety::SafetyReport>(
            &a.dir,
            f,
            "--safety",
            results::schema::SAFETY,
        )?;
    }
    if let Some(f) = &a.audit {
        report::adopt::<results::audit::AuditReport>(&a.dir, f, "--audit", results::schema::AUDIT)?;
    }
    let path = report::write_all(&a.dir)?;
    // What is missing is in the report's notes; say so where the user is looking, too.
    for w in missing {
        eprintln!("ringbench: warning: {}: {w}", a.dir.display());
    }
    default_sigpipe();
    println!("{}", path.display());
    Ok(0)
}

fn cmd_compare(a: &args::CompareArgs) -> anyhow::Result<i32> {
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| options::default_out("-compare"));
    let c = compare::run(&a.dirs, &out, a.allow_incomplete)?;
    default_sigpipe();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&c.data)?);
        return Ok(0);
    }
    print!("{}", c.markdown);
    println!(
        "
compare.md: {}",
        out.join("compare.md").display()
    );
    Ok(0)
}
