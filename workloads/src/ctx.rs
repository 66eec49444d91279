//! `Ctx`: the funnel every op of a workload goes through.
//!
//! One place counts ops and bytes, times each read and write into a histogram, and turns
//! short transfers into loops. Cancellation injection hooks in here too, so the workloads
//! stay free of measurement code.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::io;
use std::path::Path;
use std::task::Poll;
use std::time::Instant;

use crate::data::Rng;
use crate::{AlignedBuf, BufResult, Engine, OpenHow, Stats};

/// Per-thread op funnel and counters. Not `Sync`: one per runtime thread.
#[derive(Default)]
pub struct Ctx {
    stats: RefCell<Stats>,
    /// Cancellation injection: the share of reads and writes to cancel, and the seeded choice.
    inject: Option<RefCell<(f64, Rng)>>,
    /// Reads and writes started and not yet finished on this thread.
    in_flight: Cell<u64>,
}

/// Counts one read or write as outstanding while it lives; dropping it (the op finished, or
/// its future was dropped) counts it out.
struct InFlight<'a>(&'a Ctx);

impl<'a> InFlight<'a> {
    fn start(ctx: &'a Ctx) -> InFlight<'a> {
        let n = ctx.in_flight.get() + 1;
        ctx.in_flight.set(n);
        let mut s = ctx.stats.borrow_mut();
        s.max_in_flight = s.max_in_flight.max(n);
        InFlight(ctx)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.set(self.0.in_flight.get() - 1);
    }
}

impl Ctx {
    /// A fresh context.
    pub fn new() -> Ctx {
        Ctx::default()
    }

    /// A context that injects cancellation: a seeded share `rate` of reads and writes is first
    /// polled once and, if still pending, dropped and retried (see [`Ctx::read_at`]).
    pub fn with_cancel(rate: f64, seed: u64) -> Ctx {
        Ctx {
            stats: RefCell::new(Stats {
                read_latency: crate::Histogram::presized(),
                write_latency: crate::Histogram::presized(),
                ..Stats::default()
            }),
            inject: (rate > 0.0).then(|| RefCell::new((rate, Rng::new(seed, 0xCA9CE1)))),
            in_flight: Cell::new(0),
        }
    }

    fn cancel_now(&self) -> bool {
        self.inject.as_ref().is_some_and(|c| {
            let (rate, rng) = &mut *c.borrow_mut();
            rng.chance(*rate)
        })
    }

    /// Poll `fut` once; if it is still pending, drop it (cancelling the op in flight) and
    /// return `None`; if it completed, return its output (a vacuous cancel).
    async fn poll_once_or_drop<F: Future>(&self, fut: F) -> Option<F::Output> {
        let mut fut = Box::pin(fut);
        let first = poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
        let mut s = self.stats.borrow_mut();
        s.cancels_attempted += 1;
        match first {
            Poll::Ready(v) => {
                s.cancels_vacuous += 1;
                Some(v)
            }
            Poll::Pending => {
                s.cancels_in_flight += 1;
                drop(s);
                drop(fut);
                None
            }
        }
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
    ///
    /// With cancellation injection, a seeded share of calls first polls the op once: if it is
    /// still pending, its future (which owns `buf`) is dropped and the op is retried with a
    /// fresh copy of the buffer; if it completed, that result is used. The latency then
    /// includes the cancelled attempt: that is the cost being measured.
    pub async fn read_at<E: Engine>(
        &self,
        f: &E::File,
        mut buf: AlignedBuf,
        pos: u64,
    ) -> BufResult<usize> {
        debug_assert!(buf.is_empty(), "reads go into an empty window");
        let _counted = InFlight::start(self);
        let t = Instant::now();
        let (r, buf) = if self.cancel_now() {
            let spare = clone_buf(&mut buf);
            match self.poll_once_or_drop(E::read_at(f, buf, pos)).await {
                Some(out) => out,
                None => E::read_at(f, spare, pos).await,
            }
        } else {
            E::read_at(f, buf, pos).await
        };
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
    ///
    /// Cancellation injection works as in [`Ctx::read_at`].
    pub async fn write_at<E: Engine>(
        &self,
        f: &E::File,
        mut buf: AlignedBuf,
        pos: u64,
    ) -> BufResult<usize> {
        let _counted = InFlight::start(self);
        let t = Instant::now();
        let (r, buf) = if self.cancel_now() {
            let spare = clone_buf(&mut buf);
            match self.poll_once_or_drop(E::write_at(f, buf, pos)).await {
                Some(out) => out,
                None => E::write_at(f, spare, pos).await,
            }
        } else {
            E::write_at(f, buf, pos).await
        };
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
    pub async fn write_all<E: Engine>(
        &self,
        f: &E::File,
        mut buf: AlignedBuf,
        pos: u64,
    ) -> BufResult<()> {
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

/// A copy of `buf` — its whole allocation, and the same window and data marks — for retrying
/// an op whose future (owning `buf`) is about to be dropped. Only the injection path pays for
/// it. `buf` is left as it was.
fn clone_buf(buf: &mut AlignedBuf) -> AlignedBuf {
    // Recover the absolute marks through the public window API: the window's offsets relative
    // to `begin`, then with `begin` rewound to 0.
    let (w_len, w_cap) = (buf.len(), buf.capacity());
    buf.rewind();
    let (abs_len, abs_limit) = (buf.len(), buf.capacity());
    let begin = abs_len - w_len;
    debug_assert_eq!(abs_limit - begin, w_cap);
    let cap = buf.allocation();
    let mut copy = AlignedBuf::new(cap);
    copy.spare_mut()[..abs_len].copy_from_slice(buf.as_slice());
    // The bytes past the data matter too (the write workload reuses a prepared image).
    buf.set_limit(cap);
    copy.spare_mut()[abs_len..].copy_from_slice(buf.spare_mut());
    buf.set_limit(abs_limit);
    buf.advance(begin);
    copy.set_len(abs_len);
    copy.set_limit(abs_limit);
    copy.advance(begin);
    copy
}

#[cfg(test)]
mod tests {
    use super::clone_buf;
    use crate::AlignedBuf;

    #[test]
    fn clone_buf_copies_everything() {
        let mut b = AlignedBuf::new(64);
        b.reset(64);
        for (i, x) in b.spare_mut().iter_mut().enumerate() {
            *x = i as u8;
        }
        b.set_len(40);
        b.set_limit(50);
        b.advance(10); // window [10, 50), data [10, 40)
        let mut c = clone_buf(&mut b);
        for x in [&mut b, &mut c] {
            assert_eq!((x.len(), x.capacity(), x.allocation()), (30, 40, 64));
            assert_eq!(x.as_slice()[0], 10);
            x.rewind();
            assert_eq!(x.len(), 40);
            x.set_limit(64);
            let mut all = x.as_slice().to_vec();
            all.extend_from_slice(x.spare_mut());
            assert_eq!(all, (0..64).collect::<Vec<u8>>());
        }
    }
}
