//! What `GlommioEngine::detail` reports about registered buffers. Its own test binary, so the
//! rings counted are only the ones built here.

use bench_glommio::{GlommioEngine, rings};
use workloads::conformance::available;
use workloads::{Engine, RuntimeConfig};

/// Whether the kernel charges nothing for registered memory here: `CAP_IPC_LOCK`, or no limit.
fn uncharged() -> bool {
    let caps = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            u64::from_str_radix(
                s.lines().find_map(|l| l.strip_prefix("CapEff:"))?.trim(),
                16,
            )
            .ok()
        })
        .unwrap_or(0);
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut r) };
    caps & (1 << 14) != 0 || r.rlim_cur == libc::RLIM_INFINITY
}

#[test]
fn registration_is_reported_as_the_kernel_shows_it() {
    if !available::<GlommioEngine>() {
        return;
    }
    let before = rings();
    let rt = GlommioEngine::build(&RuntimeConfig::default()).unwrap();
    let new: Vec<bool> = rings()
        .into_iter()
        .filter(|(fd, _)| !before.contains_key(fd))
        .map(|(_, b)| b)
        .collect();
    let detail = rt.detail().unwrap_or_default();
    eprintln!("glommio detail: {detail}");
    assert_eq!(
        new.len(),
        3,
        "glommio 0.9 builds three rings per executor (main, latency, poll)"
    );
    let registered = new.iter().filter(|&&b| b).count();
    assert!(
        detail.contains(&format!("registered with {registered} of 3 rings")),
        "{detail}"
    );
    if uncharged() {
        assert_eq!(
            registered, 3,
            "nothing limits registration here, yet glommio did not register"
        );
    }
}
