//! Can tokio-uring run here? The checks behind both engines' `probe()`.
//!
//! A ring that sets up is not enough: tokio-uring 0.5 submits `OPENAT`, `STATX`, `MKDIRAT` and
//! friends unconditionally, so a kernel that lacks one would fail mid-trial with `EINVAL`. The
//! probe asks the kernel for its opcode list (`IORING_REGISTER_PROBE`) on a throwaway ring built
//! with the same io-uring crate tokio-uring uses.

use io_uring_06::{IoUring, Probe, opcode};

/// The opcodes the generic engine submits, with the name a reader looks up.
const GENERIC_OPS: &[(u8, &str)] = &[
    (opcode::OpenAt::CODE, "OPENAT"),
    (opcode::Read::CODE, "READ"),
    (opcode::Write::CODE, "WRITE"),
    (opcode::Fsync::CODE, "FSYNC"),
    (opcode::Close::CODE, "CLOSE"),
    (opcode::Statx::CODE, "STATX"),
    (opcode::MkDirAt::CODE, "MKDIRAT"),
];

/// The extra opcodes of the fixed-buffer engine.
const FIXED_OPS: &[(u8, &str)] = &[
    (opcode::ReadFixed::CODE, "READ_FIXED"),
    (opcode::WriteFixed::CODE, "WRITE_FIXED"),
];

/// Why io_uring cannot be used here, if it cannot; `fixed` also checks buffer registration.
pub fn check(fixed: bool) -> Result<(), String> {
    workloads::probe::io_uring()?;
    let ring = IoUring::new(8).map_err(|e| workloads::probe::setup_error(&e))?;
    let mut probe = Probe::new();
    ring.submitter()
        .register_probe(&mut probe)
        .map_err(|e| format!("IORING_REGISTER_PROBE failed (kernel too old?): {e}"))?;
    let wanted = GENERIC_OPS
        .iter()
        .chain(if fixed { FIXED_OPS } else { &[] });
    let missing: Vec<&str> = wanted
        .filter(|(code, _)| !probe.is_supported(*code))
        .map(|(_, name)| *name)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "kernel io_uring lacks opcodes tokio-uring uses: {}",
            missing.join(", ")
        ));
    }
    if fixed {
        // One page is enough to learn whether registration works at all (seccomp may allow
        // io_uring_setup but not io_uring_register; RLIMIT_MEMLOCK may be 0). The real size
        // is only known at build time, which reports its own error.
        let mut page = workloads::AlignedBuf::new(workloads::ALIGN);
        let iov = libc::iovec {
            iov_base: page.as_mut_ptr().cast(),
            iov_len: page.capacity(),
        };
        // SAFETY: the page outlives the ring, which is dropped (unregistering it) below.
        unsafe { ring.submitter().register_buffers(&[iov]) }
            .map_err(|e| format!("registering a fixed buffer failed: {e} ({})", memlock()))?;
        drop(ring);
    }
    Ok(())
}

/// The `RLIMIT_MEMLOCK` soft limit in words, for error messages about registration.
pub fn memlock() -> String {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } != 0 {
        return "RLIMIT_MEMLOCK unknown".into();
    }
    if lim.rlim_cur == libc::RLIM_INFINITY {
        "RLIMIT_MEMLOCK unlimited".into()
    } else {
        format!(
            "RLIMIT_MEMLOCK {} KiB; see `ulimit -l`",
            lim.rlim_cur / 1024
        )
    }
}
