//! Environment capture: everything about the machine, the directory under test and the build
//! that a reader needs to trust (or reproduce) a result. Stored in every run's meta.json and
//! printed by `ringbench env`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::sys::sysinfo;

/// The block device under the run directory.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Device {
    /// Kernel name (e.g. `vda`, `nvme0n1p2`).
    pub name: String,
    /// Model string from sysfs.
    pub model: String,
    /// Rotational flag (`None` when unknown).
    pub rotational: Option<bool>,
    /// I/O scheduler line from sysfs.
    pub scheduler: String,
}

/// The machine, the directory under test, and the build.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Environment {
    /// Host name.
    pub host: String,
    /// Kernel release.
    pub kernel: String,
    /// CPU model.
    pub cpu: String,
    /// Online CPUs.
    pub cores: usize,
    /// Memory, bytes.
    pub memory_bytes: u64,
    /// The directory under test.
    pub dir: String,
    /// Its mount point.
    pub mount_point: String,
    /// Filesystem type.
    pub filesystem: String,
    /// Mount source (device path).
    pub mount_source: String,
    /// Mount options.
    pub mount_options: String,
    /// Block device, when there is one.
    pub device: Option<Device>,
    /// The kind of device under the directory (NVMe, RAM-backed, virtio, ...): see
    /// [`crate::sys::devkind`]. Unknown in results written before it was recorded.
    #[serde(default)]
    pub device_kind: crate::sys::devkind::Kind,
    /// Free bytes under the directory.
    pub free_bytes: Option<u64>,
    /// io_uring: `None` when available, else the reason.
    pub io_uring_unavailable: Option<String>,
    /// The `kernel.io_uring_disabled` sysctl and what it means (`None`: the kernel has no such
    /// sysctl, before 6.6).
    #[serde(default)]
    pub io_uring_disabled: Option<String>,
    /// Seccomp mode of this process (a filter can forbid io_uring even when the kernel allows
    /// it, as container runtimes' default profiles do).
    #[serde(default)]
    pub seccomp: Option<String>,
    /// RLIMIT_MEMLOCK soft limit, bytes (`None` = unlimited).
    pub memlock_limit: Option<u64>,
    /// Whether the page cache can be dropped (root and /proc/sys/vm/drop_caches writable).
    pub can_drop_caches: bool,
    /// Whether the directory's filesystem accepts O_DIRECT.
    pub o_direct: bool,
    /// Why a run could not use this directory (`ringbench env` on a missing, read-only or
    /// unwritable directory; O_DIRECT is then not probed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir_problem: Option<String>,
    /// ringbench version.
    pub ringbench: String,
    /// git revision of the build.
    pub git: String,
    /// Locked versions of the runtime crates.
    pub runtimes: BTreeMap<String, String>,
    /// fio version, when installed (reference points).
    pub fio: Option<String>,
}

/// Versions of the runtime crates this binary was built with (from Cargo.lock).
pub fn runtime_versions() -> BTreeMap<String, String> {
    env!("RINGBENCH_RUNTIME_VERSIONS")
        .split(';')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Capture the environment for `dir`, probing O_DIRECT with a file created in it: `dir` must
/// be ringbench's own scratch directory (see [`capture_outside`] for any other).
pub fn capture(dir: &Path) -> Environment {
    capture_with(dir, Some(dir))
}

/// Capture the environment for a directory that is not ours (`ringbench env --dir`): the
/// O_DIRECT probe runs in a fresh scratch directory made under it and removed at once, so
/// nothing in `dir` is created, touched or removed. When no scratch directory can be made
/// there, why is recorded in `dir_problem` and O_DIRECT is not probed.
pub fn capture_outside(dir: &Path) -> Environment {
    match crate::sys::scratch::Scratch::create(dir) {
        Ok(scratch) => {
            let mut e = capture_with(dir, Some(scratch.path()));
            if let Err(err) = scratch.remove() {
                e.dir_problem = Some(format!("could not remove the probe directory: {err}"));
            }
            e
        }
        Err(why) => {
            let mut e = capture_with(dir, None);
            e.dir_problem = Some(format!("{why:#}"));
            e
        }
    }
}

fn io_uring_disabled() -> Option<String> {
    workloads::probe::sysctl().describe()
}

fn seccomp() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let v = status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))?
        .trim()
        .to_string();
    Some(match v.as_str() {
        "0" => "none".into(),
        "1" => "strict".into(),
        "2" => "filter (syscalls may be refused)".into(),
        _ => v,
    })
}

fn capture_with(dir: &Path, probe_dir: Option<&Path>) -> Environment {
    let mount = sysinfo::mount_of(dir);
    let (mount_point, filesystem, mount_source, mount_options) = mount
        .map(|(a, b, c, d)| (a.display().to_string(), b, c, d))
        .unwrap_or_else(|| {
            (
                "unknown".into(),
                "unknown".into(),
                "unknown".into(),
                String::new(),
            )
        });
    let device_kind = crate::sys::devkind::of_path(dir, &filesystem);
    Environment {
        host: sysinfo::hostname(),
        kernel: sysinfo::kernel(),
        cpu: sysinfo::cpu_model(),
        cores: sysinfo::cores(),
        memory_bytes: sysinfo::mem_total(),
        dir: dir.display().to_string(),
        mount_point,
        filesystem,
        mount_source,
        mount_options,
        device_kind,
        device: sysinfo::device_of(dir).map(|(name, model, rotational, scheduler)| Device {
            name,
            model,
            rotational,
            scheduler,
        }),
        free_bytes: sysinfo::free_bytes(dir),
        io_uring_unavailable: sysinfo::io_uring_status().err(),
        io_uring_disabled: io_uring_disabled(),
        seccomp: seccomp(),
        memlock_limit: sysinfo::memlock_limit(),
        can_drop_caches: sysinfo::can_drop_caches(),
        o_direct: probe_dir.is_some_and(workloads::dataset::direct_supported),
        dir_problem: None,
        ringbench: env!("CARGO_PKG_VERSION").to_string(),
        git: env!("RINGBENCH_GIT").to_string(),
        runtimes: runtime_versions(),
        fio: std::process::Command::new("fio")
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()),
    }
}

/// Human-readable lines.
pub fn render(e: &Environment) -> String {
    let dev = e
        .device
        .as_ref()
        .map_or("none (not a block device)".to_string(), |d| {
            format!(
                "{} ({}, {}, scheduler {})",
                d.name,
                d.model,
                match d.rotational {
                    Some(true) => "rotational",
                    Some(false) => "non-rotational",
                    None => "rotational?",
                },
                d.scheduler
            )
        });
    let mut s = String::new();
    let mut line = |k: &str, v: String| s.push_str(&format!("{k:<16} {v}\n"));
    line("host", e.host.clone());
    line("kernel", e.kernel.clone());
    line("cpu", format!("{} ({} cores)", e.cpu, e.cores));
    line("memory", workloads::units::size(e.memory_bytes));
    line("dir", e.dir.clone());
    line(
        "filesystem",
        format!(
            "{} on {} ({}) mounted at {}",
            e.filesystem, e.mount_source, e.mount_options, e.mount_point
        ),
    );
    line("device", dev);
    line("device kind", e.device_kind.words());
    line(
        "free",
        e.free_bytes
            .map_or("unknown".into(), workloads::units::size),
    );
    line(
        "io_uring",
        e.io_uring_unavailable
            .clone()
            .map_or("available".into(), |r| format!("UNAVAILABLE: {r}")),
    );
    line(
        "io_uring sysctl",
        e.io_uring_disabled.as_ref().map_or(
            "kernel.io_uring_disabled absent (kernel before 6.6)".into(),
            |v| format!("kernel.io_uring_disabled = {v}"),
        ),
    );
    line(
        "seccomp",
        e.seccomp.clone().unwrap_or_else(|| "unknown".into()),
    );
    line(
        "memlock",
        e.memlock_limit.map_or("unlimited".into(), |b| {
            format!("{} (RLIMIT_MEMLOCK soft limit)", workloads::units::size(b))
        }),
    );
    line(
        "page cache",
        if e.can_drop_caches {
            "can drop (root)".into()
        } else {
            "cannot drop: trials fall back to fadvise".into()
        },
    );
    line(
        "O_DIRECT",
        match (&e.dir_problem, e.o_direct) {
            (Some(_), false) => "not probed (no scratch directory could be made here)".into(),
            (_, true) => "supported".into(),
            (None, false) => "not supported here (--direct will be refused)".into(),
        },
    );
    if let Some(p) = &e.dir_problem {
        line("run here", format!("NO: {p}"));
    }
    line(
        "fio",
        e.fio
            .clone()
            .unwrap_or_else(|| "not installed (no fio reference points)".into()),
    );
    line("ringbench", format!("{} ({})", e.ringbench, e.git));
    line(
        "runtimes",
        e.runtimes
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    s
}
