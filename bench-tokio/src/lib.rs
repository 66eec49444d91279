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
    rt: tokio::runtime::Runtime,
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

    // Placeholder: a blocking std listener (replace with the runtime's own socket API).
    type Listener = std::net::TcpListener;

    fn listen_local() -> std::io::Result<(Self::Listener, std::net::SocketAddr)> {
        workloads::blocking::listen_local()
    }

    async fn accept(l: &Self::Listener) -> std::io::Result<()> {
        workloads::blocking::accept(l)
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
        Ok(TokioEngine { rt })
    }

    fn block_on<F: std::future::Future>(&mut self, fut: F) -> F::Output {
        self.rt.block_on(fut)
    }

    async fn open(path: &Path, how: OpenHow) -> io::Result<Self::File> {
        // What `tokio::fs::OpenOptions::open` does (one blocking `open` on the pool), plus an
        // `fstat` in the same pool call: a pipe or socket also gets its `tokio::fs::File` now,
        // so stream ops never open a descriptor later than the open that made the handle.
        let p = path.to_path_buf();
        let (std, stream) = pool(move || -> io::Result<_> {
            use std::os::unix::fs::FileTypeExt;
            let f = bench_std::open_std(&p, how)?;
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
        pool(move || bench_std::pread(&f, buf, pos)).await
    }

    async fn write_at(file: &Self::File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let f = Arc::clone(&file.std);
        pool(move || bench_std::pwrite(&f, buf, pos)).await
    }

    // Streams (pipes, sockets: the safety scenarios) go through `tokio::fs::File`'s own
    // AsyncRead/AsyncWrite, kept per file: that is what a tokio user reading a pipe runs, and
    // it keeps a dropped read's bytes for the next read instead of losing them.
    async fn read_stream(file: &Self::File, mut buf: AlignedBuf) -> BufResult<usize> {
        use tokio::io::AsyncReadExt;
        let mut g = file.stream.lock().await;
        let tf = match file.tokio_file(&mut g) {
            Ok(t) => t,
            Err(e) => return (Err(e), buf),
        };
        let r = tf.read(buf.spare_mut()).await;
        if let Ok(n) = r {
            buf.set_len(n);
        }
        (r, buf)
    }

    async fn write_stream(file: &Self::File, buf: AlignedBuf) -> BufResult<usize> {
        use tokio::io::AsyncWriteExt;
        let mut g = file.stream.lock().await;
        let tf = match file.tokio_file(&mut g) {
            Ok(t) => t,
            Err(e) => return (Err(e), buf),
        };
        // `AsyncWriteExt::write` exactly as a tokio user calls it: tokio's File acknowledges
        // the bytes once they are in its own buffer and writes them on its pool afterwards, so
        // the safety matrix observes tokio's semantics, not a stricter adapter's.
        let r = tf.write(buf.as_slice()).await;
        (r, buf)
    }

    async fn sync(file: &Self::File) -> io::Result<()> {
        let f = Arc::clone(&file.std);
        pool(move || f.sync_all()).await
    }

    async fn close(file: Self::File) -> io::Result<()> {
        // The workloads hold the only reference once their ops are done; if not, the last
        // clone closes it on drop.
        drop(file.stream.into_inner());
        match Arc::try_unwrap(file.std) {
            Ok(f) => pool(move || bench_std::close_std(f)).await,
            Err(_) => Ok(()),
        }
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
