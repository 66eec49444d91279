//! The `tokio-uring` engines: tokio-uring 0.5 adapted to [`workloads::Engine`].
//!
//! * [`TokioUringEngine`] (`tokio-uring`): the runtime as its users run it — one
//!   current-thread tokio-uring runtime per trial thread, owned buffers, every file op a native
//!   io_uring op (`OPENAT`, `READ`/`WRITE` at an offset, `FSYNC`, `CLOSE`, `STATX`, `MKDIRAT`).
//!   tokio-uring 0.5 has no chmod or getdents op (io_uring has none), so `set_mode` and
//!   `read_dir` are the trait's blocking defaults on the runtime thread.
//! * [`TokioUringFixedEngine`] (`tokio-uring-fixed`): the same, with reads and writes through
//!   buffers registered with the kernel (`READ_FIXED`/`WRITE_FIXED`). The [`AlignedBuf`] a
//!   workload hands over cannot itself be registered (see [`fixed`]), so this engine copies each
//!   block between it and a registered buffer: it measures "fixed buffers plus one memcpy".
//!
//! Cancellation: dropping an in-flight op's future does **not** cancel it in the kernel.
//! tokio-uring moves the op's data (buffer, fd clone) into the driver's slab as
//! `Lifecycle::Ignored` and frees it when the completion arrives; only dropping the runtime
//! submits `ASYNC_CANCEL` for what is still in flight, and waits for it. So a dropped op is
//! memory-safe but still runs to completion (a dropped read still consumes its bytes), and a
//! dropped open that completes leaks its descriptor (nothing wraps the CQE's fd).
#![deny(missing_docs)]

mod buf;
pub mod fixed;
mod probe;

use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use workloads::{
    AlignedBuf, BufResult, Caps, Engine, EngineInfo, FileKind, Meta, Model, OpenHow, OpenMode,
    Route, Routes, RuntimeConfig,
};

pub use buf::UringBuf;
pub use fixed::TokioUringFixedEngine;

/// The tokio-uring engine: owned buffers, native ops.
pub struct TokioUringEngine {
    rt: tokio_uring::Runtime,
}

impl std::fmt::Debug for TokioUringEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokioUringEngine").finish_non_exhaustive()
    }
}

/// Routes of both engines: everything tokio-uring has an op for goes through the ring.
const ROUTES: Routes = Routes {
    open: Route::Ring,
    read: Route::Ring,
    write: Route::Ring,
    sync: Route::Ring,
    close: Route::Ring,
    mkdir: Route::Ring,
    metadata: Route::Ring,
    // No io_uring opcode exists for these; the trait's blocking defaults run them.
    set_mode: Route::Inline,
    read_dir: Route::Inline,
};

/// Capabilities of both engines (see the crate docs for `cancel_on_drop`).
const CAPS: Caps = Caps {
    io_uring: true,
    o_direct: true,
    concurrent_ops: true,
    cancel_on_drop: false,
    does_io: true,
};

/// Build a tokio-uring runtime with the run's ring size.
fn runtime(cfg: &RuntimeConfig) -> io::Result<tokio_uring::Runtime> {
    let mut b = tokio_uring::builder();
    b.entries(cfg.ring_entries);
    tokio_uring::Runtime::new(&b)
}

/// Bind `127.0.0.1:0` with tokio-uring's own listener (`socket2` bind + `listen(1024)`, made
/// synchronously: tokio-uring has no bind op) and report the port the kernel chose.
fn listen_local() -> io::Result<(tokio_uring::net::TcpListener, std::net::SocketAddr)> {
    let l = tokio_uring::net::TcpListener::bind(std::net::SocketAddr::from((
        std::net::Ipv4Addr::LOCALHOST,
        0,
    )))?;
    let a = l.local_addr()?;
    Ok((l, a))
}

/// One `ACCEPT` op; the accepted `TcpStream` is dropped at once, which closes it with a
/// synchronous `close(2)` (`io/shared_fd.rs`, `Drop for Inner`).
async fn accept(l: &tokio_uring::net::TcpListener) -> io::Result<()> {
    l.accept().await.map(drop)
}

/// `tokio_uring::spawn` (tokio's `spawn_local` on the runtime's `LocalSet`), detached by
/// dropping its `JoinHandle`. The task stays in the `LocalSet` after `block_on` returns and is
/// polled again by the next `block_on`, or dropped with the runtime (`runtime/mod.rs`).
fn spawn<F: std::future::Future<Output = ()> + 'static>(fut: F) -> Result<(), String> {
    drop(tokio_uring::spawn(fut));
    Ok(())
}

/// Open through tokio-uring's `OpenOptions` (an `OPENAT` op; it adds `O_CLOEXEC` itself).
async fn open(path: &Path, how: OpenHow) -> io::Result<tokio_uring::fs::File> {
    let mut o = tokio_uring::fs::OpenOptions::new();
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

/// `mkdir` as an `MKDIRAT` op with the caller's mode (`fs::create_dir` would force 0o777).
async fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
    tokio_uring::fs::DirBuilder::new()
        .mode(mode)
        .create(path)
        .await
}

/// `lstat` as a `STATX` op (`AT_SYMLINK_NOFOLLOW`, only the fields we use).
async fn metadata(path: &Path) -> io::Result<Meta> {
    let st = tokio_uring::fs::StatxBuilder::new()
        .pathname(path)?
        .flags(libc::AT_SYMLINK_NOFOLLOW)
        .mask(libc::STATX_TYPE | libc::STATX_MODE | libc::STATX_SIZE)
        .statx()
        .await?;
    let mode = u32::from(st.stx_mode);
    let kind = match mode & libc::S_IFMT {
        libc::S_IFREG => FileKind::File,
        libc::S_IFDIR => FileKind::Dir,
        libc::S_IFLNK => FileKind::Symlink,
        _ => FileKind::Other,
    };
    Ok(Meta {
        kind,
        len: st.stx_size,
        mode: mode & 0o7777,
    })
}

impl Engine for TokioUringEngine {
    type File = tokio_uring::fs::File;

    type Listener = tokio_uring::net::TcpListener;

    fn listen_local() -> io::Result<(Self::Listener, std::net::SocketAddr)> {
        listen_local()
    }

    async fn accept(l: &Self::Listener) -> io::Result<()> {
        accept(l).await
    }

    fn spawn<F: std::future::Future<Output = ()> + 'static>(fut: F) -> Result<(), String> {
        spawn(fut)
    }

    const INFO: EngineInfo = EngineInfo {
        name: "tokio-uring",
        runtime: "tokio-uring",
        summary: "tokio-uring 0.5: current-thread runtime per thread, owned buffers, native open/read/write/fsync/close/statx/mkdir",
        model: Model::ThreadPerCore,
        caps: CAPS,
        routes: ROUTES,
    };

    fn probe() -> Result<(), String> {
        probe::check(false)
    }

    fn build(cfg: &RuntimeConfig) -> io::Result<Self> {
        Ok(TokioUringEngine { rt: runtime(cfg)? })
    }

    fn block_on<F: std::future::Future>(&mut self, fut: F) -> F::Output {
        self.rt.block_on(fut)
    }

    async fn open(path: &Path, how: OpenHow) -> io::Result<Self::File> {
        open(path, how).await
    }

    async fn read_at(file: &Self::File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        debug_assert!(buf.is_empty(), "reads go into an empty window");
        let (r, UringBuf(buf)) = file.read_at(UringBuf(buf), pos).await;
        (r, buf)
    }

    async fn write_at(file: &Self::File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let (r, UringBuf(buf)) = file.write_at(UringBuf(buf), pos).submit().await;
        (r, buf)
    }

    async fn sync(file: &Self::File) -> io::Result<()> {
        file.sync_all().await
    }

    async fn close(file: Self::File) -> io::Result<()> {
        // Waits until no op holds the fd any more, then submits a CLOSE op.
        file.close().await
    }

    async fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
        mkdir(path, mode).await
    }

    async fn metadata(path: &Path) -> io::Result<Meta> {
        metadata(path).await
    }
}

#[cfg(test)]
mod tests {
    workloads::conformance_tests!(crate::TokioUringEngine);

    use std::future::Future;
    use std::io::Write;
    use std::task::Poll;

    use workloads::conformance::available;
    use workloads::{AlignedBuf, Engine, RuntimeConfig};

    use crate::{TokioUringEngine, UringBuf};

    /// A pipe: (read end, write end).
    fn pipe() -> (std::fs::File, std::fs::File) {
        use std::os::fd::FromRawFd;
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two fds into the array.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both fds are fresh and owned by nobody else.
        unsafe {
            (
                std::fs::File::from_raw_fd(fds[0]),
                std::fs::File::from_raw_fd(fds[1]),
            )
        }
    }

    /// What `caps.cancel_on_drop` claims, checked: a read parked in the kernel on an empty pipe,
    /// whose future is then dropped, either is cancelled (a later read sees every byte) or
    /// still completes and takes its bytes with it.
    #[test]
    fn dropped_read_matches_cancel_on_drop_cap() {
        if !available::<TokioUringEngine>() {
            return;
        }
        let mut rt = TokioUringEngine::build(&RuntimeConfig::default()).unwrap();
        let seen = rt.block_on(async {
            let (r, mut w) = pipe();
            let r = tokio_uring::fs::File::from_std(r);
            let mut first = Box::pin(r.read_at(UringBuf(AlignedBuf::new(3)), 0));
            let polled =
                std::future::poll_fn(|cx| Poll::Ready(first.as_mut().poll(cx).is_pending())).await;
            assert!(polled, "a read on an empty pipe must be pending");
            // A NOP round trip enters the kernel, which submits the read too: now it is in flight.
            tokio_uring::no_op().await.unwrap();
            let polled =
                std::future::poll_fn(|cx| Poll::Ready(first.as_mut().poll(cx).is_pending())).await;
            assert!(polled, "the read must still be pending after submission");
            drop(first);
            w.write_all(b"abcdef").unwrap();
            drop(w);
            let mut got = Vec::new();
            loop {
                let (n, buf) = TokioUringEngine::read_at(&r, AlignedBuf::new(16), 0).await;
                if n.unwrap() == 0 {
                    break;
                }
                got.extend_from_slice(buf.as_slice());
            }
            TokioUringEngine::close(r).await.unwrap();
            got
        });
        let want: &[u8] = if TokioUringEngine::INFO.caps.cancel_on_drop {
            b"abcdef"
        } else {
            b"def"
        };
        assert_eq!(
            String::from_utf8_lossy(&seen),
            String::from_utf8_lossy(want)
        );
    }
}
