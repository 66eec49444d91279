//! Plan layer: the **overhead set** of `ringbench run` — what each runtime costs per op, apart
//! from the device. Cache-warm 4 KiB reads (`read`, `randread`) and 4 KiB writes into the page
//! cache (`write`, no fsync) at queue depth 1 and 32, on every engine that does I/O, the floor
//! `io-uring-raw` (the io-uring crate driven directly, no runtime) included.
//!
//! The set runs as extra trials in the same rounds as the main workloads (shuffled with them,
//! so the per-round pairing against the floor works as for references), with its own fixed
//! parameters: its own small source file (so the main `--size` does not make it slow), the
//! page cache warmed right before each of its trials whatever `--cache` says (the main
//! trials' cache drops must not make it a device measurement), no O_DIRECT, no fsync, one
//! thread, and every trial pinned to one CPU (`--overhead-cpu`, default the last CPU the driver
//! may use): the cost of an op that hops threads is then a context switch, not a cross-CPU wake
//! whose latency belongs to the machine (`sys::cpus`). Its records carry `overhead: true` and
//! are summarised apart (`overhead.rs`).

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use workloads::{RuntimeConfig, TrialPlan, Workload};

use crate::plan::options::Config;

/// The default file size of the set: large enough that a 4 KiB trial is thousands of ops
/// (4096 at 16 MiB) so the timed section dwarfs the clock's resolution, small enough that the
/// whole set (10 engines × 6 cells × 11 rounds) stays a fraction of the quick profile.
pub const DEFAULT_SIZE: u64 = 16 << 20;

/// Timed passes per overhead trial, in its one child (`TrialSpec::passes`): the median pass is
/// the trial's outcome. A 16 MiB pass takes milliseconds, so one VM hiccup would otherwise be
/// the whole trial; five passes cost little next to the child's start-up.
pub const PASSES: u32 = 5;

/// Block size of every overhead op.
pub const BLOCK: usize = 4096;

/// Queue depths: one op at a time (the per-op path itself) and 32 in flight (what batching
/// saves or costs).
pub const QUEUE_DEPTHS: [usize; 2] = [1, 32];

/// The workloads of the set.
pub const WORKLOADS: [Workload; 3] = [Workload::Read, Workload::Randread, Workload::Write];

/// The overhead set's parameters, as recorded in meta.json (`options.overhead`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverheadSet {
    /// Bytes of its source file (reads) and of each written file.
    pub size: u64,
    /// Bytes per op.
    pub block_size: usize,
    /// Queue depths measured.
    pub queue_depths: Vec<usize>,
    /// Workloads measured.
    pub workloads: Vec<Workload>,
    /// Timed passes per trial ([`PASSES`]); the median pass is the trial's outcome.
    #[serde(default = "one")]
    pub passes: u32,
    /// The CPU every trial of the set is pinned to (`--overhead-cpu`; `sys::cpus` says why),
    /// `None` when not pinned (`--overhead-cpu none`, or a run from before pinning).
    #[serde(default)]
    pub cpu: Option<usize>,
}

fn one() -> u32 {
    1
}

/// The set's file size when `--overhead-size` is not given: [`DEFAULT_SIZE`], or the run's
/// `--size` when that is smaller (rounded down to whole 4 KiB blocks, at least one), so a small
/// run stays small.
pub fn default_size(run_size: u64) -> u64 {
    let b = BLOCK as u64;
    (run_size.min(DEFAULT_SIZE) / b).max(1) * b
}

impl OverheadSet {
    /// The set at `size` bytes, with the fixed block size, depths and workloads, its trials
    /// pinned to `cpu`.
    pub fn new(size: u64, cpu: Option<usize>) -> OverheadSet {
        OverheadSet {
            size,
            block_size: BLOCK,
            queue_depths: QUEUE_DEPTHS.to_vec(),
            workloads: WORKLOADS.to_vec(),
            passes: PASSES,
            cpu,
        }
    }

    /// Its sweep points, one per queue depth.
    pub fn configs(&self) -> Vec<Config> {
        self.queue_depths
            .iter()
            .map(|&queue_depth| Config {
                block_size: self.block_size,
                queue_depth,
                files_in_flight: 1,
                threads: 1,
                cancel_bp: 0,
            })
            .collect()
    }

    /// Every (workload, sweep point) of the set, in plan order.
    pub fn cells(&self) -> Vec<(Workload, Config)> {
        let mut v = Vec::new();
        for &w in &self.workloads {
            for c in self.configs() {
                v.push((w, c));
            }
        }
        v
    }

    /// Bytes of scratch space the set needs: its source and one written file at a time.
    pub fn needed_bytes(&self) -> u64 {
        2 * self.size
    }

    /// The trial plan of one overhead trial: `src` is the set's own source file, `dst` the
    /// trial's destination folder.
    pub fn plan(
        &self,
        src: &Path,
        w: Workload,
        c: &Config,
        dst: &Path,
        seed: u64,
        ring_entries: u32,
    ) -> TrialPlan {
        let (src, dst) = match w {
            Workload::Write => (PathBuf::new(), dst.join("write.bin")),
            _ => (src.to_path_buf(), dst.join("unused")),
        };
        TrialPlan {
            workload: w,
            src,
            dst,
            size: self.size,
            files: 1,
            files_in_flight: 1,
            tree: workloads::data::TreeShape {
                depth: 0,
                fanout: 1,
                files_per_dir: 0,
            },
            direct: false,
            fsync: false,
            seed,
            threads: 1,
            runtime: RuntimeConfig {
                ring_entries: ring_entries.max(c.queue_depth as u32),
                queue_depth: c.queue_depth,
                block_size: c.block_size,
            },
            cancel_rate: 0.0,
        }
    }
}

/// Bring `path` into the page cache by reading it through (the main trials may have dropped
/// every cache just before); returns the cache state to record, `warm`, or why not.
pub fn warm(path: &Path) -> String {
    let mut buf = vec![0u8; 1 << 20];
    match std::fs::File::open(path) {
        Ok(mut f) => loop {
            match f.read(&mut buf) {
                Ok(0) => return "warm".into(),
                Ok(_) => {}
                Err(e) => return format!("warm (warming read failed: {e})"),
            }
        },
        Err(e) => format!("warm (warming open failed: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_is_six_cells_of_4k_at_depth_1_and_32() {
        let s = OverheadSet::new(DEFAULT_SIZE, None);
        let cells = s.cells();
        assert_eq!(cells.len(), 6);
        for (w, c) in &cells {
            assert!(WORKLOADS.contains(w));
            assert_eq!((c.block_size, c.threads, c.cancel_bp), (4096, 1, 0));
        }
        let qds: Vec<usize> = cells.iter().map(|(_, c)| c.queue_depth).collect();
        assert_eq!(qds.iter().filter(|q| **q == 1).count(), 3);
        assert_eq!(qds.iter().filter(|q| **q == 32).count(), 3);
    }

    #[test]
    fn default_size_follows_a_smaller_run_in_whole_blocks() {
        assert_eq!(default_size(32 << 20), DEFAULT_SIZE);
        assert_eq!(default_size(1 << 30), DEFAULT_SIZE);
        assert_eq!(default_size(1 << 20), 1 << 20);
        assert_eq!(default_size(10_000), 8192);
        assert_eq!(default_size(100), 4096);
    }

    #[test]
    fn plans_are_warm_buffered_unsynced_single_threaded() {
        let s = OverheadSet::new(1 << 20, None);
        for (w, c) in s.cells() {
            let p = s.plan(Path::new("/s/o.bin"), w, &c, Path::new("/d"), 7, 8);
            assert!(!p.direct && !p.fsync, "{w}");
            assert_eq!(
                (p.size, p.threads, p.runtime.block_size),
                (1 << 20, 1, 4096)
            );
            // A ring smaller than the depth could not hold the ops in flight.
            assert!(p.runtime.ring_entries as usize >= c.queue_depth);
            assert_eq!(p.src.as_os_str().is_empty(), w == Workload::Write);
        }
    }
}
