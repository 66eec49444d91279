//! Standalone reproducers for the `std` engine: `std::fs` / `std::net` on pipes, files and
//! sockets, blocking, with no runtime. A blocking call cannot be dropped half-way: it returns
//! (when a helper thread supplies what it waits for) before anything could drop it, so each
//! reproducer does the scenario's steps as a std user would and measures with the same raw
//! oracles (descriptors, bytes) what is left. `RINGBENCH_REPRO_ONLY=1 cargo test -p bench-std
//! --test repro` prints what each saw.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use workloads::repro::Seen;
use workloads::repro::raw::{self, payload, proc_path};

const BLOCK: usize = 4096;
/// When a helper supplies what a blocking call waits for.
const HELPER_AFTER: Duration = Duration::from_millis(50);
const FD_SETTLE: Duration = Duration::from_millis(500);

/// Descriptors left by the same steps with nothing to drop: a pipe end opened, read, closed.
fn baseline() -> i64 {
    let before = raw::fds();
    {
        let (r, w) = raw::pipe();
        let mut f = std::fs::File::open(proc_path(&r)).expect("open");
        drop(r);
        raw::write_all(&w, &[1; BLOCK]);
        drop(w);
        let mut v = Vec::new();
        f.read_to_end(&mut v).expect("read");
    }
    raw::extra_fds(before, FD_SETTLE)
}

fn leaked(before: i64, seen: &mut Seen) {
    let base = baseline();
    let after = raw::fds_settled(before, FD_SETTLE);
    seen.leaked_fds = after - before - base;
    seen.notes.push(format!(
        "descriptors: {before} before, {after} after (baseline {base})"
    ));
}

/// A blocking read of an empty pipe, fed by a helper after [`HELPER_AFTER`]: how long the call
/// blocked and what it returned.
fn blocking_read(f: &mut std::fs::File, w: OwnedFd, data: Vec<u8>, seen: &mut Seen) -> Vec<u8> {
    let helper = std::thread::spawn(move || {
        std::thread::sleep(HELPER_AFTER);
        raw::write_all(&w, &data);
        drop(w);
    });
    let t = Instant::now();
    let mut buf = vec![0u8; BLOCK];
    let n = f.read(&mut buf).expect("read");
    seen.notes.push(format!(
        "the read blocked inside the call for {:.0} ms and returned {n} B: completed before anything could drop it",
        t.elapsed().as_secs_f64() * 1e3
    ));
    helper.join().expect("helper");
    buf.truncate(n);
    buf
}

/// `read-drop`: the read of an empty pipe; 8192 B; the rest through the same handle.
fn read_drop() -> Seen {
    let mut seen = Seen::default();
    let before = raw::fds();
    let (r, w) = raw::pipe();
    let mut f = std::fs::File::open(proc_path(&r)).expect("open");
    drop(r);
    let sent = payload(2 * BLOCK, 1);
    let mut got = blocking_read(&mut f, w, sent.clone(), &mut seen);
    f.read_to_end(&mut got).expect("read the rest");
    seen.lost_bytes = (sent.len() - got.len()) as u64;
    seen.notes.push(format!(
        "{} of {} B through the same handle",
        got.len(),
        sent.len()
    ));
    drop(f);
    leaked(before, &mut seen);
    seen
}

/// `read-race`: the read blocks, so the 4096 B come from a helper; the read returns them.
fn read_race() -> Seen {
    let mut seen = Seen::default();
    let before = raw::fds();
    let (r, w) = raw::pipe();
    let mut f = std::fs::File::open(proc_path(&r)).expect("open");
    let sent = payload(BLOCK, 2);
    let w2 = w.try_clone().expect("dup");
    let mut got = blocking_read(&mut f, w2, sent.clone(), &mut seen);
    seen.raced = Some(false); // the call returned its bytes: nothing was dropped
    drop(w);
    got.extend(raw::drain(&r, Duration::from_millis(20)));
    seen.lost_bytes = (sent.len() - got.len()) as u64;
    drop((f, r));
    leaked(before, &mut seen);
    seen
}

/// `write-drop`: a write to a full 4096 B pipe blocks until a helper drains it.
fn write_drop() -> Seen {
    let mut seen = Seen::default();
    let before = raw::fds();
    let (r, w) = raw::pipe();
    // SAFETY: F_SETPIPE_SZ on our pipe.
    let cap =
        unsafe { libc::fcntl(w.as_raw_fd(), libc::F_SETPIPE_SZ, BLOCK as libc::c_int) } as usize;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(proc_path(&w))
        .expect("open");
    raw::write_all(&w, &vec![3u8; cap]);
    drop(w);
    let drainer = std::thread::spawn(move || {
        std::thread::sleep(HELPER_AFTER);
        raw::drain(&r, Duration::from_millis(100))
    });
    let t = Instant::now();
    let n = f.write(&payload(BLOCK, 4)).expect("write");
    seen.notes.push(format!(
        "the write blocked inside the call for {:.0} ms and returned {n} B: completed, nothing to drop",
        t.elapsed().as_secs_f64() * 1e3
    ));
    drop(f);
    let out = drainer.join().expect("drainer");
    seen.notes.push(format!(
        "drained {} B: {cap} B of fill, then {} B",
        out.len(),
        out.len() - cap
    ));
    leaked(before, &mut seen);
    seen
}

/// `runtime-drop` / `close-after-drop`: the read completes (a helper feeds it); then the file
/// is dropped (std has no runtime to drop) or closed with `close(2)`; nothing waits.
fn drop_then(close: bool) -> Seen {
    let mut seen = Seen::default();
    let before = raw::fds();
    let (r, w) = raw::pipe();
    let mut f = std::fs::File::open(proc_path(&r)).expect("open");
    let sent = payload(2 * BLOCK, 5);
    let mut got = blocking_read(&mut f, w, sent.clone(), &mut seen);
    let t = Instant::now();
    if close {
        use std::os::fd::IntoRawFd;
        // SAFETY: we own the descriptor and close it once.
        let rc = unsafe { libc::close(f.into_raw_fd()) };
        seen.notes.push(format!(
            "close(2) returned {rc} in {:.2} ms",
            t.elapsed().as_secs_f64() * 1e3
        ));
    } else {
        drop(f);
        seen.notes
            .push("std has no runtime: the file dropped".into());
    }
    got.extend(raw::drain(&r, Duration::from_millis(20)));
    seen.lost_bytes = (sent.len() - got.len()) as u64;
    seen.notes
        .push(format!("{} of {} B read or drained", got.len(), sent.len()));
    drop(r);
    leaked(before, &mut seen);
    seen
}

fn runtime_drop() -> Seen {
    drop_then(false)
}

fn close_after_drop() -> Seen {
    drop_then(true)
}

/// `shutdown-live-task`: std has no tasks and no runtime (the engine's `spawn` is `Err`).
fn shutdown_live_task() -> Seen {
    Seen {
        notes: vec!["std has no tasks and no runtime to shut down: nothing to reproduce".into()],
        ..Seen::default()
    }
}

/// `write-timeout-file`: a 64 KiB `write` and an `fsync` of a regular file complete inside the
/// call; the bytes are in the file when it returns.
fn write_timeout_file() -> Seen {
    let mut seen = Seen::default();
    let before = raw::fds();
    let path = std::env::temp_dir().join(format!("ringbench-std-repro-{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .expect("open");
    let n = f.write(&payload(64 * 1024, 7)).expect("write");
    let in_file = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    f.sync_all().expect("fsync");
    seen.raced = Some(false);
    seen.notes.push(format!(
        "write returned {n} B with {in_file} B already in the file; fsync returned: nothing could be dropped"
    ));
    drop(f);
    let _ = std::fs::remove_file(&path);
    leaked(before, &mut seen);
    seen
}

/// `accept-drop`: 4 blocking accepts on a std listener, each released by a client a helper
/// connects; each accepted socket is closed at once.
fn accept_drop() -> Seen {
    let mut seen = Seen::default();
    let before = raw::fds();
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    let clients = std::thread::spawn(move || {
        std::thread::sleep(HELPER_AFTER);
        (0..4)
            .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
            .collect::<Vec<_>>()
    });
    for _ in 0..4 {
        drop(l.accept().expect("accept"));
    }
    drop(clients.join().expect("clients"));
    seen.raced = Some(false);
    seen.notes.push("4 accepts blocked until a client came, each returned its socket (closed at once): nothing to drop".into());
    drop(l);
    leaked(before, &mut seen);
    seen
}

fn main() -> std::process::ExitCode {
    workloads::repro::main::<bench_std::StdEngine>(&[
        ("read-drop", read_drop),
        ("read-race", read_race),
        ("write-drop", write_drop),
        ("runtime-drop", runtime_drop),
        ("close-after-drop", close_after_drop),
        ("shutdown-live-task", shutdown_live_task),
        ("write-timeout-file", write_timeout_file),
        ("accept-drop", accept_drop),
    ])
}
