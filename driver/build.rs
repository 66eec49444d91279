//! Build script: records the git revision and the locked versions of the runtimes under test,
//! so every run's meta.json says exactly what was measured.

use std::process::Command;

// The engine list, shared with the driver and the benches. Included as text, not depended on:
// a build dependency on the registry would build every engine crate a second time, for the
// host. Only the crate names are used here; the type paths are never resolved.
include!("../registry/src/list.rs");

/// The runtime crates of every engine (with repeats), from the list's `[...]` of each entry.
macro_rules! runtime_crates {
    ($( $name:literal => $ty:ty, $class:ident, [$($krate:literal),*]; )*) => {
        &[$($($krate,)*)*]
    };
}

/// The crates whose locked versions every run records.
const RUNTIMES: &[&str] = for_each_engine!(runtime_crates);

fn main() {
    println!("cargo:rerun-if-changed=../Cargo.lock");
    println!("cargo:rerun-if-changed=../registry/src/list.rs");
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
    let mut locked: Vec<(String, String)> = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if let Some(v) = line.strip_prefix("version = ")
            && let Some(n) = name.take()
            && RUNTIMES.contains(&n.as_str())
        {
            locked.push((n, v.trim_matches('"').to_string()));
        }
    }
    println!(
        "cargo:rustc-env=RINGBENCH_RUNTIME_VERSIONS={}",
        version_keys(&locked).join(";")
    );
}

/// `name=version` for a crate locked once. A crate locked in several releases (side-by-side
/// engines such as `compio@0.16`) gets `name@label=version` for each release, `label` being
/// `major.minor` (`major` from 1.0 on) plus a pre-release's tag (`0.20-beta`), and `name=` the
/// newest stable release (the current one, whose engine has no label).
fn version_keys(locked: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (n, v) in locked {
        let all: Vec<&String> = locked
            .iter()
            .filter(|(m, _)| m == n)
            .map(|(_, v)| v)
            .collect();
        if all.len() == 1 {
            out.push(format!("{n}={v}"));
            continue;
        }
        out.push(format!("{n}@{}={v}", label(v)));
        let newest_stable = all
            .iter()
            .filter(|v| !v.contains('-'))
            .max_by_key(|v| numeric(v));
        if newest_stable == Some(&v) {
            out.push(format!("{n}={v}"));
        }
    }
    out
}

fn numeric(v: &str) -> Vec<u64> {
    let core = v.split(['-', '+']).next().unwrap_or(v);
    core.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

fn label(v: &str) -> String {
    let (core, pre) = v.split_once('-').unwrap_or((v, ""));
    let parts: Vec<&str> = core.split('.').collect();
    let mut l = if parts.first() == Some(&"0") {
        parts.iter().take(2).copied().collect::<Vec<_>>().join(".")
    } else {
        parts.first().copied().unwrap_or(core).to_string()
    };
    let tag: String = pre
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    if !tag.is_empty() {
        l.push('-');
        l.push_str(&tag);
    }
    l
}
