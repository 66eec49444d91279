//! The result schema (versioned) and the one place that writes result files.
//!
//! A run folder holds `meta.json` (environment, options, engines), `trials.jsonl` (one line
//! per trial, appended and flushed as each finishes, raw measurements kept), and
//! `summary.json` / `summary.csv` (rewritten after every round, so a crash loses nothing).
//! `results/README.md` documents every field.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use workloads::{Outcome, Workload};

use crate::env::Environment;
use crate::options::Config;

/// Version of the files' schema; bumped on any incompatible change.
///
/// 2: `cpu_s_per_gb` in summaries is CPU over the timed section (`outcome.cpu`, read by the
/// trial child itself), no longer the whole child's (now `child_cpu_s_per_gb`).
pub const SCHEMA_VERSION: u32 = 2;

/// Versions this ringbench reads. A version-1 folder differs only in lacking `outcome.cpu`:
/// its summary is recomputed with the timed CPU absent ("–") and the whole-child figure kept.
pub const READABLE_SCHEMAS: &[u32] = &[1, SCHEMA_VERSION];

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
    pub info: serde_json::Value,
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

/// Resource usage of a trial's whole child — start-up, dataset checks and everything else the
/// child did, not only its timed section — from the kernel's accounting (`wait4`). The timed
/// section's own CPU is `Outcome::cpu`.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Usage {
    /// User CPU seconds, whole child.
    pub user_s: f64,
    /// System CPU seconds, whole child.
    pub sys_s: f64,
    /// Peak resident set, KiB: the trial child's own (VmHWM, as it reports it; see
    /// `TrialReply::peak_rss_kib`), else wait4's, which includes the driver's peak at exec.
    pub max_rss_kib: u64,
    /// Voluntary context switches.
    pub voluntary_cs: u64,
    /// Involuntary context switches.
    pub involuntary_cs: u64,
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
    let c = std::ffi::CString::new(at.as_os_str().as_encoded_bytes())
        .with_context(|| format!("--out {}: invalid path", dir.display()))?;
    // SAFETY: valid C string. access(2) reports EROFS even for root.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
        anyhow::bail!(
            "--out {}: cannot create it: {} is not writable ({})",
            dir.display(),
            at.display(),
            io::Error::last_os_error()
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
        match serde_json::from_str::<TrialRecord>(line) {
            Ok(r) => out.push(r),
            Err(e) => warnings.push(format!(
                "trials.jsonl line {}: skipped, unreadable ({e}; truncated or corrupt)",
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
    if let Some(schema) = v.get("schema").and_then(|s| s.as_u64())
        && !READABLE_SCHEMAS.contains(&(schema as u32))
    {
        anyhow::bail!(
            "{}: schema version {schema} (this ringbench reads {READABLE_SCHEMAS:?})",
            dir.display()
        );
    }
    serde_json::from_value(v).map_err(|e| corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Config;

    fn record(index: usize) -> TrialRecord {
        TrialRecord {
            schema: SCHEMA_VERSION,
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
