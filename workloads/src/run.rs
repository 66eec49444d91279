//! The workloads, written once and generic over [`Engine`], and the harness that runs one
//! trial on `threads` runtimes.
//!
//! Each thread builds its own runtime and allocates its buffers before a barrier; the timed
//! section starts when every thread is past it and ends when the last one finishes; the
//! process's CPU usage is read at both edges (`rusage.rs`), so CPU per GB covers the same
//! span as the throughput. Inside a thread, one task keeps up to `queue_depth` ops in flight
//! in slots allocated once (`pipeline`), like fio's iodepth, or `files_in_flight` files with a
//! `FuturesUnordered`; buffers come from a pool allocated up front and are reused, so the
//! timed section allocates nothing per op.

use std::future::poll_fn;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::task::Poll;
use std::time::Instant;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use crate::data::{self, check_headers, stamp_headers};
use crate::{
    AlignedBuf, BufResult, CpuUsage, Ctx, Engine, FileKind, OpenHow, Outcome, Stats, TrialPlan,
    Workload,
};

/// Run `plan` on engine `E`: build `threads` runtimes, run the timed section, merge stats.
pub fn run_trial<E: Engine>(plan: &TrialPlan) -> io::Result<Outcome> {
    validate(plan)?;
    let fds_before = crate::safety::fds();
    let buffer_bytes_before = crate::alloc::live_buffer_bytes();
    let threads = plan.threads.max(1);
    let start_line = Barrier::new(threads + 1);
    let tree = TreeShare::default();
    let outs: Vec<io::Result<(Stats, Instant, Option<String>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (start_line, tree) = (&start_line, &tree);
                std::thread::Builder::new()
                    .name(format!("ringbench-{t}"))
                    .spawn_scoped(s, move || {
                        thread_main::<E>(plan, t, threads, start_line, tree)
                    })
                    .expect("spawn trial thread")
            })
            .collect();
        // Two waits: every thread has built its runtime and buffers at the first; the CPU
        // reading sits between them, so setup is outside it and the work has not begun.
        start_line.wait();
        *tree.cpu_start.lock().unwrap() = CpuUsage::now();
        start_line.wait();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    // The start instant is taken after the barrier by every thread; use the earliest end and
    // the latest finish relative to the common start.
    let start = tree.start.lock().unwrap().unwrap_or_else(Instant::now);
    let mut stats = Stats::default();
    let mut end = start;
    let mut detail = None;
    for o in outs {
        let (s, e, d) = o?;
        stats.merge(&s);
        end = end.max(e);
        detail = detail.or(d);
    }
    let (bytes, files) = match plan.workload {
        Workload::Write => (stats.bytes_written, 1),
        Workload::Read | Workload::Randread => (stats.bytes_read, 1),
        Workload::Large => (stats.bytes_read, 1),
        Workload::Small => (stats.bytes_read, plan.files as u64),
        Workload::Tree => (stats.bytes_read, *tree.files.lock().unwrap()),
    };
    let (fds_after, buffer_bytes_after) = (crate::safety::fds(), crate::alloc::live_buffer_bytes());
    let cancel = crate::CancelStats {
        rate: plan.cancel_rate,
        attempted: stats.cancels_attempted,
        landed_in_flight: stats.cancels_in_flight,
        vacuous: stats.cancels_vacuous,
        fds_before,
        fds_after,
        leaked_fds: (fds_after - fds_before).max(0),
        allocator: crate::alloc::installed(),
        buffer_bytes_before,
        buffer_bytes_after,
        leaked_buffer_bytes: (buffer_bytes_after - buffer_bytes_before).max(0),
    };
    let cpu_start = *tree.cpu_start.lock().unwrap();
    let cpu_end = *tree.cpu_end.lock().unwrap();
    Ok(Outcome {
        elapsed_ns: end.duration_since(start).as_nanos() as u64,
        bytes,
        files,
        stats,
        detail,
        cancel,
        cpu: cpu_start.zip(cpu_end).map(|(a, b)| b.since(a)),
    })
}

/// Reject plans the loops cannot honour.
fn validate(plan: &TrialPlan) -> io::Result<()> {
    let bad = |m: String| Err(io::Error::new(io::ErrorKind::InvalidInput, m));
    let rt = &plan.runtime;
    if rt.block_size == 0 || rt.queue_depth == 0 || plan.files_in_flight == 0 {
        return bad("block size, queue depth and files in flight must be positive".into());
    }
    if plan.direct && plan.workload.supports_direct() {
        let a = crate::ALIGN as u64;
        if !(rt.block_size as u64).is_multiple_of(a) || !plan.size.is_multiple_of(a) {
            return bad(format!(
                "--direct needs block size and size to be multiples of {a}"
            ));
        }
    }
    Ok(())
}

/// Shared state for phases that one thread does for all (the tree walk), and the start time.
#[derive(Default)]
struct TreeShare {
    start: Mutex<Option<Instant>>,
    jobs: Mutex<Option<Result<Arc<TreeJobs>, String>>>,
    ready: Condvar,
    remaining: AtomicUsize,
    files: Mutex<u64>,
    /// Threads still in their timed section; the last one out reads `cpu_end`.
    running: AtomicUsize,
    /// The process's CPU usage where the timed section starts (read between the two waits
    /// at the start line) and where its last thread finishes.
    cpu_start: Mutex<Option<CpuUsage>>,
    cpu_end: Mutex<Option<CpuUsage>>,
}

fn thread_main<E: Engine>(
    plan: &TrialPlan,
    t: usize,
    threads: usize,
    start_line: &Barrier,
    share: &TreeShare,
) -> io::Result<(Stats, Instant, Option<String>)> {
    let built = E::build(&plan.runtime);
    let bufs = match plan.workload {
        Workload::Small | Workload::Tree => plan.files_in_flight,
        _ => plan.runtime.queue_depth,
    };
    let mut pool: Vec<AlignedBuf> = (0..bufs)
        .map(|_| AlignedBuf::new(plan.runtime.block_size))
        .collect();
    if plan.workload == Workload::Write {
        // The write image: one block of content, restamped per offset in the timed section.
        for b in &mut pool {
            data::fill(plan.seed, 0, b.spare_mut());
        }
    }
    // Before the start line: its histograms are allocated here, not in the timed section.
    let ctx = Ctx::with_cancel(plan.cancel_rate, data::mix(plan.seed ^ t as u64));
    if t == 0 {
        share.remaining.store(threads, Ordering::SeqCst);
        share.running.store(threads, Ordering::SeqCst);
    }
    start_line.wait();
    start_line.wait();
    let start = Instant::now();
    {
        let mut s = share.start.lock().unwrap();
        *s = Some(s.map_or(start, |x: Instant| x.min(start)));
    }
    let mut rt = match built {
        Ok(rt) => rt,
        Err(e) => {
            if t == 0 && plan.workload == Workload::Tree {
                publish_jobs(share, Err(format!("runtime build failed: {e}")));
            }
            return Err(io::Error::new(
                e.kind(),
                format!("building the runtime: {e}"),
            ));
        }
    };
    let detail = rt.detail();
    let r = rt.block_on(work::<E>(&ctx, plan, t, threads, share, &mut pool));
    let end = Instant::now();
    // The last thread out closes the CPU window, before its runtime is torn down. A thread
    // that finished earlier may be dropping its runtime meanwhile: that falls inside the
    // wall-clock window too, so both figures cover the same span.
    if share.running.fetch_sub(1, Ordering::SeqCst) == 1 {
        *share.cpu_end.lock().unwrap() = CpuUsage::now();
    }
    drop(rt);
    r?;
    Ok((ctx.into_stats(), end, detail))
}

/// A seeded permutation of the blocks of a range: block `i` in file order maps to block
/// `p(i)`, each exactly once (fio's `randread` with its random map reads each block once per
/// pass too).
///
/// `p` walks cycles of a bijection on the next power of two (multiply by an odd number, add,
/// xor-shift: each step is invertible modulo 2^k) until it lands inside the range: no table,
/// so the timed section allocates nothing, and the expected walk is under two steps.
#[derive(Clone, Debug)]
pub struct Shuffle {
    range: Range<u64>,
    block: u64,
    blocks: u64,
    bits: u32,
    keys: [u64; 3],
}

impl Shuffle {
    /// The permutation of `range`'s blocks of `block` bytes for `seed`.
    pub fn new(range: Range<u64>, block: u64, seed: u64) -> Shuffle {
        let blocks = (range.end - range.start).div_ceil(block);
        let bits = (64 - blocks.saturating_sub(1).leading_zeros()).max(1);
        Shuffle {
            range,
            block,
            blocks,
            bits,
            keys: [
                data::mix(seed) | 1,
                data::mix(seed ^ 0x5157),
                data::mix(seed ^ 0xA11CE) | 1,
            ],
        }
    }

    fn step(&self, mut x: u64) -> u64 {
        let mask = if self.bits == 64 {
            u64::MAX
        } else {
            (1 << self.bits) - 1
        };
        let half = self.bits.div_ceil(2);
        x = x.wrapping_mul(self.keys[0]) & mask;
        x = x.wrapping_add(self.keys[1]) & mask;
        x ^= x >> half;
        x = x.wrapping_mul(self.keys[2]) & mask;
        x ^ (x >> half)
    }

    /// Block index `i`'s permuted index.
    pub fn index(&self, i: u64) -> u64 {
        let mut x = self.step(i);
        while x >= self.blocks {
            x = self.step(x);
        }
        x
    }

    /// The offset and length read in place of the sequential block at `off`.
    pub fn at(&self, off: u64) -> (u64, usize) {
        let i = (off - self.range.start) / self.block;
        let start = self.range.start + self.index(i) * self.block;
        let len = (self.range.end - start).min(self.block) as usize;
        (start, len)
    }
}

/// The share of `[0, size)` that thread `t` of `n` copies: contiguous, block-aligned.
pub fn share_of(size: u64, block: u64, t: usize, n: usize) -> Range<u64> {
    let blocks = size.div_ceil(block);
    let per = blocks / n as u64;
    let extra = blocks % n as u64;
    let first = t as u64 * per + (t as u64).min(extra);
    let count = per + u64::from((t as u64) < extra);
    (first * block).min(size)..((first + count) * block).min(size)
}

async fn work<E: Engine>(
    ctx: &Ctx,
    plan: &TrialPlan,
    t: usize,
    threads: usize,
    share: &TreeShare,
    pool: &mut Vec<AlignedBuf>,
) -> io::Result<()> {
    let block = plan.runtime.block_size as u64;
    let range = share_of(plan.size, block, t, threads);
    let direct = plan.direct;
    match plan.workload {
        Workload::Large => {
            let src = ctx
                .open::<E>(&plan.src, OpenHow::READ.direct(direct))
                .await?;
            let dst = ctx
                .open::<E>(&plan.dst, OpenHow::CREATE.direct(direct))
                .await?;
            pipeline(pool, range, block, |buf, off, len| {
                copy_chunk::<E>(ctx, &src, &dst, buf, off, len)
            })
            .await?;
            finish_write::<E>(ctx, dst, plan.fsync).await?;
            ctx.close::<E>(src).await
        }
        Workload::Read => {
            let src = ctx
                .open::<E>(&plan.src, OpenHow::READ.direct(direct))
                .await?;
            let seed = plan.seed;
            pipeline(pool, range, block, |buf, off, len| {
                let src = &src;
                async move {
                    let (r, buf) = ctx.read_full::<E>(src, buf, off, len).await;
                    let r = r.and_then(|n| expect_len(n, len, off));
                    if r.is_ok() {
                        ctx.header_errors(check_headers(seed, off, buf.as_slice()));
                    }
                    (r, buf)
                }
            })
            .await?;
            ctx.close::<E>(src).await
        }
        Workload::Randread => {
            let src = ctx
                .open::<E>(&plan.src, OpenHow::READ.direct(direct))
                .await?;
            let seed = plan.seed;
            let order = Shuffle::new(range.clone(), block, seed ^ t as u64);
            // The pipeline hands out this thread's blocks in file order; each is read at its
            // place in the seeded permutation instead (same blocks, same lengths in total).
            pipeline(pool, range, block, |buf, off, _| {
                let src = &src;
                let (off, len) = order.at(off);
                async move {
                    let (r, buf) = ctx.read_full::<E>(src, buf, off, len).await;
                    let r = r.and_then(|n| expect_len(n, len, off));
                    if r.is_ok() {
                        ctx.header_errors(check_headers(seed, off, buf.as_slice()));
                    }
                    (r, buf)
                }
            })
            .await?;
            ctx.close::<E>(src).await
        }
        Workload::Write => {
            let dst = ctx
                .open::<E>(&plan.dst, OpenHow::CREATE.direct(direct))
                .await?;
            let seed = plan.seed;
            pipeline(pool, range, block, |mut buf, off, len| {
                let dst = &dst;
                async move {
                    buf.reset(len);
                    buf.set_len(len);
                    stamp_headers(seed, off, buf.as_mut_slice());
                    ctx.write_all::<E>(dst, buf, off).await
                }
            })
            .await?;
            finish_write::<E>(ctx, dst, plan.fsync).await
        }
        Workload::Small => {
            let jobs: Vec<FileJob> = (t..plan.files)
                .step_by(threads)
                .map(|i| FileJob {
                    src: plan.src.join(data::small_name(i)),
                    dst: plan.dst.join(data::small_name(i)),
                    mode: None,
                })
                .collect();
            copy_files::<E>(ctx, &jobs, pool, plan).await
        }
        Workload::Tree => {
            if t == 0 {
                let walked = walk::<E>(ctx, &plan.src, &plan.dst).await;
                publish_jobs(
                    share,
                    walked
                        .as_ref()
                        .map(|j| Arc::new(j.clone()))
                        .map_err(|e| e.to_string()),
                );
                walked?;
            }
            let jobs = {
                let mut g = share.jobs.lock().unwrap();
                while g.is_none() {
                    g = share.ready.wait(g).unwrap();
                }
                g.clone().unwrap()
            };
            let jobs = jobs.map_err(|e| io::Error::other(format!("tree walk failed: {e}")))?;
            if t == 0 {
                *share.files.lock().unwrap() = jobs.files.len() as u64;
            }
            let mine: Vec<FileJob> = jobs
                .files
                .iter()
                .skip(t)
                .step_by(threads)
                .cloned()
                .collect();
            let r = copy_files::<E>(ctx, &mine, pool, plan).await;
            // The last thread out applies directory modes, deepest first, so a read-only
            // directory is only made so once everything inside it exists.
            if share.remaining.fetch_sub(1, Ordering::SeqCst) == 1 {
                for (dir, mode) in jobs.dirs.iter().rev() {
                    ctx.set_mode::<E>(dir, *mode).await?;
                }
            }
            r
        }
    }
}

fn publish_jobs(share: &TreeShare, jobs: Result<Arc<TreeJobs>, String>) {
    *share.jobs.lock().unwrap() = Some(jobs);
    share.ready.notify_all();
}

fn expect_len(n: usize, len: usize, off: u64) -> io::Result<()> {
    if n == len {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("source ended early: {n} of {len} bytes at offset {off}"),
        ))
    }
}

async fn finish_write<E: Engine>(ctx: &Ctx, f: E::File, fsync: bool) -> io::Result<()> {
    if fsync {
        ctx.sync::<E>(&f).await?;
    }
    ctx.close::<E>(f).await
}

/// Keep up to `pool.len()` chunks of `range` in flight, each run by `chunk(buf, off, len)`.
///
/// The ops live in slots allocated once per trial and pinned in place: each op's future is
/// built into a free slot, polled there and dropped there, so the loop allocates nothing per
/// op. (It used a `FuturesUnordered`, which allocates a task per pushed future; with the null
/// engine that allocation, the task's reference counting and its ready queue were about half
/// of the harness's time per op.) Every occupied slot is polled when the task is woken —
/// O(queue depth) per wake, which at the depths benchmarked costs less than a ready queue's
/// atomics — with the runtime's own waker, so no waker is created per op either. New ops
/// are polled once (submitted) before the task yields, so a runtime still sees the whole
/// batch of submissions before it enters the kernel.
async fn pipeline<F, Fut>(
    pool: &mut Vec<AlignedBuf>,
    range: Range<u64>,
    block: u64,
    chunk: F,
) -> io::Result<()>
where
    F: Fn(AlignedBuf, u64, usize) -> Fut,
    Fut: std::future::Future<Output = BufResult<()>>,
{
    let n = pool.len();
    let mut slots: Pin<Box<[Option<Fut>]>> =
        Box::into_pin((0..n).map(|_| None).collect::<Box<[_]>>());
    let mut next = range.start;
    let mut first_err: Option<io::Error> = None;
    let mut live = 0usize;
    poll_fn(|cx| {
        loop {
            let mut progressed = false;
            for i in 0..n {
                // SAFETY: the slice is pinned and never moved; each element is only replaced
                // through `Pin::set`, which drops the old future in place (structural pinning).
                let mut slot = unsafe { slots.as_mut().map_unchecked_mut(|s| &mut s[i]) };
                if slot.is_none()
                    && first_err.is_none()
                    && next < range.end
                    && let Some(buf) = pool.pop()
                {
                    let len = (range.end - next).min(block) as usize;
                    slot.set(Some(chunk(buf, next, len)));
                    next += len as u64;
                    live += 1;
                }
                let done = match slot.as_mut().as_pin_mut() {
                    Some(op) => match op.poll(cx) {
                        Poll::Ready(out) => Some(out),
                        Poll::Pending => None,
                    },
                    None => None,
                };
                if let Some((r, buf)) = done {
                    slot.set(None);
                    live -= 1;
                    pool.push(buf);
                    if let Err(e) = r {
                        first_err.get_or_insert(e);
                    }
                    progressed = true;
                }
            }
            if live == 0 && (first_err.is_some() || next >= range.end) {
                return Poll::Ready(first_err.take().map_or(Ok(()), Err));
            }
            if !progressed {
                return Poll::Pending;
            }
        }
    })
    .await
}

async fn copy_chunk<E: Engine>(
    ctx: &Ctx,
    src: &E::File,
    dst: &E::File,
    buf: AlignedBuf,
    off: u64,
    len: usize,
) -> BufResult<()> {
    let (r, buf) = ctx.read_full::<E>(src, buf, off, len).await;
    if let Err(e) = r.and_then(|n| expect_len(n, len, off)) {
        return (Err(e), buf);
    }
    ctx.write_all::<E>(dst, buf, off).await
}

/// One file to copy: paths, and the mode to set afterwards (tree).
#[derive(Clone, Debug)]
struct FileJob {
    src: PathBuf,
    dst: PathBuf,
    mode: Option<u32>,
}

/// What the tree walk found: files to copy and directories whose modes to apply.
#[derive(Clone, Debug, Default)]
struct TreeJobs {
    files: Vec<FileJob>,
    dirs: Vec<(PathBuf, u32)>,
}

/// Walk the source tree depth-first (sorted), creating destination directories as it goes.
async fn walk<E: Engine>(ctx: &Ctx, src: &Path, dst: &Path) -> io::Result<TreeJobs> {
    let mut jobs = TreeJobs::default();
    let root_mode = ctx.metadata::<E>(src).await?.mode;
    ctx.mkdir::<E>(dst, 0o700).await?;
    jobs.dirs.push((dst.to_path_buf(), root_mode));
    let mut stack = vec![(src.to_path_buf(), dst.to_path_buf())];
    while let Some((s, d)) = stack.pop() {
        for e in ctx.read_dir::<E>(&s).await? {
            let (ps, pd) = (s.join(&e.name), d.join(&e.name));
            match e.kind {
                FileKind::Dir => {
                    let m = ctx.metadata::<E>(&ps).await?;
                    // Owner-only while we fill it; the real mode is applied at the end.
                    ctx.mkdir::<E>(&pd, 0o700).await?;
                    jobs.dirs.push((pd.clone(), m.mode));
                    stack.push((ps, pd));
                }
                FileKind::File => {
                    let m = ctx.metadata::<E>(&ps).await?;
                    jobs.files.push(FileJob {
                        src: ps,
                        dst: pd,
                        mode: Some(m.mode),
                    });
                }
                // The dataset has none; a real tree's links and devices are out of scope.
                FileKind::Symlink | FileKind::Other => {}
            }
        }
    }
    Ok(jobs)
}

/// Copy `jobs` with up to `pool.len()` files in flight.
async fn copy_files<E: Engine>(
    ctx: &Ctx,
    jobs: &[FileJob],
    pool: &mut Vec<AlignedBuf>,
    plan: &TrialPlan,
) -> io::Result<()> {
    let mut inflight = FuturesUnordered::new();
    let mut next = jobs.iter();
    let mut first_err = None;
    loop {
        while first_err.is_none() {
            if pool.is_empty() {
                break;
            }
            let Some(job) = next.next() else { break };
            let buf = pool.pop().expect("checked non-empty");
            inflight.push(copy_file::<E>(ctx, job, buf, plan));
        }
        match inflight.next().await {
            None => break,
            Some((r, buf)) => {
                pool.push(buf);
                if let Err(e) = r {
                    first_err.get_or_insert(e);
                }
            }
        }
    }
    first_err.map_or(Ok(()), Err)
}

/// Copy one file block by block (one op at a time: concurrency comes from files in flight).
async fn copy_file<E: Engine>(
    ctx: &Ctx,
    job: &FileJob,
    mut buf: AlignedBuf,
    plan: &TrialPlan,
) -> BufResult<()> {
    let block = plan.runtime.block_size;
    let src = match ctx.open::<E>(&job.src, OpenHow::READ).await {
        Ok(f) => f,
        Err(e) => return (Err(e), buf),
    };
    let dst = match ctx.open::<E>(&job.dst, OpenHow::CREATE).await {
        Ok(f) => f,
        Err(e) => return (Err(e), buf),
    };
    let mut off = 0u64;
    loop {
        let (r, b) = ctx.read_full::<E>(&src, buf, off, block).await;
        buf = b;
        let n = match r {
            Ok(n) => n,
            Err(e) => return (Err(e), buf),
        };
        if n == 0 {
            break;
        }
        let (r, b) = ctx.write_all::<E>(&dst, buf, off).await;
        buf = b;
        if let Err(e) = r {
            return (Err(e), buf);
        }
        off += n as u64;
        if n < block {
            break;
        }
    }
    let r = async {
        finish_write::<E>(ctx, dst, plan.fsync).await?;
        ctx.close::<E>(src).await?;
        if let Some(mode) = job.mode {
            ctx.set_mode::<E>(&job.dst, mode).await?;
        }
        Ok(())
    }
    .await;
    (r, buf)
}

#[cfg(test)]
mod tests {
    use super::{Shuffle, share_of};

    #[test]
    fn shuffle_reads_every_block_once_in_another_order() {
        for (range, block, seed) in [
            (0u64..1, 4096u64, 1u64),
            (0..4096, 4096, 2),
            (0..10 * 4096 + 5, 4096, 3),
            (8192..8192 + 1000 * 4096, 4096, 4),
            (0..(1 << 20), 512, 5),
        ] {
            let sh = Shuffle::new(range.clone(), block, seed);
            let mut seen: Vec<(u64, usize)> = (range.start..range.end)
                .step_by(block as usize)
                .map(|off| sh.at(off))
                .collect();
            let moved = seen
                .iter()
                .zip((range.start..range.end).step_by(block as usize))
                .filter(|((a, _), b)| a != b)
                .count();
            seen.sort_unstable();
            let expect: Vec<(u64, usize)> = (range.start..range.end)
                .step_by(block as usize)
                .map(|off| (off, (range.end - off).min(block) as usize))
                .collect();
            assert_eq!(seen, expect, "{range:?} {block}");
            if expect.len() > 8 {
                assert!(moved > expect.len() / 2, "{range:?}: only {moved} moved");
            }
        }
        // Another seed, another order.
        let (a, b) = (
            Shuffle::new(0..1 << 20, 4096, 1),
            Shuffle::new(0..1 << 20, 4096, 2),
        );
        assert!((0..256).any(|i| a.index(i) != b.index(i)));
    }

    #[test]
    fn shares_cover_exactly() {
        for (size, block, n) in [
            (10u64, 3u64, 2usize),
            (100, 7, 3),
            (0, 4, 2),
            (4096, 4096, 4),
            (1 << 20, 4096, 3),
        ] {
            let mut next = 0;
            for t in 0..n {
                let r = share_of(size, block, t, n);
                assert_eq!(r.start, next, "{size} {block} {n} {t}");
                assert!(r.start.is_multiple_of(block) || r.start == size);
                next = r.end;
            }
            assert_eq!(next, size);
        }
    }
}
