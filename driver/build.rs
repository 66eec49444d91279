//! Build script: records the git revision and the locked versions of the runtimes under test,
//! so every run's meta.json says exactly what was measured.

use std::process::Command;

const RUNTIMES: &[&str] = &[
    "tokio",
    "tokio-uring",
    "compio",
    "compio-driver",
    "monoio",
    "glommio",
    "io-uring",
    "safer-ring",
];

fn main() {
    println!("cargo:rerun-if-changed=../Cargo.lock");
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/index");
    let rev = Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=RINGBENCH_GIT={rev}");

    let lock = std::fs::read_to_string("../Cargo.lock").unwrap_or_default();
    let mut found = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if let Some(v) = line.strip_prefix("version = ")
            && let Some(n) = name.take()
            && RUNTIMES.contains(&n.as_str())
        {
            found.push(format!("{n}={}", v.trim_matches('"')));
        }
    }
    println!(
        "cargo:rustc-env=RINGBENCH_RUNTIME_VERSIONS={}",
        found.join(";")
    );
}
