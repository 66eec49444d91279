//! The kernel-copy reference row's trial: `copy_file_range(2)` in a loop, as `cp` does, run
//! in the trial child like an engine (see `analysis::reference` for what the reference rows
//! are and how they are compared). Here, below the analysis, because the child runs it.

use std::io;
use std::time::Instant;

use workloads::{Outcome, Stats, TrialPlan, Workload};

/// The kernel-copy reference row (workload `large`).
pub const KERNEL_COPY: &str = "kernel-copy";

/// Copy `plan.src` to `plan.dst` with `copy_file_range(2)`, as `cp` does: the kernel's copy,
/// timed from the first open to the last close (fsync included when the plan asks), like an
/// engine's `large` trial. Runs in the trial child.
pub fn kernel_copy(plan: &TrialPlan) -> io::Result<Outcome> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    if plan.workload != Workload::Large {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "kernel-copy runs the large workload only",
        ));
    }
    let flags = if plan.direct { libc::O_DIRECT } else { 0 };
    let cpu_start = workloads::CpuUsage::now();
    let start = Instant::now();
    let src = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(&plan.src)?;
    let dst = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(flags)
        .open(&plan.dst)?;
    let mut left = src.metadata()?.len();
    let mut copied = 0u64;
    let mut calls = 0u64;
    let mut lat = workloads::Histogram::default();
    while left > 0 {
        let t = Instant::now();
        // SAFETY: two open descriptors; null offsets use and advance the file positions.
        let n = unsafe {
            libc::copy_file_range(
                src.as_raw_fd(),
                std::ptr::null_mut(),
                dst.as_raw_fd(),
                std::ptr::null_mut(),
                left as usize,
                0,
            )
        };
        calls += 1;
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("copy_file_range returned 0 with {left} bytes left"),
            ));
        }
        lat.record(t.elapsed().as_nanos() as u64);
        copied += n as u64;
        left -= n as u64;
    }
    if plan.fsync {
        dst.sync_all()?;
    }
    close(dst)?;
    close(src)?;
    let elapsed = start.elapsed();
    let cpu_end = workloads::CpuUsage::now();
    let stats = Stats {
        reads: calls,
        writes: calls,
        bytes_read: copied,
        bytes_written: copied,
        other_ops: 4 + u64::from(plan.fsync),
        write_latency: lat,
        // One synchronous call at a time.
        max_in_flight: 1,
        ..Stats::default()
    };
    Ok(Outcome {
        elapsed_ns: elapsed.as_nanos() as u64,
        bytes: copied,
        files: 1,
        stats,
        detail: Some(format!(
            "copy_file_range: {calls} call(s){}",
            if plan.direct { ", O_DIRECT" } else { "" }
        )),
        cancel: Default::default(),
        cpu: cpu_start.zip(cpu_end).map(|(a, b)| b.since(a)),
    })
}

fn close(f: std::fs::File) -> io::Result<()> {
    use std::os::fd::IntoRawFd;
    // SAFETY: we own the descriptor and close it once.
    if unsafe { libc::close(f.into_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
