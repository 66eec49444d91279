//! Fuzz-style: random bytes, random truncations, flipped bytes and deleted files in a real run
//! folder's data (meta.json, trials.jsonl, safety.json, audit.json), fed to `ringbench report`
//! and `ringbench compare`. Whatever the damage: no panic, exit 0 or 2, and a failure is one
//! line that names the folder. Seeded, so a failure reproduces (the case number is printed).

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_ringbench");
/// Damaged folders tried; each goes through report, report --allow-incomplete and compare.
const CASES: u64 = 48;
/// Seed of the damage.
const SEED: u64 = 0x5eed_f022;

/// xorshift64*: small, seeded, good enough to pick offsets and bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn ringbench(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("start ringbench")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Damage one file of `dir` in one of five ways; returns what was done.
fn damage(rng: &mut Rng, dir: &Path) -> String {
    let names = ["meta.json", "trials.jsonl", "safety.json", "audit.json"];
    // meta.json and trials.jsonl most often: they are what report and compare read first.
    let name = names[[0, 0, 1, 1, 1, 2, 3][rng.below(7) as usize]];
    let path = dir.join(name);
    // safety.json and audit.json are optional and absent here: their damaged versions start
    // from another real JSON document.
    let old = std::fs::read(&path)
        .or_else(|_| std::fs::read(dir.join("summary.json")))
        .unwrap_or_default();
    let (new, what) = match rng.below(5) {
        0 => {
            let n = rng.below(2000) as usize;
            (rng.bytes(n), format!("{name}: {n} random bytes"))
        }
        1 => {
            let at = rng.below(old.len() as u64 + 1) as usize;
            (old[..at].to_vec(), format!("{name}: truncated at {at}"))
        }
        2 => {
            let mut v = old.clone();
            let k = 1 + rng.below(8);
            for _ in 0..k {
                if !v.is_empty() {
                    let i = rng.below(v.len() as u64) as usize;
                    v[i] = rng.next() as u8;
                }
            }
            (v, format!("{name}: {k} bytes changed"))
        }
        3 => {
            let _ = std::fs::remove_file(&path);
            return format!("{name}: deleted");
        }
        _ => {
            let at = rng.below(old.len() as u64 + 1) as usize;
            let mut v = old[..at].to_vec();
            let n = rng.below(300) as usize;
            v.extend(rng.bytes(n));
            (
                v,
                format!("{name}: truncated at {at}, {n} random bytes appended"),
            )
        }
    };
    std::fs::write(&path, new).unwrap();
    what
}

/// No panic; exit 0, or 2 with one `ringbench: error:` line naming `folder`.
fn check(case: &str, what: &str, o: &Output, folder: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{case} ({what}): panic: {err}"
    );
    match o.status.code() {
        Some(0) => {}
        Some(2) => {
            let lines: Vec<&str> = err.lines().collect();
            assert_eq!(lines.len(), 1, "{case} ({what}): not one line: {err}");
            assert!(
                lines[0].starts_with("ringbench: error: ") && lines[0].contains(folder),
                "{case} ({what}): the line does not name {folder}: {err}"
            );
        }
        c => panic!("{case} ({what}): exit {c:?}: {err}"),
    }
}

#[test]
fn damaged_result_files_never_panic_report_or_compare() {
    let root = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let good = root.path().join("good");
    let o = Command::new(BIN)
        .args([
            "run",
            "-e",
            "std,tokio",
            "-w",
            "large,small",
            "--size",
            "256k",
            "--files",
            "4",
            "--block-size",
            "64k",
            "--repeat",
            "2",
            "--warmup",
            "0",
            "--cache",
            "warm",
            "--quiet",
        ])
        .arg("--dir")
        .arg(scratch.path())
        .arg("--out")
        .arg(&good)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut rng = Rng(SEED);
    let (mut failed, mut passed) = (0, 0);
    for i in 0..CASES {
        let name = format!("case-{i}");
        let dir = root.path().join(&name);
        copy_dir(&good, &dir);
        let mut what = damage(&mut rng, &dir);
        if rng.below(3) == 0 {
            what = format!("{what}; {}", damage(&mut rng, &dir));
        }
        let case = format!("case {i}");
        let d = dir.as_os_str();
        for o in [
            ringbench(&["report".as_ref(), d]),
            ringbench(&["report".as_ref(), d, "--allow-incomplete".as_ref()]),
        ] {
            check(&case, &what, &o, &name);
            if o.status.success() {
                passed += 1;
            } else {
                failed += 1;
            }
        }
        let out = root.path().join(format!("cmp-{i}"));
        let o = ringbench(&[
            "compare".as_ref(),
            good.as_os_str(),
            d,
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        check(&case, &what, &o, &name);
        eprintln!("ok  {case:<8} {what}");
    }
    // The damage must actually have been both survivable and fatal, or this tested little.
    assert!(failed > 0 && passed > 0, "failed {failed}, passed {passed}");
}
