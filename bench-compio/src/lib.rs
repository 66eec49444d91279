//! The `compio` engine: compio 0.19 on its io_uring driver, one single-threaded runtime per
//! `--threads` share (compio is thread-per-core: a runtime, its ring and its tasks never leave
//! the thread that built them).
//!
//! What goes through the ring (read in compio-fs 0.12 / compio-driver 0.12 source):
//! `OpenOptions::open` is `IORING_OP_OPENAT`, `File::read_at` / `write_at` are `IORING_OP_READ`
//! / `IORING_OP_WRITE` with an offset, `File::sync_all` is `IORING_OP_FSYNC`, `File::close` is
//! `IORING_OP_CLOSE`, `DirBuilder::create` is `IORING_OP_MKDIRAT`, `fs::symlink_metadata` is
//! `IORING_OP_STATX`. `fs::set_permissions` has no ring op (io_uring has no chmod) and compio runs
//! it on its own blocking pool; compio has no directory listing at all, so `read_dir` is the
//! trait's inline default. [`COMPIO_ROUTES`] says exactly this.
//!
//! compio-driver quietly runs an op on its thread pool when the kernel lacks the op's opcode
//! (`Driver::push` → `push_blocking`). So that the routes above are never a lie, [`CompioEngine`]
//! makes the runtime refuse to build unless the kernel has every opcode it relies on (compio's
//! `detect_opcode_support`, plus our own probe for `STATX` and `MKDIRAT`, which compio's flag
//! set does not cover). The `polling` feature is off, so compio has no epoll driver to fall
//! back to: the io_uring driver is the only one compiled in.
//!
//! There is no `compio-fixed` engine: compio 0.19 has no registered-buffer API (see README).
#![deny(missing_docs)]

use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::path::Path;
use std::sync::OnceLock;

use compio::buf::{IoBuf, IoBufMut, SetLen};
use compio::driver::ProactorBuilder;
use compio::driver::op::OpCodeFlag;
use compio::io::{AsyncReadAt, AsyncWriteAt};
use compio::runtime::{Runtime, RuntimeBuilder};
use workloads::{
    AlignedBuf, BufResult, Caps, Engine, EngineInfo, FileKind, Meta, Model, OpenHow, OpenMode,
    Route, Routes, RuntimeConfig,
};

/// An [`AlignedBuf`] that compio can own for the life of an op.
///
/// compio-buf 0.8's contract: `IoBuf::as_init` is what a write sends; `IoBufMut::as_uninit` is
/// the *whole* buffer a read may fill — compio 0.19's `ReadAt` reads into the **start** of it
/// (`sys_slice_mut()` = `as_uninit()`), not into the spare part after `buf_len()`, and then
/// calls `SetLen::advance_to(n)`, which only moves the length forward. Mapped onto the window:
/// `as_init` = `[begin, len)`, `as_uninit` = `[begin, limit)`, `set_len(n)` = `len = begin + n`.
/// The workloads only read into an empty window, where start and spare are the same bytes.
#[derive(Debug)]
pub struct CompioBuf(pub AlignedBuf);

impl IoBuf for CompioBuf {
    fn as_init(&self) -> &[u8] {
        self.0.as_slice()
    }
}

impl SetLen for CompioBuf {
    unsafe fn set_len(&mut self, len: usize) {
        // AlignedBuf is zeroed at allocation, so every byte is initialised; set_len itself
        // panics past the window, which also covers compio's `len <= as_uninit().len()` rule.
        self.0.set_len(len);
    }
}

impl IoBufMut for CompioBuf {
    fn as_uninit(&mut self) -> &mut [MaybeUninit<u8>] {
        let cap = self.0.capacity();
        // SAFETY: `[begin, limit)` lies inside the allocation, which we borrow mutably; the
        // pointer does not move while compio owns the buffer (the allocation is on the heap).
        unsafe {
            std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast::<MaybeUninit<u8>>(), cap)
        }
    }
}

/// How each op reaches the kernel in [`CompioEngine`] (see the module doc for the source).
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

/// Opcodes compio's own support check knows about and that this engine's ops (and compio's
/// driver itself: `POLL_ADD` for its wake-up eventfd, `ASYNC_CANCEL` for dropped futures) use.
fn compio_required() -> OpCodeFlag {
    OpCodeFlag::OpenAt
        | OpCodeFlag::Read
        | OpCodeFlag::Write
        | OpCodeFlag::Fsync
        | OpCodeFlag::Close
        | OpCodeFlag::AsyncCancel
        | OpCodeFlag::PollAdd
}

/// Check, once per process, that io_uring can be set up here and has every opcode the routes
/// claim (including `STATX` and `MKDIRAT`, which compio's `OpCodeFlag` cannot express).
fn ring_ready() -> Result<(), String> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY.get_or_init(check_ring).clone()
}

fn check_ring() -> Result<(), String> {
    use io_uring::opcode;
    // 2 = io_uring disabled for everyone; 1 = only for CAP_SYS_ADMIN / io_uring_group, in
    // which case the setup below tells whether this process may.
    let sysctl = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .ok()
        .map(|s| s.trim().to_owned());
    if sysctl.as_deref() == Some("2") {
        return Err("io_uring is disabled on this system (kernel.io_uring_disabled=2)".into());
    }
    let ring = io_uring::IoUring::new(2).map_err(|e| {
        let why = match e.raw_os_error() {
            Some(libc::ENOSYS) => " (kernel without io_uring)",
            Some(libc::EPERM) if sysctl.as_deref() == Some("1") => {
                " (kernel.io_uring_disabled=1 and this process is not allowed)"
            }
            Some(libc::EPERM) => " (blocked, e.g. by seccomp or a container policy)",
            Some(libc::ENOMEM) => " (RLIMIT_MEMLOCK too low for the ring)",
            _ => "",
        };
        format!("io_uring_setup failed: {e}{why}")
    })?;
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

/// Build a compio runtime on its io_uring driver with `entries` submission-queue entries.
fn build_runtime(entries: u32) -> io::Result<Runtime> {
    ring_ready().map_err(io::Error::other)?;
    let mut proactor = ProactorBuilder::new();
    proactor
        .capacity(entries)
        // Refuse to build, rather than silently use the blocking pool, if an opcode is missing.
        .detect_opcode_support(compio_required());
    let rt = RuntimeBuilder::new().with_proactor(proactor).build()?;
    if !rt.driver_type().is_iouring() {
        return Err(io::Error::other(format!(
            "compio chose the {:?} driver, not io_uring",
            rt.driver_type()
        )));
    }
    Ok(rt)
}

/// The compio engine (generic path: plain `READ`/`WRITE` on the workload's own buffers).
pub struct CompioEngine {
    rt: Runtime,
    entries: u32,
}

impl std::fmt::Debug for CompioEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompioEngine")
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

fn kind_of(m: &compio::fs::Metadata) -> FileKind {
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

impl Engine for CompioEngine {
    type File = compio::fs::File;

    /// compio's own listener; its `accept` is `IORING_OP_ACCEPT` on the ring.
    type Listener = compio::net::TcpListener;

    /// compio's `TcpListener::bind` is async (socket, bind and listen are ring ops,
    /// compio-net `socket/mod.rs` `Socket::new`/`bind`/`listen`), and this trait method is
    /// synchronous, so the socket is bound with `std` and handed to compio with its own
    /// `TcpListener::from_std` (on the io_uring driver that only wraps the descriptor; nothing
    /// is set non-blocking). Every accept on it goes through compio.
    fn listen_local() -> io::Result<(Self::Listener, std::net::SocketAddr)> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let l = compio::net::TcpListener::from_std(std_listener)?;
        let addr = l.local_addr()?;
        Ok((l, addr))
    }

    async fn accept(l: &Self::Listener) -> io::Result<()> {
        // The accepted stream is dropped at once (compio closes it synchronously on drop).
        l.accept().await.map(drop)
    }

    /// `compio::runtime::spawn(..).detach()`: the task lives in the runtime's executor until
    /// it ends or the runtime is dropped (`Runtime::drop` clears the executor, dropping every
    /// task with its in-flight op futures).
    fn spawn<F: Future<Output = ()> + 'static>(fut: F) -> Result<(), String> {
        compio::runtime::Runtime::try_with_current(|rt| rt.spawn(fut).detach())
            .map_err(|_| "compio spawn called outside a compio runtime".to_string())
    }

    const INFO: EngineInfo = EngineInfo {
        name: "compio",
        runtime: "compio",
        summary: "compio 0.19 io_uring driver: openat/read/write/fsync/close/mkdirat/statx on the ring",
        model: Model::ThreadPerCore,
        caps: Caps {
            io_uring: true,
            o_direct: true,
            concurrent_ops: true,
            // Dropping a submitted op's future pushes IORING_OP_ASYNC_CANCEL, and the op (with
            // its buffer) stays alive in the driver until its completion arrives (README).
            cancel_on_drop: true,
            does_io: true,
        },
        routes: COMPIO_ROUTES,
    };

    fn probe() -> Result<(), String> {
        ring_ready()?;
        // The runtime itself must come up too (memlock for the default-sized ring, eventfd).
        build_runtime(RuntimeConfig::default().ring_entries)
            .map(drop)
            .map_err(|e| format!("building a compio runtime failed: {e}"))
    }

    fn build(cfg: &RuntimeConfig) -> io::Result<Self> {
        Ok(CompioEngine {
            rt: build_runtime(cfg.ring_entries)?,
            entries: cfg.ring_entries,
        })
    }

    fn block_on<F: Future>(&mut self, fut: F) -> F::Output {
        self.rt.block_on(fut)
    }

    fn detail(&self) -> Option<String> {
        Some(format!(
            "driver={:?} ring_entries={} (polling fallback not compiled in)",
            self.rt.driver_type(),
            self.entries
        ))
    }

    async fn open(path: &Path, how: OpenHow) -> io::Result<Self::File> {
        let mut o = compio::fs::OpenOptions::new();
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
        let compio::BufResult(r, b) = file.read_at(CompioBuf(buf), pos).await;
        (r, b.0)
    }

    async fn write_at(file: &Self::File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        // `AsyncWriteAt` is implemented for `&File` (positional writes need no `&mut`).
        let mut f = file;
        let compio::BufResult(r, b) = f.write_at(CompioBuf(buf), pos).await;
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
        let mut b = compio::fs::DirBuilder::new();
        b.mode(mode);
        b.create(path).await
    }

    async fn metadata(path: &Path) -> io::Result<Meta> {
        use std::os::unix::fs::PermissionsExt;
        let m = compio::fs::symlink_metadata(path).await?;
        Ok(Meta {
            kind: kind_of(&m),
            len: m.len(),
            mode: m.permissions().mode() & 0o7777,
        })
    }

    async fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        // compio runs this with spawn_blocking: io_uring has no chmod.
        compio::fs::set_permissions(path, compio::fs::Permissions::from_mode(mode)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    workloads::conformance_tests!(crate::CompioEngine);

    /// `listen_local` binds with the runtime's own listener and `accept` takes one connection
    /// made by a plain std client.
    #[test]
    fn listener_accepts_a_client() {
        use workloads::{Engine, RuntimeConfig};
        if !workloads::conformance::available::<crate::CompioEngine>() {
            return;
        }
        let mut e = crate::CompioEngine::build(&RuntimeConfig::default()).unwrap();
        e.block_on(async {
            let (l, addr) = crate::CompioEngine::listen_local().unwrap();
            assert!(addr.ip().is_loopback() && addr.port() != 0);
            let client = std::net::TcpStream::connect(addr).unwrap();
            crate::CompioEngine::accept(&l).await.unwrap();
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
        if !workloads::conformance::available::<crate::CompioEngine>() {
            return;
        }
        let mut e = crate::CompioEngine::build(&RuntimeConfig::default()).unwrap();
        let step = Rc::new(Cell::new(0));
        let s = step.clone();
        e.block_on(async move {
            crate::CompioEngine::spawn(async move {
                s.set(1);
                crate::CompioEngine::sleep(std::time::Duration::from_millis(30)).await;
                s.set(2);
            })
            .unwrap();
            crate::CompioEngine::sleep(std::time::Duration::from_millis(5)).await;
        });
        assert_eq!(step.get(), 1, "the task ran and is waiting on its timer");
        e.block_on(crate::CompioEngine::sleep(
            std::time::Duration::from_millis(80),
        ));
        assert_eq!(step.get(), 2, "the task went on in a later block_on");
    }

    /// The buffer mapping compio relies on: a read fills the window from its start and the
    /// length follows; a write sends exactly the window's data.
    #[test]
    fn buffer_mapping() {
        let mut b = AlignedBuf::from_slice(b"abcdefgh");
        b.advance(3);
        let mut c = CompioBuf(b);
        assert_eq!(c.as_init(), b"defgh");
        assert_eq!(c.buf_capacity(), 5);
        assert_eq!(c.as_uninit().as_ptr().cast::<u8>(), c.0.as_ptr());
        let mut e = CompioBuf(AlignedBuf::new(16));
        assert_eq!(e.buf_len(), 0);
        assert_eq!(e.buf_capacity(), 16);
        // SAFETY: 4 <= capacity, and AlignedBuf bytes are always initialised.
        unsafe { e.advance_to(4) };
        assert_eq!(e.0.len(), 4);
    }

    /// Poll `fut` once from inside the runtime.
    async fn poll_once<F: Future + Unpin>(fut: &mut F) -> std::task::Poll<F::Output> {
        std::future::poll_fn(|cx| std::task::Poll::Ready(std::pin::Pin::new(&mut *fut).poll(cx)))
            .await
    }

    /// Return to compio's `block_on` loop once, which submits queued SQEs and reaps CQEs.
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

    /// Evidence for `caps.cancel_on_drop`: a read on an empty pipe is proven pending in the
    /// kernel, its future is dropped, and bytes written afterwards are still in the pipe —
    /// so the drop cancelled the kernel op (an op left running would have consumed them).
    #[test]
    fn dropped_read_is_cancelled_in_kernel() {
        use compio::io::AsyncRead;
        use std::os::fd::AsRawFd;
        if !workloads::conformance::available::<CompioEngine>() {
            return;
        }
        let mut e = CompioEngine::build(&RuntimeConfig::default()).unwrap();
        let (rx, tx) = e.block_on(async {
            let (rx, tx) = compio::fs::pipe::anonymous().await.unwrap();
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
        // Plain syscalls from here on, outside the runtime: nothing of compio's can read now.
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
        let n = unsafe { libc::read(rx.as_raw_fd(), got.as_mut_ptr().cast(), got.len()) };
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
        if !workloads::conformance::available::<CompioEngine>() {
            return;
        }
        let e = CompioEngine::build(&RuntimeConfig::default()).unwrap();
        assert!(e.rt.driver_type().is_iouring());
        assert!(e.detail().unwrap().contains("IoUring"));
    }
}
