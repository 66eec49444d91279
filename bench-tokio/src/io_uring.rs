//! The `tokio-io-uring` engine: the plain `tokio::fs` API on a runtime built with tokio's
//! experimental io_uring backend (`--cfg tokio_unstable`, cargo feature `io-uring`,
//! `Builder::enable_io_uring`).
//!
//! What tokio 1.54.1 actually submits to its ring (read from its source, `src/fs/*.rs`):
//! `OpenOptions::open` (OPENAT), `File`'s `AsyncRead` (READ at the file's *current position*,
//! into `File`'s internal buffer), `fs::read`, `fs::write`, `fs::rename` and `fs::try_exists`
//! (STATX). Everything else stays on the blocking pool exactly as without io_uring: `File`'s
//! writes and seeks, `sync_all`, metadata, chmod, mkdir, read_dir. Close is the `File`'s drop:
//! an inline `close(2)` on the thread that drops the last handle.
//!
//! tokio has no positional read or write on `File`, so `read_at`/`write_at` are what a tokio
//! user would write: seek (pool) when the file position is not already at `pos`, then `read`
//! (ring) or `write` (pool; acknowledged once copied into `File`'s buffer, as for any tokio
//! user, and waited for by the file's next op or its close). A file's ops are serialised behind an async mutex —
//! `tokio::fs::File` has one operation in flight at a time by construction — so `queue_depth`
//! only overlaps ops of *different* files. Data is copied once between tokio's internal buffer
//! and the caller's [`AlignedBuf`], as for every `tokio::fs::File` user. The position is tracked
//! here, so a sequential stream of reads needs no seek.
//!
//! `O_DIRECT` cannot work through this API: tokio's internal buffer is a plain `Vec<u8>` with
//! no alignment guarantee, so `caps.o_direct` is false.
//!
//! Without `--cfg tokio_unstable` the backend is compiled out of tokio; this engine still
//! compiles, and [`probe`](TokioIoUringEngine::probe) says why it cannot run.

use std::future::poll_fn;
use std::io::{self, SeekFrom};
use std::path::Path;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};
use workloads::{
    AlignedBuf, BufResult, Caps, DirEntry, Engine, EngineInfo, Meta, Model, OpenHow, OpenMode,
    Route, Routes, RuntimeConfig,
};

use crate::TokioEngine;

/// tokio's file API on tokio's own io_uring driver.
#[derive(Debug)]
pub struct TokioIoUringEngine {
    // Before `rt`, so dropped first, as in the `tokio` engine (see there).
    local: tokio::task::LocalSet,
    rt: tokio::runtime::Runtime,
}

/// An open file: tokio's `File` and the position this engine last left it at.
#[derive(Debug)]
pub struct UringFile {
    inner: tokio::sync::Mutex<Cursor>,
}

#[derive(Debug)]
struct Cursor {
    file: tokio::fs::File,
    /// The file position after the last op that completed; `None` when unknown (an op failed
    /// or its future was dropped mid-way, so `File` may still hold a pending op or stale data).
    pos: Option<u64>,
}

const ROUTES: Routes = Routes {
    open: Route::Ring,
    read: Route::Ring,
    write: Route::Pool,
    sync: Route::Pool,
    close: Route::Inline,
    mkdir: Route::Pool,
    metadata: Route::Pool,
    set_mode: Route::Pool,
    read_dir: Route::Pool,
};

/// Position `file` at `pos` unless it is known to be there already. When the state is unknown,
/// first let any op a dropped future left behind finish (tokio refuses to seek while one is
/// pending); the seek then also discards whatever that op left in tokio's buffer.
async fn position(c: &mut Cursor, pos: u64) -> io::Result<()> {
    if c.pos == Some(pos) {
        return Ok(());
    }
    c.pos = None;
    let f = &mut c.file;
    poll_fn(|cx| Pin::new(&mut *f).poll_complete(cx)).await?;
    Pin::new(&mut *f).start_seek(SeekFrom::Start(pos))?;
    poll_fn(|cx| Pin::new(&mut *f).poll_complete(cx)).await?;
    c.pos = Some(pos);
    Ok(())
}

impl Engine for TokioIoUringEngine {
    type File = UringFile;

    // tokio::fs::File has one op in flight at a time; the adapter queues the rest behind a lock.
    const STREAM_OPS_OVERLAP: bool = false;

    /// tokio's own listener. tokio 1.54.1 has no io_uring form of any socket op (its ring ops
    /// are OPENAT, READ, WRITE, RENAMEAT and STATX, io/uring/*.rs; nothing under net/ touches
    /// the ring), so this is the epoll-readiness `tokio::net` of every tokio build: `accept(2)`
    /// runs only when the future is polled after a readiness event.
    type Listener = tokio::net::TcpListener;

    fn listen_local() -> std::io::Result<(Self::Listener, std::net::SocketAddr)> {
        // `TcpSocket` is tokio's synchronous bind + listen (`TcpListener::bind` is async).
        let s = tokio::net::TcpSocket::new_v4()?;
        s.bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let l = s.listen(1024)?;
        let a = l.local_addr()?;
        Ok((l, a))
    }

    async fn accept(l: &Self::Listener) -> std::io::Result<()> {
        l.accept().await.map(drop)
    }

    /// `tokio::task::spawn_local` on the engine's `LocalSet`, as in the `tokio` engine.
    fn spawn<F: std::future::Future<Output = ()> + 'static>(fut: F) -> Result<(), String> {
        drop(tokio::task::spawn_local(fut));
        Ok(())
    }

    const INFO: EngineInfo = EngineInfo {
        name: "tokio-io-uring",
        runtime: "tokio",
        summary: "tokio::fs on tokio's unstable io_uring backend: ring covers open and File reads \
                  (seek+read, via tokio's buffer); writes, seeks, fsync, dir ops on the pool",
        model: Model::AsyncWithPool,
        caps: Caps {
            io_uring: true,
            o_direct: false,
            concurrent_ops: false,
            cancel_on_drop: false,
            does_io: true,
        },
        routes: ROUTES,
    };

    fn probe() -> Result<(), String> {
        probe_impl()
    }

    fn build(cfg: &RuntimeConfig) -> io::Result<Self> {
        build_impl(cfg)
    }

    fn block_on<F: std::future::Future>(&mut self, fut: F) -> F::Output {
        self.local.block_on(&self.rt, fut)
    }

    fn detail(&self) -> Option<String> {
        Some("tokio sizes its own ring (256 entries); ring_entries is not applied".into())
    }

    async fn open(path: &Path, how: OpenHow) -> io::Result<UringFile> {
        let mut o = tokio::fs::OpenOptions::new();
        match how.mode {
            OpenMode::Read => o.read(true),
            OpenMode::Create => o.write(true).create(true).mode(how.perm),
            OpenMode::ReadWrite => o.read(true).write(true),
        };
        if how.direct {
            o.custom_flags(crate::libc_o_direct());
        }
        let file = o.open(path).await?;
        Ok(UringFile {
            inner: tokio::sync::Mutex::new(Cursor { file, pos: Some(0) }),
        })
    }

    async fn read_at(file: &UringFile, mut buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let mut c = file.inner.lock().await;
        if let Err(e) = position(&mut c, pos).await {
            return (Err(e), buf);
        }
        c.pos = None;
        let cap = buf.capacity();
        let f = &mut c.file;
        let r = poll_fn(|cx| {
            // tokio sizes its ring read from `remaining()`, then copies into this window.
            let mut rb = ReadBuf::new(&mut buf.spare_mut()[..cap]);
            Pin::new(&mut *f)
                .poll_read(cx, &mut rb)
                .map_ok(|()| rb.filled().len())
        })
        .await;
        if let Ok(n) = r {
            buf.set_len(n);
            c.pos = Some(pos + n as u64);
        }
        (r, buf)
    }

    async fn write_at(file: &UringFile, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let mut c = file.inner.lock().await;
        if let Err(e) = position(&mut c, pos).await {
            return (Err(e), buf);
        }
        c.pos = None;
        // `AsyncWriteExt::write`, as a tokio user writes (and as `write_stream`): `File` copies
        // the bytes into its buffer, returns, and writes them on the pool; the next op on this
        // file (or `close`'s flush) waits for that write and reports its error. No flush here:
        // it would make the write pending, and a dropped write_at a ghost write, where tokio's
        // own API acknowledges at once (`write-timeout-file`).
        let (r, buf) = crate::stream::write(&mut c.file, buf).await;
        if let Ok(n) = r {
            c.pos = Some(pos + n as u64);
        }
        (r, buf)
    }

    /// A read at the file's current position, never a seek: tokio's ring read passes offset
    /// `u64::MAX` ("use and advance the file position", fs/file.rs `uring_read`), which is what
    /// a pipe needs. The trait's default (`read_at(.., 0)`) would seek, and a pipe refuses that
    /// with `ESPIPE`. The call on `File` is [`crate::stream::read`], the same as the `tokio`
    /// engine's (the mutex, and what it means for cancel-storm, is explained there).
    async fn read_stream(file: &UringFile, buf: AlignedBuf) -> BufResult<usize> {
        let mut c = file.inner.lock().await;
        c.pos = None; // a stream has no position to track
        crate::stream::read(&mut c.file, buf).await
    }

    /// A write at the current position, never a seek: [`crate::stream::write`], the same
    /// `AsyncWriteExt::write` as the `tokio` engine's, with no flush — tokio 1.54.1 never
    /// routes a `File` write through the ring (fs/file.rs `poll_write` is
    /// `spawn_mandatory_blocking` whatever the driver; the ring WRITE op is only used by
    /// `fs::write`, fs/write.rs), so the two engines must behave the same here.
    async fn write_stream(file: &UringFile, buf: AlignedBuf) -> BufResult<usize> {
        let mut c = file.inner.lock().await;
        c.pos = None;
        crate::stream::write(&mut c.file, buf).await
    }

    async fn sync(file: &UringFile) -> io::Result<()> {
        file.inner.lock().await.file.sync_all().await
    }

    async fn close(file: UringFile) -> io::Result<()> {
        // `flush` (waits for a pending op), then close with the error reported: the same
        // calls as the `tokio` engine's close of its stream handle.
        crate::stream::close(file.inner.into_inner().file).await
    }

    // tokio 1.54 has no ring form of these: the same tokio::fs calls as the pool engine.
    async fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
        TokioEngine::mkdir(path, mode).await
    }

    async fn metadata(path: &Path) -> io::Result<Meta> {
        TokioEngine::metadata(path).await
    }

    async fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
        TokioEngine::set_mode(path, mode).await
    }

    async fn read_dir(path: &Path) -> io::Result<Vec<DirEntry>> {
        TokioEngine::read_dir(path).await
    }
}

#[cfg(tokio_unstable)]
fn build_impl(cfg: &RuntimeConfig) -> io::Result<TokioIoUringEngine> {
    let rt = tokio::runtime::Builder::new_current_thread()
        // The same pool size as the `tokio` engine: writes, seeks and fsync still run there.
        .max_blocking_threads(cfg.queue_depth.max(1) * 2)
        .enable_io_uring()
        .build()?;
    // tokio sets its ring up lazily, on the first op that wants it; do it here so ring setup
    // is not timed (every other ring engine sets up in `build`). Opening "/" takes the OPENAT
    // path, which probes and initialises the ring.
    rt.block_on(async { tokio::fs::File::open("/").await.map(drop) })?;
    Ok(TokioIoUringEngine {
        local: tokio::task::LocalSet::new(),
        rt,
    })
}

#[cfg(not(tokio_unstable))]
fn build_impl(_cfg: &RuntimeConfig) -> io::Result<TokioIoUringEngine> {
    Err(io::Error::new(io::ErrorKind::Unsupported, NO_CFG))
}

#[cfg(not(tokio_unstable))]
const NO_CFG: &str = "built without --cfg tokio_unstable, so tokio's io_uring backend is compiled out \
                      (RUSTFLAGS in the environment replace .cargo/config.toml's flags; add --cfg tokio_unstable)";

#[cfg(not(tokio_unstable))]
fn probe_impl() -> Result<(), String> {
    Err(NO_CFG.into())
}

/// tokio itself never reports a missing ring: on `ENOSYS` or `EPERM` it silently falls back to
/// the blocking pool, which would make this engine a mislabelled copy of `tokio`. So check up
/// front, the way tokio does (`io_uring_setup` + `IORING_REGISTER_PROBE`), for the opcodes this
/// engine relies on.
#[cfg(tokio_unstable)]
fn probe_impl() -> Result<(), String> {
    use ::io_uring::opcode;
    workloads::probe::io_uring()
        .map_err(|why| format!("{why}; tokio would fall back to its blocking pool silently"))?;
    let ring = ::io_uring::IoUring::new(8).map_err(|e| {
        format!(
            "{}; tokio would fall back to its blocking pool silently",
            workloads::probe::setup_error(&e)
        )
    })?;
    let mut probe = ::io_uring::Probe::new();
    ring.submitter()
        .register_probe(&mut probe)
        .map_err(|e| format!("IORING_REGISTER_PROBE failed ({e}); tokio would not use the ring"))?;
    for (code, name) in [
        (opcode::OpenAt::CODE, "OPENAT"),
        (opcode::Read::CODE, "READ"),
    ] {
        if !probe.is_supported(code) {
            return Err(format!(
                "kernel lacks io_uring {name}; tokio would run it on the pool"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    workloads::conformance_tests!(crate::TokioIoUringEngine);

    /// The claim behind `caps.o_direct = false`: reads through `tokio::fs::File` use tokio's
    /// unaligned internal buffer. Checked where O_DIRECT exists, so the flag stays honest if a
    /// later tokio aligns its buffer (this test then fails and the flag should flip).
    #[test]
    fn o_direct_reads_fail_through_tokio_file() {
        use workloads::conformance::{Scratch, available};
        use workloads::dataset::direct_supported;
        use workloads::{Engine, OpenHow};
        if !available::<crate::TokioIoUringEngine>() {
            return;
        }
        let dir = Scratch::new("tiu-direct");
        if !direct_supported(dir.path()) {
            workloads::conformance::skipped(
                "tokio-io-uring O_DIRECT read",
                &format!("O_DIRECT unsupported in {}", dir.path().display()),
            );
            return;
        }
        let path = dir.path().join("f");
        workloads::data::create_file(&path, 5, 1 << 20).unwrap();
        let mut rt = crate::TokioIoUringEngine::build(&Default::default()).unwrap();
        let r = rt.block_on(async {
            let f = crate::TokioIoUringEngine::open(&path, OpenHow::READ.direct(true))
                .await
                .unwrap();
            let (r, _) =
                crate::TokioIoUringEngine::read_at(&f, workloads::AlignedBuf::new(64 * 1024), 0)
                    .await;
            r
        });
        assert!(
            r.is_err(),
            "an O_DIRECT read through tokio's File succeeded ({r:?}): caps.o_direct may be true now"
        );
    }
}
