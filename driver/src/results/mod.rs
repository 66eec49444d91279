//! The result schema (versioned) and the one place that writes result files.
//!
//! A run folder holds `meta.json` (environment, options, engines), `trials.jsonl` (one line
//! per trial, appended and flushed as each finishes, raw measurements kept), and
//! `summary.json` / `summary.csv` (rewritten after every round, so a crash loses nothing).
//! `results/README.md` documents every field. The files of the other commands have their own
//! modules here (`safety`, `audit`, `calibration`), each with its types and its one writer.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use workloads::{EngineInfo, Outcome, Route, Workload};

use crate::plan::options::Config;
// Measured by the supervisor, stored in every trial record.
pub use crate::proc::spawn::Usage;
use crate::sys::env::Environment;

pub mod audit;
pub mod calibration;
pub mod compare;
pub mod safety;
pub mod schema;

/// One engine as the run saw it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EngineMeta {
    /// Engine name.
    pub name: String,
    /// Runtime crate.
    pub runtime: String,
    /// One-line description.
    pub summary: String,
    /// Whether it ran (`probe` succeeded).
    pub available: bool,
    /// Why not, when it did not.
    pub reason: Option<String>,
    /// Capabilities and op routes (`workloads::EngineInfo`).
    #[serde(default)]
    pub info: EngineInfoRecord,
    /// The engine's registry class (`registry::Class`). Absent in folders written before it
    /// was recorded: readers then fall back to the capabilities (see `analysis::rows`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<EngineClass>,
}

/// `registry::Class` as meta.json records it: what an engine is for, so a reader never has to
/// recognise an engine by its name.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EngineClass {
    /// A runtime's current release.
    Engine,
    /// Another release of a runtime (`compio@0.16`).
    Release,
    /// A safety control, unsafe on purpose (`naive`...).
    Control,
    /// Test support (the null engines).
    Test,
}

impl From<registry::Class> for EngineClass {
    fn from(c: registry::Class) -> Self {
        match c {
            registry::Class::Engine => EngineClass::Engine,
            registry::Class::Release => EngineClass::Release,
            registry::Class::Control => EngineClass::Control,
            registry::Class::Test => EngineClass::Test,
        }
    }
}

/// An engine's static description as meta.json keeps it: `workloads::EngineInfo` with owned
/// fields, so it reads back (`EngineInfo` is made of `&'static str`s and only serializes).
/// Written exactly as `EngineInfo` serializes (a test holds every registered engine to that);
/// a field an older file lacks reads as its default (no capability, no route, no model).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct EngineInfoRecord {
    /// Stable id.
    pub name: String,
    /// The runtime crate.
    pub runtime: String,
    /// One line for `ringbench list`.
    pub summary: String,
    /// Scheduling model, as `workloads::Model` names it (`blocking`, `thread-per-core`...).
    pub model: Option<String>,
    /// Capability flags.
    pub caps: CapsRecord,
    /// The route of each op.
    pub routes: RoutesRecord,
}

/// `workloads::Caps`, read back.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct CapsRecord {
    /// Uses io_uring at all.
    pub io_uring: bool,
    /// Can open files with `O_DIRECT`.
    pub o_direct: bool,
    /// Ops of one task really overlap.
    pub concurrent_ops: bool,
    /// Dropping an in-flight op's future cancels it in the kernel.
    pub cancel_on_drop: bool,
    /// Performs real I/O (false only for the null engine).
    pub does_io: bool,
}

/// `workloads::Routes`, read back; an op an older file does not name is `None`.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct RoutesRecord {
    /// `open`.
    pub open: Option<Route>,
    /// `read_at`.
    pub read: Option<Route>,
    /// `write_at`.
    pub write: Option<Route>,
    /// `sync` (fsync).
    pub sync: Option<Route>,
    /// `close`.
    pub close: Option<Route>,
    /// `mkdir`.
    pub mkdir: Option<Route>,
    /// `metadata` (statx).
    pub metadata: Option<Route>,
    /// `set_mode` (chmod).
    pub set_mode: Option<Route>,
    /// `read_dir`.
    pub read_dir: Option<Route>,
}

impl From<&EngineInfo> for EngineInfoRecord {
    fn from(i: &EngineInfo) -> EngineInfoRecord {
        let r = i.routes;
        EngineInfoRecord {
            name: i.name.into(),
            runtime: i.runtime.into(),
            summary: i.summary.into(),
            // The name serde gives the variant, so the record reads as `EngineInfo` writes.
            model: serde_json::to_value(i.model)
                .ok()
                .and_then(|v| v.as_str().map(String::from)),
            caps: CapsRecord {
                io_uring: i.caps.io_uring,
                o_direct: i.caps.o_direct,
                concurrent_ops: i.caps.concurrent_ops,
                cancel_on_drop: i.caps.cancel_on_drop,
                does_io: i.caps.does_io,
            },
            routes: RoutesRecord {
                open: Some(r.open),
                read: Some(r.read),
                write: Some(r.write),
                sync: Some(r.sync),
                close: Some(r.close),
                mkdir: Some(r.mkdir),
                metadata: Some(r.metadata),
                set_mode: Some(r.set_mode),
                read_dir: Some(r.read_dir),
            },
        }
    }
}

/// meta.json.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Meta {
    /// Schema version.
    pub schema: u32,
    /// Start time, RFC 3339 UTC.
    pub started: String,
    /// End time, when finished.
    pub finished: Option<String>,
    /// Whether the run was interrupted.
    pub interrupted: bool,
    /// The exact command line.
    pub command: Vec<String>,
    /// Validated options.
    pub options: serde_json::Value,
    /// Environment.
    pub environment: Environment,
    /// Engines.
    pub engines: Vec<EngineMeta>,
    /// Notes a reader must see (warm cache, defaulted directory, direct ignored, ...).
    pub notes: Vec<String>,
}

/// How a trial ended.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Ran and (where it does I/O) verified.
    Ok,
    /// Ran, but the copy does not match its source.
    VerifyFailed,
    /// The workload returned an error.
    Error,
    /// The child died by a signal.
    Crash,
    /// The child overran its deadline and was killed.
    Timeout,
    /// The child exited without a valid result line.
    NoResult,
    /// Not run: the run was interrupted first.
    Interrupted,
}

/// Whether the copy was verified.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Verified {
    /// Destination matches byte for byte (read: every block header checked).
    Yes,
    /// It does not; the detail says where.
    No,
    /// Not applicable (the null engine moves no data; the trial failed before).
    NotApplicable,
}

/// One line of trials.jsonl.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrialRecord {
    /// Schema version.
    pub schema: u32,
    /// Position in the run (0-based, in execution order).
    pub index: usize,
    /// Round number (warm-up rounds first).
    pub round: u32,
    /// Whether this round is a discarded warm-up.
    pub warmup: bool,
    /// Engine name.
    pub engine: String,
    /// Workload.
    pub workload: Workload,
    /// Sweep point.
    pub config: Config,
    /// How it ended.
    pub status: Status,
    /// Error text, signal name, or what the child printed.
    pub error: Option<String>,
    /// Verification.
    pub verified: Verified,
    /// Where a verification failed.
    pub verify_detail: Option<String>,
    /// Page-cache state before the trial: dropped, fadvise, warm.
    pub cache: String,
    /// Whether O_DIRECT was used.
    pub direct: bool,
    /// What the child measured (absent when it produced nothing).
    pub outcome: Option<Outcome>,
    /// Throughput, bytes/s (None unless ok).
    pub throughput: Option<f64>,
    /// Resource usage of the child.
    pub usage: Usage,
    /// Wall time of the whole child, seconds (spawn to exit).
    pub child_wall_s: f64,
    /// A trial of the overhead set (`overhead_plan.rs`): summarised apart from the main cells.
    /// Absent (false) in older results, which have no overhead set.
    #[serde(default, skip_serializing_if = "is_false")]
    pub overhead: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Writes a run folder. Every file goes through here.
pub struct RunWriter {
    dir: PathBuf,
    trials: File,
}

impl RunWriter {
    /// Create the results folder (it must not exist, or be empty).
    pub fn create(dir: &Path) -> anyhow::Result<RunWriter> {
        check_new_out(dir)?;
        fs::create_dir_all(dir)
            .with_context(|| format!("--out {}: cannot create", dir.display()))?;
        let trials = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("trials.jsonl"))
            .with_context(|| format!("--out {}: cannot write", dir.display()))?;
        Ok(RunWriter {
            dir: dir.to_path_buf(),
            trials,
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Append one trial and flush it to disk.
    pub fn trial(&mut self, rec: &TrialRecord) -> io::Result<()> {
        let mut line = serde_json::to_vec(rec).map_err(io::Error::other)?;
        line.push(b'\n');
        self.trials.write_all(&line)?;
        self.trials.flush()
    }

    /// Write (or replace atomically) a file in the folder.
    pub fn file(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        write_atomic(&self.dir.join(name), bytes)
    }
}

/// Pre-flight check of `--out`, creating nothing: it must be a new folder (or an empty one)
/// whose nearest existing ancestor is writable. Runs are never written over, and a folder of
/// other files is never written into.
pub fn check_new_out(dir: &Path) -> anyhow::Result<()> {
    let d = dir.display();
    match fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {
            let mut entries =
                fs::read_dir(dir).with_context(|| format!("--out {d}: cannot read it"))?;
            if entries.next().is_none() {
                return writable(dir, dir);
            }
            if dir.join("meta.json").exists() || dir.join("trials.jsonl").exists() {
                anyhow::bail!(
                    "--out {d}: already holds a ringbench run (runs are never overwritten); choose a new folder"
                );
            }
            anyhow::bail!(
                "--out {d}: exists and is not a ringbench run folder (it holds other files); choose a new folder"
            );
        }
        Ok(_) => anyhow::bail!("--out {d}: exists and is not a folder; choose a new folder"),
        Err(e)
            if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) =>
        {
            // The nearest ancestor that exists is where create_dir_all will start.
            let mut a = dir.parent();
            while let Some(p) = a {
                let probe = if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                };
                match fs::metadata(probe) {
                    Ok(m) if m.is_dir() => return writable(dir, probe),
                    Ok(_) => anyhow::bail!("--out {d}: {} is not a folder", probe.display()),
                    Err(_) => a = p.parent(),
                }
            }
            Ok(())
        }
        Err(e) => anyhow::bail!("--out {d}: {e}"),
    }
}

fn writable(dir: &Path, at: &Path) -> anyhow::Result<()> {
    // access(2) reports EROFS even for root.
    use rustix::fs::Access;
    if let Err(e) = rustix::fs::access(at, Access::WRITE_OK | Access::EXEC_OK) {
        anyhow::bail!(
            "--out {}: cannot create it: {} is not writable ({})",
            dir.display(),
            at.display(),
            io::Error::from(e)
        );
    }
    Ok(())
}

/// Write via a temporary file and rename, so a reader never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("tmp~");
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

/// Read trials.jsonl, skipping (and reporting) lines that do not parse — a run killed
/// mid-write leaves a truncated last line.
pub fn read_trials(dir: &Path) -> anyhow::Result<(Vec<TrialRecord>, Vec<String>)> {
    let bytes = read_data_file(dir, "trials.jsonl")?;
    // Bytes that are not UTF-8 spoil only their own line (it then does not parse).
    let text = String::from_utf8_lossy(&bytes);
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        // A line of another schema is not read as this one's layout.
        let parsed = serde_json::from_str::<serde_json::Value>(line)
            .map_err(|e| format!("{e}; truncated or corrupt"))
            .and_then(|v| schema::TRIALS.check(&v).map(|()| v))
            .and_then(|v| {
                serde_json::from_value::<TrialRecord>(v)
                    .map_err(|e| format!("{e}; truncated or corrupt"))
            });
        match parsed {
            Ok(r) => out.push(r),
            Err(e) => warnings.push(format!(
                "trials.jsonl line {}: skipped, unreadable ({e})",
                i + 1
            )),
        }
    }
    Ok((out, warnings))
}

/// A run folder's data file: missing (not a run folder?) and unreadable are said apart.
fn read_data_file(dir: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let path = dir.join(name);
    match fs::read(&path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if fs::metadata(dir).is_err() {
                anyhow::bail!("{}: no such run folder", dir.display())
            }
            anyhow::bail!("{}: no {name} (not a ringbench run folder?)", dir.display())
        }
        Err(e) => anyhow::bail!("{}: cannot read it: {e}", path.display()),
    }
}

/// Read meta.json: missing, corrupt, and of another schema version are three different
/// errors.
pub fn read_meta(dir: &Path) -> anyhow::Result<Meta> {
    let bytes = read_data_file(dir, "meta.json")?;
    let corrupt = |why: String| {
        anyhow::anyhow!(
            "{}: meta.json is corrupt ({why}); the run's parameters and environment are lost",
            dir.display()
        )
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| corrupt("not UTF-8 text".into()))?;
    if text.trim().is_empty() {
        return Err(corrupt("empty".into()));
    }
    // The schema first: a newer or older layout is named as such, not as corrupt.
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    if let Err(why) = schema::META.check(&v) {
        anyhow::bail!("{}: {why}", dir.display());
    }
    serde_json::from_value(v).map_err(|e| corrupt(e.to_string()))
}

/// Test data shared by the tests of this layer and the layers above.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use workloads::Stats;

    /// A fixed environment (a real capture fills fields this list lacks).
    pub(crate) fn env() -> crate::sys::env::Environment {
        serde_json::from_value(serde_json::json!({
            "host": "testhost", "kernel": "6.1.0", "cpu": "Test CPU", "cores": 2, "memory_bytes": 8u64 << 30,
            "dir": "/scratch", "mount_point": "/", "filesystem": "ext4", "mount_source": "/dev/vda",
            "mount_options": "rw", "device": null, "free_bytes": 1u64 << 40, "io_uring_unavailable": null,
            "memlock_limit": null, "can_drop_caches": true, "o_direct": true, "ringbench": "0.1.0",
            "git": "abc", "runtimes": {"tokio": "1.0"}, "fio": "fio-3.33"
        }))
        .or_else(|_| {
            // The environment struct grows; fill what the test does not set from a real capture.
            let mut e = crate::sys::env::capture(std::path::Path::new("/"));
            e.host = "testhost".into();
            Ok::<_, serde_json::Error>(e)
        })
        .unwrap()
    }

    /// An engine entry of meta.json with no class recorded (as an older folder has).
    pub(crate) fn engine(name: &str, does_io: bool) -> EngineMeta {
        EngineMeta {
            name: name.into(),
            runtime: name.into(),
            summary: String::new(),
            available: true,
            reason: None,
            info: serde_json::from_value(serde_json::json!({"caps": {"does_io": does_io}, "model": "blocking", "routes": {"read": "inline", "write": "inline"}})).unwrap(),
            class: None,
        }
    }

    /// meta.json of a finished run of `engines`, all moving data.
    pub(crate) fn meta(engines: &[&str]) -> Meta {
        Meta {
            schema: schema::META.current,
            started: "2026-01-01T00:00:00Z".into(),
            finished: Some("2026-01-01T00:01:00Z".into()),
            interrupted: false,
            command: vec!["ringbench".into(), "run".into()],
            options: serde_json::json!({"size": 4194304, "direct": false, "fsync": true, "seed": 1, "cache": "drop", "repeat": 4, "warmup": 0}),
            environment: env(),
            engines: engines.iter().map(|e| engine(e, true)).collect(),
            notes: vec![],
        }
    }

    pub(crate) fn config() -> Config {
        Config {
            block_size: 128 << 10,
            queue_depth: 8,
            files_in_flight: 8,
            threads: 1,
            cancel_bp: 0,
        }
    }

    /// A synthetic trial: fixed bytes and elapsed time, so throughput is exact.
    pub(crate) fn trial(
        index: usize,
        round: u32,
        engine: &str,
        w: Workload,
        mbps: f64,
    ) -> TrialRecord {
        let bytes = 4_000_000u64;
        let elapsed_ns = (bytes as f64 / (mbps * 1e6) * 1e9) as u64;
        // The slow engine runs one op at a time, the fast one keeps eight in flight: their
        // latencies must never share a table.
        let mut stats = Stats {
            max_in_flight: if engine == "slow" { 1 } else { 8 },
            ..Stats::default()
        };
        for k in 0..20u64 {
            stats.read_latency.record(10_000 + 1000 * k + (mbps as u64));
            stats.write_latency.record(20_000 + 1000 * k);
        }
        let outcome = Outcome {
            elapsed_ns,
            bytes,
            files: 1,
            stats,
            detail: None,
            cancel: Default::default(),
            cpu: Some(workloads::CpuUsage {
                user_s: 0.001 * mbps / 100.0,
                sys_s: 0.002,
                ..Default::default()
            }),
        };
        TrialRecord {
            schema: schema::TRIALS.current,
            index,
            round,
            warmup: false,
            engine: engine.into(),
            workload: w,
            config: config(),
            status: Status::Ok,
            error: None,
            verified: Verified::Yes,
            verify_detail: None,
            cache: "dropped".into(),
            direct: false,
            throughput: Some(outcome.bytes_per_sec()),
            outcome: Some(outcome),
            // The whole child: the timed section's CPU plus a fixed start-up cost.
            usage: Usage {
                user_s: 0.001 * mbps / 100.0 + 0.01,
                sys_s: 0.002,
                max_rss_kib: 4096,
                voluntary_cs: 1,
                involuntary_cs: 1,
            },
            child_wall_s: 0.1,
            overhead: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_info_is_written_as_workloads_writes_it_and_reads_back() {
        for name in crate::plan::engines::ALL {
            let info = crate::plan::engines::info(name).unwrap();
            let rec = EngineInfoRecord::from(&info);
            assert_eq!(
                serde_json::to_value(&rec).unwrap(),
                serde_json::to_value(info).unwrap(),
                "{name}"
            );
            let back: EngineInfoRecord =
                serde_json::from_str(&serde_json::to_string(&rec).unwrap()).unwrap();
            assert_eq!(back, rec);
        }
        // An older, shorter record still reads, with what it lacks at its default.
        let old: EngineInfoRecord =
            serde_json::from_str(r#"{"caps": {"does_io": true}, "routes": {"read": "ring"}}"#)
                .unwrap();
        assert!(old.caps.does_io && !old.caps.io_uring);
        assert_eq!(old.routes.read, Some(Route::Ring));
        assert_eq!(old.routes.write, None);
    }
    use crate::plan::options::Config;

    fn record(index: usize) -> TrialRecord {
        TrialRecord {
            schema: schema::TRIALS.current,
            index,
            round: 0,
            warmup: false,
            engine: "std".into(),
            workload: Workload::Large,
            config: Config {
                block_size: 4096,
                queue_depth: 1,
                files_in_flight: 1,
                threads: 1,
                cancel_bp: 0,
            },
            status: Status::Crash,
            error: Some("child killed by SIGABRT".into()),
            verified: Verified::NotApplicable,
            verify_detail: None,
            cache: "warm".into(),
            direct: false,
            outcome: None,
            throughput: None,
            usage: Usage::default(),
            child_wall_s: 0.5,
            overhead: false,
        }
    }

    #[test]
    fn a_truncated_last_line_is_skipped_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = RunWriter::create(&dir.path().join("run")).unwrap();
        w.trial(&record(0)).unwrap();
        w.trial(&record(1)).unwrap();
        // A run killed mid-write: half of the third line, no newline.
        let third = serde_json::to_string(&record(2)).unwrap();
        let mut f = OpenOptions::new()
            .append(true)
            .open(w.dir().join("trials.jsonl"))
            .unwrap();
        f.write_all(&third.as_bytes()[..third.len() / 2]).unwrap();
        drop(f);
        let (recs, warnings) = read_trials(w.dir()).unwrap();
        assert_eq!(recs, vec![record(0), record(1)]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("line 3"), "{warnings:?}");
    }

    #[test]
    fn a_line_of_another_schema_is_skipped_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut newer = record(1);
        newer.schema = schema::TRIALS.current + 1;
        let text = format!(
            "{}\n{}\n",
            serde_json::to_string(&record(0)).unwrap(),
            serde_json::to_string(&newer).unwrap()
        );
        fs::write(dir.path().join("trials.jsonl"), text).unwrap();
        let (recs, warnings) = read_trials(dir.path()).unwrap();
        assert_eq!(recs, vec![record(0)]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("line 2") && warnings[0].contains("schema version"),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_broken_line_in_the_middle_costs_only_that_line() {
        let dir = tempfile::tempdir().unwrap();
        let line = |i| serde_json::to_string(&record(i)).unwrap();
        let text = format!("{}\n{{\"schema\":1,\"ind\n\n{}\n", line(0), line(2));
        fs::write(dir.path().join("trials.jsonl"), text).unwrap();
        let (recs, warnings) = read_trials(dir.path()).unwrap();
        assert_eq!(recs.iter().map(|r| r.index).collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("line 2"), "{warnings:?}");
    }

    #[test]
    fn out_must_be_new_or_empty() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        assert!(check_new_out(&p.join("new/nested")).is_ok());
        assert!(check_new_out(p).is_ok(), "an empty folder is fine");
        fs::write(p.join("notes.txt"), b"mine").unwrap();
        let e = check_new_out(p).unwrap_err().to_string();
        assert!(
            e.starts_with("--out ") && e.contains("not a ringbench run folder"),
            "{e}"
        );
        let e = check_new_out(&p.join("notes.txt")).unwrap_err().to_string();
        assert!(e.contains("not a folder"), "{e}");
        let e = check_new_out(&p.join("notes.txt/sub"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a folder"), "{e}");
        let run = p.join("run");
        RunWriter::create(&run).unwrap();
        let e = check_new_out(&run).unwrap_err().to_string();
        assert!(e.contains("already holds a ringbench run"), "{e}");
        assert!(!e.contains('\n'));
    }
}
