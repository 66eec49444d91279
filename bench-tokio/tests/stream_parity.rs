//! `tokio` and `tokio-io-uring` must give a dropped stream write the same verdict: tokio 1.54.1
//! writes a `File` on its blocking pool whatever the driver (fs/file.rs `poll_write` is
//! `spawn_mandatory_blocking`), so any difference would be our adapters'. This runs the
//! `write-drop` steps through each engine's `write_stream` and compares what was counted: how
//! the write's first poll ended, whether it was still pending after 20 ms of runtime turns (and
//! so dropped in flight), and how many of its bytes reached the pipe after the drop.

use std::future::{Future, poll_fn};
use std::os::fd::{AsRawFd, OwnedFd};
use std::task::Poll;
use std::time::{Duration, Instant};

use bench_tokio::{TokioEngine, TokioIoUringEngine};
use workloads::repro::raw;
use workloads::{AlignedBuf, Engine, OpenHow, RuntimeConfig};

const BLOCK: usize = 4096;

/// What the drop of one write to a full pipe did.
#[derive(Debug, PartialEq)]
struct Counted {
    /// `Some(n)` when the write completed with `n` B during its first poll.
    first_poll: Option<usize>,
    /// Still pending after 20 ms of runtime turns: dropped in flight.
    dropped_pending: bool,
    /// Bytes beyond the fill that reached the pipe (after the drop, when it was dropped).
    landed: usize,
}

fn set_pipe_size(fd: &OwnedFd, size: usize) -> usize {
    // SAFETY: F_SETPIPE_SZ on a pipe we own.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, size as libc::c_int) as usize }
}

fn write_drop<E: Engine>() -> Counted {
    let (r, w) = raw::pipe();
    let cap = set_pipe_size(&w, BLOCK);
    raw::write_all(&w, &vec![1u8; cap]); // full
    let mut rt = E::build(&RuntimeConfig::default()).expect("build");
    let path = format!("/proc/self/fd/{}", w.as_raw_fd());
    let file = rt
        .block_on(E::open(path.as_ref(), OpenHow::CREATE))
        .expect("open the write end");
    drop(w);
    let (first_poll, dropped_pending) = rt.block_on(async {
        let mut fut = Box::pin(E::write_stream(
            &file,
            AlignedBuf::from_slice(&[2u8; BLOCK]),
        ));
        let mut first = true;
        let mut first_poll = None;
        let t = Instant::now();
        let done = poll_fn(|cx| {
            if let Poll::Ready((r, _)) = fut.as_mut().poll(cx) {
                if first {
                    first_poll = r.as_ref().ok().copied();
                }
                return Poll::Ready(true);
            }
            first = false;
            if t.elapsed() >= Duration::from_millis(20) {
                return Poll::Ready(false);
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        })
        .await;
        drop(fut);
        (first_poll, !done)
    });
    let drainer = std::thread::spawn(move || raw::drain(&r, Duration::from_millis(150)));
    rt.block_on(E::close(file)).expect("close");
    let out = drainer.join().expect("drainer");
    drop(rt);
    Counted {
        first_poll,
        dropped_pending,
        landed: out.len() - cap,
    }
}

#[test]
fn both_tokio_engines_drop_a_stream_write_alike() {
    let plain = write_drop::<TokioEngine>();
    if !workloads::conformance::available::<TokioIoUringEngine>() {
        workloads::conformance::skipped(
            "both_tokio_engines_drop_a_stream_write_alike",
            &format!("tokio-io-uring unavailable here; tokio alone saw {plain:?}"),
        );
        return;
    }
    let uring = write_drop::<TokioIoUringEngine>();
    eprintln!("tokio: {plain:?}\ntokio-io-uring: {uring:?}");
    assert_eq!(
        plain, uring,
        "the two tokio engines' write_stream differ on a dropped write to a full pipe"
    );
}
