//! `io-uring-raw`: the floor the runtimes are measured against — the `io-uring` crate driven
//! directly, with no runtime in between.
//!
//! One ring per thread, one slot table, one submit-and-wait loop in `block_on`: an op future
//! pushes its SQE on first poll, `block_on` submits what was queued and waits in the kernel
//! for at least one completion, and each completion wakes its future. No task queue, no timer
//! wheel, no thread pool, no cross-thread wakeups: what is left of a runtime once everything
//! optional is taken away, so that `runtime − io-uring-raw` is each runtime's own cost per op
//! (as fio's `t/io_uring` is the floor for the kernel).
//!
//! It is **safe by construction**, unlike the `naive` control it shares the ring code's shape
//! with: a future dropped while its op is in the kernel hands its buffer (or path) to the slot,
//! which keeps it alive until the completion arrives, and submits `IORING_OP_ASYNC_CANCEL`; a
//! cancelled open or accept that completed anyway has its descriptor closed when the
//! completion is reaped. Dropping the runtime cancels everything still armed and waits for
//! every completion before the ring (and the kept buffers) go.
//!
//! What it does not do, on purpose: spawn tasks (the trait's default refuses, as std does), or
//! wake on anything but a completion of its own ring — a future waiting on another thread is
//! polled again at most a millisecond later (the same bound the naive control uses). That
//! bound is only paid when such a thread can exist (a clone of the waker lives outside the
//! ring's slots); otherwise `block_on` waits with a plain `submit_and_wait(1)`, no timer.
#![deny(missing_docs)]

use std::any::Any;
use std::cell::RefCell;
use std::ffi::CString;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use io_uring::{IoUring, opcode, squeue, types};
use workloads::{
    AlignedBuf, BufResult, Caps, Engine, EngineInfo, Model, OpenHow, Route, Routes, RuntimeConfig,
};

/// The floor engine (one ring on the calling thread).
#[derive(Debug)]
pub struct RawEngine {
    // The ring lives in a thread-local entered by the op futures; this handle removes it on
    // drop. Not `Send`: it belongs to this thread.
    _not_send: std::marker::PhantomData<*const ()>,
}

/// An open file: the descriptor, closed on drop if `close` was not called.
#[derive(Debug)]
pub struct RawFile {
    fd: OwnedFd,
}

impl AsRawFd for RawFile {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A listening socket: bound by std (io_uring's own `BIND`/`LISTEN` need kernel 6.11),
/// accepted from through the ring.
#[derive(Debug)]
pub struct RawListener {
    inner: TcpListener,
}

/// What an op's slot holds between submission and reaping.
enum Slot {
    /// Unused.
    Free,
    /// Submitted; its future waits (with the waker of its last poll).
    Waiting(Option<Waker>),
    /// Completed; the future has not seen the result yet.
    Done(i32),
    /// The future was dropped while the op was in the kernel: what the SQE points at is kept
    /// here until the completion arrives. `fd_result`: the result is a new descriptor (open,
    /// accept), closed on arrival since nobody will own it.
    Orphan {
        _keep: Box<dyn Any>,
        fd_result: bool,
    },
}

/// `user_data` of the cancel requests themselves: their completions are only counted.
const CANCEL: u64 = u64::MAX;

struct Ring {
    ring: IoUring,
    slots: Vec<Slot>,
    free: Vec<usize>,
    /// Ops in the kernel (futures alive or not) plus cancel requests not yet completed.
    in_kernel: usize,
}

thread_local! {
    static RING: RefCell<Option<Ring>> = const { RefCell::new(None) };
}

fn with_ring<T>(f: impl FnOnce(&mut Ring) -> T) -> Option<T> {
    RING.with(|r| r.borrow_mut().as_mut().map(f))
}

impl Ring {
    /// Push an SQE, flushing the queue to the kernel first if it is full.
    fn push(&mut self, sqe: &squeue::Entry) -> io::Result<()> {
        loop {
            // SAFETY: what the SQE points at is owned by the op's future until its completion,
            // or by its slot once the future is dropped (`Slot::Orphan`), so it outlives the
            // kernel's use.
            if unsafe { self.ring.submission().push(sqe) }.is_ok() {
                return Ok(());
            }
            match self.ring.submit() {
                Ok(_) => {}
                Err(e) if retryable(&e) => self.reap(),
                Err(e) => return Err(e),
            }
        }
    }

    /// Move completions into their slots and wake their futures; release what dropped ops
    /// kept alive.
    fn reap(&mut self) {
        // Orphans are dropped after the completion queue is released (their drop may close a
        // descriptor, which must not happen while `completion()` borrows the ring).
        let mut released: Vec<(Box<dyn Any>, Option<RawFd>)> = Vec::new();
        for cqe in self.ring.completion() {
            self.in_kernel -= 1;
            let id = cqe.user_data();
            if id == CANCEL {
                continue;
            }
            let id = id as usize;
            let res = cqe.result();
            match std::mem::replace(&mut self.slots[id], Slot::Free) {
                Slot::Waiting(w) => {
                    self.slots[id] = Slot::Done(res);
                    if let Some(w) = w {
                        w.wake();
                    }
                }
                Slot::Orphan { _keep, fd_result } => {
                    released.push((_keep, (fd_result && res >= 0).then_some(res)));
                    self.free.push(id);
                }
                Slot::Free | Slot::Done(_) => unreachable!("a completion for slot {id} twice"),
            }
        }
        for (keep, fd) in released {
            drop(keep);
            if let Some(fd) = fd {
                // SAFETY: the kernel made this descriptor for an op nobody waits for any more.
                drop(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }

    /// Submit what is queued and, when `wait`, wait until a completion arrives (at most
    /// `slice`, so a future woken from elsewhere is polled again).
    fn turn(&mut self, wait: bool, slice: Option<Duration>) {
        let r = match (wait, slice) {
            (false, _) => self.ring.submit(),
            (true, None) => self.ring.submit_and_wait(1),
            (true, Some(d)) => {
                let ts = types::Timespec::from(d);
                let args = types::SubmitArgs::new().timespec(&ts);
                self.ring.submitter().submit_with_args(1, &args)
            }
        };
        match r {
            Ok(_) => {}
            Err(e) if retryable(&e) || e.raw_os_error() == Some(libc::ETIME) => {}
            Err(e) => panic!("io_uring_enter failed: {e}"),
        }
        self.reap();
    }
}

fn retryable(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINTR) | Some(libc::EBUSY) | Some(libc::EAGAIN)
    )
}

/// The future of one ring op. It owns `keep` — everything the SQE points at — until the op
/// completes, and hands it to the slot if dropped before that.
struct Op<K: 'static> {
    sqe: Option<squeue::Entry>,
    keep: Option<K>,
    id: Option<usize>,
    /// The result is a new descriptor (open, accept).
    fd_result: bool,
}

impl<K: 'static> Op<K> {
    fn new(sqe: squeue::Entry, keep: K) -> Self {
        Op {
            sqe: Some(sqe),
            keep: Some(keep),
            id: None,
            fd_result: false,
        }
    }

    fn fd(mut self) -> Self {
        self.fd_result = true;
        self
    }
}

// The op never pins its fields in place: `keep`'s heap memory is what the kernel sees.
impl<K: 'static> Unpin for Op<K> {}

impl<K: 'static> Future for Op<K> {
    type Output = (io::Result<i32>, K);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(sqe) = this.sqe.take() {
            let r = with_ring(|r| {
                let id = match r.free.pop() {
                    Some(id) => id,
                    None => {
                        r.slots.push(Slot::Free);
                        r.slots.len() - 1
                    }
                };
                if let Err(e) = r.push(&sqe.user_data(id as u64)) {
                    r.free.push(id);
                    return Err(e);
                }
                r.in_kernel += 1;
                r.slots[id] = Slot::Waiting(Some(cx.waker().clone()));
                Ok(id)
            });
            return match r {
                Some(Ok(id)) => {
                    this.id = Some(id);
                    Poll::Pending
                }
                Some(Err(e)) => Poll::Ready((Err(e), this.keep.take().expect("kept"))),
                None => Poll::Ready((
                    Err(io::Error::other(
                        "io-uring-raw op polled outside its block_on",
                    )),
                    this.keep.take().expect("kept"),
                )),
            };
        }
        let id = this.id.expect("io-uring-raw op polled after completion");
        let done = with_ring(|r| match &mut r.slots[id] {
            Slot::Done(res) => {
                let res = *res;
                r.slots[id] = Slot::Free;
                r.free.push(id);
                Some(res)
            }
            Slot::Waiting(w) => {
                if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *w = Some(cx.waker().clone());
                }
                None
            }
            Slot::Free | Slot::Orphan { .. } => unreachable!("a live op's slot"),
        });
        match done {
            // No ring: the runtime was dropped, and it waited for this op's completion first;
            // the result went with it.
            None => {
                this.id = None;
                Poll::Ready((
                    Err(io::Error::other("io-uring-raw runtime dropped")),
                    this.keep.take().expect("kept"),
                ))
            }
            Some(None) => Poll::Pending,
            Some(Some(res)) => {
                this.id = None;
                let r = if res < 0 {
                    Err(io::Error::from_raw_os_error(-res))
                } else {
                    Ok(res)
                };
                Poll::Ready((r, this.keep.take().expect("kept")))
            }
        }
    }
}

impl<K: 'static> Drop for Op<K> {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        let keep: Box<dyn Any> = Box::new(self.keep.take());
        let fd_result = self.fd_result;
        // What a completed-but-unseen op returns is handed back outside the borrow: a new
        // descriptor is closed, the rest dropped.
        let settled = with_ring(|r| match std::mem::replace(&mut r.slots[id], Slot::Free) {
            Slot::Waiting(_) => {
                r.slots[id] = Slot::Orphan {
                    _keep: keep,
                    fd_result,
                };
                let cancel = opcode::AsyncCancel::new(id as u64)
                    .build()
                    .user_data(CANCEL);
                // A cancel that cannot be queued changes nothing: the op completes on its own
                // and its slot still keeps the memory until then.
                if r.push(&cancel).is_ok() {
                    r.in_kernel += 1;
                }
                None
            }
            Slot::Done(res) => {
                r.free.push(id);
                Some((keep, res))
            }
            Slot::Free | Slot::Orphan { .. } => unreachable!("a live op's slot"),
        });
        if let Some(Some((keep, res))) = settled {
            drop(keep);
            if fd_result && res >= 0 {
                // SAFETY: the kernel made this descriptor for this op, whose future is gone.
                drop(unsafe { OwnedFd::from_raw_fd(res) });
            }
        }
    }
}

const ROUTES: Routes = Routes {
    open: Route::Ring,
    read: Route::Ring,
    write: Route::Ring,
    sync: Route::Ring,
    close: Route::Ring,
    mkdir: Route::Inline,
    metadata: Route::Inline,
    set_mode: Route::Inline,
    read_dir: Route::Inline,
};

fn len32(n: usize) -> u32 {
    n.min(u32::MAX as usize) as u32
}

/// The longest `block_on` waits in the ring while its future may be waiting on something
/// else than the ring (nothing in the kernel, or a sleep): then it polls again.
const WAIT_SLICE: Duration = Duration::from_millis(1);

/// How long dropping the runtime waits for the completions of cancelled ops (a regular-file
/// read in an io-wq worker cannot be cancelled, but ends on its own).
const DRAIN_BOUND: Duration = Duration::from_secs(10);

/// Offset -1: "the file's current position", which io_uring uses for streams (pipes).
const STREAM: u64 = u64::MAX;

/// Wakes the thread of `block_on` (a wake from another thread: the ring's futures are only
/// woken from the reaping thread itself).
struct ThreadWaker {
    thread: Thread,
    /// Set by every wake, cleared by `block_on` before each poll: a wake that came (and whose
    /// waker clone was dropped) between the poll and the wait is seen, so the plain wait
    /// without a timer is never entered with a wake pending.
    woken: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// How many clones of `block_on`'s waker live outside the ring's slots (held by something
/// that may wake the future without a completion of this ring). `handle` and `waker` are
/// `block_on`'s own two references; a clone made on this thread cannot move to another thread
/// without first being counted here, so zero means only a completion can wake the future.
fn wakers_outside_ring(handle: &Arc<ThreadWaker>, waker: &Waker, slots: &[Slot]) -> usize {
    let in_slots = slots
        .iter()
        .filter(|s| matches!(s, Slot::Waiting(Some(w)) if w.will_wake(waker)))
        .count();
    Arc::strong_count(handle).saturating_sub(2 + in_slots)
}

impl Engine for RawEngine {
    type File = RawFile;
    type Listener = RawListener;

    const INFO: EngineInfo = EngineInfo {
        name: "io-uring-raw",
        runtime: "io-uring",
        summary: "FLOOR: the io-uring crate driven directly — one ring, one submit-and-wait loop, no runtime; buffers of dropped ops kept until their completion",
        model: Model::Floor,
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
        // A plain ring with the default opcodes is all the floor needs.
        workloads::probe::io_uring()
    }

    fn build(cfg: &RuntimeConfig) -> io::Result<Self> {
        let ring = IoUring::new(cfg.ring_entries.max(2))?;
        RING.with(|r| {
            let mut r = r.borrow_mut();
            if r.is_some() {
                return Err(io::Error::other("one io-uring-raw runtime per thread"));
            }
            *r = Some(Ring {
                ring,
                slots: Vec::with_capacity(cfg.queue_depth.max(1)),
                free: Vec::new(),
                in_kernel: 0,
            });
            Ok(())
        })?;
        Ok(RawEngine {
            _not_send: std::marker::PhantomData,
        })
    }

    fn block_on<F: Future>(&mut self, fut: F) -> F::Output {
        let handle = Arc::new(ThreadWaker {
            thread: std::thread::current(),
            woken: AtomicBool::new(false),
        });
        let waker = Waker::from(Arc::clone(&handle));
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        loop {
            handle.woken.store(false, Ordering::SeqCst);
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            let waiting = with_ring(|r| {
                // Wait in the kernel for a completion. The wait is bounded by a slice only
                // when a future may be waiting on something else than this ring (another
                // thread, whose wake cannot interrupt io_uring_enter): that is, when a clone
                // of the waker lives outside the ring's slots. Otherwise only a completion can
                // make progress and the wait is a plain `submit_and_wait(1)`, with no timer.
                //
                // Why not always the slice: a timed wait arms and cancels an hrtimer each time
                // the call has to sleep, and for ops the kernel punts to an io-wq worker (4 KiB
                // buffered writes on ext4, Linux 6.18: an `iou-wrk-*` thread serves them) it
                // sleeps on every op. On a 2-vCPU VM that alone cut 4 KiB qd1 buffered writes from
                // ~300k to ~100k ops/s (a C loop pinned to one CPU: ~370k vs ~130k), below
                // the runtimes this floor is meant to be under.
                let live = r.in_kernel > 0;
                let outside = wakers_outside_ring(&handle, &waker, &r.slots) > 0;
                // Counted after the count: a wake from a clone dropped since the poll.
                let woken = handle.woken.load(Ordering::SeqCst);
                let slice = (live && outside).then_some(WAIT_SLICE);
                // A pending wake: submit what is queued, do not wait.
                r.turn(live && !woken, slice);
                live
            })
            .expect("RawEngine::block_on without its ring");
            if !waiting {
                std::thread::park_timeout(WAIT_SLICE);
            }
        }
    }

    fn listen_local() -> io::Result<(RawListener, SocketAddr)> {
        let inner = TcpListener::bind("127.0.0.1:0")?;
        let addr = inner.local_addr()?;
        Ok((RawListener { inner }, addr))
    }

    async fn accept(l: &RawListener) -> io::Result<()> {
        let sqe = opcode::Accept::new(
            types::Fd(l.inner.as_raw_fd()),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
        .flags(libc::SOCK_CLOEXEC)
        .build();
        let (r, ()) = Op::new(sqe, ()).fd().await;
        // SAFETY: accept returned a new descriptor that nobody else owns; closed at once.
        drop(unsafe { OwnedFd::from_raw_fd(r?) });
        Ok(())
    }

    async fn open(path: &Path, how: OpenHow) -> io::Result<RawFile> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let sqe = opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), c.as_ptr())
            .flags(how.flags() | libc::O_CLOEXEC)
            .mode(how.perm)
            .build();
        // The path's heap memory moves with the CString into the op, unchanged.
        let (r, _c) = Op::new(sqe, c).fd().await;
        // SAFETY: openat returned a new descriptor that nobody else owns.
        Ok(RawFile {
            fd: unsafe { OwnedFd::from_raw_fd(r?) },
        })
    }

    async fn read_at(file: &RawFile, mut buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let sqe = opcode::Read::new(
            types::Fd(file.as_raw_fd()),
            buf.as_mut_ptr(),
            len32(buf.capacity()),
        )
        .offset(pos)
        .build();
        let (r, mut buf) = Op::new(sqe, buf).await;
        let r = r.map(|n| n as usize);
        if let Ok(n) = r {
            buf.set_len(n);
        }
        (r, buf)
    }

    async fn write_at(file: &RawFile, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let sqe = opcode::Write::new(types::Fd(file.as_raw_fd()), buf.as_ptr(), len32(buf.len()))
            .offset(pos)
            .build();
        let (r, buf) = Op::new(sqe, buf).await;
        (r.map(|n| n as usize), buf)
    }

    async fn read_stream(file: &RawFile, buf: AlignedBuf) -> BufResult<usize> {
        Self::read_at(file, buf, STREAM).await
    }

    async fn write_stream(file: &RawFile, buf: AlignedBuf) -> BufResult<usize> {
        Self::write_at(file, buf, STREAM).await
    }

    async fn sync(file: &RawFile) -> io::Result<()> {
        let sqe = opcode::Fsync::new(types::Fd(file.as_raw_fd())).build();
        Op::new(sqe, ()).await.0.map(drop)
    }

    async fn close(file: RawFile) -> io::Result<()> {
        let fd = file.fd.into_raw_fd();
        Op::new(opcode::Close::new(types::Fd(fd)).build(), ())
            .await
            .0
            .map(drop)
    }

    async fn sleep(d: Duration) {
        // A timeout op on the ring: the sleeping future is woken by a completion like every
        // other, so `block_on` never has to look elsewhere.
        let ts = Box::new(types::Timespec::from(d));
        let sqe = opcode::Timeout::new(&*ts as *const types::Timespec).build();
        // -ETIME is the timer firing; anything else ends the sleep as well.
        let _ = Op::new(sqe, ts).await;
    }
}

impl Drop for RawEngine {
    fn drop(&mut self) {
        let Some(mut ring) = RING.with(|r| r.borrow_mut().take()) else {
            return;
        };
        // Cancel everything still armed (futures alive or not), then wait for every completion
        // before the kept buffers and the ring go: nothing the kernel may still touch is freed.
        let armed: Vec<u64> = ring
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, Slot::Waiting(_) | Slot::Orphan { .. }))
            .map(|(id, _)| id as u64)
            .collect();
        for id in armed {
            let cancel = opcode::AsyncCancel::new(id).build().user_data(CANCEL);
            if ring.push(&cancel).is_ok() {
                ring.in_kernel += 1;
            }
        }
        let deadline = Instant::now() + DRAIN_BOUND;
        while ring.in_kernel > 0 && Instant::now() < deadline {
            ring.turn(true, Some(Duration::from_millis(10)));
        }
        if ring.in_kernel > 0 {
            // An op the kernel would not give back: keep its memory and the ring forever
            // rather than free what it may still write.
            eprintln!(
                "io-uring-raw: {} ops still in the kernel after {DRAIN_BOUND:?}; their buffers and the ring are leaked on purpose",
                ring.in_kernel
            );
            std::mem::forget(ring);
        }
    }
}

#[cfg(test)]
mod tests {
    //! The conformance suite, and what a dropped op leaves behind.

    use super::*;

    workloads::conformance_tests!(crate::RawEngine);

    /// A future woken from another thread while an op of the ring is in the kernel (a read of
    /// an empty pipe that never completes) is polled again: the waker clone held outside the
    /// ring makes `block_on` wait in slices, not until a completion.
    #[test]
    fn a_wake_from_another_thread_is_seen_while_an_op_is_in_the_kernel() {
        if RawEngine::probe().is_err() {
            eprintln!("SKIPPED: io_uring unavailable");
            return;
        }
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two descriptors into the array.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both are new descriptors owned here.
        let (r, _w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let mut rt = RawEngine::build(&RuntimeConfig::default()).unwrap();
        let file = RawFile { fd: r };
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let start = Instant::now();
        rt.block_on(async {
            let mut read = Box::pin(RawEngine::read_stream(&file, AlignedBuf::new(64)));
            let mut helper = None;
            std::future::poll_fn(|cx| {
                assert!(read.as_mut().poll(cx).is_pending(), "the pipe stays empty");
                if flag.load(std::sync::atomic::Ordering::SeqCst) {
                    return Poll::Ready(());
                }
                if helper.is_none() {
                    let (flag, waker) = (Arc::clone(&flag), cx.waker().clone());
                    helper = Some(std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_millis(20));
                        flag.store(true, std::sync::atomic::Ordering::SeqCst);
                        waker.wake();
                    }));
                }
                Poll::Pending
            })
            .await;
        });
        assert!(start.elapsed() < Duration::from_secs(5));
        drop(rt);
    }

    /// A wake whose waker clone is already gone when `block_on` decides how to wait (woken
    /// and dropped during the poll) is still seen: the future is polled again instead of
    /// `block_on` waiting, with no timer, for a completion that never comes (a read of an
    /// empty pipe). Run on a thread so that a regression fails here instead of hanging.
    #[test]
    fn a_wake_from_a_dropped_clone_is_not_lost() {
        if RawEngine::probe().is_err() {
            eprintln!("SKIPPED: io_uring unavailable");
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut fds = [0; 2];
            // SAFETY: pipe2 writes two descriptors into the array.
            assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
            // SAFETY: both are new descriptors owned here.
            let (r, _w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
            let mut rt = RawEngine::build(&RuntimeConfig::default()).unwrap();
            let file = RawFile { fd: r };
            let mut polls = 0;
            rt.block_on(async {
                let mut read = Box::pin(RawEngine::read_stream(&file, AlignedBuf::new(64)));
                std::future::poll_fn(|cx| {
                    assert!(read.as_mut().poll(cx).is_pending(), "the pipe stays empty");
                    polls += 1;
                    if polls == 2 {
                        return Poll::Ready(());
                    }
                    // Another thread wakes the future and drops its clone before this poll
                    // returns: by the time block_on looks, no clone is left outside the ring.
                    let w = cx.waker().clone();
                    std::thread::spawn(move || w.wake()).join().unwrap();
                    Poll::Pending
                })
                .await;
            });
            drop(rt);
            let _ = tx.send(());
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("block_on waited for a completion although a wake was pending");
    }

    /// With no waker clone outside the ring, `block_on` needs no slice.
    #[test]
    fn wakers_outside_the_ring_are_counted() {
        let handle = Arc::new(ThreadWaker {
            thread: std::thread::current(),
            woken: AtomicBool::new(false),
        });
        let waker = Waker::from(Arc::clone(&handle));
        let slots = vec![
            Slot::Waiting(Some(waker.clone())),
            Slot::Free,
            Slot::Done(0),
        ];
        assert_eq!(wakers_outside_ring(&handle, &waker, &slots), 0);
        let elsewhere = waker.clone();
        assert_eq!(wakers_outside_ring(&handle, &waker, &slots), 1);
        drop(elsewhere);
        assert_eq!(wakers_outside_ring(&handle, &waker, &slots), 0);
    }

    /// A read of an empty pipe, dropped in flight, is cancelled: its buffer outlives the
    /// future until the cancel's completion, nothing is consumed from the pipe afterwards, and
    /// the runtime drops cleanly.
    #[test]
    fn a_dropped_read_is_cancelled_and_its_buffer_kept_until_the_completion() {
        if RawEngine::probe().is_err() {
            eprintln!("SKIPPED: io_uring unavailable");
            return;
        }
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two descriptors into the array.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both are new descriptors owned here.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let mut rt = RawEngine::build(&RuntimeConfig::default()).unwrap();
        let file = RawFile { fd: r };
        rt.block_on(async {
            let mut fut = Box::pin(RawEngine::read_stream(&file, AlignedBuf::new(4096)));
            let waker = Waker::noop();
            assert!(
                fut.as_mut()
                    .poll(&mut Context::from_waker(waker))
                    .is_pending()
            );
            drop(fut);
            let orphans = with_ring(|r| {
                r.slots
                    .iter()
                    .filter(|s| matches!(s, Slot::Orphan { .. }))
                    .count()
            });
            assert_eq!(orphans, Some(1), "the buffer is kept by the slot");
            RawEngine::sleep(Duration::from_millis(20)).await;
            let orphans = with_ring(|r| {
                r.slots
                    .iter()
                    .filter(|s| matches!(s, Slot::Orphan { .. }))
                    .count()
            });
            assert_eq!(orphans, Some(0), "the cancel's completion released it");
        });
        // The cancelled read consumed nothing: these bytes are all still there.
        // SAFETY: writing 5 bytes from a live array to a descriptor we own.
        let n = unsafe { libc::write(w.as_raw_fd(), b"hello".as_ptr().cast(), 5) };
        assert_eq!(n, 5);
        let mut got = [0u8; 8];
        // SAFETY: reading into a live array from a descriptor we own.
        let n = unsafe { libc::read(file.as_raw_fd(), got.as_mut_ptr().cast(), 8) };
        assert_eq!(&got[..n as usize], b"hello");
        drop(rt);
    }
}
