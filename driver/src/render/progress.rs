//! Progress of a run, on stderr, in one of three forms chosen once at the start: a bar redrawn
//! in place on a terminal (trial i of n, engine, workload, ETA), one plain line per finished
//! trial otherwise (logs, CI, pipes), or nothing at all (`--quiet`). stdout is never touched,
//! so `--json` output stays clean.
//!
//! The runner reports events (a note, a trial started, a trial finished); only this module
//! decides how they look. Write errors are ignored on purpose: a closed or broken stderr must
//! not stop a run halfway and leave its scratch directory behind.
//!
//! Not indicatif (yet): it would draw the `Bar` form only — its bar hides itself off a
//! terminal, while `Lines` (one plain line per finished trial, what logs and CI read, checked by
//! driver/tests/cli.rs) and the TERM rule of [`Mode::choose`] stay here either way — and the
//! swap was left for a change of its own with its own test of the terminal form.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use workloads::units;

use crate::results::{Status, TrialRecord, Verified};

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A bar redrawn in place (stderr is a terminal).
    Bar,
    /// One line per trial (stderr is a file or a pipe).
    Lines,
    /// Nothing (`--quiet`).
    Quiet,
}

impl Mode {
    /// The mode for this process: quiet when asked, a bar when stderr is a terminal that can
    /// redraw a line, plain lines otherwise.
    pub fn detect(quiet: bool) -> Mode {
        Mode::choose(
            quiet,
            std::io::stderr().is_terminal(),
            std::env::var_os("TERM").as_deref(),
        )
    }

    /// [`Mode::detect`]'s rule: a bar (escape codes) only on a terminal whose `TERM` is set
    /// and not `dumb`; with `TERM` unset (cron, a service, `env -i`) or stderr not a terminal,
    /// plain lines.
    fn choose(quiet: bool, tty: bool, term: Option<&std::ffi::OsStr>) -> Mode {
        let capable = term.is_some_and(|t| !t.is_empty() && t != "dumb");
        if quiet {
            Mode::Quiet
        } else if tty && capable {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

/// A trial as the progress display names it.
#[derive(Clone, Debug)]
pub struct Trial {
    /// Round number.
    pub round: u32,
    /// Whether the round is a discarded warm-up.
    pub warmup: bool,
    /// Engine name.
    pub engine: String,
    /// Workload name.
    pub workload: &'static str,
    /// Sweep point id.
    pub config: String,
}

impl Trial {
    fn label(&self) -> String {
        format!(
            "{} {} {} round {}{}",
            self.engine,
            self.workload,
            self.config,
            self.round,
            if self.warmup { " (warm-up)" } else { "" }
        )
    }
}

struct State {
    total: usize,
    done: usize,
    started: Instant,
    current: Option<(Trial, Instant)>,
    /// Whether a bar is on screen (and must be cleared before any other line).
    drawn: bool,
    stop: bool,
}

/// The progress reporter of one run. Dropping it clears the bar.
pub struct Progress {
    mode: Mode,
    state: Arc<(Mutex<State>, Condvar)>,
    ticker: Option<JoinHandle<()>>,
}

/// How often the bar is redrawn while a trial runs (elapsed time and ETA move on).
const TICK: Duration = Duration::from_millis(200);

/// Erase the current terminal line and return to its start.
const CLEAR: &str = "\r\x1b[2K";

impl Progress {
    /// A reporter in `mode` for a run of `total` trials.
    pub fn new(mode: Mode, total: usize) -> Progress {
        let state = Arc::new((
            Mutex::new(State {
                total,
                done: 0,
                started: Instant::now(),
                current: None,
                drawn: false,
                stop: false,
            }),
            Condvar::new(),
        ));
        let ticker = (mode == Mode::Bar).then(|| {
            let state = Arc::clone(&state);
            std::thread::spawn(move || {
                let (lock, cv) = &*state;
                let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
                while !g.stop {
                    if g.current.is_some() {
                        draw(&mut g);
                    }
                    g = cv
                        .wait_timeout(g, TICK)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            })
        });
        Progress {
            mode,
            state,
            ticker,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Set the number of trials (known once engines are probed and the plan is made); the
    /// clock of the ETA starts here.
    pub fn set_total(&self, total: usize) {
        let mut g = self.lock();
        g.total = total;
        g.started = Instant::now();
    }

    /// A line the user should see (an engine skipped, datasets being prepared).
    pub fn note(&self, msg: &str) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Lines => emit(&format!("{msg}\n")),
            Mode::Bar => {
                let mut g = self.lock();
                let clear = if g.drawn { CLEAR } else { "" };
                g.drawn = false;
                emit(&format!("{clear}{msg}\n"));
                if g.current.is_some() {
                    draw(&mut g);
                }
            }
        }
    }

    /// A trial is starting.
    pub fn started(&self, t: &Trial) {
        if self.mode == Mode::Bar {
            let mut g = self.lock();
            g.current = Some((t.clone(), Instant::now()));
            draw(&mut g);
        }
    }

    /// A trial finished with `rec`. Plain mode prints its line; the bar prints failures as
    /// lines of their own (they must stay visible) and moves on.
    pub fn finished(&self, t: &Trial, rec: &TrialRecord) {
        let mut g = self.lock();
        g.done += 1;
        g.current = None;
        let eta = eta(g.started.elapsed(), g.done, g.total);
        let line = trial_line(t, rec, g.done, g.total, eta);
        match self.mode {
            Mode::Quiet => {}
            Mode::Lines => emit(&format!("{line}\n")),
            Mode::Bar => {
                if rec.status != Status::Ok {
                    let clear = if g.drawn { CLEAR } else { "" };
                    g.drawn = false;
                    emit(&format!("{clear}{line}\n"));
                }
                draw(&mut g);
            }
        }
    }

    /// Clear the bar and stop redrawing (also done on drop).
    pub fn finish(&mut self) {
        {
            let mut g = self.lock();
            g.stop = true;
            if g.drawn {
                emit(CLEAR);
                g.drawn = false;
            }
            self.state.1.notify_all();
        }
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Write to stderr in one call, ignoring errors (see the module doc).
fn emit(s: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(s.as_bytes());
    let _ = e.flush();
}

fn draw(g: &mut State) {
    if g.stop {
        return;
    }
    let width = terminal_width().unwrap_or(80);
    let (label, running) = match &g.current {
        Some((t, since)) => (t.label(), Some(since.elapsed())),
        None => (String::new(), None),
    };
    let label = if crate::proc::spawn::INTERRUPTED.load(Ordering::SeqCst) {
        "interrupted: stopping the trial and cleaning up".to_string()
    } else {
        label
    };
    // The running trial has used part of what is left.
    let eta = eta(g.started.elapsed(), g.done, g.total)
        .map(|e| e.saturating_sub(running.unwrap_or_default()));
    let text = bar_line(g.done, g.total, &label, running, eta, width);
    emit(&format!("{CLEAR}{text}"));
    g.drawn = true;
}

/// Remaining time, extrapolated from the trials done so far (`None` before the first).
pub fn eta(elapsed: Duration, done: usize, total: usize) -> Option<Duration> {
    (done > 0).then(|| elapsed.mul_f64(total.saturating_sub(done) as f64 / done as f64))
}

/// One redraw of the bar, at most `width` characters:
/// `trial 12/50 [=====>      ] std large bs128k-qd8-f8-t1 round 2  1s  eta 1m20s`.
pub fn bar_line(
    done: usize,
    total: usize,
    label: &str,
    running: Option<Duration>,
    eta: Option<Duration>,
    width: usize,
) -> String {
    const BAR: usize = 20;
    let total = total.max(1);
    let filled = (done.min(total) * BAR) / total;
    let mut bar = "=".repeat(filled);
    if filled < BAR {
        bar.push('>');
        bar.push_str(&" ".repeat(BAR - filled - 1));
    }
    let current = (done + usize::from(running.is_some())).min(total);
    let head = format!(
        "trial {current:>w$}/{total} [{bar}]",
        w = total.to_string().len()
    );
    let mut tail = String::new();
    if let Some(r) = running {
        tail.push_str(&format!("  {}", units::duration(r)));
    }
    tail.push_str(&format!(
        "  eta {}",
        eta.map_or("?".to_string(), units::duration)
    ));
    // The label gives way first, then the tail: the counter and the bar always fit.
    let room = width.saturating_sub(1); // never write into the last column (some terminals wrap)
    let fixed = head.chars().count() + tail.chars().count() + 1;
    let label_room = room.saturating_sub(fixed);
    let label: String = if label.chars().count() > label_room {
        let keep = label_room.saturating_sub(1);
        let mut s: String = label.chars().take(keep).collect();
        if keep > 0 {
            s.push('~');
        }
        s
    } else {
        label.to_string()
    };
    let line = if label.is_empty() {
        format!("{head}{tail}")
    } else {
        format!("{head} {label}{tail}")
    };
    line.chars().take(room).collect()
}

/// The plain line of a finished trial.
pub fn trial_line(
    t: &Trial,
    rec: &TrialRecord,
    done: usize,
    total: usize,
    eta: Option<Duration>,
) -> String {
    let what = match (&rec.status, rec.throughput) {
        (Status::Ok, Some(v)) => format!(
            "{} MB/s {}",
            crate::render::table::mbps(v),
            if rec.verified == Verified::Yes {
                "verified"
            } else {
                "(not verified: no I/O)"
            }
        ),
        (s, _) => {
            let why = rec
                .error
                .as_deref()
                .or(rec.verify_detail.as_deref())
                .unwrap_or("");
            // One line per trial: a child's multi-line stderr is folded.
            format!("{s:?}: {}", why.replace('\n', " | "))
        }
    };
    format!(
        "[{done:>4}/{total}] round {}{} {:<16} {:<6} {}  {what}  (eta {})",
        t.round,
        if t.warmup { " (warm-up)" } else { "" },
        t.engine,
        t.workload,
        t.config,
        eta.map_or("?".to_string(), units::duration)
    )
}

/// Columns of the terminal on stderr.
fn terminal_width() -> Option<usize> {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ fills the winsize we own.
    let r = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_codes_only_on_a_capable_terminal() {
        use std::ffi::OsStr;
        let xterm = Some(OsStr::new("xterm-256color"));
        assert_eq!(Mode::choose(false, true, xterm), Mode::Bar);
        assert_eq!(Mode::choose(true, true, xterm), Mode::Quiet);
        // TERM unset, empty or dumb, or stderr not a terminal: plain lines.
        assert_eq!(Mode::choose(false, true, None), Mode::Lines);
        assert_eq!(Mode::choose(false, true, Some(OsStr::new(""))), Mode::Lines);
        assert_eq!(
            Mode::choose(false, true, Some(OsStr::new("dumb"))),
            Mode::Lines
        );
        assert_eq!(Mode::choose(false, false, xterm), Mode::Lines);
    }

    #[test]
    fn bar_fits_the_width_and_names_the_trial() {
        let l = bar_line(
            11,
            50,
            "std large bs128k-qd8-f8-t1 round 2",
            Some(Duration::from_secs(3)),
            Some(Duration::from_secs(80)),
            120,
        );
        assert!(l.starts_with("trial 12/50 ["), "{l}");
        assert!(l.contains("std large bs128k"), "{l}");
        assert!(l.ends_with("eta 1m20s"), "{l}");
        for width in [20, 40, 60, 79] {
            let l = bar_line(
                11,
                50,
                "a-rather-long-engine-name large bs128k-qd8-f8-t1 round 2",
                None,
                None,
                width,
            );
            assert!(l.chars().count() < width, "{width}: {l:?}");
        }
    }

    #[test]
    fn bar_fills_with_progress() {
        let empty = bar_line(0, 10, "", None, None, 200);
        let full = bar_line(10, 10, "", None, None, 200);
        assert!(empty.contains("[>   "), "{empty}");
        assert!(full.contains(&format!("[{}]", "=".repeat(20))), "{full}");
        assert!(full.contains("trial 10/10"), "{full}");
    }

    #[test]
    fn eta_extrapolates() {
        assert_eq!(eta(Duration::from_secs(10), 0, 10), None);
        assert_eq!(
            eta(Duration::from_secs(10), 5, 10),
            Some(Duration::from_secs(10))
        );
        assert_eq!(eta(Duration::from_secs(10), 10, 10), Some(Duration::ZERO));
    }
}
