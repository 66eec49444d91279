//! A minimal executor for engines whose futures never wait (std, null): poll until ready.
//!
//! Blocking engines complete every op inside `poll`, so a `FuturesUnordered` over them simply
//! runs one op after another; this loop is all the "runtime" they need, and it adds no
//! threads or wake-ups that would blur the baseline.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Run `fut` to completion on the calling thread, re-polling when it is pending.
pub fn block_on_ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        // Only reachable if a future waits on something outside this thread; yield rather
        // than spin hard.
        std::thread::yield_now();
    }
}
