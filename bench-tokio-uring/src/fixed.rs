//! `tokio-uring-fixed`: reads and writes through buffers registered with the kernel.
//!
//! Each runtime registers a `FixedBufPool` of `queue_depth` page-aligned buffers of
//! `block_size` bytes at build time. Every `read_at`/`write_at` checks one out
//! (`FixedBufPool::next`, which waits when all are in use), submits `READ_FIXED`/`WRITE_FIXED`
//! on it, and checks it back in when the op is done.
//!
//! **One copy per op.** The workloads own their [`AlignedBuf`]s and pass them by value; the
//! engine never learns when one is freed, and a registered buffer pins the pages it had at
//! registration, so registering the workload's own buffers (lazily, by address) could leave the
//! kernel writing into pages a freed-and-reallocated buffer no longer uses. Registered memory
//! therefore stays owned by the pool, and each op copies the block: after a read, from the
//! registered buffer into the caller's; before a write, from the caller's into the registered
//! one. Removing that copy needs the harness to hand its buffer pool to the engine once per
//! trial (a trait hook), which the shared `Engine` trait does not have today.
//!
//! Other differences from the generic engine, all visible in results via `detail()` and the
//! README: an op larger than a registered buffer is cut to `block_size` (a short transfer the
//! loops resubmit), and more ops in flight than registered buffers wait for one (the small and
//! tree workloads run `files_in_flight` files; with more files than `queue_depth` they queue).
//! Registered buffers count against `RLIMIT_MEMLOCK`; build fails with that reason when the
//! limit is too low.

use std::cell::RefCell;
use std::io;
use std::path::Path;
use std::rc::Rc;

use tokio_uring::buf::fixed::FixedBufPool;
use tokio_uring::buf::{BoundedBuf, IoBufMut};
use workloads::{AlignedBuf, BufResult, Engine, EngineInfo, Meta, Model, OpenHow, RuntimeConfig};

use crate::{CAPS, ROUTES, UringBuf};

/// The registered buffers of the runtime whose `block_on` is running on this thread.
#[derive(Clone)]
struct Fixed {
    /// In an `Rc` of our own: `FixedBufPool` is an `Rc` inside, but its derived `Clone` asks
    /// for a cloneable buffer type.
    pool: Rc<FixedBufPool<UringBuf>>,
    /// Size of every buffer in the pool (the run's block size).
    block: usize,
}

thread_local! {
    /// Set by `block_on` (ops are associated functions and find their pool here, as
    /// tokio-uring's own ops find their driver in its thread-local context).
    static CURRENT: RefCell<Option<Fixed>> = const { RefCell::new(None) };
}

fn current() -> Fixed {
    CURRENT
        .with(|c| c.borrow().clone())
        .expect("tokio-uring-fixed op outside its engine's block_on")
}

/// The tokio-uring engine with registered (fixed) buffers and one copy per op.
pub struct TokioUringFixedEngine {
    rt: tokio_uring::Runtime,
    fixed: Fixed,
    count: usize,
}

impl std::fmt::Debug for TokioUringFixedEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokioUringFixedEngine")
            .field("buffers", &self.count)
            .field("block", &self.fixed.block)
            .finish_non_exhaustive()
    }
}

/// Restores the previous thread-local pool when `block_on` ends, even by a panic.
struct Restore(Option<Fixed>);

impl Drop for Restore {
    fn drop(&mut self) {
        let prev = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

impl Engine for TokioUringFixedEngine {
    type File = tokio_uring::fs::File;

    type Listener = tokio_uring::net::TcpListener;

    fn listen_local() -> io::Result<(Self::Listener, std::net::SocketAddr)> {
        crate::listen_local()
    }

    async fn accept(l: &Self::Listener) -> io::Result<()> {
        crate::accept(l).await
    }

    fn spawn<F: std::future::Future<Output = ()> + 'static>(fut: F) -> Result<(), String> {
        crate::spawn(fut)
    }

    const INFO: EngineInfo = EngineInfo {
        name: "tokio-uring-fixed",
        runtime: "tokio-uring",
        summary: "tokio-uring 0.5 with READ_FIXED/WRITE_FIXED on queue_depth registered buffers, plus one memcpy per op into/out of the workload's buffer",
        model: Model::ThreadPerCore,
        caps: CAPS,
        routes: ROUTES,
    };

    fn probe() -> Result<(), String> {
        crate::probe::check(true)
    }

    fn build(cfg: &RuntimeConfig) -> io::Result<Self> {
        let rt = crate::runtime(cfg)?;
        let count = cfg.queue_depth.max(1);
        let block = cfg.block_size;
        let pool = FixedBufPool::new((0..count).map(|_| UringBuf(AlignedBuf::new(block))));
        // Registration needs tokio-uring's thread-local driver, which only block_on sets.
        rt.block_on(async { pool.register() }).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "registering {count} fixed buffers of {block} bytes: {e} ({})",
                    crate::probe::memlock()
                ),
            )
        })?;
        Ok(TokioUringFixedEngine {
            rt,
            fixed: Fixed {
                pool: Rc::new(pool),
                block,
            },
            count,
        })
    }

    fn block_on<F: std::future::Future>(&mut self, fut: F) -> F::Output {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.fixed.clone()));
        let _restore = Restore(prev);
        self.rt.block_on(fut)
    }

    fn detail(&self) -> Option<String> {
        Some(format!(
            "{} registered buffers of {} bytes; one copy per read/write",
            self.count, self.fixed.block
        ))
    }

    async fn open(path: &Path, how: OpenHow) -> io::Result<Self::File> {
        crate::open(path, how).await
    }

    async fn read_at(file: &Self::File, mut buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        debug_assert!(buf.is_empty(), "reads go into an empty window");
        let Fixed { pool, block } = current();
        let fixed = pool.next(block).await;
        let want = buf.capacity().min(block);
        let (r, slice) = file.read_fixed_at(fixed.slice(0..want), pos).await;
        if let Ok(n) = r {
            // The copy this engine pays for (see the module docs).
            buf.spare_mut()[..n].copy_from_slice(&slice.get_ref()[..n]);
            buf.set_len(n);
        }
        // Dropping the handle checks the registered buffer back in and wakes a waiter.
        drop(slice);
        (r, buf)
    }

    async fn write_at(file: &Self::File, buf: AlignedBuf, pos: u64) -> BufResult<usize> {
        let Fixed { pool, block } = current();
        let mut fixed = pool.next(block).await;
        let n = buf.len().min(block);
        // SAFETY: `fixed` is a registered buffer of `block >= n` bytes that we hold exclusively
        // (checked out), and the source is a different allocation.
        unsafe {
            std::ptr::copy_nonoverlapping(buf.as_ptr(), fixed.stable_mut_ptr(), n);
            // Every byte of the registered AlignedBuf is initialised; mark the copied ones.
            fixed.set_init(n);
        }
        let (r, _slice) = file.write_fixed_at(fixed.slice(0..n), pos).await;
        (r, buf)
    }

    async fn sync(file: &Self::File) -> io::Result<()> {
        file.sync_all().await
    }

    async fn close(file: Self::File) -> io::Result<()> {
        file.close().await
    }

    async fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
        crate::mkdir(path, mode).await
    }

    async fn metadata(path: &Path) -> io::Result<Meta> {
        crate::metadata(path).await
    }
}

#[cfg(test)]
mod tests {
    workloads::conformance_tests!(crate::TokioUringFixedEngine);

    use futures_util::future::join_all;
    use workloads::conformance::{Scratch, available};
    use workloads::{AlignedBuf, Ctx, Engine, OpenHow, RuntimeConfig, data};

    use super::TokioUringFixedEngine as E;

    fn small_cfg(queue_depth: usize, block_size: usize) -> RuntimeConfig {
        RuntimeConfig {
            queue_depth,
            block_size,
            ..RuntimeConfig::default()
        }
    }

    /// A buffer bigger than a registered one gets a short read of one block, with the right
    /// bytes, and the loop completes it.
    #[test]
    fn op_larger_than_registered_buffer_is_short() {
        if !available::<E>() {
            return;
        }
        let dir = Scratch::new("fixed-short");
        let path = dir.path().join("f");
        data::create_file(&path, 5, 20_000).unwrap();
        let mut want = vec![0u8; 20_000];
        data::fill(5, 0, &mut want);
        let mut rt = E::build(&small_cfg(2, 4096)).unwrap();
        rt.block_on(async {
            let f = E::open(&path, OpenHow::READ).await.unwrap();
            let (r, buf) = E::read_at(&f, AlignedBuf::new(16384), 100).await;
            assert_eq!(r.unwrap(), 4096);
            assert_eq!(buf.as_slice(), &want[100..100 + 4096]);
            let (r, buf) = Ctx::new().read_full::<E>(&f, buf, 0, 16384).await;
            assert_eq!(r.unwrap(), 16384);
            assert_eq!(buf.as_slice(), &want[..16384]);
            E::close(f).await.unwrap();
        });
    }

    /// More ops in flight than registered buffers wait for one instead of failing or hanging,
    /// and writes from many caller buffers land intact.
    #[test]
    fn more_ops_than_buffers_queue() {
        if !available::<E>() {
            return;
        }
        let dir = Scratch::new("fixed-queue");
        let path = dir.path().join("f");
        let block = 4096;
        let mut rt = E::build(&small_cfg(1, block)).unwrap();
        rt.block_on(async {
            let f = E::open(&path, OpenHow::CREATE).await.unwrap();
            let writes = (0..8u64).map(|i| {
                let f = &f;
                async move {
                    let buf = data::dataset_buf(11, i * block as u64, block);
                    let (r, _) = Ctx::new().write_all::<E>(f, buf, i * block as u64).await;
                    r.unwrap();
                }
            });
            join_all(writes).await;
            E::close(f).await.unwrap();
            let f = E::open(&path, OpenHow::READ).await.unwrap();
            let reads = (0..8u64).map(|i| {
                let f = &f;
                async move {
                    let (r, buf) = Ctx::new()
                        .read_full::<E>(f, AlignedBuf::new(block), i * block as u64, block)
                        .await;
                    assert_eq!(r.unwrap(), block);
                    buf.as_slice().to_vec()
                }
            });
            let got: Vec<u8> = join_all(reads).await.concat();
            let mut want = vec![0u8; 8 * block];
            data::fill(11, 0, &mut want);
            assert!(
                got == want,
                "data read back through one registered buffer differs"
            );
            E::close(f).await.unwrap();
        });
    }
}
