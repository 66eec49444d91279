//! Reference points measured in the same run, on the same scratch directory, interleaved in the
//! rounds like engines (so per-round ratios work):
//!
//! * `kernel-copy` — the kernel's own copy, `copy_file_range(2)` in a loop as `cp` does, on the
//!   `large` workload. It runs in the trial child like an engine ([`kernel_copy`]) and its copy is
//!   verified like any other. It ignores block size, queue depth and threads (the kernel picks
//!   its own chunking); `--direct` opens both files with `O_DIRECT` as the engines do.
//! * `fio` — fio's `io_uring` engine on the `read` and `write` calibration jobs, at the same
//!   block size, queue depth, size, thread count (`numjobs`) and O_DIRECT setting, run by the
//!   driver as a child with `--output-format=json` ([`run_fio`]). The read job reads the same
//!   large source (`--readonly`), the write job writes a fresh file in the trial's destination
//!   (`--fallocate=none`, like the engines' fresh files; `--end_fsync=1` when the run fsyncs).
//!   fio writes its own data, so its rows are not byte-verified: they are a device limit, not a
//!   copy. Its bandwidth is fio's `bw_bytes`, computed by fio over a runtime in whole
//!   milliseconds (so small `--size` values quantise it); its CPU is fio's own accounting of its
//!   jobs (`usr_cpu`, `sys_cpu` × `job_runtime`), not the whole process's, which would charge
//!   fio's start-up to a run of a few milliseconds.
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
use crate::proc::child::{PROTOCOL, TrialReply};
use crate::proc::spawn::{ChildRun, Exit};
use crate::results::{Status, TrialRecord};

// The kernel-copy reference row (workload `large`) runs in the trial child.
pub use crate::proc::kernel_copy::{KERNEL_COPY, kernel_copy};
/// The fio reference row (workloads `read`, `write` and `randread`).
pub const FIO: &str = "fio";

/// Whether `engine` names a reference row, not a runtime.
pub fn is_reference(engine: &str) -> bool {
    engine == KERNEL_COPY || engine == FIO
}

/// The reference rows that exist for a workload.
pub fn rows_for(w: Workload) -> &'static [&'static str] {
    match w {
        Workload::Large => &[KERNEL_COPY],
        Workload::Read | Workload::Write | Workload::Randread => &[FIO],
        Workload::Small | Workload::Tree => &[],
    }
}

/// The references an engine's cell of workload `w` is compared with: `(label, reference row,
/// the workload that row was measured on)`. A copy is compared with the kernel copy and with
/// fio's read and write limits (a copy reads and writes every byte, so it cannot beat the slower
/// of the two for long).
pub fn targets(w: Workload) -> &'static [(&'static str, &'static str, Workload)] {
    match w {
        Workload::Large => &[
            ("kernel-copy", KERNEL_COPY, Workload::Large),
            ("fio read", FIO, Workload::Read),
            ("fio write", FIO, Workload::Write),
        ],
        Workload::Read => &[("fio read", FIO, Workload::Read)],
        Workload::Write => &[("fio write", FIO, Workload::Write)],
        Workload::Randread => &[("fio randread", FIO, Workload::Randread)],
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
    for (label, row, wl) in targets(w) {
        let theirs = by_round(row, *wl);
        let pairs: Vec<(f64, f64)> = mine
            .iter()
            .filter_map(|(k, a)| theirs.get(k).map(|b| (*a, *b)))
            .collect();
        if let Some(ratio) = stats::paired_ratio(&pairs) {
            out.push(RefRatio {
                reference: label.to_string(),
                ratio,
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
            if r == FIO && fio.is_none() {
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

/// The fio command line for a `read`, `write` or `randread` plan. `randread` keeps fio's
/// random map (the default): each block read once per pass, as the engines' permutation.
pub fn fio_args(plan: &TrialPlan) -> Vec<String> {
    let threads = plan.threads.max(1) as u64;
    let bs = plan.runtime.block_size as u64;
    // Each job gets a contiguous, block-aligned share, like the engines' threads.
    let per = plan.size.div_ceil(bs).div_ceil(threads) * bs;
    let (name, rw, file) = match plan.workload {
        Workload::Write => ("write", "write", &plan.dst),
        Workload::Randread => ("randread", "randread", &plan.src),
        _ => ("read", "read", &plan.src),
    };
    let mut a = vec![
        format!("--name={name}"),
        "--ioengine=io_uring".into(),
        format!("--rw={rw}"),
        format!("--bs={bs}"),
        format!("--iodepth={}", plan.runtime.queue_depth),
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
    for j in jobs {
        if let Some(e) = j["error"].as_i64().filter(|e| *e != 0) {
            return Err(format!("fio job failed with error {e}"));
        }
        let d = &j[dir];
        bytes += d["io_bytes"].as_u64().unwrap_or(0);
        bw += d["bw_bytes"].as_f64().unwrap_or(0.0);
        ios += d["total_ios"].as_u64().unwrap_or(0);
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
    let mut detail = format!("{version}, bw_bytes over a runtime in ms");
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

/// Run fio for a `read` or `write` plan as a child under the trial deadline, with the kernel's
/// accounting of its resource usage, and shape the answer like a trial child's. fio writes its
/// JSON to a file in the trial's destination directory (removed with it).
///
/// `cwd` is fio's working directory when the plan's paths are relative to it (see
/// [`crate::proc::spawn::plan_for_child`]).
pub fn run_fio(plan: &TrialPlan, deadline: Duration, cwd: Option<&Path>) -> io::Result<ChildRun> {
    let out = plan.dst.parent().unwrap_or(Path::new(".")).join("fio.json");
    let mut args = fio_args(plan);
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
        ringbench_trial: PROTOCOL,
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
                "fio-3.33, bw_bytes over a runtime in ms, clat p50/p90/p99/p99.9 = 261/3129/3194/3194 us"
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
        let a = fio_args(&p).join(" ");
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
        ] {
            assert!(a.contains(want), "{want} missing from {a}");
        }
        p.workload = Workload::Read;
        p.threads = 3;
        let a = fio_args(&p).join(" ");
        assert!(
            a.contains("--readonly")
                && a.contains("--filename=/s/large.bin")
                && a.contains("--numjobs=3"),
            "{a}"
        );
        // 128 blocks of 64 KiB over 3 jobs: 43 blocks each, the last job's share runs short.
        assert!(a.contains(&format!("--size={}", 43 * 65536)), "{a}");
    }

    #[test]
    fn plans_rows_and_says_when_fio_is_missing() {
        let (rows, notes) = plan_rows(&[Workload::Large, Workload::Read, Workload::Small], None);
        assert_eq!(rows, vec![(KERNEL_COPY.to_string(), Workload::Large)]);
        assert!(notes[0].contains("fio is not installed"));
        let (rows, notes) = plan_rows(&[Workload::Read, Workload::Write], Some("fio-3.33"));
        assert_eq!(rows.len(), 2);
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
