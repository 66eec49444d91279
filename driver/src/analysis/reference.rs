//! Reference points measured in the same run, on the same scratch directory, interleaved in the
//! rounds like engines (so per-round ratios work):
//!
//! * `kernel-copy` — the kernel's own copy, `copy_file_range(2)` in a loop as `cp` does, on the
//!   `large` workload. It runs in the trial child like an engine ([`kernel_copy`]) and its copy is
//!   verified like any other. It ignores block size, queue depth and threads (the kernel picks
//!   its own chunking); `--direct` opens both files with `O_DIRECT` as the engines do.
//! * `fio` and `fio-psync` — fio's `io_uring` engine and its blocking `psync` engine
//!   (`pread`/`pwrite`, one op at a time per job, so `iodepth=1`) on the `read`, `write` and
//!   `randread` jobs, at the same block size, queue depth (io_uring), size, thread count
//!   (`numjobs`) and O_DIRECT setting, run by the driver as a child with `--output-format=json`
//!   ([`run_fio`]). Both are measured because neither is the device's limit everywhere: on a
//!   RAM-backed device blocking `pread` at depth 1 beats io_uring at depth, on NVMe the reverse.
//!   The **device reference** an engine is compared with is the better of the two in each round
//!   ([`ratios`]). The read jobs read the same large source (`--readonly`); the write jobs write
//!   a fresh file in the trial's destination each time, like the engines (`--fallocate=none`;
//!   `--end_fsync=1` when the run fsyncs, as the engines fsync at the end). fio writes its own
//!   data, so its rows are not byte-verified: they are a device limit, not a copy. Its CPU is
//!   fio's own accounting of its jobs (`usr_cpu`, `sys_cpu` × `job_runtime`), not the whole
//!   process's, which would charge fio's start-up to a run of a few milliseconds.
//!
//! # fio's clock
//! fio computes `bw_bytes` over a runtime counted in whole milliseconds (`runtime`,
//! `job_runtime`), and its JSON has no finer elapsed time (`lat_ns`/`clat_ns` are per-op
//! figures: their sum is elapsed time only at depth 1, never at depth). A 16 MiB read in 4 ms
//! shows 4194.3 MB/s whatever it took between 3.5 and 4.5 ms. So where the cache state holds
//! from one pass over the file to the next — the file in the page cache (`--cache warm`), or
//! no page cache at all (`--direct`) — a read job runs in fio's time-based mode
//! ([`FIO_RAMP_MS`] of ramp, then [`FIO_RUNTIME_MS`] timed, looping over the same file): the
//! whole-millisecond rounding is then under 0.5%, and the ramp keeps fio's start (first faults,
//! ring set-up) out of the figure, as it is out of a steady device limit. Where the trial reads
//! a cold page cache (dropped or advised away), a second pass would read memory, so the job is
//! one pass as the trial is, and the rounding bound is stated in the row's detail. Writes are
//! always one pass over a fresh file (a second pass would overwrite, not create), with the
//! bound in the detail.
//!
//! Reference rows never take part in "fastest engine" rankings; every ranked engine's cell
//! carries its per-round ratio against the references of its workload ([`RefRatio`]).

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workloads::{Outcome, Stats, TrialPlan, Workload};

use crate::analysis::stats::{self, Ratio};
use crate::plan::options::Config;
use crate::proc::child::TrialReply;
use crate::proc::spawn::{ChildRun, Exit};
use crate::results::{Status, TrialRecord};

// The kernel-copy reference row (workload `large`) runs in the trial child.
pub use crate::proc::kernel_copy::{KERNEL_COPY, kernel_copy};
/// The fio reference row with fio's `io_uring` engine (workloads `read`, `write`, `randread`).
pub const FIO: &str = "fio";
/// The fio reference row with fio's blocking `psync` engine (same workloads).
pub const FIO_PSYNC: &str = "fio-psync";
/// The fio rows that together make the device reference, in display order.
pub const FIO_ROWS: &[&str] = &[FIO, FIO_PSYNC];

/// Ramp of a time-based fio read job, not counted (module doc, "fio's clock").
pub const FIO_RAMP_MS: u64 = 50;
/// Timed runtime of a time-based fio read job: whole-ms rounding stays under 0.5%.
pub const FIO_RUNTIME_MS: u64 = 200;

/// Whether `engine` names a reference row, not a runtime.
pub fn is_reference(engine: &str) -> bool {
    engine == KERNEL_COPY || is_fio(engine)
}

/// Whether `engine` is one of fio's rows.
pub fn is_fio(engine: &str) -> bool {
    FIO_ROWS.contains(&engine)
}

/// fio's `--ioengine` for a fio row.
pub fn fio_ioengine(row: &str) -> &'static str {
    if row == FIO_PSYNC {
        "psync"
    } else {
        "io_uring"
    }
}

/// The reference rows that exist for a workload.
pub fn rows_for(w: Workload) -> &'static [&'static str] {
    match w {
        Workload::Large => &[KERNEL_COPY],
        Workload::Read | Workload::Write | Workload::Randread => FIO_ROWS,
        Workload::Small | Workload::Tree => &[],
    }
}

/// One reference an engine's cell is compared with.
pub type Target = (&'static str, &'static [&'static str], Workload);

/// The references an engine's cell of workload `w` is compared with: `(label, the rows whose
/// best per round is the reference, the workload those rows were measured on)`. A copy is
/// compared with the kernel copy and with fio's read and write limits (a copy reads and writes
/// every byte, so it cannot beat the slower of the two for long). Each fio label is the better
/// of fio's io_uring and psync rows in each round (module doc).
pub fn targets(w: Workload) -> &'static [Target] {
    match w {
        Workload::Large => &[
            ("kernel-copy", &[KERNEL_COPY], Workload::Large),
            ("fio read", FIO_ROWS, Workload::Read),
            ("fio write", FIO_ROWS, Workload::Write),
        ],
        Workload::Read => &[("fio read", FIO_ROWS, Workload::Read)],
        Workload::Write => &[("fio write", FIO_ROWS, Workload::Write)],
        Workload::Randread => &[("fio randread", FIO_ROWS, Workload::Randread)],
        Workload::Small | Workload::Tree => &[],
    }
}

/// An engine's per-round ratio against one reference.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RefRatio {
    /// What it is compared with: `kernel-copy`, `fio read`, `fio write`.
    pub reference: String,
    /// engine / reference, per round, summarised.
    pub ratio: Ratio,
    /// Which row was the reference (the best of its rows) in how many of the paired rounds,
    /// e.g. `{"fio": 3, "fio-psync": 2}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub best_of: BTreeMap<String, u32>,
}

/// Per-round ratios of `engine`'s throughput on `(w, config)` against each reference of `w`
/// that was measured in the same rounds. `measured` are the non-warm-up records.
pub fn ratios(
    measured: &[&TrialRecord],
    w: Workload,
    config: Config,
    engine: &str,
) -> Vec<RefRatio> {
    let by_round = |e: &str, wl: Workload| -> BTreeMap<u32, f64> {
        measured
            .iter()
            .filter(|r| {
                r.engine == e && r.workload == wl && r.config == config && r.status == Status::Ok
            })
            .filter_map(|r| r.throughput.map(|t| (r.round, t)))
            .collect()
    };
    let mine = by_round(engine, w);
    let mut out = Vec::new();
    for (label, rows, wl) in targets(w) {
        // The reference of a round is the best of its rows measured in that round.
        let mut theirs: BTreeMap<u32, (f64, &str)> = BTreeMap::new();
        for row in rows.iter() {
            for (k, t) in by_round(row, *wl) {
                let e = theirs.entry(k).or_insert((t, row));
                if t > e.0 {
                    *e = (t, row);
                }
            }
        }
        let mut best_of: BTreeMap<String, u32> = BTreeMap::new();
        let pairs: Vec<(f64, f64)> = mine
            .iter()
            .filter_map(|(k, a)| {
                theirs.get(k).map(|(b, row)| {
                    *best_of.entry(row.to_string()).or_default() += 1;
                    (*a, *b)
                })
            })
            .collect();
        if let Some(ratio) = stats::paired_ratio(&pairs) {
            out.push(RefRatio {
                reference: label.to_string(),
                ratio,
                best_of,
            });
        }
    }
    out
}

/// The reference rows a run adds, and the notes to record (fio missing, ...).
pub fn plan_rows(
    workloads: &[Workload],
    fio: Option<&str>,
) -> (Vec<(String, Workload)>, Vec<String>) {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let wants_fio = workloads
        .iter()
        .any(|w| matches!(w, Workload::Read | Workload::Write | Workload::Randread));
    for &w in workloads {
        for &r in rows_for(w) {
            if is_fio(r) && fio.is_none() {
                continue;
            }
            rows.push((r.to_string(), w));
        }
    }
    if wants_fio && fio.is_none() {
        notes.push(
            "fio is not installed: no fio reference rows (device limit) for read, write and randread; install fio (e.g. apt-get install fio) to measure them".into(),
        );
    }
    (rows, notes)
}

/// Whether fio's job for this plan runs time-based: a read whose cache state holds from one
/// pass to the next (module doc, "fio's clock"). `cache` is the trial's recorded cache state
/// (`warm`, `dropped`, `fadvise`).
pub fn fio_time_based(plan: &TrialPlan, cache: &str) -> bool {
    plan.workload != Workload::Write && (plan.direct || cache == "warm")
}

/// The fio command line of fio row `row` ([`FIO`] or [`FIO_PSYNC`]) for a `read`, `write` or
/// `randread` plan whose trial found the page cache `cache`. `randread` keeps fio's random map
/// (the default): each block read once per pass, as the engines' permutation.
pub fn fio_args(plan: &TrialPlan, row: &str, cache: &str) -> Vec<String> {
    let threads = plan.threads.max(1) as u64;
    let bs = plan.runtime.block_size as u64;
    // Each job gets a contiguous, block-aligned share, like the engines' threads.
    let per = plan.size.div_ceil(bs).div_ceil(threads) * bs;
    let (name, rw, file) = match plan.workload {
        Workload::Write => ("write", "write", &plan.dst),
        Workload::Randread => ("randread", "randread", &plan.src),
        _ => ("read", "read", &plan.src),
    };
    let ioengine = fio_ioengine(row);
    // psync is synchronous: one op in flight per job whatever iodepth says (fio warns).
    let depth = if ioengine == "psync" {
        1
    } else {
        plan.runtime.queue_depth
    };
    let mut a = vec![
        format!("--name={name}"),
        format!("--ioengine={ioengine}"),
        format!("--rw={rw}"),
        format!("--bs={bs}"),
        format!("--iodepth={depth}"),
        format!("--direct={}", u8::from(plan.direct)),
        format!("--filename={}", file.display()),
        "--output-format=json".into(),
        "--thread".into(),
        // The driver sets the page-cache state of every row alike before each trial (dropped,
        // advised away, or left warm). fio's default, invalidate=1, would evict the file at
        // job start: a cold fio row under `--cache warm`, and a cold cache for whichever
        // engine's trial came next in the round (seen: randread at 4 KiB, 20 MB/s after fio,
        // 1 GB/s otherwise).
        "--invalidate=0".into(),
    ];
    if threads > 1 {
        a.push(format!("--numjobs={threads}"));
        a.push(format!("--size={per}"));
        a.push(format!("--offset_increment={per}"));
        a.push("--group_reporting".into());
    } else {
        a.push(format!("--size={}", plan.size));
    }
    if plan.workload == Workload::Write {
        a.push("--fallocate=none".into());
        if plan.fsync {
            a.push("--end_fsync=1".into());
        }
    } else {
        a.push("--readonly".into());
    }
    if fio_time_based(plan, cache) {
        a.push("--time_based".into());
        // fio reads "0.2" as 0 s: whole units with a suffix.
        a.push(format!("--runtime={FIO_RUNTIME_MS}ms"));
        a.push(format!("--ramp_time={FIO_RAMP_MS}ms"));
    }
    a
}

/// Parse fio's JSON output into an [`Outcome`]: bytes and bandwidth of the job's direction
/// (summed over jobs), and fio's own completion-latency percentiles in `detail`.
pub fn parse_fio(json: &str, w: Workload) -> Result<Outcome, String> {
    // fio may print warnings before the JSON document.
    let start = json.find('{').ok_or("fio printed no JSON")?;
    let v: serde_json::Value = serde_json::from_str(&json[start..])
        .map_err(|e| format!("fio's JSON does not parse: {e}"))?;
    let dir = if w == Workload::Write {
        "write"
    } else {
        "read"
    };
    let jobs = v["jobs"].as_array().ok_or("fio's JSON has no jobs")?;
    if jobs.is_empty() {
        return Err("fio's JSON has no jobs".into());
    }
    let mut bytes = 0u64;
    let mut bw = 0f64;
    let mut pct = Vec::new();
    let mut ios = 0u64;
    let mut runtime_ms = u64::MAX;
    for j in jobs {
        if let Some(e) = j["error"].as_i64().filter(|e| *e != 0) {
            return Err(format!("fio job failed with error {e}"));
        }
        let d = &j[dir];
        bytes += d["io_bytes"].as_u64().unwrap_or(0);
        bw += d["bw_bytes"].as_f64().unwrap_or(0.0);
        ios += d["total_ios"].as_u64().unwrap_or(0);
        if let Some(ms) = d["runtime"].as_u64() {
            runtime_ms = runtime_ms.min(ms);
        }
        if pct.is_empty() {
            for q in ["50.000000", "90.000000", "99.000000", "99.900000"] {
                if let Some(ns) = d["clat_ns"]["percentile"][q].as_u64() {
                    pct.push(ns);
                }
            }
        }
    }
    if bytes == 0 || bw <= 0.0 {
        return Err(format!(
            "fio moved no bytes ({dir} io_bytes {bytes}, bw_bytes {bw})"
        ));
    }
    let version = v["fio version"].as_str().unwrap_or("fio");
    // fio's runtime is whole milliseconds: the figure is good to ±1 ms of it.
    let mut detail = if runtime_ms == u64::MAX {
        format!("{version}, bw_bytes over a runtime in ms")
    } else {
        format!(
            "{version}, bw_bytes over {runtime_ms} ms (whole-ms clock: ±{:.1}%)",
            100.0 / runtime_ms.max(1) as f64
        )
    };
    if pct.len() == 4 {
        detail.push_str(&format!(
            ", clat p50/p90/p99/p99.9 = {}/{}/{}/{} us",
            pct[0] / 1000,
            pct[1] / 1000,
            pct[2] / 1000,
            pct[3] / 1000
        ));
    }
    let mut stats = Stats::default();
    if w == Workload::Write {
        stats.writes = ios;
        stats.bytes_written = bytes;
    } else {
        stats.reads = ios;
        stats.bytes_read = bytes;
    }
    Ok(Outcome {
        elapsed_ns: (bytes as f64 / bw * 1e9).round() as u64,
        bytes,
        files: 1,
        stats,
        detail: Some(detail),
        cancel: Default::default(),
        // fio's accounting of its jobs is its timed section: the child's own usage would
        // charge fio's start-up and option parsing to a run of a few milliseconds.
        cpu: fio_cpu(json).map(|(user_s, sys_s)| workloads::CpuUsage {
            user_s,
            sys_s,
            ..Default::default()
        }),
    })
}

/// CPU seconds (user, system) of fio's jobs from its JSON: `usr_cpu`/`sys_cpu` are percentages
/// of each job's `job_runtime` (ms).
pub fn fio_cpu(json: &str) -> Option<(f64, f64)> {
    let v: serde_json::Value = serde_json::from_str(&json[json.find('{')?..]).ok()?;
    let mut t = (0.0, 0.0);
    for j in v["jobs"].as_array()? {
        let rt = j["job_runtime"].as_f64()? / 1000.0;
        t.0 += j["usr_cpu"].as_f64()? / 100.0 * rt;
        t.1 += j["sys_cpu"].as_f64()? / 100.0 * rt;
    }
    Some(t)
}

/// Run fio row `row` for a `read`, `write` or `randread` plan as a child under the trial deadline, with the kernel's
/// accounting of its resource usage, and shape the answer like a trial child's. fio writes its
/// JSON to a file in the trial's destination directory (removed with it).
///
/// `cwd` is fio's working directory when the plan's paths are relative to it (see
/// [`crate::proc::spawn::plan_for_child`]).
pub fn run_fio(
    plan: &TrialPlan,
    row: &str,
    cache: &str,
    deadline: Duration,
    cwd: Option<&Path>,
) -> io::Result<ChildRun> {
    let out = plan.dst.parent().unwrap_or(Path::new(".")).join("fio.json");
    let mut args = fio_args(plan, row, cache);
    args.push(format!("--output={}", out.display()));
    let mut run = crate::proc::spawn::run_child(Path::new("fio"), &args, b"", deadline, cwd)?;
    let out = cwd.map_or_else(|| out.clone(), |d| d.join(&out));
    let result = match run.exit {
        Exit::Code(0) => match std::fs::read_to_string(&out) {
            // The timed CPU is fio's own accounting of its jobs (`parse_fio`); `usage` keeps
            // the whole fio process, as for every other row.
            Ok(text) => Some(parse_fio(&text, plan.workload)),
            Err(e) => Some(Err(format!(
                "fio exited 0 but its JSON output {} cannot be read: {e}",
                out.display()
            ))),
        },
        Exit::Code(c) => Some(Err(format!("fio exited {c}: {}", run.stderr))),
        _ => None,
    };
    run.garbage = None;
    run.reply = result.map(|result| TrialReply {
        result,
        // fio's own peak is not readable once it exited; its usage keeps wait4's figure.
        peak_rss_kib: None,
    });
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIO_READ: &str = r#"note: both iodepth >= 1 and synchronous I/O engine are selected
{
  "fio version" : "fio-3.33",
  "jobs" : [
    { "jobname" : "read", "error" : 0, "job_runtime" : 12, "usr_cpu" : 25.0, "sys_cpu" : 50.0,
      "read" : { "io_bytes" : 8388608, "bw_bytes" : 699050666, "runtime" : 12, "total_ios" : 64,
        "clat_ns" : { "percentile" : { "50.000000" : 261120, "90.000000" : 3129344, "99.000000" : 3194880, "99.900000" : 3194880 } } },
      "write" : { "io_bytes" : 0, "bw_bytes" : 0, "runtime" : 0, "total_ios" : 0 } }
  ]
}"#;

    #[test]
    fn parses_fio_json() {
        let o = parse_fio(FIO_READ, Workload::Read).unwrap();
        assert_eq!(o.bytes, 8388608);
        assert!((o.bytes_per_sec() - 699050666.0).abs() / 699050666.0 < 1e-6);
        assert_eq!(o.stats.reads, 64);
        assert_eq!(
            o.detail.as_deref(),
            Some(
                "fio-3.33, bw_bytes over 12 ms (whole-ms clock: ±8.3%), clat p50/p90/p99/p99.9 = 261/3129/3194/3194 us"
            )
        );
        // The write direction moved nothing in this document: an error, not a zero.
        assert!(
            parse_fio(FIO_READ, Workload::Write)
                .unwrap_err()
                .contains("no bytes")
        );
        assert!(parse_fio("garbage", Workload::Read).is_err());
        let (u, s) = fio_cpu(FIO_READ).unwrap();
        assert!((u - 0.003).abs() < 1e-12 && (s - 0.006).abs() < 1e-12);
        assert!(
            parse_fio(r#"{"jobs":[{"error":5,"read":{}}]}"#, Workload::Read)
                .unwrap_err()
                .contains("error 5")
        );
    }

    #[test]
    fn fio_args_match_the_plan() {
        let mut p = TrialPlan::new(
            Workload::Write,
            "/s/large.bin".into(),
            "/d/write.bin".into(),
        );
        p.size = 8 << 20;
        p.runtime.block_size = 64 << 10;
        p.runtime.queue_depth = 4;
        p.direct = true;
        p.fsync = true;
        let a = fio_args(&p, FIO, "dropped").join(" ");
        for want in [
            "--rw=write",
            "--bs=65536",
            "--iodepth=4",
            "--direct=1",
            "--filename=/d/write.bin",
            "--size=8388608",
            "--end_fsync=1",
            "--fallocate=none",
            "--invalidate=0",
            "--ioengine=io_uring",
        ] {
            assert!(a.contains(want), "{want} missing from {a}");
        }
        // Writes are one pass over a fresh file, even with O_DIRECT.
        assert!(!a.contains("--time_based"), "{a}");
        // psync: the same job, blocking, one op in flight.
        let a = fio_args(&p, FIO_PSYNC, "dropped").join(" ");
        assert!(
            a.contains("--ioengine=psync")
                && a.contains("--iodepth=1")
                && a.contains("--end_fsync=1"),
            "{a}"
        );
        p.workload = Workload::Read;
        p.threads = 3;
        let a = fio_args(&p, FIO, "dropped").join(" ");
        assert!(
            a.contains("--readonly")
                && a.contains("--filename=/s/large.bin")
                && a.contains("--numjobs=3"),
            "{a}"
        );
        // 128 blocks of 64 KiB over 3 jobs: 43 blocks each, the last job's share runs short.
        assert!(a.contains(&format!("--size={}", 43 * 65536)), "{a}");
        // O_DIRECT reads: time-based, the cache cannot change between passes.
        assert!(
            a.contains("--time_based") && a.contains("--runtime=200ms"),
            "{a}"
        );
        // Buffered reads: time-based only when the trial found the file in the page cache.
        p.direct = false;
        assert!(
            !fio_args(&p, FIO, "dropped")
                .join(" ")
                .contains("--time_based")
        );
        assert!(
            !fio_args(&p, FIO_PSYNC, "fadvise")
                .join(" ")
                .contains("--time_based")
        );
        let a = fio_args(&p, FIO_PSYNC, "warm").join(" ");
        assert!(
            a.contains("--time_based") && a.contains("--ramp_time=50ms"),
            "{a}"
        );
    }

    #[test]
    fn the_device_reference_is_the_best_fio_row_per_round() {
        // Round 0: io_uring is the better fio row; rounds 1-4: psync is.
        let mut v = Vec::new();
        for k in 0..5u32 {
            let t = |e: &str, v: f64| crate::results::fixtures::trial(0, k, e, Workload::Read, v);
            v.push(t("e", 100.0));
            v.push(t(FIO, if k == 0 { 200.0 } else { 50.0 }));
            v.push(t(FIO_PSYNC, if k == 0 { 20.0 } else { 125.0 }));
        }
        let m: Vec<&TrialRecord> = v.iter().collect();
        let r = ratios(&m, Workload::Read, crate::results::fixtures::config(), "e");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].reference, "fio read");
        assert!((r[0].ratio.median - 0.8).abs() < 1e-9, "{:?}", r[0].ratio);
        assert_eq!(r[0].best_of.get(FIO), Some(&1));
        assert_eq!(r[0].best_of.get(FIO_PSYNC), Some(&4));
    }

    #[test]
    fn plans_rows_and_says_when_fio_is_missing() {
        let (rows, notes) = plan_rows(&[Workload::Large, Workload::Read, Workload::Small], None);
        assert_eq!(rows, vec![(KERNEL_COPY.to_string(), Workload::Large)]);
        assert!(notes[0].contains("fio is not installed"));
        let (rows, notes) = plan_rows(&[Workload::Read, Workload::Write], Some("fio-3.33"));
        // io_uring and psync for each workload.
        assert_eq!(rows.len(), 4);
        assert!(rows.contains(&(FIO_PSYNC.to_string(), Workload::Write)));
        assert!(notes.is_empty());
    }

    #[test]
    fn kernel_copy_copies() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        workloads::data::create_file(&src, 3, 3 << 20).unwrap();
        let mut p = TrialPlan::new(Workload::Large, src.clone(), dir.path().join("dst"));
        p.size = 3 << 20;
        let o = kernel_copy(&p).unwrap();
        assert_eq!(o.bytes, 3 << 20);
        assert!(workloads::dataset::verify(&p, 0).is_ok());
    }
}
