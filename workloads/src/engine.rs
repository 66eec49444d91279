//! The `Engine` trait: the one seam where a runtime plugs into ringbench.
//!
//! Shaped after criterion's `AsyncExecutor` (a `block_on` with no `Send` bound, so
//! thread-per-core runtimes fit) and fio's `ioengine_ops` (a small required core, optional
//! hooks with defaults, and capability flags the harness reads instead of branching on names).
//!
//! Operations are associated functions, not methods: every runtime we adapt keeps its reactor
//! in a thread-local context entered by `block_on`, so an op needs no handle, and the futures
//! of one task can borrow files freely while `block_on` holds `&mut self`.
//!
//! Buffers are owned ([`AlignedBuf`]) and come back with every result, as io_uring requires.

use std::future::Future;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::AlignedBuf;

/// The result of an op that owned a buffer: the outcome, and the buffer handed back.
pub type BufResult<T> = (io::Result<T>, AlignedBuf);

/// How a file is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenHow {
    /// Read-only, read-write of an existing file, or write-only created (`O_CREAT`, no `O_TRUNC`: destinations are always
    /// fresh, and several threads may open the same destination for their own byte ranges).
    pub mode: OpenMode,
    /// Open with `O_DIRECT`.
    pub direct: bool,
    /// Permission bits for a created file.
    pub perm: u32,
}

impl OpenHow {
    /// Read-only, buffered.
    pub const READ: OpenHow = OpenHow {
        mode: OpenMode::Read,
        direct: false,
        perm: 0,
    };

    /// Create write-only with mode 0644, buffered.
    pub const CREATE: OpenHow = OpenHow {
        mode: OpenMode::Create,
        direct: false,
        perm: 0o644,
    };

    /// The same, with `O_DIRECT` set as given.
    pub fn direct(self, direct: bool) -> Self {
        OpenHow { direct, ..self }
    }

    /// The `open(2)` flags this stands for (without `O_CLOEXEC`, which every runtime adds).
    pub fn flags(&self) -> i32 {
        let mut f = match self.mode {
            OpenMode::Read => libc::O_RDONLY,
            OpenMode::Create => libc::O_WRONLY | libc::O_CREAT,
            OpenMode::ReadWrite => libc::O_RDWR,
        };
        if self.direct {
            f |= libc::O_DIRECT;
        }
        f
    }
}

/// Read or create.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpenMode {
    /// `O_RDONLY`.
    Read,
    /// `O_WRONLY | O_CREAT`.
    Create,
    /// `O_RDWR` of an existing file, no `O_CREAT` (the `open-race` safety scenario: an open
    /// the kernel completes at once, without a worker thread).
    ReadWrite,
}

/// What kind of directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (not followed).
    Symlink,
    /// Anything else (fifo, socket, device).
    Other,
}

impl FileKind {
    /// The kind of a `std` file type.
    pub fn of(ft: std::fs::FileType) -> FileKind {
        if ft.is_file() {
            FileKind::File
        } else if ft.is_dir() {
            FileKind::Dir
        } else if ft.is_symlink() {
            FileKind::Symlink
        } else {
            FileKind::Other
        }
    }
}

/// The metadata the tree workload needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// Entry kind.
    pub kind: FileKind,
    /// Size in bytes.
    pub len: u64,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
}

impl Meta {
    /// From `std` metadata (`lstat` semantics when obtained by `symlink_metadata`).
    pub fn of(m: &std::fs::Metadata) -> Meta {
        use std::os::unix::fs::PermissionsExt;
        Meta {
            kind: FileKind::of(m.file_type()),
            len: m.len(),
            mode: m.permissions().mode() & 0o7777,
        }
    }
}

/// One directory entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// File name within its directory.
    pub name: std::ffi::OsString,
    /// Entry kind (not following symlinks).
    pub kind: FileKind,
}

/// How an op reaches the kernel in a given engine: reported so an "io_uring" number is never
/// really a thread pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// Submitted to an io_uring ring.
    Ring,
    /// Run as a blocking syscall on a helper thread pool.
    Pool,
    /// Run as a blocking syscall on the runtime's own thread.
    Inline,
    /// Not performed at all (the null engine).
    Nothing,
}

/// The route of every op kind an engine implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Routes {
    /// `open`.
    pub open: Route,
    /// `read_at`.
    pub read: Route,
    /// `write_at`.
    pub write: Route,
    /// `sync` (fsync).
    pub sync: Route,
    /// `close`.
    pub close: Route,
    /// `mkdir`.
    pub mkdir: Route,
    /// `metadata` (statx).
    pub metadata: Route,
    /// `set_mode` (chmod).
    pub set_mode: Route,
    /// `read_dir` (getdents: no runtime has an async form).
    pub read_dir: Route,
}

impl Routes {
    /// Every op a blocking call on the calling thread (the std baseline).
    pub const INLINE: Routes = Routes {
        open: Route::Inline,
        read: Route::Inline,
        write: Route::Inline,
        sync: Route::Inline,
        close: Route::Inline,
        mkdir: Route::Inline,
        metadata: Route::Inline,
        set_mode: Route::Inline,
        read_dir: Route::Inline,
    };
}

/// How a runtime schedules work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Model {
    /// Plain blocking calls on the calling thread.
    Blocking,
    /// One single-threaded executor per thread, tasks never migrate.
    ThreadPerCore,
    /// An async executor whose file I/O runs on a blocking thread pool.
    AsyncWithPool,
    /// No real runtime (test support).
    Null,
    /// No runtime: a ring driven directly, the floor the runtimes' cost per op is measured
    /// against. A reference row, never a choice ("How to choose" leaves it out).
    Floor,
}

/// What the harness may ask of an engine instead of branching on its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Caps {
    /// Uses io_uring at all (so `probe` checks for it).
    pub io_uring: bool,
    /// Can open files with `O_DIRECT`.
    pub o_direct: bool,
    /// Ops of one task really overlap (a `queue_depth` above 1 means something).
    pub concurrent_ops: bool,
    /// Dropping an in-flight op's future cancels it in the kernel.
    pub cancel_on_drop: bool,
    /// Performs real I/O (false only for the null engine: its copies are not verified).
    pub does_io: bool,
}

/// Static description of an engine.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct EngineInfo {
    /// Stable id used on the command line and in results.
    pub name: &'static str,
    /// The runtime crate it adapts.
    pub runtime: &'static str,
    /// One line for `ringbench list`.
    pub summary: &'static str,
    /// Scheduling model.
    pub model: Model,
    /// Capability flags.
    pub caps: Caps,
    /// The route of each op.
    pub routes: Routes,
}

/// Runtime construction parameters, the same for every engine of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// Submission queue entries for ring-based runtimes.
    pub ring_entries: u32,
    /// Ops each task keeps in flight.
    pub queue_depth: usize,
    /// Block (buffer) size in bytes.
    pub block_size: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            ring_entries: 256,
            queue_depth: 8,
            block_size: 128 * 1024,
        }
    }
}

/// One runtime adapted to ringbench.
///
/// The required core is runtime construction, `block_on`, and five file ops. Directory ops
/// have blocking defaults run inline on the runtime thread; an engine with a native form
/// overrides them and says so in [`EngineInfo::routes`].
///
/// Contract for buffers: `read_at` reads at most `buf.capacity()` bytes into the window of an
/// **empty** buffer and returns the count with `buf.len()` set to it; `write_at` writes the
/// window's data `buf.as_slice()` and returns the count, leaving the buffer as it was. Short
/// transfers are normal; the generic loops resubmit the rest.
pub trait Engine: Sized + 'static {
    /// An open file.
    type File: 'static;

    /// A listening TCP socket of this runtime (the `accept-drop` safety scenario). Engines
    /// without a socket API of their own use `std::net::TcpListener` with
    /// [`blocking::listen_local`] and [`blocking::accept`].
    type Listener: 'static;

    /// Static description.
    const INFO: EngineInfo;

    /// Whether several stream ops ([`Engine::read_stream`], [`Engine::write_stream`]) on one
    /// handle really overlap. False where the runtime's stream type has one op in flight at a
    /// time by construction (tokio's `File`: the adapter queues the rest behind a lock), so
    /// the safety scenarios count only one of a burst as really in flight. Distinct from
    /// `caps.concurrent_ops`, which is about positional ops.
    const STREAM_OPS_OVERLAP: bool = true;

    /// Whether this engine can run on this machine; the reason if not. An io_uring engine
    /// starts with [`probe::io_uring`](crate::probe::io_uring), the one check of the sysctl and
    /// of `io_uring_setup(2)`, and adds its own (opcodes, registration, memlock).
    fn probe() -> Result<(), String> {
        Ok(())
    }

    /// Build a runtime on the calling thread.
    fn build(cfg: &RuntimeConfig) -> io::Result<Self>;

    /// Run a future to completion on this runtime. No `Send` bound.
    fn block_on<F: Future>(&mut self, fut: F) -> F::Output;

    /// What the runtime actually chose at build time, when it can choose (e.g. a driver).
    fn detail(&self) -> Option<String> {
        None
    }

    /// Open a file.
    fn open(path: &Path, how: OpenHow) -> impl Future<Output = io::Result<Self::File>>;

    /// Read at `pos` into the (empty) window of `buf`.
    fn read_at(
        file: &Self::File,
        buf: AlignedBuf,
        pos: u64,
    ) -> impl Future<Output = BufResult<usize>>;

    /// Write the window's data of `buf` at `pos`.
    fn write_at(
        file: &Self::File,
        buf: AlignedBuf,
        pos: u64,
    ) -> impl Future<Output = BufResult<usize>>;

    /// fsync the file.
    fn sync(file: &Self::File) -> impl Future<Output = io::Result<()>>;

    /// Close the file, reporting the close error if any.
    fn close(file: Self::File) -> impl Future<Output = io::Result<()>>;

    /// Read from a stream (a pipe, FIFO or socket: no offset) into the empty window of `buf`.
    /// Used by the safety scenarios, whose ops must be able to wait for data.
    ///
    /// The default is `read_at(file, buf, 0)`: io_uring ignores the offset of a non-seekable
    /// file, but `pread(2)` rejects it with `ESPIPE`, so engines whose `read_at` is `pread`
    /// override this with `read(2)`.
    fn read_stream(file: &Self::File, buf: AlignedBuf) -> impl Future<Output = BufResult<usize>> {
        Self::read_at(file, buf, 0)
    }

    /// Write the window's data of `buf` to a stream (no offset). Default: `write_at(file, buf,
    /// 0)`, with the same caveat as [`Engine::read_stream`].
    fn write_stream(file: &Self::File, buf: AlignedBuf) -> impl Future<Output = BufResult<usize>> {
        Self::write_at(file, buf, 0)
    }

    /// Let the runtime run for about `d` (a timer): the safety scenarios wait between polls
    /// with it, so the runtime gets turns to submit and reap.
    ///
    /// The default returns `Pending` and is woken from a helper thread when `d` has passed
    /// ([`crate::safety::timer`]), the way a completion from a kernel or a pool wakes a task,
    /// so the runtime parks in its driver meanwhile. It must never wake itself during `poll`:
    /// monoio's `block_on` and tokio's current-thread scheduler then re-poll at once and never
    /// submit or reap (see the timer module). A runtime whose wakers cannot be woken from
    /// another thread (monoio without its `sync` feature) overrides this with its own timer;
    /// any runtime may, where it has one.
    fn sleep(d: std::time::Duration) -> impl Future<Output = ()> {
        crate::safety::timer::sleep(d)
    }

    /// Spawn `fut` as a detached task on the runtime of the calling thread (called inside
    /// [`Engine::block_on`]), the way the runtime's users spawn tasks. The task must keep
    /// running after the `block_on` that spawned it returns, until it ends or the runtime is
    /// dropped. Used by the `shutdown-live-task` scenario; `Err` says why an engine cannot (the
    /// scenario is then skipped with that reason).
    fn spawn<F: Future<Output = ()> + 'static>(fut: F) -> Result<(), String> {
        drop(fut);
        Err(format!(
            "the {} engine has no task spawning",
            Self::INFO.name
        ))
    }

    /// Bind a listening TCP socket on `127.0.0.1` at a free port, with the runtime's own API
    /// (called inside [`Engine::block_on`]); returns it and its address.
    fn listen_local() -> io::Result<(Self::Listener, std::net::SocketAddr)>;

    /// Accept one connection on `l` and close the accepted socket at once (the way a server
    /// that drops a connection does). The `accept-drop` scenario drops this future after the
    /// connection arrived: a runtime that accepts it in the kernel but forgets the descriptor
    /// leaks it.
    fn accept(l: &Self::Listener) -> impl Future<Output = io::Result<()>>;

    /// Create a directory with `mode` (subject to the umask, as `mkdir(2)`).
    fn mkdir(path: &Path, mode: u32) -> impl Future<Output = io::Result<()>> {
        std::future::ready(blocking::mkdir(path, mode))
    }

    /// `lstat` a path.
    fn metadata(path: &Path) -> impl Future<Output = io::Result<Meta>> {
        std::future::ready(blocking::metadata(path))
    }

    /// Set permission bits of a path.
    fn set_mode(path: &Path, mode: u32) -> impl Future<Output = io::Result<()>> {
        std::future::ready(blocking::set_mode(path, mode))
    }

    /// List a directory (sorted by name, so every engine walks a tree in the same order).
    fn read_dir(path: &Path) -> impl Future<Output = io::Result<Vec<DirEntry>>> {
        std::future::ready(blocking::read_dir(path))
    }
}

/// The blocking fallback: every op as a plain syscall on the calling thread, over
/// `std::fs::File`. The trait's defaults for the directory ops, the `std` engine's whole
/// implementation, and what pool-based engines (tokio's file API, safer-ring's open and close)
/// run on their pool, so every engine that falls back opens and reads files the same way.
pub mod blocking {
    use super::{DirEntry, FileKind, Meta, OpenHow, OpenMode};
    use crate::{AlignedBuf, BufResult};
    use std::fs::File;
    use std::io;
    use std::os::unix::fs::FileExt;
    use std::path::Path;

    /// `open(2)` with `std`, mapping [`OpenHow`] to its flags.
    pub fn open(path: &Path, how: OpenHow) -> io::Result<File> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut o = std::fs::OpenOptions::new();
        match how.mode {
            OpenMode::Read => o.read(true),
            OpenMode::Create => o.write(true).create(true).mode(how.perm),
            OpenMode::ReadWrite => o.read(true).write(true),
        };
        if how.direct {
            o.custom_flags(libc::O_DIRECT);
        }
        o.open(path)
    }

    /// `pread(2)` into the empty window of `buf`.
    pub fn pread(file: &File, mut buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let r = file.read_at(buf.spare_mut(), pos);
        if let Ok(n) = r {
            buf.set_len(n);
        }
        (r, buf)
    }

    /// `pwrite(2)` of the window's data of `buf`.
    pub fn pwrite(file: &File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let r = file.write_at(buf.as_slice(), pos);
        (r, buf)
    }

    /// `read(2)` into the empty window of `buf`: for pipes and sockets, where `pread` fails
    /// with `ESPIPE` (the safety scenarios read pipes).
    pub fn read_stream(file: &File, mut buf: AlignedBuf) -> BufResult<usize> {
        use std::io::Read;
        let r = (&*file).read(buf.spare_mut());
        if let Ok(n) = r {
            buf.set_len(n);
        }
        (r, buf)
    }

    /// `write(2)` of the window's data of `buf` (pipes and sockets).
    pub fn write_stream(file: &File, buf: AlignedBuf) -> BufResult<usize> {
        use std::io::Write;
        let r = (&*file).write(buf.as_slice());
        (r, buf)
    }

    /// `close(2)` with its error reported (dropping a `File` ignores it).
    pub fn close(file: File) -> io::Result<()> {
        use std::os::fd::IntoRawFd;
        let fd = file.into_raw_fd();
        // SAFETY: we own `fd` (just taken from the File) and close it exactly once.
        if unsafe { libc::close(fd) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// `mkdir(2)` with a mode.
    pub fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().mode(mode).create(path)
    }

    /// `lstat(2)`.
    pub fn metadata(path: &Path) -> io::Result<Meta> {
        std::fs::symlink_metadata(path).map(|m| Meta::of(&m))
    }

    /// `chmod(2)`.
    pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }

    /// `bind(2)` + `listen(2)` on `127.0.0.1:0`: the listener of engines without a socket
    /// API, and its address.
    pub fn listen_local() -> io::Result<(std::net::TcpListener, std::net::SocketAddr)> {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        let a = l.local_addr()?;
        Ok((l, a))
    }

    /// A blocking `accept(2)`; the accepted socket is closed at once.
    pub fn accept(l: &std::net::TcpListener) -> io::Result<()> {
        l.accept().map(drop)
    }

    /// `getdents(2)`, sorted by name.
    pub fn read_dir(path: &Path) -> io::Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(path)? {
            let e = e?;
            out.push(DirEntry {
                name: e.file_name(),
                kind: FileKind::of(e.file_type()?),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}
