//! The tools the scenarios share: proving ops pending, letting the runtime run for a while,
//! a helper thread that feeds or drains pipes, and raw pipe plumbing.
//!
//! Timings are short on purpose (the whole matrix must run in well under a minute) but each has
//! a margin of an order of magnitude over what it waits for on an idle machine.

use std::future::{Future, poll_fn};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::sync::mpsc;
use std::task::Poll;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{AlignedBuf, Engine};

/// How long an op must stay pending, polled inside the runtime, to count as in flight.
pub const WINDOW: Duration = Duration::from_millis(20);
/// Pause between polls: each `Pending` hands the runtime a turn to submit and reap.
pub const TURN: Duration = Duration::from_millis(1);
/// How long to let the runtime and the kernel act after a drop (late completions, cancels).
pub const SETTLE: Duration = Duration::from_millis(60);
/// When the helper acts on its own: the op blocked the runtime thread, so nobody can signal.
/// Well past the window and the turn that precede the signal, so the helper never acts early
/// on a runtime that did not block.
pub const FALLBACK: Duration = Duration::from_millis(300);
/// Deadline for reading what remains through the same handle.
pub const REMAINDER: Duration = Duration::from_millis(400);
/// How long descriptors may take to close after a scenario before extra ones count as leaked:
/// some runtimes close on a helper thread or in the kernel's deferred work after their
/// executor is gone. The time it took is recorded in the evidence.
pub const FD_SETTLE: Duration = Duration::from_millis(500);

/// How a polled op ended within its window.
pub enum Polled<T> {
    /// Completed during its very first poll: it could never be pending.
    FirstPoll(T),
    /// Completed later, before the window ended: it was not in flight for long enough.
    InWindow(T),
    /// Still pending when the window ended: in flight.
    Pending,
}

/// Poll every future in `futs` inside the runtime, letting the runtime run ([`Engine::sleep`]
/// for a [`TURN`]) between rounds, until all completed or `window` passed. Completed futures
/// are not polled again.
pub async fn poll_all_for<E: Engine, F: Future>(
    futs: &mut [Pin<Box<F>>],
    window: Duration,
) -> Vec<Polled<F::Output>> {
    let mut out: Vec<Polled<F::Output>> = futs.iter().map(|_| Polled::Pending).collect();
    let until = Instant::now() + window;
    let mut round = 0u32;
    loop {
        poll_fn(|cx| {
            for (f, o) in futs.iter_mut().zip(out.iter_mut()) {
                if matches!(o, Polled::Pending) {
                    if let Poll::Ready(v) = f.as_mut().poll(cx) {
                        *o = if round == 0 {
                            Polled::FirstPoll(v)
                        } else {
                            Polled::InWindow(v)
                        };
                    }
                }
            }
            Poll::Ready(())
        })
        .await;
        round += 1;
        if out.iter().all(|o| !matches!(o, Polled::Pending)) || Instant::now() >= until {
            return out;
        }
        E::sleep(TURN).await;
    }
}

/// Let the runtime run for `d`.
pub async fn settle<E: Engine>(d: Duration) {
    E::sleep(d).await
}

/// Read from `file` through the engine until end of stream, an error, or `deadline`; append
/// what arrives to `sink`. Returns how it ended, in words.
pub async fn read_remaining<E: Engine>(
    file: &E::File,
    block: usize,
    deadline: Duration,
    sink: &mut Vec<u8>,
) -> String {
    let until = Instant::now() + deadline;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return "deadline".into();
        }
        let mut futs = vec![Box::pin(E::read_stream(file, AlignedBuf::new(block)))];
        let r = poll_all_for::<E, _>(&mut futs, left)
            .await
            .pop()
            .expect("one future");
        match r {
            Polled::FirstPoll((r, buf)) | Polled::InWindow((r, buf)) => match r {
                Ok(0) => return "end of stream".into(),
                Ok(n) => sink.extend_from_slice(&buf.as_slice()[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return format!("error: {e}"),
            },
            Polled::Pending => return "deadline (a read was still pending)".into(),
        }
    }
}

/// A thread that runs `job` when told to ([`Helper::go`]), or on its own after a fallback delay
/// (when the op under test blocked the runtime thread, nobody can tell it).
pub struct Helper<T> {
    go: Option<mpsc::Sender<()>>,
    handle: Option<JoinHandle<(T, bool)>>,
}

impl<T: Send + 'static> Helper<T> {
    /// Start the thread; `job` runs after `go()` or after `fallback`.
    pub fn spawn(fallback: Duration, job: impl FnOnce() -> T + Send + 'static) -> Helper<T> {
        let (tx, rx) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("safety-helper".into())
            .spawn(move || {
                let by_fallback = rx.recv_timeout(fallback).is_err();
                (job(), by_fallback)
            })
            .expect("spawn helper thread");
        Helper {
            go: Some(tx),
            handle: Some(handle),
        }
    }

    /// Tell the helper to act now.
    pub fn go(&mut self) {
        if let Some(tx) = self.go.take() {
            let _ = tx.send(());
        }
    }

    /// Wait for the job's result, and whether it ran on the fallback timer.
    pub fn join(mut self) -> (T, bool) {
        self.go();
        let h = self.handle.take().expect("joined once");
        h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
    }
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A pipe `(read end, write end)`, close-on-exec, blocking.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: pipe2 just returned these descriptors; we own them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Set a pipe's capacity; returns what the kernel granted.
pub fn set_pipe_size(fd: &OwnedFd, size: usize) -> io::Result<usize> {
    // SAFETY: fcntl on a descriptor we own.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, size as libc::c_int) })
        .map(|n| n as usize)
}

/// Make a descriptor non-blocking (this open file description only).
pub fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    let fl = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK) }).map(drop)
}

/// The path that opens the same pipe (a new open file description of it) through the engine.
pub fn proc_path(fd: &OwnedFd) -> std::path::PathBuf {
    format!("/proc/self/fd/{}", fd.as_raw_fd()).into()
}

/// `write(2)` once; `WouldBlock` when a non-blocking pipe is full.
pub fn write_raw(fd: &OwnedFd, data: &[u8]) -> io::Result<usize> {
    // SAFETY: `data` is valid for `data.len()` bytes.
    let n = unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Write all of `data` (blocking descriptor).
pub fn write_all_raw(fd: &OwnedFd, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match write_raw(fd, data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Fill a non-blocking pipe until it is full; returns the bytes written (content from `fill`).
pub fn fill_pipe(fd: &OwnedFd, fill: &[u8]) -> io::Result<usize> {
    let mut total = 0;
    loop {
        match write_raw(fd, fill) {
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(total),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Read from `fd` until end of stream, or until nothing arrived for `idle`, or `deadline`.
/// Returns the bytes and how it ended.
pub fn drain(fd: &OwnedFd, idle: Duration, deadline: Duration) -> (Vec<u8>, String) {
    let until = Instant::now() + deadline;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (out, "deadline".into());
        }
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let wait = left.min(idle).as_millis() as libc::c_int;
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, wait) };
        if r == 0 {
            return (out, "idle".into());
        }
        if r < 0 {
            continue; // EINTR
        }
        // SAFETY: `buf` is valid for its length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            0 => return (out, "end of stream".into()),
            n if n > 0 => out.extend_from_slice(&buf[..n as usize]),
            _ => {
                let e = io::Error::last_os_error();
                if !matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                ) {
                    return (out, format!("error: {e}"));
                }
            }
        }
    }
}

/// Seeded content for a payload.
pub fn payload(seed: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    crate::data::fill(seed, 0, &mut v);
    v
}

/// Open descriptors by number, with what each points at (`readlink /proc/self/fd/N`: a path,
/// `pipe:[..]`, `anon_inode:[io_uring]`, ...), so a leak can say what leaked.
pub fn fd_table() -> std::collections::BTreeMap<i32, String> {
    let mut out = std::collections::BTreeMap::new();
    let own = std::path::PathBuf::from(format!("/proc/{}/fd", std::process::id()));
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(n) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        if let Ok(t) = std::fs::read_link(e.path()) {
            // The listing's own descriptor (`/proc/<pid>/fd`) is not the process's.
            if t == own {
                continue;
            }
            out.insert(n, t.to_string_lossy().into_owned());
        }
    }
    out
}

/// Current open descriptors as a signed count.
pub fn fds() -> i64 {
    crate::alloc::fd_count().map(|n| n as i64).unwrap_or(-1)
}

/// Run `f`, turning a panic into its message.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic".into())
    })
}
