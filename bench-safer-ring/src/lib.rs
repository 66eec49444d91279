//! The `safer-ring` engine: safer-ring 0.0.1's "hot potato" API (`Ring::read_at_owned` /
//! `write_at_owned` on its own `OwnedBuffer`) for positional reads and writes, everything else
//! a blocking call on the runtime thread.
//!
//! What safer-ring 0.0.1 can and cannot do for ringbench (see README.md for the evidence):
//!
//! * Positional reads and writes on owned buffers work, several in flight at once.
//! * Its buffers are its own: `OwnedBuffer` is a `Box<[u8]>` behind an `Arc<Mutex<..>>`, with no
//!   constructor over foreign memory, so every read is copied out of and every write copied into
//!   an `OwnedBuffer` (a bounce buffer, recycled through a small per-thread pool). Those boxes are
//!   not page-aligned, so `O_DIRECT` is not offered.
//! * It has no open, close, fsync, statx or mkdir op (`compat::File::open` is a blocking
//!   `open(2)` with fixed flags and `compat::File::sync_all` is an empty stub), so those go
//!   through `std` inline, and `INFO.routes` says so.
//! * Its futures need a tokio runtime: while pending they `tokio::spawn` a task that yields
//!   three times and wakes them (safety.rs), i.e. they poll the ring in a loop. One
//!   current-thread tokio runtime per ringbench thread drives them.
//! * `Ring::new` silently falls back to an epoll backend when io_uring cannot be set up;
//!   [`SaferRingEngine::build`] detects that and fails instead.
#![deny(missing_docs)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::rc::Rc;

use safer_ring::{OwnedBuffer, Ring, SaferRingError};
use workloads::{
    AlignedBuf, BufResult, Caps, Engine, EngineInfo, Model, OpenHow, Route, Routes, RuntimeConfig,
};

/// The size of the submission queue safer-ring's epoll fallback reports as its `capacity()`
/// (backend/epoll.rs): an io_uring ring of another size cannot be mistaken for it.
const EPOLL_REPORTED_CAPACITY: u32 = 1024;

thread_local! {
    /// The ring of the engine whose `block_on` is running on this thread. Ops are associated
    /// functions (no `self`), so they find the ring here, as other runtimes find their driver.
    static CURRENT: RefCell<Option<Rc<Ring<'static>>>> = const { RefCell::new(None) };
    /// Recycled `OwnedBuffer`s by size, so a bounce buffer is not allocated (and its pages
    /// faulted in) for every op.
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

#[derive(Default)]
struct Pool {
    by_size: HashMap<usize, Vec<OwnedBuffer>>,
    /// Buffers kept per size: twice the queue depth of the engine last built on this thread.
    keep: usize,
}

fn take_buffer(size: usize) -> OwnedBuffer {
    POOL.with_borrow_mut(|p| p.by_size.get_mut(&size).and_then(Vec::pop))
        .unwrap_or_else(|| OwnedBuffer::new(size))
}

fn give_back(buf: OwnedBuffer) {
    POOL.with_borrow_mut(|p| {
        let keep = p.keep;
        let list = p.by_size.entry(buf.size()).or_default();
        if list.len() < keep {
            list.push(buf);
        }
    });
}

fn current_ring() -> Rc<Ring<'static>> {
    CURRENT
        .with_borrow(|r| r.clone())
        .expect("safer-ring op outside SaferRingEngine::block_on")
}

fn to_io(e: SaferRingError) -> io::Error {
    match e {
        SaferRingError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

/// Build a ring and make sure it is really io_uring, not safer-ring's epoll fallback.
fn io_uring_ring(entries: u32) -> io::Result<(Ring<'static>, u32)> {
    let mut ring = Ring::new(entries).map_err(to_io)?;
    // The kernel rounds the submission queue up to a power of two; the epoll fallback reports
    // a fixed size instead. Ask for a size that cannot collide with it.
    let asked = if entries.next_power_of_two() == EPOLL_REPORTED_CAPACITY {
        entries + 1
    } else {
        entries
    };
    if asked != entries {
        ring = Ring::new(asked).map_err(to_io)?;
    }
    let cap = ring.capacity();
    if cap != asked.next_power_of_two() {
        return Err(io::Error::other(format!(
            "safer-ring fell back to its epoll backend (ring capacity {cap}, an io_uring ring of {asked} entries \
             would report {}): io_uring could not be set up here",
            asked.next_power_of_two()
        )));
    }
    Ok((ring, cap))
}

/// The safer-ring engine.
pub struct SaferRingEngine {
    rt: tokio::runtime::Runtime,
    ring: Rc<Ring<'static>>,
    capacity: u32,
}

impl std::fmt::Debug for SaferRingEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaferRingEngine")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// Restores the previous thread-local ring when `block_on` returns or unwinds.
struct Enter(Option<Rc<Ring<'static>>>);

impl Drop for Enter {
    fn drop(&mut self) {
        let prev = self.0.take();
        CURRENT.with_borrow_mut(|r| *r = prev);
    }
}

impl Engine for SaferRingEngine {
    type File = File;

    /// A std listener: safer-ring 0.0.1 has no bind or listen (its socket ops are accept, send
    /// and recv on a descriptor the caller made: ring/core/network_operations.rs,
    /// ring/core/safe_operations.rs:299), so the socket comes from std, as its own docs do
    /// (future/io_futures/network_io.rs:40, `TcpListener::bind` then `ring.accept(fd)`).
    type Listener = std::net::TcpListener;

    fn listen_local() -> std::io::Result<(Self::Listener, std::net::SocketAddr)> {
        workloads::blocking::listen_local()
    }

    /// safer-ring's own accept: `Ring::accept_safe` (safe_operations.rs:299), an
    /// `IORING_OP_ACCEPT` on its hot-potato path (`&self`, so several can be in flight). The
    /// accepted descriptor comes back as a bare `RawFd`, which this closes at once. If the
    /// future is dropped after the kernel accepted, the completion goes to the orphan tracker,
    /// which frees the op's buffer and discards the result (ring/core/mod.rs:517-523): nobody
    /// closes that descriptor.
    async fn accept(l: &Self::Listener) -> std::io::Result<()> {
        let ring = current_ring();
        let fd = ring.accept_safe(l.as_raw_fd()).await.map_err(to_io)?;
        // SAFETY: the kernel just created `fd` for this accept; nothing else owns it.
        drop(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
        Ok(())
    }

    /// Unsupported: safer-ring is not an executor and has no spawn. Its futures are driven by
    /// the current-thread tokio runtime this engine supplies (they `tokio::spawn` a waker task
    /// while pending, safety.rs:274), so a task here would be tokio's, and the ring it needs is
    /// the engine's thread-local, set only inside `block_on`.
    fn spawn<F: std::future::Future<Output = ()> + 'static>(fut: F) -> Result<(), String> {
        drop(fut);
        Err(
            "safer-ring has no task spawning: it is a ring, not an executor (its futures run on \
             a tokio runtime the user supplies)"
                .into(),
        )
    }

    const INFO: EngineInfo = EngineInfo {
        name: "safer-ring",
        runtime: "safer-ring",
        summary: "safer-ring 0.0.1 read_at_owned/write_at_owned via bounce OwnedBuffers; open/fsync/close inline",
        model: Model::ThreadPerCore,
        caps: Caps {
            io_uring: true,
            // OwnedBuffer is an unaligned Box<[u8]>: O_DIRECT would fail with EINVAL.
            o_direct: false,
            concurrent_ops: true,
            // A dropped SafeOperationFuture hands its buffer to the orphan tracker; no cancel
            // is ever submitted, the op runs to completion (safety.rs `Drop for SafeOperation`).
            cancel_on_drop: false,
            does_io: true,
        },
        routes: Routes {
            open: Route::Inline,
            read: Route::Ring,
            write: Route::Ring,
            sync: Route::Inline,
            close: Route::Inline,
            ..Routes::INLINE
        },
    };

    fn probe() -> Result<(), String> {
        workloads::probe::io_uring()?;
        let mut e = Self::build(&RuntimeConfig::default()).map_err(|e| e.to_string())?;
        // One real positional read through the ring: the ELF magic of our own executable.
        let exe = File::open("/proc/self/exe").map_err(|e| format!("probe read setup: {e}"))?;
        let got = e.block_on(async {
            let (r, buf) = Self::read_at(&exe, AlignedBuf::new(4), 0).await;
            r.map(|_| buf.as_slice().to_vec())
        });
        match got {
            Ok(magic) if magic == b"\x7fELF" => Ok(()),
            Ok(other) => Err(format!(
                "safer-ring read_at_owned returned wrong bytes: {other:?}"
            )),
            Err(e) => Err(format!("safer-ring read_at_owned failed: {e}")),
        }
    }

    fn build(cfg: &RuntimeConfig) -> io::Result<Self> {
        // Built outside any tokio context on purpose: inside one, Ring::new also registers the
        // ring fd with tokio's IO driver (AsyncFd), which the owned-buffer futures never use.
        let (ring, capacity) = io_uring_ring(cfg.ring_entries)?;
        POOL.with_borrow_mut(|p| p.keep = p.keep.max(cfg.queue_depth.max(1) * 2));
        let rt = tokio::runtime::Builder::new_current_thread().build()?;
        Ok(SaferRingEngine {
            rt,
            ring: Rc::new(ring),
            capacity,
        })
    }

    fn block_on<F: std::future::Future>(&mut self, fut: F) -> F::Output {
        let prev = CURRENT.with_borrow_mut(|r| r.replace(Rc::clone(&self.ring)));
        let _restore = Enter(prev);
        self.rt.block_on(fut)
    }

    fn detail(&self) -> Option<String> {
        Some(format!(
            "io_uring backend, capacity={}, tokio current-thread executor",
            self.capacity
        ))
    }

    async fn open(path: &Path, how: OpenHow) -> io::Result<File> {
        workloads::blocking::open(path, how)
    }

    async fn read_at(file: &File, mut buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let ring = current_ring();
        let bounce = take_buffer(buf.capacity());
        match ring.read_at_owned(file.as_raw_fd(), bounce, pos).await {
            Ok((n, bounce)) => {
                {
                    let Some(data) = bounce.try_access() else {
                        return (
                            Err(io::Error::other(
                                "safer-ring returned a buffer it still owns",
                            )),
                            buf,
                        );
                    };
                    buf.spare_mut()[..n].copy_from_slice(&data[..n]);
                }
                buf.set_len(n);
                give_back(bounce);
                (Ok(n), buf)
            }
            // safer-ring drops its buffer on error (safety.rs: `map_err(..)?`); ours is intact.
            Err(e) => (Err(to_io(e)), buf),
        }
    }

    async fn write_at(file: &File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let ring = current_ring();
        let len = buf.len();
        let bounce = take_buffer(len);
        {
            let Some(mut data) = bounce.try_access() else {
                return (
                    Err(io::Error::other(
                        "pooled safer-ring buffer still owned by the kernel",
                    )),
                    buf,
                );
            };
            data[..len].copy_from_slice(buf.as_slice());
        }
        match ring
            .write_at_owned(file.as_raw_fd(), bounce, pos, len)
            .await
        {
            Ok((n, bounce)) => {
                give_back(bounce);
                (Ok(n), buf)
            }
            Err(e) => (Err(to_io(e)), buf),
        }
    }

    async fn sync(file: &File) -> io::Result<()> {
        file.sync_all()
    }

    async fn close(file: File) -> io::Result<()> {
        workloads::blocking::close(file)
    }
}

#[cfg(test)]
mod tests {
    // safer-ring submits an op (and enters the kernel) when the op is created, before its
    // first poll, and the kernel completes a read or write of cached data inside that very
    // io_uring_enter: measured here, every cancel of the `read` and `write` cases was vacuous,
    // and at times every one of `large`.
    workloads::conformance_tests!(
        crate::SaferRingEngine,
        vacuous_cancels: "safer-ring submits each op when it is created, and the kernel \
                          completed it (cached data) before the first poll returned"
    );

    use workloads::{Engine, RuntimeConfig};

    /// `accept` is safer-ring's `accept_safe` and really accepts (and closes) a connection.
    #[test]
    fn accept_through_the_ring() {
        if !workloads::conformance::available::<crate::SaferRingEngine>() {
            return;
        }
        let mut e = crate::SaferRingEngine::build(&RuntimeConfig::default()).unwrap();
        let (l, addr) = e
            .block_on(async { crate::SaferRingEngine::listen_local() })
            .unwrap();
        let c = std::net::TcpStream::connect(addr).unwrap();
        e.block_on(crate::SaferRingEngine::accept(&l)).unwrap();
        // The server side was closed: the client reads end of stream.
        let mut b = [0u8; 1];
        assert_eq!(std::io::Read::read(&mut &c, &mut b).unwrap(), 0);
        assert!(crate::SaferRingEngine::spawn(async {}).is_err());
    }

    /// The ring is io_uring with the size asked for (rounded up by the kernel), never the
    /// epoll fallback, including a size that would collide with what the fallback reports.
    #[test]
    fn ring_is_io_uring() {
        if !workloads::conformance::available::<crate::SaferRingEngine>() {
            return;
        }
        for entries in [100u32, crate::EPOLL_REPORTED_CAPACITY] {
            let cfg = RuntimeConfig {
                ring_entries: entries,
                ..RuntimeConfig::default()
            };
            let e = crate::SaferRingEngine::build(&cfg).unwrap();
            assert!(
                e.capacity >= entries && e.capacity.is_power_of_two(),
                "{entries}: {}",
                e.capacity
            );
            assert_ne!(e.capacity, crate::EPOLL_REPORTED_CAPACITY);
        }
    }
}
