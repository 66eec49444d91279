//! The one io_uring availability check: every engine's `probe()` and the driver's environment
//! report start here, so they agree on what `kernel.io_uring_disabled` means.
//!
//! The kernel's meaning (Documentation/admin-guide/sysctl/kernel.rst, since 6.6): `0` any
//! process may create rings; `1` only processes with `CAP_SYS_ADMIN` or in the group
//! `kernel.io_uring_group` may (the others get `EPERM`); `2` nobody may. So `2` is a refusal
//! without trying, and `1` is a question only `io_uring_setup(2)` itself can answer for this
//! process: [`io_uring`] tries, and explains an `EPERM` by the sysctl when it is `1`.
//!
//! Engines add their own checks after this one (opcodes, buffer registration, memlock), with
//! their own ring; [`setup_error`] words a failure of that ring the same way.

use std::io;

const DISABLED: &str = "/proc/sys/kernel/io_uring_disabled";
const GROUP: &str = "/proc/sys/kernel/io_uring_group";

/// The value of `kernel.io_uring_disabled`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sysctl {
    /// No such sysctl (kernels before 6.6): nothing restricts io_uring beyond seccomp.
    Absent,
    /// `0`: any process may create rings.
    Allowed,
    /// `1`: only `CAP_SYS_ADMIN` or members of `kernel.io_uring_group` may.
    Restricted,
    /// `2`: io_uring is disabled for everyone.
    Disabled,
    /// A value this code does not know (a newer kernel), as read.
    Other(String),
}

impl Sysctl {
    /// Parse the sysctl's text.
    pub fn parse(text: &str) -> Sysctl {
        match text.trim() {
            "0" => Sysctl::Allowed,
            "1" => Sysctl::Restricted,
            "2" => Sysctl::Disabled,
            other => Sysctl::Other(other.to_string()),
        }
    }

    /// The value and its meaning, as the environment report shows it (`None`: absent).
    pub fn describe(&self) -> Option<String> {
        Some(match self {
            Sysctl::Absent => return None,
            Sysctl::Allowed => "0 (any process may create rings)".into(),
            Sysctl::Restricted => {
                "1 (only CAP_SYS_ADMIN or members of kernel.io_uring_group)".into()
            }
            Sysctl::Disabled => "2 (io_uring disabled for everyone)".into(),
            Sysctl::Other(v) => v.clone(),
        })
    }
}

/// Read `kernel.io_uring_disabled` (absent on kernels before 6.6).
pub fn sysctl() -> Sysctl {
    std::fs::read_to_string(DISABLED).map_or(Sysctl::Absent, |s| Sysctl::parse(&s))
}

/// Whether this process can create an io_uring: `Err` with a reason a user can act on if not.
/// Refuses at once when the sysctl is `2`; otherwise creates a two-entry ring with
/// `io_uring_setup(2)` and closes it.
pub fn io_uring() -> Result<(), String> {
    let sysctl = sysctl();
    if sysctl == Sysctl::Disabled {
        return Err("io_uring is disabled for every process (kernel.io_uring_disabled=2)".into());
    }
    // struct io_uring_params is 120 bytes; zeroed asks for the defaults.
    let mut params = [0u8; 120];
    // SAFETY: io_uring_setup reads and writes a struct io_uring_params, which `params` is the
    // size of and which we own for the call.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 2u32, params.as_mut_ptr()) };
    if fd < 0 {
        return Err(explain(&io::Error::last_os_error(), &sysctl));
    }
    // SAFETY: the kernel just returned this descriptor to us; it is closed exactly once.
    unsafe { libc::close(fd as libc::c_int) };
    Ok(())
}

/// Why `io_uring_setup(2)` failed with `e`, in words a user can act on: for an engine's own
/// ring, after [`io_uring`] passed (its size or memlock charge may still fail).
pub fn setup_error(e: &io::Error) -> String {
    explain(e, &sysctl())
}

fn explain(e: &io::Error, sysctl: &Sysctl) -> String {
    let why = match e.raw_os_error() {
        Some(libc::ENOSYS) => " (kernel without io_uring)".to_string(),
        Some(libc::EPERM) if *sysctl == Sysctl::Restricted => {
            let group = std::fs::read_to_string(GROUP)
                .ok()
                .map(|g| g.trim().to_string())
                .filter(|g| g != "-1")
                .map_or_else(|| "no group set".to_string(), |g| format!("gid {g}"));
            format!(
                " (kernel.io_uring_disabled=1: only CAP_SYS_ADMIN or members of \
                 kernel.io_uring_group ({group}) may create rings, and this process is neither)"
            )
        }
        Some(libc::EPERM) => " (blocked by a seccomp filter or a container policy)".to_string(),
        Some(libc::ENOMEM) => {
            " (locked-memory limit too low for the ring: raise `ulimit -l`)".to_string()
        }
        _ => String::new(),
    };
    format!("io_uring_setup failed: {e}{why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_values_keep_the_kernels_meaning() {
        assert_eq!(Sysctl::parse("0\n"), Sysctl::Allowed);
        assert_eq!(Sysctl::parse("1\n"), Sysctl::Restricted);
        assert_eq!(Sysctl::parse("2\n"), Sysctl::Disabled);
        assert_eq!(Sysctl::parse("7"), Sysctl::Other("7".into()));
        assert_eq!(Sysctl::Absent.describe(), None);
        assert!(
            Sysctl::Restricted
                .describe()
                .unwrap()
                .contains("io_uring_group")
        );
    }

    #[test]
    fn eperm_is_explained_by_the_sysctl() {
        let e = io::Error::from_raw_os_error(libc::EPERM);
        assert!(explain(&e, &Sysctl::Restricted).contains("kernel.io_uring_disabled=1"));
        assert!(explain(&e, &Sysctl::Allowed).contains("seccomp"));
        let e = io::Error::from_raw_os_error(libc::ENOSYS);
        assert!(explain(&e, &Sysctl::Allowed).contains("without io_uring"));
    }

    #[test]
    fn the_probe_agrees_with_the_sysctl() {
        // Where the sysctl forbids everyone, the probe must refuse; where a ring can be made by
        // hand, it must accept. (Which one holds depends on the machine; both are checked.)
        let got = io_uring();
        if sysctl() == Sysctl::Disabled {
            assert!(got.unwrap_err().contains("=2"));
            return;
        }
        let mut params = [0u8; 120];
        // SAFETY: as in `io_uring`.
        let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 2u32, params.as_mut_ptr()) };
        if fd >= 0 {
            // SAFETY: our descriptor, closed once.
            unsafe { libc::close(fd as libc::c_int) };
            assert_eq!(got, Ok(()));
        } else {
            assert!(got.unwrap_err().starts_with("io_uring_setup failed"));
        }
    }
}
