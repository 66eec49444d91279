//! The run's scratch directory: the only place ringbench creates, writes and deletes files on
//! the device under test. It is made fresh under `--dir` (never reused), checked before any
//! data is written (exists, is a directory, writable, enough free space, O_DIRECT when asked),
//! and removed at the end — only it, never anything else in `--dir`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

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
        let c = std::ffi::CString::new(parent.as_os_str().as_encoded_bytes())
            .with_context(|| format!("--dir {}: invalid path", parent.display()))?;
        // SAFETY: valid C string.
        // access(2) reports EROFS even for root, whom permission bits do not stop.
        if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EROFS) {
                bail!("--dir {}: read-only filesystem", parent.display());
            }
            bail!("--dir {}: not writable ({e})", parent.display());
        }
        // A fresh name, never an existing directory: a name already taken (by anyone) is
        // skipped, so nothing already in --dir is ever reused or removed.
        let base = format!(
            "ringbench-{}-{}",
            crate::sysinfo::utc_stamp(),
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

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Where sources live.
    pub fn src(&self) -> PathBuf {
        self.root.join("src")
    }

    /// A fresh, empty destination directory for trial `index`.
    pub fn trial_dst(&self, index: usize) -> std::io::Result<PathBuf> {
        let d = self.root.join("dst").join(format!("t{index:06}"));
        fs::create_dir_all(&d)?;
        Ok(d)
    }

    /// Refuse to start when the planned data would not fit (with 10% headroom).
    pub fn check_space(&self, needed: u64) -> anyhow::Result<()> {
        if let Some(free) = crate::sysinfo::free_bytes(&self.root) {
            let want = needed + needed / 10;
            if free < want {
                bail!(
                    "--dir {}: not enough free space: the run needs about {} and {} is free (lower --size/--files)",
                    self.root.parent().unwrap_or(&self.root).display(),
                    crate::options::human_size(want),
                    crate::options::human_size(free)
                );
            }
        }
        Ok(())
    }

    /// Remove the scratch directory and everything ringbench put in it.
    pub fn remove(mut self) -> std::io::Result<()> {
        self.removed = true;
        make_writable(&self.root);
        fs::remove_dir_all(&self.root)
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
    fn a_panic_mid_run_still_removes_the_scratch_directory() {
        let parent = tempfile::tempdir().unwrap();
        let seen = std::sync::Mutex::new(None);
        let r = std::panic::catch_unwind(|| {
            let s = Scratch::create(parent.path()).unwrap();
            fs::create_dir_all(s.src().join("deep/er")).unwrap();
            fs::write(s.src().join("deep/er/file"), b"data").unwrap();
            *seen.lock().unwrap() = Some(s.path().to_path_buf());
            panic!("a bug in the run loop");
        });
        assert!(r.is_err());
        let path = seen.lock().unwrap().clone().unwrap();
        assert!(!path.exists(), "{} left behind", path.display());
        assert_eq!(fs::read_dir(parent.path()).unwrap().count(), 0);
    }
}
