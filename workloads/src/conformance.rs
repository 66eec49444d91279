//! The conformance suite every engine runs: one body, instantiated per engine by
//! [`conformance_tests!`](crate::conformance_tests) (ripgrep's `rgtest!` habit).
//!
//! It checks the contract of [`Engine`] that the workloads rely on — short reads, end of file,
//! empty files, offsets, errors on a missing file, directory ops — and then runs every workload
//! end to end on a small dataset and verifies the copy with the same code the driver uses
//! ([`dataset::verify`](crate::dataset::verify)).
//!
//! Test support, behind the `conformance` feature: each engine crate enables it in its
//! dev-dependencies (`workloads = { workspace = true, features = ["conformance"] }`).
//!
//! An engine that cannot run here (its `probe` fails) is reported as skipped with its reason on
//! stderr, outside the test harness's capture so it is always visible; with
//! `RINGBENCH_REQUIRE_ENGINES=1` (as CI sets) a skip fails the test instead.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::data::{self, TreeShape};
use crate::dataset::{self, direct_supported, verify};
use crate::{AlignedBuf, Ctx, Engine, OpenHow, TrialPlan, Workload, run_trial};

/// A scratch directory removed on drop, under `RINGBENCH_TEST_DIR` or the system temp dir.
pub struct Scratch(PathBuf);

impl Scratch {
    /// A fresh directory named after `tag`.
    pub fn new(tag: &str) -> Scratch {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let base = std::env::var_os("RINGBENCH_TEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = base.join(format!("ringbench-test-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&p).expect("create scratch dir");
        Scratch(p)
    }
    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Report that a test, or a part of one, did not run here: one `SKIPPED <what>: <why>` line,
/// written straight to the stderr handle. The test harness captures only the print macros, so
/// the line shows even though the test is listed as passed — a skip is never a silent pass.
pub fn skipped(what: &str, why: &str) {
    let _ = io::stderr().write_all(format!("SKIPPED {what}: {why}\n").as_bytes());
}

/// Whether `RINGBENCH_REQUIRE_ENGINES=1` (CI): every engine must run, a skip is a failure.
pub fn engines_required() -> bool {
    std::env::var_os("RINGBENCH_REQUIRE_ENGINES").is_some_and(|v| v == "1")
}

/// Whether engine `E` can run here. On `Err`, says so visibly ([`skipped`]; a panic when
/// `RINGBENCH_REQUIRE_ENGINES=1`), and the caller returns early.
pub fn available<E: Engine>() -> bool {
    match E::probe() {
        Ok(()) => true,
        Err(reason) => {
            let what = format!("engine {}", E::INFO.name);
            if engines_required() {
                panic!("SKIPPED {what}: {reason}\n(RINGBENCH_REQUIRE_ENGINES=1 forbids skipping)");
            }
            skipped(&what, &reason);
            false
        }
    }
}

/// Cases that check data need an engine that moves data; the null engine runs only the
/// harness cases, and each data case says it was skipped, and why.
fn does_io<E: Engine>(case: &str) -> bool {
    if !E::INFO.caps.does_io {
        skipped(
            &format!("{} {case}", E::INFO.name),
            "the engine performs no I/O",
        );
    }
    E::INFO.caps.does_io
}

fn rt<E: Engine>() -> E {
    E::build(&crate::RuntimeConfig::default()).expect("build runtime")
}

/// read_at on a file shorter than the buffer returns what exists, then 0 at and past EOF.
pub fn short_read_and_eof<E: Engine>() {
    if !does_io::<E>("short_read_and_eof") {
        return;
    }
    let dir = Scratch::new("eof");
    let path = dir.path().join("f");
    data::create_file(&path, 9, 5000).unwrap();
    let mut rt = rt::<E>();
    rt.block_on(async {
        let ctx = Ctx::new();
        let f = E::open(&path, OpenHow::READ).await.unwrap();
        let (r, buf) = E::read_at(&f, AlignedBuf::new(8192), 0).await;
        let n = r.unwrap();
        assert!(n > 0 && n <= 5000, "first read returned {n}");
        assert_eq!(buf.len(), n, "buffer length must equal the count read");
        let (r, buf) = ctx.read_full::<E>(&f, buf, 0, 8192).await;
        assert_eq!(r.unwrap(), 5000);
        let mut want = vec![0u8; 5000];
        data::fill(9, 0, &mut want);
        assert_eq!(buf.as_slice(), &want[..]);
        let (r, buf) = E::read_at(&f, AlignedBuf::new(100), 5000).await;
        assert_eq!(r.unwrap(), 0, "read at EOF");
        assert!(buf.is_empty());
        let (r, _) = E::read_at(&f, AlignedBuf::new(100), 1 << 30).await;
        assert_eq!(r.unwrap(), 0, "read past EOF");
        E::close(f).await.unwrap();
    });
}

/// An empty file reads as 0 bytes.
pub fn zero_length_file<E: Engine>() {
    let dir = Scratch::new("zero");
    let path = dir.path().join("empty");
    data::create_file(&path, 1, 0).unwrap();
    let mut rt = rt::<E>();
    rt.block_on(async {
        let f = E::open(&path, OpenHow::READ).await.unwrap();
        let (r, _) = E::read_at(&f, AlignedBuf::new(4096), 0).await;
        assert_eq!(r.unwrap(), 0);
        E::close(f).await.unwrap();
    });
}

/// Writes land at their offsets (leaving a hole), reads return the right range, and a write
/// returns the buffer unchanged.
pub fn offsets<E: Engine>() {
    if !does_io::<E>("offsets") {
        return;
    }
    let dir = Scratch::new("offsets");
    let path = dir.path().join("f");
    let mut rt = rt::<E>();
    rt.block_on(async {
        let ctx = Ctx::new();
        let f = E::open(&path, OpenHow::CREATE).await.unwrap();
        let buf = data::dataset_buf(3, 8192, 4096);
        let (r, buf) = ctx.write_all::<E>(&f, buf, 8192).await;
        r.unwrap();
        assert_eq!(
            buf.as_slice(),
            data::dataset_buf(3, 8192, 4096).as_slice(),
            "write must not alter its buffer"
        );
        let (r, _) = ctx
            .write_all::<E>(&f, AlignedBuf::from_slice(b"tail"), 8192 + 4096)
            .await;
        r.unwrap();
        E::sync(&f).await.unwrap();
        E::close(f).await.unwrap();
    });
    let got = std::fs::read(&path).unwrap();
    assert_eq!(got.len(), 8192 + 4096 + 4);
    assert!(
        got[..8192].iter().all(|&b| b == 0),
        "hole must read as zeros"
    );
    assert_eq!(data::check_headers(3, 8192, &got[8192..8192 + 4096]), 0);
    assert_eq!(&got[8192 + 4096..], b"tail");
    rt.block_on(async {
        let ctx = Ctx::new();
        let f = E::open(&path, OpenHow::READ).await.unwrap();
        let (r, buf) = ctx
            .read_full::<E>(&f, AlignedBuf::new(4096), 8192 + 100, 4096)
            .await;
        assert_eq!(r.unwrap(), 4000);
        assert_eq!(buf.as_slice(), &got[8192 + 100..]);
        E::close(f).await.unwrap();
    });
}

/// Opening a missing file fails with `NotFound`; creating in a missing directory too.
pub fn missing_file<E: Engine>() {
    if !does_io::<E>("missing_file") {
        return;
    }
    let dir = Scratch::new("missing");
    let mut rt = rt::<E>();
    rt.block_on(async {
        let e = E::open(&dir.path().join("nope"), OpenHow::READ)
            .await
            .err()
            .expect("open of a missing file must fail");
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
        let e = E::open(&dir.path().join("no/such/dir"), OpenHow::CREATE)
            .await
            .err()
            .expect("create in a missing dir must fail");
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
    });
}

/// mkdir, metadata, set_mode and read_dir do what the tree workload needs.
pub fn directory_ops<E: Engine>() {
    if !does_io::<E>("directory_ops") {
        return;
    }
    let dir = Scratch::new("dirs");
    let sub = dir.path().join("sub");
    let mut rt = rt::<E>();
    rt.block_on(async {
        E::mkdir(&sub, 0o700).await.unwrap();
        let e = E::mkdir(&sub, 0o700)
            .await
            .expect_err("mkdir of an existing dir must fail");
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        let f = E::open(&sub.join("b"), OpenHow::CREATE).await.unwrap();
        E::close(f).await.unwrap();
        E::mkdir(&sub.join("a"), 0o755).await.unwrap();
        E::set_mode(&sub.join("b"), 0o640).await.unwrap();
        let m = E::metadata(&sub.join("b")).await.unwrap();
        assert_eq!((m.kind, m.mode, m.len), (crate::FileKind::File, 0o640, 0));
        let m = E::metadata(&sub).await.unwrap();
        assert_eq!(m.kind, crate::FileKind::Dir);
        let names: Vec<_> = E::read_dir(&sub)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.kind))
            .collect();
        assert_eq!(
            names,
            vec![
                ("a".into(), crate::FileKind::Dir),
                ("b".into(), crate::FileKind::File)
            ]
        );
        assert_eq!(
            E::metadata(&sub.join("zz")).await.err().map(|e| e.kind()),
            Some(io::ErrorKind::NotFound)
        );
    });
}

/// The small dataset of a workload for tests: creates its source under `dir`, returns the plan.
pub fn small_plan(workload: Workload, dir: &Path, threads: usize, direct: bool) -> TrialPlan {
    let src = dir.join("src");
    let dst = dir.join("dst");
    std::fs::create_dir_all(&dst).unwrap();
    let mut plan = TrialPlan::new(workload, PathBuf::new(), PathBuf::new());
    plan.size = 3 * (1 << 20) + 8192; // not a multiple of the block size
    plan.files = 40;
    plan.files_in_flight = 4;
    plan.tree = TreeShape {
        depth: 2,
        fanout: 2,
        files_per_dir: 3,
    };
    plan.threads = threads;
    plan.direct = direct;
    plan.fsync = true;
    plan.seed = 77;
    plan.runtime.block_size = 64 * 1024;
    plan.runtime.queue_depth = 4;
    (plan.src, plan.dst) = match workload {
        Workload::Large | Workload::Read | Workload::Randread => (src, dst.join("copy")),
        Workload::Write => (PathBuf::new(), dst.join("written")),
        Workload::Small => (src, dst),
        Workload::Tree => (src, dst.join("tree")),
    };
    dataset::create(&plan).unwrap();
    plan
}

/// Run `workload` end to end on `E` and verify it; `threads` runtimes; `O_DIRECT` when asked
/// (skipped with a visible line where the filesystem or engine lacks it).
pub fn workload<E: Engine>(workload: Workload, threads: usize, direct: bool) {
    let dir = Scratch::new(workload.name());
    if direct {
        let why = if !E::INFO.caps.o_direct {
            Some("the engine cannot open files with O_DIRECT (its INFO.caps)")
        } else if !direct_supported(dir.path()) {
            Some("this filesystem refuses O_DIRECT")
        } else {
            None
        };
        if let Some(why) = why {
            skipped(&format!("{} {workload} --direct", E::INFO.name), why);
            return;
        }
    }
    let plan = small_plan(workload, dir.path(), threads, direct);
    let out = run_trial::<E>(&plan).unwrap_or_else(|e| panic!("{} {workload}: {e}", E::INFO.name));
    let expected = match workload {
        Workload::Small => data::small_total(plan.seed, plan.files),
        Workload::Tree => out.bytes, // checked by the tree comparison
        _ => plan.size,
    };
    assert_eq!(
        out.bytes,
        expected,
        "{} {workload}: bytes moved",
        E::INFO.name
    );
    assert!(out.elapsed_ns > 0);
    if E::INFO.caps.does_io {
        verify(&plan, out.stats.header_errors)
            .unwrap_or_else(|e| panic!("{} {workload}: {e}", E::INFO.name));
    }
}

/// Run `workload` with cancellation injection at `rate`: every copy must still verify, and the
/// injection must really have happened (attempts counted, each either in flight or vacuous).
/// An engine that keeps ops in flight (`caps.concurrent_ops`) must have had cancels land in
/// flight — else the case tested nothing but completed ops — unless the engine is instantiated
/// with `vacuous_cancels: "why"` (its ops can complete before their first poll returns), when
/// a case whose cancels were all vacuous says so as a skipped check, with that reason. One
/// whose ops complete inside `poll` (blocking, null) must have had none, or the counters lie.
pub fn workload_cancel<E: Engine>(workload: Workload, rate: f64, vacuous_ok: Option<&str>) {
    let dir = Scratch::new(&format!("{}-cancel", workload.name()));
    let mut plan = small_plan(workload, dir.path(), 1, false);
    plan.cancel_rate = rate;
    let out = run_trial::<E>(&plan)
        .unwrap_or_else(|e| panic!("{} {workload} cancel {rate}: {e}", E::INFO.name));
    let c = &out.cancel;
    assert!(
        c.attempted > 0,
        "{} {workload}: no cancel attempted at rate {rate}",
        E::INFO.name
    );
    assert_eq!(
        c.landed_in_flight + c.vacuous,
        c.attempted,
        "{} {workload}: cancel counts",
        E::INFO.name
    );
    assert_eq!(c.rate, rate);
    if E::INFO.caps.concurrent_ops
        && c.landed_in_flight == 0
        && let Some(why) = vacuous_ok
    {
        skipped(
            &format!("{} {workload}_cancel: the in-flight check", E::INFO.name),
            &format!("all {} cancels were vacuous: {why}", c.attempted),
        );
    } else if E::INFO.caps.concurrent_ops {
        assert!(
            c.landed_in_flight > 0,
            "{} {workload}: none of {} cancels landed on an op in flight (all vacuous): the \
             injection cancelled nothing",
            E::INFO.name,
            c.attempted
        );
    }
    if matches!(E::INFO.model, crate::Model::Blocking | crate::Model::Null) {
        assert_eq!(
            c.landed_in_flight,
            0,
            "{} {workload}: its ops complete inside poll, so no cancel can land in flight",
            E::INFO.name
        );
    }
    if E::INFO.caps.does_io {
        verify(&plan, out.stats.header_errors)
            .unwrap_or_else(|e| panic!("{} {workload} with cancel rate {rate}: {e}", E::INFO.name));
    }
}

/// The cancellation case `case` of an engine instantiated as not cancel-safe (the naive
/// control): not run, and reported as skipped with the reason, which is checked against the
/// engine's declared capabilities — its ops stay in flight in the kernel (`io_uring`,
/// `concurrent_ops`) and dropping one does not cancel it (`!cancel_on_drop`), so an injected
/// drop frees a buffer the kernel still writes. An engine that declares otherwise fails here:
/// its cancellation cases must run.
pub fn not_cancel_safe<E: Engine>(case: &str) {
    let caps = E::INFO.caps;
    assert!(
        caps.io_uring && caps.concurrent_ops && !caps.cancel_on_drop,
        "{}: instantiated with `cancel: false`, but its caps ({caps:?}) do not say a dropped op \
         stays in flight uncancelled; run its cancellation cases",
        E::INFO.name
    );
    skipped(
        &format!("{} {case}", E::INFO.name),
        "not cancel-safe by design (io_uring ops in flight, not cancelled on drop): an injected \
         drop frees a buffer the kernel still writes",
    );
}

/// Instantiate the conformance suite for an engine type, one `#[test]` per case.
///
/// The cancellation-injection cases (`*_cancel`) run unless the engine is instantiated with
/// `cancel: false` — only for the deliberately unsafe control engines, whose dropped ops free
/// memory the kernel still uses (checked against their caps by [`not_cancel_safe`]). They
/// require cancels to land on ops in flight ([`workload_cancel`]) unless instantiated with
/// `vacuous_cancels: "why"`.
///
/// ```ignore
/// workloads::conformance_tests!(bench_std::StdEngine);
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($engine:ty) => {
        $crate::conformance_tests!(@suite $engine, true, None);
    };
    ($engine:ty, cancel: $cancel:literal) => {
        $crate::conformance_tests!(@suite $engine, $cancel, None);
    };
    ($engine:ty, vacuous_cancels: $why:literal) => {
        $crate::conformance_tests!(@suite $engine, true, Some($why));
    };
    (@suite $engine:ty, $cancel:literal, $vacuous_ok:expr) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;
            use $crate::Workload;
            use $crate::conformance as c;

            macro_rules! case {
                ($name:ident, $body:expr) => {
                    #[test]
                    fn $name() {
                        if c::available::<$engine>() {
                            $body;
                        }
                    }
                };
            }

            case!(short_read_and_eof, c::short_read_and_eof::<$engine>());
            case!(zero_length_file, c::zero_length_file::<$engine>());
            case!(offsets, c::offsets::<$engine>());
            case!(missing_file, c::missing_file::<$engine>());
            case!(directory_ops, c::directory_ops::<$engine>());
            case!(large, c::workload::<$engine>(Workload::Large, 1, false));
            case!(large_two_threads, c::workload::<$engine>(Workload::Large, 2, false));
            case!(large_direct, c::workload::<$engine>(Workload::Large, 1, true));
            case!(read, c::workload::<$engine>(Workload::Read, 1, false));
            case!(read_direct, c::workload::<$engine>(Workload::Read, 2, true));
            case!(randread, c::workload::<$engine>(Workload::Randread, 1, false));
            case!(randread_direct, c::workload::<$engine>(Workload::Randread, 2, true));
            case!(write, c::workload::<$engine>(Workload::Write, 1, false));
            case!(write_direct, c::workload::<$engine>(Workload::Write, 2, true));
            case!(small, c::workload::<$engine>(Workload::Small, 1, false));
            case!(small_two_threads, c::workload::<$engine>(Workload::Small, 2, false));
            case!(tree, c::workload::<$engine>(Workload::Tree, 1, false));
            case!(tree_two_threads, c::workload::<$engine>(Workload::Tree, 2, false));

            macro_rules! cancel_case {
                ($name:ident, $w:expr) => {
                    case!($name, if $cancel { c::workload_cancel::<$engine>($w, 0.2, $vacuous_ok) } else { c::not_cancel_safe::<$engine>(stringify!($name)) });
                };
            }
            cancel_case!(large_cancel, Workload::Large);
            cancel_case!(read_cancel, Workload::Read);
            cancel_case!(randread_cancel, Workload::Randread);
            cancel_case!(write_cancel, Workload::Write);
            cancel_case!(small_cancel, Workload::Small);
            cancel_case!(tree_cancel, Workload::Tree);
        }
    };
}
