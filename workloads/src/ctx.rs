//! `Ctx`: the funnel every op of a workload goes through.
//!
//! One place counts ops and bytes, times each read and write into a histogram, and turns
//! short transfers into loops. Cancellation injection hooks in here too, so the workloads
//! stay free of measurement code.

use std::cell::RefCell;
use std::io;
use std::path::Path;
use std::time::Instant;

use crate::{AlignedBuf, BufResult, Engine, OpenHow, Stats};

/// Per-thread op funnel and counters. Not `Sync`: one per runtime thread.
#[derive(Default)]
pub struct Ctx {
    stats: RefCell<Stats>,
}

impl Ctx {
    /// A fresh context.
    pub fn new() -> Ctx {
        Ctx::default()
    }

    /// The counters so far.
    pub fn into_stats(self) -> Stats {
        self.stats.into_inner()
    }

    /// Count `n` header errors.
    pub fn header_errors(&self, n: u64) {
        self.stats.borrow_mut().header_errors += n;
    }

    fn other(&self) {
        self.stats.borrow_mut().other_ops += 1;
    }

    /// One timed, counted `read_at` into the empty window of `buf`.
    pub async fn read_at<E: Engine>(&self, f: &E::File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        debug_assert!(buf.is_empty(), "reads go into an empty window");
        let t = Instant::now();
        let (r, buf) = E::read_at(f, buf, pos).await;
        let ns = t.elapsed().as_nanos() as u64;
        let mut s = self.stats.borrow_mut();
        s.reads += 1;
        s.read_latency.record(ns);
        if let Ok(n) = r {
            s.bytes_read += n as u64;
        }
        (r, buf)
    }

    /// One timed, counted `write_at` of the window's data.
    pub async fn write_at<E: Engine>(&self, f: &E::File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let t = Instant::now();
        let (r, buf) = E::write_at(f, buf, pos).await;
        let ns = t.elapsed().as_nanos() as u64;
        let mut s = self.stats.borrow_mut();
        s.writes += 1;
        s.write_latency.record(ns);
        if let Ok(n) = r {
            s.bytes_written += n as u64;
        }
        (r, buf)
    }

    /// Read up to `len` bytes at `pos` into `buf` (reset first), looping over short reads.
    /// Returns fewer than `len` only at end of file. The buffer's window is the data read.
    pub async fn read_full<E: Engine>(
        &self,
        f: &E::File,
        mut buf: AlignedBuf,
        pos: u64,
        len: usize,
    ) -> BufResult<usize> {
        buf.reset(len);
        let mut done = 0usize;
        while done < len {
            let (r, b) = self.read_at::<E>(f, buf, pos + done as u64).await;
            buf = b;
            match r {
                Ok(0) => break,
                Ok(n) => {
                    done += n;
                    buf.advance(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    buf.rewind();
                    return (Err(e), buf);
                }
            }
        }
        buf.rewind();
        (Ok(done), buf)
    }

    /// Write all of the window's data at `pos`, looping over short writes. The window is
    /// restored afterwards.
    pub async fn write_all<E: Engine>(&self, f: &E::File, mut buf: AlignedBuf, pos: u64) -> BufResult<()> {
        let mut done = 0usize;
        let mut result = Ok(());
        while !buf.is_empty() {
            let (r, b) = self.write_at::<E>(f, buf, pos + done as u64).await;
            buf = b;
            match r {
                Ok(0) => {
                    result = Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0"));
                    break;
                }
                Ok(n) => {
                    done += n;
                    buf.advance(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        buf.rewind();
        (result, buf)
    }

    /// Counted `open`.
    pub async fn open<E: Engine>(&self, path: &Path, how: OpenHow) -> io::Result<E::File> {
        self.other();
        E::open(path, how)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("open {}: {e}", path.display())))
    }

    /// Counted `sync`.
    pub async fn sync<E: Engine>(&self, f: &E::File) -> io::Result<()> {
        self.other();
        E::sync(f).await
    }

    /// Counted `close`.
    pub async fn close<E: Engine>(&self, f: E::File) -> io::Result<()> {
        self.other();
        E::close(f).await
    }

    /// Counted `mkdir`.
    pub async fn mkdir<E: Engine>(&self, path: &Path, mode: u32) -> io::Result<()> {
        self.other();
        E::mkdir(path, mode).await
    }

    /// Counted `metadata`.
    pub async fn metadata<E: Engine>(&self, path: &Path) -> io::Result<crate::Meta> {
        self.other();
        E::metadata(path).await
    }

    /// Counted `set_mode`.
    pub async fn set_mode<E: Engine>(&self, path: &Path, mode: u32) -> io::Result<()> {
        self.other();
        E::set_mode(path, mode).await
    }

    /// Counted `read_dir`.
    pub async fn read_dir<E: Engine>(&self, path: &Path) -> io::Result<Vec<crate::DirEntry>> {
        self.other();
        E::read_dir(path).await
    }
}
