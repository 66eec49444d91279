//! Safety scenarios: what really happens when an in-flight op's future is dropped.
//!
//! Each scenario is a small experiment generic over [`Engine`], meant to run alone in its own
//! child process (the driver's `ringbench __safety ENGINE SCENARIO`): the memory oracle
//! ([`crate::alloc`]) is process-global, and a runtime that corrupts memory or hangs must not
//! take the harness with it.
//!
//! Every scenario follows the same steps: make an op that *must* wait (a read of an empty pipe,
//! a write to a full pipe, an open of a FIFO with no writer), prove it is in flight (its future
//! is still pending after being polled inside the runtime for [`harness::WINDOW`]), drop it, let
//! the thing it waited for happen, and look:
//!
//! * memory — freed blocks are quarantined and poisoned while the scenario runs; poison that
//!   changed means the kernel wrote into freed memory, poison in pipe output means it read it;
//! * data — bytes sent versus bytes received afterwards *through the same handle* (so a runtime
//!   that keeps consumed bytes for the next read is not called lossy), and bytes of a dropped
//!   write that landed anyway;
//! * resources — open descriptors and live buffer bytes before and after;
//! * liveness — the driver's deadline (hang) and the child's exit signal (crash).
//!
//! An op that completes before it can be dropped (a blocking engine completes every op inside
//! its first poll) is recorded as *not in flight* with that evidence; the oracles still run, so
//! such an engine earns `safe` by observation, never by name.

mod harness;
mod scenarios;
pub mod timer;

pub use harness::fds;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Engine;

/// In which state a scenario's drop meets its ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Path {
    /// The op is still waiting in the kernel (nothing has arrived) and the runtime gets a turn
    /// to send its cancel before anything arrives: the runtime's cancel always lands first.
    Slow,
    /// The op has already completed in the kernel (counted) when its future is dropped, or
    /// completes before a cancel can reach the kernel: what `select!` and timeouts hit.
    Race,
    /// The runtime itself is dropped with work in flight.
    Shutdown,
    /// No cancellation at all: what the engine leaks anyway.
    Baseline,
}

/// One scenario: its id, path, what it does, and its positive controls.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// Stable id.
    pub id: &'static str,
    /// The state its drops meet.
    pub path: Path,
    /// One line for `ringbench list` and the report.
    pub summary: &'static str,
    /// Control engines (unsafe on purpose) that this scenario's oracles must flag: a scenario
    /// none of whose controls is flagged on a machine is *unvalidated* there, never safe.
    pub controls: &'static [&'static str],
}

/// Every scenario, in display order (the baseline first).
pub const ALL: &[Scenario] = &[
    Scenario {
        id: BASELINE,
        path: Path::Baseline,
        summary: "no cancellation: a runtime built and dropped, a file opened and closed, a file dropped unclosed (what every other cell subtracts)",
        controls: &["naive-leak-ring"],
    },
    Scenario {
        id: "read-drop",
        path: Path::Slow,
        summary: "a read of an empty pipe, dropped while waiting; a runtime turn; then data arrives",
        controls: &["naive"],
    },
    Scenario {
        id: "write-drop",
        path: Path::Slow,
        summary: "a write to a full pipe, dropped while blocked; a runtime turn; then the pipe drains",
        controls: &["naive"],
    },
    Scenario {
        id: "open-drop",
        path: Path::Slow,
        summary: "8 opens of a FIFO with no reader (waiting in the kernel), dropped; a runtime turn; then a reader appears",
        controls: &["naive"],
    },
    Scenario {
        id: "runtime-drop",
        path: Path::Shutdown,
        summary: "a read of an empty pipe dropped, its handle dropped, then the runtime dropped at once; then data arrives",
        controls: &["naive-leak-ring"],
    },
    Scenario {
        id: "cancel-storm",
        path: Path::Slow,
        summary: "32 reads of one empty pipe, all dropped at once; a runtime turn; then data for all of them arrives",
        controls: &["naive"],
    },
    Scenario {
        id: "cancel-storm-small-ring",
        path: Path::Slow,
        summary: "64 reads of one empty pipe on a runtime built with an 8-entry ring, all dropped at once; then data",
        controls: &["naive"],
    },
    Scenario {
        id: "timeout-read",
        path: Path::Slow,
        summary: "a read of an empty pipe raced against the runtime's timer, dropped when the timer wins; then data arrives",
        controls: &["naive"],
    },
    Scenario {
        id: "close-after-drop",
        path: Path::Slow,
        summary: "a read of an empty pipe dropped, then the file closed at once (async close); then data arrives",
        controls: &["naive-close-waits"],
    },
    Scenario {
        id: "open-race",
        path: Path::Race,
        summary: "16 opens of an existing regular file (read-only and read-write), dropped right after their first poll or after the kernel completed them (counted)",
        controls: &["naive"],
    },
    Scenario {
        id: "read-race",
        path: Path::Race,
        summary: "a pipe read submitted, the data written, the kernel's read completed (counted), the future dropped before the runtime's next turn; then a second read and a raw drain",
        controls: &["naive"],
    },
    Scenario {
        id: "write-timeout-file",
        path: Path::Race,
        summary: "64 KiB writes to a regular file (and an fsync) dropped right after their first poll or after the kernel completed them (counted); bytes that land after the drop are ghost writes",
        controls: &["naive"],
    },
    Scenario {
        id: "accept-drop",
        path: Path::Race,
        summary: "4 accepts submitted, 4 clients connect, the kernel completes the accepts (counted), the futures dropped before they are polled again",
        controls: &["naive"],
    },
    Scenario {
        id: "shutdown-live-task",
        path: Path::Shutdown,
        summary: "a spawned task's pipe read in flight when the runtime is dropped (the thread goes on); then data arrives through the write end",
        controls: &["naive-leak-ring"],
    },
];

/// The scenario ids, stable across versions, in display order (the baseline first).
pub const SCENARIOS: &[&str] = &[
    BASELINE,
    "read-drop",
    "write-drop",
    "open-drop",
    "runtime-drop",
    "cancel-storm",
    "cancel-storm-small-ring",
    "timeout-read",
    "close-after-drop",
    "open-race",
    "read-race",
    "write-timeout-file",
    "accept-drop",
    "shutdown-live-task",
];

/// The scenario `id` (listed ones only).
pub fn scenario(id: &str) -> Option<&'static Scenario> {
    ALL.iter().find(|s| s.id == id)
}

/// One line per scenario for `ringbench list` and the report.
pub fn describe(id: &str) -> Option<&'static str> {
    if let Some(s) = scenario(id) {
        return Some(s.summary);
    }
    Some(match id {
        SELFTEST_HANG => "test support: never returns (the driver's deadline must catch it)",
        SELFTEST_CRASH => "test support: dies by SIGSEGV (the driver must report the signal)",
        SELFTEST_LEAK_FD => "test support: opens a file through the engine and never closes it",
        _ => return None,
    })
}

/// Hidden scenario: hangs forever, to prove the hang oracle.
pub const SELFTEST_HANG: &str = "selftest-hang";
/// Hidden scenario: kills itself with SIGSEGV, to prove the crash oracle.
pub const SELFTEST_CRASH: &str = "selftest-crash";
/// Hidden scenario: leaks one descriptor on purpose, to prove the fd oracle end to end.
pub const SELFTEST_LEAK_FD: &str = "selftest-leak-fd";

/// Whether `id` names a scenario (listed or test support).
pub fn known(id: &str) -> bool {
    describe(id).is_some()
}

/// A cell's verdict. Serialised with a `kind` tag, e.g. `{"kind":"leak","what":"fd","count":8}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Verdict {
    /// No oracle saw anything wrong.
    Safe,
    /// A resource outlived the scenario.
    Leak {
        /// `fd` or `buffer-bytes`.
        what: String,
        /// How many descriptors, or bytes.
        count: i64,
    },
    /// Bytes sent that nobody received.
    DataLoss {
        /// Bytes lost.
        bytes: u64,
    },
    /// Bytes of a dropped write that reached the output anyway.
    GhostWrite {
        /// Bytes that landed after the drop.
        bytes: u64,
    },
    /// The kernel touched freed memory.
    UseAfterFree {
        /// `kernel-wrote` (freed memory changed) or `kernel-read` (freed memory reached output).
        direction: String,
        /// Bytes involved.
        bytes: u64,
    },
    /// The process died by a signal, or panicked.
    Crash {
        /// Signal name (`SIGSEGV`, ...), absent for a panic or a bad exit.
        signal: Option<String>,
        /// What was seen (panic message, exit status, stderr tail).
        detail: String,
    },
    /// A wait (a drop, a close, a runtime shutdown) that did not end by itself: it ended only
    /// once the harness supplied data, or never (the child was killed at its deadline).
    Hang {
        /// The bound that passed, ms (the helper's bound, or the driver's deadline).
        after_ms: u64,
        /// Where the thread was waiting, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        during: Option<String>,
        /// Whether the wait ended once the data arrived (`false`: killed at the deadline).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        released_by_data: Option<bool>,
    },
    /// Not run.
    Skipped {
        /// Why.
        reason: String,
    },
}

impl Verdict {
    /// Short label for the matrix.
    pub fn label(&self) -> String {
        match self {
            Verdict::Safe => "safe".into(),
            Verdict::Leak { what, count } => format!("leak {count} {what}"),
            Verdict::DataLoss { bytes } => format!("data-loss {bytes}B"),
            Verdict::GhostWrite { bytes } => format!("ghost-write {bytes}B"),
            Verdict::UseAfterFree { direction, bytes } => format!("UAF {direction} {bytes}B"),
            Verdict::Crash { signal, .. } => {
                format!("crash {}", signal.as_deref().unwrap_or("panic"))
            }
            Verdict::Hang {
                released_by_data: Some(true),
                ..
            } => "hang until data".into(),
            Verdict::Hang { .. } => "hang".into(),
            Verdict::Skipped { .. } => "skipped".into(),
        }
    }

    /// Whether an oracle flagged something (not safe, not skipped).
    pub fn flagged(&self) -> bool {
        !matches!(self, Verdict::Safe | Verdict::Skipped { .. })
    }

    /// Severity for picking the headline verdict among several findings (higher is worse).
    pub fn severity(&self) -> u8 {
        match self {
            Verdict::Skipped { .. } => 0,
            Verdict::Safe => 1,
            Verdict::Leak { .. } => 2,
            Verdict::DataLoss { .. } => 3,
            Verdict::GhostWrite { .. } => 4,
            Verdict::UseAfterFree { .. } => 5,
            Verdict::Hang { .. } => 6,
            Verdict::Crash { .. } => 7,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// Everything a scenario counted. Zero where a scenario does not measure it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Ops started.
    pub ops: u64,
    /// Ops proven pending, then dropped.
    pub dropped_in_flight: u64,
    /// Ops that completed during their very first poll (nothing to cancel).
    pub completed_first_poll: u64,
    /// Ops that completed later but before the pending window ended.
    pub completed_in_window: u64,
    /// Payload bytes sent into the pipe (read scenarios) or by the dropped write.
    pub bytes_sent: u64,
    /// Bytes received by completed ops and by reads through the same handle afterwards.
    pub bytes_received: u64,
    /// `bytes_sent - bytes_received` (read scenarios).
    pub bytes_lost: u64,
    /// Bytes of dropped writes that reached the pipe.
    pub ghost_bytes: u64,
    /// Bytes of quarantined (freed) memory changed after free.
    pub freed_bytes_written: u64,
    /// Poison bytes found in output.
    pub freed_bytes_read: u64,
    /// Blocks in quarantine when checked.
    pub quarantined_blocks: u64,
    /// Open descriptors before and after (`/proc/self/fd`).
    pub fds_before: i64,
    /// See `fds_before`.
    pub fds_after: i64,
    /// Live buffer bytes (allocator) before and after.
    pub buffer_bytes_before: i64,
    /// See `buffer_bytes_before`.
    pub buffer_bytes_after: i64,
    /// Time to drop the runtime (runtime-drop), ms.
    pub runtime_drop_ms: f64,
    /// Race scenarios: ops dropped right after their first poll.
    #[serde(default)]
    pub dropped_at_once: u64,
    /// Race scenarios: ops seen completed in the kernel (a descriptor installed, the data
    /// consumed or written) before their future was dropped — the race really happened.
    #[serde(default)]
    pub completed_in_kernel_before_drop: u64,
    /// Race scenarios: ops dropped after waiting for the kernel that it had not completed by
    /// then (the race did not happen for them).
    #[serde(default)]
    pub not_completed_before_drop: u64,
}

/// What a scenario did that leaks on some engines even without cancellation: subtracted
/// with the engine's [`Baseline`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Runtimes built and dropped inside the descriptor count.
    pub runtimes: i64,
    /// Files opened and closed with the async close inside it.
    pub files_closed: i64,
    /// Files opened and dropped without close inside it.
    pub files_dropped: i64,
}

impl Usage {
    /// Descriptors the baseline says these steps leak without any cancellation.
    pub fn expected_leak(&self, b: &Baseline) -> i64 {
        self.runtimes * b.runtime.max(0)
            + self.files_closed * b.file_closed.max(0)
            + self.files_dropped * b.file_dropped.max(0)
    }
}

/// A wait the helper saw outlast its bound outside an op's own poll.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HangSeen {
    /// Where the thread waited.
    pub during: String,
    /// The bound, ms.
    pub after_ms: u64,
}

/// What one scenario observed on one engine: the child's one JSON line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Engine name.
    pub engine: String,
    /// Scenario id.
    pub scenario: String,
    /// The headline verdict (the worst finding).
    pub verdict: Verdict,
    /// Every finding, worst first (the headline included).
    pub findings: Vec<Verdict>,
    /// At least one op was proven in flight when dropped.
    pub in_flight: bool,
    /// Whether the memory oracle was active (the allocator installed in this binary).
    pub memory_oracle: bool,
    /// Counts.
    pub counts: Counts,
    /// What was seen, in order, in words.
    pub evidence: Vec<String>,
    /// The seed of this repeat's timing jitter.
    #[serde(default)]
    pub seed: u64,
    /// What the scenario did that leaks without cancellation on some engines.
    #[serde(default)]
    pub usage: Usage,
    /// A wait that outlasted its bound (a hang that ended once the data came).
    #[serde(default)]
    pub hang: Option<HangSeen>,
    /// The engine's baseline: what the `baseline` pseudo-scenario measured, or what a scenario
    /// subtracted.
    #[serde(default)]
    pub baseline: Option<Baseline>,
    /// Why an oracle could not conclude (e.g. the engine cannot read the rest of a pipe), if
    /// so. With no finding, the verdict is then `skipped` with this reason, never `safe`.
    #[serde(default)]
    pub inconclusive: Option<String>,
}

impl Observation {
    fn new<E: Engine>(scenario: &str) -> Observation {
        Observation {
            engine: E::INFO.name.to_string(),
            scenario: scenario.to_string(),
            verdict: Verdict::Safe,
            findings: Vec::new(),
            in_flight: false,
            memory_oracle: crate::alloc::installed(),
            counts: Counts::default(),
            evidence: Vec::new(),
            seed: 0,
            usage: Usage::default(),
            hang: None,
            baseline: None,
            inconclusive: None,
        }
    }

    fn note(&mut self, s: impl Into<String>) {
        self.evidence.push(s.into());
    }

    /// Descriptors leaked beyond what the engine's baseline leaks for the same steps without
    /// cancellation (the baseline cell itself: the sum of what it measured). Says so in the
    /// evidence when the baseline explains some or all of a raw leak.
    fn fd_leak_beyond_baseline(&mut self) -> i64 {
        if self.scenario == BASELINE {
            return self.baseline.as_ref().map_or(0, |b| {
                b.runtime.max(0) + b.file_closed.max(0) + b.file_dropped.max(0)
            });
        }
        let raw = self.counts.fds_after - self.counts.fds_before;
        let Some(b) = &self.baseline else {
            return raw;
        };
        let expected = self.usage.expected_leak(b);
        if raw > 0 && expected > 0 {
            let u = &self.usage;
            self.note(format!(
                "{raw} descriptor(s) more after than before; the engine's baseline leaks {expected} for the same steps without any cancellation ({} runtime(s) dropped x {}, {} file(s) closed x {}, {} file(s) dropped unclosed x {}): {} counted as a cancellation finding",
                u.runtimes, b.runtime, u.files_closed, b.file_closed, u.files_dropped, b.file_dropped,
                (raw - expected).max(0)
            ));
        }
        raw - expected
    }

    /// Turn the counts into findings and the headline verdict.
    fn judge(&mut self, panics: &[String]) {
        let leaked = self.fd_leak_beyond_baseline();
        let c = &self.counts;
        let mut f = Vec::new();
        if let Some(h) = &self.hang {
            f.push(Verdict::Hang {
                after_ms: h.after_ms,
                during: Some(h.during.clone()),
                released_by_data: Some(true),
            });
        }
        if let Some(p) = panics.first() {
            f.push(Verdict::Crash {
                signal: None,
                detail: format!("panic: {p}"),
            });
        }
        if c.freed_bytes_written > 0 {
            f.push(Verdict::UseAfterFree {
                direction: "kernel-wrote".into(),
                bytes: c.freed_bytes_written,
            });
        }
        if c.freed_bytes_read > 0 {
            f.push(Verdict::UseAfterFree {
                direction: "kernel-read".into(),
                bytes: c.freed_bytes_read,
            });
        }
        if c.ghost_bytes > 0 {
            f.push(Verdict::GhostWrite {
                bytes: c.ghost_bytes,
            });
        }
        if c.bytes_lost > 0 {
            f.push(Verdict::DataLoss {
                bytes: c.bytes_lost,
            });
        }
        if leaked > 0 {
            f.push(Verdict::Leak {
                what: "fd".into(),
                count: leaked,
            });
        }
        if c.buffer_bytes_after > c.buffer_bytes_before {
            f.push(Verdict::Leak {
                what: "buffer-bytes".into(),
                count: c.buffer_bytes_after - c.buffer_bytes_before,
            });
        }
        f.sort_by_key(|v| std::cmp::Reverse(v.severity()));
        self.verdict = match (f.first(), &self.inconclusive) {
            (Some(v), _) => v.clone(),
            (None, Some(why)) => Verdict::Skipped {
                reason: format!("inconclusive: {why}"),
            },
            (None, None) => Verdict::Safe,
        };
        if self.verdict == Verdict::Safe {
            if self.in_flight {
                self.note(
                    "verdict safe: ops were in flight when dropped and no oracle saw anything",
                );
            } else {
                self.note("verdict safe: not in flight — every op completed before it could be dropped, so there was nothing to cancel, and no oracle saw anything");
            }
        }
        self.findings = f;
    }
}

/// Run scenario `id` on engine `E` in this process. `Err` is a setup failure (the cell is then
/// `skipped` with that reason); a panic inside the scenario propagates (the caller records it).
///
/// Meant for a child process: it arms the process-global quarantine, and the hidden self-test
/// scenarios hang or crash on purpose.
///
/// It does not call [`Engine::probe`]: the caller has (the driver before it starts the child,
/// tests through `conformance::available`). A probe builds and drops a runtime, and what that
/// runtime leaves behind would shift the descriptor baseline by a varying amount (glommio's
/// dropped executors leave an eventfd open, some runs longer than others). An engine that
/// cannot run here fails in `build`, and the cell is skipped with that reason.
pub fn run<E: Engine>(id: &str) -> Result<Observation, String> {
    run_with::<E>(id, &Params::default())
}

/// The pseudo-scenario that measures an engine's descriptor leaks **without** any
/// cancellation (runtime create and drop, a file opened and closed, a file dropped unclosed),
/// so scenarios can subtract them.
pub const BASELINE: &str = "baseline";

/// Descriptors an engine leaks without any cancellation, per use of each thing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// A runtime built and dropped with nothing run on it.
    pub runtime: i64,
    /// A file opened and closed with the engine's async close.
    pub file_closed: i64,
    /// A file opened and dropped without close.
    pub file_dropped: i64,
}

/// How a cell is run: its seed (which jitters the timings) and the engine's baseline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Seed of this repeat's timing jitter (0: no jitter).
    pub seed: u64,
    /// The engine's baseline, measured in another child (`None`: nothing subtracted).
    pub baseline: Option<Baseline>,
    /// Where the scenarios that need files (a FIFO, a regular file) make them: a directory
    /// the caller created for the run (`None`: the system temporary directory).
    #[serde(default)]
    pub dir: Option<std::path::PathBuf>,
}

impl Params {
    /// Seed only.
    pub fn seeded(seed: u64) -> Params {
        Params {
            seed,
            ..Params::default()
        }
    }
}

/// Run scenario `id` on engine `E` with `params` (see [`run`]).
pub fn run_with<E: Engine>(id: &str, params: &Params) -> Result<Observation, String> {
    let mut obs = Observation::new::<E>(id);
    obs.seed = params.seed;
    harness::seed_jitter(params.seed);
    if id != BASELINE {
        obs.baseline = params.baseline.clone();
    }
    if !obs.memory_oracle {
        obs.note("memory oracle off: this binary does not install workloads::alloc::Quarantine");
    }
    let dir = params.dir.as_deref();
    let panics = match id {
        BASELINE => scenarios::baseline::<E>(&mut obs, dir)?,
        "read-drop" => scenarios::read_drop::<E>(&mut obs, 1, 64)?,
        "cancel-storm" => scenarios::read_drop::<E>(&mut obs, scenarios::STORM, 64)?,
        "cancel-storm-small-ring" => {
            scenarios::read_drop::<E>(&mut obs, scenarios::SMALL_RING_STORM, 8)?
        }
        "write-drop" => scenarios::write_drop::<E>(&mut obs)?,
        "open-drop" => scenarios::open_drop::<E>(&mut obs, dir)?,
        "runtime-drop" => scenarios::runtime_drop::<E>(&mut obs)?,
        "timeout-read" => scenarios::timeout_read::<E>(&mut obs)?,
        "close-after-drop" => scenarios::close_after_drop::<E>(&mut obs)?,
        "open-race" => scenarios::open_race::<E>(&mut obs, dir)?,
        "read-race" => scenarios::read_race::<E>(&mut obs)?,
        "write-timeout-file" => scenarios::write_timeout_file::<E>(&mut obs, dir)?,
        "accept-drop" => scenarios::accept_drop::<E>(&mut obs)?,
        "shutdown-live-task" => scenarios::shutdown_live_task::<E>(&mut obs)?,
        SELFTEST_HANG => loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        },
        SELFTEST_CRASH => {
            // std's SIGSEGV handler (stack-overflow detection) would return from a raised
            // signal; restore the default action first, which ends the process.
            // SAFETY: resetting a handler and raising a signal at ourselves.
            unsafe {
                libc::signal(libc::SIGSEGV, libc::SIG_DFL);
                libc::raise(libc::SIGSEGV);
            }
            unreachable!("SIGSEGV returned")
        }
        SELFTEST_LEAK_FD => scenarios::leak_fd::<E>(&mut obs)?,
        other => {
            return Err(format!(
                "unknown scenario `{other}` (known: {})",
                SCENARIOS.join(", ")
            ));
        }
    };
    obs.judge(&panics);
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs() -> Observation {
        Observation::new::<crate::null::NullEngine>("read-drop")
    }

    #[test]
    fn judge_picks_the_worst_finding() {
        let mut o = obs();
        o.counts.bytes_lost = 10;
        o.counts.freed_bytes_written = 4096;
        o.counts.fds_before = 5;
        o.counts.fds_after = 7;
        o.judge(&[]);
        assert_eq!(
            o.verdict,
            Verdict::UseAfterFree {
                direction: "kernel-wrote".into(),
                bytes: 4096
            }
        );
        assert_eq!(o.findings.len(), 3);
        assert!(o.findings.contains(&Verdict::Leak {
            what: "fd".into(),
            count: 2
        }));
    }

    #[test]
    fn judge_clean_counts_are_safe() {
        let mut o = obs();
        o.counts.fds_before = 5;
        o.counts.fds_after = 4; // closing more than we opened is not a leak
        o.judge(&[]);
        assert_eq!(o.verdict, Verdict::Safe);
        assert!(!o.verdict.flagged());
    }

    #[test]
    fn verdict_json_shape() {
        let v = Verdict::Leak {
            what: "fd".into(),
            count: 3,
        };
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"kind":"leak","what":"fd","count":3}"#
        );
        let back: Verdict = serde_json::from_str(
            r#"{"kind":"use-after-free","direction":"kernel-read","bytes":8}"#,
        )
        .unwrap();
        assert_eq!(
            back,
            Verdict::UseAfterFree {
                direction: "kernel-read".into(),
                bytes: 8
            }
        );
    }
}
