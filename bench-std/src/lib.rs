//! The `std` engine: `std::fs::File` with positional `pread`/`pwrite` (`FileExt::read_at` /
//! `write_at`), every op a blocking syscall on the calling thread.
//!
//! This is the baseline every async runtime has to beat. Its ops complete inside `poll`, so
//! `queue_depth` has no effect (`caps.concurrent_ops` is false); its concurrency comes from
//! `--threads`, one OS thread per share of the work.
#![deny(missing_docs)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

use workloads::{
    AlignedBuf, BufResult, Caps, Engine, EngineInfo, Model, OpenHow, OpenMode, Routes,
    RuntimeConfig,
};

/// The std baseline engine.
#[derive(Debug)]
pub struct StdEngine;

/// Open with `std`, mapping [`OpenHow`] to `open(2)` flags; shared with the pool-based tokio
/// engine so both open files the same way.
pub fn open_std(path: &Path, how: OpenHow) -> io::Result<File> {
    let mut o = OpenOptions::new();
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

/// `pread` into the empty window of `buf`.
pub fn pread(file: &File, mut buf: AlignedBuf, pos: u64) -> BufResult<usize> {
    let r = file.read_at(buf.spare_mut(), pos);
    if let Ok(n) = r {
        buf.set_len(n);
    }
    (r, buf)
}

/// `pwrite` the window's data of `buf`.
pub fn pwrite(file: &File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
    let r = file.write_at(buf.as_slice(), pos);
    (r, buf)
}

/// `read(2)` into the empty window of `buf`: for pipes and sockets, where `pread` fails with
/// `ESPIPE` (the safety scenarios read pipes).
pub fn read_stream_std(file: &File, mut buf: AlignedBuf) -> BufResult<usize> {
    use std::io::Read;
    let r = (&*file).read(buf.spare_mut());
    if let Ok(n) = r {
        buf.set_len(n);
    }
    (r, buf)
}

/// `write(2)` of the window's data of `buf` (pipes and sockets).
pub fn write_stream_std(file: &File, buf: AlignedBuf) -> BufResult<usize> {
    use std::io::Write;
    let r = (&*file).write(buf.as_slice());
    (r, buf)
}

/// `close(2)` with its error reported (dropping a `File` ignores it).
pub fn close_std(file: File) -> io::Result<()> {
    use std::os::fd::IntoRawFd;
    let fd = file.into_raw_fd();
    // SAFETY: we own `fd` (just taken from the File) and close it exactly once.
    if unsafe { libc::close(fd) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl Engine for StdEngine {
    type File = File;

    // The std engine's model on purpose: std has no async sockets, so a blocking `accept(2)`
    // on the calling thread, like every std op. It returns only once a client has connected,
    // so there is never an accept in flight to drop (accept-drop: completed inside its poll).
    type Listener = std::net::TcpListener;

    fn listen_local() -> std::io::Result<(Self::Listener, std::net::SocketAddr)> {
        workloads::blocking::listen_local()
    }

    async fn accept(l: &Self::Listener) -> std::io::Result<()> {
        workloads::blocking::accept(l)
    }

    /// Unsupported: std has no tasks and no runtime for one to outlive.
    fn spawn<F: std::future::Future<Output = ()> + 'static>(fut: F) -> Result<(), String> {
        drop(fut);
        Err(
            "std has no tasks: every op is a blocking call on the calling thread, and there is \
             no runtime for a spawned task to outlive"
                .into(),
        )
    }

    const INFO: EngineInfo = EngineInfo {
        name: "std",
        runtime: "std",
        summary: "std::fs pread/pwrite on the calling thread (blocking baseline; threads via --threads)",
        model: Model::Blocking,
        caps: Caps {
            io_uring: false,
            o_direct: true,
            concurrent_ops: false,
            cancel_on_drop: false,
            does_io: true,
        },
        routes: Routes::INLINE,
    };

    fn build(_cfg: &RuntimeConfig) -> io::Result<Self> {
        Ok(StdEngine)
    }

    fn block_on<F: std::future::Future>(&mut self, fut: F) -> F::Output {
        workloads::exec::block_on_ready(fut)
    }

    async fn open(path: &Path, how: OpenHow) -> io::Result<File> {
        open_std(path, how)
    }

    async fn read_at(file: &File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        pread(file, buf, pos)
    }

    async fn write_at(file: &File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        pwrite(file, buf, pos)
    }

    async fn read_stream(file: &File, buf: AlignedBuf) -> BufResult<usize> {
        read_stream_std(file, buf)
    }

    async fn write_stream(file: &File, buf: AlignedBuf) -> BufResult<usize> {
        write_stream_std(file, buf)
    }

    async fn sync(file: &File) -> io::Result<()> {
        file.sync_all()
    }

    async fn close(file: File) -> io::Result<()> {
        close_std(file)
    }
}

#[cfg(test)]
mod tests {
    workloads::conformance_tests!(crate::StdEngine);
}
