//! The scenarios themselves. Each returns the panics it caught (a panic while dropping is a
//! finding, not a harness failure) and fills the observation's counts and evidence; `Err` is a
//! setup failure.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::Observation;
use super::harness::{
    FALLBACK, FD_SETTLE, Helper, Polled, REMAINDER, SETTLE, WINDOW, catch, drain, fd_table, fds,
    fill_pipe, payload, pipe, poll_all_for, proc_path, read_remaining, set_nonblocking,
    set_pipe_size, settle, write_all_raw,
};
use crate::{AlignedBuf, Engine, OpenHow, RuntimeConfig, alloc};

/// Reads dropped at once in `cancel-storm`.
pub const STORM: usize = 32;
/// Opens dropped in `open-drop`.
pub const OPENS: usize = 8;
/// Size of every op's buffer.
const BLOCK: usize = 4096;
/// Content seeds: pipe payloads, the fill of a full pipe, and a dropped write's data.
const PAYLOAD_SEED: u64 = 0x5AFE;
const FILL_SEED: u64 = 0xF111;
const WRITE_SEED: u64 = 0x6057;

fn build<E: Engine>() -> Result<E, String> {
    let cfg = RuntimeConfig {
        ring_entries: 64,
        queue_depth: STORM,
        block_size: BLOCK,
    };
    E::build(&cfg).map_err(|e| format!("runtime build failed: {e}"))
}

fn setup(what: &str) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("setup: {what}: {e}")
}

/// Begin watching: descriptors and buffer bytes now, quarantine armed. `closed_during` is the
/// number of descriptors open now that the scenario itself closes before it counts again (a
/// pipe end closed by the helper for end of stream): they are left out of the baseline, so a
/// leaked descriptor cannot hide behind them.
fn start(obs: &mut Observation, closed_during: i64) {
    snapshot_fds();
    obs.counts.fds_before = fds() - closed_during;
    obs.counts.buffer_bytes_before = alloc::live_buffer_bytes();
    alloc::arm();
}

/// The descriptor table when the baseline was taken, to name what a leak left behind.
static FDS_AT_START: std::sync::Mutex<std::collections::BTreeMap<i32, String>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn snapshot_fds() {
    *FDS_AT_START.lock().unwrap_or_else(|p| p.into_inner()) = fd_table();
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
        let start = FDS_AT_START.lock().unwrap_or_else(|p| p.into_inner());
        let extra: Vec<String> = fd_table()
            .into_iter()
            .filter(|(k, v)| start.get(k) != Some(v))
            .map(|(k, v)| format!("{k} -> {v}"))
            .collect();
        (
            n,
            format!(
                "not within {} ms; descriptors not open at the start: {}",
                FD_SETTLE.as_millis(),
                if extra.is_empty() {
                    "none by name (numbers reused)".into()
                } else {
                    extra.join(", ")
                }
            ),
        )
    }
}

/// Stop watching: disarm, check the poison, count descriptors and buffer bytes.
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
            if rep.unrecorded > 0 { format!(", {} unrecorded", rep.unrecorded) } else { String::new() },
            rep.damaged_blocks,
            rep.damaged_bytes
        ));
        obs.note(format!("live buffer bytes: {bb} before, {ba} after"));
    }
    obs.note(format!(
        "open descriptors: {fb} before, {fa} after (back to the baseline {settled})"
    ));
}

/// A progress line on stderr: the driver keeps a child's stderr tail, so a cell that hangs
/// says where.
fn phase(s: &str) {
    eprintln!("safety phase: {s}");
}

fn count_polled<E: Engine, T>(obs: &mut Observation, what: &str, polled: &[Polled<T>]) {
    let (mut first, mut window, mut pending) = (0, 0, 0);
    for p in polled {
        match p {
            Polled::FirstPoll(_) => first += 1,
            Polled::InWindow(_) => window += 1,
            Polled::Pending => pending += 1,
        }
    }
    let c = &mut obs.counts;
    c.ops += polled.len() as u64;
    c.completed_first_poll += first;
    c.completed_in_window += window;
    c.dropped_in_flight += pending;
    obs.in_flight |= pending > 0;
    phase(&format!("{what}: window over, {pending} pending to drop"));
    obs.note(format!(
        "{} {what} polled inside the runtime for {} ms: {pending} still pending (in flight, dropped), \
         {first} completed during their first poll{}, {window} completed later within the window",
        polled.len(),
        WINDOW.as_millis(),
        if first > 0 { " (they blocked inside poll: nothing to cancel)" } else { "" },
    ));
    if pending > 1 && !E::INFO.caps.concurrent_ops {
        obs.note(format!(
            "the engine says its ops on one file do not overlap (caps.concurrent_ops = false): of the {pending} pending, at most one was in the kernel, the others waited their turn inside the engine"
        ));
    }
}

/// When the helper is signalled in the scenarios that give the runtime a turn first.
fn after_turn() -> String {
    format!(
        "after the drop and a {} ms turn of the runtime",
        SETTLE.as_millis()
    )
}

fn helper_note(obs: &mut Observation, what: &str, signalled: &str, by_fallback: bool) {
    if by_fallback {
        obs.note(format!(
            "helper {what} on its {} ms fallback timer (nobody signalled it in time: the runtime thread was blocked)",
            FALLBACK.as_millis()
        ));
    } else {
        obs.note(format!("helper {what} when signalled, {signalled}"));
    }
}

/// `read-drop` (`n == 1`) and `cancel-storm` (`n == STORM`): reads of an empty pipe dropped
/// while waiting; then the data for all of them (and one block more) arrives.
pub fn read_drop<E: Engine>(obs: &mut Observation, n: usize) -> Result<Vec<String>, String> {
    read_drop_by::<E>(obs, n, false)
}

/// `timeout-read`: one read of an empty pipe raced against the runtime's timer
/// ([`Engine::sleep`], the runtime's own where the engine has one) in one poll function, the way
/// `timeout(d, read)` or `select!` is written: the timer wins and the read future is dropped
/// in the same poll that saw the timer fire. Then data arrives, as in `read-drop`.
pub fn timeout_read<E: Engine>(obs: &mut Observation) -> Result<Vec<String>, String> {
    read_drop_by::<E>(obs, 1, true)
}

/// Race `read` against `E::sleep(WINDOW)`; the read's outcome if it finished first (and
/// whether during its first poll), `Pending` if the timer won. The read is not dropped here.
async fn race_timer<E: Engine, F: Future>(read: &mut Pin<Box<F>>) -> Polled<F::Output> {
    let mut timer = Box::pin(E::sleep(WINDOW));
    let mut first = true;
    std::future::poll_fn(|cx| {
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
    by_timer: bool,
) -> Result<Vec<String>, String> {
    let mut panics = Vec::new();
    let (r, w) = pipe().map_err(setup("pipe"))?;
    let len = (n + 1) * BLOCK;
    let cap =
        set_pipe_size(&w, len.next_power_of_two().max(64 * 1024)).map_err(setup("F_SETPIPE_SZ"))?;
    let mut rt = build::<E>()?;
    let file = rt
        .block_on(E::open(&proc_path(&r), OpenHow::READ))
        .map_err(setup("engine open of the pipe's read end"))?;
    drop(r); // the engine's handle is now the only reader
    obs.note(format!(
        "pipe of {cap} B, read end opened through the engine; {n} reads of {BLOCK} B each"
    ));
    let data = payload(PAYLOAD_SEED, len);
    let sent = data.clone();
    let mut helper = Helper::spawn(FALLBACK, move || {
        let r = write_all_raw(&w, &data);
        drop(w); // end of stream once the data is read
        r
    });
    start(obs, 1); // the write end, closed by the helper
    let mut got = Vec::new();
    let ended = rt.block_on(async {
        let mut futs: Vec<_> = (0..n)
            .map(|_| Box::pin(E::read_stream(&file, AlignedBuf::new(BLOCK))))
            .collect();
        let polled = if by_timer {
            let mut one = Vec::new();
            for f in futs.iter_mut() {
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
        count_polled::<E, _>(obs, "reads", &polled);
        for p in polled {
            if let Polled::FirstPoll((r, buf)) | Polled::InWindow((r, buf)) = p {
                match r {
                    Ok(k) => got.extend_from_slice(&buf.as_slice()[..k]),
                    Err(e) => obs.note(format!("a read that completed failed: {e}")),
                }
            }
        }
        if let Err(p) = catch(|| drop(futs)) {
            panics.push(format!("dropping pending reads: {p}"));
        }
        // The runtime gets a turn before the data comes, so a cancel it issues on drop can
        // land first: the data arrives *after* the drop, as the scenario says, and the
        // verdict does not depend on which thread the scheduler runs first.
        phase("dropped; runtime turn before the data");
        settle::<E>(SETTLE).await;
        phase("helper signalled");
        helper.go();
        settle::<E>(SETTLE).await;
        phase("reading the rest through the same handle");
        let before = got.len();
        let ended = read_remaining::<E>(&file, BLOCK, REMAINDER, &mut got).await;
        (got.len() - before, ended)
    });
    let (wrote, by_fallback) = helper.join();
    helper_note(
        obs,
        &format!("wrote {len} B and closed the write end"),
        &after_turn(),
        by_fallback,
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
    finish(obs);
    if let Err(p) = catch(|| rt.block_on(E::close(file))) {
        panics.push(format!("closing the pipe: {p}"));
    }
    drop(rt);
    let c = &mut obs.counts;
    c.bytes_sent = sent.len() as u64;
    c.bytes_received = got.len() as u64;
    if accountable {
        c.bytes_lost = c.bytes_sent.saturating_sub(c.bytes_received);
    }
    c.freed_bytes_read = alloc::poison_bytes_in(&got) as u64;
    let (s, g, l) = (c.bytes_sent, c.bytes_received, c.bytes_lost);
    obs.note(format!(
        "sent {s} B, received {g} B, lost {l} B{}",
        describe_gap(&sent, &got)
    ));
    Ok(panics)
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

/// `write-drop`: a write to a full pipe, dropped while blocked; then the pipe drains.
pub fn write_drop<E: Engine>(obs: &mut Observation) -> Result<Vec<String>, String> {
    let mut panics = Vec::new();
    let (r, w) = pipe().map_err(setup("pipe"))?;
    let cap = set_pipe_size(&w, BLOCK).map_err(setup("F_SETPIPE_SZ"))?;
    let mut rt = build::<E>()?;
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
    let mut helper = Helper::spawn(FALLBACK, move || drain(&r, REMAINDER, 2 * REMAINDER));
    let data = payload(WRITE_SEED, BLOCK);
    start(obs, 2); // the read end (helper) and the engine's write end (closed below)
    let mut completed = 0usize;
    let dropped = rt.block_on(async {
        let mut futs = vec![Box::pin(E::write_stream(
            &file,
            AlignedBuf::from_slice(&data),
        ))];
        let polled = poll_all_for::<E, _>(&mut futs, WINDOW).await;
        count_polled::<E, _>(obs, "writes", &polled);
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
        if let Err(p) = catch(|| drop(futs)) {
            panics.push(format!("dropping the pending write: {p}"));
        }
        // A turn before the drain, for the same reason as in `read_drop`.
        phase("dropped; runtime turn before the drain");
        settle::<E>(SETTLE).await;
        phase("helper signalled");
        helper.go();
        settle::<E>(SETTLE).await;
        phase("closing the write end");
        if let Err(e) = E::close(file).await {
            obs.note(format!("closing the write end failed: {e}"));
        }
        settle::<E>(SETTLE).await;
        dropped
    });
    let ((out, how), by_fallback) = helper.join();
    helper_note(obs, "drained the pipe", &after_turn(), by_fallback);
    finish(obs);
    drop(rt);
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
pub fn open_drop<E: Engine>(obs: &mut Observation) -> Result<Vec<String>, String> {
    let mut panics = Vec::new();
    let dir = crate::conformance::Scratch::new("safety-open");
    let fifo = dir.path().join("fifo");
    let c =
        std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(setup("mkfifo")(std::io::Error::last_os_error()));
    }
    let mut rt = build::<E>()?;
    // Warm up: whatever the runtime opens lazily on its first open is not a leak.
    rt.block_on(async {
        let f = E::open(std::path::Path::new("/dev/null"), OpenHow::READ).await?;
        E::close(f).await
    })
    .map_err(setup("warm-up open of /dev/null"))?;
    let path = fifo.clone();
    let mut helper = Helper::spawn(FALLBACK, move || {
        // O_RDWR never blocks on a FIFO and counts as a reader: it releases every waiting open.
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path);
        std::thread::sleep(SETTLE);
        f.map(drop)
    });
    // Opened for writing with O_CREAT: a FIFO's write-open waits for a reader, and io_uring
    // cannot try an O_CREAT open without blocking, so it goes to a worker and waits there. (A
    // read-only open would not wait: io_uring first tries it with O_NONBLOCK, which succeeds
    // on a FIFO.)
    obs.note(format!(
        "FIFO with no reader; {OPENS} opens for writing (O_WRONLY|O_CREAT) through the engine"
    ));
    start(obs, 0);
    rt.block_on(async {
        let mut futs: Vec<_> = (0..OPENS)
            .map(|_| Box::pin(E::open(&fifo, OpenHow::CREATE)))
            .collect();
        let polled = poll_all_for::<E, _>(&mut futs, WINDOW).await;
        count_polled::<E, _>(obs, "opens", &polled);
        for p in polled {
            if let Polled::FirstPoll(r) | Polled::InWindow(r) = p {
                match r {
                    Ok(f) => {
                        if let Err(e) = E::close(f).await {
                            obs.note(format!("closing an opened FIFO failed: {e}"));
                        }
                    }
                    Err(e) => obs.note(format!("an open that completed failed: {e}")),
                }
            }
        }
        if let Err(p) = catch(|| drop(futs)) {
            panics.push(format!("dropping pending opens: {p}"));
        }
        // A turn before a reader appears, for the same reason as in `read_drop`.
        phase("dropped; runtime turn before the reader");
        settle::<E>(SETTLE).await;
        phase("helper signalled");
        helper.go();
        settle::<E>(SETTLE * 2).await;
    });
    let (opened, by_fallback) = helper.join();
    helper_note(
        obs,
        "opened the FIFO read-write (a reader appeared)",
        &after_turn(),
        by_fallback,
    );
    if let Err(e) = opened {
        obs.note(format!("helper open failed: {e}"));
    }
    rt.block_on(settle::<E>(SETTLE));
    finish(obs);
    drop(rt);
    Ok(panics)
}

/// `runtime-drop`: a read of an empty pipe is dropped inside the runtime, the file handle
/// dropped, and the runtime dropped at once while the kernel may still hold the op; then data
/// arrives and is drained through a second reader.
pub fn runtime_drop<E: Engine>(obs: &mut Observation) -> Result<Vec<String>, String> {
    drop_then::<E>(obs, false)
}

/// `close-after-drop`: as `runtime-drop`, but the file is closed with the engine's async close
/// right after the read's future is dropped (no turn in between), and the time the close takes
/// is recorded: a close that waits for the dropped op shows as the helper's fallback feeding
/// it, one that never returns as a hang. The runtime is dropped after the close returns.
pub fn close_after_drop<E: Engine>(obs: &mut Observation) -> Result<Vec<String>, String> {
    drop_then::<E>(obs, true)
}

fn drop_then<E: Engine>(obs: &mut Observation, close: bool) -> Result<Vec<String>, String> {
    let mut panics = Vec::new();
    let fds_at_start = fds();
    let table_at_start = fd_table();
    let (r, w) = pipe().map_err(setup("pipe"))?;
    set_pipe_size(&w, 64 * 1024).map_err(setup("F_SETPIPE_SZ"))?;
    set_nonblocking(&r).map_err(setup("O_NONBLOCK"))?;
    let len = 2 * BLOCK;
    let data = payload(PAYLOAD_SEED, len);
    let sent = data.clone();
    let mut rt = build::<E>()?;
    let file = rt
        .block_on(E::open(&proc_path(&r), OpenHow::READ))
        .map_err(setup("engine open of the pipe's read end"))?;
    obs.note(format!(
        "pipe opened through the engine; one read of {BLOCK} B; a second raw reader kept for afterwards"
    ));
    let mut helper = Helper::spawn(FALLBACK, move || {
        let r = write_all_raw(&w, &data);
        drop(w);
        r
    });
    start(obs, 0);
    // Everything opened since is closed by the end, the runtime dropped: the baseline (and
    // the table that names leaks) is from before the pipe and the runtime existed.
    obs.counts.fds_before = fds_at_start;
    *FDS_AT_START.lock().unwrap_or_else(|p| p.into_inner()) = table_at_start;
    let mut got = Vec::new();
    rt.block_on(async {
        let mut futs = vec![Box::pin(E::read_stream(&file, AlignedBuf::new(BLOCK)))];
        let polled = poll_all_for::<E, _>(&mut futs, WINDOW).await;
        count_polled::<E, _>(obs, "reads", &polled);
        for p in polled {
            if let Polled::FirstPoll((Ok(k), buf)) | Polled::InWindow((Ok(k), buf)) = p {
                got.extend_from_slice(&buf.as_slice()[..k]);
            }
        }
        if let Err(p) = catch(|| drop(futs)) {
            panics.push(format!("dropping the pending read: {p}"));
        }
        if close {
            phase("closing the file right after the drop");
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
            // (`close-after-drop` looks at that) and races with its cancel in others, so the
            // runtime would not be dropped with the op in flight, or not every time. Dropping
            // the handle is what leaving a scope does; the runtime closes it its own way.
            if let Err(p) = catch(|| drop(file)) {
                panics.push(format!("dropping the engine's handle: {p}"));
            }
        }
    });
    obs.note(if close {
        "then the runtime dropped"
    } else {
        "the read's future and then the engine's handle dropped inside the runtime, then the runtime dropped at once (no turn in between)"
    });
    phase("dropping the runtime");
    let t = Instant::now();
    if let Err(p) = catch(|| drop(rt)) {
        panics.push(format!("dropping the runtime: {p}"));
    }
    let ms = t.elapsed().as_secs_f64() * 1e3;
    obs.counts.runtime_drop_ms = ms;
    obs.note(format!("runtime dropped in {ms:.1} ms"));
    helper.go();
    let (wrote, by_fallback) = helper.join();
    helper_note(
        obs,
        &format!("wrote {len} B"),
        "after the runtime was dropped",
        by_fallback,
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
    let c = &mut obs.counts;
    c.bytes_sent = sent.len() as u64;
    c.bytes_received = got.len() as u64;
    c.bytes_lost = c.bytes_sent.saturating_sub(c.bytes_received);
    let (s, g, l) = (c.bytes_sent, c.bytes_received, c.bytes_lost);
    obs.note(format!(
        "sent {s} B, received {g} B, lost {l} B{}",
        describe_gap(&sent, &got)
    ));
    Ok(panics)
}

/// `selftest-leak-fd`: open `/dev/null` through the engine and forget the file.
pub fn leak_fd<E: Engine>(obs: &mut Observation) -> Result<Vec<String>, String> {
    let mut rt = build::<E>()?;
    start(obs, 0);
    let f = rt
        .block_on(E::open(std::path::Path::new("/dev/null"), OpenHow::READ))
        .map_err(setup("open /dev/null"))?;
    std::mem::forget(f);
    obs.note("opened /dev/null through the engine and forgot the handle on purpose");
    finish(obs);
    drop(rt);
    Ok(Vec::new())
}
