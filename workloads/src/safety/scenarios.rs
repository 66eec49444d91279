//! The scenarios themselves. Each returns the panics it caught (a panic while dropping is a
//! finding, not a harness failure) and fills the observation's counts and evidence; `Err` is a
//! setup failure.
//!
//! Every scenario counts descriptors from **before** it made its pipe or runtime to **after**
//! it closed them and dropped the runtime, and records what it did that can leak without any
//! cancellation ([`Usage`]: runtimes dropped, files closed, files dropped unclosed) so the
//! engine's baseline is subtracted rather than blamed on the drop.
//!
//! Waits that the helper thread ends are never "fallback data": a wait outside an op's own poll
//! that outlasts [`HANG_BOUND`] is recorded as a hang ([`HangSeen`]) before the helper supplies
//! its data (and whether the wait then ends is evidence too).

use std::future::{Future, poll_fn};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use super::harness::{
    Blocked, FD_SETTLE, Helper, Polled, REMAINDER, SETTLE, TURN, WINDOW, Wait, catch, drain,
    fd_table, fds, fill_pipe, jit, payload, phase, pipe, poll_all_for, proc_path, read_remaining,
    set_nonblocking, set_pipe_size, settle, write_all_raw,
};
use super::{Baseline, HangSeen, Observation};
use crate::{AlignedBuf, Engine, OpenHow, OpenMode, RuntimeConfig, alloc};

/// Reads dropped at once in `cancel-storm`.
pub const STORM: usize = 32;
/// Reads dropped at once in `cancel-storm-small-ring` (on an 8-entry ring).
pub const SMALL_RING_STORM: usize = 64;
/// Opens dropped in `open-drop`.
pub const OPENS: usize = 8;
/// Opens of each mode and each drop point in `open-race`.
const RACE_OPENS: usize = 4;
/// Accepts in `accept-drop`.
const ACCEPTS: usize = 4;
/// Size of every op's buffer.
const BLOCK: usize = 4096;
/// Size of each write in `write-timeout-file`.
const FILE_WRITE: usize = 64 * 1024;
/// How long a race scenario waits for the kernel to complete an op it will drop.
const KERNEL_WAIT: Duration = Duration::from_millis(50);
/// Content seeds: pipe payloads, the fill of a full pipe, and a dropped write's data.
const PAYLOAD_SEED: u64 = 0x5AFE;
const FILL_SEED: u64 = 0xF111;
const WRITE_SEED: u64 = 0x6057;

fn build<E: Engine>(ring_entries: u32, queue_depth: usize) -> Result<E, String> {
    let cfg = RuntimeConfig {
        ring_entries,
        queue_depth,
        block_size: BLOCK,
    };
    E::build(&cfg).map_err(|e| format!("runtime build failed: {e}"))
}

fn setup(what: &str) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("setup: {what}: {e}")
}

/// A directory for a scenario's files, under the caller's directory (or the system temporary
/// directory), removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(base: Option<&Path>, tag: &str) -> Result<Dir, String> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let base = base
            .map(Path::to_path_buf)
            .unwrap_or_else(std::env::temp_dir);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let p = base.join(format!("ringbench-safety-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir(&p).map_err(|e| format!("setup: creating {}: {e}", p.display()))?;
        Ok(Dir(p))
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The descriptor table when the count started, to name what a leak left behind.
static FDS_AT_START: Mutex<std::collections::BTreeMap<i32, String>> =
    Mutex::new(std::collections::BTreeMap::new());

/// Begin watching, before the scenario makes anything: descriptors and buffer bytes now,
/// quarantine armed.
fn start(obs: &mut Observation) {
    *FDS_AT_START.lock().unwrap_or_else(|p| p.into_inner()) = fd_table();
    obs.counts.fds_before = fds();
    obs.counts.buffer_bytes_before = alloc::live_buffer_bytes();
    alloc::arm();
}

/// Wait up to [`FD_SETTLE`] for the descriptor count to come back to `baseline`; the count at
/// the end, and how long it took, in words.
fn settle_fds(baseline: i64) -> (i64, String) {
    let t = Instant::now();
    let mut n = fds();
    if n <= baseline {
        return (n, "at once".into());
    }
    while n > baseline && t.elapsed() < FD_SETTLE {
        std::thread::sleep(Duration::from_millis(2));
        n = fds();
    }
    let ms = t.elapsed().as_secs_f64() * 1e3;
    if n <= baseline {
        (
            n,
            format!("after {ms:.0} ms (descriptors closed late, after the scenario ended)"),
        )
    } else {
        (
            n,
            format!(
                "not within {} ms; descriptors not open at the start: {}",
                FD_SETTLE.as_millis(),
                new_fds().unwrap_or_else(|| "none by name (numbers reused)".into())
            ),
        )
    }
}

/// Descriptors open now that were not at [`start`], as `N -> target`.
fn new_fds() -> Option<String> {
    let start = FDS_AT_START.lock().unwrap_or_else(|p| p.into_inner());
    let extra: Vec<String> = fd_table()
        .into_iter()
        .filter(|(k, v)| start.get(k) != Some(v))
        .map(|(k, v)| format!("{k} -> {v}"))
        .collect();
    (!extra.is_empty()).then(|| extra.join(", "))
}

/// Stop watching, after everything the scenario made is closed and its runtime dropped:
/// disarm, check the poison, count descriptors and buffer bytes.
fn finish(obs: &mut Observation) {
    alloc::disarm();
    let rep = alloc::check();
    let (fds_after, settled) = settle_fds(obs.counts.fds_before);
    let c = &mut obs.counts;
    c.fds_after = fds_after;
    c.buffer_bytes_after = alloc::live_buffer_bytes();
    c.quarantined_blocks = rep.blocks as u64;
    c.freed_bytes_written = rep.damaged_bytes as u64;
    let (fb, fa, bb, ba) = (
        c.fds_before,
        c.fds_after,
        c.buffer_bytes_before,
        c.buffer_bytes_after,
    );
    if obs.memory_oracle {
        obs.note(format!(
            "quarantine: {} blocks ({} B) freed while armed{}; {} damaged ({} B changed after free)",
            rep.blocks,
            rep.bytes,
            if rep.unrecorded > 0 {
                format!(", {} unrecorded", rep.unrecorded)
            } else {
                String::new()
            },
            rep.damaged_blocks,
            rep.damaged_bytes
        ));
        obs.note(format!("live buffer bytes: {bb} before, {ba} after"));
    }
    obs.note(format!(
        "open descriptors: {fb} before the scenario made anything, {fa} after everything was closed and the runtime dropped (back to the count {settled})"
    ));
}

/// Count how `polled` ended; `is_stream`: the ops were stream ops on one handle.
fn count_polled<E: Engine, T>(
    obs: &mut Observation,
    what: &str,
    is_stream: bool,
    polled: &[Polled<T>],
) {
    let (mut first, mut window, mut pending) = (0, 0, 0);
    for p in polled {
        match p {
            Polled::FirstPoll(_) => first += 1,
            Polled::InWindow(_) => window += 1,
            Polled::Pending => pending += 1,
        }
    }
    // Ops queued inside the engine (behind a lock on one handle) never reached the runtime:
    // only one of a burst counts as dropped in flight, the rest as queued.
    let queued = if pending > 1 && is_stream && !E::STREAM_OPS_OVERLAP {
        pending - 1
    } else {
        0
    };
    let c = &mut obs.counts;
    c.ops += polled.len() as u64;
    c.completed_first_poll += first;
    c.completed_in_window += window;
    c.dropped_in_flight += pending - queued;
    obs.in_flight |= pending > 0;
    phase("window over", Wait::Other);
    obs.note(format!(
        "{} {what} polled inside the runtime for {} ms: {pending} still pending (in flight, dropped), \
         {first} completed during their first poll{}, {window} completed later within the window",
        polled.len(),
        WINDOW.as_millis(),
        if first > 0 {
            " (they blocked inside poll: nothing to cancel)"
        } else {
            ""
        },
    ));
    if queued > 0 {
        obs.note(format!(
            "the engine's stream ops on one handle do not overlap (Engine::STREAM_OPS_OVERLAP = false: the runtime's stream type has one op in flight at a time): of the {pending} pending, one was the runtime's op and {queued} waited in the adapter's queue, so 1 counts as dropped in flight"
        ));
    } else if pending > 1 && !is_stream && !E::INFO.caps.concurrent_ops {
        obs.note(format!(
            "the engine says its ops on one file do not overlap (caps.concurrent_ops = false): of the {pending} pending, at most one was in the kernel, the others waited their turn inside the engine"
        ));
    }
}

/// Record what the helper saw: acting on its own after an op's own wait (a blocking engine:
/// not a finding), or after a wait elsewhere (a hang that ended once the data came).
fn helper_note(obs: &mut Observation, what: &str, signalled: &str, blocked: Option<Blocked>) {
    match blocked {
        None => obs.note(format!("helper {what} when signalled, {signalled}")),
        Some(b) if b.wait == Wait::Op => obs.note(format!(
            "helper {what} on its own after {} ms: the runtime thread was blocked inside the op's own poll ({}), which only the data could end — the engine completes ops inside poll",
            b.after_ms, b.phase
        )),
        Some(b) => {
            obs.note(format!(
                "HANG: the runtime thread was blocked in \"{}\" for {} ms with nothing to wait for but the data; the helper then {what}, and the wait ended once the data arrived",
                b.phase, b.after_ms
            ));
            obs.hang = Some(HangSeen {
                during: b.phase.to_string(),
                after_ms: b.after_ms,
            });
        }
    }
}

/// When the helper is signalled in the scenarios that give the runtime a turn first.
fn after_turn() -> String {
    format!(
        "after the drop and a {} ms turn of the runtime",
        SETTLE.as_millis()
    )
}

/// Drop the runtime (panics caught), timing it; the phase says where a hang was.
fn drop_runtime<E: Engine>(obs: &mut Observation, rt: E, panics: &mut Vec<String>) {
    phase("dropping the runtime", Wait::Other);
    let t = Instant::now();
    if let Err(p) = catch(|| drop(rt)) {
        panics.push(format!("dropping the runtime: {p}"));
    }
    let ms = t.elapsed().as_secs_f64() * 1e3;
    obs.counts.runtime_drop_ms = ms;
    obs.usage.runtimes += 1;
    obs.note(format!("runtime dropped in {ms:.1} ms"));
    phase("after the runtime", Wait::Other);
}

/// Close `file` with the engine's async close inside the runtime (panics caught).
fn close_file<E: Engine>(
    obs: &mut Observation,
    rt: &mut E,
    file: E::File,
    what: &str,
    panics: &mut Vec<String>,
) {
    phase("closing a file", Wait::Other);
    match catch(|| rt.block_on(E::close(file))) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => obs.note(format!("closing {what} failed: {e}")),
        Err(p) => panics.push(format!("closing {what}: {p}")),
    }
    obs.usage.files_closed += 1;
}

/// Poll `fut` once inside the runtime: its output if it completed in that poll.
async fn poll_once<F: Future>(fut: &mut Pin<Box<F>>) -> Option<F::Output> {
    poll_fn(|cx| {
        Poll::Ready(match fut.as_mut().poll(cx) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        })
    })
    .await
}

/// Let the runtime run in short turns, without polling anything of the scenario's, until
/// `done()` or `limit` passed; whether `done()` became true.
async fn turns_until<E: Engine>(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        E::sleep(TURN).await;
    }
}

/// Wait on this thread, without a runtime turn (sleeping in short syscalls, which also run
/// the kernel's deferred work for this thread), until `done()` or `limit` passed.
fn wait_here(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Bytes waiting in a pipe (`FIONREAD` on either end's description of it).
fn pipe_pending(fd: &OwnedFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) };
    n.max(0) as usize
}

/// Where the received stream first departs from what was sent, in words.
fn describe_gap(sent: &[u8], got: &[u8]) -> String {
    match sent.iter().zip(got).position(|(a, b)| a != b) {
        Some(i) => format!(" (received data departs from the payload at byte {i})"),
        None if got.len() < sent.len() => {
            format!(" (the tail from byte {} never arrived)", got.len())
        }
        None if got.len() > sent.len() => format!(" ({} B more than sent)", got.len() - sent.len()),
        None => " (received exactly the payload, in order)".into(),
    }
}

/// Account bytes: sent, received, lost (when `accountable`), poison in what was received.
fn account(obs: &mut Observation, sent: &[u8], got: &[u8], accountable: bool) {
    let c = &mut obs.counts;
    c.bytes_sent = sent.len() as u64;
    c.bytes_received = got.len() as u64;
    if accountable {
        c.bytes_lost = c.bytes_sent.saturating_sub(c.bytes_received);
    }
    c.freed_bytes_read = alloc::poison_bytes_in(got) as u64;
    let (s, g, l) = (c.bytes_sent, c.bytes_received, c.bytes_lost);
    obs.note(format!(
        "sent {s} B, received {g} B, lost {l} B{}",
        describe_gap(sent, got)
    ));
}

/// A pipe of 64 KiB whose read end is non-blocking, so a raw drain of it ends when it is empty
/// (the scenarios that keep a raw reader beside the engine's handle).
fn drainable_pipe() -> Result<(OwnedFd, OwnedFd), String> {
    let (r, w) = pipe().map_err(setup("pipe"))?;
    set_pipe_size(&w, 64 * 1024).map_err(setup("F_SETPIPE_SZ"))?;
    set_nonblocking(&r).map_err(setup("O_NONBLOCK"))?;
    Ok((r, w))
}

/// `baseline`: no cancellation at all. A runtime built and dropped with nothing run; then, on
/// a second runtime, a regular file opened and closed (after a warm-up open, so lazily opened
/// runtime descriptors do not count) and a file opened and dropped without close.
pub fn baseline<E: Engine>(
    obs: &mut Observation,
    dir: Option<&Path>,
) -> Result<Vec<String>, String> {
    let mut panics = Vec::new();
    let d = Dir::new(dir, "baseline")?;
    let path = d.0.join("file");
    std::fs::write(&path, payload(PAYLOAD_SEED, BLOCK)).map_err(setup("writing a file"))?;
    start(obs);
    // A runtime that did one open and close, then dropped: what a runtime leaks (its file's
    // share is taken out below, once measured on its own).
    let before = fds();
    let mut rt = build::<E>(64, 8)?;
    rt.block_on(async {
        let f = E::open(&path, OpenHow::READ).await?;
        E::close(f).await
    })
    .map_err(setup("open/close of a regular file"))?;
    drop_runtime(obs, rt, &mut panics);
    let (after_rt, _) = settle_fds(before);
    let mut rt = build::<E>(64, 8)?;
    let opened = rt.block_on(async {
        // Warm-up: what the runtime opens lazily on its first open.
        let f = E::open(&path, OpenHow::READ).await?;
        E::close(f).await?;
        let at = fds();
        let f = E::open(&path, OpenHow::READ).await?;
        E::close(f).await?;
        settle::<E>(SETTLE).await;
        let closed = fds() - at;
        let at = fds();
        let f = E::open(&path, OpenHow::READ).await?;
        drop(f);
        settle::<E>(SETTLE).await;
        let mut dropped = fds() - at;
        // A descriptor closed late (on a helper thread): give it the same grace as a scenario.
        let t = Instant::now();
        while dropped > 0 && t.elapsed() < FD_SETTLE {
            E::sleep(TURN * 2).await;
            dropped = fds() - at;
        }
        std::io::Result::Ok((closed, dropped))
    });
    let (closed, dropped_with_turn) = opened.map_err(setup("open/close of a regular file"))?;
    drop_runtime(obs, rt, &mut panics);
    // A file dropped unclosed and the runtime dropped at once, with no turn between (what
    // `runtime-drop` and `shutdown-live-task` do): some runtimes only queue the close on drop
    // and never run it. Measured against the first runtime's leak.
    let at = fds();
    let mut rt = build::<E>(64, 8)?;
    rt.block_on(async {
        let f = E::open(&path, OpenHow::READ).await?;
        E::close(f).await?;
        // Dropped inside the runtime (as leaving a scope does), then no turn.
        drop(E::open(&path, OpenHow::READ).await?);
        std::io::Result::Ok(())
    })
    .map_err(setup("open of a regular file"))?;
    drop_runtime(obs, rt, &mut panics);
    let (after, _) = settle_fds(at + after_rt - before);
    let dropped_at_shutdown = after - at - (after_rt - before);
    let b = Baseline {
        runtime: (after_rt - before - closed.max(0)).max(0),
        file_closed: closed,
        file_dropped: dropped_with_turn.max(dropped_at_shutdown),
    };
    obs.note(format!(
        "a file dropped unclosed left {dropped_with_turn} descriptor(s) with a runtime turn after the drop, {dropped_at_shutdown} with the runtime dropped at once"
    ));
    finish(obs);
    obs.note(format!(
        "without any cancellation: a runtime built and dropped left {} descriptor(s); a file opened and closed left {}; a file opened and dropped unclosed left {}",
        b.runtime, b.file_closed, b.file_dropped
    ));
    if b.runtime > 0 || b.file_closed > 0 || b.file_dropped > 0 {
        obs.note(
            "every other cell of this engine subtracts these from its descriptor count, per runtime and per file it used",
        );
    }
    obs.baseline = Some(b);
    Ok(panics)
}

/// `read-drop` (`n == 1`), `cancel-storm` (`n == STORM`) and `cancel-storm-small-ring`
/// (`n == SMALL_RING_STORM`, `ring == 8`): reads of an empty pipe dropped while waiting; then
/// the data for all of them (and one block more) arrives.
pub fn read_drop<E: Engine>(
    obs: &mut Observation,
    n: usize,
    ring: u32,
) -> Result<Vec<String>, String> {
    read_drop_by::<E>(obs, n, ring, false)
}

/// `timeout-read`: one read of an empty pipe raced against the runtime's timer
/// ([`Engine::sleep`], the runtime's own where the engine has one) in one poll function, the way
/// `timeout(d, read)` or `select!` is written: the timer wins and the read future is dropped
/// in the same poll that saw the timer fire. Then data arrives, as in `read-drop`.
pub fn timeout_read<E: Engine>(obs: &mut Observation) -> Result<Vec<String>, String> {
    read_drop_by::<E>(obs, 1, 64, true)
}

/// Race `read` against `E::sleep(WINDOW)`; the read's outcome if it finished first (and
/// whether during its first poll), `Pending` if the timer won. The read is not dropped here.
async fn race_timer<E: Engine, F: Future>(read: &mut Pin<Box<F>>) -> Polled<F::Output> {
    let mut timer = Box::pin(E::sleep(WINDOW));
    let mut first = true;
    poll_fn(|cx| {
        if let Poll::Ready(v) = read.as_mut().poll(cx) {
            return Poll::Ready(if first {
                Polled::FirstPoll(v)
            } else {
                Polled::InWindow(v)
            });
        }
        first = false;
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Polled::Pending);
        }
        Poll::Pending
    })
    .await
}

fn read_drop_by<E: Engine>(
    obs: &mut Observation,
    n: usize,
    ring: u32,
    by_timer: bool,
) -> Result<Vec<String>, String> {
    let mut panics = Vec::new();
    start(obs);
    let (r, w) = pipe().map_err(setup("pipe"))?;
    let len = (n + 1) * BLOCK;
    let cap =
        set_pipe_size(&w, len.next_power_of_two().max(64 * 1024)).map_err(setup("F_SETPIPE_SZ"))?;
    let mut rt = build::<E>(ring, n.max(8))?;
    let file = rt
        .block_on(E::open(&proc_path(&r), OpenHow::READ))
        .map_err(setup("engine open of the pipe's read end"))?;
    drop(r); // the engine's handle is now the only reader
    obs.note(format!(
        "pipe of {cap} B, read end opened through the engine (runtime built with {ring} ring entries); {n} reads of {BLOCK} B each"
    ));
    let data = payload(PAYLOAD_SEED, len);
    let sent = data.clone();
    let mut helper = Helper::spawn(move || {
        let r = write_all_raw(&w, &data);
        drop(w); // end of stream once the data is read
        r
    });
    let mut got = Vec::new();
    let turn = jit(SETTLE);
    let ended = rt.block_on(async {
        let mut futs: Vec<_> = (0..n)
            .map(|_| Box::pin(E::read_stream(&file, AlignedBuf::new(BLOCK))))
            .collect();
        let polled = if by_timer {
            let mut one = Vec::new();
            for f in futs.iter_mut() {
                phase("a read raced against the timer", Wait::Op);
                one.push(race_timer::<E, _>(f).await);
            }
            obs.note(format!(
                "each read raced against the engine's timer of {} ms in one poll function; the timer's win drops the read",
                WINDOW.as_millis()
            ));
            one
        } else {
            poll_all_for::<E, _>(&mut futs, WINDOW).await
        };
        count_polled::<E, _>(obs, "reads", true, &polled);
        for p in polled {
            if let Polled::FirstPoll((r, buf)) | Polled::InWindow((r, buf)) = p {
                match r {
                    Ok(k) => got.extend_from_slice(&buf.as_slice()[..k]),
                    Err(e) => obs.note(format!("a read that completed failed: {e}")),
                }
            }
        }
        phase("dropping the pending reads", Wait::Other);
        if let Err(p) = catch(|| drop(futs)) {
            panics.push(format!("dropping pending reads: {p}"));
        }
        // The runtime gets a turn before the data comes, so a cancel it issues on drop can
        // land first: this is the slow path, named as such.
        phase("a runtime turn after the drop", Wait::Other);
        settle::<E>(turn).await;
        helper.go();
        settle::<E>(turn).await;
        phase("reading the rest through the same handle", Wait::Op);
        let before = got.len();
        let ended = read_remaining::<E>(&file, BLOCK, REMAINDER, &mut got).await;
        (got.len() - before, ended)
    });
    let (wrote, blocked) = helper.join();
    helper_note(
        obs,
        &format!("wrote {len} B and closed the write end"),
        &after_turn(),
        blocked,
    );
    if let Err(e) = wrote {
        obs.note(format!("helper write failed: {e}"));
    }
    obs.note(format!(
        "after the drop, read {} B more through the same handle (ended by {})",
        ended.0, ended.1
    ));
    let accountable = !ended.1.starts_with("error");
    if !accountable {
        obs.inconclusive = Some(format!(
            "no byte accounting: reading the rest through the same handle failed ({})",
            ended.1
        ));
    }
    close_file(obs, &mut rt, file, "the pipe", &mut panics);
    drop_runtime(obs, rt, &mut panics);
    finish(obs);
    account(obs, &sent, &got, accountable);
    Ok(panics)
}

/// `write-drop`: a write to a full pipe, dropped while blocked; then the pipe drains.
pub fn write_drop<E: Engine>(obs: &mut Observation) -> Result<Vec<String>, String> {
    let mut panics = Vec::new();
    start(obs);
    let (r, w) = pipe().map_err(setup("pipe"))?;
    let cap = set_pipe_size(&w, BLOCK).map_err(setup("F_SETPIPE_SZ"))?;
    let mut rt = build::<E>(64, 8)?;
    let file = rt
        .block_on(E::open(&proc_path(&w), OpenHow::CREATE))
        .map_err(setup("engine open of the pipe's write end"))?;
    set_nonblocking(&w).map_err(setup("O_NONBLOCK"))?;
    let fill = payload(FILL_SEED, cap);
    let filled = fill_pipe(&w, &fill).map_err(setup("filling the pipe"))?;
    drop(w); // the engine's handle is now the only writer: end of stream when it closes
    obs.note(format!(
        "pipe of {cap} B filled with {filled} B; write end opened through the engine; one write of {BLOCK} B"
    ));
    let mut helper = Helper::spawn(move || drain(&r, REMAINDER, 2 * REMAINDER));
    let data = payload(WRITE_SEED, BLOCK);
    let mut completed = 0usize;
    let turn = jit(SETTLE);
    let dropped = rt.block_on(async {
        let mut futs = vec![Box::pin(E::write_stream(
            &file,
            AlignedBuf::from_slice(&data),
        ))];
        let polled = poll_all_for::<E, _>(&mut futs, WINDOW).await;
        count_polled::<E, _>(obs, "writes", true, &polled);
        let mut dropped = false;
        for p in polled {
            match p {
                Polled::FirstPoll((r, _)) | Polled::InWindow((r, _)) => match r {
                    Ok(k) => completed += k,
                    Err(e) => obs.note(format!("the write completed with an error: {e}")),
                },
                Polled::Pending => dropped = true,
            }
        }
        phase("dropping the pending write", Wait::Other);
        if let Err(p) = catch(|| drop(futs)) {
            panics.push(format!("dropping the pending write: {p}"));
        }
        phase("a runtime turn after the drop", Wait::Other);
        settle::<E>(turn).await;
        helper.go();
        settle::<E>(turn).await;
        dropped
    });
    // The engine's close ends the stream for the helper's drain.
    close_file(obs, &mut rt, file, "the write end", &mut panics);
    let ((out, how), blocked) = helper.join();
    helper_note(obs, "drained the pipe", &after_turn(), blocked);
    drop_runtime(obs, rt, &mut panics);
    finish(obs);
    obs.counts.bytes_sent = BLOCK as u64;
    let expected = filled + completed;
    obs.note(format!(
        "drained {} B (ended by {how}): {filled} B of fill, then {} B",
        out.len(),
        out.len().saturating_sub(filled)
    ));
    if out.len() < filled || out[..filled] != fill[..filled] {
        obs.note("the fill did not come out intact");
    }
    let extra = &out[expected.min(out.len())..];
    let poison = alloc::poison_bytes_in(&out[filled.min(out.len())..]) as u64;
    obs.counts.freed_bytes_read = poison;
    if dropped {
        obs.counts.ghost_bytes = extra.len() as u64;
        let matching = extra.iter().zip(&data).filter(|(a, b)| a == b).count();
        obs.note(format!(
            "{} B landed after the write's future was dropped ({matching} B equal to the dropped write's data, {poison} B of poison)",
            extra.len(),
        ));
    } else {
        obs.counts.bytes_received = completed as u64;
        obs.note(format!(
            "the write completed with {completed} B; {} B beyond it",
            extra.len()
        ));
    }
    Ok(panics)
}

/// `open-drop`: opens of a FIFO with no reader, dropped while waiting; then a reader appears.
pub fn open_drop<E: Engine>(
    obs: &mut Observation,
    dir: Option<&Path>,
) -> Result<Vec<String>, String> {
    let mut panics = Vec::new();
    let d = Dir::new(dir, "open-drop")?;
    let fifo = d.0.join("fifo");
    let c =
        std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(setup("mkfifo")(std::io::Error::last_os_error()));
    }
    start(obs);
    let mut rt = build::<E>(64, 8)?;
    // Warm up: whatever the runtime opens lazily on its first open is not a leak.
    rt.block_on(async {
        let f = E::open(Path::new("/dev/null"), OpenHow::READ).await?;
        E::close(f).await
    })
    .map_err(setup("warm-up open of /dev/null"))?;
    obs.usage.files_closed += 1;
    let path = fifo.clone();
    let mut helper = Helper::spawn(move || {
        // O_RDWR never blocks on a FIFO and counts as a reader: it releases every waiting open.
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path);
        std::thread::sleep(SETTLE);
        f.map(drop)
    });
    // Opened for writing with O_CREAT: a FIFO's write-open waits for a reader, and io_uring
    // cannot try an O_CREAT open without blocking, so it goes to a worker and waits there.
    obs.note(format!(
        "FIFO with no reader; {OPENS} opens for writing (O_WRONLY|O_CREAT) through the engine"
    ));
    let turn = jit(SETTLE);
    let mut closed = 0;
    rt.block_on(async {
        let mut futs: Vec<_> = (0..OPENS)
            .map(|_| Box::pin(E::open(&fifo, OpenHow::CREATE)))
            .collect();
        let polled = poll_all_for::<E, _>(&mut futs, WINDOW).await;
        count_polled::<E, _>(obs, "opens", false, &polled);
        for p in polled {
            if let Polled::FirstPoll(r) | Polled::InWindow(r) = p {
                match r {
                    Ok(f) => {
                        closed += 1;
                        if let Err(e) = E::close(f).await {
                            obs.note(format!("closing an opened FIFO failed: {e}"));
                        }
                    }
                    Err(e) => obs.note(format!("an open that completed failed: {e}")),
                }
            }
        }
        phase("dropping the pending opens", Wait::Other);
        if let Err(p) = catch(|| drop(futs)) {
            panics.push(format!("dropping pending opens: {p}"));
        }
        phase("a runtime turn after the drop", Wait::Other);
        settle::<E>(turn).await;
        helper.go();
        settle::<E>(turn * 2).await;
    });
    obs.usage.files_closed += closed;
    let (opened, blocked) = helper.join();
    helper_note(
        obs,
        "opened the FIFO read-write (a reader appeared)",
        &after_turn(),
        blocked,
    );
    if let Err(e) = opened {
        obs.note(format!("helper open failed: {e}"));
    }
    rt.block_on(settle::<E>(SETTLE));
    drop_runtime(obs, rt, &mut panics);
    finish(obs);
    Ok(panics)
}

/// `runtime-drop`: a read of an empty pipe is dropped inside the runtime, the file handle
/// dropped, and the runtime dropped at once while the kernel may still hold the op; then data
/// arrives and is drained through a second reader.
pub fn runtime_drop<E: Engine>(obs: &mut Observation) -> Result<Vec<String>, String> {
    drop_then::<E>(obs, false)
}

/// `close-after-drop`: as `runtime-drop`, but the file is closed with the engine's async close
/// right after the read's future is dropped (no turn in between). A close that waits for the
/// dropped op until the data comes is a hang (the helper records it, then supplies the data);
/// one that never returns is caught by the driver's deadline.
pub fn close_after_drop<E: Engine>(obs: &mut Observation) -> Result<Vec<String>, String> {
    drop_then::<E>(obs, true)
}

fn drop_then<E: Engine>(obs: &mut Observation, close: bool) -> Result<Vec<String>, String> {
    let mut panics = Vec::new();
    start(obs);
    let (r, w) = drainable_pipe()?;
    let len = 2 * BLOCK;
    let data = payload(PAYLOAD_SEED, len);
    let sent = data.clone();
    let mut rt = build::<E>(64, 8)?;
    let file = rt
        .block_on(E::open(&proc_path(&r), OpenHow::READ))
        .map_err(setup("engine open of the pipe's read end"))?;
    obs.note(format!(
        "pipe opened through the engine; one read of {BLOCK} B; a second raw reader kept for afterwards"
    ));
    let mut helper = Helper::spawn(move || {
        let r = write_all_raw(&w, &data);
        drop(w);
        r
    });
    let mut got = Vec::new();
    rt.block_on(async {
        let mut futs = vec![Box::pin(E::read_stream(&file, AlignedBuf::new(BLOCK)))];
        let polled = poll_all_for::<E, _>(&mut futs, WINDOW).await;
        count_polled::<E, _>(obs, "reads", true, &polled);
        for p in polled {
            if let Polled::FirstPoll((Ok(k), buf)) | Polled::InWindow((Ok(k), buf)) = p {
                got.extend_from_slice(&buf.as_slice()[..k]);
            }
        }
        phase("dropping the pending read", Wait::Other);
        if let Err(p) = catch(|| drop(futs)) {
            panics.push(format!("dropping the pending read: {p}"));
        }
        if close {
            phase("the async close right after the drop", Wait::Other);
            let t = Instant::now();
            let r = E::close(file).await;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            obs.note(format!(
                "the engine's async close, awaited right after the drop, returned {} after {ms:.1} ms",
                match r {
                    Ok(()) => "Ok".to_string(),
                    Err(e) => format!("an error ({e})"),
                }
            ));
        } else {
            // Dropped, not closed: an async close waits for the dropped op in some runtimes
            // (`close-after-drop` looks at that). Dropping the handle is what leaving a scope
            // does; the runtime closes it its own way.
            phase("dropping the handle", Wait::Other);
            if let Err(p) = catch(|| drop(file)) {
                panics.push(format!("dropping the engine's handle: {p}"));
            }
        }
    });
    if close {
        obs.usage.files_closed += 1;
    } else {
        obs.usage.files_dropped += 1;
    }
    obs.note(if close {
        "then the runtime dropped"
    } else {
        "the read's future and then the engine's handle dropped inside the runtime, then the runtime dropped at once (no turn in between)"
    });
    drop_runtime(obs, rt, &mut panics);
    helper.go();
    let (wrote, blocked) = helper.join();
    helper_note(
        obs,
        &format!("wrote {len} B"),
        "after the runtime was dropped",
        blocked,
    );
    if let Err(e) = wrote {
        obs.note(format!("helper write failed: {e}"));
    }
    std::thread::sleep(SETTLE);
    let (rest, how) = drain(&r, Duration::from_millis(20), REMAINDER);
    obs.note(format!(
        "the second reader drained {} B (ended by {how})",
        rest.len()
    ));
    got.extend_from_slice(&rest);
    drop(r);
    finish(obs);
    account(obs, &sent, &got, true);
    Ok(panics)
}

/// When a race scenario drops an op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DropAt {
    /// Right after its first poll (it may not even have reached the kernel).
    AtOnce,
    /// After the kernel completed it (seen from outside), before it was polled again.
    AfterKernel,
}

impl DropAt {
    fn words(self) -> &'static str {
        match self {
            DropAt::AtOnce => "dropped right after the first poll",
            DropAt::AfterKernel => "dropped after the kernel completed it",
        }
    }
}

/// Descriptors of this process pointing at `path`.
fn fds_of(path: &Path) -> usize {
    fd_table()
        .values()
        .filter(|t| Path::new(t.as_str()) == path)
        .count()
}

/// `open-race`: opens of an existing regular file, read-only and read-write, each polled once,
/// then dropped at once or after the kernel completed it (a new descriptor for the file is
/// visible), never polled again. Counts descriptors of the file that outlive the drops.
pub fn open_race<E: Engine>(
    obs: &mut Observation,
    dir: Option<&Path>,
) -> Result<Vec<String>, String> {
    let mut panics = Vec::new();
    let d = Dir::new(dir, "open-race")?;
    let path = d.0.join("file");
    std::fs::write(&path, payload(PAYLOAD_SEED, BLOCK)).map_err(setup("writing the file"))?;
    let path = path.canonicalize().map_err(setup("canonical path"))?;
    start(obs);
    let mut rt = build::<E>(64, 8)?;
    let mut closed = 0;
    let mut lines = Vec::new();
    rt.block_on(async {
        // Warm up: lazily opened runtime descriptors are not a leak.
        if let Ok(f) = E::open(&path, OpenHow::READ).await {
            closed += 1;
            let _ = E::close(f).await;
        }
        let read_write = OpenHow {
            mode: OpenMode::ReadWrite,
            direct: false,
            perm: 0,
        };
        for (how, mode) in [(OpenHow::READ, "O_RDONLY"), (read_write, "O_RDWR")] {
            for at in [DropAt::AtOnce, DropAt::AfterKernel] {
                let (mut first, mut kernel, mut not) = (0, 0, 0);
                for _ in 0..RACE_OPENS {
                    let before = fds_of(&path);
                    let mut fut = Box::pin(E::open(&path, how));
                    phase("an open's first poll", Wait::Op);
                    if let Some(r) = poll_once(&mut fut).await {
                        first += 1;
                        if let Ok(f) = r {
                            closed += 1;
                            let _ = E::close(f).await;
                        }
                        continue;
                    }
                    phase("waiting for the kernel to complete the open", Wait::Other);
                    if at == DropAt::AfterKernel {
                        // Runtime turns (it submits and may reap), but this future is not
                        // polled again: the way a timer that fires in the same turn drops it.
                        if turns_until::<E>(KERNEL_WAIT, || fds_of(&path) > before).await {
                            kernel += 1;
                        } else {
                            not += 1;
                        }
                    }
                    phase("dropping the open", Wait::Other);
                    if let Err(p) = catch(|| drop(fut)) {
                        panics.push(format!("dropping an open: {p}"));
                    }
                }
                let c = &mut obs.counts;
                c.ops += RACE_OPENS as u64;
                c.completed_first_poll += first;
                c.completed_in_kernel_before_drop += kernel;
                c.not_completed_before_drop += not;
                if at == DropAt::AtOnce {
                    c.dropped_at_once += RACE_OPENS as u64 - first;
                }
                obs.in_flight |= first < RACE_OPENS as u64;
                lines.push(format!(
                    "{RACE_OPENS} opens {mode} {}: {first} completed during their first poll{}",
                    at.words(),
                    match at {
                        DropAt::AtOnce => String::new(),
                        DropAt::AfterKernel => format!(
                            ", {kernel} seen completed in the kernel (a descriptor for the file installed) before the drop, {not} not within {} ms",
                            KERNEL_WAIT.as_millis()
                        ),
                    }
                ));
            }
        }
        phase("a runtime turn after the drops", Wait::Other);
        settle::<E>(jit(SETTLE)).await;
    });
    obs.usage.files_closed += closed;
    for l in lines {
        obs.note(l);
    }
    let left = fds_of(&path);
    obs.note(format!(
        "after the drops and a runtime turn: {left} descriptor(s) of the file still open"
    ));
    drop_runtime(obs, rt, &mut panics);
    finish(obs);
    Ok(panics)
}

/// `read-race`: a read of an empty pipe submitted (one poll, one runtime turn), then the data
/// written by the helper; this thread waits, without a runtime turn, until the pipe is empty
/// again (the kernel's read consumed the data: counted), and drops the future. Then a second
/// read through the same handle and a raw drain: bytes that went nowhere are lost.
pub fn read_race<E: Engine>(obs: &mut Observation) -> Result<Vec<String>, String> {
    let mut panics = Vec::new();
    start(obs);
    let (r, w) = drainable_pipe()?;
    let mut rt = build::<E>(64, 8)?;
    let file = rt
        .block_on(E::open(&proc_path(&r), OpenHow::READ))
        .map_err(setup("engine open of the pipe's read end"))?;
    let data = payload(PAYLOAD_SEED, BLOCK);
    let sent = data.clone();
    let written = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&written);
    // The helper writes the data when told, and keeps the write end open until told again,
    // so the second read can only end by the data or its deadline... it closes it at once:
    // end of stream ends the second read as soon as nothing is left.
    let mut helper = Helper::spawn(move || {
        let res = write_all_raw(&w, &data);
        flag.store(true, Ordering::Release);
        drop(w);
        res
    });
    obs.note(format!(
        "pipe read end opened through the engine (a raw reader kept); one read of {BLOCK} B; {BLOCK} B written by a helper thread"
    ));
    let mut got = Vec::new();
    let ended = rt.block_on(async {
        let mut fut = Box::pin(E::read_stream(&file, AlignedBuf::new(BLOCK)));
        phase("the read's first poll", Wait::Op);
        obs.counts.ops = 1;
        if let Some((res, buf)) = poll_once(&mut fut).await {
            obs.counts.completed_first_poll = 1;
            obs.note("the read completed during its first poll (it blocked inside poll: nothing to drop)");
            if let Ok(k) = res {
                got.extend_from_slice(&buf.as_slice()[..k]);
            }
        } else {
            // A turn so the runtime submits it; it then waits in the kernel (the pipe is empty).
            phase("a runtime turn to submit the read", Wait::Other);
            settle::<E>(jit(TURN * 5)).await;
            let pending = poll_once(&mut fut).await;
            if let Some((res, buf)) = pending {
                obs.counts.completed_in_window = 1;
                if let Ok(k) = res {
                    got.extend_from_slice(&buf.as_slice()[..k]);
                }
            } else {
                obs.in_flight = true;
                phase("waiting for the kernel to consume the data", Wait::Other);
                helper.go();
                let wrote = wait_here(KERNEL_WAIT, || written.load(Ordering::Acquire));
                let consumed = wrote && wait_here(KERNEL_WAIT, || pipe_pending(&r) == 0);
                if consumed {
                    obs.counts.completed_in_kernel_before_drop = 1;
                } else {
                    obs.counts.not_completed_before_drop = 1;
                }
                obs.counts.dropped_in_flight = 1;
                obs.note(format!(
                    "the read was pending after a runtime turn; the data was written and {} before the future was dropped, with no runtime turn in between",
                    if consumed {
                        "the pipe was empty again (the kernel's read had consumed it: the race happened)"
                    } else {
                        "still sat in the pipe (the kernel had not completed the read: no race this time)"
                    }
                ));
                phase("dropping the read", Wait::Other);
                if let Err(p) = catch(|| drop(fut)) {
                    panics.push(format!("dropping the read: {p}"));
                }
            }
        }
        phase("a runtime turn after the drop", Wait::Other);
        settle::<E>(jit(SETTLE)).await;
        phase("reading the rest through the same handle", Wait::Op);
        let before = got.len();
        let ended = read_remaining::<E>(&file, BLOCK, REMAINDER, &mut got).await;
        (got.len() - before, ended)
    });
    let (wrote, blocked) = helper.join();
    helper_note(
        obs,
        &format!("wrote {BLOCK} B"),
        "after the read was submitted",
        blocked,
    );
    if let Err(e) = wrote {
        obs.note(format!("helper write failed: {e}"));
    }
    obs.note(format!(
        "a second read through the same handle got {} B (ended by {})",
        ended.0, ended.1
    ));
    close_file(obs, &mut rt, file, "the pipe", &mut panics);
    drop_runtime(obs, rt, &mut panics);
    let (rest, how) = drain(&r, Duration::from_millis(20), REMAINDER);
    obs.note(format!("a raw drain got {} B (ended by {how})", rest.len()));
    got.extend_from_slice(&rest);
    drop(r);
    finish(obs);
    account(obs, &sent, &got, !ended.1.starts_with("error"));
    Ok(panics)
}

/// `write-timeout-file`: 64 KiB writes to a regular file, each polled once and dropped at once
/// or after the kernel completed it (its bytes visible through a raw descriptor), never polled
/// again; then an fsync dropped the same way. Bytes of an at-once drop that land afterwards
/// are ghost writes; a completed-then-dropped write's bytes were already there at the drop
/// (its result is what was lost) and are evidence, not a ghost.
pub fn write_timeout_file<E: Engine>(
    obs: &mut Observation,
    dir: Option<&Path>,
) -> Result<Vec<String>, String> {
    let mut panics = Vec::new();
    let d = Dir::new(dir, "write-timeout")?;
    let path = d.0.join("file");
    start(obs);
    let mut rt = build::<E>(64, 8)?;
    let file = rt
        .block_on(E::open(&path, OpenHow::CREATE))
        .map_err(setup("engine open of a new file"))?;
    let read_region = |off: u64| read_region_all(&path, off);
    let a = payload(WRITE_SEED, FILE_WRITE);
    let b = payload(WRITE_SEED + 1, FILE_WRITE);
    let (mut at_once_landed_at_drop, mut a_dropped, mut kernel_done) = (0usize, false, false);
    rt.block_on(async {
        // (a) at once: region [0, 64 KiB).
        let mut fut = Box::pin(E::write_at(&file, AlignedBuf::from_slice(&a), 0));
        phase("a write's first poll", Wait::Op);
        obs.counts.ops += 1;
        if poll_once(&mut fut).await.is_some() {
            obs.counts.completed_first_poll += 1;
        } else {
            obs.in_flight = true;
            obs.counts.dropped_at_once += 1;
            a_dropped = true;
            at_once_landed_at_drop = equal_prefix(&read_region(0), &a);
            phase("dropping a write", Wait::Other);
            if let Err(p) = catch(|| drop(fut)) {
                panics.push(format!("dropping a write: {p}"));
            }
        }
        // (b) after the kernel: region [64 KiB, 128 KiB).
        let mut fut = Box::pin(E::write_at(
            &file,
            AlignedBuf::from_slice(&b),
            FILE_WRITE as u64,
        ));
        phase("a write's first poll", Wait::Op);
        obs.counts.ops += 1;
        if poll_once(&mut fut).await.is_some() {
            obs.counts.completed_first_poll += 1;
        } else {
            obs.in_flight = true;
            phase("waiting for the kernel to complete the write", Wait::Other);
            kernel_done =
                turns_until::<E>(KERNEL_WAIT, || read_region(FILE_WRITE as u64) == b).await;
            if kernel_done {
                obs.counts.completed_in_kernel_before_drop += 1;
            } else {
                obs.counts.not_completed_before_drop += 1;
            }
            phase("dropping a write", Wait::Other);
            if let Err(p) = catch(|| drop(fut)) {
                panics.push(format!("dropping a write: {p}"));
            }
        }
        // An fsync dropped right after its first poll.
        let mut fut = Box::pin(E::sync(&file));
        phase("an fsync's first poll", Wait::Op);
        obs.counts.ops += 1;
        if poll_once(&mut fut).await.is_some() {
            obs.counts.completed_first_poll += 1;
        } else {
            obs.in_flight = true;
            obs.counts.dropped_at_once += 1;
            phase("dropping an fsync", Wait::Other);
            if let Err(p) = catch(|| drop(fut)) {
                panics.push(format!("dropping an fsync: {p}"));
            }
        }
        phase("a runtime turn after the drops", Wait::Other);
        settle::<E>(jit(SETTLE)).await;
    });
    close_file(obs, &mut rt, file, "the file", &mut panics);
    drop_runtime(obs, rt, &mut panics);
    let landed_a = equal_prefix(&read_region(0), &a);
    let landed_b = equal_prefix(&read_region(FILE_WRITE as u64), &b);
    finish(obs);
    let ghost = landed_a.saturating_sub(at_once_landed_at_drop);
    obs.counts.bytes_sent = 2 * FILE_WRITE as u64;
    obs.counts.ghost_bytes = if a_dropped { ghost as u64 } else { 0 };
    obs.counts.freed_bytes_read = (alloc::poison_bytes_in(&read_region_all(&path, 0))
        + alloc::poison_bytes_in(&read_region_all(&path, FILE_WRITE as u64)))
        as u64;
    if E::INFO.routes.write == crate::Route::Pool {
        obs.note(
            "this engine's positional write is a blocking pwrite on a thread pool: dropping its future does not stop the pool thread",
        );
    }
    obs.note(if a_dropped {
        format!(
            "write dropped right after its first poll: {at_once_landed_at_drop} B of it were in the file at the drop, {landed_a} B at the end ({ghost} B landed after the drop)"
        )
    } else {
        format!(
            "the first write completed during its first poll (nothing to drop); {landed_a} B of it in the file"
        )
    });
    obs.note(format!(
        "write dropped after the kernel completed it: {} ({landed_b} B of it in the file at the end; its result was lost with the future, the bytes were not)",
        if kernel_done {
            "its bytes were in the file before the drop"
        } else {
            "the kernel had not completed it within the wait"
        }
    ));
    Ok(panics)
}

/// Length of the common prefix of `got` and `want` (bytes of a write found in place).
fn equal_prefix(got: &[u8], want: &[u8]) -> usize {
    got.iter().zip(want).take_while(|(a, b)| a == b).count()
}

fn read_region_all(path: &Path, off: u64) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let mut v = vec![0u8; FILE_WRITE];
    let n = std::fs::File::open(path)
        .and_then(|f| f.read_at(&mut v, off))
        .unwrap_or(0);
    v.truncate(n);
    v
}

/// `accept-drop`: accepts on a listener of the runtime's own, submitted (pending through a
/// window), then clients connect; this thread waits, without a runtime turn, until the kernel
/// completed the accepts (new sockets appear), and drops the futures.
pub fn accept_drop<E: Engine>(obs: &mut Observation) -> Result<Vec<String>, String> {
    let mut panics = Vec::new();
    start(obs);
    let mut rt = build::<E>(64, 8)?;
    let (listener, addr) = rt
        .block_on(async { E::listen_local() })
        .map_err(setup("listening on 127.0.0.1"))?;
    let connected = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&connected);
    let mut helper = Helper::spawn(move || {
        let c: Vec<_> = (0..ACCEPTS)
            .filter_map(|_| std::net::TcpStream::connect(addr).ok())
            .collect();
        flag.store(true, Ordering::Release);
        c
    });
    obs.note(format!(
        "a listener of the runtime's own on {addr}; {ACCEPTS} accepts; {ACCEPTS} clients connect from a helper thread"
    ));
    let mut accepted = 0u64;
    rt.block_on(async {
        let mut futs: Vec<_> = (0..ACCEPTS).map(|_| Box::pin(E::accept(&listener))).collect();
        let polled = poll_all_for::<E, _>(&mut futs, WINDOW).await;
        let pending = polled.iter().filter(|p| matches!(p, Polled::Pending)).count();
        count_polled::<E, _>(obs, "accepts", false, &polled);
        accepted += (ACCEPTS - pending) as u64;
        phase("waiting for the kernel to complete the accepts", Wait::Other);
        let before = fds();
        helper.go();
        let ok = wait_here(KERNEL_WAIT * 4, || connected.load(Ordering::Acquire));
        // Each client is a socket of this process; each accept the kernel completed adds one.
        let want = before + ACCEPTS as i64 + pending as i64;
        let done = ok && wait_here(KERNEL_WAIT, || fds() >= want);
        let seen = (fds() - before - ACCEPTS as i64).clamp(0, pending as i64) as u64;
        obs.counts.completed_in_kernel_before_drop += seen;
        obs.counts.not_completed_before_drop += pending as u64 - seen;
        obs.note(format!(
            "{pending} accepts pending, then the clients connected; {seen} of them seen completed in the kernel (an accepted socket installed) before the drop{}",
            if done { "" } else { " (the rest not within the wait)" }
        ));
        phase("dropping the accepts", Wait::Other);
        if let Err(p) = catch(|| drop(futs)) {
            panics.push(format!("dropping the accepts: {p}"));
        }
        phase("a runtime turn after the drops", Wait::Other);
        settle::<E>(jit(SETTLE)).await;
    });
    rt.block_on(async move {
        drop(listener);
        settle::<E>(TURN).await;
    });
    let (clients, blocked) = helper.join();
    helper_note(
        obs,
        &format!("connected {} clients", clients.len()),
        "after the accepts were submitted",
        blocked,
    );
    drop(clients);
    obs.counts.ops = ACCEPTS as u64;
    obs.note(format!(
        "{accepted} accepts completed while polled (their sockets closed by the engine)"
    ));
    drop_runtime(obs, rt, &mut panics);
    finish(obs);
    Ok(panics)
}

/// `shutdown-live-task`: a spawned task opens the pipe's read end through the engine and waits
/// in a read; once it is parked, the runtime is dropped from this thread, which goes on; then
/// data comes through the write end and a raw reader of our own drains what is left.
pub fn shutdown_live_task<E: Engine>(obs: &mut Observation) -> Result<Vec<String>, String> {
    let mut panics = Vec::new();
    start(obs);
    let (r, w) = drainable_pipe()?;
    let len = 2 * BLOCK;
    let data = payload(PAYLOAD_SEED, len);
    let sent = data.clone();
    let mut rt = build::<E>(64, 8)?;
    // What the task saw: `Some(n)` once its read completed with n bytes, and those bytes.
    let task_got: Arc<Mutex<(Option<usize>, Vec<u8>)>> = Arc::new(Mutex::new((None, Vec::new())));
    let started = Arc::new(AtomicBool::new(false));
    let path = proc_path(&r);
    let spawned = {
        let (got, started) = (Arc::clone(&task_got), Arc::clone(&started));
        rt.block_on(async move {
            E::spawn(async move {
                let Ok(f) = E::open(&path, OpenHow::READ).await else {
                    return;
                };
                started.store(true, Ordering::Release);
                let (res, buf) = E::read_stream(&f, AlignedBuf::new(BLOCK)).await;
                let mut g = got.lock().unwrap_or_else(|p| p.into_inner());
                if let Ok(n) = res {
                    g.0 = Some(n);
                    g.1.extend_from_slice(&buf.as_slice()[..n]);
                }
                drop(f);
            })
        })
    };
    if let Err(why) = spawned {
        drop(rt);
        return Err(format!("setup: {why}"));
    }
    // Let the task run: it opens the pipe and parks in its read.
    let parked = rt.block_on(async {
        phase("letting the task park in its read", Wait::Other);
        let ok = turns_until::<E>(Duration::from_millis(200), || {
            started.load(Ordering::Acquire)
        })
        .await;
        settle::<E>(jit(WINDOW)).await;
        ok
    });
    let done_early = task_got
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .0
        .is_some();
    obs.counts.ops = 1;
    if parked && !done_early {
        obs.in_flight = true;
        obs.counts.dropped_in_flight = 1;
    } else if done_early {
        obs.counts.completed_first_poll = 1;
    }
    obs.note(format!(
        "a spawned task opened the pipe through the engine and {}",
        if !parked {
            "did not get to its read within 200 ms".to_string()
        } else if done_early {
            "its read completed before the shutdown (it blocked inside poll)".to_string()
        } else {
            format!("was parked in its read after {} ms", WINDOW.as_millis())
        }
    ));
    let mut helper = Helper::spawn(move || {
        let r = write_all_raw(&w, &data);
        drop(w);
        r
    });
    obs.usage.files_dropped += 1; // the task's file, dropped with the task
    drop_runtime(obs, rt, &mut panics);
    helper.go();
    let (wrote, blocked) = helper.join();
    helper_note(
        obs,
        &format!("wrote {len} B"),
        "after the runtime was dropped",
        blocked,
    );
    if let Err(e) = wrote {
        obs.note(format!("helper write failed: {e}"));
    }
    std::thread::sleep(SETTLE);
    let mut got = task_got.lock().unwrap_or_else(|p| p.into_inner()).1.clone();
    if !got.is_empty() {
        obs.note(format!("the task's read delivered {} B", got.len()));
    }
    let (rest, how) = drain(&r, Duration::from_millis(20), REMAINDER);
    obs.note(format!(
        "our own raw reader drained {} B (ended by {how})",
        rest.len()
    ));
    got.extend_from_slice(&rest);
    drop(r);
    finish(obs);
    account(obs, &sent, &got, true);
    Ok(panics)
}

/// `selftest-leak-fd`: open `/dev/null` through the engine and forget the file.
pub fn leak_fd<E: Engine>(obs: &mut Observation) -> Result<Vec<String>, String> {
    let mut rt = build::<E>(64, 8)?;
    start(obs);
    let f = rt
        .block_on(E::open(Path::new("/dev/null"), OpenHow::READ))
        .map_err(setup("open /dev/null"))?;
    std::mem::forget(f);
    obs.note("opened /dev/null through the engine and forgot the handle on purpose");
    finish(obs);
    drop(rt);
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_prefix_counts_bytes_in_place() {
        assert_eq!(equal_prefix(b"abcx", b"abcd"), 3);
        assert_eq!(equal_prefix(b"", b"abcd"), 0);
        assert_eq!(equal_prefix(b"ab", b"ab"), 2);
    }

    #[test]
    fn describe_gap_says_where() {
        assert!(describe_gap(b"abc", b"ab").contains("from byte 2"));
        assert!(describe_gap(b"abc", b"abc").contains("exactly"));
        assert!(describe_gap(b"abc", b"axc").contains("byte 1"));
    }

    #[test]
    fn baseline_id_is_listed_first() {
        assert_eq!(super::super::SCENARIOS[0], super::super::BASELINE);
    }
}
