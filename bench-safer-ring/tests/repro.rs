//! Standalone reproducer for the `safer-ring` engine's `accept-drop`: safer-ring 0.0.1's public
//! API only (`Ring::new`, `Ring::accept_safe`, its futures driven by a current-thread tokio
//! runtime as its docs do), with std sockets and raw descriptor counts for the oracle.
//! `RINGBENCH_REPRO_ONLY=1 cargo test -p bench-safer-ring --test repro` prints what it saw.

use std::future::{Future, poll_fn};
use std::os::fd::AsRawFd;
use std::task::Poll;
use std::time::{Duration, Instant};

use safer_ring::Ring;
use workloads::repro::{Seen, raw};

const FD_SETTLE: Duration = Duration::from_millis(500);

/// Let the runtime run its tasks (safer-ring's waker tasks) for about `d`.
fn turn(rt: &tokio::runtime::Runtime, d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        rt.block_on(tokio::task::yield_now());
        std::thread::sleep(Duration::from_millis(1));
    }
}

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
    raw::fds_settled(before, FD_SETTLE) - before
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
    let after = raw::fds_settled(before + base, FD_SETTLE);
    seen.leaked_fds = after - before - base;
    seen.notes.push(format!(
        "descriptors: {before} before, {after} after, {base} left by the same steps without a drop"
    ));
    seen
}

fn main() -> std::process::ExitCode {
    workloads::repro::main::<bench_safer_ring::SaferRingEngine>(&[("accept-drop", accept_drop)])
}
