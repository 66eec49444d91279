//! Standalone reproducers of the ringbench safety scenarios on safer-ring 0.0.1, written against
//! its public API only (`Ring::new`, the "hot potato" `read_at_owned` / `write_at_owned` on
//! `OwnedBuffer`, `accept_safe`, `compat::File::open`), its futures driven by a current-thread
//! tokio runtime as its docs do (`#[tokio::main]`; while pending they `tokio::spawn` a task that
//! wakes them), with raw pipes and `/proc/self/fd` (`workloads::repro::raw`) for the oracle. Not
//! through `SaferRingEngine`: that is the harness.
//!
//! safer-ring has no open, close or fsync op: a pipe end is opened with std (what its own
//! `compat::File::open` does, a blocking `open(2)` inside an `async fn`, compat.rs:412-428) and
//! closed by dropping it. It has no timer either, and tokio's `time` feature is not enabled for
//! this crate, so [`Sleep`] is a timer woken from a thread, the way a user without one writes it.
//! A runtime turn is the tokio runtime running its tasks (safer-ring's waker tasks) for a while.
//!
//! Every reproducer measures its own no-cancel twin (the same steps with the op awaited) and
//! reports descriptors beyond it. `RINGBENCH_REPRO_ONLY=1 cargo test -p bench-safer-ring --test
//! repro` prints what each saw.

use std::future::{Future, poll_fn};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::Poll;
use std::time::{Duration, Instant};

use safer_ring::{OwnedBuffer, Ring};
use workloads::repro::Seen;
use workloads::repro::raw::{
    self, Scratch, extra_fds, fds_of, leaked_beyond, payload, poll_all_for, poll_once, proc_path,
    set_pipe_size,
};

const FD_SETTLE: Duration = Duration::from_millis(500);
/// Size of every read (and of the write-drop write).
const BLOCK: usize = 4096;
/// How long an op is polled inside the runtime before it counts as pending.
const WINDOW: Duration = Duration::from_millis(20);
/// The runtime's turn after a drop.
const TURN: Duration = Duration::from_millis(60);
/// How long to wait for a kernel-side condition, and the deadline of a read after the drop.
const DEADLINE: Duration = Duration::from_millis(400);

fn main() -> std::process::ExitCode {
    workloads::repro::main::<bench_safer_ring::SaferRingEngine>(&[
        ("read-drop", read_drop),
        ("write-drop", write_drop),
        ("cancel-storm", cancel_storm),
        ("cancel-storm-small-ring", cancel_storm_small_ring),
        ("timeout-read", timeout_read),
        ("read-race", read_race),
        ("write-timeout-file", write_timeout_file),
        ("open-race", open_race),
        ("runtime-drop", runtime_drop),
        ("close-after-drop", close_after_drop),
        ("accept-drop", accept_drop),
    ])
}

// ---------------------------------------------------------------------------------------------
// Helpers: runtime, timer, polling, oracle.

/// The tokio runtime safer-ring's futures need (they `tokio::spawn` while pending).
fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt")
}

/// Let the runtime run its tasks (safer-ring's waker tasks) for about `d`.
fn turn(rt: &tokio::runtime::Runtime, d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        rt.block_on(tokio::task::yield_now());
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A timer woken from a thread: safer-ring has none, and tokio's needs a feature this crate
/// does not enable. It wakes its task from outside, as a completion would.
struct Sleep {
    until: Instant,
    armed: bool,
}

fn sleep(d: Duration) -> Sleep {
    Sleep {
        until: Instant::now() + d,
        armed: false,
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        let now = Instant::now();
        if now >= self.until {
            return Poll::Ready(());
        }
        if !self.armed {
            self.armed = true;
            let (w, d) = (cx.waker().clone(), self.until - now);
            std::thread::spawn(move || {
                std::thread::sleep(d);
                w.wake();
            });
        }
        Poll::Pending
    }
}

/// `fut` raced against [`sleep`]`(d)` in one poll function, as `timeout(d, fut)` is written:
/// `None` (and `fut` dropped) when the timer wins.
async fn timeout<F: Future>(d: Duration, fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let mut timer = std::pin::pin!(sleep(d));
    poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// The bytes a completed hot-potato read put in its buffer.
fn bytes_of(r: safer_ring::Result<(usize, OwnedBuffer)>) -> Option<Vec<u8>> {
    let (n, buf) = r.ok()?;
    let data = buf.try_access()?;
    Some(data[..n].to_vec())
}

/// Read `fd` through `ring` until end of stream, each read bounded by [`DEADLINE`]; how it
/// ended.
async fn read_to_end(ring: &Ring<'_>, fd: RawFd, got: &mut Vec<u8>) -> &'static str {
    loop {
        match timeout(DEADLINE, ring.read_at_owned(fd, OwnedBuffer::new(BLOCK), 0)).await {
            Some(Ok((0, _))) => return "end of stream",
            Some(r @ Ok(_)) => got.extend(bytes_of(r).unwrap_or_default()),
            Some(Err(_)) => return "a read error",
            None => return "a read that waited past the deadline (dropped)",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Slow path: reads of an empty pipe dropped while waiting.

/// What one run of a read-drop family scenario saw.
struct Run {
    leaked: i64,
    lost: u64,
    pending: usize,
    completed: usize,
    how: &'static str,
}

/// `n` reads of an empty pipe polled for [`WINDOW`] (or raced against [`timeout`]), dropped, a
/// turn, then `(n + 1)` blocks written and the write end closed; the rest read through the
/// same handle. `cancel == false` is the twin: no read dropped.
fn reads_dropped(n: usize, entries: u32, by_timeout: bool, cancel: bool) -> Run {
    let before = raw::fds();
    let (r, w) = raw::pipe();
    let len = (n + 1) * BLOCK;
    set_pipe_size(&w, len.next_power_of_two().max(64 * 1024));
    // Built outside the tokio runtime, as safer-ring's docs build it before `block_on`.
    let ring = Ring::new(entries).expect("ring");
    let rt = tokio_rt();
    let file = std::fs::File::open(proc_path(&r)).expect("open the pipe's read end");
    drop(r); // the reopened read end is the only reader now
    let fd = file.as_raw_fd();
    let data = payload(len, 1);
    let (got, pending, completed, how) = rt.block_on(async {
        let mut got = Vec::new();
        let (mut pending, mut completed) = (0, 0);
        if cancel && by_timeout {
            for _ in 0..n {
                match timeout(WINDOW, ring.read_at_owned(fd, OwnedBuffer::new(BLOCK), 0)).await {
                    Some(r) => {
                        completed += 1;
                        got.extend(bytes_of(r).unwrap_or_default());
                    }
                    None => pending += 1,
                }
            }
        } else if cancel {
            let mut futs: Vec<_> = (0..n)
                .map(|_| Box::pin(ring.read_at_owned(fd, OwnedBuffer::new(BLOCK), 0)))
                .collect();
            for o in poll_all_for(&mut futs, sleep(WINDOW)).await {
                match o {
                    Some(r) => {
                        completed += 1;
                        got.extend(bytes_of(r).unwrap_or_default());
                    }
                    None => pending += 1,
                }
            }
            drop(futs);
        }
        sleep(TURN).await;
        raw::write_all(&w, &data);
        drop(w);
        let how = read_to_end(&ring, fd, &mut got).await;
        (got, pending, completed, how)
    });
    drop(file);
    drop(rt);
    drop(ring);
    Run {
        leaked: extra_fds(before, FD_SETTLE),
        lost: (len as u64).saturating_sub(got.len() as u64),
        pending,
        completed,
        how,
    }
}

fn read_drop_family(n: usize, entries: u32, by_timeout: bool) -> Seen {
    let twin = reads_dropped(n, entries, by_timeout, false);
    let run = reads_dropped(n, entries, by_timeout, true);
    Seen {
        leaked_fds: run.leaked - twin.leaked,
        lost_bytes: run.lost,
        notes: vec![format!(
            "{n} read_at_owned{} on a ring of {entries} entries: {} pending and dropped, {} completed \
             first; then {} B sent, {} B lost (read through the same descriptor until {}); {} fds \
             left vs {} in the no-cancel twin",
            if by_timeout {
                " raced against a 20 ms timer"
            } else {
                ""
            },
            run.pending,
            run.completed,
            (n + 1) * BLOCK,
            run.lost,
            run.how,
            run.leaked,
            twin.leaked
        )],
        ..Seen::default()
    }
}

/// `read-drop`: one read of an empty pipe, pending, dropped; a turn; 8192 B; read to EOF.
fn read_drop() -> Seen {
    read_drop_family(1, 64, false)
}

/// `cancel-storm`: 32 reads dropped at once.
fn cancel_storm() -> Seen {
    read_drop_family(32, 64, false)
}

/// `cancel-storm-small-ring`: 64 reads dropped at once on a ring of 8 entries.
fn cancel_storm_small_ring() -> Seen {
    read_drop_family(64, 8, false)
}

/// `timeout-read`: a read raced against a 20 ms timer in one poll function; the timer wins.
fn timeout_read() -> Seen {
    read_drop_family(1, 64, true)
}

// ---------------------------------------------------------------------------------------------
// write-drop: a write to a full pipe dropped while blocked.

/// The pipe (4096 B) filled raw; its write end reopened; one 4096 B `write_at_owned`, polled
/// for [`WINDOW`], dropped (or awaited: the twin, once a drainer runs); a turn; a raw reader
/// drains. Descriptors left, bytes past the fill, whether the write was pending at the drop.
fn write_drop_run(cancel: bool) -> (i64, usize, usize, bool) {
    let before = raw::fds();
    let (r, w) = raw::pipe();
    let cap = set_pipe_size(&w, BLOCK);
    let ring = Ring::new(64).expect("ring");
    let rt = tokio_rt();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(proc_path(&w))
        .expect("open the pipe's write end");
    raw::write_all(&w, &payload(cap, 2));
    drop(w); // the reopened write end is the only writer: end of stream when it closes
    let fd = file.as_raw_fd();
    let data = payload(BLOCK, 3);
    let drainer =
        |r: OwnedFd| std::thread::spawn(move || raw::drain(&r, Duration::from_millis(200)));
    let (out, pending) = rt.block_on(async {
        let mut futs = [Box::pin(ring.write_at_owned(
            fd,
            OwnedBuffer::from_slice(&data),
            0,
            BLOCK,
        ))];
        if cancel {
            let pending = poll_all_for(&mut futs, sleep(WINDOW)).await[0].is_none();
            drop(futs);
            sleep(TURN).await;
            let d = drainer(r);
            sleep(TURN).await;
            drop(file);
            (d, pending)
        } else {
            let d = drainer(r);
            let [f] = futs;
            let _ = f.await;
            drop(file);
            (d, false)
        }
    });
    // The drainer ends once nothing came for 200 ms; runtime turns meanwhile.
    while !out.is_finished() {
        turn(&rt, Duration::from_millis(5));
    }
    let out = out.join().expect("drainer");
    drop(rt);
    drop(ring);
    (extra_fds(before, FD_SETTLE), cap, out.len(), pending)
}

/// `write-drop`: bytes past the fill, from a write whose future was dropped, are a ghost write.
fn write_drop() -> Seen {
    let (twin, ..) = write_drop_run(false);
    let (leaked, cap, drained, pending) = write_drop_run(true);
    let ghost = if pending {
        drained.saturating_sub(cap) as u64
    } else {
        0
    };
    Seen {
        leaked_fds: leaked - twin,
        ghost_bytes: ghost,
        notes: vec![format!(
            "pipe of {cap} B filled; a {BLOCK} B write_at_owned {} after {} ms, dropped; then a \
             raw reader drained {drained} B ({} B past the fill); {leaked} fds left vs {twin} in \
             the twin",
            if pending {
                "still pending"
            } else {
                "completed"
            },
            WINDOW.as_millis(),
            drained.saturating_sub(cap)
        )],
        ..Seen::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Runtime drop and close right after a drop.

/// A read of an empty pipe pending and dropped; then the descriptor dropped (`close ==
/// false`) or closed at once, timed (`close == true`: safer-ring has no close op, its
/// `compat::File` closes in `Drop` with `close(2)`, compat.rs:446-451); the ring and the
/// runtime dropped at once; then data, drained by a second raw reader. `cancel == false`: the
/// twin, no read.
fn drop_then(close: bool, cancel: bool) -> (i64, u64, Vec<String>) {
    let mut notes = Vec::new();
    let before = raw::fds();
    let (r, w) = raw::pipe();
    let data = payload(2 * BLOCK, 4);
    let ring = Ring::new(64).expect("ring");
    let rt = tokio_rt();
    let file = std::fs::File::open(proc_path(&r)).expect("open the pipe's read end");
    let fd = file.as_raw_fd();
    let mut got = Vec::new();
    rt.block_on(async {
        if cancel {
            let mut futs = [Box::pin(ring.read_at_owned(fd, OwnedBuffer::new(BLOCK), 0))];
            if let Some(r) = poll_all_for(&mut futs, sleep(WINDOW)).await.pop().flatten() {
                got.extend(bytes_of(r).unwrap_or_default());
                notes.push("the read completed before the drop".into());
            }
            drop(futs);
        }
        let t = Instant::now();
        drop(file);
        if close {
            notes.push(format!(
                "close(2) of the descriptor right after the drop returned in {:.2} ms",
                t.elapsed().as_secs_f64() * 1e3
            ));
        }
    });
    let t = Instant::now();
    drop(rt);
    drop(ring);
    notes.push(format!(
        "ring and runtime dropped in {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    ));
    raw::write_all(&w, &data);
    drop(w);
    got.extend(raw::drain(&r, Duration::from_millis(50)));
    drop(r);
    notes.push(format!(
        "sent {} B, the second reader (and the read) got {} B",
        data.len(),
        got.len()
    ));
    let lost = (data.len() as u64).saturating_sub(got.len() as u64);
    (extra_fds(before, FD_SETTLE), lost, notes)
}

fn drop_then_seen(close: bool) -> Seen {
    let (twin, ..) = drop_then(close, false);
    let (leaked, lost, mut notes) = drop_then(close, true);
    notes.push(format!("{leaked} fds left vs {twin} in the no-cancel twin"));
    Seen {
        leaked_fds: leaked - twin,
        lost_bytes: lost,
        notes,
        ..Seen::default()
    }
}

/// `runtime-drop`: read pending, dropped, descriptor dropped, ring and runtime dropped at
/// once; then data.
fn runtime_drop() -> Seen {
    drop_then_seen(false)
}

/// `close-after-drop`: read pending, dropped, the descriptor closed at once; the ring and
/// runtime dropped; then data.
fn close_after_drop() -> Seen {
    drop_then_seen(true)
}

// ---------------------------------------------------------------------------------------------
// Races: the op completed in the kernel before its future is dropped.

/// `read-race`: a read polled once and given a turn (pending on the empty pipe); 4096 B
/// written raw; FIONREAD shows the kernel op took them; dropped before the runtime's next
/// turn. Then a second read through the same descriptor, the write end closed, a raw drain.
fn read_race_run(cancel: bool) -> (i64, u64, Option<bool>, String) {
    let before = raw::fds();
    let (r, w) = raw::pipe();
    let ring = Ring::new(64).expect("ring");
    let rt = tokio_rt();
    let file = std::fs::File::open(proc_path(&r)).expect("open the pipe's read end");
    let fd = file.as_raw_fd();
    let data = payload(BLOCK, 5);
    let mut w = Some(w);
    let (mut got, raced, second) = rt.block_on(async {
        let mut got = Vec::new();
        let mut fut = Box::pin(ring.read_at_owned(fd, OwnedBuffer::new(BLOCK), 0));
        if let Poll::Ready(r) = poll_once(&mut fut).await {
            got.extend(bytes_of(r).unwrap_or_default());
            return (got, None, 0);
        }
        sleep(WINDOW).await; // a turn: the read waits in the kernel on the empty pipe
        let wr = w.take().expect("write end");
        raw::write_all(&wr, &data);
        // The kernel's read completes from task work on this thread: no runtime turn here.
        let t = Instant::now();
        while raw::pending(&wr) > 0 && t.elapsed() < DEADLINE {
            std::thread::sleep(Duration::from_millis(1));
        }
        let consumed = raw::pending(&wr) == 0;
        drop(wr); // end of stream for the second read once the pipe is empty
        if cancel {
            drop(fut);
        } else {
            got.extend(bytes_of(fut.await).unwrap_or_default());
        }
        let at = got.len();
        let _ = read_to_end(&ring, fd, &mut got).await;
        (got.clone(), Some(consumed), got.len() - at)
    });
    drop(file);
    drop(rt);
    drop(ring);
    drop(w);
    let drained = raw::drain(&r, Duration::from_millis(50));
    got.extend_from_slice(&drained);
    drop(r);
    let lost = (BLOCK as u64).saturating_sub(got.len() as u64);
    (
        extra_fds(before, FD_SETTLE),
        lost,
        raced,
        format!(
            "FIONREAD after the raw write: {}; then a second read through the same descriptor got \
             {second} B and a raw drain {} B; sent {BLOCK} B, delivered {} B",
            match raced {
                Some(true) => "0 (the kernel op took the bytes)",
                Some(false) => "bytes still in the pipe (no race)",
                None => "n/a (the read completed at its first poll)",
            },
            drained.len(),
            got.len()
        ),
    )
}

fn read_race() -> Seen {
    let (twin, ..) = read_race_run(false);
    let (leaked, lost, raced, note) = read_race_run(true);
    Seen {
        leaked_fds: leaked - twin,
        lost_bytes: lost,
        raced,
        notes: vec![note, format!("{leaked} fds left vs {twin} in the twin")],
        ..Seen::default()
    }
}

/// The only `Ring` `compat::File::open` accepts outside a leak: it wants `&'ring Ring<'ring>`,
/// and `Ring` is invariant in `'ring` and has a `Drop`, so a local ring cannot lend itself.
static OPEN_RING: OnceLock<Ring<'static>> = OnceLock::new();

/// `open-race`: 16 opens of a 4 KiB file through safer-ring's only open, `compat::File::open`
/// (always O_RDWR: compat.rs:412-428, so no O_RDONLY half); 8 dropped right after their first
/// poll (a), 8 once their descriptor is visible in `/proc/self/fd` (b). The file's descriptors
/// left open, and whether (b) raced (`None`: every open completed during its first poll).
fn open_race_run(cancel: bool) -> (i64, i64, usize, Option<bool>) {
    let ring = OPEN_RING.get_or_init(|| Ring::new(64).expect("ring"));
    let dir = Scratch::new("safer-ring", "open");
    let path = dir.join("file");
    std::fs::write(&path, payload(BLOCK, 6)).expect("4 KiB file");
    let path = path.canonicalize().expect("canonical path");
    let p = path.to_str().expect("utf-8 path").to_string();
    let rt = tokio_rt();
    let (left_a, first, raced) = rt.block_on(async {
        if !cancel {
            for _ in 0..16 {
                drop(safer_ring::File::open(ring, &p).await);
            }
            return (0, 16, None);
        }
        let mut first = 0;
        // (a) polled once and dropped before any turn.
        for _ in 0..8 {
            let mut f = Box::pin(safer_ring::File::open(ring, &p));
            first += poll_once(&mut f).await.is_ready() as usize; // a Ready file drops: closed
            drop(f);
        }
        turn_async(TURN).await;
        let left_a = fds_of(&path);
        // (b) polled once; turns until the kernel opened them; dropped unpolled.
        let mut b: Vec<_> = (0..8)
            .map(|_| Box::pin(safer_ring::File::open(ring, &p)))
            .collect();
        let mut pending = 0;
        for f in b.iter_mut() {
            match poll_once(f).await {
                Poll::Ready(_) => first += 1,
                Poll::Pending => pending += 1,
            }
        }
        let raced = if pending > 0 {
            let t = Instant::now();
            while fds_of(&path) < left_a + pending && t.elapsed() < DEADLINE {
                turn_async(Duration::from_millis(2)).await;
            }
            Some(fds_of(&path) >= left_a + pending)
        } else {
            None
        };
        drop(b);
        turn_async(TURN).await;
        (left_a, first, raced)
    });
    drop(rt);
    let t = Instant::now();
    while fds_of(&path) > 0 && t.elapsed() < FD_SETTLE {
        std::thread::sleep(Duration::from_millis(2));
    }
    let left = fds_of(&path);
    drop(dir);
    (left, left_a, first, raced)
}

/// A runtime turn from inside `block_on`.
async fn turn_async(d: Duration) {
    sleep(d).await;
}

fn open_race() -> Seen {
    let (twin, ..) = open_race_run(false);
    let (left, left_a, first, raced) = open_race_run(true);
    Seen {
        leaked_fds: left - twin,
        raced,
        notes: vec![format!(
            "16 compat::File::open (O_RDWR: safer-ring's only open): {first} completed during \
             their first poll (a blocking open(2) inside an async fn: nothing in flight to drop); \
             descriptors of the file left open: {left_a} after (a), {left} at the end; twin {twin}"
        )],
        ..Seen::default()
    }
}

/// `write-timeout-file`: 64 KiB `write_at_owned` at offset 0 of two fresh files, dropped (a)
/// right after their first poll and (b) once their bytes are visible through a raw read.
/// safer-ring has no fsync op (`compat::File::sync_all` is an empty stub, compat.rs:429-433),
/// so there is none to drop. Ghost bytes per case, and whether (b) raced.
fn write_timeout_run(cancel: bool) -> (i64, u64, u64, u64, Option<bool>, String) {
    const LEN: usize = 64 * 1024;
    let dir = Scratch::new("safer-ring", "write");
    let (pa, pb) = (dir.join("a"), dir.join("b"));
    let (da, db) = (payload(LEN, 7), payload(LEN, 8));
    let before = raw::fds();
    let ring = Ring::new(64).expect("ring");
    let rt = tokio_rt();
    let create = |p: &Path| {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(p)
            .expect("create")
    };
    let (fa, fb) = (create(&pa), create(&pb));
    let landed = |p: &Path, d: &[u8]| -> u64 {
        let got = std::fs::read(p).unwrap_or_default();
        got.iter().zip(d).take_while(|(a, b)| a == b).count() as u64
    };
    let (at_drop_a, raced, note) = rt.block_on(async {
        let write = |f: &std::fs::File, d: &[u8]| {
            Box::pin(ring.write_at_owned(f.as_raw_fd(), OwnedBuffer::from_slice(d), 0, d.len()))
        };
        if !cancel {
            let _ = write(&fa, &da).await;
            let _ = write(&fb, &db).await;
            return (0, None, String::new());
        }
        // (a) polled once, dropped before the runtime's next turn.
        let mut w = write(&fa, &da);
        let first_a = poll_once(&mut w).await.is_ready();
        let at_drop_a = landed(&pa, &da);
        drop(w);
        // (b) polled once; turns until the kernel has written it; dropped unpolled.
        let mut w = write(&fb, &db);
        let first_b = poll_once(&mut w).await.is_ready();
        let raced = if first_b {
            None
        } else {
            let t = Instant::now();
            while landed(&pb, &db) < LEN as u64 && t.elapsed() < DEADLINE {
                sleep(Duration::from_millis(2)).await;
            }
            Some(landed(&pb, &db) == LEN as u64)
        };
        drop(w);
        sleep(TURN).await;
        let note = format!(
            "(a) {} at its first poll, {at_drop_a} B in the file at its drop; (b) {} at its first \
             poll",
            if first_a { "completed" } else { "pending" },
            if first_b { "completed" } else { "pending" }
        );
        (if first_a { LEN as u64 } else { at_drop_a }, raced, note)
    });
    drop((fa, fb));
    drop(rt);
    drop(ring);
    let leaked = extra_fds(before, FD_SETTLE);
    let (ga, gb) = (landed(&pa, &da), landed(&pb, &db));
    drop(dir);
    (leaked, at_drop_a, ga, gb, raced, note)
}

fn write_timeout_file() -> Seen {
    let (twin, ..) = write_timeout_run(false);
    let (leaked, at_drop_a, ga, gb, raced, note) = write_timeout_run(true);
    let ghost_a = ga.saturating_sub(at_drop_a);
    Seen {
        leaked_fds: leaked - twin,
        // A ghost write is a byte that landed *after* its future was dropped: (b)'s bytes
        // were in the file before its drop (its result was lost, not its data), so they count
        // only when the completion had not been seen by then.
        ghost_bytes: ghost_a + if raced == Some(false) { gb } else { 0 },
        raced,
        notes: vec![
            note,
            format!(
                "(a) dropped after its first poll: {ghost_a} of 65536 B landed after the drop \
                 (ghost); (b) dropped after the kernel completed it: {gb} of 65536 B in the file \
                 ({})",
                match raced {
                    Some(true) => "already there before the drop: not a ghost",
                    Some(false) => "completion NOT seen before the drop",
                    None => "it completed at its first poll: nothing dropped",
                }
            ),
            "no fsync to drop: safer-ring has no fsync op (compat::File::sync_all is a stub)"
                .into(),
            format!("{leaked} fds left vs {twin} in the twin"),
        ],
        ..Seen::default()
    }
}

// ---------------------------------------------------------------------------------------------
// accept-drop.

/// Descriptors left by the same steps without a drop: a ring and a runtime, one accept
/// completed and its socket closed, all dropped.
fn baseline() -> i64 {
    let before = raw::fds();
    {
        let ring = Ring::new(64).expect("ring");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("rt");
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let c = std::net::TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
        let fd = rt
            .block_on(ring.accept_safe(l.as_raw_fd()))
            .expect("accept");
        // SAFETY: the accepted descriptor is ours.
        unsafe { libc::close(fd) };
        drop((c, l, rt, ring));
    }
    extra_fds(before, FD_SETTLE)
}

/// `accept-drop`: 4 `accept_safe` polled once (no client: pending) and given a turn; 4 clients
/// connect; wait until the kernel completed the accepts (4 new descriptors) without polling the
/// futures; drop them; count leaked descriptors.
fn accept_drop() -> Seen {
    let base = baseline();
    let mut seen = Seen::default();
    let before = raw::fds();
    {
        let ring = Ring::new(64).expect("ring");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("rt");
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let mut accepts: Vec<_> = (0..4)
            .map(|_| Box::pin(ring.accept_safe(l.as_raw_fd())))
            .collect();
        let mut pending = 0;
        for a in accepts.iter_mut() {
            let p = rt.block_on(poll_fn(|cx| Poll::Ready(a.as_mut().poll(cx).is_pending())));
            pending += p as usize;
        }
        turn(&rt, Duration::from_millis(20));
        let fds_then = raw::fds();
        let clients: Vec<_> = (0..4)
            .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
            .collect();
        let t = Instant::now();
        while raw::fds() < fds_then + 8 && t.elapsed() < Duration::from_millis(300) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let accepted = raw::fds() - fds_then - 4;
        seen.raced = Some(accepted > 0);
        seen.notes.push(format!(
            "{pending} of 4 accepts pending at their first poll; 4 clients connected; {accepted} accepted \
             descriptors appeared in {:.0} ms without polling the futures; then dropped",
            t.elapsed().as_secs_f64() * 1e3
        ));
        drop(accepts);
        drop(clients);
        // Later ring activity reaps the orphaned completions (a completed accept, then turns).
        let c = std::net::TcpStream::connect(addr).expect("connect");
        if let Ok(fd) = rt.block_on(ring.accept_safe(l.as_raw_fd())) {
            // SAFETY: ours.
            unsafe { libc::close(fd) };
        }
        turn(&rt, Duration::from_millis(60));
        drop((c, l, rt, ring));
    }
    leaked_beyond(before, base, FD_SETTLE, &mut seen);
    seen
}
