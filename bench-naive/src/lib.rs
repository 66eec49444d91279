//! The `naive` control engines: a raw io_uring engine (the `io-uring` crate) built the way the
//! tonbo.io article on async I/O cancellation warns against — **unsafe on purpose** — and two
//! variants of it with one more fault each.
//!
//! Each op future owns its buffer (or path) and puts a pointer into it in the SQE. When the
//! future is dropped before its completion arrives, it forgets the op and frees the buffer:
//! no `IORING_OP_ASYNC_CANCEL`, no keep-alive of the buffer until the completion. The kernel
//! then reads from or writes into freed memory, a completed `openat` or `accept` leaks its
//! descriptor, and data a cancelled read consumed is gone.
//!
//! The variants share all of that and differ in one place each ([`fault`]):
//! * `naive` ([`NaiveEngine`]): dropping the runtime drops the spawned tasks, then closes the
//!   ring (the kernel cancels what is still armed) — a correct shutdown.
//! * `naive-leak-ring` ([`NaiveLeakRingEngine`]): dropping the runtime forgets the ring and the
//!   spawned tasks (`mem::forget`): the ring's descriptor, the tasks' files and every armed op
//!   outlive the runtime.
//! * `naive-close-waits` ([`NaiveCloseWaitsEngine`]): the async close first waits until every
//!   op ever submitted on that descriptor has completed — dropped ones included — the way a
//!   runtime that drains in-flight ops before closing does. A close after a dropped read of an
//!   empty pipe then only returns when data arrives.
//!
//! They exist only to be caught: the safety oracles (`workloads::safety`, `workloads::alloc`)
//! must flag them, or they are broken. They are never shown in throughput rankings (registered
//! hidden in the driver) and are excluded from cancellation injection (their conformance suites
//! run without the cancel cases). Used without cancellation each is a correct, minimal engine.
//!
//! Model: one ring per thread, kept in a thread-local entered by `block_on`, plus a minimal task
//! queue (also thread-local) for [`Engine::spawn`]. `block_on` polls its future and every woken
//! task, submits what they queued, waits for at least one completion (or a millisecond, so wakes
//! from other threads are seen) when ops are outstanding, and goes round again.
#![deny(missing_docs)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CString;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

use io_uring::{IoUring, opcode, squeue, types};
use workloads::{
    AlignedBuf, BufResult, Caps, Engine, EngineInfo, Model, OpenHow, Route, Routes, RuntimeConfig,
};

/// The fault each variant adds to the plain naive engine (the const parameter of [`Naive`]).
pub mod fault {
    /// None beyond the naive design itself (`naive`).
    pub const NONE: u8 = 0;
    /// The runtime's drop forgets the ring and the spawned tasks (`naive-leak-ring`).
    pub const LEAK_RING: u8 = 1;
    /// The async close waits for every op ever submitted on the fd (`naive-close-waits`).
    pub const CLOSE_WAITS: u8 = 2;
}

/// A naive control engine (one ring on the calling thread) with fault `FAULT` (see [`fault`]).
#[derive(Debug)]
pub struct Naive<const FAULT: u8> {
    // The ring and the tasks live in thread-locals; this handle removes them on drop. Not
    // `Send`: they belong to this thread.
    _not_send: std::marker::PhantomData<*const ()>,
}

/// `naive`: no cancel on drop, a correct runtime shutdown.
pub type NaiveEngine = Naive<{ fault::NONE }>;
/// `naive-leak-ring`: as `naive`, and the runtime drop forgets the ring and the tasks.
pub type NaiveLeakRingEngine = Naive<{ fault::LEAK_RING }>;
/// `naive-close-waits`: as `naive`, and close waits for every op submitted on the fd.
pub type NaiveCloseWaitsEngine = Naive<{ fault::CLOSE_WAITS }>;

/// An open file: the descriptor, closed on drop if `close` was not called.
#[derive(Debug)]
pub struct NaiveFile {
    fd: OwnedFd,
    /// The ops submitted on this descriptor whose completion has not arrived yet, dropped
    /// futures included (what `naive-close-waits` waits for).
    track: Arc<Track>,
}

impl AsRawFd for NaiveFile {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A listening socket: bound by std (`bind` and `listen` are synchronous syscalls; io_uring's
/// own `BIND`/`LISTEN` need kernel 6.11), accepted from through the ring.
#[derive(Debug)]
pub struct NaiveListener {
    inner: TcpListener,
}

/// Completions still owed for the ops submitted on one file, and the close waiting for them.
/// Counted per file object, not per descriptor number: a number reused by a later open starts
/// at zero.
#[derive(Debug, Default)]
struct Track {
    in_kernel: AtomicUsize,
    closer: Mutex<Option<Waker>>,
}

impl Track {
    fn submitted(&self) {
        self.in_kernel.fetch_add(1, Ordering::AcqRel);
    }

    fn completed(&self) {
        if self.in_kernel.fetch_sub(1, Ordering::AcqRel) == 1
            && let Some(w) = self.closer.lock().unwrap_or_else(|p| p.into_inner()).take()
        {
            w.wake();
        }
    }
}

/// Resolves once every op submitted on the file has completed in the kernel.
struct Drained<'a>(&'a Track);

impl Future for Drained<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.in_kernel.load(Ordering::Acquire) == 0 {
            return Poll::Ready(());
        }
        *self.0.closer.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        // Checked again after the waker is in place: a completion reaped in between would
        // otherwise have found no waker to wake.
        if self.0.in_kernel.load(Ordering::Acquire) == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// An outstanding op: its result once the completion arrived, and who to wake.
struct Slot {
    result: Option<i32>,
    waker: Option<Waker>,
}

struct Driver {
    ring: IoUring,
    slots: HashMap<u64, Slot>,
    /// The file each submitted op was on, until its completion arrives (whether or not its
    /// future still exists).
    tracked: HashMap<u64, Arc<Track>>,
    next: u64,
}

thread_local! {
    static DRIVER: RefCell<Option<Driver>> = const { RefCell::new(None) };
    static TASKS: RefCell<Option<Tasks>> = const { RefCell::new(None) };
}

fn with_driver<T>(f: impl FnOnce(&mut Driver) -> T) -> Option<T> {
    DRIVER.with(|d| d.borrow_mut().as_mut().map(f))
}

impl Driver {
    /// Push an SQE, flushing the queue to the kernel first if it is full (a burst larger than
    /// the ring: 64 reads on an 8-entry ring go in as 8 submissions).
    fn push(&mut self, sqe: &squeue::Entry) -> io::Result<()> {
        loop {
            // SAFETY: the caller guarantees the SQE's pointers stay valid until the completion
            // — and deliberately breaks that promise when its future is dropped early. That is
            // the point of this engine.
            if unsafe { self.ring.submission().push(sqe) }.is_ok() {
                return Ok(());
            }
            match self.ring.submit() {
                Ok(_) => {}
                // The kernel wants its completion queue reaped first (EBUSY on kernels that
                // cannot buffer overflowing completions), or was interrupted.
                Err(e)
                    if e.raw_os_error() == Some(libc::EBUSY)
                        || e.raw_os_error() == Some(libc::EINTR)
                        || e.raw_os_error() == Some(libc::EAGAIN) =>
                {
                    self.reap()
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Move completions into their slots and wake their tasks; completions of ops whose
    /// future was dropped find no slot and are ignored (their descriptor or data is lost).
    /// Every completion settles its file's count, dropped or not.
    fn reap(&mut self) {
        for cqe in self.ring.completion() {
            if let Some(t) = self.tracked.remove(&cqe.user_data()) {
                t.completed();
            }
            if let Some(slot) = self.slots.get_mut(&cqe.user_data()) {
                slot.result = Some(cqe.result());
                if let Some(w) = slot.waker.take() {
                    w.wake();
                }
            }
        }
    }
}

/// The future of one ring op. It does not own the memory its SQE points at: the enclosing
/// `async fn` does, and frees it when dropped — with no cancel. That is the bug on purpose.
struct Op {
    sqe: Option<squeue::Entry>,
    /// The file the op is on, counted until its completion (`None`: an open, a close, an
    /// accept on a listener nobody closes asynchronously).
    track: Option<Arc<Track>>,
    id: Option<u64>,
}

impl Op {
    fn new(sqe: squeue::Entry, track: Option<&Arc<Track>>) -> Op {
        Op {
            sqe: Some(sqe),
            track: track.cloned(),
            id: None,
        }
    }
}

impl Future for Op {
    type Output = io::Result<i32>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(sqe) = self.sqe.take() {
            let track = self.track.take();
            let r = with_driver(|d| {
                let id = d.next;
                d.next += 1;
                d.push(&sqe.user_data(id))?;
                if let Some(t) = track {
                    t.submitted();
                    d.tracked.insert(id, t);
                }
                d.slots.insert(
                    id,
                    Slot {
                        result: None,
                        waker: Some(cx.waker().clone()),
                    },
                );
                Ok(id)
            });
            return match r {
                None => Poll::Ready(Err(io::Error::other(
                    "naive op polled outside Naive::block_on",
                ))),
                Some(Err(e)) => Poll::Ready(Err(e)),
                Some(Ok(id)) => {
                    self.id = Some(id);
                    Poll::Pending
                }
            };
        }
        let Some(id) = self.id else {
            return Poll::Ready(Err(io::Error::other("naive op polled after completion")));
        };
        let done = with_driver(|d| {
            let slot = d.slots.get_mut(&id).expect("slot of a live op");
            match slot.result {
                Some(res) => {
                    d.slots.remove(&id);
                    Some(res)
                }
                None => {
                    slot.waker = Some(cx.waker().clone());
                    None
                }
            }
        })
        .flatten();
        match done {
            Some(res) => {
                self.id = None;
                Poll::Ready(if res < 0 {
                    Err(io::Error::from_raw_os_error(-res))
                } else {
                    Ok(res)
                })
            }
            None => Poll::Pending,
        }
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        // Forget the op: no cancel, no keep-alive. Its completion will find no slot (but still
        // settles its file's count: the kernel holds the op until then).
        if let Some(id) = self.id {
            with_driver(|d| d.slots.remove(&id));
        }
    }
}

/// A spawned task.
type Task = Pin<Box<dyn Future<Output = ()>>>;

/// The task of `block_on`'s own future: polled every round, never queued.
const MAIN: u64 = 0;

/// What was woken since `block_on` last looked, shared with wakers on any thread.
struct Wakes {
    ready: Mutex<Vec<u64>>,
    woken: AtomicBool,
    /// The runtime's thread (the runtime is not `Send`): a wake unparks it.
    thread: Thread,
}

impl Wakes {
    fn wake(&self, id: u64) {
        if id != MAIN {
            self.ready
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(id);
        }
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// The waker of one task (or of `block_on`'s future).
struct TaskWaker {
    id: u64,
    wakes: Arc<Wakes>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.wake(self.id);
    }
}

/// The spawned tasks of this thread's runtime. A task being polled is taken out of the map, so
/// it may spawn (and the map is never borrowed across a poll).
struct Tasks {
    wakes: Arc<Wakes>,
    live: HashMap<u64, Task>,
    next: u64,
}

/// Poll every task woken since the last look, once each.
fn run_ready(wakes: &Arc<Wakes>) {
    let mut ids = std::mem::take(&mut *wakes.ready.lock().unwrap_or_else(|p| p.into_inner()));
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let Some(mut task) =
            TASKS.with(|t| t.borrow_mut().as_mut().and_then(|t| t.live.remove(&id)))
        else {
            continue;
        };
        let waker = Waker::from(Arc::new(TaskWaker {
            id,
            wakes: Arc::clone(wakes),
        }));
        if task
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
        {
            let back = TASKS.with(|t| match t.borrow_mut().as_mut() {
                Some(t) => t.live.insert(id, task).map(|_| ()),
                None => None,
            });
            debug_assert!(back.is_none(), "task ids are unique");
        }
        // A finished task is dropped here, outside every borrow (its drop may drop ops).
    }
}

const RING: Routes = Routes {
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

/// The static description of the variant with fault `f`.
const fn info(f: u8) -> EngineInfo {
    let (name, summary) = match f {
        fault::LEAK_RING => (
            "naive-leak-ring",
            "CONTROL, unsafe on purpose: as naive, and its runtime drop forgets the ring and the spawned tasks (fds and armed ops leak)",
        ),
        fault::CLOSE_WAITS => (
            "naive-close-waits",
            "CONTROL, unsafe on purpose: as naive, and its async close waits for every op ever submitted on the fd (a hang after a dropped read)",
        ),
        _ => (
            "naive",
            "CONTROL, unsafe on purpose: raw io_uring, buffer freed when the future drops, no cancel",
        ),
    };
    EngineInfo {
        name,
        runtime: "io-uring",
        summary,
        model: Model::ThreadPerCore,
        caps: Caps {
            io_uring: true,
            o_direct: true,
            concurrent_ops: true,
            cancel_on_drop: false,
            does_io: true,
        },
        routes: RING,
    }
}

fn len32(n: usize) -> u32 {
    n.min(u32::MAX as usize) as u32
}

/// The longest `block_on` waits in the ring before it looks whether a task was woken.
const WAIT_SLICE: Duration = Duration::from_millis(1);

/// Offset -1: "the file's current position", which io_uring uses for streams (pipes).
const STREAM: u64 = u64::MAX;

impl<const FAULT: u8> Engine for Naive<FAULT> {
    type File = NaiveFile;
    type Listener = NaiveListener;

    const INFO: EngineInfo = info(FAULT);

    fn probe() -> Result<(), String> {
        // A plain ring with the default opcodes is all the naive engine needs.
        workloads::probe::io_uring()
    }

    fn build(cfg: &RuntimeConfig) -> io::Result<Self> {
        // io_uring_setup(2) always returns the ring's descriptor with O_CLOEXEC.
        let ring = IoUring::new(cfg.ring_entries.max(2))?;
        DRIVER.with(|d| {
            let mut d = d.borrow_mut();
            if d.is_some() {
                return Err(io::Error::other("one naive runtime per thread"));
            }
            *d = Some(Driver {
                ring,
                slots: HashMap::new(),
                tracked: HashMap::new(),
                next: 1,
            });
            Ok(())
        })?;
        TASKS.with(|t| {
            *t.borrow_mut() = Some(Tasks {
                wakes: Arc::new(Wakes {
                    ready: Mutex::new(Vec::new()),
                    woken: AtomicBool::new(false),
                    thread: std::thread::current(),
                }),
                live: HashMap::new(),
                next: MAIN + 1,
            })
        });
        Ok(Naive {
            _not_send: std::marker::PhantomData,
        })
    }

    fn block_on<F: Future>(&mut self, fut: F) -> F::Output {
        let wakes = TASKS
            .with(|t| t.borrow().as_ref().map(|t| Arc::clone(&t.wakes)))
            .expect("Naive::block_on without its task queue");
        let waker = Waker::from(Arc::new(TaskWaker {
            id: MAIN,
            wakes: Arc::clone(&wakes),
        }));
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        loop {
            wakes.woken.store(false, Ordering::Release);
            // The main future is polled every round (cheap, and what the scenarios were
            // written against); spawned tasks only when woken.
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            run_ready(&wakes);
            let woken = wakes.woken.load(Ordering::Acquire);
            let waiting = with_driver(|d| {
                let live = d.slots.values().any(|s| s.result.is_none());
                // Wait for a completion, but at most a millisecond: a wake from another
                // thread (a timer, a pool) cannot interrupt io_uring_enter, so the wait is
                // bounded and the tasks re-polled when woken meanwhile.
                let r = if live && !woken {
                    let ts = types::Timespec::from(WAIT_SLICE);
                    let args = types::SubmitArgs::new().timespec(&ts);
                    d.ring.submitter().submit_with_args(1, &args)
                } else {
                    d.ring.submit()
                };
                match r {
                    Ok(_) => {}
                    Err(e)
                        if e.raw_os_error() == Some(libc::EINTR)
                            || e.raw_os_error() == Some(libc::EBUSY)
                            || e.raw_os_error() == Some(libc::ETIME) => {}
                    Err(e) => panic!("io_uring_enter failed: {e}"),
                }
                d.reap();
                live
            })
            .expect("Naive::block_on without its ring");
            if !waiting && !wakes.woken.load(Ordering::Acquire) {
                // Nothing in the ring to wait for: the tasks wait on something else.
                std::thread::park_timeout(WAIT_SLICE);
            }
        }
    }

    fn spawn<F: Future<Output = ()> + 'static>(fut: F) -> Result<(), String> {
        let task: Task = Box::pin(fut);
        // The task comes back when there is no runtime, so that it is dropped outside the
        // borrow.
        let refused = TASKS.with(|t| match t.borrow_mut().as_mut() {
            Some(t) => {
                let id = t.next;
                t.next += 1;
                t.live.insert(id, task);
                t.wakes.wake(id);
                None
            }
            None => Some(task),
        });
        match refused {
            None => Ok(()),
            Some(task) => {
                drop(task);
                Err("Naive::spawn outside its runtime's block_on".into())
            }
        }
    }

    fn listen_local() -> io::Result<(NaiveListener, SocketAddr)> {
        let inner = TcpListener::bind("127.0.0.1:0")?;
        let addr = inner.local_addr()?;
        Ok((NaiveListener { inner }, addr))
    }

    async fn accept(l: &NaiveListener) -> io::Result<()> {
        // No address wanted: the SQE points at nothing of ours. A dropped accept completed
        // later leaks the accepted descriptor (its completion finds no slot).
        let sqe = opcode::Accept::new(
            types::Fd(l.inner.as_raw_fd()),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
        .flags(libc::SOCK_CLOEXEC)
        .build();
        let fd = Op::new(sqe, None).await?;
        // SAFETY: accept returned a new descriptor that nobody else owns; closed at once.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
        Ok(())
    }

    async fn open(path: &Path, how: OpenHow) -> io::Result<NaiveFile> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let sqe = opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), c.as_ptr())
            .flags(how.flags() | libc::O_CLOEXEC)
            .mode(how.perm)
            .build();
        let fd = Op::new(sqe, None).await?;
        // SAFETY: openat returned a new descriptor that nobody else owns.
        Ok(NaiveFile {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            track: Arc::default(),
        })
    }

    async fn read_at(file: &NaiveFile, mut buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let sqe = opcode::Read::new(
            types::Fd(file.as_raw_fd()),
            buf.as_mut_ptr(),
            len32(buf.capacity()),
        )
        .offset(pos)
        .build();
        let r = Op::new(sqe, Some(&file.track)).await.map(|n| n as usize);
        if let Ok(n) = r {
            buf.set_len(n);
        }
        (r, buf)
    }

    async fn write_at(file: &NaiveFile, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let sqe = opcode::Write::new(types::Fd(file.as_raw_fd()), buf.as_ptr(), len32(buf.len()))
            .offset(pos)
            .build();
        let r = Op::new(sqe, Some(&file.track)).await.map(|n| n as usize);
        (r, buf)
    }

    async fn read_stream(file: &NaiveFile, buf: AlignedBuf) -> BufResult<usize> {
        Self::read_at(file, buf, STREAM).await
    }

    async fn write_stream(file: &NaiveFile, buf: AlignedBuf) -> BufResult<usize> {
        Self::write_at(file, buf, STREAM).await
    }

    async fn sync(file: &NaiveFile) -> io::Result<()> {
        Op::new(
            opcode::Fsync::new(types::Fd(file.as_raw_fd())).build(),
            Some(&file.track),
        )
        .await
        .map(drop)
    }

    async fn close(file: NaiveFile) -> io::Result<()> {
        if FAULT == fault::CLOSE_WAITS {
            // The fault: drain before closing, cancelling nothing. A dropped read of an empty
            // pipe keeps this waiting until data arrives.
            Drained(&file.track).await;
        }
        let fd = file.fd.into_raw_fd();
        Op::new(opcode::Close::new(types::Fd(fd)).build(), None)
            .await
            .map(drop)
    }
}

impl<const FAULT: u8> Drop for Naive<FAULT> {
    fn drop(&mut self) {
        let tasks = TASKS.with(|t| t.borrow_mut().take()).map(|t| t.live);
        if FAULT == fault::LEAK_RING {
            // The fault: the tasks (their files, their buffers) and the ring (its descriptor,
            // every op still armed in it) are forgotten, never dropped or closed.
            std::mem::forget(tasks);
            std::mem::forget(DRIVER.with(|d| d.borrow_mut().take()));
            return;
        }
        // The tasks first, while the ring is still there (their ops' drops look in it), each
        // outside every borrow...
        drop(tasks);
        // ...then the ring: closing it makes the kernel cancel what is still armed; the
        // buffers of dropped ops were already freed by their futures.
        drop(DRIVER.with(|d| d.borrow_mut().take()));
    }
}

#[cfg(test)]
mod tests {
    //! The fault behaviours seen directly, and the conformance suite of every variant.

    use super::*;
    use std::cell::Cell;
    use std::io::Write;
    use std::rc::Rc;
    use std::time::Instant;

    mod naive {
        workloads::conformance_tests!(crate::NaiveEngine, cancel: false);
    }
    mod naive_leak_ring {
        workloads::conformance_tests!(crate::NaiveLeakRingEngine, cancel: false);
    }
    mod naive_close_waits {
        workloads::conformance_tests!(crate::NaiveCloseWaitsEngine, cancel: false);
    }

    fn available() -> bool {
        workloads::conformance::available::<NaiveEngine>()
    }

    fn cfg(ring_entries: u32) -> RuntimeConfig {
        RuntimeConfig {
            ring_entries,
            queue_depth: 64,
            block_size: 4096,
        }
    }

    /// A pipe, both ends close-on-exec, the read end blocking (io_uring polls it).
    fn pipe() -> (OwnedFd, std::fs::File) {
        let mut p = [0; 2];
        // SAFETY: `p` has room for the two descriptors pipe2 writes.
        assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: pipe2 returned two new descriptors that nobody else owns.
        unsafe { (OwnedFd::from_raw_fd(p[0]), std::fs::File::from_raw_fd(p[1])) }
    }

    fn proc_path(fd: &impl AsRawFd) -> std::path::PathBuf {
        format!("/proc/self/fd/{}", fd.as_raw_fd()).into()
    }

    /// What descriptor `fd` of this process points at (`None`: not open).
    fn link(fd: RawFd) -> Option<String> {
        std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
    }

    fn fionread(fd: &impl AsRawFd) -> i32 {
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int.
        assert_eq!(
            unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) },
            0
        );
        n
    }

    fn ring_fd() -> RawFd {
        with_driver(|d| d.ring.as_raw_fd()).expect("a runtime on this thread")
    }

    /// Poll `f` once inside the runtime, then give the runtime a turn so the op is submitted and
    /// waiting in the kernel; `f` comes back still pending.
    async fn pend<E: Engine, F: Future + Unpin>(mut f: F) -> F {
        let first =
            std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut f).poll(cx).is_pending())).await;
        assert!(first, "the op must wait (nothing to read yet)");
        E::sleep(Duration::from_millis(20)).await;
        f
    }

    #[test]
    fn ring_fd_is_close_on_exec() {
        if !available() {
            return;
        }
        for entries in [8, 256] {
            let rt = NaiveEngine::build(&cfg(entries)).unwrap();
            let fd = ring_fd();
            assert_eq!(link(fd).as_deref(), Some("anon_inode:[io_uring]"));
            // SAFETY: F_GETFD on an open descriptor of ours.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
            assert!(flags & libc::FD_CLOEXEC != 0, "ring fd flags {flags:#x}");
            drop(rt);
        }
    }

    #[test]
    fn a_burst_larger_than_the_ring_completes() {
        if !available() {
            return;
        }
        const N: usize = 64;
        let (r, mut w) = pipe();
        let mut rt = NaiveEngine::build(&cfg(8)).unwrap();
        let file = rt
            .block_on(NaiveEngine::open(&proc_path(&r), OpenHow::READ))
            .unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            w.write_all(&vec![7u8; N * 4096]).unwrap();
        });
        let got = rt.block_on(async {
            let mut futs: Vec<_> = (0..N)
                .map(|_| Box::pin(NaiveEngine::read_stream(&file, AlignedBuf::new(4096))))
                .collect();
            let mut total = 0;
            std::future::poll_fn(|cx| {
                futs.retain_mut(|f| match f.as_mut().poll(cx) {
                    Poll::Ready((r, _)) => {
                        total += r.expect("read");
                        false
                    }
                    Poll::Pending => true,
                });
                if futs.is_empty() {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            total
        });
        writer.join().unwrap();
        assert_eq!(got, N * 4096);
        rt.block_on(NaiveEngine::close(file)).unwrap();
    }

    #[test]
    fn spawned_tasks_outlive_block_on_and_see_their_completions() {
        if !available() {
            return;
        }
        let (r, mut w) = pipe();
        let mut rt = NaiveEngine::build(&cfg(8)).unwrap();
        let got = Rc::new(Cell::new(None));
        let g = Rc::clone(&got);
        let path = proc_path(&r);
        rt.block_on(async move {
            NaiveEngine::spawn(async move {
                let f = NaiveEngine::open(&path, OpenHow::READ).await.unwrap();
                let (n, _) = NaiveEngine::read_stream(&f, AlignedBuf::new(4096)).await;
                g.set(Some(n.unwrap()));
                NaiveEngine::close(f).await.unwrap();
            })
            .unwrap();
            NaiveEngine::sleep(Duration::from_millis(20)).await;
        });
        assert_eq!(got.get(), None, "the task's read waits for data");
        w.write_all(&[1; 100]).unwrap();
        let t = Instant::now();
        rt.block_on(async {
            while got.get().is_none() && t.elapsed() < Duration::from_secs(2) {
                NaiveEngine::sleep(Duration::from_millis(2)).await;
            }
        });
        assert_eq!(got.get(), Some(100));
    }

    /// Dropped with the runtime: records whether the ring was still there.
    struct SeesRing(Rc<Cell<Option<bool>>>);

    impl Drop for SeesRing {
        fn drop(&mut self) {
            self.0.set(Some(with_driver(|_| ()).is_some()));
        }
    }

    #[test]
    fn naive_drop_drops_the_tasks_before_the_ring() {
        if !available() {
            return;
        }
        let (r, _w) = pipe();
        let mut rt = NaiveEngine::build(&cfg(8)).unwrap();
        let ring = ring_fd();
        let seen = Rc::new(Cell::new(None));
        let guard = SeesRing(Rc::clone(&seen));
        let path = proc_path(&r);
        rt.block_on(async move {
            NaiveEngine::spawn(async move {
                let _guard = guard;
                let f = NaiveEngine::open(&path, OpenHow::READ).await.unwrap();
                // Never completes: nothing is written. Its buffer is freed when the task is
                // dropped; nothing is written afterwards, so the kernel never touches it.
                let _ = NaiveEngine::read_stream(&f, AlignedBuf::new(4096)).await;
            })
            .unwrap();
            NaiveEngine::sleep(Duration::from_millis(20)).await;
        });
        assert_eq!(seen.get(), None, "the task is alive after block_on");
        drop(rt);
        assert_eq!(
            seen.get(),
            Some(true),
            "tasks dropped while the ring existed"
        );
        assert_ne!(link(ring).as_deref(), Some("anon_inode:[io_uring]"));
        assert!(with_driver(|_| ()).is_none());
    }

    #[test]
    fn leak_ring_drop_leaves_the_ring_task_file_and_armed_read_behind() {
        if !available() {
            return;
        }
        type E = NaiveLeakRingEngine;
        let (r, mut w) = pipe();
        let mut rt = E::build(&cfg(8)).unwrap();
        let ring = ring_fd();
        let task_fd = Rc::new(Cell::new(None));
        let seen = Rc::new(Cell::new(None));
        let (tf, guard, path) = (
            Rc::clone(&task_fd),
            SeesRing(Rc::clone(&seen)),
            proc_path(&r),
        );
        rt.block_on(async move {
            E::spawn(async move {
                let _guard = guard;
                let f = E::open(&path, OpenHow::READ).await.unwrap();
                tf.set(Some(f.as_raw_fd()));
                let _ = E::read_stream(&f, AlignedBuf::new(4096)).await;
            })
            .unwrap();
            E::sleep(Duration::from_millis(20)).await;
        });
        let task_fd = task_fd.get().expect("the task opened its file");
        let pipe_link = link(r.as_raw_fd());
        drop(rt);
        assert_eq!(seen.get(), None, "the task was forgotten, never dropped");
        assert_eq!(
            link(ring).as_deref(),
            Some("anon_inode:[io_uring]"),
            "ring fd leaked"
        );
        assert_eq!(link(task_fd), pipe_link, "the task's file leaked");
        // The forgotten ring still holds the armed read: it consumes what is written now (into
        // the forgotten task's buffer, which is never freed).
        w.write_all(&[9; 4096]).unwrap();
        let t = Instant::now();
        while fionread(&r) != 0 && t.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(fionread(&r), 0, "the leaked ring's read took the bytes");
        // A new runtime can still be built on this thread (the baseline builds several).
        drop(E::build(&cfg(8)).unwrap());
    }

    #[test]
    fn close_waits_hangs_until_a_dropped_read_completes() {
        if !available() {
            return;
        }
        type E = NaiveCloseWaitsEngine;
        let (r, mut w) = pipe();
        let (go, gate) = std::sync::mpsc::channel::<()>();
        let writer = std::thread::spawn(move || {
            gate.recv().unwrap();
            w.write_all(&[5; 100]).unwrap();
            w
        });
        let mut rt = E::build(&cfg(8)).unwrap();
        let file = rt.block_on(E::open(&proc_path(&r), OpenHow::READ)).unwrap();
        // The read points at a buffer that outlives the op (this test is not about memory
        // safety): only its future is dropped, the way a cancelled read's is.
        let mut buf = vec![0u8; 4096];
        let (before, after) = rt.block_on(async {
            let sqe = opcode::Read::new(types::Fd(file.as_raw_fd()), buf.as_mut_ptr(), 4096)
                .offset(STREAM)
                .build();
            drop(pend::<E, _>(Op::new(sqe, Some(&file.track))).await);
            let t = Instant::now();
            let mut close = Box::pin(E::close(file));
            let mut timer = Box::pin(E::sleep(Duration::from_millis(200)));
            let early = std::future::poll_fn(|cx| {
                if let Poll::Ready(r) = close.as_mut().poll(cx) {
                    return Poll::Ready(Some(r));
                }
                timer.as_mut().poll(cx).map(|()| None)
            })
            .await;
            let before = t.elapsed();
            assert!(
                early.is_none(),
                "close returned after {before:?}: {early:?}"
            );
            go.send(()).unwrap();
            let r = close.await;
            (before, (r, t.elapsed()))
        });
        assert!(before >= Duration::from_millis(200));
        assert!(after.0.is_ok(), "{:?}", after.0);
        assert!(after.1 < Duration::from_secs(2), "close took {:?}", after.1);
        assert_eq!(&buf[..100], &[5; 100], "the dropped read took the bytes");
        drop(writer.join().unwrap());
    }

    #[test]
    fn plain_naive_close_after_a_dropped_read_returns_at_once() {
        if !available() {
            return;
        }
        let (r, w) = pipe();
        let mut rt = NaiveEngine::build(&cfg(8)).unwrap();
        let file = rt
            .block_on(NaiveEngine::open(&proc_path(&r), OpenHow::READ))
            .unwrap();
        let mut buf = vec![0u8; 4096];
        let took = rt.block_on(async {
            let sqe = opcode::Read::new(types::Fd(file.as_raw_fd()), buf.as_mut_ptr(), 4096)
                .offset(STREAM)
                .build();
            drop(pend::<NaiveEngine, _>(Op::new(sqe, Some(&file.track))).await);
            let t = Instant::now();
            NaiveEngine::close(file).await.unwrap();
            t.elapsed()
        });
        assert!(took < Duration::from_millis(200), "close took {took:?}");
        // Closing the ring cancels the armed read before the buffer goes.
        drop(rt);
        drop(w);
        drop(buf);
    }

    #[test]
    fn accept_goes_through_the_ring() {
        if !available() {
            return;
        }
        let mut rt = NaiveEngine::build(&cfg(8)).unwrap();
        let (l, addr) = rt.block_on(async { NaiveEngine::listen_local() }).unwrap();
        let client = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            std::net::TcpStream::connect(addr).unwrap()
        });
        rt.block_on(async {
            let mut a = Box::pin(NaiveEngine::accept(&l));
            // Pending in the ring first: no client yet.
            let first =
                std::future::poll_fn(|cx| Poll::Ready(a.as_mut().poll(cx).is_pending())).await;
            assert!(first);
            assert!(
                with_driver(|d| d.slots.len()).unwrap() == 1,
                "one op in the ring"
            );
            a.await.unwrap();
        });
        drop(client.join().unwrap());
    }

    /// Descriptors of this process that are sockets bound locally to `addr` (the listener
    /// itself and every connection it accepted).
    fn sockets_on(addr: SocketAddr) -> Vec<RawFd> {
        let SocketAddr::V4(want) = addr else {
            panic!("an IPv4 listener")
        };
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
            let Ok(fd) = e.file_name().to_string_lossy().parse::<RawFd>() else {
                continue;
            };
            if !link(fd).is_some_and(|l| l.starts_with("socket:")) {
                continue;
            }
            // SAFETY: sockaddr_in is plain data; getsockname writes at most `len` bytes of it.
            let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            // SAFETY: as above; a descriptor closed meanwhile only makes the call fail.
            let ok = unsafe { libc::getsockname(fd, (&raw mut sa).cast(), &mut len) } == 0;
            if ok
                && sa.sin_family == libc::AF_INET as libc::sa_family_t
                && u16::from_be(sa.sin_port) == want.port()
                && u32::from_be(sa.sin_addr.s_addr) == u32::from(*want.ip())
            {
                out.push(fd);
            }
        }
        out
    }

    #[test]
    fn a_dropped_accept_completed_later_leaks_its_descriptor() {
        if !available() {
            return;
        }
        let mut rt = NaiveEngine::build(&cfg(8)).unwrap();
        let (l, addr) = rt.block_on(async { NaiveEngine::listen_local() }).unwrap();
        assert_eq!(sockets_on(addr), vec![l.inner.as_raw_fd()]);
        let accepted = rt.block_on(async {
            let a = pend::<NaiveEngine, _>(Box::pin(NaiveEngine::accept(&l))).await;
            drop(std::net::TcpStream::connect(addr).unwrap());
            // Turns for the runtime, the accept future not polled again, until the kernel
            // has completed the accept (a second socket on the listener's address).
            let t = Instant::now();
            while sockets_on(addr).len() < 2 && t.elapsed() < Duration::from_secs(1) {
                NaiveEngine::sleep(Duration::from_millis(2)).await;
            }
            drop(a);
            sockets_on(addr).len() - 1
        });
        assert_eq!(accepted, 1, "the kernel accepted the connection");
        drop(rt);
        assert_eq!(sockets_on(addr).len(), 2, "the accepted descriptor leaked");
    }
}
