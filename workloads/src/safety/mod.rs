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

/// The scenario ids, stable across versions, in display order.
pub const SCENARIOS: &[&str] = &[
    "read-drop",
    "write-drop",
    "open-drop",
    "runtime-drop",
    "cancel-storm",
    "timeout-read",
    "close-after-drop",
];

/// One line per scenario for `ringbench list` and the report.
pub fn describe(id: &str) -> Option<&'static str> {
    Some(match id {
        "read-drop" => "a read of an empty pipe, dropped while waiting; then data arrives",
        "write-drop" => "a write to a full pipe, dropped while blocked; then the pipe drains",
        "open-drop" => {
            "8 opens of a FIFO with no reader, dropped while waiting; then a reader appears"
        }
        "runtime-drop" => {
            "a read of an empty pipe dropped, then the runtime dropped with it in flight; then data arrives"
        }
        "cancel-storm" => {
            "32 reads of one empty pipe, all dropped at once; then data for all of them arrives"
        }
        "timeout-read" => {
            "a read of an empty pipe raced against the runtime's timer, dropped when the timer wins; then data arrives"
        }
        "close-after-drop" => {
            "a read of an empty pipe dropped, then the file closed at once (async close); then data arrives"
        }
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
    /// The child passed its deadline and was killed.
    Hang {
        /// The deadline, ms.
        after_ms: u64,
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
            Verdict::Hang { .. } => "hang".into(),
            Verdict::Skipped { .. } => "skipped".into(),
        }
    }

    /// Whether an oracle flagged something (not safe, not skipped).
    pub fn flagged(&self) -> bool {
        !matches!(self, Verdict::Safe | Verdict::Skipped { .. })
    }

    /// Severity for picking the headline verdict among several findings (higher is worse).
    fn severity(&self) -> u8 {
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
            baseline: None,
            inconclusive: None,
        }
    }

    fn note(&mut self, s: impl Into<String>) {
        self.evidence.push(s.into());
    }

    /// Turn the counts into findings and the headline verdict.
    fn judge(&mut self, panics: &[String]) {
        let c = &self.counts;
        let mut f = Vec::new();
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
        if c.fds_after > c.fds_before {
            f.push(Verdict::Leak {
                what: "fd".into(),
                count: c.fds_after - c.fds_before,
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
    let _ = params;
    let mut obs = Observation::new::<E>(id);
    if !obs.memory_oracle {
        obs.note("memory oracle off: this binary does not install workloads::alloc::Quarantine");
    }
    let panics = match id {
        "read-drop" => scenarios::read_drop::<E>(&mut obs, 1)?,
        "cancel-storm" => scenarios::read_drop::<E>(&mut obs, scenarios::STORM)?,
        "write-drop" => scenarios::write_drop::<E>(&mut obs)?,
        "open-drop" => scenarios::open_drop::<E>(&mut obs)?,
        "runtime-drop" => scenarios::runtime_drop::<E>(&mut obs)?,
        "timeout-read" => scenarios::timeout_read::<E>(&mut obs)?,
        "close-after-drop" => scenarios::close_after_drop::<E>(&mut obs)?,
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
