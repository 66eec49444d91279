//! The `naive` engine: a raw io_uring engine (the `io-uring` crate) built the way the tonbo.io
//! article on async I/O cancellation warns against — **unsafe on purpose**.
//!
//! Each op future owns its buffer (or path) and puts a pointer into it in the SQE. When the
//! future is dropped before its completion arrives, it forgets the op and frees the buffer:
//! no `IORING_OP_ASYNC_CANCEL`, no keep-alive of the buffer until the completion. The kernel
//! then reads from or writes into freed memory, a completed `openat` leaks its descriptor, and
//! data a cancelled read consumed is gone.
//!
//! It exists only to be caught: the safety oracles (`workloads::safety`, `workloads::alloc`)
//! must flag it, or they are broken. It is never shown in throughput rankings (registered
//! hidden in the driver) and is excluded from cancellation injection (its conformance suite
//! runs without the cancel cases). Used without cancellation it is a correct, minimal engine.
//!
//! Model: one ring per thread, kept in a thread-local entered by `block_on`, one task
//! (the `block_on` future). `block_on` polls the task, submits what it queued, waits for at
//! least one completion (or a millisecond, so wakes from other threads are seen) when ops are
//! outstanding, and polls the task again.
#![deny(missing_docs)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CString;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

use io_uring::{IoUring, opcode, squeue, types};
use workloads::{
    AlignedBuf, BufResult, Caps, Engine, EngineInfo, Model, OpenHow, Route, Routes, RuntimeConfig,
};

/// The naive control engine (one ring on the calling thread).
#[derive(Debug)]
pub struct NaiveEngine {
    // The ring lives in the thread-local; this handle removes it on drop. Not `Send`: the ring
    // belongs to this thread.
    _not_send: std::marker::PhantomData<*const ()>,
}

/// An open file: the descriptor, closed on drop if `close` was not called.
#[derive(Debug)]
pub struct NaiveFile {
    fd: OwnedFd,
}

impl AsRawFd for NaiveFile {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
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
    next: u64,
}

thread_local! {
    static DRIVER: RefCell<Option<Driver>> = const { RefCell::new(None) };
}

fn with_driver<T>(f: impl FnOnce(&mut Driver) -> T) -> Option<T> {
    DRIVER.with(|d| d.borrow_mut().as_mut().map(f))
}

impl Driver {
    /// Push an SQE, flushing the queue to the kernel first if it is full.
    fn push(&mut self, sqe: &squeue::Entry) -> io::Result<()> {
        loop {
            // SAFETY: the caller guarantees the SQE's pointers stay valid until the completion
            // — and deliberately breaks that promise when its future is dropped early. That is
            // the point of this engine.
            if unsafe { self.ring.submission().push(sqe) }.is_ok() {
                return Ok(());
            }
            self.ring.submit()?;
        }
    }

    /// Move completions into their slots and wake their tasks; completions of ops whose
    /// future was dropped find no slot and are ignored (their descriptor or data is lost).
    fn reap(&mut self) {
        for cqe in self.ring.completion() {
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
    id: Option<u64>,
}

impl Op {
    fn new(sqe: squeue::Entry) -> Op {
        Op {
            sqe: Some(sqe),
            id: None,
        }
    }
}

impl Future for Op {
    type Output = io::Result<i32>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(sqe) = self.sqe.take() {
            let r = with_driver(|d| {
                let id = d.next;
                d.next += 1;
                d.push(&sqe.user_data(id))?;
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
                    "naive op polled outside NaiveEngine::block_on",
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
        // Forget the op: no cancel, no keep-alive. Its completion will find no slot.
        if let Some(id) = self.id {
            with_driver(|d| d.slots.remove(&id));
        }
    }
}

/// Wakes `block_on`'s thread.
struct Unpark {
    woken: AtomicBool,
    thread: Thread,
}

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
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

fn len32(n: usize) -> u32 {
    n.min(u32::MAX as usize) as u32
}

/// The longest `block_on` waits in the ring before it looks whether the task was woken.
const WAIT_SLICE: Duration = Duration::from_millis(1);

/// Offset -1: "the file's current position", which io_uring uses for streams (pipes).
const STREAM: u64 = u64::MAX;

impl Engine for NaiveEngine {
    type File = NaiveFile;

    // Placeholder: a blocking std listener (replace with the runtime's own socket API).
    type Listener = std::net::TcpListener;

    fn listen_local() -> std::io::Result<(Self::Listener, std::net::SocketAddr)> {
        workloads::blocking::listen_local()
    }

    async fn accept(l: &Self::Listener) -> std::io::Result<()> {
        workloads::blocking::accept(l)
    }

    const INFO: EngineInfo = EngineInfo {
        name: "naive",
        runtime: "io-uring",
        summary: "CONTROL, unsafe on purpose: raw io_uring, buffer freed when the future drops, no cancel",
        model: Model::ThreadPerCore,
        caps: Caps {
            io_uring: true,
            o_direct: true,
            concurrent_ops: true,
            cancel_on_drop: false,
            does_io: true,
        },
        routes: RING,
    };

    fn probe() -> Result<(), String> {
        if let Ok(s) = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled") {
            if s.trim() == "2" {
                return Err("io_uring disabled (kernel.io_uring_disabled = 2)".into());
            }
        }
        IoUring::new(2)
            .map(drop)
            .map_err(|e| format!("io_uring_setup failed: {e}"))
    }

    fn build(cfg: &RuntimeConfig) -> io::Result<Self> {
        let ring = IoUring::new(cfg.ring_entries.max(2))?;
        DRIVER.with(|d| {
            let mut d = d.borrow_mut();
            if d.is_some() {
                return Err(io::Error::other("one naive runtime per thread"));
            }
            *d = Some(Driver {
                ring,
                slots: HashMap::new(),
                next: 1,
            });
            Ok(NaiveEngine {
                _not_send: std::marker::PhantomData,
            })
        })
    }

    fn block_on<F: Future>(&mut self, fut: F) -> F::Output {
        let unpark = Arc::new(Unpark {
            woken: AtomicBool::new(false),
            thread: std::thread::current(),
        });
        let waker = Waker::from(Arc::clone(&unpark));
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        loop {
            unpark.woken.store(false, Ordering::Release);
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            let woken = unpark.woken.load(Ordering::Acquire);
            let waiting = with_driver(|d| {
                let live = d.slots.values().any(|s| s.result.is_none());
                // Wait for a completion, but at most a millisecond: a wake from another
                // thread (a timer, a pool) cannot interrupt io_uring_enter, so the wait is
                // bounded and the task re-polled when woken meanwhile.
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
            .expect("NaiveEngine::block_on without its ring");
            if !waiting && !unpark.woken.load(Ordering::Acquire) {
                // Nothing in the ring to wait for: the task waits on something else.
                std::thread::park_timeout(Duration::from_millis(1));
            }
        }
    }

    async fn open(path: &Path, how: OpenHow) -> io::Result<NaiveFile> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let sqe = opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), c.as_ptr())
            .flags(how.flags() | libc::O_CLOEXEC)
            .mode(how.perm)
            .build();
        let fd = Op::new(sqe).await?;
        // SAFETY: openat returned a new descriptor that nobody else owns.
        Ok(NaiveFile {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
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
        let r = Op::new(sqe).await.map(|n| n as usize);
        if let Ok(n) = r {
            buf.set_len(n);
        }
        (r, buf)
    }

    async fn write_at(file: &NaiveFile, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let sqe = opcode::Write::new(types::Fd(file.as_raw_fd()), buf.as_ptr(), len32(buf.len()))
            .offset(pos)
            .build();
        let r = Op::new(sqe).await.map(|n| n as usize);
        (r, buf)
    }

    async fn read_stream(file: &NaiveFile, buf: AlignedBuf) -> BufResult<usize> {
        Self::read_at(file, buf, STREAM).await
    }

    async fn write_stream(file: &NaiveFile, buf: AlignedBuf) -> BufResult<usize> {
        Self::write_at(file, buf, STREAM).await
    }

    async fn sync(file: &NaiveFile) -> io::Result<()> {
        Op::new(opcode::Fsync::new(types::Fd(file.as_raw_fd())).build())
            .await
            .map(drop)
    }

    async fn close(file: NaiveFile) -> io::Result<()> {
        let fd = file.fd.into_raw_fd();
        Op::new(opcode::Close::new(types::Fd(fd)).build())
            .await
            .map(drop)
    }
}

impl Drop for NaiveEngine {
    fn drop(&mut self) {
        // Closing the ring makes the kernel cancel what is still queued; outstanding buffers
        // were already freed by their dropped futures.
        DRIVER.with(|d| d.borrow_mut().take());
    }
}

#[cfg(test)]
mod tests {
    workloads::conformance_tests!(crate::NaiveEngine, cancel: false);
}
