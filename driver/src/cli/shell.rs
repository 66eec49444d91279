//! CLI layer: `ringbench completions SHELL` and `ringbench man [COMMAND]`, both generated from
//! the clap command itself, so they can never drift from the flags the binary accepts.
//!
//! The man pages are rendered at run time (clap_mangen) rather than by a build script: a build
//! script cannot see the binary's own `Cli` type without compiling cli.rs a second time (by
//! `include!`, with every type it names), and a page printed by the binary always describes that
//! binary — packagers run `ringbench man > ringbench.1` (and `ringbench man run >
//! ringbench-run.1`, ... for the pages the top page refers to) after the build, as they do for
//! completions.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::args::Cli;

/// The command users see: the internal child commands (`__trial`, `__safety`) are hidden from
/// help but clap_complete would still offer them, so they are left out here.
fn public_command() -> clap::Command {
    let full = Cli::command();
    let mut cmd = clap::Command::new("ringbench")
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .subcommand_required(true);
    if let Some(about) = full.get_about() {
        cmd = cmd.about(about.clone());
    }
    cmd.subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
}

/// Write the completion script for `shell` to `w`.
pub fn completions(shell: clap_complete::Shell, w: &mut dyn Write) {
    clap_complete::generate(shell, &mut public_command(), "ringbench", w);
}

/// Write a man page (roff) to `w`: the top page (its subcommands listed as `ringbench-run(1)`,
/// ...) or, with `sub`, that subcommand's page. An unknown `sub` is an error naming the valid
/// ones.
pub fn man(sub: Option<&str>, w: &mut dyn Write) -> anyhow::Result<()> {
    let mut cmd = public_command();
    cmd.build();
    let page = match sub {
        None => cmd,
        Some(name) => {
            let Some(s) = cmd.find_subcommand(name) else {
                let valid: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
                anyhow::bail!(
                    "man: unknown command {name:?} (valid: {})",
                    valid.join(", ")
                );
            };
            s.clone()
                .display_name(format!("ringbench-{}", s.get_name()))
        }
    };
    clap_mangen::Man::new(page).render(w)?;
    Ok(())
}
