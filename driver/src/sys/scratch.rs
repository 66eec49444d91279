//! The run's scratch directory: the only place ringbench creates, writes and deletes files on
//! the device under test. It is made fresh under `--dir` (never reused), checked before any
//! data is written (exists, is a directory, writable, enough free space, O_DIRECT when asked),
//! and removed at the end — only it, never anything else in `--dir`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::bail;

/// A fresh directory under `--dir`, removed by [`Scratch::remove`] — or, on any path that
/// skips that (an early `?`, a panic unwinding through the run), by `Drop`.
#[derive(Debug)]
pub struct Scratch {
    root: PathBuf,
    removed: bool,
}

impl Scratch {
    /// Check `parent` and create `parent/ringbench-<stamp>-<pid>`.
    pub fn create(parent: &Path) -> anyhow::Result<Scratch> {
        check_parent(parent)?;
        // A fresh name, never an existing directory: a name already taken (by anyone) is
        // skipped, so nothing already in --dir is ever reused or removed.
        let base = format!(
            "ringbench-{}-{}",
            crate::sys::sysinfo::utc_stamp(),
            std::process::id()
        );
        for attempt in 0..100 {
            let root = if attempt == 0 {
                parent.join(&base)
            } else {
                parent.join(format!("{base}-{attempt}"))
            };
            match fs::create_dir(&root) {
                Ok(()) => {
                    return Ok(Scratch {
                        root,
                        removed: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) if e.raw_os_error() == Some(libc::EROFS) => {
                    bail!("--dir {}: read-only filesystem", parent.display())
                }
                Err(e) => bail!(
                    "--dir {}: cannot create a directory in it: {e}",
                    parent.display()
                ),
            }
        }
        bail!(
            "--dir {}: cannot find a fresh name for the scratch directory ({base}-N all exist)",
            parent.display()
        )
    }
}

/// Check that `--dir` exists, is a directory and is writable, without creating anything: the
/// pre-flight of [`Scratch::create`], also run by commands that make other things first.
pub fn check_parent(parent: &Path) -> anyhow::Result<()> {
    {
        let meta = match fs::metadata(parent) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                bail!("--dir {}: does not exist", parent.display())
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                bail!(
                    "--dir {}: not a directory (a part of the path is a file)",
                    parent.display()
                )
            }
            Err(e) => bail!("--dir {}: {e}", parent.display()),
        };
        if !meta.is_dir() {
            bail!("--dir {}: not a directory", parent.display());
        }
        // access(2) reports EROFS even for root, whom permission bits do not stop.
        use rustix::fs::Access;
        if let Err(e) = rustix::fs::access(parent, Access::WRITE_OK | Access::EXEC_OK) {
            if e == rustix::io::Errno::ROFS {
                bail!("--dir {}: read-only filesystem", parent.display());
            }
            let e = std::io::Error::from(e);
            bail!("--dir {}: not writable ({e})", parent.display());
        }
        Ok(())
    }
}

impl Scratch {
    /// Its path.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// A fresh, empty destination directory for trial `index`. Made one level at a time,
    /// never with `create_dir_all`: when `--dir` (or the scratch directory) vanished during the
    /// run, the run stops with that said, and nothing outside is re-created.
    pub fn trial_dst(&self, index: usize) -> anyhow::Result<PathBuf> {
        let dst = self.root.join("dst");
        match fs::create_dir(&dst) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(self.explain(e, &dst)),
        }
        let d = dst.join(format!("t{index:06}"));
        fs::create_dir(&d).map_err(|e| self.explain(e, &d))?;
        Ok(d)
    }

    /// Create `root/name` (one level, like [`Scratch::trial_dst`]).
    pub fn subdir(&self, name: &str) -> anyhow::Result<PathBuf> {
        let d = self.root.join(name);
        fs::create_dir(&d).map_err(|e| self.explain(e, &d))?;
        Ok(d)
    }

    /// An error making `what` inside the scratch directory, in words: `--dir` or the scratch
    /// directory gone is said as such.
    fn explain(&self, e: std::io::Error, what: &Path) -> anyhow::Error {
        let parent = self.root.parent().unwrap_or(&self.root);
        if fs::symlink_metadata(parent).is_err() {
            anyhow::anyhow!(
                "--dir {}: vanished during the run; stopped (results so far are kept; nothing was re-created)",
                parent.display()
            )
        } else if fs::symlink_metadata(&self.root).is_err() {
            anyhow::anyhow!(
                "--dir {}: the run's scratch directory {} vanished during the run; stopped (results so far are kept)",
                parent.display(),
                self.root.display()
            )
        } else {
            anyhow::anyhow!(
                "--dir {}: cannot create {}: {e}",
                parent.display(),
                what.display()
            )
        }
    }

    /// Refuse to start when the planned data would not fit (with 10% headroom).
    pub fn check_space(&self, needed: u64) -> anyhow::Result<()> {
        if let Some(free) = crate::sys::sysinfo::free_bytes(&self.root) {
            let want = needed + needed / 10;
            if free < want {
                bail!(
                    "--dir {}: not enough free space: the run needs about {} and {} is free (lower --size/--files)",
                    self.root.parent().unwrap_or(&self.root).display(),
                    workloads::units::size(want),
                    workloads::units::size(free)
                );
            }
        }
        Ok(())
    }

    /// Remove the scratch directory and everything ringbench put in it (already gone is
    /// fine: someone removed `--dir` under the run).
    pub fn remove(mut self) -> std::io::Result<()> {
        self.removed = true;
        make_writable(&self.root);
        match fs::remove_dir_all(&self.root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.removed {
            make_writable(&self.root);
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

/// Restore owner write permission below `p` (a tree copy may have made directories read-only),
/// so removal works without root.
fn make_writable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = fs::symlink_metadata(p)
        && m.is_dir()
    {
        let mode = m.permissions().mode();
        if mode & 0o700 != 0o700 {
            let _ = fs::set_permissions(p, fs::Permissions::from_mode(mode | 0o700));
        }
        if let Ok(rd) = fs::read_dir(p) {
            for e in rd.flatten() {
                make_writable(&e.path());
            }
        }
    }
}

/// A scratch directory an earlier run left behind: named like ours (`ringbench-<stamp>-<pid>`)
/// and its pid no longer a running ringbench (killed with SIGKILL, or the machine went down).
#[derive(Debug, Clone, PartialEq)]
pub struct Leftover {
    /// Its path.
    pub path: PathBuf,
    /// The pid in its name.
    pub pid: u32,
}

impl Leftover {
    /// One line naming it and the command that removes it (ringbench never does unasked).
    pub fn describe(&self) -> String {
        format!(
            "{} was left by an earlier ringbench run (pid {}) that is no longer running; ringbench does not remove what this run did not create: rm -rf -- {}",
            self.path.display(),
            self.pid,
            shell_quote(&self.path)
        )
    }
}

/// Scratch directories of dead runs in `parent` (the current run's own, `exclude`, is not one).
pub fn leftovers(parent: &Path, exclude: &Path) -> Vec<Leftover> {
    let Ok(rd) = fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut out: Vec<Leftover> = rd
        .flatten()
        .filter(|e| e.path() != exclude && e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let pid = scratch_pid(e.file_name().to_str()?)?;
            (!ringbench_alive(pid)).then(|| Leftover {
                path: e.path(),
                pid,
            })
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The pid in a scratch directory's name: `ringbench-YYYYMMDDTHHMMSSZ-<pid>[-<n>]`.
fn scratch_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("ringbench-")?;
    let (stamp, rest) = rest.split_once('-')?;
    let b = stamp.as_bytes();
    let stamp_ok = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b.iter()
            .enumerate()
            .all(|(i, c)| matches!(i, 8 | 15) || c.is_ascii_digit());
    let pid = rest.split('-').next()?;
    let tail_ok = rest
        .split('-')
        .skip(1)
        .all(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
        && rest.split('-').count() <= 2;
    if !stamp_ok || !tail_ok || pid.is_empty() || !pid.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether `pid` is a running ringbench (a reused pid of another program is not).
fn ringbench_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "ringbench")
}

/// `p` quoted for a POSIX shell (single quotes; bytes that are not UTF-8 shown lossily).
pub fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.to_string_lossy().replace('\'', "'\\''"))
}

/// Remove a trial's destination (inside the scratch directory).
pub fn remove_dst(dst: &Path) {
    make_writable(dst);
    let _ = fs::remove_dir_all(dst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_fresh_and_removal_takes_only_its_own() {
        let parent = tempfile::tempdir().unwrap();
        // Created within the same second by the same process: the stamp and pid collide, the
        // suffix does not.
        let a = Scratch::create(parent.path()).unwrap();
        let b = Scratch::create(parent.path()).unwrap();
        assert_ne!(a.path(), b.path());
        fs::write(b.path().join("kept"), b"x").unwrap();
        fs::write(parent.path().join("foreign"), b"y").unwrap();
        let a_path = a.path().to_path_buf();
        a.remove().unwrap();
        assert!(!a_path.exists());
        assert_eq!(fs::read(b.path().join("kept")).unwrap(), b"x");
        assert_eq!(fs::read(parent.path().join("foreign")).unwrap(), b"y");
    }

    #[test]
    fn leftovers_are_dead_runs_named_like_ours() {
        let parent = tempfile::tempdir().unwrap();
        let me = Scratch::create(parent.path()).unwrap();
        // pid 999999999 cannot exist (pid_max is at most 4194304).
        for n in [
            "ringbench-20200101T000000Z-999999999",
            "ringbench-20200101T000000Z-999999999-3",
            "ringbench-2020-999999999",
            "ringbench-20200101T000000Z-abc",
            "ringbench-safety-xyz",
            "other",
        ] {
            fs::create_dir(parent.path().join(n)).unwrap();
        }
        fs::write(
            parent.path().join("ringbench-20200101T000000Z-999999998"),
            b"a file",
        )
        .unwrap();
        let found: Vec<String> = leftovers(parent.path(), me.path())
            .iter()
            .map(|l| l.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            found,
            [
                "ringbench-20200101T000000Z-999999999",
                "ringbench-20200101T000000Z-999999999-3"
            ]
        );
        assert_eq!(scratch_pid("ringbench-20261202T172530Z-11473"), Some(11473));
        assert_eq!(shell_quote(Path::new("/a b/it's")), "'/a b/it'\\''s'");
    }

    #[test]
    fn a_panic_mid_run_still_removes_the_scratch_directory() {
        let parent = tempfile::tempdir().unwrap();
        let seen = std::sync::Mutex::new(None);
        let r = std::panic::catch_unwind(|| {
            let s = Scratch::create(parent.path()).unwrap();
            let src = s.subdir("src").unwrap();
            fs::create_dir_all(src.join("deep/er")).unwrap();
            fs::write(src.join("deep/er/file"), b"data").unwrap();
            *seen.lock().unwrap() = Some(s.path().to_path_buf());
            panic!("a bug in the run loop");
        });
        assert!(r.is_err());
        let path = seen.lock().unwrap().clone().unwrap();
        assert!(!path.exists(), "{} left behind", path.display());
        assert_eq!(fs::read_dir(parent.path()).unwrap().count(), 0);
    }
}
