//! A runtime-neutral timer: one helper thread that wakes each sleeping future's waker when its
//! time is up. It is the default of [`Engine::sleep`](crate::Engine::sleep).
//!
//! Why a thread and not a future that wakes itself: a future that wakes itself during `poll`
//! tells an executor "poll me again at once", and several ring runtimes then never reach the
//! point where they submit queued ops or wait for completions. Measured here: monoio's
//! `block_on` re-polls its main future while it is woken and never enters the ring; tokio's
//! current-thread scheduler sees the wake as pending work and only *yields* to its driver,
//! skipping the `on_thread_park` hook where tokio-uring flushes its submission queue. Either
//! way an op under test was never submitted and every later read stayed pending. A future that
//! returns `Pending` *without* waking itself and is woken later from another thread is what a
//! completion from a kernel or a thread pool looks like, so every runtime parks normally.
//!
//! This needs a waker that works from another thread. A runtime whose waker does not (monoio
//! without its `sync` feature) overrides `Engine::sleep` with its own timer.

use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// One pending wake-up: ordered by time, earliest first (a min-heap through `Reverse`).
struct Entry {
    at: Instant,
    waker: Waker,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.at == o.at
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        o.at.cmp(&self.at)
    }
}

/// The timer thread's inbox, started on first use. The thread lives as long as the process:
/// it holds no descriptor, so the fd oracle does not see it.
fn timer() -> &'static Sender<Entry> {
    static TX: OnceLock<Sender<Entry>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Entry>();
        std::thread::Builder::new()
            .name("ringbench-timer".into())
            .spawn(move || {
                let mut heap = BinaryHeap::<Entry>::new();
                loop {
                    let now = Instant::now();
                    while heap.peek().is_some_and(|e| e.at <= now) {
                        heap.pop().expect("peeked").waker.wake();
                    }
                    let got = match heap.peek() {
                        Some(e) => rx.recv_timeout(e.at.saturating_duration_since(now)),
                        None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                    };
                    match got {
                        Ok(e) => heap.push(e),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .expect("spawn the timer thread");
        tx
    })
}

/// Sleep for `d` on the timer thread: ready once `d` has passed, `Pending` (without waking
/// itself) until then.
pub fn sleep(d: Duration) -> impl Future<Output = ()> {
    ThreadSleep {
        until: Instant::now() + d,
        registered: None,
    }
}

struct ThreadSleep {
    until: Instant,
    /// The waker last handed to the timer thread, so a re-poll with the same waker does not
    /// queue another wake-up.
    registered: Option<Waker>,
}

impl Future for ThreadSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.until {
            return Poll::Ready(());
        }
        if !self
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            let at = self.until;
            // A send fails only if the timer thread died (it never returns while we hold the
            // sender); then nobody wakes us and the driver's deadline reports a hang.
            let _ = timer().send(Entry {
                at,
                waker: cx.waker().clone(),
            });
            self.registered = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_from_another_thread_after_its_time() {
        // A parking executor with a waker that unparks this thread: it only returns if the
        // timer thread wakes it (the future never wakes itself).
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let d = Duration::from_millis(30);
        let t = Instant::now();
        let mut f = std::pin::pin!(sleep(d));
        let mut polls = 0;
        while f.as_mut().poll(&mut cx).is_pending() {
            polls += 1;
            std::thread::park_timeout(Duration::from_secs(5));
            assert!(t.elapsed() < Duration::from_secs(5), "never woken");
        }
        assert!(t.elapsed() >= d);
        // Woken once when due (spurious unparks are allowed by `park`, but rare).
        assert!(polls <= 3, "{polls} polls: the future woke itself?");
    }
}
