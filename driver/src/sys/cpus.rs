//! CPU affinity: which CPUs this process may run on, and pinning the calling thread to one.
//!
//! The overhead set pins each of its trial children to one CPU (`--overhead-cpu`). Measured on
//! this 2-vCPU VM, unpinned 4 KiB trials swing by up to 5x from round to round: every op that
//! hops threads (an io_uring write punted to an `iou-wrk` worker, tokio's blocking pool) wakes
//! a thread on the other vCPU, and how long that wake takes depends on whether the other vCPU
//! is halted (this guest has halt-polling off). On one CPU the hop is a context switch, whose
//! cost is the runtime's, not the hypervisor's.

use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};

/// The CPUs the calling thread may run on, ascending (empty when the kernel would not say).
pub fn allowed() -> Vec<usize> {
    match sched_getaffinity(None) {
        Ok(set) => (0..CpuSet::MAX_CPU).filter(|&c| set.is_set(c)).collect(),
        Err(_) => Vec::new(),
    }
}

/// The default CPU of the overhead set: the last CPU this process may run on (CPU 0 takes
/// more of the machine's interrupts and housekeeping on most systems), `None` when the
/// affinity cannot be read.
pub fn default_pin() -> Option<usize> {
    allowed().last().copied()
}

/// Pin the calling thread to `cpu`; threads it starts afterwards inherit the mask, and so do
/// the kernel's io_uring workers created for its rings. Checked by reading the mask back.
pub fn pin(cpu: usize) -> Result<(), String> {
    if cpu >= CpuSet::MAX_CPU {
        return Err(format!("CPU {cpu} is beyond the kernel's CPU set size"));
    }
    let mut set = CpuSet::new();
    set.set(cpu);
    sched_setaffinity(None, &set).map_err(|e| format!("pinning to CPU {cpu}: {e}"))?;
    let now = allowed();
    if now != [cpu] {
        return Err(format!("pinned to CPU {cpu}, but the mask reads {now:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_thread_runs_only_on_its_cpu_and_its_threads_inherit_it() {
        let cpu = default_pin().expect("the affinity of this test process");
        assert!(allowed().contains(&cpu));
        // In a thread of its own, so the test harness's other threads keep their masks.
        std::thread::spawn(move || {
            pin(cpu).unwrap();
            assert_eq!(allowed(), [cpu]);
            let child = std::thread::spawn(allowed).join().unwrap();
            assert_eq!(child, [cpu], "a thread started after the pin inherits it");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_cpu_outside_the_set_is_an_error_not_a_silent_no_op() {
        let e = std::thread::spawn(|| pin(CpuSet::MAX_CPU + 1))
            .join()
            .unwrap();
        assert!(e.unwrap_err().contains("beyond"));
        // A CPU the set can name but the machine does not have: the kernel refuses.
        let missing = CpuSet::MAX_CPU - 1;
        if !allowed().contains(&missing) {
            let e = std::thread::spawn(move || pin(missing)).join().unwrap();
            assert!(e.is_err());
        }
    }
}
