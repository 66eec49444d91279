//! The `glommio` engine: glommio 0.9's thread-per-core `LocalExecutor` (one per `--threads`
//! share, unbound to any CPU like every other engine's threads), with `DmaFile` for `--direct`
//! opens and `BufferedFile` otherwise — glommio's two file types, the first of which always
//! turns `O_DIRECT` on (`DmaFile::open_at` calls `fcntl(F_SETFL, O_DIRECT)` except on tmpfs).
//!
//! Ring ops: open (OPENAT, then a STATX glommio always does), positional read and write (READ /
//! WRITE, or READ_FIXED / WRITE_FIXED on `DmaFile` when glommio's `io_memory` got registered),
//! sync (FSYNC with `DATASYNC`: glommio has `fdatasync` only) and close. glommio has no usable
//! form of the directory ops — `Directory::create` forces mode 0o777 and hides `EEXIST`, and
//! its `stat` needs an open file and follows links — so they run on glommio's own blocking
//! thread (`executor().spawn_blocking`), where glommio runs its own mkdir, rename and unlink.
//!
//! **One copy per op.** glommio allocates the buffer of every read itself (`ReadResult`) and
//! takes ownership of a `DmaBuffer` (or a `Vec<u8>` for `BufferedFile`) for every write, with no
//! way to pass a caller's memory. So the bytes are copied from glommio's buffer into the
//! caller's [`AlignedBuf`] after a read, and from it into a fresh glommio buffer before a write.
//! Other engines transfer straight into `AlignedBuf`; this memcpy is part of what this engine
//! measures, and is what any glommio program that keeps its own buffers pays.
#![deny(missing_docs)]

use std::io;
use std::path::Path;

use glommio::io::{BufferedFile, DmaFile};
use glommio::{GlommioError, LocalExecutor, LocalExecutorBuilder, Placement};
use workloads::{
    AlignedBuf, BufResult, Caps, DirEntry, Engine, EngineInfo, Meta, Model, OpenHow, OpenMode,
    Route, Routes, RuntimeConfig, blocking,
};

/// glommio refuses to build an executor when `RLIMIT_MEMLOCK` is below this
/// (`sys::uring::Reactor::new`, `MIN_MEMLOCK_LIMIT`).
pub const GLOMMIO_MIN_MEMLOCK: u64 = 512 * 1024;

/// The glommio engine: one `LocalExecutor` on the calling thread.
pub struct GlommioEngine {
    ex: LocalExecutor,
    io_memory: usize,
    ring_depth: usize,
    registration: Registration,
}

impl std::fmt::Debug for GlommioEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlommioEngine")
            .field("io_memory", &self.io_memory)
            .field("ring_depth", &self.ring_depth)
            .field("registration", &self.registration)
            .finish_non_exhaustive()
    }
}

/// An open file: glommio's direct or buffered file type.
#[derive(Debug)]
pub enum GlommioFile {
    /// Opened with `--direct`: `O_DIRECT`, buffers from glommio's (registered) `io_memory`.
    Dma(DmaFile),
    /// Opened without `--direct`: page-cache I/O.
    Buffered(BufferedFile),
}

const ROUTES: Routes = Routes {
    open: Route::Ring,
    read: Route::Ring,
    write: Route::Ring,
    sync: Route::Ring,
    close: Route::Ring,
    mkdir: Route::Pool,
    metadata: Route::Pool,
    set_mode: Route::Pool,
    read_dir: Route::Pool,
};

/// A glommio error as `io::Error`, keeping the OS error (and so its kind) where there is one.
fn io_err(e: GlommioError<()>) -> io::Error {
    match e {
        GlommioError::IoError(e) => e,
        GlommioError::EnhancedIoError { source, .. } => source,
        other => other.into(),
    }
}

/// The `io_memory` to give each executor: room for every buffer this engine can have in flight
/// (one glommio buffer per op, `queue_depth` ops, each rounded up to a power of two by glommio's
/// buddy allocator), doubled for the allocator's own bookkeeping and for `files_in_flight`
/// above `queue_depth`. glommio's default is 10 MiB whatever the load; sizing it to the load
/// keeps what it registers small: glommio registers `io_memory` with each of its 3 rings, and
/// without `CAP_IPC_LOCK` the kernel charges every one of them to `RLIMIT_MEMLOCK` (measured
/// here: the default plan's 2 MiB registers for one executor under 8 MiB, not under 7000 KiB).
/// When registration fails glommio carries on with plain READ/WRITE ([`GlommioEngine`]'s
/// `detail` says which happened); when the pool runs out it falls back to heap buffers.
pub fn io_memory_for(cfg: &RuntimeConfig) -> usize {
    let per_op = cfg.block_size.max(4096).next_power_of_two();
    (2 * cfg.queue_depth.max(1) * per_op).max(64 * 1024)
}

/// The soft `RLIMIT_MEMLOCK` in bytes (`None` = unlimited).
fn memlock_limit() -> io::Result<Option<u64>> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut r) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((r.rlim_cur != libc::RLIM_INFINITY).then_some(r.rlim_cur))
}

/// The io_uring instances open in this process: fd number, and whether buffers are registered
/// with it (`UserBufs:` in its fdinfo).
pub fn rings() -> std::collections::BTreeMap<i32, bool> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(fd) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        if !std::fs::read_link(e.path()).is_ok_and(|t| t.as_os_str() == "anon_inode:[io_uring]") {
            continue;
        }
        let bufs = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("UserBufs:"))
                    .and_then(|v| v.trim().parse::<u64>().ok())
            });
        out.insert(fd, bufs.unwrap_or(0) > 0);
    }
    out
}

/// Whether glommio managed to register its `io_memory`, as seen in the rings it created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration {
    /// Rings this executor created.
    pub rings: usize,
    /// Of those, rings with the buffers registered.
    pub registered: usize,
}

/// Executors are built one at a time, so the rings that appear while one is built are its own
/// (a trial process runs one engine). Building is not timed, so this costs the measure nothing.
static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn build_executor(cfg: &RuntimeConfig) -> io::Result<GlommioEngine> {
    let io_memory = io_memory_for(cfg);
    let ring_depth = cfg.ring_entries.max(1) as usize;
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(|p| p.into_inner());
    let before = rings();
    let ex = LocalExecutorBuilder::new(Placement::Unbound)
        .name("ringbench-glommio")
        .ring_depth(ring_depth)
        .io_memory(io_memory)
        .make()
        .map_err(io_err)?;
    // glommio only logs (`log::warn!`) when registration fails, so look at the kernel's view.
    let new: Vec<bool> = rings()
        .into_iter()
        .filter(|(fd, _)| !before.contains_key(fd))
        .map(|(_, b)| b)
        .collect();
    let registration = Registration {
        rings: new.len(),
        registered: new.iter().filter(|&&b| b).count(),
    };
    Ok(GlommioEngine {
        ex,
        io_memory,
        ring_depth,
        registration,
    })
}

/// Run a blocking syscall on glommio's blocking thread.
async fn pool<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    glommio::executor().spawn_blocking(f).await
}

impl Engine for GlommioEngine {
    type File = GlommioFile;

    type Listener = glommio::net::TcpListener;

    /// glommio's own `TcpListener::bind` (socket2, `SO_REUSEPORT`, `listen(1024)`); it keeps a
    /// weak handle to the executor's reactor, so it must be called inside `block_on`.
    fn listen_local() -> io::Result<(Self::Listener, std::net::SocketAddr)> {
        let l = glommio::net::TcpListener::bind("127.0.0.1:0").map_err(io_err)?;
        let a = l.local_addr().map_err(io_err)?;
        Ok((l, a))
    }

    /// `TcpListener::accept`: a non-blocking `accept4` first, then an ACCEPT op on glommio's
    /// latency ring (`net/tcp_socket.rs`, `shared_accept`). The stream is dropped at once (a
    /// synchronous close of its std socket).
    async fn accept(l: &Self::Listener) -> io::Result<()> {
        l.accept().await.map(drop).map_err(io_err)
    }

    /// `glommio::spawn_local(..).detach()`: the task stays queued on this executor after
    /// `block_on` (`LocalExecutor::run`) returns.
    fn spawn<F: std::future::Future<Output = ()> + 'static>(fut: F) -> Result<(), String> {
        drop(glommio::spawn_local(fut).detach());
        Ok(())
    }

    const INFO: EngineInfo = EngineInfo {
        name: "glommio",
        runtime: "glommio",
        summary: "glommio thread-per-core, DmaFile (--direct) / BufferedFile; one memcpy per read and \
                  write (glommio owns its buffers); sync is fdatasync; dir ops on its blocking thread",
        model: Model::ThreadPerCore,
        caps: Caps {
            io_uring: true,
            o_direct: true,
            concurrent_ops: true,
            cancel_on_drop: true,
            does_io: true,
        },
        routes: ROUTES,
    };

    fn probe() -> Result<(), String> {
        workloads::probe::io_uring()?;
        match memlock_limit() {
            Ok(Some(l)) if l < GLOMMIO_MIN_MEMLOCK => {
                return Err(format!(
                    "RLIMIT_MEMLOCK is {} KiB and glommio 0.9 refuses to start below {} KiB; \
                     raise it with `ulimit -l unlimited` (or `ulimit -l 512` at least)",
                    l >> 10,
                    GLOMMIO_MIN_MEMLOCK >> 10
                ));
            }
            Ok(_) => {}
            Err(e) => return Err(format!("getrlimit(RLIMIT_MEMLOCK) failed: {e}")),
        }
        // Everything else (ring setup, glommio's opcode checks, seccomp) shows when building an
        // executor. On a scratch thread: glommio allows one executor per thread, and a panic
        // inside it becomes a reason instead of a crash. With the smallest io_memory: the kernel
        // releases a closed ring's memlock charge asynchronously, and a full-size probe executor
        // could still be charged when the real one registers its buffers.
        let cfg = RuntimeConfig {
            queue_depth: 1,
            block_size: 4096,
            ..RuntimeConfig::default()
        };
        match std::thread::Builder::new()
            .name("glommio-probe".into())
            .spawn(move || build_executor(&cfg).map(drop))
            .map_err(|e| format!("cannot spawn a probe thread: {e}"))?
            .join()
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("glommio cannot build an executor: {e}")),
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(format!("glommio panicked building an executor: {msg}"))
            }
        }
    }

    fn build(cfg: &RuntimeConfig) -> io::Result<Self> {
        build_executor(cfg)
    }

    fn block_on<F: std::future::Future>(&mut self, fut: F) -> F::Output {
        self.ex.run(fut)
    }

    fn detail(&self) -> Option<String> {
        let Registration { rings, registered } = self.registration;
        let what = if registered > 0 && registered == rings {
            "DmaFile I/O uses READ_FIXED/WRITE_FIXED".to_owned()
        } else {
            // glommio gives up on all rings when one registration fails.
            "DmaFile I/O uses plain READ/WRITE (RLIMIT_MEMLOCK too low for it without CAP_IPC_LOCK)"
                .to_owned()
        };
        Some(format!(
            "io_memory {} KiB, ring_depth {}, io_memory registered with {registered} of {rings} rings: {what}",
            self.io_memory >> 10,
            self.ring_depth,
        ))
    }

    /// glommio's own timer (a timeout on its ring). The trait's default, woken from a helper
    /// thread, would also reach glommio (it accepts foreign wakes), but through a cross-thread
    /// queue a glommio program never uses for sleeping.
    async fn sleep(d: std::time::Duration) {
        glommio::timer::sleep(d).await
    }

    async fn open(path: &Path, how: OpenHow) -> io::Result<GlommioFile> {
        let mut o = glommio::io::OpenOptions::new();
        match how.mode {
            OpenMode::Read => o.read(true),
            OpenMode::Create => o.write(true).create(true).mode(how.perm),
            OpenMode::ReadWrite => o.read(true).write(true),
        };
        if how.direct {
            // DmaFile would set O_DIRECT itself after opening; asking at open time makes an
            // unsupported filesystem fail here, as with every other engine.
            o.custom_flags(libc::O_DIRECT);
            o.dma_open(path).await.map(GlommioFile::Dma).map_err(io_err)
        } else {
            o.buffered_open(path)
                .await
                .map(GlommioFile::Buffered)
                .map_err(io_err)
        }
    }

    async fn read_at(file: &GlommioFile, mut buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let want = buf.capacity();
        if want == 0 {
            // glommio cannot allocate a zero-sized buffer (it panics).
            return (Ok(0), buf);
        }
        let r = match file {
            // `read_at` (not `read_at_aligned`) so a resumed short read at an unaligned offset
            // still works; on aligned offsets and sizes it reads exactly what was asked.
            GlommioFile::Dma(f) => f.read_at(pos, want).await,
            GlommioFile::Buffered(f) => f.read_at(pos, want).await,
        };
        match r {
            Ok(data) => {
                let n = data.len().min(want);
                buf.spare_mut()[..n].copy_from_slice(&data[..n]);
                buf.set_len(n);
                (Ok(n), buf)
            }
            Err(e) => (Err(io_err(e)), buf),
        }
    }

    async fn write_at(file: &GlommioFile, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let n = buf.len();
        if n == 0 {
            return (Ok(0), buf);
        }
        let r = match file {
            GlommioFile::Dma(f) => {
                let mut d = f.alloc_dma_buffer(n);
                d.as_bytes_mut().copy_from_slice(buf.as_slice());
                f.write_at(d, pos).await
            }
            GlommioFile::Buffered(f) => f.write_at(buf.as_slice().to_vec(), pos).await,
        };
        (r.map_err(io_err), buf)
    }

    async fn sync(file: &GlommioFile) -> io::Result<()> {
        match file {
            GlommioFile::Dma(f) => f.fdatasync().await,
            GlommioFile::Buffered(f) => f.fdatasync().await,
        }
        .map_err(io_err)
    }

    async fn close(file: GlommioFile) -> io::Result<()> {
        match file {
            GlommioFile::Dma(f) => f.close().await,
            GlommioFile::Buffered(f) => f.close().await,
        }
        .map_err(io_err)
    }

    async fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
        let p = path.to_path_buf();
        pool(move || blocking::mkdir(&p, mode)).await
    }

    async fn metadata(path: &Path) -> io::Result<Meta> {
        let p = path.to_path_buf();
        pool(move || blocking::metadata(&p)).await
    }

    async fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
        let p = path.to_path_buf();
        pool(move || blocking::set_mode(&p, mode)).await
    }

    async fn read_dir(path: &Path) -> io::Result<Vec<DirEntry>> {
        let p = path.to_path_buf();
        pool(move || blocking::read_dir(&p)).await
    }
}

#[cfg(test)]
mod tests {
    workloads::conformance_tests!(crate::GlommioEngine);

    #[test]
    fn io_memory_follows_the_load() {
        let cfg = workloads::RuntimeConfig::default();
        let m = super::io_memory_for(&cfg);
        assert!(
            m >= cfg.queue_depth * cfg.block_size,
            "room for every op in flight"
        );
        let bigger = workloads::RuntimeConfig {
            queue_depth: cfg.queue_depth * 4,
            ..cfg.clone()
        };
        assert!(super::io_memory_for(&bigger) > m);
        let tiny = workloads::RuntimeConfig {
            queue_depth: 1,
            block_size: 512,
            ..cfg
        };
        assert_eq!(
            super::io_memory_for(&tiny),
            64 * 1024,
            "glommio's own floor"
        );
    }
}
