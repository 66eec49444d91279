//! A memlock limit below glommio's minimum makes `probe` fail with the reason and the fix, and
//! `build` return an error — never a crash. Its own test binary: rlimits are per process.

use bench_glommio::{GLOMMIO_MIN_MEMLOCK, GlommioEngine};
use workloads::{Engine, RuntimeConfig};

fn get() -> libc::rlimit {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut r) }, 0);
    r
}

fn set(r: libc::rlimit) {
    // SAFETY: setrlimit reads the struct we pass.
    assert_eq!(
        unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &r) },
        0,
        "{}",
        std::io::Error::last_os_error()
    );
}

#[test]
fn low_memlock_is_a_reason_not_a_crash() {
    let saved = get();
    // Lowering the soft limit is always allowed.
    set(libc::rlimit {
        rlim_cur: GLOMMIO_MIN_MEMLOCK / 2,
        rlim_max: saved.rlim_max,
    });
    let probe = GlommioEngine::probe();
    let build =
        std::thread::spawn(|| GlommioEngine::build(&RuntimeConfig::default()).map(drop)).join();
    set(saved);

    let reason = probe.expect_err("probe must fail below glommio's minimum");
    assert!(
        reason.contains("ulimit -l unlimited"),
        "the reason names the fix: {reason}"
    );
    // glommio's own check agrees with ours: it refuses too, with an error and not a panic.
    let built = build.expect("building must not panic");
    assert!(
        built.is_err(),
        "glommio built an executor under {} KiB of memlock",
        GLOMMIO_MIN_MEMLOCK / 2048
    );
}
