//! The `compio` engines: compio on its io_uring driver, one single-threaded runtime per
//! `--threads` share (compio is thread-per-core: a runtime, its ring and its tasks never leave
//! the thread that built them). One engine per compio release, side by side in one binary:
//!
//! | engine | release | type | built |
//! |---|---|---|---|
//! | `compio` | 0.19 (the current one) | [`CompioEngine`] | always |
//! | `compio@0.16` | 0.16.0 | `Compio016Engine` | feature `versions` |
//! | `compio@0.20-beta` | 0.20.0-beta.1, a **pre-release** | `Compio020BetaEngine` | feature `versions` |
//!
//! The adapter is written once, in `compio_engine!`, against the API the releases share;
//! every difference between them (buffer traits, ring builder, pipe) is in [`api`], one module
//! per release. The older and pre-release crates are a feature because they add more than a
//! third to this crate's build (see README).
//!
//! What goes through the ring (read in compio-fs 0.12 / compio-driver 0.12 source, and the
//! same in 0.9 / 0.13-beta): `OpenOptions::open` is `IORING_OP_OPENAT`, `File::read_at` /
//! `write_at` are `IORING_OP_READ` / `IORING_OP_WRITE` with an offset, `File::sync_all` is
//! `IORING_OP_FSYNC`, `File::close` is `IORING_OP_CLOSE`, `DirBuilder::create` is
//! `IORING_OP_MKDIRAT`, `fs::symlink_metadata` is `IORING_OP_STATX`. `fs::set_permissions` has
//! no ring op (io_uring has no chmod) and compio runs it on its own blocking pool; compio has no
//! directory listing at all, so `read_dir` is the trait's inline default. [`COMPIO_ROUTES`]
//! says exactly this.
//!
//! compio-driver 0.12+ quietly runs an op on its thread pool when the kernel lacks the op's
//! opcode (`Driver::push` → `push_blocking`). So that the routes above are never a lie, every
//! engine here refuses to build unless the kernel has every opcode it relies on (our own
//! probe, `check_ring`, plus compio's `detect_opcode_support` where the release has it). The
//! `polling` feature is off, so compio has no epoll driver to fall back to: the io_uring
//! driver is the only one compiled in.
//!
//! There is no `compio-fixed` engine: compio 0.19 has no registered-buffer API (see README).
#![deny(missing_docs)]

use std::sync::OnceLock;

pub mod api;
pub use api::CompioBuf;
use workloads::{Route, Routes};

/// How each op reaches the kernel in every compio engine (see the module doc for the source).
pub const COMPIO_ROUTES: Routes = Routes {
    open: Route::Ring,
    read: Route::Ring,
    write: Route::Ring,
    sync: Route::Ring,
    close: Route::Ring,
    mkdir: Route::Ring,
    metadata: Route::Ring,
    set_mode: Route::Pool,
    read_dir: Route::Inline,
};

/// Check, once per process, that io_uring can be set up here and has every opcode the routes
/// claim (including `STATX` and `MKDIRAT`, which compio's `OpCodeFlag` cannot express).
fn ring_ready() -> Result<(), String> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY.get_or_init(check_ring).clone()
}

fn check_ring() -> Result<(), String> {
    use io_uring::opcode;
    workloads::probe::io_uring()?;
    let ring = io_uring::IoUring::new(2).map_err(|e| workloads::probe::setup_error(&e))?;
    let mut probe = io_uring::Probe::new();
    ring.submitter()
        .register_probe(&mut probe)
        .map_err(|e| format!("io_uring opcode probe failed: {e}"))?;
    let needed = [
        ("OPENAT", opcode::OpenAt::CODE),
        ("READ", opcode::Read::CODE),
        ("WRITE", opcode::Write::CODE),
        ("FSYNC", opcode::Fsync::CODE),
        ("CLOSE", opcode::Close::CODE),
        ("STATX", opcode::Statx::CODE),
        ("MKDIRAT", opcode::MkDirAt::CODE),
        ("ASYNC_CANCEL", opcode::AsyncCancel::CODE),
        ("POLL_ADD", opcode::PollAdd::CODE),
    ];
    let missing: Vec<&str> = needed
        .iter()
        .filter(|(_, code)| !probe.is_supported(*code))
        .map(|(name, _)| *name)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "kernel io_uring lacks IORING_OP_{}: compio would run those ops on its thread pool, \
             so this engine would not be what it claims",
            missing.join(", IORING_OP_")
        ));
    }
    Ok(())
}

/// One compio engine over one release's crate: `$c` is the crate (`compio`, `compio_0_16`,
/// ...), `$api` its module in [`api`] (the release's differences), `$m` the module the
/// engine lives in (with its tests).
macro_rules! compio_engine {
    (
        $(#[$doc:meta])*
        $m:ident: $Engine:ident, crate $c:ident, api $api:path,
        name $name:literal, release $release:literal, summary $summary:literal $(,)?
    ) => {
        #[doc = concat!("The `", $name, "` engine (compio ", $release, ").")]
        pub mod $m {
            use std::future::Future;
            use std::io;
            use std::path::Path;

            use $api as api;
            use $c::io::{AsyncReadAt, AsyncWriteAt};
            use $c::runtime::{Runtime, RuntimeBuilder};
            use workloads::{
                AlignedBuf, BufResult, Caps, Engine, EngineInfo, FileKind, Meta, Model, OpenHow,
                OpenMode, RuntimeConfig,
            };

            use crate::{COMPIO_ROUTES, CompioBuf, ring_ready};

            /// Build a runtime on the io_uring driver with `entries` submission-queue entries.
            fn build_runtime(entries: u32) -> io::Result<Runtime> {
                ring_ready().map_err(io::Error::other)?;
                let rt = RuntimeBuilder::new()
                    .with_proactor(api::proactor(entries))
                    .build()?;
                if !rt.driver_type().is_iouring() {
                    return Err(io::Error::other(format!(
                        "compio chose the {:?} driver, not io_uring",
                        rt.driver_type()
                    )));
                }
                Ok(rt)
            }

            $(#[$doc])*
            pub struct $Engine {
                pub(crate) rt: Runtime,
                entries: u32,
            }

            impl std::fmt::Debug for $Engine {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.debug_struct(stringify!($Engine))
                        .field("entries", &self.entries)
                        .finish_non_exhaustive()
                }
            }

            fn kind_of(m: &$c::fs::Metadata) -> FileKind {
                let t = m.file_type();
                if t.is_file() {
                    FileKind::File
                } else if t.is_dir() {
                    FileKind::Dir
                } else if t.is_symlink() {
                    FileKind::Symlink
                } else {
                    FileKind::Other
                }
            }

            impl Engine for $Engine {
                type File = $c::fs::File;

                /// compio's own listener; its `accept` is `IORING_OP_ACCEPT` on the ring.
                type Listener = $c::net::TcpListener;

                /// compio's `TcpListener::bind` is async (socket, bind and listen are ring ops,
                /// compio-net `socket/mod.rs` `Socket::new`/`bind`/`listen`), and this trait
                /// method is synchronous, so the socket is bound with `std` and handed to
                /// compio with its own `TcpListener::from_std` (on the io_uring driver that
                /// only wraps the descriptor; nothing is set non-blocking). Every accept on it
                /// goes through compio.
                fn listen_local() -> io::Result<(Self::Listener, std::net::SocketAddr)> {
                    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
                    let l = $c::net::TcpListener::from_std(std_listener)?;
                    let addr = l.local_addr()?;
                    Ok((l, addr))
                }

                async fn accept(l: &Self::Listener) -> io::Result<()> {
                    // The accepted stream is dropped at once (compio closes it on drop).
                    l.accept().await.map(drop)
                }

                /// `Runtime::spawn(..).detach()`: the task lives in the runtime's executor
                /// until it ends or the runtime is dropped (`Runtime::drop` clears the
                /// executor, dropping every task with its in-flight op futures).
                fn spawn<F: Future<Output = ()> + 'static>(fut: F) -> Result<(), String> {
                    Runtime::try_with_current(|rt| rt.spawn(fut).detach())
                        .map_err(|_| "compio spawn called outside a compio runtime".to_string())
                }

                const INFO: EngineInfo = EngineInfo {
                    name: $name,
                    // The key of this release's locked version in the run's environment
                    // (driver/build.rs labels every locked release of a crate that is locked
                    // more than once).
                    runtime: $name,
                    summary: $summary,
                    model: Model::ThreadPerCore,
                    caps: Caps {
                        io_uring: true,
                        o_direct: true,
                        concurrent_ops: true,
                        // Dropping a submitted op's future pushes IORING_OP_ASYNC_CANCEL, and
                        // the op (with its buffer) stays alive in the driver until its
                        // completion arrives (README).
                        cancel_on_drop: true,
                        does_io: true,
                    },
                    routes: COMPIO_ROUTES,
                };

                fn probe() -> Result<(), String> {
                    ring_ready()?;
                    // The runtime itself must come up too (memlock for the ring, eventfd).
                    build_runtime(RuntimeConfig::default().ring_entries)
                        .map(drop)
                        .map_err(|e| format!("building a compio runtime failed: {e}"))
                }

                fn build(cfg: &RuntimeConfig) -> io::Result<Self> {
                    Ok($Engine {
                        rt: build_runtime(cfg.ring_entries)?,
                        entries: cfg.ring_entries,
                    })
                }

                fn block_on<F: Future>(&mut self, fut: F) -> F::Output {
                    self.rt.block_on(fut)
                }

                fn detail(&self) -> Option<String> {
                    Some(format!(
                        "compio {} driver={:?} ring_entries={} (polling fallback not compiled in)",
                        $release,
                        self.rt.driver_type(),
                        self.entries
                    ))
                }

                async fn open(path: &Path, how: OpenHow) -> io::Result<Self::File> {
                    let mut o = $c::fs::OpenOptions::new();
                    match how.mode {
                        OpenMode::Read => o.read(true),
                        OpenMode::Create => o.write(true).create(true).mode(how.perm),
                        OpenMode::ReadWrite => o.read(true).write(true),
                    };
                    if how.direct {
                        o.custom_flags(libc::O_DIRECT);
                    }
                    o.open(path).await
                }

                async fn read_at(file: &Self::File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
                    let $c::BufResult(r, b) = file.read_at(CompioBuf(buf), pos).await;
                    (r, b.0)
                }

                async fn write_at(file: &Self::File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
                    // `AsyncWriteAt` is implemented for `&File` (positional writes need no
                    // `&mut`).
                    let mut f = file;
                    let $c::BufResult(r, b) = f.write_at(CompioBuf(buf), pos).await;
                    (r, b.0)
                }

                async fn sync(file: &Self::File) -> io::Result<()> {
                    file.sync_all().await
                }

                async fn close(file: Self::File) -> io::Result<()> {
                    // Waits until no op holds a clone of the fd, then submits IORING_OP_CLOSE.
                    file.close().await
                }

                async fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
                    use std::os::unix::fs::DirBuilderExt;
                    let mut b = $c::fs::DirBuilder::new();
                    b.mode(mode);
                    b.create(path).await
                }

                async fn metadata(path: &Path) -> io::Result<Meta> {
                    use std::os::unix::fs::PermissionsExt;
                    let m = $c::fs::symlink_metadata(path).await?;
                    Ok(Meta {
                        kind: kind_of(&m),
                        len: m.len(),
                        mode: m.permissions().mode() & 0o7777,
                    })
                }

                async fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
                    use std::os::unix::fs::PermissionsExt;
                    // compio runs this with spawn_blocking: io_uring has no chmod.
                    $c::fs::set_permissions(path, $c::fs::Permissions::from_mode(mode)).await
                }
            }

            #[cfg(test)]
            mod tests {
                use super::*;

                workloads::conformance_tests!(super::$Engine);

                /// `listen_local` binds with the runtime's own listener and `accept` takes one
                /// connection made by a plain std client.
                #[test]
                fn listener_accepts_a_client() {
                    if !workloads::conformance::available::<$Engine>() {
                        return;
                    }
                    let mut e = $Engine::build(&RuntimeConfig::default()).unwrap();
                    e.block_on(async {
                        let (l, addr) = $Engine::listen_local().unwrap();
                        assert!(addr.ip().is_loopback() && addr.port() != 0);
                        let client = std::net::TcpStream::connect(addr).unwrap();
                        $Engine::accept(&l).await.unwrap();
                        drop(client);
                    });
                }

                /// A task spawned with the runtime's own spawn keeps running after the
                /// `block_on` that spawned it returns, and runs in the next `block_on`.
                #[test]
                fn spawned_task_outlives_block_on() {
                    use std::cell::Cell;
                    use std::rc::Rc;
                    use std::time::Duration;
                    if !workloads::conformance::available::<$Engine>() {
                        return;
                    }
                    let mut e = $Engine::build(&RuntimeConfig::default()).unwrap();
                    let step = Rc::new(Cell::new(0));
                    let s = step.clone();
                    e.block_on(async move {
                        $Engine::spawn(async move {
                            s.set(1);
                            $Engine::sleep(Duration::from_millis(30)).await;
                            s.set(2);
                        })
                        .unwrap();
                        $Engine::sleep(Duration::from_millis(5)).await;
                    });
                    assert_eq!(step.get(), 1, "the task ran and is waiting on its timer");
                    e.block_on($Engine::sleep(Duration::from_millis(80)));
                    assert_eq!(step.get(), 2, "the task went on in a later block_on");
                }

                /// Poll `fut` once from inside the runtime.
                async fn poll_once<F: Future + Unpin>(fut: &mut F) -> std::task::Poll<F::Output> {
                    std::future::poll_fn(|cx| {
                        std::task::Poll::Ready(std::pin::Pin::new(&mut *fut).poll(cx))
                    })
                    .await
                }

                /// Return to compio's `block_on` loop once, which submits queued SQEs and
                /// reaps CQEs.
                async fn yield_now() {
                    let mut yielded = false;
                    std::future::poll_fn(|cx| {
                        if yielded {
                            std::task::Poll::Ready(())
                        } else {
                            yielded = true;
                            cx.waker().wake_by_ref();
                            std::task::Poll::Pending
                        }
                    })
                    .await
                }

                /// Evidence for `caps.cancel_on_drop`: a read on an empty pipe is proven
                /// pending in the kernel, its future is dropped, and bytes written afterwards
                /// are still in the pipe — so the drop cancelled the kernel op (an op left
                /// running would have consumed them).
                #[test]
                fn dropped_read_is_cancelled_in_kernel() {
                    use $c::io::AsyncRead;
                    use std::os::fd::AsRawFd;
                    if !workloads::conformance::available::<$Engine>() {
                        return;
                    }
                    let mut e = $Engine::build(&RuntimeConfig::default()).unwrap();
                    let (rx, tx) = e.block_on(async {
                        let (rx, tx) = api::pipe().await.unwrap();
                        {
                            let mut r = &rx;
                            let mut fut = Box::pin(r.read(CompioBuf(AlignedBuf::new(64))));
                            assert!(
                                poll_once(&mut fut).await.is_pending(),
                                "a read of an empty pipe must pend"
                            );
                            yield_now().await; // the read's SQE reaches the kernel
                            assert!(
                                poll_once(&mut fut).await.is_pending(),
                                "still pending once submitted"
                            );
                            drop(fut); // pushes IORING_OP_ASYNC_CANCEL
                            yield_now().await; // ... which the kernel now processes
                        }
                        (rx, tx)
                    });
                    // Plain syscalls from here on, outside the runtime: nothing of compio's
                    // can read now.
                    // SAFETY: writing 5 bytes from a live buffer to an fd we own.
                    let n = unsafe { libc::write(tx.as_raw_fd(), b"hello".as_ptr().cast(), 5) };
                    assert_eq!(n, 5);
                    let mut pfd = libc::pollfd {
                        fd: rx.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd.
                    let ready = unsafe { libc::poll(&mut pfd, 1, 2000) };
                    assert_eq!(
                        ready, 1,
                        "bytes written after the drop must still be in the pipe"
                    );
                    let mut got = [0u8; 16];
                    // SAFETY: reading into a live 16-byte buffer.
                    let n =
                        unsafe { libc::read(rx.as_raw_fd(), got.as_mut_ptr().cast(), got.len()) };
                    assert_eq!(
                        &got[..n.max(0) as usize],
                        b"hello",
                        "the cancelled read must not have taken them"
                    );
                    drop((rx, tx));
                }

                /// The runtime really runs on io_uring and reports it.
                #[test]
                fn driver_is_io_uring() {
                    if !workloads::conformance::available::<$Engine>() {
                        return;
                    }
                    let e = $Engine::build(&RuntimeConfig::default()).unwrap();
                    assert!(e.rt.driver_type().is_iouring());
                    let d = e.detail().unwrap();
                    assert!(d.contains("IoUring") && d.contains($release), "{d}");
                }
            }
        }

        pub use $m::$Engine;
    };
}

compio_engine! {
    /// The compio engine on the current release, 0.19 (generic path: plain `READ`/`WRITE` on
    /// the workload's own buffers).
    v0_19: CompioEngine, crate compio, api crate::api::v0_19,
    name "compio", release "0.19",
    summary "compio 0.19 io_uring driver: openat/read/write/fsync/close/mkdirat/statx on the ring",
}

#[cfg(feature = "versions")]
compio_engine! {
    /// The compio engine on compio 0.16.0, the release whose cancellation path an early code
    /// review of this project argued safe by reading its source (README: what changed since).
    v0_16: Compio016Engine, crate compio_0_16, api crate::api::v0_16,
    name "compio@0.16", release "0.16.0",
    summary "compio 0.16.0 (older release) io_uring driver: the same ops on the ring",
}

#[cfg(feature = "versions")]
compio_engine! {
    /// The compio engine on compio 0.20.0-beta.1, a **pre-release** (the newest compio the
    /// registry serves when this was written).
    v0_20_beta: Compio020BetaEngine, crate compio_0_20_beta, api crate::api::v0_20_beta,
    name "compio@0.20-beta", release "0.20.0-beta.1",
    summary "compio 0.20.0-beta.1 (PRE-RELEASE) io_uring driver: the same ops on the ring",
}

/// The same engine name and type when its release is not compiled in (feature `versions`
/// off): registered like the others, so callers never see a `cfg`, and `probe` says how to get
/// it. It can never be built, so none of its methods can be reached.
#[cfg(not(feature = "versions"))]
macro_rules! compio_engine_not_built {
    ($Engine:ident, name $name:literal, release $release:literal $(,)?) => {
        #[doc = concat!("`", $name, "` (compio ", $release, "), not compiled in: build with `--features bench-compio/versions`.")]
        #[derive(Debug)]
        pub struct $Engine(std::convert::Infallible);

        impl workloads::Engine for $Engine {
            type File = std::convert::Infallible;
            type Listener = std::convert::Infallible;

            const INFO: workloads::EngineInfo = workloads::EngineInfo {
                name: $name,
                runtime: $name,
                summary: concat!("compio ", $release, " (not compiled in: feature `versions`)"),
                model: workloads::Model::ThreadPerCore,
                caps: workloads::Caps {
                    io_uring: true,
                    o_direct: true,
                    concurrent_ops: true,
                    cancel_on_drop: true,
                    does_io: true,
                },
                routes: COMPIO_ROUTES,
            };

            fn probe() -> Result<(), String> {
                Err(concat!(
                    "compio ", $release, " is not compiled into this binary: rebuild with ",
                    "`--features bench-compio/versions` (e.g. `cargo run --release -p driver ",
                    "--features bench-compio/versions -- ...`)"
                )
                .into())
            }

            fn build(_: &workloads::RuntimeConfig) -> std::io::Result<Self> {
                Err(std::io::Error::other(Self::probe().unwrap_err()))
            }

            fn block_on<F: std::future::Future>(&mut self, _: F) -> F::Output {
                match self.0 {}
            }

            fn listen_local() -> std::io::Result<(Self::Listener, std::net::SocketAddr)> {
                Err(std::io::Error::other(Self::probe().unwrap_err()))
            }

            async fn accept(l: &Self::Listener) -> std::io::Result<()> {
                match *l {}
            }

            async fn open(_: &std::path::Path, _: workloads::OpenHow) -> std::io::Result<Self::File> {
                Err(std::io::Error::other(Self::probe().unwrap_err()))
            }

            async fn read_at(
                file: &Self::File,
                _: workloads::AlignedBuf,
                _: u64,
            ) -> workloads::BufResult<usize> {
                match *file {}
            }

            async fn write_at(
                file: &Self::File,
                _: workloads::AlignedBuf,
                _: u64,
            ) -> workloads::BufResult<usize> {
                match *file {}
            }

            async fn sync(file: &Self::File) -> std::io::Result<()> {
                match *file {}
            }

            async fn close(file: Self::File) -> std::io::Result<()> {
                match file {}
            }
        }
    };
}

#[cfg(not(feature = "versions"))]
compio_engine_not_built!(Compio016Engine, name "compio@0.16", release "0.16.0");
#[cfg(not(feature = "versions"))]
compio_engine_not_built!(Compio020BetaEngine, name "compio@0.20-beta", release "0.20.0-beta.1");
