//! The `std` engine: `std::fs::File` with positional `pread`/`pwrite` (`FileExt::read_at` /
//! `write_at`), every op a blocking syscall on the calling thread: `workloads::blocking`, the
//! fallback other engines share, with nothing added.
//!
//! This is the baseline every async runtime has to beat. Its ops complete inside `poll`, so
//! `queue_depth` has no effect (`caps.concurrent_ops` is false); its concurrency comes from
//! `--threads`, one OS thread per share of the work.
#![deny(missing_docs)]

use std::fs::File;
use std::io;
use std::path::Path;

use workloads::blocking::{close, open, pread, pwrite, read_stream, write_stream};
use workloads::{
    AlignedBuf, BufResult, Caps, Engine, EngineInfo, Model, OpenHow, Routes, RuntimeConfig,
};

/// The std baseline engine.
#[derive(Debug)]
pub struct StdEngine;

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
        open(path, how)
    }

    async fn read_at(file: &File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        pread(file, buf, pos)
    }

    async fn write_at(file: &File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        pwrite(file, buf, pos)
    }

    async fn read_stream(file: &File, buf: AlignedBuf) -> BufResult<usize> {
        read_stream(file, buf)
    }

    async fn write_stream(file: &File, buf: AlignedBuf) -> BufResult<usize> {
        write_stream(file, buf)
    }

    async fn sync(file: &File) -> io::Result<()> {
        file.sync_all()
    }

    async fn close(file: File) -> io::Result<()> {
        close(file)
    }
}

#[cfg(test)]
mod tests {
    workloads::conformance_tests!(crate::StdEngine);
}
