//! The driver's layers, checked on its source: every `crate::` path in a module under
//! `src/<layer>/` names its own layer or one below it (see README.md). A module that reaches up
//! (results importing options from cli, proc importing analysis) fails here with the file, the
//! line and both layers, before it can become a cycle.

use std::path::{Path, PathBuf};

/// The layers, top first: a module may import its own layer and those after it.
const LAYERS: &[&str] = &[
    "cli", "commands", "render", "analysis", "results", "proc", "plan", "sys",
];

fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == layer)
}

/// The top-level names after each `crate::` in `code` (one line, comments already removed):
/// `crate::plan::options::X` gives `plan`, `crate::{proc::spawn, sys}` gives `proc` and `sys`.
fn crate_roots(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        // `my_crate::` or a macro's `$crate::` is not this crate's root.
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // A group: the first name of each comma-separated item at depth 0.
            let mut depth = 0;
            let mut item_start = true;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        let name: String = group[k..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        out.push(name);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

/// The code of a line, without a trailing `//` comment (a `//` inside a string is rare enough
/// in `use` lines and paths to ignore; at worst it hides the rest of that line).
fn code_of(line: &str) -> &str {
    line.find("//").map_or(line, |i| &line[..i])
}

/// Every upward import in `text`, a file of `layer`: `(line number, imported layer)`.
fn upward(layer: &str, text: &str) -> Vec<(usize, String)> {
    let own = rank(layer).expect("a known layer");
    let mut bad = Vec::new();
    // A `use` group may span lines: join each statement that opens `crate::{` until its `;`.
    let mut pending: Option<(usize, String)> = None;
    for (n, line) in text.lines().enumerate() {
        let code = code_of(line);
        let (at, joined) = match pending.take() {
            Some((at, mut acc)) => {
                acc.push_str(code);
                (at, acc)
            }
            None => (n + 1, code.to_string()),
        };
        if joined.contains("crate::{") && !joined.contains(';') && !joined.contains('}') {
            pending = Some((at, joined));
            continue;
        }
        for root in crate_roots(&joined) {
            match rank(&root) {
                Some(r) if r < own => bad.push((at, root)),
                Some(_) => {}
                // Not a layer: a name at the crate root other than the layers (there are none
                // today); it must be given a layer before it is used.
                None => bad.push((at, root)),
            }
        }
    }
    bad
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    let mut errors = Vec::new();
    for layer in LAYERS {
        let dir = src.join(layer);
        assert!(dir.is_dir(), "layer {layer}: {} is missing", dir.display());
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (line, to) in upward(layer, &text) {
                errors.push(format!(
                    "{}:{line}: {layer} imports {to}, a layer above it (or no layer)",
                    f.strip_prefix(&src).unwrap().display()
                ));
            }
            checked += 1;
        }
    }
    assert!(
        checked > 20,
        "only {checked} files found under src/<layer>/"
    );
    assert!(errors.is_empty(), "upward imports:\n{}", errors.join("\n"));
}

#[test]
fn every_module_of_the_library_is_a_layer() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let mods: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';'))
        .collect();
    assert!(!mods.is_empty());
    for m in &mods {
        assert!(rank(m).is_some(), "src/lib.rs: module {m} is not in LAYERS");
    }
    for l in LAYERS {
        assert!(mods.contains(l), "layer {l} is not a module of src/lib.rs");
    }
    // Nothing but modules at the root: every item lives in a layer.
    for l in lib.lines() {
        let t = l.trim();
        assert!(
            t.is_empty() || t.starts_with("//") || t.starts_with("pub mod "),
            "src/lib.rs: {t:?} is not a layer module"
        );
    }
}

#[test]
fn the_checker_sees_upward_imports() {
    // Plain paths, groups (one line and several), and nested groups.
    assert_eq!(upward("results", "use crate::plan::options::Config;\n"), []);
    assert_eq!(
        upward("results", "use crate::cli::args::RunArgs;\n"),
        [(1, "cli".to_string())]
    );
    assert_eq!(
        upward("proc", "    let x = crate::analysis::reference::FIO;\n"),
        [(1, "analysis".to_string())]
    );
    assert_eq!(
        upward(
            "plan",
            "use crate::{\n    sys::env,\n    render::{table, plots},\n};\n"
        ),
        [(1, "render".to_string())]
    );
    assert_eq!(
        upward("sys", "use crate::{sys::units, commands::report};\n"),
        [(1, "commands".to_string())]
    );
    // Comments are not imports; another crate's `crate::` is not ours.
    assert_eq!(upward("sys", "// see crate::cli::args\n"), []);
    assert_eq!(upward("sys", "use my_crate::cli;\n"), []);
    // A root name that is not a layer is refused too.
    assert_eq!(
        upward("cli", "use crate::helpers::x;\n"),
        [(1, "helpers".to_string())]
    );
}
