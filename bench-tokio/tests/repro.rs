//! Standalone reproducers for the `tokio` engine: tokio's public API on a current-thread
//! runtime with no IO driver, so `tokio::fs::File` runs on the blocking pool (the scenarios are
//! in `tokio_repro/`, shared with `repro_io_uring.rs`). `RINGBENCH_REPRO_ONLY=1 cargo test -p
//! bench-tokio --test repro` prints what each saw; without it each is compared with the
//! harness's cell (`workloads::repro`).

mod tokio_repro;

use tokio_repro as t;

fn main() -> std::process::ExitCode {
    workloads::repro::main::<bench_tokio::TokioEngine>(&[
        ("read-drop", t::read_drop::<false>),
        ("read-race", t::read_race::<false>),
        ("write-drop", t::write_drop::<false>),
        ("runtime-drop", t::runtime_drop::<false>),
        ("close-after-drop", t::close_after_drop::<false>),
        ("shutdown-live-task", t::shutdown_live_task::<false>),
        ("write-timeout-file", t::write_timeout_file_pool),
        ("accept-drop", t::accept_drop_pool),
    ])
}
