//! Validated options: a [`RunRequest`] (what was asked, as given: the command line's values,
//! or what audit and calibrate ask for) becomes [`RunOptions`] here, and every bad input
//! becomes one [`OptionError`] whose message names the flag to fix. No clap type reaches this
//! layer: `cli` turns its arguments into a request.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use workloads::Workload;
use workloads::data::TreeShape;

use crate::plan::engines;

/// A bad command-line value, with the flag to fix in its message.
#[derive(Debug, thiserror::Error)]
pub enum OptionError {
    /// A value that does not parse or is out of range.
    #[error("{flag} {value:?}: {why}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// What was given.
        value: String,
        /// What is wrong.
        why: String,
    },
    /// A name that is not one of the known ones.
    #[error("{flag}: unknown {what} {name:?} (valid: {valid})")]
    Unknown {
        /// The flag.
        flag: &'static str,
        /// engine, workload, ...
        what: &'static str,
        /// What was given.
        name: String,
        /// The valid names.
        valid: String,
    },
}

fn invalid(flag: &'static str, value: &str, why: impl Into<String>) -> OptionError {
    OptionError::Invalid {
        flag,
        value: value.to_string(),
        why: why.into(),
    }
}

/// Page-cache policy between trials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheMode {
    /// Write to /proc/sys/vm/drop_caches (falls back to fadvise when not permitted).
    Drop,
    /// posix_fadvise(DONTNEED) on the source files.
    Fadvise,
    /// Leave the cache alone.
    Warm,
}

/// One point of a parameter sweep.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Config {
    /// Block size, bytes.
    pub block_size: usize,
    /// Ops in flight per task.
    pub queue_depth: usize,
    /// Files in flight (small, tree).
    pub files_in_flight: usize,
    /// Runtimes on threads.
    pub threads: usize,
    /// Share of reads and writes cancelled in flight, in basis points (1/10000), so the
    /// sweep point stays hashable and exact.
    pub cancel_bp: u32,
}

impl Config {
    /// A short, filename-safe id, e.g. `bs128k-qd8-f8-t1`.
    pub fn id(&self) -> String {
        let mut s = format!(
            "bs{}-qd{}-f{}-t{}",
            workloads::units::size(self.block_size as u64)
                .to_lowercase()
                .replace(' ', ""),
            self.queue_depth,
            self.files_in_flight,
            self.threads
        );
        if self.cancel_bp > 0 {
            s.push_str(&format!("-c{}", self.cancel_bp));
        }
        s
    }

    /// The cancel rate as a fraction.
    pub fn cancel_rate(&self) -> f64 {
        self.cancel_bp as f64 / 10_000.0
    }
}

/// Everything `ringbench run` needs, validated.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunOptions {
    /// Parent directory of the run's scratch directory.
    #[serde(serialize_with = "lossy_path")]
    pub dir: PathBuf,
    /// Why `dir` was chosen when defaulted.
    pub dir_note: Option<String>,
    /// Results folder.
    #[serde(serialize_with = "lossy_path")]
    pub out: PathBuf,
    /// Profile name.
    pub profile: String,
    /// Engines to run, in order.
    pub engines: Vec<String>,
    /// Workloads to run.
    pub workloads: Vec<Workload>,
    /// Measured rounds.
    pub repeat: u32,
    /// Discarded warm-up rounds.
    pub warmup: u32,
    /// Single-file size.
    pub size: u64,
    /// Small-file count.
    pub files: usize,
    /// Tree shape.
    pub tree: TreeShape,
    /// Sweep points (cartesian product of the list flags).
    pub configs: Vec<Config>,
    /// Ring entries.
    pub ring_entries: u32,
    /// Seed.
    pub seed: u64,
    /// O_DIRECT for large/read/write.
    pub direct: bool,
    /// fsync written files in the timed section.
    pub fsync: bool,
    /// Page-cache policy.
    pub cache: CacheMode,
    /// Per-trial deadline.
    pub trial_timeout: Duration,
    /// Adaptive repeats: the relative half-width every interval must reach (0.05 = +-5%).
    pub target_ci: Option<f64>,
    /// Time budget of adaptive repeats.
    pub max_time: Duration,
    /// No progress output.
    pub quiet: bool,
    /// JSON summary on stdout.
    pub json: bool,
    /// The overhead set (runtime cost per op), run in the same rounds; `None` with
    /// `--no-overhead`.
    pub overhead: Option<crate::plan::overhead_plan::OverheadSet>,
}

/// What a run is asked to do, before validation: every value as given (strings, so the error
/// can quote it), `None` where the profile decides. `ringbench run`'s arguments convert into
/// one (`cli`); audit and calibrate build theirs directly. [`RunRequest::default`] is a bare
/// `ringbench run` (a test in `cli` checks the two agree).
#[derive(Clone, Debug, PartialEq)]
pub struct RunRequest {
    /// `--dir`.
    pub dir: Option<PathBuf>,
    /// `--out`.
    pub out: Option<PathBuf>,
    /// `--profile`.
    pub profile: String,
    /// `--engines`.
    pub engines: String,
    /// `--workloads`.
    pub workloads: String,
    /// `--repeat`.
    pub repeat: Option<u32>,
    /// `--warmup`.
    pub warmup: Option<u32>,
    /// `--size`.
    pub size: Option<String>,
    /// `--block-size`.
    pub block_size: Option<String>,
    /// `--queue-depth`.
    pub queue_depth: Option<String>,
    /// `--files`.
    pub files: Option<String>,
    /// `--files-in-flight`.
    pub files_in_flight: Option<String>,
    /// `--threads`.
    pub threads: Option<String>,
    /// `--tree-depth`.
    pub tree_depth: Option<String>,
    /// `--tree-fanout`.
    pub tree_fanout: Option<String>,
    /// `--tree-files`.
    pub tree_files: Option<String>,
    /// `--ring-entries`.
    pub ring_entries: Option<String>,
    /// `--cancel-rate`.
    pub cancel_rate: Option<String>,
    /// `--target-ci`.
    pub target_ci: Option<String>,
    /// `--max-time`.
    pub max_time: Option<String>,
    /// `--seed`.
    pub seed: String,
    /// `--direct`.
    pub direct: bool,
    /// `--no-fsync`.
    pub no_fsync: bool,
    /// `--cache`.
    pub cache: String,
    /// `--trial-timeout`.
    pub trial_timeout: Option<String>,
    /// `--quiet`.
    pub quiet: bool,
    /// `--json`.
    pub json: bool,
    /// `--no-overhead`.
    pub no_overhead: bool,
    /// `--overhead-size`.
    pub overhead_size: Option<String>,
    /// `--overhead-cpu`.
    pub overhead_cpu: Option<String>,
}

impl Default for RunRequest {
    fn default() -> Self {
        RunRequest {
            dir: None,
            out: None,
            profile: "quick".into(),
            engines: "all".into(),
            workloads: "all".into(),
            repeat: None,
            warmup: None,
            size: None,
            block_size: None,
            queue_depth: None,
            files: None,
            files_in_flight: None,
            threads: None,
            tree_depth: None,
            tree_fanout: None,
            tree_files: None,
            ring_entries: None,
            cancel_rate: None,
            target_ci: None,
            max_time: None,
            seed: "1".into(),
            direct: false,
            no_fsync: false,
            cache: "drop".into(),
            trial_timeout: None,
            quiet: false,
            json: false,
            no_overhead: false,
            overhead_size: None,
            overhead_cpu: None,
        }
    }
}

impl RunRequest {
    /// The `ringbench run` arguments that ask for this request (after `run`), for the
    /// record of what ran (calibrate shows and stores each phase's); only values that differ
    /// from a bare `run` are given, except `--cache`, always shown. Paths stay as given (a path
    /// need not be UTF-8).
    pub fn args(&self) -> Vec<OsString> {
        fn pair(a: &mut Vec<OsString>, name: &str, v: Option<impl Into<OsString>>) {
            if let Some(v) = v {
                a.push(name.into());
                a.push(v.into());
            }
        }
        fn switch(a: &mut Vec<OsString>, name: &str, on: bool) {
            if on {
                a.push(name.into());
            }
        }
        let d = RunRequest::default();
        let differs = |v: &String, d: &String| (v != d).then(|| v.clone());
        let a = &mut Vec::new();
        pair(a, "--out", self.out.clone());
        switch(a, "--direct", self.direct);
        pair(a, "--cache", Some(self.cache.clone()));
        pair(a, "--dir", self.dir.clone());
        switch(a, "--quiet", self.quiet);
        pair(a, "--workloads", differs(&self.workloads, &d.workloads));
        pair(a, "--engines", differs(&self.engines, &d.engines));
        pair(a, "--size", self.size.clone());
        pair(a, "--block-size", self.block_size.clone());
        pair(a, "--queue-depth", self.queue_depth.clone());
        pair(a, "--repeat", self.repeat.map(|r| r.to_string()));
        pair(a, "--warmup", self.warmup.map(|w| w.to_string()));
        pair(a, "--profile", differs(&self.profile, &d.profile));
        pair(a, "--files", self.files.clone());
        pair(a, "--files-in-flight", self.files_in_flight.clone());
        pair(a, "--threads", self.threads.clone());
        pair(a, "--tree-depth", self.tree_depth.clone());
        pair(a, "--tree-fanout", self.tree_fanout.clone());
        pair(a, "--tree-files", self.tree_files.clone());
        pair(a, "--ring-entries", self.ring_entries.clone());
        pair(a, "--cancel-rate", self.cancel_rate.clone());
        pair(a, "--target-ci", self.target_ci.clone());
        pair(a, "--max-time", self.max_time.clone());
        pair(a, "--seed", differs(&self.seed, &d.seed));
        pair(a, "--trial-timeout", self.trial_timeout.clone());
        switch(a, "--no-fsync", self.no_fsync);
        switch(a, "--json", self.json);
        switch(a, "--no-overhead", self.no_overhead);
        pair(a, "--overhead-size", self.overhead_size.clone());
        pair(a, "--overhead-cpu", self.overhead_cpu.clone());
        std::mem::take(a)
    }
}

/// A path in a record, shown lossily when it is not UTF-8 (serde's own impl refuses it, which
/// would lose the whole record).
pub fn lossy_path<S: serde::Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// [`lossy_path`] for an optional path.
pub fn lossy_opt_path<S: serde::Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => lossy_path(p, s),
        None => s.serialize_none(),
    }
}

struct Profile {
    size: u64,
    block: usize,
    qd: usize,
    files: usize,
    fif: usize,
    tree: TreeShape,
    repeat: u32,
    warmup: u32,
    timeout: u64,
}

fn profile(name: &str) -> Result<Profile, OptionError> {
    match name {
        // Shared with `cargo bench` (workloads::profile), so their numbers are comparable.
        "quick" => Ok(Profile {
            size: workloads::profile::QUICK.size,
            block: workloads::profile::QUICK.block_size,
            qd: workloads::profile::QUICK.queue_depth,
            files: workloads::profile::QUICK.files,
            fif: workloads::profile::QUICK.files_in_flight,
            tree: workloads::profile::QUICK.tree,
            // 10 rounds: the 95% order-statistic interval is then [x(2), x(9)] (97.9%), so
            // one outlier round on either side neither makes a cell noisy nor blocks a
            // decision; 6, the fewest that reach 95%, give [min, max], which one hiccup of the
            // VM widens. Measured on the 2-core VM: two default runs had 0 of 60 noisy
            // overhead cells each; the whole quick profile takes about 2 minutes there.
            repeat: 10,
            warmup: 1,
            timeout: 60,
        }),
        "full" => Ok(Profile {
            size: 1 << 30,
            block: 128 << 10,
            qd: 32,
            files: 2000,
            fif: 32,
            tree: TreeShape {
                depth: 3,
                fanout: 4,
                files_per_dir: 8,
            },
            // As many rounds as the quick profile, for the same reason (one outlier round on
            // either side is trimmed by the 95% interval).
            repeat: 10,
            warmup: 1,
            timeout: 600,
        }),
        other => Err(OptionError::Unknown {
            flag: "--profile",
            what: "profile",
            name: other.to_string(),
            valid: "quick, full".into(),
        }),
    }
}

/// `--overhead-cpu`: `none`, a CPU this process may run on, or (absent) the default of
/// [`crate::sys::cpus::default_pin`].
fn overhead_cpu(v: Option<&str>) -> Result<Option<usize>, OptionError> {
    match v {
        None => Ok(crate::sys::cpus::default_pin()),
        Some("none") => Ok(None),
        Some(v) => {
            let cpu: usize = v
                .parse()
                .map_err(|_| invalid("--overhead-cpu", v, "expected a CPU number or `none`"))?;
            let allowed = crate::sys::cpus::allowed();
            if !allowed.contains(&cpu) {
                let list: Vec<String> = allowed.iter().map(|c| c.to_string()).collect();
                return Err(invalid(
                    "--overhead-cpu",
                    v,
                    format!(
                        "not a CPU ringbench may run on (allowed: {})",
                        list.join(",")
                    ),
                ));
            }
            Ok(Some(cpu))
        }
    }
}

/// Parse a byte size ([`workloads::units::parse_size`]: digits with an optional binary unit,
/// `k`, `M`, `G`, `T`, all powers of 1024), or an error naming `flag`.
pub fn parse_size(flag: &'static str, s: &str) -> Result<u64, OptionError> {
    workloads::units::parse_size(s).map_err(|why| invalid(flag, s, why))
}

/// A whole number in `[lo, hi]`, or an error naming `flag`.
pub fn parse_num(flag: &'static str, s: &str, lo: u64, hi: u64) -> Result<u64, OptionError> {
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| invalid(flag, s, "expected a whole number"))?;
    if n < lo || n > hi {
        return Err(invalid(flag, s, format!("must be between {lo} and {hi}")));
    }
    Ok(n)
}

fn parse_list<T>(
    flag: &'static str,
    s: &str,
    one: impl Fn(&str) -> Result<T, OptionError>,
) -> Result<Vec<T>, OptionError> {
    if s.split(',').all(|p| p.trim().is_empty()) {
        return Err(invalid(flag, s, "empty list"));
    }
    // `1,,4` or `4,` is a typo, not a list of two: refused rather than guessed at.
    if s.split(',').any(|p| p.trim().is_empty()) {
        return Err(invalid(
            flag,
            s,
            "empty item in the list (a doubled, leading or trailing comma)",
        ));
    }
    s.split(',').map(one).collect()
}

/// Resolve an engine list (`all` = every listed engine on its runtime's current release;
/// `all-versions` = those and every other release built in, `compio@0.16`...). Unknown names
/// are an error.
pub fn parse_engines(s: &str) -> Result<Vec<String>, OptionError> {
    let all = || {
        engines::ALL
            .iter()
            .filter(|n| engines::default_selected(n))
            .map(|n| n.to_string())
    };
    if s.trim() == "all-versions" {
        return Ok(engines::ALL
            .iter()
            .filter(|n| engines::visible(n))
            .map(|n| n.to_string())
            .collect());
    }
    let mut out: Vec<String> = Vec::new();
    for name in parse_list("--engines", s, |p| Ok(p.trim().to_string()))? {
        // `all` may appear in a list (`all,null`): it stands for every listed engine, and an
        // unknown name next to it is the one blamed.
        let names: Vec<String> = if name == "all" {
            all().collect()
        } else if engines::info(&name).is_none() && !crate::plan::faults::is_fault_engine(&name) {
            return Err(OptionError::Unknown {
                flag: "--engines",
                what: "engine",
                name,
                valid: format!(
                    "{}, all, all-versions",
                    all().collect::<Vec<_>>().join(", ")
                ),
            });
        } else {
            vec![name]
        };
        for n in names {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    Ok(out)
}

/// Resolve a workload list (`all` = every workload).
pub fn parse_workloads(s: &str) -> Result<Vec<Workload>, OptionError> {
    let mut out = Vec::new();
    for name in parse_list("--workloads", s, |p| Ok(p.trim().to_string()))? {
        let ws: Vec<Workload> = if name == "all" {
            Workload::ALL.to_vec()
        } else {
            vec![Workload::parse(&name).ok_or_else(|| OptionError::Unknown {
                flag: "--workloads",
                what: "workload",
                name: name.clone(),
                valid: format!("{}, all", Workload::ALL.map(|w| w.name()).join(", ")),
            })?]
        };
        for w in ws {
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
    Ok(out)
}

/// The default scratch parent: the system temp dir, unless it is a tmpfs (not "the current
/// disk"), then the current directory.
pub fn default_dir() -> (PathBuf, Option<String>) {
    let tmp = std::env::temp_dir();
    if crate::sys::sysinfo::is_tmpfs(&tmp) {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let note = format!(
            "{} is a tmpfs (memory, not disk); using {} instead",
            tmp.display(),
            cwd.display()
        );
        (cwd, Some(note))
    } else {
        (tmp, None)
    }
}

/// Default results folder: `results/<utc-time>-<host>[suffix]`.
pub fn default_out(suffix: &str) -> PathBuf {
    let base = format!(
        "{}-{}{suffix}",
        crate::sys::sysinfo::utc_stamp(),
        crate::sys::sysinfo::hostname()
    );
    // The stamp has one-second resolution: a second command in the same second gets `-2`,
    // `-3`... rather than refusing a folder it did not ask for by name.
    (1..)
        .map(|n| {
            Path::new("results").join(if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            })
        })
        .find(|p| !p.exists())
        .expect("an unused name")
}

impl RunOptions {
    /// Validate a run request.
    pub fn from_request(a: &RunRequest) -> Result<RunOptions, OptionError> {
        let p = profile(&a.profile)?;
        let engines = parse_engines(&a.engines)?;
        let workloads = parse_workloads(&a.workloads)?;
        let size = match &a.size {
            Some(s) => parse_size("--size", s)?,
            None => p.size,
        };
        if size == 0 {
            return Err(invalid(
                "--size",
                a.size.as_deref().unwrap_or("0"),
                "must be positive",
            ));
        }
        if size > 1 << 50 {
            return Err(invalid(
                "--size",
                a.size.as_deref().unwrap_or(""),
                "absurdly large (over 1 PiB)",
            ));
        }
        let block_sizes = match &a.block_size {
            Some(s) => parse_list("--block-size", s, |v| {
                let b = parse_size("--block-size", v)?;
                if b == 0 || b % 512 != 0 || b > 64 << 20 {
                    return Err(invalid(
                        "--block-size",
                        v,
                        "must be a multiple of 512 between 512 and 64M",
                    ));
                }
                Ok(b as usize)
            })?,
            None => vec![p.block],
        };
        let qds = match &a.queue_depth {
            Some(s) => parse_list("--queue-depth", s, |v| {
                Ok(parse_num("--queue-depth", v, 1, 4096)? as usize)
            })?,
            None => vec![p.qd],
        };
        let fifs = match &a.files_in_flight {
            Some(s) => parse_list("--files-in-flight", s, |v| {
                Ok(parse_num("--files-in-flight", v, 1, 4096)? as usize)
            })?,
            None => vec![p.fif],
        };
        let threads = match &a.threads {
            Some(s) => parse_list("--threads", s, |v| {
                Ok(parse_num("--threads", v, 1, 1024)? as usize)
            })?,
            None => vec![1],
        };
        let cancels = match &a.cancel_rate {
            Some(s) => parse_list("--cancel-rate", s, |v| {
                let p: f64 = v.trim().parse().map_err(|_| {
                    invalid("--cancel-rate", v, "expected a number between 0 and 1")
                })?;
                if !(0.0..=1.0).contains(&p) {
                    return Err(invalid("--cancel-rate", v, "must be between 0 and 1"));
                }
                Ok((p * 10_000.0).round() as u32)
            })?,
            None => vec![0],
        };
        // Cancellation has a cost only relative to the same trials without it: a rate above 0
        // brings rate 0 into the same rounds as its baseline.
        let mut cancels = cancels;
        if cancels.iter().any(|&c| c > 0) && !cancels.contains(&0) {
            cancels.insert(0, 0);
        }
        let opt_num = |flag, v: &Option<String>, lo, hi, d: u64| -> Result<u64, OptionError> {
            v.as_deref().map_or(Ok(d), |s| parse_num(flag, s, lo, hi))
        };
        let files = opt_num("--files", &a.files, 1, 10_000_000, p.files as u64)? as usize;
        let tree = TreeShape {
            depth: opt_num("--tree-depth", &a.tree_depth, 0, 8, p.tree.depth as u64)? as u32,
            fanout: opt_num("--tree-fanout", &a.tree_fanout, 1, 64, p.tree.fanout as u64)? as u32,
            files_per_dir: opt_num(
                "--tree-files",
                &a.tree_files,
                0,
                10_000,
                p.tree.files_per_dir as u64,
            )? as u32,
        };
        let dirs: u64 = (0..=tree.depth).map(|d| (tree.fanout as u64).pow(d)).sum();
        if dirs * tree.files_per_dir as u64 > 10_000_000 {
            return Err(invalid(
                "--tree-depth",
                &tree.depth.to_string(),
                "tree would hold over 10 million files",
            ));
        }
        let ring_entries = opt_num("--ring-entries", &a.ring_entries, 1, 32768, 256)? as u32;
        let seed = parse_num("--seed", &a.seed, 0, u64::MAX)?;
        let repeat = a.repeat.unwrap_or(p.repeat);
        if repeat == 0 || repeat > 10_000 {
            return Err(invalid(
                "--repeat",
                &repeat.to_string(),
                "must be between 1 and 10000",
            ));
        }
        let warmup = a.warmup.unwrap_or(p.warmup);
        if warmup > 100 {
            return Err(invalid(
                "--warmup",
                &warmup.to_string(),
                "must be at most 100",
            ));
        }
        let cache = match a.cache.as_str() {
            "drop" => CacheMode::Drop,
            "fadvise" => CacheMode::Fadvise,
            "warm" => CacheMode::Warm,
            other => {
                return Err(OptionError::Unknown {
                    flag: "--cache",
                    what: "cache mode",
                    name: other.into(),
                    valid: "drop, fadvise, warm".into(),
                });
            }
        };
        let target_ci = match &a.target_ci {
            Some(v) => {
                let p: f64 = v
                    .trim()
                    .trim_end_matches('%')
                    .parse()
                    .map_err(|_| invalid("--target-ci", v, "expected a percentage, e.g. 5"))?;
                if !(p > 0.0 && p < 100.0) {
                    return Err(invalid(
                        "--target-ci",
                        v,
                        "must be more than 0 and less than 100 (percent), e.g. 5",
                    ));
                }
                Some(p / 100.0)
            }
            None => None,
        };
        if a.max_time.is_some() && target_ci.is_none() {
            return Err(invalid(
                "--max-time",
                a.max_time.as_deref().unwrap_or(""),
                "only means something with --target-ci",
            ));
        }
        let max_time = Duration::from_secs(opt_num("--max-time", &a.max_time, 1, 7 * 86_400, 600)?);
        let trial_timeout = Duration::from_secs(opt_num(
            "--trial-timeout",
            &a.trial_timeout,
            1,
            86_400,
            p.timeout,
        )?);
        if a.direct {
            for &b in &block_sizes {
                if b % workloads::ALIGN != 0 {
                    return Err(invalid(
                        "--block-size",
                        &b.to_string(),
                        "--direct needs multiples of 4k",
                    ));
                }
            }
            if size % workloads::ALIGN as u64 != 0 {
                return Err(invalid(
                    "--size",
                    &size.to_string(),
                    "--direct needs a multiple of 4k",
                ));
            }
        }
        let mut configs = Vec::new();
        for &block_size in &block_sizes {
            for &queue_depth in &qds {
                for &files_in_flight in &fifs {
                    for &t in &threads {
                        for &cancel_bp in &cancels {
                            configs.push(Config {
                                block_size,
                                queue_depth,
                                files_in_flight,
                                threads: t,
                                cancel_bp,
                            });
                        }
                    }
                }
            }
        }
        let overhead = if a.no_overhead {
            for (flag, v) in [
                ("--overhead-size", &a.overhead_size),
                ("--overhead-cpu", &a.overhead_cpu),
            ] {
                if let Some(v) = v {
                    return Err(invalid(flag, v, "means nothing with --no-overhead"));
                }
            }
            None
        } else {
            let size = match &a.overhead_size {
                Some(v) => {
                    let n = parse_size("--overhead-size", v)?;
                    if n < workloads::ALIGN as u64 || n % workloads::ALIGN as u64 != 0 {
                        return Err(invalid(
                            "--overhead-size",
                            v,
                            "must be a positive multiple of 4k",
                        ));
                    }
                    if n > 1 << 40 {
                        return Err(invalid("--overhead-size", v, "absurdly large (over 1 TiB)"));
                    }
                    n
                }
                None => crate::plan::overhead_plan::default_size(size),
            };
            Some(crate::plan::overhead_plan::OverheadSet::new(
                size,
                overhead_cpu(a.overhead_cpu.as_deref())?,
            ))
        };
        let (dir, dir_note) = match &a.dir {
            Some(d) => (d.clone(), None),
            None => default_dir(),
        };
        Ok(RunOptions {
            dir,
            dir_note,
            out: a.out.clone().unwrap_or_else(|| default_out("")),
            profile: a.profile.clone(),
            engines,
            workloads,
            repeat,
            warmup,
            size,
            files,
            tree,
            configs,
            ring_entries,
            seed,
            direct: a.direct,
            fsync: !a.no_fsync,
            cache,
            trial_timeout,
            target_ci,
            max_time,
            quiet: a.quiet,
            json: a.json,
            overhead,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_keeps_one_release_per_runtime_and_all_versions_adds_the_others() {
        let all = parse_engines("all").unwrap();
        assert!(all.iter().any(|e| e == "compio"));
        assert!(!all.iter().any(|e| e.contains('@')), "{all:?}");
        let every = parse_engines("all-versions").unwrap();
        assert!(every.iter().any(|e| e == "compio@0.16"), "{every:?}");
        assert!(every.iter().any(|e| e == "compio@0.20-beta"), "{every:?}");
        assert!(all.iter().all(|e| every.contains(e)));
        assert_eq!(
            parse_engines("compio@0.16,compio").unwrap(),
            ["compio@0.16", "compio"]
        );
    }

    #[test]
    fn a_bad_size_names_its_flag() {
        assert_eq!(parse_size("--size", "64M").unwrap(), 64 << 20);
        assert_eq!(parse_size("--size", "2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("--size", "128k").unwrap(), 128 << 10);
        assert!(parse_size("--size", "abc").is_err());
        assert!(parse_size("--size", "12Q").is_err());
        assert!(parse_size("--size", "99999999999999999999T").is_err());
        let e = parse_size("--block-size", "12Q").unwrap_err().to_string();
        assert!(e.starts_with("--block-size \"12Q\": unknown unit"), "{e}");
    }
}
