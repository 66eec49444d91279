//! Standalone reproducers of the `tokio-uring` engine's safety cells, written against
//! tokio-uring's public API only (`tokio_uring::Runtime`, `fs::File`, `fs::OpenOptions`,
//! `net::TcpListener`, `spawn`, and tokio's timer, which is the timer of a tokio-uring runtime:
//! `Runtime::new` builds its tokio runtime with `enable_all`), never through the crate's
//! `Engine` impl. The oracle is std, libc and `workloads::repro::raw`.
//!
//! `workloads::repro::main` runs each one and the harness's cell in forked children and
//! compares the kinds of finding; `RINGBENCH_REPRO_ONLY=1` prints what each reproducer saw.
//!
//! Every descriptor count is the scenario's delta **minus** its no-cancellation twin (the same
//! steps with the op awaited, or never issued), measured in the same child just before.
//! "A runtime turn" is the runtime's own timer (`tokio::time::sleep`), so it parks, flushes its
//! submission queue (`on_thread_park`) and reaps completions.

use std::cell::Cell;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bench_tokio_uring::TokioUringEngine;
use tokio_uring::fs::{File, OpenOptions};
use workloads::repro::Seen;
use workloads::repro::raw::{
    self, Feeder, Releaser, Scratch, fd_table, fds_of, fifo_reader, leaked_since, mkfifo, payload,
    poll_once, proc_path, set_pipe_size, wait_until, within,
};

/// Size of every op's buffer.
const BLOCK: usize = 4096;
/// How long an op is polled inside the runtime before it counts as pending (in flight).
const WINDOW: Duration = Duration::from_millis(20);
/// The runtime turn after a drop, before data arrives.
const SETTLE: Duration = Duration::from_millis(60);
/// When a wait that needs data gets it anyway from a helper thread (then it is a hang).
const FALLBACK: Duration = Duration::from_millis(300);
/// How long descriptors get to close late.
const FD_SETTLE: Duration = Duration::from_millis(500);

fn main() -> std::process::ExitCode {
    workloads::repro::main::<TokioUringEngine>(&[
        ("read-drop", read_drop),
        ("runtime-drop", runtime_drop),
        ("close-after-drop", close_after_drop),
        ("cancel-storm", cancel_storm),
        ("cancel-storm-small-ring", cancel_storm_small_ring),
        ("timeout-read", timeout_read),
        ("read-race", read_race),
        ("open-race", open_race),
        ("shutdown-live-task", shutdown_live_task),
        ("write-timeout-file", write_timeout_file),
        ("accept-drop", accept_drop),
        ("write-drop", write_drop),
        ("open-drop", open_drop),
    ])
}

// ---- runtime helpers (tokio-uring's public API) ----

/// A tokio-uring runtime with `entries` submission queue entries.
fn runtime(entries: u32) -> tokio_uring::Runtime {
    let mut b = tokio_uring::builder();
    b.entries(entries);
    tokio_uring::Runtime::new(&b).expect("tokio-uring runtime")
}

/// The runtime's own sleep.
async fn sleep(d: Duration) {
    tokio::time::sleep(d).await
}

/// Give the runtime turns (1 ms sleeps) until `cond` holds or `deadline` passes; whether it held.
async fn turns_until(mut cond: impl FnMut() -> bool, deadline: Duration) -> bool {
    let t = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if t.elapsed() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(1)).await;
    }
}

/// One read of `BLOCK` bytes (the offset is ignored on a pipe).
async fn read(f: &File) -> std::io::Result<Vec<u8>> {
    let (r, buf) = f.read_at(Vec::with_capacity(BLOCK), 0).await;
    r.map(|n| buf[..n].to_vec())
}

/// Read through `f` until end of file.
async fn read_to_eof(f: &File) -> Vec<u8> {
    let mut got = Vec::new();
    loop {
        match read(f).await {
            Ok(b) if b.is_empty() => return got,
            Ok(b) => got.extend_from_slice(&b),
            Err(e) => panic!("reading the rest through the same handle: {e}"),
        }
    }
}

// ---- slow path ----

/// `read-drop`: one read of an empty pipe, pending, dropped; a runtime turn; 8192 B arrive and
/// the write end closes; the rest is read through the same handle to EOF.
fn read_drop() -> Seen {
    let mut seen = Seen::default();
    let (r, w) = raw::pipe();
    let rt = runtime(256);
    let sent = payload(2 * BLOCK, 1);
    let (pending, got) = rt.block_on(async {
        let f = File::open(proc_path(&r)).await.expect("open the read end");
        drop(r); // the runtime's handle is the only reader
        let mut rd = Box::pin(read(&f));
        let _ = poll_once(&mut rd).await;
        sleep(WINDOW).await;
        let pending = poll_once(&mut rd).await.is_pending();
        drop(rd);
        sleep(SETTLE).await;
        raw::write_all(&w, &sent);
        drop(w);
        let got = read_to_eof(&f).await;
        f.close().await.expect("close");
        (pending, got)
    });
    seen.lost_bytes = (sent.len() - got.len().min(sent.len())) as u64;
    seen.notes.push(format!(
        "read pending after {} ms: {pending}; dropped; sent {} B, read back {} B through the same handle",
        WINDOW.as_millis(),
        sent.len(),
        got.len()
    ));
    seen
}

/// Twin of `runtime-drop`: the same steps with no read (open, drop the handle, drop the
/// runtime at once).
fn runtime_drop_twin() -> (i64, String) {
    let (r, w) = raw::pipe();
    let (before, table) = (raw::fds(), fd_table());
    let rt = runtime(256);
    rt.block_on(async {
        let f = File::open(proc_path(&r)).await.expect("open");
        drop(f);
    });
    drop(rt);
    let out = leaked_since(before, &table, FD_SETTLE);
    drop((r, w));
    out
}

/// `runtime-drop`: a read pending, its future dropped, the handle dropped, the runtime dropped
/// at once; then data; a second raw reader drains.
fn runtime_drop() -> Seen {
    let mut seen = Seen::default();
    let (twin, twin_names) = runtime_drop_twin();
    let (r, w) = raw::pipe();
    let sent = payload(2 * BLOCK, 2);
    let (before, table) = (raw::fds(), fd_table());
    let feeder = Feeder::spawn(w, sent.clone(), FALLBACK);
    let rt = runtime(256);
    let pending = rt.block_on(async {
        let f = File::open(proc_path(&r)).await.expect("open");
        let mut rd = Box::pin(read(&f));
        let _ = poll_once(&mut rd).await;
        sleep(WINDOW).await;
        let pending = poll_once(&mut rd).await.is_pending();
        drop(rd);
        drop(f);
        pending
    });
    let t = Instant::now();
    drop(rt);
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let fallback = feeder.go();
    let got = raw::drain(&r, Duration::from_millis(50));
    drop(r);
    // Both pipe ends were open at `before` and are closed now (the feeder closes `w`).
    let (leaked, names) = leaked_since(before - 2, &table, FD_SETTLE);
    // A hang is reported as a hang; bytes that then went nowhere are reported as well (they
    // were taken by the dropped op, not merely late: the drain ran to end of stream).
    seen.hang = fallback;
    seen.lost_bytes = (sent.len() - got.len().min(sent.len())) as u64;
    seen.leaked_fds = leaked - twin;
    seen.notes.push(format!(
        "read pending: {pending}; runtime dropped in {ms:.1} ms{}; raw drain got {} of {} B; \
         fds +{leaked} ({names}) minus twin +{twin} ({twin_names})",
        if fallback {
            " (only after the fallback fed the pipe)"
        } else {
            ""
        },
        got.len(),
        sent.len()
    ));
    seen
}

/// Twin of `close-after-drop`: open, close with the async close, drop the runtime.
fn close_twin() -> (i64, String) {
    let (r, w) = raw::pipe();
    let (before, table) = (raw::fds(), fd_table());
    let rt = runtime(256);
    rt.block_on(async {
        let f = File::open(proc_path(&r)).await.expect("open");
        f.close().await.expect("close");
    });
    drop(rt);
    let out = leaked_since(before, &table, FD_SETTLE);
    drop((r, w));
    out
}

/// `close-after-drop`: a read pending, dropped, the file closed at once with the async close,
/// the runtime dropped; then data.
fn close_after_drop() -> Seen {
    let mut seen = Seen::default();
    let (twin, twin_names) = close_twin();
    let (r, w) = raw::pipe();
    let sent = payload(2 * BLOCK, 3);
    let (before, table) = (raw::fds(), fd_table());
    let feeder = Feeder::spawn(w, sent.clone(), FALLBACK);
    let rt = runtime(256);
    let (pending, close_ms, closed) = rt.block_on(async {
        let f = File::open(proc_path(&r)).await.expect("open");
        let mut rd = Box::pin(read(&f));
        let _ = poll_once(&mut rd).await;
        sleep(WINDOW).await;
        let pending = poll_once(&mut rd).await.is_pending();
        drop(rd);
        let t = Instant::now();
        let closed = f.close().await;
        (pending, t.elapsed().as_secs_f64() * 1e3, closed)
    });
    drop(rt);
    let fallback = feeder.go();
    let got = raw::drain(&r, Duration::from_millis(50));
    drop(r);
    let (leaked, names) = leaked_since(before - 2, &table, FD_SETTLE);
    let missing = sent.len() - got.len().min(sent.len());
    // A close that returned only once the fallback fed the pipe is a hang. The bytes the
    // dropped read took are lost as well (the raw drain ran to end of stream): both reported.
    seen.hang = fallback;
    seen.lost_bytes = missing as u64;
    seen.leaked_fds = leaked - twin;
    seen.notes.push(format!(
        "read pending: {pending}; File::close returned {closed:?} after {close_ms:.0} ms{}; \
         raw drain got {} of {} B ({missing} B taken by the dropped read); fds +{leaked} \
         ({names}) minus twin +{twin} ({twin_names})",
        if fallback {
            " — only once the fallback fed the pipe: a hang, and it returned once data came"
        } else {
            ""
        },
        got.len(),
        sent.len(),
    ));
    seen
}

/// `cancel-storm` (32 reads, a ring of 256) and `cancel-storm-small-ring` (64 reads on a ring
/// of 8 entries, smaller than the burst): reads of one empty pipe, pending, all dropped at once;
/// a turn; one block more than there were reads arrives; the rest read through the same handle.
fn storm(n: usize, entries: u32, seed: u8) -> Seen {
    let mut seen = Seen::default();
    let (r, w) = raw::pipe();
    set_pipe_size(&w, 512 * 1024);
    let sent = payload((n + 1) * BLOCK, seed);
    let rt = runtime(entries);
    let (pending, got) = rt.block_on(async {
        let f = File::open(proc_path(&r)).await.expect("open");
        drop(r);
        let mut reads: Vec<_> = (0..n).map(|_| Box::pin(read(&f))).collect();
        for rd in reads.iter_mut() {
            let _ = poll_once(rd).await;
        }
        sleep(WINDOW).await;
        let mut pending = 0;
        for rd in reads.iter_mut() {
            pending += usize::from(poll_once(rd).await.is_pending());
        }
        drop(reads);
        sleep(SETTLE).await;
        raw::write_all(&w, &sent);
        drop(w);
        let got = read_to_eof(&f).await;
        f.close().await.expect("close");
        (pending, got)
    });
    drop(rt);
    seen.lost_bytes = (sent.len() - got.len().min(sent.len())) as u64;
    seen.notes.push(format!(
        "ring of {entries} entries; {pending} of {n} reads pending, dropped; sent {} B, read back {} B",
        sent.len(),
        got.len()
    ));
    seen
}

fn cancel_storm() -> Seen {
    storm(32, 256, 11)
}

fn cancel_storm_small_ring() -> Seen {
    storm(64, 8, 4)
}

/// `timeout-read`: a read of an empty pipe raced against the runtime's own timer (20 ms) in
/// one poll function, as `timeout`/`select!` do; the timer wins and the read is dropped; a turn;
/// 8192 B arrive and the write end closes; the rest is read through the same handle.
fn timeout_read() -> Seen {
    let mut seen = Seen::default();
    let (r, w) = raw::pipe();
    let rt = runtime(256);
    let sent = payload(2 * BLOCK, 12);
    let (timer_won, got) = rt.block_on(async {
        let f = File::open(proc_path(&r)).await.expect("open the read end");
        drop(r);
        let mut rd = Box::pin(read(&f));
        let first = within(&mut rd, sleep(WINDOW)).await;
        let timer_won = first.is_none();
        drop(rd);
        let mut got = first.and_then(Result::ok).unwrap_or_default();
        sleep(SETTLE).await;
        raw::write_all(&w, &sent);
        drop(w);
        got.extend(read_to_eof(&f).await);
        f.close().await.expect("close");
        (timer_won, got)
    });
    seen.lost_bytes = (sent.len() - got.len().min(sent.len())) as u64;
    seen.notes.push(format!(
        "the {} ms timer won the race (read dropped): {timer_won}; sent {} B, read back {} B",
        WINDOW.as_millis(),
        sent.len(),
        got.len()
    ));
    seen
}

// ---- races: the op has completed in the kernel when its future is dropped ----

/// `read-race`: a read submitted and waiting; 4096 B written from this thread; FIONREAD shows
/// the kernel read consumed them; the future dropped before the runtime's next turn; then a
/// second read through the same handle, the write end closed, a raw drain.
fn read_race() -> Seen {
    let mut seen = Seen::default();
    let (r, w) = raw::pipe();
    let sent = payload(BLOCK, 5);
    let rt = runtime(256);
    let (consumed, second, second_in_time, rest) = rt.block_on(async {
        let f = File::open(proc_path(&r)).await.expect("open");
        let mut rd = Box::pin(read(&f));
        let _ = poll_once(&mut rd).await;
        sleep(WINDOW).await; // submitted; waits on the empty pipe
        raw::write_all(&w, &sent);
        // The read completes in the kernel (task work on this thread): no runtime turn here.
        let consumed = wait_until(|| raw::pending(&r) == 0, Duration::from_millis(200));
        drop(rd);
        let mut rd2 = Box::pin(read(&f));
        let (second, in_time) = match within(&mut rd2, sleep(Duration::from_millis(400))).await {
            Some(res) => (res.expect("second read"), true),
            None => {
                // Nothing came: end the stream so the second read returns (EOF), not dropped.
                drop(w);
                ((&mut rd2).await.expect("second read after EOF"), false)
            }
        };
        drop(rd2);
        let rest = raw::drain(&r, Duration::from_millis(50));
        f.close().await.expect("close");
        (consumed, second, in_time, rest)
    });
    let received = second.len() + rest.len();
    seen.raced = Some(consumed);
    seen.lost_bytes = (sent.len() - received.min(sent.len())) as u64;
    seen.notes.push(format!(
        "kernel read consumed the {} B before the drop (FIONREAD 0): {consumed}; second read got {} B{}; raw drain {} B",
        sent.len(),
        second.len(),
        if second_in_time { "" } else { " (at EOF, nothing within 400 ms)" },
        rest.len()
    ));
    seen
}

/// Opens of `path` read-only (`rw = false`) or read-write (no create).
async fn open_mode(path: PathBuf, rw: bool) -> std::io::Result<File> {
    OpenOptions::new().read(true).write(rw).open(path).await
}

/// `open-race`: 16 opens of a 4 KiB file (8 O_RDONLY, 8 O_RDWR); half dropped (a) right after
/// their first poll, half (b) once their descriptor is visible in /proc/self/fd.
fn open_race() -> Seen {
    let mut seen = Seen::default();
    let dir = Scratch::new("tokio-uring", "open-race");
    let path = dir.join("file");
    std::fs::write(&path, payload(BLOCK, 6)).expect("create the file");
    // Twin: 16 opens awaited and closed.
    let rt = runtime(256);
    rt.block_on(async {
        for i in 0..16 {
            let f = open_mode(path.clone(), i % 2 == 1).await.expect("open");
            f.close().await.expect("close");
        }
    });
    drop(rt);
    let twin = fds_of(&path);
    let rt = runtime(256);
    let (raced, left_b, left_a) = rt.block_on(async {
        // (b): polled once, then the runtime runs until all 8 descriptors exist.
        let mut b: Vec<_> = (0..8)
            .map(|i| Box::pin(open_mode(path.clone(), i % 2 == 1)))
            .collect();
        for f in b.iter_mut() {
            let _ = poll_once(f).await;
        }
        let raced = turns_until(|| fds_of(&path) >= 8, Duration::from_millis(500)).await;
        drop(b);
        sleep(SETTLE).await;
        let left_b = fds_of(&path);
        // (a): each dropped right after its first poll.
        for i in 0..8 {
            let mut f = Box::pin(open_mode(path.clone(), i % 2 == 1));
            let _ = poll_once(&mut f).await;
            drop(f);
        }
        sleep(SETTLE).await;
        let _ = turns_until(|| fds_of(&path) <= left_b, FD_SETTLE).await;
        (raced, left_b, fds_of(&path) - left_b)
    });
    drop(rt);
    let left = fds_of(&path);
    seen.raced = Some(raced);
    seen.leaked_fds = left - twin;
    seen.notes.push(format!(
        "8 opens (4 O_RDONLY, 4 O_RDWR) dropped after their descriptors appeared (all 8 seen: \
         {raced}) left {left_b} open; 8 dropped right after the first poll left {left_a}; \
         {left} descriptors of the file open at the end, twin (16 opens awaited and closed) {twin}"
    ));
    seen
}

/// Sets its flag when dropped.
struct OnDrop(Rc<Cell<bool>>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// Twin of `shutdown-live-task`: one runtime, one file (the pipe's read end) dropped.
fn shutdown_twin() -> (i64, String) {
    let (r, w) = raw::pipe();
    let (before, table) = (raw::fds(), fd_table());
    let rt = runtime(256);
    rt.block_on(async {
        drop(File::open(proc_path(&r)).await.expect("open"));
    });
    drop(rt);
    let out = leaked_since(before, &table, FD_SETTLE);
    drop((r, w));
    out
}

/// `shutdown-live-task`: a spawned task owns a file and awaits a read; `block_on` returns once
/// it is pending; the runtime is dropped; then data; a raw reader drains.
fn shutdown_live_task() -> Seen {
    let mut seen = Seen::default();
    let (twin, twin_names) = shutdown_twin();
    let (r, w) = raw::pipe();
    let sent = payload(BLOCK, 7);
    let (before, table) = (raw::fds(), fd_table());
    let feeder = Feeder::spawn(w, sent.clone(), FALLBACK);
    // 0: not started, 1: read issued, 2: read returned (with that many bytes in `took`).
    let state = Rc::new(Cell::new(0u8));
    let took = Rc::new(Cell::new(0usize));
    // Set when the task's future is dropped (so: whether the runtime drop dropped the task).
    let dropped = Rc::new(Cell::new(false));
    let rt = runtime(256);
    let pending = rt.block_on(async {
        let (st, tk, path) = (state.clone(), took.clone(), proc_path(&r));
        let guard = OnDrop(dropped.clone());
        tokio_uring::spawn(async move {
            let _guard = guard;
            let f = File::open(path).await.expect("open in the task");
            st.set(1);
            let got = read(&f).await;
            tk.set(got.map(|b| b.len()).unwrap_or(0));
            st.set(2);
        });
        let started = turns_until(|| state.get() == 1, Duration::from_millis(500)).await;
        sleep(WINDOW).await;
        started && state.get() == 1
    });
    let t = Instant::now();
    drop(rt);
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let fallback = feeder.go();
    let got = raw::drain(&r, Duration::from_millis(50));
    drop(r);
    let (leaked, names) = leaked_since(before - 2, &table, FD_SETTLE);
    let received = got.len() + took.get();
    seen.hang = fallback;
    seen.lost_bytes = (sent.len() - received.min(sent.len())) as u64;
    seen.leaked_fds = leaked - twin;
    seen.notes.push(format!(
        "task's read pending when block_on returned: {pending}; runtime dropped in {ms:.1} ms{}; \
         the task's read returned: {}; the task's future dropped with the runtime: {}; raw drain {} of {} B; fds +{leaked} ({names}) minus twin \
         +{twin} ({twin_names})",
        if fallback {
            " (only after the fallback fed the pipe)"
        } else {
            ""
        },
        state.get() == 2,
        dropped.get(),
        got.len(),
        sent.len()
    ));
    seen
}

/// Bytes of `want` found at their place in the file at `path` (read raw).
fn landed(path: &Path, want: &[u8]) -> usize {
    let have = std::fs::read(path).unwrap_or_default();
    have.iter().zip(want).filter(|(a, b)| a == b).count()
}

/// Twin of `write-timeout-file`: the file created, the write and the fsync awaited, the file
/// closed, the runtime dropped.
fn write_twin(dir: &Path) -> (i64, String) {
    let (before, table) = (raw::fds(), fd_table());
    let rt = runtime(256);
    rt.block_on(async {
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .open(dir.join("twin"))
            .await
            .expect("create");
        let _ = f.write_at(payload(BLOCK, 10), 0).submit().await;
        let _ = f.sync_all().await;
        f.close().await.expect("close");
    });
    drop(rt);
    leaked_since(before, &table, FD_SETTLE)
}

/// `write-timeout-file`: a 64 KiB write at offset 0 of a regular file, dropped (a) right after
/// its first poll and (b) once its bytes are visible through a raw read; likewise an fsync.
/// Ghost bytes are those that reached the file *after* their future was dropped: in (b) they
/// were there before the drop (the result was lost with the future, the bytes were not).
fn write_timeout_file() -> Seen {
    const LEN: usize = 64 * 1024;
    let mut seen = Seen::default();
    let dir = Scratch::new("tokio-uring", "write-timeout");
    let (pa, pb) = (dir.join("a"), dir.join("b"));
    let (da, db) = (payload(LEN, 8), payload(LEN, 9));
    let (twin, twin_names) = write_twin(dir.path());
    let (before, table) = (raw::fds(), fd_table());
    let rt = runtime(256);
    let ((at_drop_a, end_a), raced, (at_drop_b, end_b)) = rt.block_on(async {
        let create = |p: PathBuf| async move {
            OpenOptions::new()
                .write(true)
                .create(true)
                .open(p)
                .await
                .expect("create")
        };
        // (a) dropped right after the first poll (tokio-uring pushed its SQE at `submit`).
        let fa = create(pa.clone()).await;
        let mut wr = Box::pin(fa.write_at(da.clone(), 0).submit());
        let _ = poll_once(&mut wr).await;
        let at_drop_a = landed(&pa, &da);
        drop(wr);
        let mut sy = Box::pin(fa.sync_all());
        let _ = poll_once(&mut sy).await;
        drop(sy);
        sleep(SETTLE).await;
        let end_a = landed(&pa, &da);
        // (b) dropped once the kernel has completed it, without another poll.
        let fb = create(pb.clone()).await;
        let mut wr = Box::pin(fb.write_at(db.clone(), 0).submit());
        let _ = poll_once(&mut wr).await;
        let raced = turns_until(|| landed(&pb, &db) == LEN, Duration::from_millis(500)).await;
        let at_drop_b = landed(&pb, &db);
        drop(wr);
        let mut sy = Box::pin(fb.sync_all());
        let _ = poll_once(&mut sy).await;
        sleep(WINDOW).await;
        drop(sy);
        sleep(SETTLE).await;
        let end_b = landed(&pb, &db);
        fa.close().await.expect("close a");
        fb.close().await.expect("close b");
        ((at_drop_a, end_a), raced, (at_drop_b, end_b))
    });
    drop(rt);
    let (leaked, names) = leaked_since(before, &table, FD_SETTLE);
    seen.raced = Some(raced);
    let (ghost_a, ghost_b) = (
        end_a.saturating_sub(at_drop_a),
        end_b.saturating_sub(at_drop_b),
    );
    seen.ghost_bytes = (ghost_a + ghost_b) as u64;
    seen.leaked_fds = leaked - twin;
    seen.notes.push(format!(
        "(a) write dropped right after its first poll: {at_drop_a} of {LEN} B in the file at the \
         drop, {end_a} at the end ({ghost_a} B landed after the drop); (b) dropped after its \
         bytes were visible ({raced}): {at_drop_b} B in the file at the drop, {end_b} at the end \
         ({ghost_b} B after the drop); fsyncs dropped the same two ways showed nothing; fds \
         +{leaked} ({names}) minus twin +{twin} ({twin_names})"
    ));
    seen
}

/// Twin of `accept-drop`: 4 clients connect and 4 accepts are awaited (each stream dropped).
fn accept_twin() -> (i64, String) {
    let (before, table) = (raw::fds(), fd_table());
    let rt = runtime(256);
    rt.block_on(async {
        let l = tokio_uring::net::TcpListener::bind("127.0.0.1:0".parse().expect("addr"))
            .expect("bind");
        let addr = l.local_addr().expect("addr");
        let clients: Vec<_> = (0..4)
            .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
            .collect();
        for _ in 0..4 {
            drop(l.accept().await.expect("accept"));
        }
        drop(clients);
    });
    drop(rt);
    leaked_since(before, &table, FD_SETTLE)
}

/// `accept-drop`: 4 accepts pending on a tokio-uring listener; 4 clients connect; once the
/// kernel has accepted them (new sockets appear) the accept futures are dropped unpolled.
fn accept_drop() -> Seen {
    let mut seen = Seen::default();
    let (twin, twin_names) = accept_twin();
    let (before, table) = (raw::fds(), fd_table());
    let rt = runtime(256);
    let (pending, raced) = rt.block_on(async {
        let l = tokio_uring::net::TcpListener::bind("127.0.0.1:0".parse().expect("addr"))
            .expect("bind");
        let addr = l.local_addr().expect("addr");
        let mut acc: Vec<_> = (0..4).map(|_| Box::pin(l.accept())).collect();
        for a in acc.iter_mut() {
            let _ = poll_once(a).await;
        }
        sleep(WINDOW).await;
        let mut pending = 0;
        for a in acc.iter_mut() {
            pending += usize::from(poll_once(a).await.is_pending());
        }
        let base = raw::fds();
        let clients: Vec<_> = (0..4)
            .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
            .collect();
        // 4 client sockets + 4 accepted ones.
        let raced = turns_until(|| raw::fds() >= base + 8, Duration::from_millis(500)).await;
        drop(acc);
        drop(clients);
        drop(l);
        sleep(SETTLE).await;
        (pending, raced)
    });
    drop(rt);
    let (leaked, names) = leaked_since(before, &table, FD_SETTLE);
    seen.raced = Some(raced);
    seen.leaked_fds = leaked - twin;
    seen.notes.push(format!(
        "{pending} of 4 accepts pending before the clients; accepted sockets appeared before the \
         drop: {raced}; fds +{leaked} ({names}) minus twin +{twin} ({twin_names})"
    ));
    seen
}

// ---- write-drop and open-drop: ops that wait in the kernel (a full pipe, a FIFO) ----

/// A pipe of 4096 B filled raw, its write end opened through tokio-uring (the raw write end closed,
/// so tokio-uring's handle is the only writer). The read end, the file, the fill's size.
async fn full_pipe() -> (OwnedFd, File, usize) {
    let (r, w) = raw::pipe();
    // SAFETY: F_SETPIPE_SZ on a pipe we own; the kernel's minimum is one page.
    let cap = unsafe { libc::fcntl(w.as_raw_fd(), libc::F_SETPIPE_SZ, BLOCK as libc::c_int) };
    assert!(cap >= BLOCK as libc::c_int, "F_SETPIPE_SZ");
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .open(proc_path(&w))
        .await
        .expect("open the write end");
    raw::write_all(&w, &payload(cap as usize, 11));
    drop(w);
    (r, f, cap as usize)
}

/// One positional write of `data` at offset 0 (ignored on a pipe), submitted as tokio-uring's
/// docs show (`write_at(..).submit()`).
async fn write(f: &File, data: Vec<u8>) -> std::io::Result<usize> {
    f.write_at(data, 0).submit().await.0
}

/// A raw reader on its own thread that drains `r` until nothing came for 200 ms.
fn drainer(r: OwnedFd) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || raw::drain(&r, Duration::from_millis(200)))
}

/// Twin of `write-drop`: the same pipe, the write awaited once a drainer runs, the file closed.
fn write_drop_twin() -> (i64, String) {
    let (before, table) = (raw::fds(), fd_table());
    let rt = runtime(256);
    rt.block_on(async {
        let (r, f, _) = full_pipe().await;
        let d = drainer(r);
        let _ = write(&f, payload(BLOCK, 12)).await;
        f.close().await.expect("close");
        while !d.is_finished() {
            sleep(Duration::from_millis(5)).await;
        }
    });
    drop(rt);
    leaked_since(before, &table, FD_SETTLE)
}

/// `write-drop`: a 4096 B write to a full pipe, pending, dropped; a runtime turn; a raw reader
/// drains. Bytes past the fill came from the dropped write: a ghost write.
fn write_drop() -> Seen {
    let mut seen = Seen::default();
    let (twin, twin_names) = write_drop_twin();
    let (before, table) = (raw::fds(), fd_table());
    let data = payload(BLOCK, 12);
    let rt = runtime(256);
    let (pending, cap, drained) = rt.block_on(async {
        let (r, f, cap) = full_pipe().await;
        let mut wr = Box::pin(write(&f, data.clone()));
        let pending = within(&mut wr, sleep(WINDOW)).await.is_none();
        drop(wr);
        sleep(SETTLE).await;
        let d = drainer(r);
        sleep(SETTLE).await;
        f.close().await.expect("close");
        while !d.is_finished() {
            sleep(Duration::from_millis(5)).await;
        }
        (pending, cap, d.join().expect("drainer"))
    });
    drop(rt);
    let (leaked, names) = leaked_since(before, &table, FD_SETTLE);
    let past = &drained[cap.min(drained.len())..];
    if pending {
        seen.ghost_bytes = past.len() as u64;
    }
    seen.leaked_fds = leaked - twin;
    seen.notes.push(format!(
        "pipe of {cap} B filled; a {BLOCK} B write pending after {} ms: {pending}; dropped; a \
         turn; a raw reader drained {} B: {} B past the fill ({} B equal to the dropped write's \
         data); fds +{leaked} ({names}) minus twin +{twin} ({twin_names})",
        WINDOW.as_millis(),
        drained.len(),
        past.len(),
        past.iter().zip(&data).filter(|(a, b)| a == b).count()
    ));
    seen
}

/// An open of the FIFO for writing with O_CREAT: with no reader it waits (in io-wq, since
/// io_uring cannot try an O_CREAT open without blocking).
async fn open_fifo(p: PathBuf) -> std::io::Result<File> {
    OpenOptions::new().write(true).create(true).open(p).await
}

/// Twin of `open-drop`: a reader first, then 8 opens of the FIFO awaited and closed (after a
/// warm-up open of /dev/null, as the scenario does).
fn open_drop_twin() -> (i64, String) {
    let dir = Scratch::new("tokio-uring", "open-drop-twin");
    let p = dir.join("fifo");
    mkfifo(&p);
    let (before, table) = (raw::fds(), fd_table());
    let rt = runtime(256);
    rt.block_on(async {
        let f = File::open("/dev/null").await.expect("warm-up open");
        f.close().await.expect("close");
        let reader = fifo_reader(&p).expect("reader");
        for _ in 0..8 {
            let f = open_fifo(p.clone()).await.expect("open the FIFO");
            f.close().await.expect("close");
        }
        drop(reader);
    });
    drop(rt);
    leaked_since(before, &table, FD_SETTLE)
}

/// `open-drop`: 8 opens of a FIFO with no reader, pending, dropped; a runtime turn; then a
/// reader opens the FIFO read-write (releasing whatever still waits) from a helper thread —
/// on its own after [`FALLBACK`] if the drop or the turn had not returned (a hang). Opens that
/// complete after their future was dropped leave descriptors nobody closes: a leak.
fn open_drop() -> Seen {
    let mut seen = Seen::default();
    let (twin, twin_names) = open_drop_twin();
    let dir = Scratch::new("tokio-uring", "open-drop");
    let p = dir.join("fifo");
    mkfifo(&p);
    let (before, table) = (raw::fds(), fd_table());
    let releaser = Releaser::spawn(p.clone(), FALLBACK);
    let rt = runtime(256);
    let (pending, completed, drop_ms, released) = rt.block_on(async {
        let f = File::open("/dev/null").await.expect("warm-up open");
        f.close().await.expect("close");
        let mut opens: Vec<_> = (0..8).map(|_| Box::pin(open_fifo(p.clone()))).collect();
        for o in opens.iter_mut() {
            let _ = poll_once(o).await;
        }
        sleep(WINDOW).await;
        let (mut pending, mut completed) = (0, 0);
        for o in opens.iter_mut() {
            match poll_once(o).await {
                Poll::Pending => pending += 1,
                Poll::Ready(r) => {
                    completed += 1;
                    if let Ok(f) = r {
                        let _ = f.close().await;
                    }
                }
            }
        }
        let t = Instant::now();
        drop(opens);
        let drop_ms = t.elapsed().as_secs_f64() * 1e3;
        sleep(SETTLE).await;
        let released = fds_of(&p);
        releaser.go();
        sleep(SETTLE * 2).await;
        (pending, completed, drop_ms, released)
    });
    let (fallback, reader) = releaser.join();
    let fifo_fds = fds_of(&p);
    drop(reader);
    drop(rt);
    let (leaked, names) = leaked_since(before, &table, FD_SETTLE);
    seen.hang = fallback;
    seen.leaked_fds = leaked - twin;
    seen.notes.push(format!(
        "8 opens O_WRONLY|O_CREAT of a FIFO with no reader: {pending} pending after {} ms, \
         {completed} completed; dropped in {drop_ms:.1} ms; a turn; a reader opened the FIFO{} \
         ({released} descriptors of the FIFO before it); {fifo_fds} descriptors of the FIFO \
         (the reader's included) after two turns; fds +{leaked} ({names}) minus twin +{twin} \
         ({twin_names})",
        WINDOW.as_millis(),
        if fallback {
            " only after the fallback: the drop or the turn waited for it (a hang)"
        } else {
            ""
        }
    ));
    seen
}
