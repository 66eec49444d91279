//! The tokio reproducers, shared by `tests/repro.rs` (a plain current-thread runtime: `File` on
//! the blocking pool) and `tests/repro_io_uring.rs` (the same with `enable_io_uring()`): the
//! same code against tokio's public API — `Builder`, `tokio::fs::File` with `AsyncReadExt` /
//! `AsyncWriteExt`, `tokio::time`, `tokio::spawn`, `tokio::net` — and never through the crate's
//! `Engine` impls (that is the harness). `URING` picks the builder.
//!
//! A future is "polled once" with `poll_fn` inside `block_on` and kept outside it, so the
//! runtime gets turns (a `tokio::time::sleep`) while the future itself is not polled again;
//! dropping it outside `block_on` is a drop before the runtime's next turn.
//!
//! Every oracle is raw (`workloads::repro::raw`, libc): descriptor counts, `FIONREAD`, drains.
//! Each scenario subtracts the descriptors that the same steps leave open with no drop at all
//! ([`baseline`]).

use std::future::{Future, poll_fn};
use std::os::fd::{AsRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::mpsc;
use std::task::Poll;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::{Builder, Runtime};
use workloads::repro::Seen;
use workloads::repro::raw::{self, payload, proc_path, set_pipe_size};

const BLOCK: usize = 4096;
/// How long an op is polled inside the runtime to call it pending.
const WINDOW: Duration = Duration::from_millis(20);
/// The runtime's turn after a drop.
const TURN: Duration = Duration::from_millis(60);
/// When a helper supplies data on its own: a wait that ends only then is a hang.
const FALLBACK: Duration = Duration::from_millis(300);
/// Deadline of a read through the same handle after a drop.
const REMAINDER: Duration = Duration::from_millis(400);
/// How long descriptors may take to close.
const FD_SETTLE: Duration = Duration::from_millis(500);

/// A current-thread runtime with a timer; with `URING`, tokio's io_uring backend as its docs
/// show it (`enable_io_uring`), otherwise no IO driver, so `tokio::fs` stays on the blocking
/// pool in this `--cfg tokio_unstable` build (enabling IO *is* enabling the ring in tokio
/// 1.54.1, runtime/builder.rs:1975).
fn runtime<const URING: bool>() -> Runtime {
    let mut b = Builder::new_current_thread();
    b.enable_time();
    #[cfg(tokio_unstable)]
    if URING {
        b.enable_io_uring();
    }
    b.build().expect("build a tokio runtime")
}

/// io_uring instances open in this process (`anon_inode:[io_uring]`): says which backend ran.
fn rings() -> i64 {
    raw::fds_of(std::path::Path::new("anon_inode:[io_uring]"))
}

fn set_nonblocking(fd: &OwnedFd) {
    // SAFETY: F_GETFL/F_SETFL on a descriptor we own.
    unsafe {
        let fl = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
}

/// Let the runtime run for `d` (its own timer; created inside the runtime, which it needs).
fn turn(rt: &Runtime, d: Duration) {
    rt.block_on(async { tokio::time::sleep(d).await })
}

/// Poll `fut` exactly once inside the runtime.
fn poll_once<F: Future + ?Sized>(rt: &Runtime, fut: Pin<&mut F>) -> Poll<F::Output> {
    let mut fut = Some(fut);
    rt.block_on(poll_fn(|cx| {
        Poll::Ready(fut.take().expect("polled once").poll(cx))
    }))
}

/// Poll once, then let the runtime run for [`WINDOW`] without polling `fut` again: whether it
/// completed during that first poll.
fn poll_and_turn<F: Future + ?Sized>(rt: &Runtime, fut: Pin<&mut F>) -> Poll<F::Output> {
    let p = poll_once(rt, fut);
    turn(rt, WINDOW);
    p
}

/// A thread that runs `job` when told to, or by itself after [`FALLBACK`]: a wait that ends
/// only after it ran on its own is a hang.
struct Helper<T> {
    go: mpsc::Sender<()>,
    done: JoinHandle<(T, bool)>,
}

impl<T: Send + 'static> Helper<T> {
    fn spawn(job: impl FnOnce() -> T + Send + 'static) -> Helper<T> {
        let (go, rx) = mpsc::channel::<()>();
        let done = std::thread::spawn(move || {
            let by_fallback = rx.recv_timeout(FALLBACK).is_err();
            (job(), by_fallback)
        });
        Helper { go, done }
    }

    /// Tell it to run now; its result and whether it had already run on its fallback.
    fn join(self) -> (T, bool) {
        let _ = self.go.send(());
        self.done.join().expect("helper thread")
    }
}

/// Read through `f` until EOF or `REMAINDER` passed; what was read.
async fn read_rest(f: &mut tokio::fs::File, into: &mut Vec<u8>) -> String {
    let mut buf = vec![0u8; BLOCK];
    loop {
        match tokio::time::timeout(REMAINDER, f.read(&mut buf)).await {
            Ok(Ok(0)) => return "EOF".into(),
            Ok(Ok(n)) => into.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => return format!("error {e}"),
            Err(_) => return format!("no data for {} ms", REMAINDER.as_millis()),
        }
    }
}

/// Descriptors the same steps leave open with no drop: a runtime built, a pipe end opened
/// through it and read to the end, the file dropped, the runtime dropped.
pub fn baseline<const URING: bool>() -> i64 {
    let before = raw::fds();
    {
        let (r, w) = raw::pipe();
        let rt = runtime::<URING>();
        let mut f = rt
            .block_on(tokio::fs::File::open(proc_path(&r)))
            .expect("open");
        drop(r);
        raw::write_all(&w, &[7u8; BLOCK]);
        drop(w);
        let mut got = Vec::new();
        rt.block_on(read_rest(&mut f, &mut got));
        drop(f);
        drop(rt);
    }
    raw::extra_fds(before, FD_SETTLE)
}

/// `read-drop`: one read of an empty pipe, pending, dropped; a turn; 8192 B sent and the
/// write end closed; the rest read through the same handle to EOF.
pub fn read_drop<const URING: bool>() -> Seen {
    let base = baseline::<URING>();
    let mut seen = Seen::default();
    let before = raw::fds();
    let (r, w) = raw::pipe();
    let rt = runtime::<URING>();
    let mut f = rt
        .block_on(tokio::fs::File::open(proc_path(&r)))
        .expect("open the read end");
    drop(r);
    let mut got = Vec::new();
    {
        let mut buf = vec![0u8; BLOCK];
        let mut read = Box::pin(f.read(&mut buf));
        match poll_and_turn(&rt, read.as_mut()) {
            Poll::Pending => seen.notes.push("read pending after 20 ms: dropped".into()),
            Poll::Ready(r) => seen.notes.push(format!("read completed at once: {r:?}")),
        }
    }
    turn(&rt, TURN);
    seen.notes
        .push(format!("io_uring instances in the process: {}", rings()));
    let sent = payload(2 * BLOCK, 1);
    raw::write_all(&w, &sent);
    drop(w);
    let how = rt.block_on(read_rest(&mut f, &mut got));
    seen.lost_bytes = (sent.len() as u64).saturating_sub(got.len() as u64);
    seen.notes.push(format!(
        "then read {} of {} B through the same handle (ended by {how}){}",
        got.len(),
        sent.len(),
        if got == sent { ", in order" } else { "" }
    ));
    drop(f);
    drop(rt);
    raw::leaked_beyond(before, base, FD_SETTLE, &mut seen);
    seen
}

/// `read-race`: one read polled once and given a turn (waiting: the pipe is empty); 4096 B
/// written raw from this thread; `FIONREAD` shows whether the op consumed them; the future
/// dropped before the runtime's next turn; a second read through the same handle, then the
/// write end closed and a raw drain of the rest.
pub fn read_race<const URING: bool>() -> Seen {
    let base = baseline::<URING>();
    let mut seen = Seen::default();
    let before = raw::fds();
    let (r, w) = raw::pipe();
    set_nonblocking(&r);
    let rt = runtime::<URING>();
    let mut f = rt
        .block_on(tokio::fs::File::open(proc_path(&r)))
        .expect("open the read end");
    let sent = payload(BLOCK, 2);
    {
        let mut buf = vec![0u8; BLOCK];
        let mut read = Box::pin(f.read(&mut buf));
        if let Poll::Ready(r) = poll_and_turn(&rt, read.as_mut()) {
            seen.notes.push(format!("read completed at once: {r:?}"));
        }
        raw::write_all(&w, &sent);
        // Wait (no runtime turn) until something other than the pipe took the bytes.
        let t = Instant::now();
        while raw::pending(&r) > 0 && t.elapsed() < REMAINDER {
            std::thread::sleep(Duration::from_millis(1));
        }
        let left = raw::pending(&r);
        seen.raced = Some(left == 0);
        seen.notes.push(format!(
            "4096 B written; FIONREAD {left} B after {:.1} ms: {}",
            t.elapsed().as_secs_f64() * 1e3,
            if left == 0 {
                "the pending read consumed them before its future was dropped"
            } else {
                "still in the pipe (the read had not consumed them)"
            }
        ));
    }
    let mut got = Vec::new();
    let mut buf = vec![0u8; BLOCK];
    match rt.block_on(async { tokio::time::timeout(REMAINDER, f.read(&mut buf)).await }) {
        Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        Ok(Err(e)) => seen.notes.push(format!("second read failed: {e}")),
        Err(_) => seen.notes.push("second read: nothing within 400 ms".into()),
    }
    let second = got.len();
    drop(w);
    let rest = raw::drain(&r, Duration::from_millis(50));
    got.extend_from_slice(&rest);
    seen.lost_bytes = (sent.len() as u64).saturating_sub(got.len() as u64);
    seen.notes.push(format!(
        "second read through the same handle: {second} B; raw drain: {} B{}",
        rest.len(),
        if got == sent {
            " (exactly what was sent)"
        } else {
            ""
        }
    ));
    drop(f);
    drop(rt);
    drop(r);
    raw::leaked_beyond(before, base, FD_SETTLE, &mut seen);
    seen
}

/// `write-drop`: a 4096 B pipe filled; its write end opened through the runtime; a 4096 B
/// write, pending, dropped; a turn; a raw reader drains; bytes past the fill are a ghost write
/// when the write's future was dropped pending.
pub fn write_drop<const URING: bool>() -> Seen {
    let base = baseline::<URING>();
    let mut seen = Seen::default();
    let before = raw::fds();
    let (r, w) = raw::pipe();
    let cap = set_pipe_size(&w, BLOCK);
    let rt = runtime::<URING>();
    let mut f = rt
        .block_on(
            tokio::fs::OpenOptions::new()
                .write(true)
                .open(proc_path(&w)),
        )
        .expect("open the write end");
    set_nonblocking(&w);
    let fill = payload(cap, 3);
    raw::write_all(&w, &fill);
    drop(w);
    set_nonblocking(&r);
    let data = payload(BLOCK, 4);
    let mut dropped_pending = false;
    {
        let mut write = Box::pin(f.write(&data));
        match poll_and_turn(&rt, write.as_mut()) {
            Poll::Pending => {
                dropped_pending = true;
                seen.notes.push("write pending after 20 ms: dropped".into());
            }
            Poll::Ready(res) => seen.notes.push(format!(
                "write completed during its first poll ({res:?}) with the pipe still full \
                 (FIONREAD {}): tokio acknowledged it before any byte reached the pipe",
                raw::pending(&r)
            )),
        }
    }
    turn(&rt, TURN);
    // Drain while the runtime waits for the write to finish (flush), then close like a user.
    let drainer = std::thread::spawn(move || {
        let out = raw::drain(&r, Duration::from_millis(150));
        (out, r)
    });
    let flushed =
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(2), f.flush()).await });
    drop(f);
    let (out, r) = drainer.join().expect("drainer");
    drop(r);
    let landed = out.len().saturating_sub(fill.len()) as u64;
    seen.notes.push(format!(
        "drained {} B: {} B of fill, then {landed} B (flush: {flushed:?})",
        out.len(),
        fill.len()
    ));
    if dropped_pending {
        seen.ghost_bytes = landed;
    }
    drop(rt);
    raw::leaked_beyond(before, base, FD_SETTLE, &mut seen);
    seen
}

/// `runtime-drop` (`close` false) and `close-after-drop` (`close` true): a read of an empty
/// pipe pending, dropped; then either the handle dropped and the runtime dropped at once, or
/// the file closed the way tokio's docs say (`flush`, then drop: fs/file.rs:47-50) and the
/// runtime dropped; data is written only afterwards (or by the helper's fallback, which makes
/// the wait a hang); a second raw reader drains.
fn drop_then<const URING: bool>(close: bool) -> Seen {
    let base = baseline::<URING>();
    let mut seen = Seen::default();
    let before = raw::fds();
    let (r, w) = raw::pipe();
    set_nonblocking(&r);
    let sent = payload(2 * BLOCK, 5);
    let data = sent.clone();
    let helper = Helper::spawn(move || {
        raw::write_all(&w, &data);
        drop(w);
    });
    let rt = runtime::<URING>();
    let mut f = rt
        .block_on(tokio::fs::File::open(proc_path(&r)))
        .expect("open the read end");
    {
        let mut buf = vec![0u8; BLOCK];
        let mut read = Box::pin(f.read(&mut buf));
        if let Poll::Ready(r) = poll_and_turn(&rt, read.as_mut()) {
            seen.notes.push(format!("read completed at once: {r:?}"));
        }
    }
    let t = Instant::now();
    if close {
        let r = rt.block_on(f.flush());
        drop(rt.block_on(async { f }));
        seen.notes.push(format!(
            "flush + drop (tokio's close) right after the drop returned {r:?} after {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        ));
    } else {
        drop(f);
    }
    let t2 = Instant::now();
    drop(rt);
    seen.notes.push(format!(
        "runtime dropped in {:.1} ms ({:.1} ms after the read's drop)",
        t2.elapsed().as_secs_f64() * 1e3,
        t.elapsed().as_secs_f64() * 1e3
    ));
    // The data is supplied only now, unless the wait above outlasted the helper's fallback.
    let ((), by_fallback) = helper.join();
    seen.hang = by_fallback;
    std::thread::sleep(TURN);
    let got = raw::drain(&r, Duration::from_millis(50));
    let missing = (sent.len() as u64).saturating_sub(got.len() as u64);
    seen.notes.push(format!(
        "{}; the second reader drained {} of {} B",
        if seen.hang {
            format!(
                "HANG: the wait ended only once the helper wrote on its {} ms fallback",
                FALLBACK.as_millis()
            )
        } else {
            "no wait for data".into()
        },
        got.len(),
        sent.len()
    ));
    // A hang is reported as a hang; bytes that then went nowhere (the op the wait ended took
    // them into a buffer nobody reads) are reported as well: the user loses them either way.
    seen.lost_bytes = missing;
    if seen.hang {
        seen.notes.push(format!(
            "{missing} B taken by the op whose wait the data ended"
        ));
    }
    drop(r);
    raw::leaked_beyond(before, base, FD_SETTLE, &mut seen);
    seen
}

/// `runtime-drop`.
pub fn runtime_drop<const URING: bool>() -> Seen {
    drop_then::<URING>(false)
}

/// `close-after-drop`.
pub fn close_after_drop<const URING: bool>() -> Seen {
    drop_then::<URING>(true)
}

/// `shutdown-live-task`: a task spawned with `tokio::spawn` owns the pipe's read end (opened
/// through the runtime) and awaits a read; `block_on` returns once it is pending; the runtime
/// is dropped from this thread, which keeps running; data is written; a dup of the read end
/// kept from before drains.
pub fn shutdown_live_task<const URING: bool>() -> Seen {
    let base = baseline::<URING>();
    let mut seen = Seen::default();
    let before = raw::fds();
    let (r, w) = raw::pipe();
    set_nonblocking(&r);
    let sent = payload(2 * BLOCK, 6);
    let data = sent.clone();
    let helper = Helper::spawn(move || {
        raw::write_all(&w, &data);
        drop(w);
    });
    let rt = runtime::<URING>();
    let path = proc_path(&r);
    let (tx, rx) = mpsc::channel::<usize>();
    rt.block_on(async move {
        let mut f = tokio::fs::File::open(path).await.expect("open");
        tokio::spawn(async move {
            let mut buf = vec![0u8; BLOCK];
            let n = f.read(&mut buf).await.unwrap_or(0);
            let _ = tx.send(n);
        });
        tokio::time::sleep(WINDOW).await;
    });
    let pending = rx.try_recv().is_err();
    seen.notes.push(format!(
        "block_on returned with the task's read {}",
        if pending { "pending" } else { "completed" }
    ));
    let t = Instant::now();
    drop(rt);
    let waited = t.elapsed();
    let ((), by_fallback) = helper.join();
    seen.hang = by_fallback;
    std::thread::sleep(TURN);
    let got = raw::drain(&r, Duration::from_millis(50));
    let missing = (sent.len() as u64).saturating_sub(got.len() as u64);
    seen.notes.push(format!(
        "runtime dropped in {:.1} ms{}; the raw reader drained {} of {} B",
        waited.as_secs_f64() * 1e3,
        if seen.hang {
            format!(
                " (HANG: it returned only once the helper wrote on its {} ms fallback)",
                FALLBACK.as_millis()
            )
        } else {
            String::new()
        },
        got.len(),
        sent.len()
    ));
    // As in `drop_then`: the hang, and the bytes that went nowhere once it ended.
    seen.lost_bytes = missing;
    if seen.hang {
        seen.notes
            .push(format!("{missing} B taken by the op the drop waited for"));
    }
    drop(r);
    raw::leaked_beyond(before, base, FD_SETTLE, &mut seen);
    seen
}

/// `write-timeout-file`: a regular file opened for writing through the runtime; a 64 KiB write
/// at offset 0 dropped (a) right after its first poll, (b) once its bytes are visible in the
/// file through a raw descriptor, the future not polled again; likewise an fsync (`sync_all`).
/// Bytes of a write dropped pending that landed are a ghost write. (`tokio-io-uring`'s path;
/// the plain engine's positional write is [`write_timeout_file_pool`].)
#[allow(dead_code)] // used by repro_io_uring.rs only
pub fn write_timeout_file<const URING: bool>() -> Seen {
    let base = baseline::<URING>();
    let mut seen = Seen::default();
    let before = raw::fds();
    let dir = std::env::temp_dir().join(format!("ringbench-repro-wtf-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let rt = runtime::<URING>();
    let data = payload(64 * 1024, 7);
    for case in ["a", "b"] {
        let path = dir.join(case);
        let _ = std::fs::remove_file(&path);
        let mut f = rt
            .block_on(
                tokio::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path),
            )
            .expect("open");
        let mut dropped_pending = false;
        {
            let mut write = Box::pin(f.write(&data));
            let first = poll_once(&rt, write.as_mut());
            let size_now = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if case == "b" && first.is_pending() {
                // Turns for the runtime until the bytes are in the file, not polling `write`.
                let t = Instant::now();
                while std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) < data.len() as u64
                    && t.elapsed() < REMAINDER
                {
                    turn(&rt, Duration::from_millis(1));
                }
                seen.raced = Some(
                    std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) >= data.len() as u64,
                );
            }
            match first {
                Poll::Pending => {
                    dropped_pending = true;
                    seen.notes.push(format!("({case}) write pending: dropped"));
                }
                Poll::Ready(r) => {
                    seen.notes.push(format!(
                        "({case}) write completed during its first poll ({r:?}) when the file held {size_now} B: \
                         nothing to drop (tokio copied it into File's buffer; the pool writes it later)"
                    ));
                    if case == "b" {
                        seen.raced = Some(false);
                    }
                }
            }
        }
        // Let whatever is in flight finish, then look at the file raw.
        turn(&rt, TURN);
        let landed = std::fs::read(&path).map(|v| v.len()).unwrap_or(0) as u64;
        seen.notes
            .push(format!("({case}) {landed} B in the file afterwards"));
        if dropped_pending {
            seen.ghost_bytes += landed;
        }
        // The fsync, dropped after its first poll.
        {
            let mut sync = Box::pin(f.sync_all());
            let p = poll_once(&rt, sync.as_mut());
            seen.notes.push(format!(
                "({case}) sync_all {} at its first poll",
                if p.is_pending() {
                    "pending, dropped"
                } else {
                    "completed"
                }
            ));
        }
        rt.block_on(async {
            let _ = f.flush().await;
            drop(f);
        });
    }
    drop(rt);
    let _ = std::fs::remove_dir_all(&dir);
    raw::leaked_beyond(before, base, FD_SETTLE, &mut seen);
    seen
}

/// `accept-drop` through `tokio::net::TcpListener` (the `tokio-io-uring` runtime): 4 accepts
/// polled once and given a turn (no client yet); 4 clients connect from this thread; wait for
/// the kernel to complete the accepts (new descriptors) without polling the futures; drop them.
#[allow(dead_code)] // used by repro_io_uring.rs only
pub fn accept_drop_net<const URING: bool>() -> Seen {
    let mut seen = Seen::default();
    let rt = runtime::<URING>();
    // The baseline: a listener bound, one accept completed and its socket closed, all dropped.
    let base = {
        let b = raw::fds();
        let l = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let a = l.local_addr().expect("addr");
        let c = std::net::TcpStream::connect(a).expect("connect");
        drop(rt.block_on(l.accept()));
        drop((c, l));
        raw::extra_fds(b, FD_SETTLE)
    };
    let before = raw::fds();
    let l = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    {
        let mut accepts: Vec<_> = (0..4).map(|_| Box::pin(l.accept())).collect();
        let mut pending = 0;
        for a in accepts.iter_mut() {
            pending += poll_once(&rt, a.as_mut()).is_pending() as usize;
        }
        turn(&rt, WINDOW);
        let fds_then = raw::fds();
        let clients: Vec<_> = (0..4)
            .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
            .collect();
        // New server-side descriptors beyond the 4 clients' own, with runtime turns but no poll
        // of the accept futures.
        let t = Instant::now();
        while raw::fds() < fds_then + 8 && t.elapsed() < Duration::from_millis(300) {
            turn(&rt, Duration::from_millis(2));
        }
        let accepted = raw::fds() - fds_then - 4;
        seen.raced = Some(accepted > 0);
        seen.notes.push(format!(
            "{pending} of 4 accepts pending; 4 clients connected; {accepted} accepted descriptors appeared \
             within {:.0} ms without polling the futures",
            t.elapsed().as_secs_f64() * 1e3
        ));
        drop(accepts);
        drop(clients);
    }
    drop(l);
    turn(&rt, TURN);
    raw::leaked_beyond(before, base, FD_SETTLE, &mut seen);
    drop(rt);
    seen
}

/// `accept-drop` the way the plain `tokio` engine accepts (it has no IO driver, see its
/// `Listener`): a blocking std `accept` on tokio's pool (`spawn_blocking`), which closes what it
/// accepts. The accepts count as completed once their `JoinHandle::is_finished()`.
#[allow(dead_code)] // used by repro.rs only
pub fn accept_drop_pool() -> Seen {
    use std::sync::Arc;
    let mut seen = Seen::default();
    let rt = runtime::<false>();
    let accept = |l: &Arc<std::net::TcpListener>| {
        let l = Arc::clone(l);
        tokio::task::spawn_blocking(move || l.accept().map(drop))
    };
    let base = {
        let b = raw::fds();
        let l = Arc::new(std::net::TcpListener::bind("127.0.0.1:0").expect("bind"));
        let c = std::net::TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
        let _ = rt.block_on(async { accept(&l).await });
        drop((c, l));
        raw::extra_fds(b, FD_SETTLE)
    };
    let before = raw::fds();
    let l = Arc::new(std::net::TcpListener::bind("127.0.0.1:0").expect("bind"));
    let addr = l.local_addr().expect("addr");
    {
        let mut accepts: Vec<_> = rt.block_on(async { (0..4).map(|_| accept(&l)).collect() });
        let mut pending = 0;
        for a in accepts.iter_mut() {
            pending += poll_once(&rt, Pin::new(a)).is_pending() as usize;
        }
        turn(&rt, WINDOW);
        let clients: Vec<_> = (0..4)
            .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
            .collect();
        let t = Instant::now();
        while !accepts.iter().all(|a| a.is_finished()) && t.elapsed() < REMAINDER {
            std::thread::sleep(Duration::from_millis(1));
        }
        let done = accepts.iter().filter(|a| a.is_finished()).count();
        seen.raced = Some(done > 0);
        seen.notes.push(format!(
            "{pending} of 4 accepts pending; 4 clients connected; {done} accepts finished on the pool before the drop"
        ));
        drop(accepts);
        drop(clients);
    }
    drop(l);
    drop(rt);
    raw::leaked_beyond(before, base, FD_SETTLE, &mut seen);
    seen
}

/// `write-timeout-file` the way the plain `tokio` engine writes at an offset (tokio's `File` has
/// no positional write): `spawn_blocking` of std's `pwrite` (`FileExt::write_at`) on a shared
/// file. The `JoinHandle` is polled once and dropped (a) at once, (b) once the bytes are in
/// the file; a dropped `JoinHandle` does not stop the blocking call. Bytes of (a) that reach
/// the file after its drop are a ghost write.
#[allow(dead_code)] // used by repro.rs only
pub fn write_timeout_file_pool() -> Seen {
    use std::os::unix::fs::FileExt;
    use std::sync::Arc;
    let base = baseline::<false>();
    let mut seen = Seen::default();
    let before = raw::fds();
    let dir = std::env::temp_dir().join(format!("ringbench-repro-wtp-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("file");
    let rt = runtime::<false>();
    let p = path.clone();
    let f = Arc::new(
        rt.block_on(async {
            tokio::task::spawn_blocking(move || std::fs::File::create(p))
                .await
                .expect("join")
        })
        .expect("create"),
    );
    let data = payload(64 * 1024, 8);
    let region = |off: usize| {
        let v = std::fs::read(&path).unwrap_or_default();
        v.get(off..off + data.len()).map_or(0, |r| {
            r.iter().zip(&data).take_while(|(a, b)| a == b).count()
        })
    };
    for (case, off) in [("a", 0usize), ("b", data.len())] {
        let (f2, d) = (Arc::clone(&f), data.clone());
        let mut h = {
            let _in = rt.enter(); // spawn_blocking needs the runtime's context, not a turn
            tokio::task::spawn_blocking(move || f2.write_at(&d, off as u64))
        };
        let first = poll_once(&rt, Pin::new(&mut h));
        if first.is_ready() {
            seen.notes.push(format!(
                "({case}) the write completed during its first poll"
            ));
            continue;
        }
        if case == "b" {
            let t = Instant::now();
            while region(off) < data.len() && t.elapsed() < REMAINDER {
                turn(&rt, Duration::from_millis(1));
            }
            seen.raced = Some(region(off) == data.len());
        }
        let at_drop = region(off);
        drop(h);
        turn(&rt, TURN);
        let at_end = region(off);
        seen.notes.push(format!(
            "({case}) pending at its first poll, dropped with {at_drop} B in the file; {at_end} B at the end"
        ));
        if case == "a" {
            seen.ghost_bytes += (at_end - at_drop) as u64;
        }
    }
    drop(f);
    drop(rt);
    let _ = std::fs::remove_dir_all(&dir);
    raw::leaked_beyond(before, base, FD_SETTLE, &mut seen);
    seen
}
