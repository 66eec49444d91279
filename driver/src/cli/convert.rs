//! The command line's arguments, converted at once into validated options: `run`'s into a
//! [`RunRequest`] (validated by the plan layer), `audit`'s and `calibrate`'s into their
//! options. Nothing below this layer sees a clap type, and nothing builds a command line to
//! parse it again: audit and calibrate ask for their runs with typed requests.

use std::time::Duration;

use crate::cli::args::{AuditArgs, CalibrateArgs, RunArgs};
use crate::commands::audit::AuditOptions;
use crate::commands::calibrate::{self, CalibrateOptions};
use crate::plan::options::{self, RunOptions, RunRequest, parse_size};

impl From<&RunArgs> for RunRequest {
    fn from(a: &RunArgs) -> RunRequest {
        RunRequest {
            dir: a.dir.clone(),
            out: a.out.clone(),
            profile: a.profile.clone(),
            engines: a.engines.clone(),
            workloads: a.workloads.clone(),
            repeat: a.repeat,
            warmup: a.warmup,
            size: a.size.clone(),
            block_size: a.block_size.clone(),
            queue_depth: a.queue_depth.clone(),
            files: a.files.clone(),
            files_in_flight: a.files_in_flight.clone(),
            threads: a.threads.clone(),
            tree_depth: a.tree_depth.clone(),
            tree_fanout: a.tree_fanout.clone(),
            tree_files: a.tree_files.clone(),
            ring_entries: a.ring_entries.clone(),
            cancel_rate: a.cancel_rate.clone(),
            target_ci: a.target_ci.clone(),
            max_time: a.max_time.clone(),
            seed: a.seed.clone(),
            direct: a.direct,
            no_fsync: a.no_fsync,
            cache: a.cache.clone(),
            trial_timeout: a.trial_timeout.clone(),
            quiet: a.quiet,
            json: a.json,
            no_overhead: a.no_overhead,
            overhead_size: a.overhead_size.clone(),
            overhead_cpu: a.overhead_cpu.clone(),
        }
    }
}

impl AuditOptions {
    /// Validate `audit`'s arguments (engine and workload names, sizes) through `run`'s own
    /// validation, so the trials are planned exactly as `run` plans them.
    pub fn from_args(a: &AuditArgs) -> anyhow::Result<AuditOptions> {
        let run = RunOptions::from_request(&RunRequest {
            profile: "quick".into(),
            repeat: Some(1),
            warmup: Some(0),
            cache: "warm".into(),
            engines: a.engines.clone(),
            workloads: a.workloads.clone(),
            size: Some(a.size.clone()),
            files: Some(a.files.clone()),
            block_size: Some(a.block_size.clone()),
            queue_depth: Some(a.queue_depth.clone()),
            tree_depth: Some(a.tree_depth.clone()),
            tree_fanout: Some(a.tree_fanout.clone()),
            tree_files: Some(a.tree_files.clone()),
            dir: a.dir.clone(),
            // The audit traces the workloads' own trials; the overhead set is `run`'s.
            no_overhead: true,
            ..RunRequest::default()
        })?;
        let secs = options::parse_num("--timeout", &a.timeout, 1, 3600)?;
        Ok(AuditOptions {
            run,
            out: a
                .out
                .clone()
                .unwrap_or_else(|| options::default_out("-audit")),
            strace: a.strace.clone(),
            deadline: Duration::from_secs(secs),
            keep_traces: a.keep_traces,
        })
    }
}

impl CalibrateOptions {
    /// Validate `calibrate`'s arguments; every error names the flag to fix.
    pub fn from_args(a: &CalibrateArgs) -> anyhow::Result<CalibrateOptions> {
        let engines = if a.engines.trim() == "default" {
            calibrate::default_engines()
        } else {
            options::parse_engines(&a.engines)?
        };
        let phases: Vec<String> = if a.phases.trim() == "all" {
            calibrate::PHASES.iter().map(|p| p.to_string()).collect()
        } else {
            let mut v = Vec::new();
            for p in a.phases.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                if !calibrate::PHASES.contains(&p) {
                    anyhow::bail!(
                        "--phases: unknown phase {p:?} (valid: {}, all)",
                        calibrate::PHASES.join(", ")
                    );
                }
                if !v.iter().any(|x| x == p) {
                    v.push(p.to_string());
                }
            }
            if v.is_empty() {
                anyhow::bail!("--phases {:?}: empty list", a.phases);
            }
            v
        };
        let size = parse_size("--size", &a.size)?;
        let block_size = parse_size("--block-size", &a.block_size)?;
        let harness_size = parse_size("--harness-size", &a.harness_size)?;
        let harness_block = parse_size("--harness-block-size", &a.harness_block_size)?;
        let queue_depth: u64 = a
            .queue_depth
            .trim()
            .parse()
            .ok()
            .filter(|q| (1..=4096).contains(q))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--queue-depth {:?}: expected a whole number between 1 and 4096",
                    a.queue_depth
                )
            })?;
        let memory_sizes: Vec<u64> = a
            .memory_sizes
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_size("--memory-sizes", s))
            .collect::<Result<_, _>>()?;
        if memory_sizes.len() != 2 || memory_sizes[0] >= memory_sizes[1] {
            anyhow::bail!(
                "--memory-sizes {:?}: expected two sizes, smaller first (e.g. 64M,256M)",
                a.memory_sizes
            );
        }
        let mut memory_configs = Vec::new();
        for c in a.memory_configs.split(',').filter(|s| !s.trim().is_empty()) {
            let bad = || {
                anyhow::anyhow!(
                    "--memory-configs {c:?}: expected BLOCKxDEPTH pairs, e.g. 128kx8,1Mx32"
                )
            };
            let (b, q) = c.trim().rsplit_once(['x', 'X']).ok_or_else(bad)?;
            let b = parse_size("--memory-configs", b)?;
            let q: u64 = q.parse().ok().filter(|q| *q >= 1).ok_or_else(bad)?;
            memory_configs.push((b, q));
        }
        if memory_configs.len() < 2 {
            anyhow::bail!(
                "--memory-configs {:?}: expected at least two BLOCKxDEPTH settings (e.g. 128kx8,1Mx32) so RSS can be set against queue depth x block size",
                a.memory_configs
            );
        }
        for (flag, v) in [("--repeat", a.repeat), ("--memory-repeat", a.memory_repeat)] {
            if v == 0 || v > 1000 {
                anyhow::bail!("--{} {v}: must be between 1 and 1000", &flag[2..]);
            }
        }
        Ok(CalibrateOptions {
            dir: a.dir.clone(),
            out: a
                .out
                .clone()
                .unwrap_or_else(|| options::default_out("-calibrate")),
            engines,
            phases,
            size,
            block_size,
            queue_depth,
            repeat: a.repeat,
            warmup: a.warmup,
            harness_size,
            harness_block,
            memory_sizes,
            memory_configs,
            memory_repeat: a.memory_repeat,
            quiet: a.quiet,
            json: a.json,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use clap::Parser;

    use super::*;
    use crate::cli::args::{Cli, Command};

    fn run_args(extra: &[&str]) -> RunArgs {
        let mut argv = vec!["ringbench", "run"];
        argv.extend_from_slice(extra);
        let Command::Run(a) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("not run")
        };
        a
    }

    #[test]
    fn a_bare_run_is_the_default_request() {
        assert_eq!(RunRequest::from(&run_args(&[])), RunRequest::default());
    }

    #[test]
    fn a_request_s_command_line_asks_for_the_same_request() {
        let given = [
            "--out",
            "o",
            "--direct",
            "--cache",
            "fadvise",
            "--dir",
            "d",
            "--quiet",
            "--workloads",
            "read",
            "--engines",
            "std,null",
            "--size",
            "8M",
            "--block-size",
            "4k,8k",
            "--queue-depth",
            "2",
            "--repeat",
            "3",
            "--warmup",
            "0",
            "--profile",
            "full",
            "--files",
            "5",
            "--files-in-flight",
            "2",
            "--threads",
            "1,2",
            "--tree-depth",
            "1",
            "--tree-fanout",
            "2",
            "--tree-files",
            "3",
            "--ring-entries",
            "64",
            "--cancel-rate",
            "0.5",
            "--target-ci",
            "5",
            "--max-time",
            "9",
            "--seed",
            "7",
            "--trial-timeout",
            "30",
            "--overhead-cpu",
            "0",
            "--no-fsync",
            "--json",
        ];
        let r = RunRequest::from(&run_args(&given));
        let args: Vec<OsString> = r.args();
        let again: Vec<&str> = args.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(RunRequest::from(&run_args(&again)), r);
        assert_eq!(again.len(), given.len(), "{again:?}");
    }

    #[test]
    fn audit_plans_one_warm_round_of_the_quick_profile() {
        let Command::Audit(a) = Cli::try_parse_from(["ringbench", "audit", "--engines", "std"])
            .unwrap()
            .command
        else {
            panic!("not audit")
        };
        let o = AuditOptions::from_args(&a).unwrap();
        assert_eq!(o.run.engines, ["std"]);
        assert_eq!((o.run.repeat, o.run.warmup), (1, 0));
        assert_eq!(o.run.cache, options::CacheMode::Warm);
        assert_eq!(o.run.profile, "quick");
    }

    #[test]
    fn options_validate_and_plan_runs() {
        let parse = |extra: &[&str]| {
            let mut argv = vec!["ringbench", "calibrate"];
            argv.extend_from_slice(extra);
            let Command::Calibrate(a) = Cli::try_parse_from(argv).unwrap().command else {
                panic!("not calibrate")
            };
            CalibrateOptions::from_args(&a)
        };
        let o = parse(&["--out", "/x/cal"]).unwrap();
        assert!(o.engines.iter().any(|e| e == "std"));
        assert!(
            o.engines
                .iter()
                .all(|e| e == "std" || crate::plan::engines::is_io_uring(e))
        );
        let runs = o.runs();
        assert_eq!(runs[0].1, "fidelity-rw");
        assert_eq!(runs[1].1, "fidelity-copy");
        assert_eq!(runs[2].1, "harness");
        assert!(runs[2].2.engines.starts_with("null,"), "{:?}", runs[2].2);
        assert_eq!(runs.len(), 3 + 4, "two memory sizes x two settings");
        // Every planned run validates, and the command recorded for it asks for the same run.
        for (_, _, request) in &runs {
            RunOptions::from_request(request).unwrap();
            let mut argv: Vec<OsString> = vec!["ringbench".into(), "run".into()];
            argv.extend(request.args());
            let Command::Run(ra) = Cli::try_parse_from(&argv).unwrap().command else {
                panic!("not run")
            };
            assert_eq!(&RunRequest::from(&ra), request);
        }
        assert!(parse(&["--memory-sizes", "256M,64M"]).is_err());
        assert!(parse(&["--memory-configs", "128k"]).is_err());
        assert!(
            parse(&["--phases", "bogus"])
                .unwrap_err()
                .to_string()
                .contains("--phases")
        );
        assert!(
            parse(&["--engines", "nope"])
                .unwrap_err()
                .to_string()
                .contains("--engines")
        );
        let o = parse(&["--phases", "harness"]).unwrap();
        assert_eq!(o.runs().len(), 1);
    }
}
