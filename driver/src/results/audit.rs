//! `audit.json` (`results::schema::AUDIT`): what `ringbench audit` saw, engine × workload —
//! declared routes against the system calls counted — and its one writer.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use workloads::Route;

/// Version of `audit.json`.
pub const AUDIT_SCHEMA: u32 = crate::results::schema::AUDIT.current;

/// `audit.json`: every engine × workload cell, with the method and parameters.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditReport {
    /// [`AUDIT_SCHEMA`].
    pub schema: u32,
    /// When the audit started (UTC).
    pub started: String,
    /// `strace -V`'s first line.
    pub strace: String,
    /// How the counts were taken (one paragraph, for the report).
    pub method: String,
    /// Sizes and knobs of the tiny trials.
    pub parameters: AuditParams,
    /// Engines that could not run here, with the reason.
    pub skipped: Vec<SkippedEngine>,
    /// One cell per engine × workload.
    pub cells: Vec<AuditCell>,
    /// Cells planned (runnable engines × workloads); `cells` holds fewer when interrupted.
    #[serde(default)]
    pub planned: usize,
    /// Whether the audit was interrupted (SIGINT/SIGTERM): `cells` are those that finished.
    #[serde(default)]
    pub interrupted: bool,
    /// The signal that interrupted it (`SIGINT`, `SIGTERM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted_by: Option<String>,
}

/// The trial parameters every cell shared.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditParams {
    /// Size of the single file (large, read, write), bytes.
    pub size: u64,
    /// Block size, bytes.
    pub block_size: usize,
    /// Ops in flight.
    pub queue_depth: usize,
    /// Files of the small workload.
    pub files: usize,
    /// Files in flight (small, tree).
    pub files_in_flight: usize,
    /// Tree shape: depth, fan-out, files per directory.
    pub tree: [u32; 3],
    /// Whether written files were fsynced.
    pub fsync: bool,
}

/// An engine left out, and why.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SkippedEngine {
    /// Engine name.
    pub engine: String,
    /// Its probe's reason.
    pub reason: String,
}

/// What one engine did on one workload.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AuditCell {
    /// Engine name.
    pub engine: String,
    /// Workload name.
    pub workload: String,
    /// `ok`, or `failed` (the trial did not complete or did not verify; see `error`).
    pub status: String,
    /// Why the trial failed.
    pub error: Option<String>,
    /// Payload bytes the trial moved (copied, read or written).
    pub bytes: u64,
    /// Whether the copy was verified byte for byte afterwards.
    pub verified: bool,
    /// What the runtime chose at build time, if it says.
    pub detail: Option<String>,
    /// Ops the harness issued: `read_at` and `write_at` calls, and everything else.
    pub harness_ops: HarnessOps,
    /// Ring activity.
    pub ring: RingObs,
    /// Per op (`open`, `read`, ...): declared route and observed file syscalls.
    pub ops: BTreeMap<String, OpObs>,
    /// Every counted syscall by name (file calls inside the scratch directory, ring calls,
    /// thread creation).
    pub syscalls: BTreeMap<String, u64>,
    /// The same per MiB moved.
    pub per_mib: BTreeMap<String, f64>,
    /// Threads.
    pub threads: ThreadObs,
    /// Declared routes the observation contradicts, one sentence each.
    pub mismatches: Vec<String>,
    /// The raw trace, when kept (relative to the audit folder).
    pub trace: Option<String>,
}

/// Ops the harness issued, from the trial's own counters.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct HarnessOps {
    /// `read_at` calls.
    pub reads: u64,
    /// `write_at` calls.
    pub writes: u64,
    /// Opens, closes, syncs and directory ops.
    pub other: u64,
}

/// io_uring activity of the whole child.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RingObs {
    /// `io_uring_setup` calls (rings created, probes included).
    pub setup: u64,
    /// `io_uring_register` calls.
    pub register: u64,
    /// `io_uring_enter` calls.
    pub enter: u64,
    /// SQEs submitted (sum of `to_submit`).
    pub sqes: u64,
    /// Threads that entered a ring, by name.
    pub threads: Vec<String>,
}

/// One op kind: what was declared and what was seen.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpObs {
    /// The engine's declared route.
    pub declared: Route,
    /// Whether the workload performs this op (only those are checked).
    pub exercised: bool,
    /// File syscalls of this kind made on the runtime thread(s).
    pub runtime_thread: u64,
    /// File syscalls of this kind made on other (helper) threads.
    pub helper_threads: u64,
    /// By syscall name.
    pub syscalls: BTreeMap<String, u64>,
    /// Names of the helper threads that made them.
    pub helpers: Vec<String>,
    /// The route the observation shows: `ring` (no syscalls, the ring was used), `pool`,
    /// `inline`, `mixed`, or `none`.
    pub observed: String,
    /// Whether `observed` agrees with `declared` (always true when not exercised).
    pub ok: bool,
}

/// Threads of the trial child.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ThreadObs {
    /// `clone`/`clone3` with `CLONE_THREAD`.
    pub spawned: u64,
    /// Of those, the harness's own runtime threads (`ringbench-N`).
    pub harness: u64,
    /// Names of the other threads (a thread that never named itself is `unnamed`).
    pub helpers: BTreeMap<String, u64>,
    /// Processes forked (expected 0).
    pub processes: u64,
}

/// The one writer of `audit.json`, into `out` (which exists).
pub fn write(r: &AuditReport, out: &Path) -> anyhow::Result<()> {
    std::fs::write(out.join("audit.json"), serde_json::to_vec_pretty(r)?)
        .with_context(|| format!("writing {}", out.join("audit.json").display()))
}
