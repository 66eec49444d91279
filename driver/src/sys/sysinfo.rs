//! Facts about the machine read straight from the kernel: time, host, filesystems and block
//! devices, memory, CPU, io_uring availability. Small functions, no policy.

use std::path::{Path, PathBuf};

/// `statfs` magic of tmpfs.
const TMPFS_MAGIC: i64 = 0x0102_1994;

fn statfs(path: &Path) -> Option<rustix::fs::StatFs> {
    rustix::fs::statfs(path).ok()
}

/// Whether `path` lives on a tmpfs.
// statfs's field types differ between targets (`__fsword_t`, `fsblkcnt_t`): the casts are
// needed somewhere even where they are no-ops here.
#[allow(clippy::unnecessary_cast)]
pub fn is_tmpfs(path: &Path) -> bool {
    statfs(path).is_some_and(|s| s.f_type as i64 == TMPFS_MAGIC)
}

/// Bytes available to an unprivileged writer under `path`.
/// `None` when unknown, including filesystems that keep no block count (ramfs, some FUSE),
/// which report zero blocks in all.
#[allow(clippy::unnecessary_cast)] // see is_tmpfs
pub fn free_bytes(path: &Path) -> Option<u64> {
    statfs(path)
        .filter(|s| s.f_blocks > 0)
        .map(|s| s.f_bavail as u64 * s.f_bsize as u64)
}

/// UTC time as `YYYYMMDDTHHMMSSZ` (filename-safe, sorts by time).
pub fn utc_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d, hh, mm, ss) = civil(secs);
    format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z")
}

/// UTC time as RFC 3339.
pub fn utc_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d, hh, mm, ss) = civil(secs);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// Seconds since the epoch to (year, month, day, hour, minute, second), UTC (Howard Hinnant's
/// days-to-civil algorithm).
fn civil(secs: u64) -> (i64, u32, u32, u64, u64, u64) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The host name, filename-safe.
pub fn hostname() -> String {
    let raw =
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_else(|_| "host".into());
    let s: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { "host".into() } else { s }
}

/// `uname -r`.
pub fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// CPU model name from /proc/cpuinfo.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Online CPUs.
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// MemTotal in bytes.
pub fn mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// The mount holding `path`: (mount point, fs type, source, options), from mountinfo.
pub fn mount_of(path: &Path) -> Option<(PathBuf, String, String, String)> {
    let canon = std::fs::canonicalize(path).ok()?;
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(PathBuf, String, String, String)> = None;
    for line in info.lines() {
        // id parent maj:min root mountpoint opts [optional...] - fstype source superopts
        let (left, right) = line.split_once(" - ")?;
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 6 || r.len() < 2 {
            continue;
        }
        let mp = PathBuf::from(unescape(l[4]));
        if canon.starts_with(&mp)
            && best
                .as_ref()
                .is_none_or(|b| mp.as_os_str().len() >= b.0.as_os_str().len())
        {
            best = Some((mp, r[0].to_string(), r[1].to_string(), l[5].to_string()));
        }
    }
    best
}

fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// The block device behind `path`: (name, model, rotational, scheduler), via `st_dev` and
/// /sys/dev/block (walking up from a partition to its disk for model and queue).
pub fn device_of(path: &Path) -> Option<(String, String, Option<bool>, String)> {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(path).ok()?.dev();
    let (maj, min) = (rustix::fs::major(dev), rustix::fs::minor(dev));
    let sys = std::fs::canonicalize(format!("/sys/dev/block/{maj}:{min}")).ok()?;
    let name = sys.file_name()?.to_string_lossy().to_string();
    // A partition's queue and model live on its parent disk.
    let disk = if sys.join("partition").exists() {
        sys.parent()?.to_path_buf()
    } else {
        sys.clone()
    };
    let read = |p: &str| {
        std::fs::read_to_string(disk.join(p))
            .ok()
            .map(|s| s.trim().to_string())
    };
    let model = read("device/model")
        .or_else(|| read("device/name"))
        .unwrap_or_else(|| "unknown".into());
    let rotational = read("queue/rotational").map(|s| s == "1");
    let sched = read("queue/scheduler").unwrap_or_else(|| "unknown".into());
    Some((name, model, rotational, sched))
}

/// Whether io_uring can be set up by this process: the reason if not.
pub fn io_uring_status() -> Result<(), String> {
    workloads::probe::io_uring()
}

/// RLIMIT_MEMLOCK soft limit in bytes (`None` = unlimited).
pub fn memlock_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Memlock).current
}

/// Whether this process may write /proc/sys/vm/drop_caches.
pub fn can_drop_caches() -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/sys/vm/drop_caches")
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil(1_795_000_000).0, 2026);
    }
}
