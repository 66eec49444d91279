//! Running children: [`supervise`], the one supervisor every child goes through (process
//! group, deadline, output cap, rusage, interrupts), and the trial child on top of it
//! ([`run_child`]): spec in on stdin, one JSON line out on stdout, the child's resource usage
//! taken from the kernel (`wait4`) — so a crash, a hang, garbage or silence is recorded and
//! the run goes on.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex};
use std::time::{Duration, Instant};

use crate::proc::child::TrialReply;
use crate::proc::reply;

/// Set by SIGINT/SIGTERM: stop the current child and the run. An `Arc` because signal-hook's
/// flag actions hold one; readers load it like a plain static atomic.
pub static INTERRUPTED: LazyLock<Arc<AtomicBool>> = LazyLock::new(Arc::default);

/// The signal that interrupted the command (0: none); set before [`INTERRUPTED`].
pub static INTERRUPTED_BY: LazyLock<Arc<AtomicUsize>> = LazyLock::new(Arc::default);

/// Whether SIGINT or SIGTERM arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The exit code an interrupted command ends with: 128 + the signal (130 for SIGINT, 143 for
/// SIGTERM), as shells report.
pub fn interrupted_exit_code() -> i32 {
    match INTERRUPTED_BY.load(Ordering::SeqCst) {
        0 => 130,
        s => 128 + s as i32,
    }
}

/// The name of the signal that interrupted the command, for messages (`SIGINT`, `SIGTERM`).
pub fn interrupted_by_name() -> String {
    match INTERRUPTED_BY.load(Ordering::SeqCst) {
        0 => "SIGINT".into(),
        s => signal_name(s as i32),
    }
}

/// SIGKILL every process in the group led by `pid` (the child and whatever it started: strace's
/// tracee, fio's job processes). Call it only while `pid` is an unreaped child of ours, so the
/// group id cannot belong to anyone else.
fn kill_group(pid: libc::pid_t) {
    // SAFETY: plain syscall; a group that is already empty gives ESRCH, which is fine.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
}

/// Route SIGINT and SIGTERM to [`INTERRUPTED`] (the run loop then stops, cleans up and keeps
/// what it wrote). signal-hook installs the handler with SA_RESTART (the run loop and the
/// watchdog poll the flag, so no read or write elsewhere needs to see EINTR); its actions run in
/// the order registered, so [`INTERRUPTED_BY`] is set before [`INTERRUPTED`] is seen.
pub fn install_signal_handlers() {
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let registered =
            signal_hook::flag::register_usize(sig, Arc::clone(&INTERRUPTED_BY), sig as usize)
                .and_then(|_| signal_hook::flag::register(sig, Arc::clone(&INTERRUPTED)));
        // Only a forbidden signal fails (SIGKILL, SIGSTOP); these two never do.
        if let Err(e) = registered {
            eprintln!("ringbench: warning: cannot handle signal {sig}: {e}");
        }
    }
}

/// Resource usage of a trial's whole child — start-up, dataset checks and everything else the
/// child did, not only its timed section — from the kernel's accounting (`wait4`). The timed
/// section's own CPU is `Outcome::cpu`.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Usage {
    /// User CPU seconds, whole child.
    pub user_s: f64,
    /// System CPU seconds, whole child.
    pub sys_s: f64,
    /// Peak resident set, KiB: the trial child's own (VmHWM, as it reports it; see
    /// `TrialReply::peak_rss_kib`), else wait4's, which includes the driver's peak at exec.
    pub max_rss_kib: u64,
    /// Voluntary context switches.
    pub voluntary_cs: u64,
    /// Involuntary context switches.
    pub involuntary_cs: u64,
}

/// How the child ended.
#[derive(Debug)]
pub enum Exit {
    /// Exited with a code.
    Code(i32),
    /// Killed by a signal (number).
    Signal(i32),
    /// Killed by the watchdog at the deadline.
    Timeout,
    /// Killed because the run was interrupted.
    Interrupted,
}

/// What came back from a child.
#[derive(Debug)]
pub struct ChildRun {
    /// How it ended.
    pub exit: Exit,
    /// The parsed result line, if there was one.
    pub reply: Option<TrialReply>,
    /// The start of stdout when it was not a valid result.
    pub garbage: Option<String>,
    /// The tail of stderr.
    pub stderr: String,
    /// Kernel accounting of the child.
    pub usage: Usage,
    /// Wall time from spawn to exit.
    pub wall: Duration,
}

/// The plan a trial child gets, and the working directory it runs in: the plan itself when
/// its paths are UTF-8 (JSON carries them as they are), else the same plan with its paths
/// made relative to `root` (the scratch directory, whose own names are ASCII) and `root` as
/// the child's working directory.
pub fn plan_for_child(
    plan: &workloads::TrialPlan,
    root: &std::path::Path,
) -> (workloads::TrialPlan, Option<std::path::PathBuf>) {
    if plan.src.to_str().is_some() && plan.dst.to_str().is_some() {
        return (plan.clone(), None);
    }
    let rel = |p: &std::path::Path| {
        p.strip_prefix(root)
            .map_or_else(|_| p.to_path_buf(), std::path::Path::to_path_buf)
    };
    let mut c = plan.clone();
    c.src = rel(&plan.src);
    c.dst = rel(&plan.dst);
    (c, Some(root.to_path_buf()))
}

/// Name of a signal for records.
pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGILL => "SIGILL".into(),
        libc::SIGFPE => "SIGFPE".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGINT => "SIGINT".into(),
        n => format!("signal {n}"),
    }
}

/// Run `exe args` with `input` on stdin under a deadline ([`supervise`]), and read the
/// trial child's reply line from what it printed.
///
/// `cwd`, when given, is the child's working directory: a trial whose paths are not UTF-8 (a
/// `--dir` with such a name) gets them relative to its scratch directory, since JSON strings
/// cannot carry them ([`plan_for_child`]).
pub fn run_child<A: AsRef<std::ffi::OsStr>>(
    exe: &std::path::Path,
    args: &[A],
    input: &[u8],
    deadline: Duration,
    cwd: Option<&std::path::Path>,
) -> std::io::Result<ChildRun> {
    let mut cmd = Command::new(exe);
    cmd.args(args);
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let Finished {
        exit,
        stdout,
        stderr,
        usage,
        wall,
    } = supervise(cmd, Some(input), deadline)?;
    let text = String::from_utf8_lossy(&stdout);
    // A reply of another version is a failed trial that says so (both versions named), not
    // a result read with the wrong fields.
    let reply = reply::decode::<TrialReply>(&text).unwrap_or_else(|why| {
        Some(TrialReply {
            result: Err(why),
            peak_rss_kib: None,
        })
    });
    let garbage =
        (reply.is_none() && !text.trim().is_empty()).then(|| text.chars().take(200).collect());
    let stderr = {
        let s = String::from_utf8_lossy(&stderr);
        let tail: Vec<&str> = s.lines().rev().take(5).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    };
    Ok(ChildRun {
        exit,
        reply,
        garbage,
        stderr,
        usage,
        wall,
    })
}

/// What a supervised child left: how it ended, its output (each stream capped at
/// [`CAPTURE_LIMIT`]), the kernel's accounting of it, and its wall time.
#[derive(Debug)]
pub struct Finished {
    /// How it ended.
    pub exit: Exit,
    /// Its stdout, up to the cap.
    pub stdout: Vec<u8>,
    /// Its stderr, up to the cap.
    pub stderr: Vec<u8>,
    /// Kernel accounting of the child (`wait4`).
    pub usage: Usage,
    /// Wall time from spawn to exit.
    pub wall: Duration,
}

/// The one supervisor of every child the driver starts (trials, fio, strace, safety cells):
/// run `cmd` with `input` on stdin (`None`: stdin is /dev/null) under a deadline.
///
/// The child leads a process group of its own: at the deadline or on an interrupt
/// ([`INTERRUPTED`]) the whole group is killed (a traced trial under strace, fio's job
/// processes, whatever a scenario started), and once the child has exited whatever it left in
/// its group is killed before it is reaped, so nothing of a child outlives it. (Ctrl-C at a
/// terminal then reaches only the driver, which stops the child.) Each output stream is read
/// by a thread of its own and capped, so a child that floods its output can neither fill the
/// driver's memory nor block on a full pipe. The child dies with the driver
/// (`PR_SET_PDEATHSIG`).
pub fn supervise(
    mut cmd: Command,
    input: Option<&[u8]>,
    deadline: Duration,
) -> std::io::Result<Finished> {
    let start = Instant::now();
    // A driver killed with SIGKILL cannot stop its children: the kernel does, for the child
    // itself (a grandchild, such as strace's tracee, is left to its own parent).
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec only async-signal-safe calls (prctl, getppid, _exit).
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                libc::_exit(1); // the driver died before the prctl took effect
            }
            Ok(())
        });
    }
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let stdin = child.stdin.take();
    let input = input.unwrap_or_default().to_vec();
    // Feed stdin from a thread: a child that never reads must not block us.
    let feeder = std::thread::spawn(move || {
        if let Some(mut stdin) = stdin {
            let _ = stdin.write_all(&input);
        }
    });
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || read_capped(&mut out));
    let err_reader = std::thread::spawn(move || read_capped(&mut err));

    // Watchdog: kills the child at the deadline or on interrupt, but only while it has not
    // been seen to exit (the zombie keeps its pid reserved until we reap it below).
    let state = Arc::new((Mutex::new((false, None::<Exit>)), Condvar::new()));
    let wd_state = Arc::clone(&state);
    let watchdog = std::thread::spawn(move || {
        let (lock, cv) = &*wd_state;
        let mut g = lock.lock().unwrap();
        loop {
            if g.0 {
                return;
            }
            let left = deadline.saturating_sub(start.elapsed());
            let why = if INTERRUPTED.load(Ordering::SeqCst) {
                Some(Exit::Interrupted)
            } else if left.is_zero() {
                Some(Exit::Timeout)
            } else {
                None
            };
            if let Some(why) = why {
                // pid is our unreaped child: its group id is still ours.
                kill_group(pid);
                g.1 = Some(why);
                return;
            }
            g = cv
                .wait_timeout(g, left.min(Duration::from_millis(50)))
                .unwrap()
                .0;
        }
    });

    // Wait for exit without reaping, mark it, then reap with rusage.
    // SAFETY: plain syscalls on our own child.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        while libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        ) != 0
        {
            if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                break;
            }
        }
    }
    let killed = {
        let (lock, cv) = &*state;
        let mut g = lock.lock().unwrap();
        g.0 = true;
        cv.notify_all();
        g.1.take()
    };
    // The child has exited but is not reaped: its group id is still reserved, so this kills
    // only what it left behind (normally nothing).
    kill_group(pid);
    let mut status = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: reaping our own child with valid out-pointers.
    let r = loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r >= 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break r;
        }
    };
    let wall = start.elapsed();
    let _ = watchdog.join();
    let _ = feeder.join();
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    // The std Child must not try to wait again; it has no Drop that waits.
    drop(child);

    let exit = if let Some(k) = killed {
        k
    } else if INTERRUPTED.load(Ordering::SeqCst)
        && !(r >= 0 && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0)
    {
        // A signal sent to the whole tree (a supervisor killing every process) may have ended
        // the child before the watchdog saw the flag: that is the interrupt, not a crash.
        Exit::Interrupted
    } else if r < 0 {
        Exit::Code(-1)
    } else if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(libc::WEXITSTATUS(status))
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let usage = Usage {
        user_s: tv(ru.ru_utime),
        sys_s: tv(ru.ru_stime),
        max_rss_kib: ru.ru_maxrss as u64,
        voluntary_cs: ru.ru_nvcsw as u64,
        involuntary_cs: ru.ru_nivcsw as u64,
    };
    Ok(Finished {
        exit,
        stdout,
        stderr,
        usage,
        wall,
    })
}

/// Most bytes of a child's stdout or stderr kept; the rest is read and dropped, so a child
/// that floods its output can neither fill the parent's memory nor block on a full pipe.
const CAPTURE_LIMIT: u64 = 1 << 20;

fn read_capped(r: &mut impl Read) -> Vec<u8> {
    let mut v = Vec::new();
    let _ = r.by_ref().take(CAPTURE_LIMIT).read_to_end(&mut v);
    let _ = std::io::copy(r, &mut std::io::sink());
    v
}
