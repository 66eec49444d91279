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
pub const SETTLE: Duration = Duration::from_millis(40);
/// How long the helper waits for its signal while the scenario thread is inside an op's own
/// first poll (phase [`Wait::Op`]): a blocking engine (std) completes its ops there, and only
/// the helper's data can end that wait. Well past [`WINDOW`], so the helper never acts while a
/// non-blocking engine is still proving its op pending.
pub const OP_BOUND: Duration = Duration::from_millis(150);
/// How long the helper waits for its signal while the scenario thread is anywhere else (a
/// drop, a close, a runtime shutdown, a runtime turn): past this the wait is a **hang**, with
/// this bound. The helper then supplies its data anyway, to see whether the wait ends once the
/// data arrives (a wait that never ends is caught by the driver's deadline).
pub const HANG_BOUND: Duration = Duration::from_millis(400);
/// Deadline for reading what remains through the same handle.
pub const REMAINDER: Duration = Duration::from_millis(400);
/// How long descriptors may take to close after a scenario before extra ones count as leaked:
/// some runtimes close on a helper thread or in the kernel's deferred work after their
/// executor is gone. The time it took is recorded in the evidence.
pub const FD_SETTLE: Duration = Duration::from_millis(300);

/// What kind of wait the scenario thread is in: the helper's bound depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// An op's own wait inside its poll (blocking engines complete ops there): not a hang.
    Op,
    /// Anything else: a drop, a close, a runtime drop, a turn. Blocked past [`HANG_BOUND`] is a
    /// hang.
    Other,
}

/// Where the scenario thread is: a name for the evidence, and the kind of wait.
static PHASE: std::sync::Mutex<(&str, Wait)> = std::sync::Mutex::new(("start", Wait::Other));

/// Enter a phase: remembered for the helper (which judges a blocked thread by it) and printed on
/// stderr (the driver keeps a child's stderr tail, so a cell that hangs says where).
pub fn phase(name: &'static str, wait: Wait) {
    *PHASE.lock().unwrap_or_else(|p| p.into_inner()) = (name, wait);
    eprintln!("safety phase: {name}");
}

fn current_phase() -> (&'static str, Wait) {
    *PHASE.lock().unwrap_or_else(|p| p.into_inner())
}

/// A wait of the scenario thread that outlasted its bound, as the helper saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Blocked {
    /// The phase the thread was in.
    pub phase: &'static str,
    /// Its kind.
    pub wait: Wait,
    /// The bound that passed, ms.
    pub after_ms: u64,
}

thread_local! {
    /// This repeat's jitter generator (splitmix64 state; 0 = no jitter).
    static JITTER: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Seed the timing jitter of this thread (0 turns it off).
pub fn seed_jitter(seed: u64) {
    JITTER.with(|j| j.set(seed));
}

/// A uniform number in `[0, 1)` from the jitter generator; 0.5 without a seed.
pub fn jitter_unit() -> f64 {
    JITTER.with(|j| {
        let s = j.get();
        if s == 0 {
            return 0.5;
        }
        let s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        j.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// `d` scaled by a factor in `[0.7, 1.3)` (this repeat's jitter), so repeats do not all hit
/// the same interleaving.
pub fn jit(d: Duration) -> Duration {
    d.mul_f64(0.7 + 0.6 * jitter_unit())
}

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
    // A blocking engine completes its ops inside their first poll: that wait is the op's own.
    phase("the ops' first polls", Wait::Op);
    loop {
        poll_fn(|cx| {
            for (f, o) in futs.iter_mut().zip(out.iter_mut()) {
                if matches!(o, Polled::Pending)
                    && let Poll::Ready(v) = f.as_mut().poll(cx)
                {
                    *o = if round == 0 {
                        Polled::FirstPoll(v)
                    } else {
                        Polled::InWindow(v)
                    };
                }
            }
            Poll::Ready(())
        })
        .await;
        if round == 0 {
            phase("polling the ops in their window", Wait::Other);
        }
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

/// A thread that runs `job` when told to ([`Helper::go`]), or on its own once the scenario
/// thread has been blocked past its bound ([`OP_BOUND`] inside an op's own poll, [`HANG_BOUND`]
/// elsewhere): then nobody can tell it, and what it saw is returned as [`Blocked`].
pub struct Helper<T> {
    go: Option<mpsc::Sender<()>>,
    handle: Option<JoinHandle<(T, Option<Blocked>)>>,
}

impl<T: Send + 'static> Helper<T> {
    /// Start the thread; `job` runs after `go()` or after the bound of the current phase.
    pub fn spawn(job: impl FnOnce() -> T + Send + 'static) -> Helper<T> {
        let (tx, rx) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("safety-helper".into())
            .spawn(move || {
                let mut blocked = None;
                // The phase the thread is in when the helper starts counting, and since when.
                let mut seen = current_phase();
                let mut since = Instant::now();
                loop {
                    match rx.recv_timeout(Duration::from_millis(5)) {
                        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                    }
                    let now = current_phase();
                    if now != seen {
                        seen = now;
                        since = Instant::now();
                    }
                    let bound = match seen.1 {
                        Wait::Op => OP_BOUND,
                        Wait::Other => HANG_BOUND,
                    };
                    if since.elapsed() >= bound {
                        blocked = Some(Blocked {
                            phase: seen.0,
                            wait: seen.1,
                            after_ms: bound.as_millis() as u64,
                        });
                        break;
                    }
                }
                (job(), blocked)
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

    /// Wait for the job's result, and how long the thread was blocked if the helper acted on
    /// its own.
    pub fn join(mut self) -> (T, Option<Blocked>) {
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
