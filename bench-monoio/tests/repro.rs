//! Standalone reproducers of the ringbench safety scenarios on monoio 0.2, written against
//! monoio's public API only (`monoio::fs::File`, `monoio::RuntimeBuilder::<IoUringDriver>`,
//! `monoio::net`, `monoio::time`, `monoio::spawn`), the way its documentation shows it, with
//! `workloads::repro::raw` (raw pipes, `/proc/self/fd`, `FIONREAD`) and libc for the oracle. Not
//! through `MonoioEngine`: that is the harness, and these exist to check that the harness sees
//! what plain monoio code sees.
//!
//! Every reproducer measures its own no-cancel twin (the same steps with every op awaited) and
//! reports descriptor leaks beyond it. "Polled once and not again" is a manual poll inside the
//! runtime (`poll_once`); runtime turns are monoio's own `time::sleep` (the timer
//! enabled with `enable_timer`), during which monoio submits and reaps.
//!
//! `RINGBENCH_REPRO_ONLY=1 cargo test -p bench-monoio --test repro` prints what each saw.

use std::cell::Cell;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use monoio::fs::{File, OpenOptions};
use monoio::time::TimeDriver;
use monoio::{IoUringDriver, Runtime, RuntimeBuilder};
use workloads::repro::Seen;
use workloads::repro::raw::{
    self, Feeder, Releaser, Scratch, extra_fds, fds_of, fifo_reader, mkfifo, payload, poll_all_for,
    poll_once, proc_path, set_pipe_size,
};

/// Size of every read.
const BLOCK: usize = 4096;
/// How long an op is polled inside the runtime before it counts as pending.
const WINDOW: Duration = Duration::from_millis(20);
/// The runtime's turn after a drop (so a cancel it issues can land before the data).
const TURN: Duration = Duration::from_millis(60);
/// How long to wait for a kernel-side condition (bytes consumed, an fd appearing).
const DEADLINE: Duration = Duration::from_millis(400);
/// How long descriptors may take to close after the scenario.
const SETTLE: Duration = Duration::from_millis(500);
/// How long a wait (close, runtime drop) may take before the reproducer supplies the data.
const FALLBACK: Duration = Duration::from_millis(500);

fn main() -> std::process::ExitCode {
    workloads::repro::main::<bench_monoio::MonoioEngine>(&[
        ("read-drop", read_drop),
        ("cancel-storm", cancel_storm),
        ("cancel-storm-small-ring", cancel_storm_small_ring),
        ("timeout-read", timeout_read),
        ("runtime-drop", runtime_drop),
        ("close-after-drop", close_after_drop),
        ("read-race", read_race),
        ("open-race", open_race),
        ("shutdown-live-task", shutdown_live_task),
        ("write-timeout-file", write_timeout_file),
        ("accept-drop", accept_drop),
        ("write-drop", write_drop),
        ("open-drop", open_drop),
    ])
}

// ---------------------------------------------------------------------------------------------
// Helpers: runtime, polling, oracle.

/// The runtime type: monoio's io_uring driver with its timer.
type Rt = Runtime<TimeDriver<IoUringDriver>>;

/// A monoio io_uring runtime with its timer: the default ring, or one asked for `entries`
/// entries (`with_entries` raises anything below 256 to 256).
fn runtime(entries: Option<u32>) -> Rt {
    let b = RuntimeBuilder::<IoUringDriver>::new();
    let b = match entries {
        None => b,
        Some(n) => b.with_entries(n),
    };
    b.enable_timer().build().expect("monoio io_uring runtime")
}

/// Runtime turns (monoio's timer) until `cond` holds or [`DEADLINE`] passes; whether it held.
async fn turns_until(mut cond: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while !cond() {
        if t.elapsed() > DEADLINE {
            return false;
        }
        monoio::time::sleep(Duration::from_millis(2)).await;
    }
    true
}

/// Read through `file` until end of stream, each read bounded by [`DEADLINE`]; bytes read and
/// how it ended.
async fn read_to_end(file: &File, got: &mut Vec<u8>) -> &'static str {
    loop {
        match monoio::time::timeout(DEADLINE, file.read_at(Vec::with_capacity(BLOCK), 0)).await {
            Ok((Ok(0), _)) => return "end of stream",
            Ok((Ok(_), b)) => got.extend_from_slice(&b),
            Ok((Err(_), _)) => return "a read error",
            Err(_) => return "a read that waited past the deadline (dropped)",
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

/// `n` reads of an empty pipe polled for [`WINDOW`] (or raced against monoio's `timeout`),
/// dropped, a turn, then `(n + 1)` blocks written and the write end closed; the rest read
/// through the same handle. `cancel == false` is the twin: no read dropped.
fn reads_dropped(n: usize, entries: Option<u32>, by_timeout: bool, cancel: bool) -> Run {
    let before = raw::fds();
    let (r, w) = raw::pipe();
    let len = (n + 1) * BLOCK;
    set_pipe_size(&w, len.next_power_of_two().max(64 * 1024));
    let mut rt = runtime(entries);
    let file = rt
        .block_on(File::open(proc_path(&r)))
        .expect("open the pipe through monoio");
    drop(r); // monoio's handle is the only reader now
    let data = payload(len, 1);
    let (got, pending, completed, how) = rt.block_on(async {
        let mut got = Vec::new();
        let (mut pending, mut completed) = (0, 0);
        if cancel && by_timeout {
            for _ in 0..n {
                // monoio's own timeout: the read is dropped inside it when the timer wins.
                match monoio::time::timeout(WINDOW, file.read_at(Vec::with_capacity(BLOCK), 0))
                    .await
                {
                    Ok((r, b)) => {
                        completed += 1;
                        if r.is_ok() {
                            got.extend_from_slice(&b);
                        }
                    }
                    Err(_) => pending += 1,
                }
            }
        } else if cancel {
            let mut futs: Vec<_> = (0..n)
                .map(|_| Box::pin(file.read_at(Vec::with_capacity(BLOCK), 0)))
                .collect();
            for o in poll_all_for(&mut futs, monoio::time::sleep(WINDOW)).await {
                match o {
                    Some((r, b)) => {
                        completed += 1;
                        if r.is_ok() {
                            got.extend_from_slice(&b);
                        }
                    }
                    None => pending += 1,
                }
            }
            drop(futs);
        }
        monoio::time::sleep(TURN).await;
        raw::write_all(&w, &data);
        drop(w);
        let how = read_to_end(&file, &mut got).await;
        let _ = file.close().await;
        (got, pending, completed, how)
    });
    drop(rt);
    Run {
        leaked: extra_fds(before, SETTLE),
        lost: (len as u64).saturating_sub(got.len() as u64),
        pending,
        completed,
        how,
    }
}

fn read_drop_family(n: usize, entries: Option<u32>, by_timeout: bool) -> Seen {
    let twin = reads_dropped(n, entries, by_timeout, false);
    let run = reads_dropped(n, entries, by_timeout, true);
    Seen {
        leaked_fds: run.leaked - twin.leaked,
        lost_bytes: run.lost,
        notes: vec![format!(
            "{n} reads{}{}: {} pending and dropped, {} completed first; then {} B sent, {} B lost \
             (read through the same handle until {}); {} fds left vs {} in the no-cancel twin",
            if by_timeout {
                " raced against monoio::time::timeout"
            } else {
                ""
            },
            entries
                .map(|e| format!(" on a ring of {e} entries"))
                .unwrap_or_default(),
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
    read_drop_family(1, None, false)
}

/// `cancel-storm`: 32 reads dropped at once.
fn cancel_storm() -> Seen {
    read_drop_family(32, None, false)
}

/// `cancel-storm-small-ring`: 64 reads dropped at once on a ring of 8 entries.
fn cancel_storm_small_ring() -> Seen {
    read_drop_family(64, Some(8), false)
}

/// `timeout-read`: a read raced against monoio's own `timeout` (20 ms); the timer wins.
fn timeout_read() -> Seen {
    read_drop_family(1, None, true)
}

// ---------------------------------------------------------------------------------------------
// Runtime drop and close right after a drop.

/// A read of an empty pipe pending and dropped; then the handle dropped (`close == false`) or
/// closed with `File::close` at once (`close == true`); the runtime dropped; then data, drained
/// by a second raw reader. `cancel == false`: the twin, no read at all.
fn drop_then(close: bool, cancel: bool) -> (i64, u64, Option<String>, Vec<String>) {
    let mut notes = Vec::new();
    let before = raw::fds();
    let (r, w) = raw::pipe();
    let data = payload(2 * BLOCK, 2);
    let mut rt = runtime(None);
    let file = rt
        .block_on(File::open(proc_path(&r)))
        .expect("open the pipe through monoio");
    let mut got = Vec::new();
    let mut hang = None;
    let feeder = rt.block_on(async {
        if cancel {
            let mut futs = [Box::pin(file.read_at(Vec::with_capacity(BLOCK), 0))];
            if let [Some((Ok(_), b))] = poll_all_for(&mut futs, monoio::time::sleep(WINDOW))
                .await
                .as_slice()
            {
                got.extend_from_slice(b);
                notes.push("the read completed before the drop".into());
            }
            drop(futs);
        }
        if close {
            // The close, raced against monoio's timer; the data comes after FALLBACK if the
            // close has not returned by then.
            let feeder = Feeder::spawn(w.try_clone().expect("dup"), data.clone(), FALLBACK);
            let t = Instant::now();
            let r = monoio::time::timeout(FALLBACK * 3, file.close()).await;
            let ms = t.elapsed().as_millis();
            let fed = feeder.stop();
            match (r, &fed) {
                (Err(_), _) => {
                    hang = Some(format!(
                        "File::close never returned (gave up after {ms} ms, data sent at {} ms)",
                        FALLBACK.as_millis()
                    ));
                }
                (Ok(_), None) => {
                    hang = Some(format!(
                        "File::close returned only after the data came ({ms} ms)"
                    ));
                }
                (Ok(r), Some(_)) => notes.push(format!("File::close returned {r:?} after {ms} ms")),
            }
            Some(fed)
        } else {
            drop(file);
            None
        }
    });
    let t = Instant::now();
    drop(rt);
    notes.push(format!(
        "runtime dropped in {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    ));
    let fed_already = matches!(feeder, Some(None));
    drop(feeder);
    if !fed_already {
        raw::write_all(&w, &data);
    }
    drop(w);
    got.extend(raw::drain(&r, Duration::from_millis(50)));
    drop(r);
    let lost = (data.len() as u64).saturating_sub(got.len() as u64);
    notes.push(format!(
        "sent {} B, the second reader (and the read) got {} B",
        data.len(),
        got.len()
    ));
    (extra_fds(before, SETTLE), lost, hang, notes)
}

fn drop_then_seen(close: bool) -> Seen {
    let (twin, ..) = drop_then(close, false);
    let (leaked, lost, hang, mut notes) = drop_then(close, true);
    notes.push(format!("{leaked} fds left vs {twin} in the no-cancel twin"));
    if let Some(h) = &hang {
        notes.push(h.clone());
    }
    Seen {
        leaked_fds: leaked - twin,
        lost_bytes: lost,
        hang: hang.is_some(),
        notes,
        ..Seen::default()
    }
}

/// `runtime-drop`: read pending, dropped, handle dropped, runtime dropped at once; then data.
fn runtime_drop() -> Seen {
    drop_then_seen(false)
}

/// `close-after-drop`: read pending, dropped, `File::close` awaited at once; runtime dropped.
fn close_after_drop() -> Seen {
    drop_then_seen(true)
}

// ---------------------------------------------------------------------------------------------
// Races: the op completed in the kernel before its future is dropped.

/// `read-race`: a read polled once and given a turn (pending on the empty pipe); 4096 B
/// written raw; FIONREAD shows the kernel op took them; dropped before the runtime's next
/// turn. Then a second read through the same handle, the write end closed, a raw drain.
fn read_race_run(cancel: bool) -> (i64, u64, Option<bool>, String) {
    let before = raw::fds();
    let (r, w) = raw::pipe();
    let mut rt = runtime(None);
    let file = rt
        .block_on(File::open(proc_path(&r)))
        .expect("open the pipe through monoio");
    let data = payload(BLOCK, 3);
    let (mut got, raced) = rt.block_on(async {
        let mut got = Vec::new();
        let mut fut = Box::pin(file.read_at(Vec::with_capacity(BLOCK), 0));
        if let Poll::Ready((_, b)) = poll_once(&mut fut).await {
            got.extend_from_slice(&b);
            return (got, None);
        }
        monoio::time::sleep(WINDOW).await; // submitted; waits on the empty pipe
        raw::write_all(&w, &data);
        // The kernel op completes from task work on this thread; no runtime turn here.
        let t = Instant::now();
        while raw::pending(&w) > 0 && t.elapsed() < DEADLINE {
            std::thread::sleep(Duration::from_millis(1));
        }
        let consumed = raw::pending(&w) == 0;
        if cancel {
            drop(fut);
        } else if let (Ok(_), b) = fut.await {
            got.extend_from_slice(&b);
        }
        if let Ok((Ok(_), b)) =
            monoio::time::timeout(DEADLINE, file.read_at(Vec::with_capacity(BLOCK), 0)).await
        {
            got.extend_from_slice(&b);
        }
        monoio::time::sleep(TURN).await;
        let _ = file.close().await;
        (got, Some(consumed))
    });
    drop(rt);
    drop(w);
    got.extend(raw::drain(&r, Duration::from_millis(50)));
    drop(r);
    let lost = (BLOCK as u64).saturating_sub(got.len() as u64);
    (
        extra_fds(before, SETTLE),
        lost,
        raced,
        format!(
            "FIONREAD after the raw write: {}; sent {BLOCK} B, delivered {} B",
            match raced {
                Some(true) => "0 (the kernel op took the bytes)",
                Some(false) => "bytes still in the pipe (no race)",
                None => "n/a (the read completed at its first poll)",
            },
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

/// `open-race`: 16 opens of a 4 KiB file (8 read-only, 8 read-write); half dropped right after
/// their first poll (a), half once their descriptor is visible in `/proc/self/fd` (b). Returns
/// the file's descriptors left open, and whether (b) really raced.
fn open_race_run(cancel: bool) -> (i64, i64, Option<bool>) {
    let dir = Scratch::new("monoio", "open");
    let path = dir.join("file");
    std::fs::write(&path, payload(BLOCK, 4)).expect("4 KiB file");
    let open = |rw: bool| {
        let mut o = OpenOptions::new();
        o.read(true).write(rw);
        let p = path.clone();
        Box::pin(async move { o.open(p).await })
    };
    let mut rt = runtime(None);
    let (left_a, raced) = rt.block_on(async {
        if !cancel {
            for i in 0..16 {
                drop(open(i % 2 == 0).await);
            }
            monoio::time::sleep(TURN).await;
            return (0, None);
        }
        // (a) polled once and dropped before any turn.
        let mut a: Vec<_> = (0..8).map(|i| open(i % 2 == 0)).collect();
        for f in a.iter_mut() {
            let _ = poll_once(f).await; // a Ready file is dropped with the Vec: closed
        }
        drop(a);
        monoio::time::sleep(TURN).await;
        let left_a = fds_of(&path);
        // (b) polled once; turns until their 8 descriptors exist; dropped unpolled.
        let mut b: Vec<_> = (0..8).map(|i| open(i % 2 == 0)).collect();
        for f in b.iter_mut() {
            let _ = poll_once(f).await;
        }
        let raced = turns_until(|| fds_of(&path) >= left_a + 8).await;
        drop(b);
        monoio::time::sleep(TURN).await;
        (left_a, Some(raced))
    });
    drop(rt);
    let t = Instant::now();
    while fds_of(&path) > 0 && t.elapsed() < SETTLE {
        std::thread::sleep(Duration::from_millis(2));
    }
    let left = fds_of(&path);
    drop(dir);
    (left, left_a, raced)
}

fn open_race() -> Seen {
    let (twin, ..) = open_race_run(false);
    let (left, left_a, raced) = open_race_run(true);
    Seen {
        leaked_fds: left - twin,
        raced,
        notes: vec![format!(
            "descriptors of the file left open: {left_a} after (a) (dropped after the first poll), \
             {left} at the end after (b) (dropped once the kernel had opened them: {}); twin {twin}",
            if raced == Some(true) {
                "all 8 seen in /proc/self/fd"
            } else {
                "NOT all seen"
            }
        )],
        ..Seen::default()
    }
}

/// `shutdown-live-task`: a spawned task opens the pipe's read end through monoio and awaits a
/// read; block_on returns once the read is pending; the runtime is dropped; then data is
/// written and drained through a raw dup of the read end.
fn shutdown_run(cancel: bool) -> (i64, u64, Option<String>, String) {
    let before = raw::fds();
    let (r, w) = raw::pipe();
    let rdup = r.try_clone().expect("dup");
    let data = payload(BLOCK, 5);
    let mut rt = runtime(None);
    let opened = Rc::new(Cell::new(false));
    let flag = opened.clone();
    let path = proc_path(&r);
    rt.block_on(async move {
        if !cancel {
            drop(File::open(path).await.expect("open"));
            return;
        }
        // The JoinHandle is dropped: the task is detached (monoio task/join.rs).
        drop(monoio::spawn(async move {
            let f = File::open(path).await.expect("open in the task");
            flag.set(true);
            let _ = f.read_at(Vec::with_capacity(BLOCK), 0).await;
        }));
        turns_until(|| opened.get()).await;
        monoio::time::sleep(WINDOW).await; // the task's read is submitted and pending
    });
    drop(r);
    let feeder = Feeder::spawn(w.try_clone().expect("dup"), data.clone(), FALLBACK);
    let t = Instant::now();
    drop(rt);
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let fed = feeder.stop();
    let hang = fed
        .is_none()
        .then(|| format!("the runtime drop returned only after the data came ({ms:.0} ms)"));
    if fed.is_some() && cancel {
        raw::write_all(&w, &data);
    }
    drop(fed);
    drop(w);
    let got = raw::drain(&rdup, Duration::from_millis(50));
    drop(rdup);
    let lost = if cancel {
        (BLOCK as u64).saturating_sub(got.len() as u64)
    } else {
        0
    };
    (
        extra_fds(before, SETTLE),
        lost,
        hang,
        format!(
            "runtime dropped in {ms:.1} ms; sent {BLOCK} B, the raw reader got {} B",
            got.len()
        ),
    )
}

fn shutdown_live_task() -> Seen {
    let (twin, ..) = shutdown_run(false);
    let (leaked, lost, hang, note) = shutdown_run(true);
    let mut notes = vec![
        note,
        format!("{leaked} fds left vs {twin} in the twin (runtime + one file dropped)"),
    ];
    notes.extend(hang.clone());
    Seen {
        leaked_fds: leaked - twin,
        lost_bytes: lost,
        hang: hang.is_some(),
        notes,
        ..Seen::default()
    }
}

/// `write-timeout-file`: 64 KiB writes at offset 0 of two fresh files, dropped (a) right after
/// their first poll and (b) once their bytes are visible through a raw read; likewise an
/// fsync. Ghost bytes per case, and whether (b) raced.
fn write_timeout_run(cancel: bool) -> (i64, u64, u64, Option<bool>, String) {
    const LEN: usize = 64 * 1024;
    let dir = Scratch::new("monoio", "write");
    let (pa, pb) = (dir.join("a"), dir.join("b"));
    let (da, db) = (payload(LEN, 6), payload(LEN, 7));
    let before = raw::fds();
    let mut rt = runtime(None);
    let landed = |p: &Path, d: &[u8]| -> u64 {
        let got = std::fs::read(p).unwrap_or_default();
        got.iter().zip(d).filter(|(a, b)| a == b).count() as u64
    };
    let (raced, sync_note) = rt.block_on(async {
        let create = |p: PathBuf| async move {
            let mut o = OpenOptions::new();
            o.write(true).create(true);
            o.open(p).await.expect("create through monoio")
        };
        let (fa, fb) = (create(pa.clone()).await, create(pb.clone()).await);
        async fn write(f: &File, d: Vec<u8>) -> (std::io::Result<usize>, Vec<u8>) {
            f.write_at(d, 0).await
        }
        let mut raced = None;
        let mut sync_note = String::new();
        if cancel {
            // (a) polled once, dropped before the runtime's next turn.
            let mut w = Box::pin(write(&fa, da.clone()));
            let _ = poll_once(&mut w).await;
            drop(w);
            // (b) polled once; turns until the kernel has written it; dropped unpolled.
            let mut w = Box::pin(write(&fb, db.clone()));
            let _ = poll_once(&mut w).await;
            raced = Some(turns_until(|| landed(&pb, &db) == LEN as u64).await);
            drop(w);
            // fsyncs likewise (nothing to see in the file; recorded for the notes).
            let mut s = Box::pin(fa.sync_all());
            let first = poll_once(&mut s).await.is_ready();
            drop(s);
            let mut s = Box::pin(fb.sync_all());
            let _ = poll_once(&mut s).await;
            monoio::time::sleep(WINDOW).await;
            drop(s);
            sync_note = format!(
                "fsync (a) {} at its first poll, dropped; fsync (b) dropped after a {} ms turn",
                if first { "completed" } else { "pending" },
                WINDOW.as_millis()
            );
        } else {
            let _ = write(&fa, da.clone()).await;
            let _ = write(&fb, db.clone()).await;
            let _ = fa.sync_all().await;
        }
        monoio::time::sleep(TURN).await;
        let _ = fa.close().await;
        let _ = fb.close().await;
        (raced, sync_note)
    });
    drop(rt);
    let leaked = extra_fds(before, SETTLE);
    let (ga, gb) = (landed(&pa, &da), landed(&pb, &db));
    drop(dir);
    (leaked, ga, gb, raced, sync_note)
}

fn write_timeout_file() -> Seen {
    let (twin, ..) = write_timeout_run(false);
    let (leaked, ga, gb, raced, sync_note) = write_timeout_run(true);
    Seen {
        leaked_fds: leaked - twin,
        // A ghost write is a byte that landed *after* its future was dropped: (b)'s bytes
        // were in the file before its drop (its result was lost, not its data), so they count
        // only when the completion had not been seen by then.
        ghost_bytes: ga + if raced == Some(true) { 0 } else { gb },
        raced,
        notes: vec![
            format!(
                "(a) dropped after its first poll: {ga} of 65536 B landed afterwards (ghost); \
                 (b) dropped after the kernel completed it: {gb} of 65536 B in the file ({})",
                match raced {
                    Some(true) => "already there before the drop: not a ghost",
                    _ => "completion NOT seen before the drop",
                }
            ),
            sync_note,
            format!("{leaked} fds left vs {twin} in the twin"),
        ],
        ..Seen::default()
    }
}

/// `accept-drop`: 4 accepts on monoio's listener, submitted and pending; 4 std clients
/// connect; once the kernel has accepted them (4 new sockets in `/proc/self/fd`) the accept
/// futures are dropped unpolled.
fn accept_run(cancel: bool) -> (i64, Option<bool>) {
    let before = raw::fds();
    let mut rt = runtime(None);
    let raced = rt.block_on(async {
        let l = monoio::net::TcpListener::bind("127.0.0.1:0").expect("bind through monoio");
        let addr = l.local_addr().expect("local addr");
        let mut futs: Vec<_> = (0..4).map(|_| Box::pin(l.accept())).collect();
        for f in futs.iter_mut() {
            let _ = poll_once(f).await;
        }
        monoio::time::sleep(WINDOW).await; // submitted, pending: no client yet
        let base = raw::fds();
        let clients: Vec<_> = (0..4)
            .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
            .collect();
        let raced = if cancel {
            let raced = turns_until(|| raw::fds() >= base + 8).await;
            drop(futs);
            Some(raced)
        } else {
            for f in futs {
                drop(f.await);
            }
            None
        };
        monoio::time::sleep(TURN).await;
        drop(clients);
        drop(l);
        raced
    });
    drop(rt);
    (extra_fds(before, SETTLE), raced)
}

fn accept_drop() -> Seen {
    let (twin, _) = accept_run(false);
    let (leaked, raced) = accept_run(true);
    Seen {
        leaked_fds: leaked - twin,
        raced,
        notes: vec![format!(
            "{} dropped once the kernel had accepted; {leaked} fds left vs {twin} in the twin",
            if raced == Some(true) {
                "4 accepts (4 accepted sockets seen in /proc/self/fd)"
            } else {
                "4 accepts NOT all seen completed,"
            }
        )],
        ..Seen::default()
    }
}

// ---------------------------------------------------------------------------------------------
// write-drop and open-drop: ops that wait in the kernel (a full pipe, a FIFO with no reader).

/// One write-drop run: a pipe of 4096 B filled raw; its write end opened through monoio; one
/// 4096 B `write_at`, polled for [`WINDOW`] and dropped (`cancel`), or awaited once a drainer
/// runs (the twin); a turn; a raw reader drains until nothing came for 200 ms; the file closed
/// with `File::close`. Descriptors left, the fill, bytes drained, whether the write was pending.
fn write_drop_run(cancel: bool) -> (i64, usize, usize, bool) {
    let before = raw::fds();
    let (r, w) = raw::pipe();
    // SAFETY: fcntl on a descriptor we own.
    let cap = set_pipe_size(&w, BLOCK);
    let mut rt = runtime(None);
    let file = rt
        .block_on(async {
            let mut o = OpenOptions::new();
            o.write(true).create(true);
            o.open(proc_path(&w)).await
        })
        .expect("open the pipe's write end through monoio");
    raw::write_all(&w, &payload(cap, 8));
    drop(w); // monoio's handle is the only writer now
    let data = payload(BLOCK, 9);
    // The drainer runs on its own thread, as a consumer would; it ends after 200 ms of quiet.
    let drainer =
        |r: OwnedFd| std::thread::spawn(move || raw::drain(&r, Duration::from_millis(200)));
    let (drained, pending) = rt.block_on(async {
        async fn write(f: &File, d: Vec<u8>) -> (std::io::Result<usize>, Vec<u8>) {
            f.write_at(d, 0).await
        }
        let (d, pending) = if cancel {
            let mut futs = [Box::pin(write(&file, data.clone()))];
            let pending = poll_all_for(&mut futs, monoio::time::sleep(WINDOW)).await[0].is_none();
            drop(futs);
            monoio::time::sleep(TURN).await;
            (drainer(r), pending)
        } else {
            let d = drainer(r);
            let _ = write(&file, data.clone()).await;
            (d, false)
        };
        monoio::time::sleep(TURN).await;
        let _ = file.close().await;
        while !d.is_finished() {
            monoio::time::sleep(Duration::from_millis(5)).await;
        }
        (d.join().expect("drainer").len(), pending)
    });
    drop(rt);
    (extra_fds(before, SETTLE), cap, drained, pending)
}

/// `write-drop`: a write to a full pipe, pending, dropped; a turn; a raw reader drains. Bytes
/// past the fill came from the dropped write: a ghost write.
fn write_drop() -> Seen {
    let (twin, ..) = write_drop_run(false);
    let (leaked, cap, drained, pending) = write_drop_run(true);
    let past = drained.saturating_sub(cap);
    Seen {
        leaked_fds: leaked - twin,
        ghost_bytes: if pending { past as u64 } else { 0 },
        notes: vec![format!(
            "pipe of {cap} B filled; a {BLOCK} B write_at {} after {} ms, dropped; a turn; a raw \
             reader drained {drained} B ({past} B past the fill); {leaked} fds left vs {twin} in \
             the twin",
            if pending {
                "still pending"
            } else {
                "completed"
            },
            WINDOW.as_millis()
        )],
        ..Seen::default()
    }
}

/// One open-drop run: 8 opens `O_WRONLY|O_CREAT` of a FIFO with no reader through monoio
/// (they wait in io-wq), polled for [`WINDOW`], dropped (`cancel`); a turn; a reader appears;
/// turns. The twin opens the FIFO 8 times with a reader already there and closes each.
/// Descriptors left, how many were pending, whether the release needed the fallback.
fn open_drop_run(cancel: bool) -> (i64, usize, bool, String) {
    let dir = Scratch::new("monoio", "fifo");
    let fifo = dir.join("fifo");
    mkfifo(&fifo);
    let before = raw::fds();
    let mut rt = runtime(None);
    let open = || {
        let mut o = OpenOptions::new();
        o.write(true).create(true);
        let p = fifo.clone();
        Box::pin(async move { o.open(p).await })
    };
    let (pending, fallback, note) = rt.block_on(async {
        // Warm up: what monoio opens lazily on its first open is not a leak.
        if let Ok(f) = File::open("/dev/null").await {
            let _ = f.close().await;
        }
        if !cancel {
            let reader = fifo_reader(&fifo).expect("reader");
            for _ in 0..8 {
                if let Ok(f) = open().await {
                    let _ = f.close().await;
                }
            }
            drop(reader);
            return (0, false, String::new());
        }
        let releaser = Releaser::spawn(fifo.clone(), FALLBACK);
        let mut futs: Vec<_> = (0..8).map(|_| open()).collect();
        let mut completed = 0;
        for o in poll_all_for(&mut futs, monoio::time::sleep(WINDOW))
            .await
            .into_iter()
            .flatten()
        {
            completed += 1;
            if let Ok(f) = o {
                let _ = f.close().await;
            }
        }
        let t = Instant::now();
        drop(futs);
        let drop_ms = t.elapsed().as_secs_f64() * 1e3;
        monoio::time::sleep(TURN).await;
        let (fallback, reader) = releaser.join();
        monoio::time::sleep(TURN * 2).await;
        drop(reader);
        monoio::time::sleep(TURN).await;
        (
            8 - completed,
            fallback,
            format!("{completed} completed while polled; the drop took {drop_ms:.1} ms"),
        )
    });
    drop(rt);
    let leaked = extra_fds(before, SETTLE);
    drop(dir);
    (leaked, pending, fallback, note)
}

/// `open-drop`: 8 opens of a FIFO with no reader, pending, dropped; a turn; a reader appears.
/// Descriptors of opens that completed after their drop, never closed, are a leak.
fn open_drop() -> Seen {
    let (twin, ..) = open_drop_run(false);
    let (leaked, pending, fallback, note) = open_drop_run(true);
    Seen {
        leaked_fds: leaked - twin,
        hang: fallback,
        notes: vec![format!(
            "8 opens O_WRONLY|O_CREAT of a FIFO with no reader: {pending} pending after {} ms and \
             dropped ({note}); a turn; then a reader opened the FIFO{}; {leaked} fds left vs \
             {twin} in the twin (8 opens with a reader, each closed)",
            WINDOW.as_millis(),
            if fallback {
                " — only after the fallback: the drop or the turn waited for it (a hang)"
            } else {
                ""
            }
        )],
        ..Seen::default()
    }
}
