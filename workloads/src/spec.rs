//! What a trial runs (`TrialPlan`) and what it measured (`Outcome`): the data that crosses
//! from the driver to a trial's child process and back, as JSON.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::data::TreeShape;
use crate::hist::Histogram;
use crate::{CpuUsage, RuntimeConfig};

/// The workloads, by stable id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// One big file copied block by block.
    Large,
    /// Many small files, each opened, copied and closed.
    Small,
    /// A directory tree: walk, mkdir, copy, permissions.
    Tree,
    /// The read half of `large` alone.
    Read,
    /// The write half of `large` alone.
    Write,
    /// `read`'s blocks in a seeded random order (each block once, as fio's `randread` with its
    /// random map): small random reads at depth, where io_uring is meant to win on NVMe.
    Randread,
}

impl Workload {
    /// Every workload, in display order.
    pub const ALL: [Workload; 6] = [
        Workload::Large,
        Workload::Small,
        Workload::Tree,
        Workload::Read,
        Workload::Write,
        Workload::Randread,
    ];

    /// Stable id.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Large => "large",
            Workload::Small => "small",
            Workload::Tree => "tree",
            Workload::Read => "read",
            Workload::Write => "write",
            Workload::Randread => "randread",
        }
    }

    /// One line for `ringbench list`.
    pub fn summary(self) -> &'static str {
        match self {
            Workload::Large => {
                "one file of --size copied in --block-size chunks, --queue-depth in flight"
            }
            Workload::Small => {
                "--files files (seeded size mix incl. empty and odd sizes), --files-in-flight at once"
            }
            Workload::Tree => {
                "a directory tree (depth, fan-out, empty dirs, modes) copied rsync-like"
            }
            Workload::Read => "calibration: the read half of `large` (headers checked)",
            Workload::Write => "calibration: the write half of `large` (image verified)",
            Workload::Randread => {
                "`read`'s --block-size blocks in a seeded random order, each once (headers checked)"
            }
        }
    }

    /// Parse a stable id.
    pub fn parse(s: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == s)
    }

    /// Whether `--direct` applies (the single-file workloads, whose sizes we control).
    pub fn supports_direct(self) -> bool {
        matches!(
            self,
            Workload::Large | Workload::Read | Workload::Write | Workload::Randread
        )
    }
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything a trial's child needs to run one workload once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialPlan {
    /// Which workload.
    pub workload: Workload,
    /// Source file (large, read) or directory (small, tree); unused by write.
    pub src: PathBuf,
    /// Destination file (large, write) or directory (small: existing; tree: to be created);
    /// unused by read.
    pub dst: PathBuf,
    /// Bytes of the single file (large, read, write).
    pub size: u64,
    /// Number of files (small).
    pub files: usize,
    /// Files copied at once (small, tree).
    pub files_in_flight: usize,
    /// Shape of the tree dataset (tree).
    pub tree: TreeShape,
    /// Open the single file with `O_DIRECT`.
    pub direct: bool,
    /// fsync every written file before closing it (inside the timed section).
    pub fsync: bool,
    /// Dataset seed (content and verification headers).
    pub seed: u64,
    /// Runtimes on threads, each with its share of the work.
    pub threads: usize,
    /// Runtime parameters: ring size, queue depth, block size.
    pub runtime: RuntimeConfig,
    /// Share of reads and writes whose first attempt is polled once and, if still pending,
    /// dropped and retried (cancellation under load); 0 disables injection.
    #[serde(default)]
    pub cancel_rate: f64,
}

impl TrialPlan {
    /// A plan with defaults for everything but the workload and paths (tests and benches).
    pub fn new(workload: Workload, src: PathBuf, dst: PathBuf) -> TrialPlan {
        TrialPlan {
            workload,
            src,
            dst,
            size: 8 << 20,
            files: 64,
            files_in_flight: 8,
            tree: TreeShape::default(),
            direct: false,
            fsync: false,
            seed: 1,
            threads: 1,
            runtime: RuntimeConfig::default(),
            cancel_rate: 0.0,
        }
    }
}

/// Op counters and latencies of a trial (summed over its threads).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// `read_at` calls.
    pub reads: u64,
    /// `write_at` calls.
    pub writes: u64,
    /// Bytes returned by reads.
    pub bytes_read: u64,
    /// Bytes accepted by writes.
    pub bytes_written: u64,
    /// opens + closes + syncs + directory ops.
    pub other_ops: u64,
    /// 4 KiB blocks whose verification header was wrong (read workload).
    pub header_errors: u64,
    /// Latency of each `read_at`, ns.
    pub read_latency: Histogram,
    /// Latency of each `write_at`, ns.
    pub write_latency: Histogram,
    /// Injected cancels: op futures polled once to be dropped if still pending.
    #[serde(default)]
    pub cancels_attempted: u64,
    /// Injected cancels whose op was still pending after its first poll, so it was dropped in
    /// flight (and retried with a fresh buffer).
    #[serde(default)]
    pub cancels_in_flight: u64,
    /// Injected cancels whose op completed in its first poll: nothing was cancelled, the
    /// result was used.
    #[serde(default)]
    pub cancels_vacuous: u64,
    /// The most reads and writes outstanding at once (started, not yet finished) on a thread,
    /// summed over threads: the concurrency the latency histograms were measured at. It is
    /// what the harness kept in flight, measured — not the engine's declared queue depth — so
    /// a blocking engine reads 1 whatever `--queue-depth` says, and an engine that queues ops
    /// internally counts the queued ones (their wait is in their latency). 0 = not recorded.
    #[serde(default)]
    pub max_in_flight: u64,
}

impl Stats {
    /// Add another thread's stats.
    pub fn merge(&mut self, o: &Stats) {
        self.reads += o.reads;
        self.writes += o.writes;
        self.bytes_read += o.bytes_read;
        self.bytes_written += o.bytes_written;
        self.other_ops += o.other_ops;
        self.header_errors += o.header_errors;
        self.read_latency.merge(&o.read_latency);
        self.write_latency.merge(&o.write_latency);
        self.cancels_attempted += o.cancels_attempted;
        self.cancels_in_flight += o.cancels_in_flight;
        self.cancels_vacuous += o.cancels_vacuous;
        // Threads run side by side: their peaks add up (a bound on the trial's peak).
        self.max_in_flight += o.max_in_flight;
    }
}

/// What a trial measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Wall time of the timed section (all threads), ns.
    pub elapsed_ns: u64,
    /// Payload bytes moved: copied (counted once), read, or written.
    pub bytes: u64,
    /// Files handled (1 for the single-file workloads).
    pub files: u64,
    /// Op counts and latencies.
    pub stats: Stats,
    /// What the runtime chose at build time, if it reports it.
    pub detail: Option<String>,
    /// Cancellation injection: counts, and resources before and after the trial.
    #[serde(default)]
    pub cancel: CancelStats,
    /// CPU of the whole process (every thread, io_uring's workers included) over the timed
    /// section alone, from `getrusage` at its start and end; `None` where not measured (older
    /// results).
    #[serde(default)]
    pub cpu: Option<CpuUsage>,
}

/// What cancellation injection did in a trial, and what it left behind.
///
/// Descriptors and live buffer bytes are sampled just before the trial's runtimes are built
/// and just after they are dropped; a positive difference is reported as a leak. They are
/// sampled in every trial (injection or not) so a leak is always seen against the same
/// baseline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CancelStats {
    /// The requested share of ops to cancel.
    pub rate: f64,
    /// Cancels attempted.
    pub attempted: u64,
    /// Attempts whose op was still pending after one poll: dropped in flight, then retried.
    pub landed_in_flight: u64,
    /// Attempts whose op completed in its first poll (nothing to cancel; result used).
    pub vacuous: u64,
    /// Open descriptors before the trial.
    pub fds_before: i64,
    /// Open descriptors after the trial.
    pub fds_after: i64,
    /// `fds_after - fds_before` when positive.
    pub leaked_fds: i64,
    /// Whether the quarantining allocator is installed (else the byte counts are 0).
    pub allocator: bool,
    /// Bytes in live page-aligned (buffer) allocations before the trial.
    pub buffer_bytes_before: i64,
    /// The same after the trial.
    pub buffer_bytes_after: i64,
    /// `buffer_bytes_after - buffer_bytes_before` when positive.
    pub leaked_buffer_bytes: i64,
}

impl Outcome {
    /// Throughput in bytes per second.
    pub fn bytes_per_sec(&self) -> f64 {
        self.bytes as f64 / (self.elapsed_ns.max(1) as f64 / 1e9)
    }
}
