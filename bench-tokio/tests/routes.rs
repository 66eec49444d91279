//! Checks the routes the two tokio engines claim, by looking at what the process really holds:
//! io_uring instances show up in `/proc/self/fd` as `anon_inode:[io_uring]`, and tokio's
//! metrics count the blocking-pool threads it started.
//!
//! One test function on purpose: the ring count is process-wide, so the two engines must not run
//! side by side.

use std::path::Path;

use bench_tokio::{TokioEngine, TokioIoUringEngine};
use workloads::conformance::{Scratch, available};
use workloads::{AlignedBuf, Engine, OpenHow, RuntimeConfig};

/// io_uring instances open in this process.
fn ring_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("list /proc/self/fd")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|t| t.as_os_str() == "anon_inode:[io_uring]")
        .count()
}

/// Blocking-pool threads the current runtime has started (an unstable tokio metric).
#[cfg(tokio_unstable)]
fn pool_threads() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_blocking_threads()
}

/// Open `path` and read its first `blocks` blocks in order (no seek needed).
async fn read_blocks<E: Engine>(path: &Path, blocks: u64) -> E::File {
    let f = E::open(path, OpenHow::READ).await.expect("open");
    for i in 0..blocks {
        let (r, _) = E::read_at(&f, AlignedBuf::new(4096), i * 4096).await;
        assert_eq!(r.expect("read"), 4096);
    }
    f
}

#[test]
fn plain_tokio_never_rings_and_tokio_io_uring_does() {
    let dir = Scratch::new("routes");
    let path = dir.path().join("f");
    workloads::data::create_file(&path, 3, 64 * 1024).unwrap();
    let rings_before = ring_fds();

    // The plain engine: built without the IO driver, so tokio::fs has no ring to use even when
    // this build has --cfg tokio_unstable and the io-uring feature.
    let mut rt = TokioEngine::build(&RuntimeConfig::default()).unwrap();
    rt.block_on(async {
        let f = read_blocks::<TokioEngine>(&path, 4).await;
        assert_eq!(
            ring_fds(),
            rings_before,
            "the plain tokio engine opened an io_uring"
        );
        #[cfg(tokio_unstable)]
        assert!(
            pool_threads() > 0,
            "the plain tokio engine's ops must run on the blocking pool"
        );
        TokioEngine::close(f).await.unwrap();
    });
    drop(rt);

    // Without the cfg this only prints why tokio-io-uring is skipped.
    let uring = available::<TokioIoUringEngine>();
    #[cfg(not(tokio_unstable))]
    let _ = uring;
    #[cfg(tokio_unstable)]
    if uring {
        let mut rt = TokioIoUringEngine::build(&RuntimeConfig::default()).unwrap();
        assert!(
            ring_fds() > rings_before,
            "tokio-io-uring built a runtime without a ring"
        );
        rt.block_on(async {
            let f = read_blocks::<TokioIoUringEngine>(&path, 4).await;
            assert_eq!(
                pool_threads(),
                0,
                "open and sequential reads must not touch the pool"
            );
            TokioIoUringEngine::close(f).await.unwrap();
            let out = TokioIoUringEngine::open(&path.with_extension("out"), OpenHow::CREATE)
                .await
                .unwrap();
            let (r, _) = TokioIoUringEngine::write_at(&out, AlignedBuf::from_slice(b"x"), 0).await;
            r.unwrap();
            assert!(
                pool_threads() > 0,
                "tokio 1.54 writes fall back to the pool (routes.write)"
            );
            TokioIoUringEngine::close(out).await.unwrap();
        });
    }
}
