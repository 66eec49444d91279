//! Declares the `tokio_unstable` cfg (set by the workspace's `.cargo/config.toml`), so
//! `#[cfg(tokio_unstable)]` is a known cfg whether or not a build sets it.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(tokio_unstable)");
}
