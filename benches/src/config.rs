//! The benches' knobs, read from `RINGBENCH_*` environment variables (criterion owns the
//! command line), validated up front so a bad value is one clear line before anything runs.

use std::path::PathBuf;

use workloads::data::TreeShape;
use workloads::profile::QUICK;
use workloads::units::{exact_size as human, parse_size};
use workloads::{ALIGN, RuntimeConfig, TrialPlan, Workload};

/// Single-file size by default: the driver's quick profile's (`ringbench run`'s default), so the
/// two tools' numbers can be set side by side.
pub const DEFAULT_SIZE: u64 = QUICK.size;
/// Files of the `small` dataset by default: the quick profile's.
pub const DEFAULT_FILES: usize = QUICK.files;
/// Block sizes swept by default: small to large ops around the quick profile's 128 KiB (which
/// `ringbench run` measures), each a benchmark of its own with the same throughput unit, so
/// criterion's group report draws throughput against block size per engine.
pub const DEFAULT_BLOCK_SIZES: &[usize] = &[4 << 10, 32 << 10, QUICK.block_size, 1 << 20];
/// Dataset seed: fixed, so every run and every engine copies the same bytes.
pub const DEFAULT_SEED: u64 = 1;
/// Ring entries at least; raised to the ops in flight when those are more.
const MIN_RING_ENTRIES: u32 = 256;
/// Upper bounds that catch typos (a queue depth of 1e9) before they exhaust memory.
const MAX_BLOCK_SIZE: u64 = 1 << 30;
const MAX_IN_FLIGHT: u64 = 1 << 16;
const MAX_THREADS: u64 = 1024;

/// What one bench run is sized and pointed at.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Where the run makes its own scratch directory (`RINGBENCH_DIR`).
    pub dir: PathBuf,
    /// Bytes of the single file of large, read and write (`RINGBENCH_SIZE`).
    pub size: u64,
    /// Block (buffer) size of this sweep point (the first of `block_sizes`; [`Config::at`]).
    pub block_size: usize,
    /// The block sizes swept (`RINGBENCH_BLOCK_SIZE`, a comma list).
    pub block_sizes: Vec<usize>,
    /// Ops in flight per runtime (`RINGBENCH_QUEUE_DEPTH`).
    pub queue_depth: usize,
    /// Files of the small dataset (`RINGBENCH_FILES`).
    pub files: usize,
    /// Files copied at once by small and tree (`RINGBENCH_FILES_IN_FLIGHT`).
    pub files_in_flight: usize,
    /// Shape of the tree dataset (`RINGBENCH_TREE`, `DEPTH:FANOUT:FILES_PER_DIR`).
    pub tree: TreeShape,
    /// Runtimes on threads, each with its share (`RINGBENCH_THREADS`).
    pub threads: usize,
    /// `O_DIRECT` for large, read and write (`RINGBENCH_DIRECT=1`).
    pub direct: bool,
    /// fsync every written file inside the timed section (`RINGBENCH_FSYNC=1`).
    pub fsync: bool,
    /// Dataset seed (`RINGBENCH_SEED`).
    pub seed: u64,
}

impl Config {
    /// Read the process environment.
    pub fn from_env() -> Result<Config, String> {
        Config::from_lookup(|k| {
            std::env::var_os(k)
                .map(|v| v.into_string().map_err(|_| format!("{k}: not valid UTF-8")))
        })
    }

    /// Read the knobs through `get` (the environment, or a map in tests).
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<Result<String, String>>,
    ) -> Result<Config, String> {
        let var = |k: &str| get(k).transpose();
        let dir = match var("RINGBENCH_DIR")? {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => std::env::temp_dir(),
        };
        let parse = |k: &str,
                     default: u64,
                     f: fn(&str) -> Result<u64, String>,
                     lo: u64,
                     hi: u64|
         -> Result<u64, String> {
            match var(k)? {
                None => Ok(default),
                Some(v) => {
                    let n = f(v.trim()).map_err(|e| format!("{k}={v:?}: {e}"))?;
                    if n < lo || n > hi {
                        return Err(format!("{k}={v:?}: must be between {lo} and {hi}"));
                    }
                    Ok(n)
                }
            }
        };
        let flag = |k: &str, default: bool| -> Result<bool, String> {
            match var(k)? {
                None => Ok(default),
                Some(v) => parse_bool(v.trim()).map_err(|e| format!("{k}={v:?}: {e}")),
            }
        };
        let block_sizes: Vec<usize> = match var("RINGBENCH_BLOCK_SIZE")? {
            None => DEFAULT_BLOCK_SIZES.to_vec(),
            Some(v) => {
                let mut list = Vec::new();
                for item in v.split(',') {
                    let n = parse_size(item.trim()).map_err(|e| {
                        format!("RINGBENCH_BLOCK_SIZE={v:?}: {:?}: {e}", item.trim())
                    })?;
                    if !(1..=MAX_BLOCK_SIZE).contains(&n) {
                        return Err(format!(
                            "RINGBENCH_BLOCK_SIZE={v:?}: must be between 1 and {MAX_BLOCK_SIZE}"
                        ));
                    }
                    if !list.contains(&(n as usize)) {
                        list.push(n as usize);
                    }
                }
                list
            }
        };
        let cfg = Config {
            size: parse("RINGBENCH_SIZE", DEFAULT_SIZE, parse_size, 1, u64::MAX)?,
            block_size: block_sizes[0],
            block_sizes,
            queue_depth: parse(
                "RINGBENCH_QUEUE_DEPTH",
                QUICK.queue_depth as u64,
                parse_count,
                1,
                MAX_IN_FLIGHT,
            )? as usize,
            files: parse(
                "RINGBENCH_FILES",
                DEFAULT_FILES as u64,
                parse_count,
                1,
                10_000_000,
            )? as usize,
            files_in_flight: parse(
                "RINGBENCH_FILES_IN_FLIGHT",
                QUICK.files_in_flight as u64,
                parse_count,
                1,
                MAX_IN_FLIGHT,
            )? as usize,
            tree: match var("RINGBENCH_TREE")? {
                None => QUICK.tree,
                Some(v) => {
                    parse_tree(v.trim()).map_err(|e| format!("RINGBENCH_TREE={v:?}: {e}"))?
                }
            },
            threads: parse("RINGBENCH_THREADS", 1, parse_count, 1, MAX_THREADS)? as usize,
            direct: flag("RINGBENCH_DIRECT", false)?,
            fsync: flag("RINGBENCH_FSYNC", QUICK.fsync)?,
            seed: parse("RINGBENCH_SEED", DEFAULT_SEED, parse_count, 0, u64::MAX)?,
            dir,
        };
        if cfg.direct {
            let a = ALIGN as u64;
            if let Some(b) = std::iter::once(cfg.size)
                .chain(cfg.block_sizes.iter().map(|&b| b as u64))
                .find(|&b| b % a != 0)
            {
                return Err(format!(
                    "RINGBENCH_DIRECT=1 needs RINGBENCH_SIZE ({}) and every RINGBENCH_BLOCK_SIZE ({b} is not) to be multiples of {a}",
                    cfg.size
                ));
            }
        }
        match std::fs::metadata(&cfg.dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(format!(
                    "RINGBENCH_DIR={}: not a directory",
                    cfg.dir.display()
                ));
            }
            Err(e) => return Err(format!("RINGBENCH_DIR={}: {e}", cfg.dir.display())),
        }
        Ok(cfg)
    }

    /// This configuration at block size `block_size` (a point of the sweep).
    pub fn at(&self, block_size: usize) -> Config {
        Config {
            block_size,
            ..self.clone()
        }
    }

    /// The trial plan of `workload` (paths left empty: the bench fills them in).
    pub fn plan(&self, workload: Workload) -> TrialPlan {
        let mut plan = TrialPlan::new(workload, PathBuf::new(), PathBuf::new());
        plan.size = self.size;
        plan.files = self.files;
        plan.files_in_flight = self.files_in_flight;
        plan.tree = self.tree;
        plan.direct = self.direct && workload.supports_direct();
        plan.fsync = self.fsync;
        plan.seed = self.seed;
        plan.threads = self.threads;
        let in_flight = match workload {
            Workload::Small | Workload::Tree => self.files_in_flight,
            _ => self.queue_depth,
        };
        plan.runtime = RuntimeConfig {
            ring_entries: MIN_RING_ENTRIES.max((in_flight as u32).next_power_of_two()),
            queue_depth: self.queue_depth,
            block_size: self.block_size,
        };
        plan
    }

    /// A short, filename-safe label of the knobs that matter to `workload` other than the block
    /// size: part of the criterion group's name (the block size is each benchmark's parameter),
    /// so criterion never compares runs of different sizes.
    pub fn label(&self, workload: Workload) -> String {
        let mut s = match workload {
            Workload::Large | Workload::Read | Workload::Write | Workload::Randread => {
                format!("{}-qd{}", human(self.size), self.queue_depth)
            }
            Workload::Small => format!("{}files-ff{}", self.files, self.files_in_flight),
            Workload::Tree => format!(
                "d{}f{}n{}-ff{}",
                self.tree.depth, self.tree.fanout, self.tree.files_per_dir, self.files_in_flight
            ),
        };
        if self.threads > 1 {
            s += &format!("-t{}", self.threads);
        }
        if self.direct && workload.supports_direct() {
            s += "-direct";
        }
        if self.fsync && !matches!(workload, Workload::Read | Workload::Randread) {
            s += "-fsync";
        }
        if self.seed != DEFAULT_SEED {
            s += &format!("-seed{}", self.seed);
        }
        s
    }
}

/// A plain non-negative integer.
pub fn parse_count(s: &str) -> Result<u64, String> {
    s.parse()
        .map_err(|_| "expected a non-negative integer".to_string())
}

/// `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`/empty.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "" | "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected 1 or 0".into()),
    }
}

/// `DEPTH:FANOUT:FILES_PER_DIR`, e.g. `2:3:6`.
pub fn parse_tree(s: &str) -> Result<TreeShape, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let [d, f, n] = parts[..] else {
        return Err("expected DEPTH:FANOUT:FILES_PER_DIR, e.g. 2:3:6".into());
    };
    let num = |x: &str, what: &str, hi: u32| -> Result<u32, String> {
        match x.trim().parse::<u32>() {
            Ok(v) if v <= hi => Ok(v),
            _ => Err(format!("{what} must be an integer from 0 to {hi}")),
        }
    };
    let shape = TreeShape {
        depth: num(d, "depth", 8)?,
        fanout: num(f, "fanout", 64)?,
        files_per_dir: num(n, "files per dir", 10_000)?,
    };
    if shape.files_per_dir == 0 {
        return Err(
            "files per dir must be at least 1 (a tree without files moves no bytes)".into(),
        );
    }
    if tree_files(shape) > 10_000_000 {
        return Err(format!("{} files is too many", tree_files(shape)));
    }
    Ok(shape)
}

/// Files in a tree dataset of `shape`: `files_per_dir` in each of 1 + f + f² + … + f^depth dirs.
pub fn tree_files(shape: TreeShape) -> u64 {
    let dirs: u64 = (0..=shape.depth)
        .map(|d| u64::from(shape.fanout).saturating_pow(d))
        .fold(0, u64::saturating_add);
    dirs.saturating_mul(u64::from(shape.files_per_dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, String> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned().map(Ok))
    }

    #[test]
    fn sizes() {
        // The parser is workloads::units' (tested there); here, that the knobs go through it.
        let c = cfg(&[
            ("RINGBENCH_SIZE", "300K"),
            ("RINGBENCH_BLOCK_SIZE", "64KiB"),
        ])
        .unwrap();
        assert_eq!((c.size, c.block_size), (300 << 10, 64 << 10));
        assert!(cfg(&[("RINGBENCH_SIZE", "1.5G")]).is_err());
    }

    #[test]
    fn defaults_and_overrides() {
        let c = cfg(&[]).unwrap();
        assert_eq!(
            (c.size, c.files, c.threads, c.direct),
            (DEFAULT_SIZE, DEFAULT_FILES, 1, false)
        );
        // `ringbench run`'s quick profile, so the numbers are comparable.
        assert_eq!(
            (
                c.size,
                c.block_size,
                c.queue_depth,
                c.files,
                c.files_in_flight,
                c.tree,
                c.fsync
            ),
            (
                QUICK.size,
                DEFAULT_BLOCK_SIZES[0],
                QUICK.queue_depth,
                QUICK.files,
                QUICK.files_in_flight,
                QUICK.tree,
                QUICK.fsync
            )
        );
        assert!(c.block_sizes.contains(&QUICK.block_size));
        assert_eq!(c.block_sizes, DEFAULT_BLOCK_SIZES);
        let sweep = cfg(&[("RINGBENCH_BLOCK_SIZE", "4k, 1M,4k")]).unwrap();
        assert_eq!(
            sweep.block_sizes,
            vec![4 << 10, 1 << 20],
            "parsed, duplicates dropped"
        );
        assert_eq!(
            sweep.at(1 << 20).plan(Workload::Read).runtime.block_size,
            1 << 20
        );
        assert!(!cfg(&[("RINGBENCH_FSYNC", "0")]).unwrap().fsync);
        assert_eq!(c.dir, std::env::temp_dir());
        let c = cfg(&[
            ("RINGBENCH_SIZE", "64M"),
            ("RINGBENCH_BLOCK_SIZE", "1M"),
            ("RINGBENCH_QUEUE_DEPTH", "512"),
            ("RINGBENCH_FILES", "7"),
            ("RINGBENCH_THREADS", "2"),
            ("RINGBENCH_DIRECT", "1"),
            ("RINGBENCH_TREE", "1:2:3"),
        ])
        .unwrap();
        assert_eq!(
            (
                c.size,
                c.block_size,
                c.queue_depth,
                c.files,
                c.threads,
                c.direct
            ),
            (64 << 20, 1 << 20, 512, 7, 2, true)
        );
        let p = c.plan(Workload::Large);
        assert!(p.direct && p.runtime.ring_entries >= 512 && p.runtime.block_size == 1 << 20);
        assert!(
            !c.plan(Workload::Small).direct,
            "O_DIRECT applies to the single-file workloads only"
        );
        assert_eq!(c.label(Workload::Large), "64MiB-qd512-t2-direct-fsync");
        assert_eq!(c.label(Workload::Tree), "d1f2n3-ff8-t2-fsync");
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (k, v) in [
            ("RINGBENCH_SIZE", "lots"),
            ("RINGBENCH_SIZE", "0"),
            ("RINGBENCH_BLOCK_SIZE", "0"),
            ("RINGBENCH_BLOCK_SIZE", "4k,,8k"),
            ("RINGBENCH_QUEUE_DEPTH", "0"),
            ("RINGBENCH_QUEUE_DEPTH", "8k"),
            ("RINGBENCH_FILES", "-3"),
            ("RINGBENCH_THREADS", "0"),
            ("RINGBENCH_DIRECT", "maybe"),
            ("RINGBENCH_TREE", "2:3"),
            ("RINGBENCH_TREE", "2:3:0"),
            ("RINGBENCH_DIR", "/nonexistent/ringbench-nowhere"),
        ] {
            let e = cfg(&[(k, v)]).expect_err(&format!("{k}={v} accepted"));
            assert!(e.contains(k), "{e:?} does not name {k}");
            assert!(!e.contains('\n'), "{e:?} is not one line");
        }
        // O_DIRECT needs aligned sizes.
        let e = cfg(&[("RINGBENCH_DIRECT", "1"), ("RINGBENCH_SIZE", "5000")]).unwrap_err();
        assert!(e.contains("RINGBENCH_SIZE"), "{e}");
    }

    #[test]
    fn labels_are_filename_safe_and_distinct() {
        let a = cfg(&[]).unwrap();
        let b = cfg(&[("RINGBENCH_SIZE", "8M")]).unwrap();
        assert_ne!(a.label(Workload::Large), b.label(Workload::Large));
        for w in Workload::ALL {
            assert!(
                a.label(w)
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-'),
                "{}",
                a.label(w)
            );
        }
        assert_eq!(human(4 << 20), "4MiB");
        assert_eq!(human(4097), "4097B");
    }

    #[test]
    fn tree_file_count() {
        assert_eq!(
            tree_files(TreeShape {
                depth: 2,
                fanout: 3,
                files_per_dir: 6
            }),
            6 * 13
        );
        assert_eq!(
            tree_files(TreeShape {
                depth: 0,
                fanout: 9,
                files_per_dir: 4
            }),
            4
        );
    }
}
