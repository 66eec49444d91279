//! The `monoio` engine: monoio 0.2 (ByteDance's thread-per-core runtime) on its io_uring
//! driver, selected by type.
//!
//! The runtime is built as `RuntimeBuilder::<IoUringDriver>` — never `FusionDriver`, which
//! probes the kernel at build time and silently falls back to the mio/epoll `LegacyDriver`
//! (where file ops become blocking `pread`/`pwrite` on the runtime thread). This crate also
//! builds monoio without its `legacy` feature, so no epoll driver exists in the binary at all:
//! when io_uring is missing, `build` fails and `probe` says why instead of measuring something
//! else under this name.
//!
//! Native io_uring ops used: open (`OPENAT`), `read_at`/`write_at` (`READ`/`WRITE` with an
//! offset, on owned buffers), `sync_all` (`FSYNC`), `close` (`CLOSE`), `mkdir` (`MKDIRAT`,
//! monoio feature `mkdirat`) and `metadata` (`STATX`). monoio 0.2 has no chmod and no
//! directory listing, so `set_mode` and `read_dir` are the trait's blocking defaults, inline on
//! the runtime thread. monoio 0.2 has no registered (fixed) buffer API, so there is no
//! `monoio-fixed` variant (see README.md).
#![deny(missing_docs)]

use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use monoio::buf::{IoBuf, IoBufMut};
use monoio::time::TimeDriver;
use monoio::{IoUringDriver, Runtime, RuntimeBuilder};
use workloads::{
    AlignedBuf, BufResult, Caps, Engine, EngineInfo, FileKind, Meta, Model, OpenHow, OpenMode,
    Route, Routes, RuntimeConfig,
};

/// monoio's `RuntimeBuilder::with_entries` raises any smaller request to this
/// (`RuntimeBuilder::MIN_ENTRIES` in monoio 0.2.4's builder.rs, private there).
pub const MONOIO_MIN_ENTRIES: u32 = 256;

/// The io_uring opcodes this engine submits (through monoio), checked by [`Engine::probe`].
const OPCODES: &[(u8, &str)] = {
    use io_uring_06::opcode::*;
    &[
        (OpenAt::CODE, "OPENAT"),
        (Read::CODE, "READ"),
        (Write::CODE, "WRITE"),
        (Fsync::CODE, "FSYNC"),
        (Close::CODE, "CLOSE"),
        (Statx::CODE, "STATX"),
        (MkDirAt::CODE, "MKDIRAT"),
        (AsyncCancel::CODE, "ASYNC_CANCEL"),
    ]
};

/// The runtime type: the io_uring driver wrapped in monoio's timer driver.
///
/// The timer is on (`enable_timer`, as most monoio programs have it) because the safety
/// scenarios wait with `monoio::time::sleep` ([`Engine::sleep`]): monoio's wakers cannot be
/// woken from another thread without its `sync` feature, so no runtime-neutral timer can wake
/// it. With no timer armed, `TimeDriver::park` checks an empty wheel and parks the ring exactly
/// as `IoUringDriver` does, so the copy workloads (which never sleep) run as without it.
type Rt = Runtime<TimeDriver<IoUringDriver>>;

/// The monoio engine: one `Runtime<TimeDriver<IoUringDriver>>` per thread.
pub struct MonoioEngine {
    rt: Rt,
    /// Submission queue entries the ring was asked for, after monoio's minimum.
    entries: u32,
    /// What the run configuration asked for.
    requested: u32,
}

impl std::fmt::Debug for MonoioEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonoioEngine")
            .field("entries", &self.entries)
            .field("requested", &self.requested)
            .finish_non_exhaustive()
    }
}

/// An [`AlignedBuf`] lent to monoio for one op (monoio's buffer traits are foreign, so a
/// local newtype carries them).
///
/// monoio reads into `write_ptr()` for `bytes_total()` bytes and then calls `set_init(n)`
/// (driver/op/read.rs); it writes `bytes_init()` bytes from `read_ptr()` (driver/op/write.rs).
/// With the window mapping below that is exactly the engine contract: a read fills the empty
/// window from its start, a write sends the window's data.
struct MonoBuf(AlignedBuf);

// SAFETY: `AlignedBuf` owns a heap allocation that does not move when the value moves, so
// `read_ptr` stays valid for the op's life; `bytes_init` (the window's data length) never
// exceeds the allocation; all its bytes are initialised (zeroed at allocation).
unsafe impl IoBuf for MonoBuf {
    fn read_ptr(&self) -> *const u8 {
        self.0.as_ptr()
    }

    fn bytes_init(&self) -> usize {
        self.0.len()
    }
}

// SAFETY: as above; `bytes_total` is the window size, all of it inside the allocation.
unsafe impl IoBufMut for MonoBuf {
    fn write_ptr(&mut self) -> *mut u8 {
        self.0.as_mut_ptr()
    }

    fn bytes_total(&mut self) -> usize {
        self.0.capacity()
    }

    unsafe fn set_init(&mut self, pos: usize) {
        // The kernel wrote `pos` bytes at the window start; every byte is initialised anyway.
        self.0.set_len(pos);
    }
}

/// Why io_uring cannot be used here, in words a user can act on, or `None` if it can.
fn io_uring_unavailable() -> Option<String> {
    if let Err(why) = workloads::probe::io_uring() {
        return Some(why);
    }
    let ring = match io_uring_06::IoUring::new(8) {
        Ok(r) => r,
        Err(e) => return Some(workloads::probe::setup_error(&e)),
    };
    let mut probe = io_uring_06::Probe::new();
    if let Err(e) = ring.submitter().register_probe(&mut probe) {
        return Some(format!(
            "io_uring opcode probe failed (kernel older than 5.6?): {e}"
        ));
    }
    let missing: Vec<&str> = OPCODES
        .iter()
        .filter(|(code, _)| !probe.is_supported(*code))
        .map(|(_, name)| *name)
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "kernel io_uring lacks opcodes monoio uses here: {}",
            missing.join(", ")
        ));
    }
    None
}

fn build_runtime(entries: u32) -> io::Result<Rt> {
    // The type parameter is the whole point: `RuntimeBuilder::<IoUringDriver>::build` either
    // returns an io_uring runtime or an error (builder.rs `impl Buildable for IoUringDriver`);
    // only `RuntimeBuilder::<FusionDriver>` consults `detect_uring()` and may pick epoll.
    RuntimeBuilder::<IoUringDriver>::new()
        .with_entries(entries)
        .enable_timer()
        .build()
}

impl Engine for MonoioEngine {
    type File = monoio::fs::File;

    /// monoio's own listener; its `accept` is `IORING_OP_ACCEPT` on the ring
    /// (driver/op/accept.rs).
    type Listener = monoio::net::TcpListener;

    /// `monoio::net::TcpListener::bind` (synchronous in monoio: socket2 socket, bind, listen,
    /// net/tcp/listener.rs `bind_with_config`).
    fn listen_local() -> io::Result<(Self::Listener, std::net::SocketAddr)> {
        let l = monoio::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = l.local_addr()?;
        Ok((l, addr))
    }

    async fn accept(l: &Self::Listener) -> io::Result<()> {
        // The accepted stream is dropped at once (its SharedFd pushes an IORING_OP_CLOSE).
        l.accept().await.map(drop)
    }

    /// `monoio::spawn`, handle dropped (monoio's `JoinHandle` detaches on drop, task/join.rs).
    /// Like `monoio::spawn` itself, this panics outside a monoio runtime (the trait calls it
    /// inside `block_on` only; monoio has no public "am I in a runtime" check).
    fn spawn<F: std::future::Future<Output = ()> + 'static>(fut: F) -> Result<(), String> {
        drop(monoio::spawn(fut));
        Ok(())
    }

    const INFO: EngineInfo = EngineInfo {
        name: "monoio",
        runtime: "monoio",
        summary: "monoio 0.2 IoUringDriver (thread-per-core); file and open/stat/mkdir ops on the ring",
        model: Model::ThreadPerCore,
        caps: Caps {
            io_uring: true,
            o_direct: true,
            concurrent_ops: true,
            // With the `async-cancel` feature, dropping an in-flight op parks its buffer in the
            // driver's slab and pushes IORING_OP_ASYNC_CANCEL (driver/uring/mod.rs `drop_op`).
            cancel_on_drop: true,
            does_io: true,
        },
        routes: Routes {
            open: Route::Ring,
            read: Route::Ring,
            write: Route::Ring,
            sync: Route::Ring,
            close: Route::Ring,
            mkdir: Route::Ring,
            metadata: Route::Ring,
            // No chmod or getdents in monoio 0.2: the trait's blocking defaults.
            set_mode: Route::Inline,
            read_dir: Route::Inline,
        },
    };

    fn probe() -> Result<(), String> {
        if let Some(reason) = io_uring_unavailable() {
            return Err(reason);
        }
        // The ring monoio itself sets up (its minimum size) must build too.
        build_runtime(MONOIO_MIN_ENTRIES)
            .map(drop)
            .map_err(|e| format!("monoio IoUringDriver failed to build: {e}"))
    }

    fn build(cfg: &RuntimeConfig) -> io::Result<Self> {
        let entries = cfg.ring_entries.max(MONOIO_MIN_ENTRIES);
        Ok(MonoioEngine {
            rt: build_runtime(entries)?,
            entries,
            requested: cfg.ring_entries,
        })
    }

    fn block_on<F: std::future::Future>(&mut self, fut: F) -> F::Output {
        self.rt.block_on(fut)
    }

    fn detail(&self) -> Option<String> {
        let mut s = format!("IoUringDriver (timer on), entries={}", self.entries);
        if self.requested != self.entries {
            s.push_str(&format!(
                " (asked {}, monoio's minimum is {MONOIO_MIN_ENTRIES})",
                self.requested
            ));
        }
        Some(s)
    }

    async fn open(path: &Path, how: OpenHow) -> io::Result<Self::File> {
        let mut o = monoio::fs::OpenOptions::new();
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

    /// monoio's own timer. The trait's default is woken from a helper thread, which monoio
    /// without `sync` cannot see: its `block_on` polls the main future with a waker that only
    /// sets a flag of the runtime's own thread, and parks in the ring until a completion.
    async fn sleep(d: std::time::Duration) {
        monoio::time::sleep(d).await
    }

    async fn read_at(file: &Self::File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let (r, MonoBuf(buf)) = file.read_at(MonoBuf(buf), pos).await;
        (r, buf)
    }

    async fn write_at(file: &Self::File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let (r, MonoBuf(buf)) = file.write_at(MonoBuf(buf), pos).await;
        (r, buf)
    }

    async fn sync(file: &Self::File) -> io::Result<()> {
        file.sync_all().await
    }

    async fn close(file: Self::File) -> io::Result<()> {
        // IORING_OP_CLOSE once no op holds the fd. monoio 0.2.4 discards the close result
        // (shared_fd.rs: "Nothing to do if the close operation failed") and always returns
        // Ok, so a close error is invisible through this engine (see README.md).
        file.close().await
    }

    async fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
        monoio::fs::DirBuilder::new().mode(mode).create(path).await
    }

    async fn metadata(path: &Path) -> io::Result<Meta> {
        let m = monoio::fs::symlink_metadata(path).await?;
        let ft = m.file_type();
        let kind = if ft.is_file() {
            FileKind::File
        } else if ft.is_dir() {
            FileKind::Dir
        } else if ft.is_symlink() {
            FileKind::Symlink
        } else {
            FileKind::Other
        };
        Ok(Meta {
            kind,
            len: m.len(),
            mode: m.permissions().mode() & 0o7777,
        })
    }
}

#[cfg(test)]
mod tests {
    workloads::conformance_tests!(crate::MonoioEngine);

    /// `listen_local` binds with the runtime's own listener and `accept` takes one connection
    /// made by a plain std client.
    #[test]
    fn listener_accepts_a_client() {
        use workloads::{Engine, RuntimeConfig};
        if !workloads::conformance::available::<crate::MonoioEngine>() {
            return;
        }
        let mut e = crate::MonoioEngine::build(&RuntimeConfig::default()).unwrap();
        e.block_on(async {
            let (l, addr) = crate::MonoioEngine::listen_local().unwrap();
            assert!(addr.ip().is_loopback() && addr.port() != 0);
            let client = std::net::TcpStream::connect(addr).unwrap();
            crate::MonoioEngine::accept(&l).await.unwrap();
            drop(client);
        });
    }

    /// A task spawned with the runtime's own spawn keeps running after the `block_on` that
    /// spawned it returns, and runs in the next `block_on`.
    #[test]
    fn spawned_task_outlives_block_on() {
        use std::cell::Cell;
        use std::rc::Rc;
        use workloads::{Engine, RuntimeConfig};
        if !workloads::conformance::available::<crate::MonoioEngine>() {
            return;
        }
        let mut e = crate::MonoioEngine::build(&RuntimeConfig::default()).unwrap();
        let step = Rc::new(Cell::new(0));
        let s = step.clone();
        e.block_on(async move {
            crate::MonoioEngine::spawn(async move {
                s.set(1);
                crate::MonoioEngine::sleep(std::time::Duration::from_millis(30)).await;
                s.set(2);
            })
            .unwrap();
            crate::MonoioEngine::sleep(std::time::Duration::from_millis(5)).await;
        });
        assert_eq!(step.get(), 1, "the task ran and is waiting on its timer");
        e.block_on(crate::MonoioEngine::sleep(
            std::time::Duration::from_millis(80),
        ));
        assert_eq!(step.get(), 2, "the task went on in a later block_on");
    }

    use workloads::{Engine, RuntimeConfig};

    /// `detail()` names the driver and the ring size really used, including monoio's floor.
    #[test]
    fn detail_reports_driver_and_entries() {
        if !workloads::conformance::available::<crate::MonoioEngine>() {
            return;
        }
        let small = RuntimeConfig {
            ring_entries: 64,
            ..RuntimeConfig::default()
        };
        let e = crate::MonoioEngine::build(&small).unwrap();
        assert_eq!(
            e.detail().as_deref(),
            Some("IoUringDriver (timer on), entries=256 (asked 64, monoio's minimum is 256)")
        );
        let big = RuntimeConfig {
            ring_entries: 512,
            ..RuntimeConfig::default()
        };
        let e = crate::MonoioEngine::build(&big).unwrap();
        assert_eq!(
            e.detail().as_deref(),
            Some("IoUringDriver (timer on), entries=512")
        );
    }
}
