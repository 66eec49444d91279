//! The `tokio` engine: what a typical tokio user's file I/O does today — every op a blocking
//! syscall on tokio's blocking thread pool.
//!
//! Opens and directory ops go through `tokio::fs` (which itself runs them on the pool).
//! `tokio::fs::File` has no positional read or write, and seek-then-read would serialise a
//! file's ops behind its internal buffer, so reads and writes are `spawn_blocking` of
//! `pread`/`pwrite` on a shared `std::fs::File` — the same syscalls `tokio::fs::File` issues,
//! without its extra copy through an internal buffer, and with up to `queue_depth` in flight.
//!
//! The runtime is current-thread (one per `--threads` share) and is built **without** io_uring,
//! even when the build has `--cfg tokio_unstable`: this engine stays the thread-pool baseline.
//!
//! [`TokioIoUringEngine`] (`tokio-io-uring`, in `io_uring.rs`) is the same `tokio::fs` API on
//! tokio's unstable io_uring backend.
//!
//! Both engines run `block_on` through a [`tokio::task::LocalSet`], the way a tokio user runs
//! `!Send` tasks on a current-thread runtime (`local.block_on(&rt, fut)`), so
//! [`Engine::spawn`] is `tokio::task::spawn_local`; and both make the **same** calls on
//! `tokio::fs::File` for stream ops (module [`stream`]), so the safety matrix compares tokio's
//! backends, not two adapters.
#![deny(missing_docs)]

mod io_uring;
pub use crate::io_uring::{TokioIoUringEngine, UringFile};

use std::io;
use std::path::Path;
use std::sync::Arc;

use workloads::{
    AlignedBuf, BufResult, Caps, DirEntry, Engine, EngineInfo, Meta, Model, OpenHow, Route, Routes,
    RuntimeConfig, blocking,
};

/// The tokio (blocking pool) engine.
#[derive(Debug)]
pub struct TokioEngine {
    // Declared before `rt`, so dropped first: the order of a user's `let rt = ..; let local =
    // LocalSet::new();` at the end of its scope. Spawned tasks live in `local` and stay there,
    // not polled, between two `block_on`s, until the engine is dropped.
    local: tokio::task::LocalSet,
    rt: tokio::runtime::Runtime,
}

/// Stream ops (pipes, sockets: the safety scenarios) of **both** tokio engines, written once
/// so that `tokio` and `tokio-io-uring` make exactly the same calls on `tokio::fs::File`, the
/// calls its documentation shows (`AsyncReadExt::read`, `AsyncWriteExt::write`, and `flush`
/// before dropping to close): the two engines then differ only where tokio's backends differ.
///
/// Both engines keep the `File` behind a `tokio::sync::Mutex`, because `File`'s `AsyncRead` /
/// `AsyncWrite` take `&mut self` while an engine op gets `&File` (tokio has no `impl AsyncRead
/// for &File`). `File` has one operation in flight by construction (its `State` is `Idle` or
/// `Busy`, fs/file.rs), so the mutex does not remove concurrency tokio has; but it does mean
/// that of N stream ops dropped "in flight" on one handle (cancel-storm), at most **one** is
/// an op of tokio's `File`; the others are futures waiting on this mutex, which a drop
/// simply removes from its queue.
pub mod stream {
    use std::io;

    use workloads::{AlignedBuf, BufResult};

    /// `AsyncReadExt::read` into the empty window of `buf`.
    pub async fn read(f: &mut tokio::fs::File, mut buf: AlignedBuf) -> BufResult<usize> {
        use tokio::io::AsyncReadExt;
        let r = f.read(buf.spare_mut()).await;
        if let Ok(n) = r {
            buf.set_len(n);
        }
        (r, buf)
    }

    /// `AsyncWriteExt::write` of the window's data, exactly as a tokio user calls it, with no
    /// flush: tokio's `File` acknowledges the bytes once they are copied into its own buffer
    /// and writes them on its blocking pool afterwards (fs/file.rs `poll_write`:
    /// `spawn_mandatory_blocking` then `Poll::Ready(Ok(n))`), so the safety matrix sees tokio's
    /// semantics, not a stricter adapter's.
    pub async fn write(f: &mut tokio::fs::File, buf: AlignedBuf) -> BufResult<usize> {
        use tokio::io::AsyncWriteExt;
        let r = f.write(buf.as_slice()).await;
        (r, buf)
    }

    /// Close the way tokio's docs say to close a `File` at once: `flush` (which waits for the
    /// op in flight, a read as well as a write: fs/file.rs `Inner::poll_flush`) and drop. Here
    /// the drop is a `close(2)` whose error is reported; if tokio still shares the descriptor
    /// (it cannot after a flush), dropping is all tokio allows.
    pub async fn close(mut f: tokio::fs::File) -> io::Result<()> {
        use tokio::io::AsyncWriteExt;
        f.flush().await?;
        match f.try_into_std() {
            Ok(f) => workloads::blocking::close(f),
            Err(_) => Ok(()),
        }
    }
}

const POOL: Routes = Routes {
    open: Route::Pool,
    read: Route::Pool,
    write: Route::Pool,
    sync: Route::Pool,
    close: Route::Pool,
    mkdir: Route::Pool,
    metadata: Route::Pool,
    set_mode: Route::Pool,
    read_dir: Route::Pool,
};

/// A file of the tokio engine: the std file its positional ops run on (on the blocking pool),
/// and, for a pipe or socket, a `tokio::fs::File` on a duplicate of its descriptor for stream
/// ops.
#[derive(Debug)]
pub struct TokioFile {
    std: Arc<std::fs::File>,
    stream: tokio::sync::Mutex<Option<tokio::fs::File>>,
}

impl TokioFile {
    fn tokio_file<'a>(
        &self,
        slot: &'a mut Option<tokio::fs::File>,
    ) -> io::Result<&'a mut tokio::fs::File> {
        if slot.is_none() {
            *slot = Some(tokio::fs::File::from_std(self.std.try_clone()?));
        }
        Ok(slot.as_mut().expect("just set"))
    }
}

/// Run `f` on the blocking pool; a panic there is re-raised here.
async fn pool<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

impl Engine for TokioEngine {
    type File = TokioFile;

    // tokio::fs::File has one op in flight at a time; the adapter queues the rest behind a lock.
    const STREAM_OPS_OVERLAP: bool = false;

    /// A std listener whose accepts run on tokio's blocking pool, like every other op of this
    /// engine — **not** `tokio::net::TcpListener`. tokio's sockets need the runtime's IO
    /// driver, and in tokio 1.54.1 enabling the IO driver *is* enabling io_uring
    /// (runtime/builder.rs:1975-1976, `enable_io_uring` only sets `enable_io = true`): with
    /// this workspace's `--cfg tokio_unstable` and the `io-uring` feature, `File` reads on a
    /// runtime with IO go to the ring (fs/file.rs:1077-1093), which would make this baseline
    /// a second `tokio-io-uring` in the safety matrix. tokio's own listener is measured by the
    /// `tokio-io-uring` engine: tokio has no ring form of any socket op (its ring ops are
    /// OPENAT, READ, WRITE, RENAMEAT, STATX: io/uring/*.rs), so that is the same `tokio::net`
    /// code a default tokio build runs.
    type Listener = Arc<std::net::TcpListener>;

    fn listen_local() -> std::io::Result<(Self::Listener, std::net::SocketAddr)> {
        let (l, a) = workloads::blocking::listen_local()?;
        Ok((Arc::new(l), a))
    }

    async fn accept(l: &Self::Listener) -> std::io::Result<()> {
        // A dropped future leaves the blocking accept running; it closes what it accepts.
        let l = Arc::clone(l);
        pool(move || blocking::accept(&l)).await
    }

    /// `tokio::task::spawn_local` on the engine's `LocalSet` (the future need not be `Send`).
    fn spawn<F: std::future::Future<Output = ()> + 'static>(fut: F) -> Result<(), String> {
        drop(tokio::task::spawn_local(fut));
        Ok(())
    }

    const INFO: EngineInfo = EngineInfo {
        name: "tokio",
        runtime: "tokio",
        summary: "tokio::fs + spawn_blocking pread/pwrite on the blocking pool (what most async code runs)",
        model: Model::AsyncWithPool,
        caps: Caps {
            io_uring: false,
            o_direct: true,
            concurrent_ops: true,
            cancel_on_drop: false,
            does_io: true,
        },
        routes: POOL,
    };

    fn build(cfg: &RuntimeConfig) -> io::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            // Enough pool threads for every op in flight, like a server would configure.
            .max_blocking_threads(cfg.queue_depth.max(1) * 2)
            .build()?;
        Ok(TokioEngine {
            local: tokio::task::LocalSet::new(),
            rt,
        })
    }

    fn block_on<F: std::future::Future>(&mut self, fut: F) -> F::Output {
        self.local.block_on(&self.rt, fut)
    }

    async fn open(path: &Path, how: OpenHow) -> io::Result<Self::File> {
        // What `tokio::fs::OpenOptions::open` does (one blocking `open` on the pool), plus an
        // `fstat` in the same pool call: a pipe or socket also gets its `tokio::fs::File` now,
        // so stream ops never open a descriptor later than the open that made the handle.
        let p = path.to_path_buf();
        let (std, stream) = pool(move || -> io::Result<_> {
            use std::os::unix::fs::FileTypeExt;
            let f = workloads::blocking::open(&p, how)?;
            let ft = f.metadata()?.file_type();
            let stream = if ft.is_fifo() || ft.is_socket() || ft.is_char_device() {
                Some(f.try_clone()?)
            } else {
                None
            };
            Ok((f, stream))
        })
        .await?;
        Ok(TokioFile {
            std: Arc::new(std),
            stream: tokio::sync::Mutex::new(stream.map(tokio::fs::File::from_std)),
        })
    }

    async fn read_at(file: &Self::File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let f = Arc::clone(&file.std);
        pool(move || workloads::blocking::pread(&f, buf, pos)).await
    }

    async fn write_at(file: &Self::File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let f = Arc::clone(&file.std);
        pool(move || workloads::blocking::pwrite(&f, buf, pos)).await
    }

    // Streams (pipes, sockets: the safety scenarios) go through `tokio::fs::File`'s own
    // AsyncRead/AsyncWrite, kept per file: that is what a tokio user reading a pipe runs, and
    // it keeps a dropped read's bytes for the next read instead of losing them. The calls are
    // module `stream`'s, shared with `tokio-io-uring`; the mutex is explained there.
    async fn read_stream(file: &Self::File, buf: AlignedBuf) -> BufResult<usize> {
        let mut g = file.stream.lock().await;
        match file.tokio_file(&mut g) {
            Ok(tf) => stream::read(tf, buf).await,
            Err(e) => (Err(e), buf),
        }
    }

    async fn write_stream(file: &Self::File, buf: AlignedBuf) -> BufResult<usize> {
        let mut g = file.stream.lock().await;
        match file.tokio_file(&mut g) {
            Ok(tf) => stream::write(tf, buf).await,
            Err(e) => (Err(e), buf),
        }
    }

    async fn sync(file: &Self::File) -> io::Result<()> {
        let f = Arc::clone(&file.std);
        pool(move || f.sync_all()).await
    }

    async fn close(file: Self::File) -> io::Result<()> {
        // The stream handle first, as `tokio-io-uring` closes its `File` (module `stream`).
        let streamed = match file.stream.into_inner() {
            Some(tf) => stream::close(tf).await,
            None => Ok(()),
        };
        // The workloads hold the only reference once their ops are done; if not, the last
        // clone closes it on drop.
        let closed = match Arc::try_unwrap(file.std) {
            Ok(f) => pool(move || workloads::blocking::close(f)).await,
            Err(_) => Ok(()),
        };
        streamed.and(closed)
    }

    async fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
        tokio::fs::DirBuilder::new().mode(mode).create(path).await
    }

    async fn metadata(path: &Path) -> io::Result<Meta> {
        tokio::fs::symlink_metadata(path)
            .await
            .map(|m| Meta::of(&m))
    }

    async fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        tokio::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).await
    }

    async fn read_dir(path: &Path) -> io::Result<Vec<DirEntry>> {
        let p = path.to_path_buf();
        pool(move || blocking::read_dir(&p)).await
    }
}

fn libc_o_direct() -> i32 {
    workloads::OpenHow::READ.direct(true).flags() & !workloads::OpenHow::READ.flags()
}

#[cfg(test)]
mod tests {
    workloads::conformance_tests!(crate::TokioEngine);
}
