//! What kind of device a directory lives on (sys layer): NVMe, a SATA/SAS SSD, a rotational
//! disk, virtio, RAM-backed (zram, brd, tmpfs), a loop device, or unknown. Figures depend on it
//! more than on anything else (on a RAM device blocking `pread` beats io_uring at depth; on NVMe
//! the reverse), so `ringbench env`, meta.json and report.md name it.
//!
//! The path's filesystem device (`stat` `st_dev`) leads to `/sys/dev/block/MAJ:MIN`; a
//! partition is followed to its parent disk, and a device-mapper or md device to the devices
//! under it (`slaves/`, when they are all of one kind). The kind comes from the disk's kernel
//! name (`nvme*`, `zram*`, `ram*` for brd, `vd*`, `loop*`, `pmem*`), then its sysfs path
//! (`/virtio`), then `queue/rotational`. A filesystem with no block device is RAM-backed when
//! it is tmpfs or ramfs, else unknown (a network or FUSE filesystem).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The kind of device under a directory.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKind {
    /// An NVMe namespace.
    Nvme,
    /// A non-rotational SCSI/SATA/SAS disk (`sd*`, rotational 0).
    SataSasSsd,
    /// A rotational disk.
    Rotational,
    /// A virtio block device (a VM's disk: the host's storage behind it is not known).
    Virtio,
    /// Memory: zram, brd (`ram*`), pmem, tmpfs or ramfs.
    RamBacked,
    /// A loop device (a file on another filesystem).
    Loop,
    /// Anything else, or not found.
    #[default]
    Unknown,
}

impl DeviceKind {
    /// The kind in words, for `ringbench env` and report.md.
    pub fn words(self) -> &'static str {
        match self {
            DeviceKind::Nvme => "NVMe",
            DeviceKind::SataSasSsd => "SATA/SAS SSD",
            DeviceKind::Rotational => "rotational disk",
            DeviceKind::Virtio => "virtio VM disk",
            DeviceKind::RamBacked => "RAM-backed",
            DeviceKind::Loop => "loop device",
            DeviceKind::Unknown => "unknown",
        }
    }
}

/// The kind and its evidence (e.g. `zram0`, `tmpfs`, `dm-0 over nvme0n1`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Kind {
    /// The kind.
    pub kind: DeviceKind,
    /// What it was read from, in words.
    pub evidence: String,
}

impl Kind {
    /// `RAM-backed (zram0)`.
    pub fn words(&self) -> String {
        if self.evidence.is_empty() {
            self.kind.words().to_string()
        } else {
            format!("{} ({})", self.kind.words(), self.evidence)
        }
    }
}

/// The kind of device under `path`, whose filesystem type is `fstype` (from the mount table).
pub fn of_path(path: &Path, fstype: &str) -> Kind {
    use std::os::unix::fs::MetadataExt;
    let sys = std::fs::metadata(path).ok().and_then(|m| {
        let dev = m.dev();
        std::fs::canonicalize(format!(
            "/sys/dev/block/{}:{}",
            libc::major(dev),
            libc::minor(dev)
        ))
        .ok()
    });
    match sys {
        Some(p) => of_sysfs(&p),
        None => without_block_device(fstype),
    }
}

/// The kind of a filesystem with no block device.
pub fn without_block_device(fstype: &str) -> Kind {
    match fstype {
        "tmpfs" | "ramfs" => Kind {
            kind: DeviceKind::RamBacked,
            evidence: fstype.to_string(),
        },
        _ => Kind {
            kind: DeviceKind::Unknown,
            evidence: format!("{fstype}: no block device"),
        },
    }
}

/// The kind of the block device at sysfs path `sys` (`/sys/devices/.../block/NAME[/PART]`).
pub fn of_sysfs(sys: &Path) -> Kind {
    let disk = if sys.join("partition").exists() {
        sys.parent()
            .map_or_else(|| sys.to_path_buf(), Path::to_path_buf)
    } else {
        sys.to_path_buf()
    };
    let name = disk
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let read = |p: &str| {
        std::fs::read_to_string(disk.join(p))
            .ok()
            .map(|s| s.trim().to_string())
    };
    // Device-mapper and md: the kind of what lies beneath, when it is one kind.
    if name.starts_with("dm-") || name.starts_with("md") {
        let under: Vec<PathBuf> = std::fs::read_dir(disk.join("slaves"))
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| std::fs::canonicalize(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        let kinds: Vec<Kind> = under.iter().map(|p| of_sysfs(p)).collect();
        if let Some(first) = kinds.first()
            && kinds.iter().all(|k| k.kind == first.kind)
        {
            return Kind {
                kind: first.kind,
                evidence: format!("{name} over {}", first.evidence),
            };
        }
        return Kind {
            kind: DeviceKind::Unknown,
            evidence: format!("{name} over devices of different or unknown kinds"),
        };
    }
    let rotational = read("queue/rotational").map(|s| s == "1");
    let kind = classify(&name, &disk.to_string_lossy(), rotational);
    let evidence = match kind {
        DeviceKind::Loop => {
            read("loop/backing_file").map_or(name.clone(), |f| format!("{name} backed by {f}"))
        }
        _ => name,
    };
    Kind { kind, evidence }
}

/// The kind from a disk's kernel name, its sysfs path and its rotational flag.
pub fn classify(name: &str, sys_path: &str, rotational: Option<bool>) -> DeviceKind {
    let starts = |p: &str| {
        name.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_digit()))
    };
    if name.starts_with("nvme") {
        DeviceKind::Nvme
    } else if starts("zram") || starts("ram") || starts("pmem") {
        DeviceKind::RamBacked
    } else if starts("loop") {
        DeviceKind::Loop
    } else if name.starts_with("vd") || sys_path.contains("/virtio") {
        DeviceKind::Virtio
    } else if rotational == Some(true) {
        DeviceKind::Rotational
    } else if name.starts_with("sd") && rotational == Some(false) {
        DeviceKind::SataSasSsd
    } else {
        DeviceKind::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_flags_give_the_kind() {
        let c = classify;
        assert_eq!(
            c(
                "nvme0n1",
                "/sys/devices/pci/nvme/nvme0/nvme0n1",
                Some(false)
            ),
            DeviceKind::Nvme
        );
        assert_eq!(
            c("zram0", "/sys/devices/virtual/block/zram0", Some(false)),
            DeviceKind::RamBacked
        );
        assert_eq!(
            c("ram0", "/sys/devices/virtual/block/ram0", Some(true)),
            DeviceKind::RamBacked
        );
        assert_eq!(
            c("loop3", "/sys/devices/virtual/block/loop3", Some(false)),
            DeviceKind::Loop
        );
        assert_eq!(
            c(
                "vda",
                "/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda",
                Some(true)
            ),
            DeviceKind::Virtio
        );
        // A virtio-scsi disk is `sd*` under a virtio bus.
        assert_eq!(
            c(
                "sda",
                "/sys/devices/pci/virtio2/host0/target0:0:0/0:0:0:0/block/sda",
                Some(true)
            ),
            DeviceKind::Virtio
        );
        assert_eq!(
            c("sda", "/sys/devices/pci/ata1/host0/block/sda", Some(true)),
            DeviceKind::Rotational
        );
        assert_eq!(
            c("sdb", "/sys/devices/pci/ata2/host1/block/sdb", Some(false)),
            DeviceKind::SataSasSsd
        );
        assert_eq!(
            c("mmcblk0", "/sys/devices/mmc/block/mmcblk0", Some(false)),
            DeviceKind::Unknown
        );
        // `ramdisk-x` is not brd's `ramN`.
        assert_eq!(c("ramdisk", "/x", None), DeviceKind::Unknown);
        assert_eq!(without_block_device("tmpfs").kind, DeviceKind::RamBacked);
        assert_eq!(without_block_device("nfs4").kind, DeviceKind::Unknown);
    }

    #[test]
    fn partitions_and_device_mapper_are_followed() {
        // A fake sysfs: nvme0n1 with partition p2, and dm-0 over that partition and zram0.
        let t = tempfile::tempdir().unwrap();
        let mk = |p: &str, files: &[(&str, &str)]| {
            let d = t.path().join(p);
            std::fs::create_dir_all(&d).unwrap();
            for (f, v) in files {
                std::fs::create_dir_all(d.join(f).parent().unwrap()).unwrap();
                std::fs::write(d.join(f), v).unwrap();
            }
            d
        };
        let part = mk("pci/nvme/nvme0/nvme0n1/nvme0n1p2", &[("partition", "2")]);
        mk("pci/nvme/nvme0/nvme0n1", &[("queue/rotational", "0")]);
        let k = of_sysfs(&part);
        assert_eq!((k.kind, k.evidence.as_str()), (DeviceKind::Nvme, "nvme0n1"));
        let dm = mk("virtual/block/dm-0", &[]);
        std::fs::create_dir_all(dm.join("slaves")).unwrap();
        std::os::unix::fs::symlink(&part, dm.join("slaves/nvme0n1p2")).unwrap();
        let k = of_sysfs(&dm);
        assert_eq!(k.kind, DeviceKind::Nvme, "{k:?}");
        assert_eq!(k.words(), "NVMe (dm-0 over nvme0n1)");
        let z = mk("virtual/block/zram0", &[("queue/rotational", "0")]);
        std::os::unix::fs::symlink(&z, dm.join("slaves/zram0")).unwrap();
        assert_eq!(of_sysfs(&dm).kind, DeviceKind::Unknown);
    }
}
