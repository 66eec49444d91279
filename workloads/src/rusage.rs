//! CPU time of this whole process from the kernel (`getrusage(RUSAGE_SELF)`), read at the two
//! edges of a trial's timed section so that process start-up, dataset checks, runtime
//! construction and teardown, and the driver's verification all stay outside the figure.
//!
//! `RUSAGE_SELF` sums every thread of the process, live or exited: the trial's runtime
//! threads, a runtime's helper threads (tokio's blocking pool, glommio's), and io_uring's own
//! workers. Since Linux 5.12 the kernel's io-wq workers (`iou-wrk-*`) and the SQPOLL thread
//! are created with `create_io_thread`, i.e. as threads of the submitting process, so their
//! CPU is charged here too. Checked on the kernel this project is developed on (6.18): a
//! program whose reads were all forced through io-wq (`IOSQE_ASYNC`, 20 × 256 MiB) listed an
//! `iou-wrk-*` thread in `/proc/self/task`, and `RUSAGE_SELF` showed 0.87 s of system time
//! where the submitting thread's own `RUSAGE_THREAD` showed 0.013 s. (Before 5.12 io-wq
//! workers were kernel threads, charged to nobody's rusage: there this figure undercounts.)
//!
//! The sum user + system is exact to the nanosecond scheduler clock (`sum_exec_runtime`); the
//! split between user and system is the kernel's tick-sampled estimate, so only the sum is used
//! for CPU per GB.
//!
//! One fixed cost stays inside the window: a freshly started child takes a page fault the
//! first time each page of the hot loop's code runs (about 40 minor faults, ~0.1 ms here;
//! `minor_faults` shows them). That is under 1% of any engine's CPU at the default size, but
//! most of the null engine's at small sizes. Mapping every code page up front
//! (`MADV_POPULATE_READ`) removed them, and was tried: it also added the whole binary to the
//! child's resident set (+8-9 MiB of peak RSS on every trial here), which is a figure we report.

use serde::{Deserialize, Serialize};

/// CPU time and context switches of the process over an interval (or since it started).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuUsage {
    /// User CPU seconds, all threads.
    pub user_s: f64,
    /// System CPU seconds, all threads (io_uring's io-wq workers included).
    pub sys_s: f64,
    /// Voluntary context switches.
    pub voluntary_cs: u64,
    /// Involuntary context switches.
    pub involuntary_cs: u64,
    /// Minor page faults (first touch of memory or of code not yet mapped in this process).
    #[serde(default)]
    pub minor_faults: u64,
}

impl CpuUsage {
    /// The process's usage since it started; `None` if `getrusage` fails (it does not on Linux
    /// with a valid pointer, but the caller records "not measured" rather than a zero).
    pub fn now() -> Option<CpuUsage> {
        // SAFETY: rusage is plain old data, for which all zeroes is a valid value.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: a valid pointer to a rusage owned by this frame.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
            return None;
        }
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        Some(CpuUsage {
            user_s: tv(ru.ru_utime),
            sys_s: tv(ru.ru_stime),
            voluntary_cs: ru.ru_nvcsw as u64,
            involuntary_cs: ru.ru_nivcsw as u64,
            minor_faults: ru.ru_minflt as u64,
        })
    }

    /// The usage between `start` and `self` (both from [`CpuUsage::now`]).
    pub fn since(self, start: CpuUsage) -> CpuUsage {
        CpuUsage {
            user_s: (self.user_s - start.user_s).max(0.0),
            sys_s: (self.sys_s - start.sys_s).max(0.0),
            voluntary_cs: self.voluntary_cs.saturating_sub(start.voluntary_cs),
            involuntary_cs: self.involuntary_cs.saturating_sub(start.involuntary_cs),
            minor_faults: self.minor_faults.saturating_sub(start.minor_faults),
        }
    }

    /// User + system seconds.
    pub fn total_s(&self) -> f64 {
        self.user_s + self.sys_s
    }
}

#[cfg(test)]
mod tests {
    use super::CpuUsage;

    #[test]
    fn counts_cpu_burnt_on_another_thread() {
        // The timed section's CPU must include threads other than the one that reads it.
        let start = CpuUsage::now().unwrap();
        std::thread::spawn(|| {
            let t = std::time::Instant::now();
            let mut x = 0u64;
            while t.elapsed() < std::time::Duration::from_millis(50) {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        })
        .join()
        .unwrap();
        let d = CpuUsage::now().unwrap().since(start);
        assert!(d.total_s() >= 0.03, "{d:?}");
    }
}
