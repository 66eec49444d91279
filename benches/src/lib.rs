//! criterion benches for `cargo bench`: one group per workload (one bench binary each), one
//! function per engine, so criterion's comparison and HTML report set the engines side by side.
//!
//! Nothing here is a second copy of a workload: every iteration is one call of
//! [`workloads::run_trial`]`::<E>`, the generic code `ringbench run` runs, and the time given
//! to criterion is that trial's own [`Outcome::elapsed_ns`](workloads::Outcome) — the section
//! between the start barrier and the last thread's finish. Runtime construction happens inside
//! `run_trial` but before its barrier; dataset generation (once per group, on first use) and
//! removing the previous destination (before each iteration) happen outside it. So criterion's
//! `iter_custom` is the seam, and setup stays out of the number by construction.
//!
//! A wrong copy must never be a number: each iteration checks the bytes moved (and, for `read`,
//! the block headers it read), and the destination is compared with the source by the
//! driver's own [`verify`](workloads::dataset::verify) after the first trial of an engine
//! (before criterion has printed anything for it) and again after its last; a mismatch panics.
//!
//! Sizing and placement come from `RINGBENCH_*` environment variables ([`Config`]); criterion
//! owns the command line. See the crate README.
#![deny(missing_docs)]

pub mod config;

use std::cell::OnceCell;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
use workloads::{Engine, Outcome, TrialPlan, Workload, conformance, dataset, run_trial};

pub use config::Config;

/// Samples per benchmark: criterion's minimum. A trial is milliseconds to seconds long and
/// noisy far beyond what more samples would fix (see DESIGN.md); `ringbench run` is the tool
/// for careful numbers. Override with `cargo bench -- --sample-size N`.
const SAMPLE_SIZE: usize = 10;
/// Warm-up per benchmark (`-- --warm-up-time S` overrides).
const WARM_UP: Duration = Duration::from_millis(300);
/// Measured time per benchmark, counting only the timed sections (`-- --measurement-time S`).
const MEASUREMENT: Duration = Duration::from_secs(1);
/// Bootstrap resamples (criterion's default is 100 000). With 10 samples more resamples add
/// no precision, and criterion's plots estimate densities over every resample: at 100 000 the
/// analysis and plots took about 4 s of CPU per benchmark here, ten times the rest
/// (`-- --nresamples N` overrides).
const RESAMPLES: usize = 10_000;

/// One engine's bench function, monomorphised.
type BenchFn = fn(&mut BenchmarkGroup<'_, WallTime>, &Setup<'_>);

/// Every engine of the registry with its bench function, monomorphised: static dispatch, each
/// entry is `bench_engine::<Type>`, so the timed code is the same `run_trial::<Type>` the driver
/// runs. Only the current releases are benched ([`registry::Class::benched`]); left out, as the
/// driver hides them from rankings: other releases, the null test engines (they move no bytes)
/// and the naive controls (bench-naive, deliberately unsafe positive controls of the safety
/// oracles).
macro_rules! bench_fns {
    ($( $name:literal => $ty:ty, $class:ident, [$($krate:literal),*]; )*) => {
        &[$((registry::Class::$class, bench_engine::<$ty> as BenchFn)),*]
    };
}
const ENGINES: &[(registry::Class, BenchFn)] = registry::for_each_engine!(bench_fns);

/// Run one workload's group on every engine: the `main` of each bench binary.
pub fn main(workload: Workload) {
    let cfg = Config::from_env().unwrap_or_else(|e| exit_with(&e));
    let mut criterion = Criterion::default()
        .sample_size(SAMPLE_SIZE)
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT)
        .nresamples(RESAMPLES)
        .configure_from_args();
    let root = RunDir::create(&cfg.dir, workload).unwrap_or_else(|e| {
        exit_with(&format!(
            "RINGBENCH_DIR={}: cannot create a scratch directory: {e}",
            cfg.dir.display()
        ))
    });
    if cfg.plan(workload).direct && !dataset::direct_supported(root.path()) {
        root.fail(&format!(
            "RINGBENCH_DIRECT=1: the filesystem of RINGBENCH_DIR={} does not support O_DIRECT",
            cfg.dir.display()
        ));
    }
    if cfg.direct && !workload.supports_direct() {
        eprintln!(
            "note: RINGBENCH_DIRECT applies to large, read and write; {workload} runs buffered"
        );
    }
    // criterion's smoke mode (`cargo bench -- --test`, CI; or a bench binary run by `cargo
    // test`): each benchmark runs once, to show it works. Unless a sweep was asked for, that
    // is the quick profile's block size alone — the point `ringbench run` measures — which
    // keeps the check to one trial per engine.
    let smoke = {
        let args: Vec<String> = std::env::args().collect();
        args.iter().any(|a| a == "--test") || !args.iter().any(|a| a == "--bench")
    };
    let sweep = if smoke && std::env::var_os("RINGBENCH_BLOCK_SIZE").is_none() {
        vec![workloads::profile::QUICK.block_size]
    } else {
        cfg.block_sizes.clone()
    };
    // One group per workload and knobs, one benchmark per engine and block size (its
    // parameter, in bytes): the same payload per trial at every block size, so criterion's
    // group report plots throughput against block size, one line per engine.
    let mut group = criterion.benchmark_group(format!("{workload}-{}", cfg.label(workload)));
    // Flat: every sample runs the same number of trials; linear sampling would need 55x the
    // trials of the slowest sample, far too many for trials this long.
    group.sampling_mode(SamplingMode::Flat);
    for bs in sweep {
        let point = cfg.at(bs);
        // Each point's dataset in a directory of its own, removed when the point is done.
        let dir = root.sub(&format!("bs{bs}")).unwrap_or_else(|e| {
            root.fail(&format!(
                "creating a scratch directory in {}: {e}",
                root.path().display()
            ))
        });
        let setup = Setup::new(&point, workload, &dir);
        eprintln!(
            "ringbench {workload}: {} at block size {} ({:.1} MiB per trial) in {}",
            setup.label,
            workloads::units::exact_size(bs as u64),
            setup.bytes as f64 / f64::from(1 << 20),
            dir.path().display()
        );
        group.throughput(Throughput::Bytes(setup.bytes));
        for (class, bench) in ENGINES {
            if class.benched() {
                bench(&mut group, &setup);
            }
        }
        drop(setup);
        drop(dir);
    }
    group.finish();
    drop(root);
    criterion.final_summary();
}

/// Print one error line and exit 2 (before anything was created).
fn exit_with(msg: &str) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(2)
}

/// The scratch directory of one bench run: created fresh (never an existing one) inside
/// `RINGBENCH_DIR`, and removed with everything in it when the run ends, panics included.
struct RunDir(PathBuf);

impl RunDir {
    fn create(base: &Path, workload: Workload) -> io::Result<RunDir> {
        let p = base.join(format!("ringbench-bench-{workload}-{}", std::process::id()));
        std::fs::create_dir(&p)?;
        Ok(RunDir(p))
    }

    /// A fresh directory `name` inside this one, removed the same way when dropped.
    fn sub(&self, name: &str) -> io::Result<RunDir> {
        let p = self.0.join(name);
        std::fs::create_dir(&p)?;
        Ok(RunDir(p))
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// Remove the directory, print one error line and exit 2 (`exit` runs no destructors).
    fn fail(&self, msg: &str) -> ! {
        let _ = remove_tree(&self.0);
        exit_with(msg)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if let Err(e) = remove_tree(&self.0) {
            eprintln!("warning: could not remove {}: {e}", self.0.display());
        }
    }
}

/// Remove a file or directory tree; absent is fine. A copied tree may hold directories whose
/// modes forbid removing their entries, so on failure make directories owner-writable and retry.
fn remove_tree(p: &Path) -> io::Result<()> {
    let md = match std::fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !md.is_dir() {
        return std::fs::remove_file(p);
    }
    if std::fs::remove_dir_all(p).is_ok() {
        return Ok(());
    }
    make_dirs_writable(p)?;
    std::fs::remove_dir_all(p)
}

fn make_dirs_writable(dir: &Path) -> io::Result<()> {
    workloads::blocking::set_mode(dir, 0o700)?;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            make_dirs_writable(&e.path())?;
        }
    }
    Ok(())
}

/// Bytes free to an unprivileged user on the filesystem of `dir`.
fn free_bytes(dir: &Path) -> io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a valid NUL-terminated path and `st` points to writable memory of the
    // right type; statvfs initialises it when it returns 0.
    if unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so `st` is initialised.
    let st = unsafe { st.assume_init() };
    // The field types differ between targets (u32 on some 32-bit ones), hence the casts.
    #[allow(clippy::unnecessary_cast)]
    Ok((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

/// One group's shared state: the plan (paths filled in), the bytes each trial must move, and
/// the dataset, made on first use.
struct Setup<'a> {
    workload: Workload,
    root: &'a RunDir,
    /// The plan every engine runs.
    template: TrialPlan,
    /// Payload bytes per trial (criterion's throughput).
    bytes: u64,
    /// The knobs other than the block size (the group name's tail).
    label: String,
    made: OnceCell<()>,
}

impl<'a> Setup<'a> {
    fn new(cfg: &Config, workload: Workload, root: &'a RunDir) -> Setup<'a> {
        let mut plan = cfg.plan(workload);
        let (src, dst) = (root.path().join("src"), root.path().join("dst"));
        plan.src = src;
        plan.dst = match workload {
            Workload::Large | Workload::Write | Workload::Read | Workload::Randread => {
                dst.join("copy")
            }
            Workload::Small => dst.join("small"),
            Workload::Tree => dst.join("tree"),
        };
        let bytes = dataset::bytes(&plan);
        Setup {
            workload,
            root,
            bytes,
            label: cfg.label(workload),
            template: plan,
            made: OnceCell::new(),
        }
    }

    /// The plan, with its dataset created the first time it is asked for.
    fn plan(&self) -> &TrialPlan {
        self.made.get_or_init(|| {
            if let Err(e) = self.create_dataset() {
                self.root.fail(&format!(
                    "creating the {} dataset in {}: {e}",
                    self.workload,
                    self.root.path().display()
                ));
            }
        });
        &self.template
    }

    fn create_dataset(&self) -> io::Result<()> {
        let p = &self.template;
        // Source and one copy (read needs only the source, write only the copy).
        let need = match self.workload {
            Workload::Read | Workload::Write => self.bytes,
            _ => self.bytes.saturating_mul(2),
        };
        let free = free_bytes(self.root.path())?;
        if free < need {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                format!(
                    "needs {} free for the dataset and its copy, {} available (lower RINGBENCH_SIZE or RINGBENCH_FILES)",
                    workloads::units::size(need),
                    workloads::units::size(free)
                ),
            ));
        }
        std::fs::create_dir(self.root.path().join("dst"))?;
        dataset::create(p)
    }

    /// One trial of `E` on a fresh destination: the untimed preparation, then `run_trial`.
    /// Panics if it fails or moves other than the dataset's bytes.
    fn trial<E: Engine>(&self) -> Outcome {
        let (name, workload) = (E::INFO.name, self.workload);
        let plan = self.plan();
        if let Err(e) = self.fresh_destination() {
            panic!(
                "{workload}/{name}: preparing the destination {}: {e}",
                plan.dst.display()
            );
        }
        let out =
            run_trial::<E>(plan).unwrap_or_else(|e| panic!("{workload}/{name}: trial failed: {e}"));
        assert_eq!(
            out.bytes, self.bytes,
            "{workload}/{name}: bytes moved by one trial"
        );
        out
    }

    /// Compare what the last trial left with what it should be, with the driver's check
    /// (`header_errors`: the sum over trials, for `read`).
    fn verify(&self, header_errors: u64) -> Result<(), String> {
        dataset::verify(self.plan(), header_errors)
    }

    /// Remove what the previous trial wrote and prepare the destination the workload expects:
    /// absent for the single files and the tree (it creates them), an empty directory for small.
    fn fresh_destination(&self) -> io::Result<()> {
        let dst = &self.template.dst;
        match self.workload {
            Workload::Read | Workload::Randread => Ok(()),
            Workload::Large | Workload::Write | Workload::Tree => remove_tree(dst),
            Workload::Small => {
                remove_tree(dst)?;
                std::fs::create_dir(dst)
            }
        }
    }
}

/// Bench engine `E` on the group's workload: skip it with a printed reason if it cannot run
/// here, else one criterion function whose iterations are `run_trial::<E>` calls, verified.
fn bench_engine<E: Engine>(group: &mut BenchmarkGroup<'_, WallTime>, setup: &Setup<'_>) {
    let (name, workload) = (E::INFO.name, setup.workload);
    // Prints "SKIPPED engine <name>: <reason>" (or panics under RINGBENCH_REQUIRE_ENGINES=1).
    if !conformance::available::<E>() {
        return;
    }
    if setup.template.direct && !E::INFO.caps.o_direct {
        eprintln!(
            "SKIPPED engine {name}: {workload} with RINGBENCH_DIRECT=1 needs O_DIRECT, which it lacks"
        );
        return;
    }
    let mut trials = 0u64;
    let mut header_errors = 0u64;
    let mut last_verified = false;
    let verify = |header_errors: u64| {
        if let Err(e) = setup.verify(header_errors) {
            panic!("{workload}/{name}: WRONG COPY, its timings must not be used: {e}");
        }
    };
    group.bench_function(
        BenchmarkId::new(name, setup.template.runtime.block_size),
        |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let out = setup.trial::<E>();
                    header_errors += out.stats.header_errors;
                    trials += 1;
                    // The first trial is checked before criterion sees any time of this engine, so
                    // an engine that copies wrongly never shows a number.
                    last_verified = trials == 1;
                    if last_verified {
                        verify(header_errors);
                    }
                    timed += Duration::from_nanos(out.elapsed_ns);
                }
                timed
            });
        },
    );
    if trials > 0 {
        if !last_verified {
            verify(header_errors);
        }
        if let Err(e) = setup.fresh_destination() {
            eprintln!("warning: {workload}/{name}: removing the last copy: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use workloads::data::{self, TreeShape};

    #[test]
    fn tree_bytes_matches_the_dataset() {
        let dir = conformance::Scratch::new("bench-tree");
        for (i, (seed, shape)) in [
            (1, TreeShape::default()),
            (
                9,
                TreeShape {
                    depth: 1,
                    fanout: 2,
                    files_per_dir: 1,
                },
            ),
            (
                3,
                TreeShape {
                    depth: 0,
                    fanout: 5,
                    files_per_dir: 4,
                },
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let (files, bytes) =
                data::create_tree(&dir.path().join(i.to_string()), seed, shape).unwrap();
            assert_eq!(
                (files, bytes),
                (config::tree_files(shape), data::tree_bytes(seed, shape)),
                "{shape:?}"
            );
        }
    }

    #[test]
    fn remove_tree_handles_locked_directories() {
        let dir = conformance::Scratch::new("bench-rm");
        let t = dir.path().join("t");
        std::fs::create_dir_all(t.join("a/b")).unwrap();
        std::fs::write(t.join("a/b/f"), b"x").unwrap();
        workloads::blocking::set_mode(&t.join("a/b"), 0o500).unwrap();
        workloads::blocking::set_mode(&t.join("a"), 0o500).unwrap();
        remove_tree(&t).unwrap();
        assert!(!t.exists());
        remove_tree(&t).unwrap(); // absent is fine
    }

    fn test_config(base: &Path) -> Config {
        let vars = [
            ("RINGBENCH_DIR", base.to_str().unwrap()),
            ("RINGBENCH_SIZE", "300K"),
            ("RINGBENCH_BLOCK_SIZE", "64K"),
            ("RINGBENCH_FILES", "6"),
            ("RINGBENCH_TREE", "1:2:2"),
        ];
        Config::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| Ok(v.to_string()))
        })
        .unwrap()
    }

    #[test]
    fn every_workload_runs_and_verifies_on_std() {
        let base = conformance::Scratch::new("bench-std");
        let cfg = test_config(base.path());
        for w in Workload::ALL {
            let root = RunDir::create(base.path(), w).unwrap();
            let setup = Setup::new(&cfg, w, &root);
            // Twice: the second trial must get a fresh destination (creating the tree root
            // again, or a file opened without O_TRUNC, would fail or hide a short copy).
            for _ in 0..2 {
                let out = setup.trial::<bench_std::StdEngine>();
                assert_eq!(setup.verify(out.stats.header_errors), Ok(()), "{w}");
            }
            setup.fresh_destination().unwrap();
            let dir = root.path().to_path_buf();
            drop(setup);
            drop(root);
            assert!(!dir.exists(), "{w}: scratch directory left behind");
        }
    }

    #[test]
    fn a_wrong_copy_is_caught() {
        // The null engine reports bytes it never moved: its copies and reads must fail the
        // verification the benches run, or that verification proves nothing.
        let base = conformance::Scratch::new("bench-null");
        let cfg = test_config(base.path());
        for w in [
            Workload::Large,
            Workload::Read,
            Workload::Write,
            Workload::Small,
        ] {
            let root = RunDir::create(base.path(), w).unwrap();
            let setup = Setup::new(&cfg, w, &root);
            let out = setup.trial::<workloads::null::NullEngine>();
            assert!(
                setup.verify(out.stats.header_errors).is_err(),
                "{w}: null engine's copy verified"
            );
        }
    }

    #[test]
    fn free_space_is_reported() {
        assert!(free_bytes(&std::env::temp_dir()).unwrap() > 0);
        assert!(free_bytes(Path::new("/nonexistent/ringbench")).is_err());
    }
}
