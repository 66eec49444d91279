//! A skeleton engine: the smallest complete [`Engine`], to copy when adding a runtime.
//!
//! Every op here is the shared blocking fallback (`workloads::blocking`), so it runs anywhere;
//! a real engine replaces the bodies marked `RUNTIME:` with its runtime's own calls, keeps the
//! rest, and fills in `INFO` truthfully (the driver, the safety matrix and the reports read the
//! capabilities and routes instead of branching on names). What to do around it (the crate,
//! the one registry line, the conformance tests) is in CONTRIBUTING.md.
//!
//! `cargo run -p workloads --example skeleton` runs every workload once on it and verifies each
//! copy with the driver's own check, the loop `ringbench run` makes per trial.

use std::fs::File;
use std::io;
use std::path::Path;

use workloads::{
    AlignedBuf, BufResult, Caps, Engine, EngineInfo, Model, OpenHow, Routes, RuntimeConfig,
    TrialPlan, Workload, blocking, dataset, run_trial,
};

/// The runtime: whatever `build` makes and `block_on` drives (RUNTIME: its executor, ring...).
#[derive(Debug)]
pub struct SkeletonEngine;

impl Engine for SkeletonEngine {
    /// RUNTIME: the runtime's file handle (it must be closable by `close`).
    type File = File;
    /// RUNTIME: its TCP listener, for the `accept-drop` safety scenario; engines without a
    /// socket API use std's, as here.
    type Listener = std::net::TcpListener;

    /// What the engine is, read by every report. `name` is the one the registry line uses.
    const INFO: EngineInfo = EngineInfo {
        name: "skeleton",
        runtime: "std",
        summary: "example: the blocking fallback behind the Engine trait",
        model: Model::Blocking,
        caps: Caps {
            // RUNTIME: true when reads and writes go through io_uring.
            io_uring: false,
            o_direct: true,
            // RUNTIME: true when several ops of one thread can be in flight at once.
            concurrent_ops: false,
            // RUNTIME: true when dropping an in-flight op cancels it in the kernel.
            cancel_on_drop: false,
            does_io: true,
        },
        // RUNTIME: how each op reaches the kernel (ring, a thread pool, inline).
        routes: Routes::INLINE,
    };

    /// RUNTIME: an io_uring engine starts with `workloads::probe::io_uring()?` (the one check
    /// of `kernel.io_uring_disabled` and `io_uring_setup`), then checks its own needs
    /// (opcodes, registered buffers, memlock). The default says "always available".
    fn probe() -> Result<(), String> {
        Ok(())
    }

    /// RUNTIME: build the runtime on this thread with `cfg` (ring entries, ops in flight).
    fn build(_cfg: &RuntimeConfig) -> io::Result<Self> {
        Ok(SkeletonEngine)
    }

    /// RUNTIME: the runtime's `block_on`. Ops that complete inside `poll` need no executor.
    fn block_on<F: std::future::Future>(&mut self, fut: F) -> F::Output {
        workloads::exec::block_on_ready(fut)
    }

    async fn open(path: &Path, how: OpenHow) -> io::Result<File> {
        blocking::open(path, how)
    }

    async fn read_at(file: &File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        blocking::pread(file, buf, pos)
    }

    async fn write_at(file: &File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        blocking::pwrite(file, buf, pos)
    }

    async fn sync(file: &File) -> io::Result<()> {
        file.sync_all()
    }

    async fn close(file: File) -> io::Result<()> {
        blocking::close(file)
    }

    fn listen_local() -> io::Result<(Self::Listener, std::net::SocketAddr)> {
        blocking::listen_local()
    }

    async fn accept(l: &Self::Listener) -> io::Result<()> {
        blocking::accept(l)
    }

    // mkdir, metadata, set_mode, read_dir, read_stream, write_stream, sleep and spawn have
    // defaults (blocking, or "unsupported" with a reason): override those the runtime has.
}

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut wrong = 0;
    for w in Workload::ALL {
        let mut plan = TrialPlan::new(
            w,
            dir.path().join(format!("{w}-src")),
            dir.path().join(format!("{w}-dst")),
        );
        plan.size = 4 << 20;
        if w == Workload::Small {
            std::fs::create_dir(&plan.dst).expect("the small workload's destination directory");
        }
        dataset::create(&plan).expect("the dataset");
        let out = run_trial::<SkeletonEngine>(&plan).expect("one trial");
        let verdict = match dataset::verify(&plan, out.stats.header_errors) {
            Ok(()) => "verified".to_string(),
            Err(e) => {
                wrong += 1;
                format!("WRONG COPY: {e}")
            }
        };
        println!(
            "{w:<6} {:>9} in {:>7.2} ms  {verdict}",
            workloads::units::size(out.bytes),
            out.elapsed_ns as f64 / 1e6
        );
    }
    if wrong > 0 {
        std::process::exit(1);
    }
}
