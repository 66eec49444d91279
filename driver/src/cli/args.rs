//! The command line, as clap sees it. Types here stop at the clap boundary: `convert.rs`
//! turns them into validated domain options (hyperfine's split).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// ringbench: compare Rust io_uring runtimes on identical, verified file copies.
#[derive(Debug, Parser)]
#[command(name = "ringbench", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
// Parsed once per process; boxing the big variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the benchmark: every selected engine on every selected workload, in rounds.
    Run(RunArgs),
    /// List engines (with availability) and workloads.
    List(ListArgs),
    /// Show what ringbench sees of this machine and of --dir.
    Env(EnvArgs),
    /// Run the cancellation safety matrix (engine x scenario), each cell in its own process.
    Safety(SafetyArgs),
    /// Proof of path: trace a tiny copy per engine and workload (strace) and check the system
    /// calls and threads against each engine's declared routes.
    Audit(AuditArgs),
    /// Fidelity: fio and copy_file_range against the best io_uring engine, the harness's own
    /// cost per op (null engine), and peak RSS against queue depth x block size, in one run.
    Calibrate(CalibrateArgs),
    /// Re-render report.md, summaries and charts of a run folder from its data files.
    Report(ReportArgs),
    /// Set runs side by side (two machines, versions, kernels) with ratios and a chart.
    Compare(CompareArgs),
    /// Print a shell completion script (e.g. `ringbench completions bash > /etc/bash_completion.d/ringbench`).
    Completions {
        /// The shell.
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff; e.g. `ringbench man | man -l -`), or a command's page.
    Man {
        /// A command (`run`, `safety`, ...): its own page, `ringbench-run(1)`.
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
    },
    /// Internal: run one trial (JSON spec on stdin, one JSON line on stdout).
    #[command(name = "__trial", hide = true)]
    Trial,
    /// Internal: run one safety scenario in this process.
    #[command(name = "__safety", hide = true)]
    SafetyChild {
        /// Engine name.
        engine: String,
        /// Scenario id.
        scenario: String,
        /// The run's parameters (`workloads::safety::Params` as JSON: seed, baseline, dir).
        #[arg(long, value_name = "JSON")]
        params: Option<String>,
    },
}

/// `ringbench run`.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Directory on the device under test; ringbench creates a fresh subdirectory in it and
    /// removes only that. Default: the system temporary directory (or the current directory
    /// when that is a tmpfs).
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,

    /// Where results go. Default: results/<utc-time>-<host>/ under the current directory.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// Preset sizes and repeats: `quick` (about 2 minutes on a small VM) or `full`.
    #[arg(long, default_value = "quick", value_name = "NAME")]
    pub profile: String,

    /// Engines, comma separated, or `all` (every listed engine, one release per runtime) or
    /// `all-versions` (also the other releases built in: `compio@0.16`, ...).
    #[arg(long, short = 'e', value_name = "LIST", default_value = "all")]
    pub engines: String,

    /// Workloads, comma separated, or `all`.
    #[arg(long, short = 'w', value_name = "LIST", default_value = "all")]
    pub workloads: String,

    /// Measured rounds (every engine once per round, order shuffled by the seed).
    #[arg(long, value_name = "N")]
    pub repeat: Option<u32>,

    /// Discarded warm-up rounds before the measured ones.
    #[arg(long, value_name = "N")]
    pub warmup: Option<u32>,

    /// Size of the single file of large/read/write (e.g. 64M, 1G).
    #[arg(long, value_name = "SIZE")]
    pub size: Option<String>,

    /// Block (buffer) size; a comma list sweeps it (e.g. 4k,128k,1M).
    #[arg(long, visible_alias = "bs", value_name = "SIZE[,SIZE..]")]
    pub block_size: Option<String>,

    /// Ops in flight per task; a comma list sweeps it.
    #[arg(long, visible_alias = "iodepth", value_name = "N[,N..]")]
    pub queue_depth: Option<String>,

    /// Files in the small workload.
    #[arg(long, value_name = "N")]
    pub files: Option<String>,

    /// Files copied at once (small, tree); a comma list sweeps it.
    #[arg(long, value_name = "N[,N..]")]
    pub files_in_flight: Option<String>,

    /// Runtimes on threads, each with its share of the work; a comma list sweeps it.
    #[arg(long, value_name = "N[,N..]")]
    pub threads: Option<String>,

    /// Directory levels of the tree workload.
    #[arg(long, value_name = "N")]
    pub tree_depth: Option<String>,

    /// Subdirectories per directory in the tree workload.
    #[arg(long, value_name = "N")]
    pub tree_fanout: Option<String>,

    /// Files per directory in the tree workload.
    #[arg(long, value_name = "N")]
    pub tree_files: Option<String>,

    /// Submission queue entries for ring-based runtimes.
    #[arg(long, value_name = "N")]
    pub ring_entries: Option<String>,

    /// Share of read/write op futures to cancel while in flight (polled once, still pending,
    /// dropped, retried), 0 to 1; a comma list sweeps it. Rate 0 always runs too, in the same
    /// rounds, as the baseline of the cost.
    #[arg(long, value_name = "P[,P..]")]
    pub cancel_rate: Option<String>,

    /// Adaptive repeats: after the --repeat rounds, keep adding rounds until every cell's
    /// interval is within +-PCT percent of its median (at 95% confidence), or --max-time is spent.
    #[arg(long, value_name = "PCT")]
    pub target_ci: Option<String>,

    /// Time budget of adaptive repeats, seconds (default 600).
    #[arg(long, value_name = "SECS")]
    pub max_time: Option<String>,

    /// Seed of datasets and round order.
    #[arg(long, value_name = "N", default_value = "1")]
    pub seed: String,

    /// Open the single file of large/read/write with O_DIRECT.
    #[arg(long)]
    pub direct: bool,

    /// Do not fsync written files inside the timed section.
    #[arg(long)]
    pub no_fsync: bool,

    /// Page cache between trials: `drop` (drop_caches, falling back to fadvise), `fadvise`, or
    /// `warm` (leave it).
    #[arg(long, default_value = "drop", value_name = "MODE")]
    pub cache: String,

    /// Skip the overhead set (runtime cost per op: cache-warm 4 KiB read, randread and write at
    /// queue depth 1 and 32 on every engine, with io-uring-raw as the floor).
    #[arg(long)]
    pub no_overhead: bool,

    /// File size of the overhead set (default: 16M, or --size when that is smaller).
    #[arg(long, value_name = "SIZE")]
    pub overhead_size: Option<String>,

    /// CPU every overhead trial is pinned to (all its threads and the kernel's io_uring
    /// workers), or `none`. Default: the last CPU ringbench may run on. Pinned, a cost per op
    /// is the runtime's own (a thread hop is a context switch); unpinned, it includes how fast
    /// the machine wakes another CPU.
    #[arg(long, value_name = "CPU|none")]
    pub overhead_cpu: Option<String>,

    /// Seconds a trial may run before it is killed and recorded as a timeout.
    #[arg(long, value_name = "SECS")]
    pub trial_timeout: Option<String>,

    /// No progress output.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Print the summary as JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `ringbench list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Include test-support engines.
    #[arg(long)]
    pub all: bool,
    /// Print JSON (fields: results/README.md).
    #[arg(long)]
    pub json: bool,
}

/// `ringbench env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Directory whose device and filesystem to describe (default: as `run`).
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `ringbench safety`.
#[derive(Debug, Args)]
pub struct SafetyArgs {
    /// Engines, comma separated, or `all` (every engine that does real I/O, the naive control
    /// included, one release per runtime) or `all-versions` (also `compio@0.16`, ...).
    #[arg(long, short = 'e', value_name = "LIST", default_value = "all")]
    pub engines: String,
    /// Scenarios, comma separated, or `all`.
    #[arg(long, short = 's', value_name = "LIST", default_value = "all")]
    pub scenarios: String,
    /// Where safety.json goes. Default: results/<utc-time>-<host>-safety/.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Seconds one run of a cell may take before it is recorded as a hang that never ended (a
    /// run normally takes well under a second; the data a waiting drop, close or shutdown
    /// needs is supplied after 0.4 s, so 2 s leaves it 1.6 s to return; a hang costs the whole
    /// deadline in every run).
    #[arg(long, value_name = "SECS", default_value = "2")]
    pub timeout: String,
    /// Runs of every cell, each in its own child with its own timing jitter; the verdict says
    /// how often a finding came.
    #[arg(long, value_name = "N", default_value = "5")]
    pub repeats: String,
    /// Children at once (default: twice the number of CPUs: a scenario mostly waits on its own
    /// timers, so the CPUs are idle most of a run).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<String>,
    /// Directory for the scenarios' files (a FIFO, regular files, sockets are on loopback): a
    /// fresh directory is made inside it and removed at the end. Default: the system
    /// temporary directory.
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Do not add the scenarios' positive controls to the engines asked for (their cells then
    /// read "unvalidated" instead of "safe": nothing shows the oracles can fire).
    #[arg(long)]
    pub no_controls: bool,
    /// Print the matrix summary as JSON on stdout instead of the table (fields:
    /// results/README.md; safety.json keeps every run).
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when a ranked engine (not a control) has a finding of one of these kinds in any
    /// run: leak, data-loss, ghost-write, use-after-free, crash, hang, or any. Without it,
    /// findings are results and the exit code is 0.
    #[arg(long, value_name = "KIND[,KIND..]")]
    pub fail_on: Option<String>,
}

/// `ringbench audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Engines, comma separated, or `all` (every listed engine that can run here, one release
    /// per runtime) or `all-versions`.
    #[arg(long, short = 'e', value_name = "LIST", default_value = "all")]
    pub engines: String,
    /// Workloads, comma separated, or `all`.
    #[arg(long, short = 'w', value_name = "LIST", default_value = "all")]
    pub workloads: String,
    /// Where audit.json and audit.md go. Default: results/<utc-time>-<host>-audit/.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Directory for the scratch files (default: as `run`).
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Size of the single file of large/read/write (tiny: tracing is slow).
    #[arg(long, value_name = "SIZE", default_value = "4M")]
    pub size: String,
    /// Block size.
    #[arg(
        long,
        visible_alias = "bs",
        value_name = "SIZE",
        default_value = "128k"
    )]
    pub block_size: String,
    /// Ops in flight per task.
    #[arg(long, visible_alias = "iodepth", value_name = "N", default_value = "8")]
    pub queue_depth: String,
    /// Files in the small workload.
    #[arg(long, value_name = "N", default_value = "16")]
    pub files: String,
    /// Directory levels of the tree workload.
    #[arg(long, value_name = "N", default_value = "1")]
    pub tree_depth: String,
    /// Subdirectories per directory in the tree workload.
    #[arg(long, value_name = "N", default_value = "2")]
    pub tree_fanout: String,
    /// Files per directory in the tree workload.
    #[arg(long, value_name = "N", default_value = "3")]
    pub tree_files: String,
    /// Seconds one traced trial may run.
    #[arg(long, value_name = "SECS", default_value = "60")]
    pub timeout: String,
    /// The strace binary.
    #[arg(long, value_name = "PATH", default_value = "strace")]
    pub strace: PathBuf,
    /// Keep every raw trace under <out>/traces/.
    #[arg(long)]
    pub keep_traces: bool,
    /// Print audit.json on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `ringbench report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run folder (holding meta.json and trials.jsonl; safety.json is used when present).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// A safety.json from `ringbench safety` to include: copied into DIR first, so the folder
    /// stays self-contained and later re-renders see it too.
    #[arg(long, value_name = "FILE")]
    pub safety: Option<PathBuf>,
    /// An audit.json from `ringbench audit` to include (proof of which path each engine's ops
    /// take), copied into DIR the same way.
    #[arg(long, value_name = "FILE")]
    pub audit: Option<PathBuf>,
    /// Report a run whose data is incomplete (interrupted, killed, empty or truncated
    /// trials.jsonl) instead of refusing; the report names what is missing.
    #[arg(long)]
    pub allow_incomplete: bool,
}

/// `ringbench compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Run folders; the first is the baseline the others are compared with.
    #[arg(value_name = "DIR", num_args = 2.., required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where compare.md and plots/compare.{svg,png} go. Default:
    /// results/<utc-time>-<host>-compare/.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Compare runs whose data is incomplete (interrupted, killed, empty or truncated
    /// trials.jsonl) instead of refusing.
    #[arg(long)]
    pub allow_incomplete: bool,
    /// Print the comparison as JSON on stdout instead of the markdown (fields:
    /// results/README.md); compare.md and the chart are written all the same.
    #[arg(long)]
    pub json: bool,
}

/// `ringbench calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Directory on the device under test (as `run`; every phase uses it).
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Where the calibration goes (calibrate.json, calibrate.md, one run folder per phase).
    /// Default: results/<utc-time>-<host>-calibrate/.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Engines, comma separated, or `default` (every io_uring engine, and std).
    #[arg(long, short = 'e', value_name = "LIST", default_value = "default")]
    pub engines: String,
    /// Phases to run: fidelity, harness, memory, or `all`.
    #[arg(long, value_name = "LIST", default_value = "all")]
    pub phases: String,
    /// File size of the fidelity phase (read, write, large vs fio and copy_file_range); large
    /// enough that fio's bandwidth, computed over a runtime in whole milliseconds, is not
    /// quantised by more than about 1%.
    #[arg(long, value_name = "SIZE", default_value = "256M")]
    pub size: String,
    /// Block size of the fidelity phase (fio runs the same).
    #[arg(
        long,
        visible_alias = "bs",
        value_name = "SIZE",
        default_value = "128k"
    )]
    pub block_size: String,
    /// Queue depth of the fidelity and harness phases (fio's iodepth).
    #[arg(long, visible_alias = "iodepth", value_name = "N", default_value = "8")]
    pub queue_depth: String,
    /// Measured rounds of the fidelity and harness phases.
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub repeat: u32,
    /// Discarded warm-up rounds of the fidelity and harness phases.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub warmup: u32,
    /// File size of the harness phase (reads of --harness-block-size).
    #[arg(long, value_name = "SIZE", default_value = "32M")]
    pub harness_size: String,
    /// Block size of the harness phase.
    #[arg(long, value_name = "SIZE", default_value = "4k")]
    pub harness_block_size: String,
    /// The two file sizes of the memory phase, smaller first.
    #[arg(long, value_name = "SIZE,SIZE", default_value = "64M,256M")]
    pub memory_sizes: String,
    /// Block size x queue depth settings of the memory phase.
    #[arg(long, value_name = "BxQ,..", default_value = "128kx8,1Mx32")]
    pub memory_configs: String,
    /// Measured rounds of each memory run.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub memory_repeat: u32,
    /// No progress output.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print calibrate.json on stdout instead of the text.
    #[arg(long)]
    pub json: bool,
}
