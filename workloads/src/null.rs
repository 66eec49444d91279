//! The null engine: no data I/O at all, to test and measure the harness itself (fio's `null`).
//!
//! Reads report the source file's size (taken once at open) without touching data, writes
//! report everything written. `SPIN_NS` makes every read and write busy-wait that long, which
//! gives a synthetic engine with a known per-op cost: the A/A and "20% slower" checks of the
//! statistics use it. Its copies are not verified (`caps.does_io` is false).

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::{
    AlignedBuf, BufResult, Caps, Engine, EngineInfo, Model, OpenHow, OpenMode, Route, Routes,
    RuntimeConfig,
};

/// A file of the null engine: only its length.
#[derive(Debug)]
pub struct NullFile {
    len: u64,
}

/// The null engine, with an optional busy-wait per read and write.
#[derive(Debug)]
pub struct NullEngine<const SPIN_NS: u64 = 0>;

const NOTHING: Routes = Routes {
    open: Route::Inline,
    read: Route::Nothing,
    write: Route::Nothing,
    sync: Route::Nothing,
    close: Route::Nothing,
    mkdir: Route::Nothing,
    metadata: Route::Inline,
    set_mode: Route::Nothing,
    read_dir: Route::Inline,
};

fn spin(ns: u64) {
    if ns > 0 {
        let until = Instant::now() + Duration::from_nanos(ns);
        while Instant::now() < until {
            std::hint::spin_loop();
        }
    }
}

impl<const SPIN_NS: u64> Engine for NullEngine<SPIN_NS> {
    type File = NullFile;

    // No I/O engine: never used by the safety scenarios (they need real I/O).
    type Listener = std::net::TcpListener;

    fn listen_local() -> std::io::Result<(Self::Listener, std::net::SocketAddr)> {
        crate::blocking::listen_local()
    }

    async fn accept(l: &Self::Listener) -> std::io::Result<()> {
        crate::blocking::accept(l)
    }

    const INFO: EngineInfo = EngineInfo {
        name: "null",
        runtime: "none",
        summary: "no I/O: measures the harness (test support)",
        model: Model::Null,
        caps: Caps {
            io_uring: false,
            o_direct: true,
            concurrent_ops: false,
            cancel_on_drop: false,
            does_io: false,
        },
        routes: NOTHING,
    };

    fn build(_cfg: &RuntimeConfig) -> io::Result<Self> {
        Ok(NullEngine)
    }

    fn block_on<F: std::future::Future>(&mut self, fut: F) -> F::Output {
        crate::exec::block_on_ready(fut)
    }

    async fn open(path: &Path, how: OpenHow) -> io::Result<NullFile> {
        let len = match how.mode {
            OpenMode::Read => std::fs::metadata(path)?.len(),
            OpenMode::Create => 0,
            OpenMode::ReadWrite => std::fs::metadata(path)?.len(),
        };
        Ok(NullFile { len })
    }

    async fn read_at(file: &NullFile, mut buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        spin(SPIN_NS);
        let n = file.len.saturating_sub(pos).min(buf.capacity() as u64) as usize;
        buf.set_len(n);
        (Ok(n), buf)
    }

    async fn write_at(_file: &NullFile, buf: AlignedBuf, _pos: u64) -> BufResult<usize> {
        spin(SPIN_NS);
        let n = buf.len();
        (Ok(n), buf)
    }

    async fn sync(_file: &NullFile) -> io::Result<()> {
        Ok(())
    }

    async fn close(_file: NullFile) -> io::Result<()> {
        Ok(())
    }

    // Nothing is created, so there is nothing to make or chmod; the source walk stays real.
    async fn mkdir(_path: &Path, _mode: u32) -> io::Result<()> {
        Ok(())
    }

    async fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
        Ok(())
    }
}
