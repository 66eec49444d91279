//! Standalone reproducers for the `tokio-io-uring` engine: the same code as `repro.rs`
//! (`tokio_repro/`) on a runtime built with `Builder::enable_io_uring()`, and tokio's own
//! `tokio::net::TcpListener` for `accept-drop`. Run with `RINGBENCH_REPRO_ONLY=1 cargo test -p
//! bench-tokio --test repro_io_uring` to see what each saw alone.

mod tokio_repro;

use tokio_repro as t;

fn main() -> std::process::ExitCode {
    workloads::repro::main::<bench_tokio::TokioIoUringEngine>(&[
        ("read-drop", t::read_drop::<true>),
        ("read-race", t::read_race::<true>),
        ("write-drop", t::write_drop::<true>),
        ("runtime-drop", t::runtime_drop::<true>),
        ("close-after-drop", t::close_after_drop::<true>),
        ("shutdown-live-task", t::shutdown_live_task::<true>),
        ("write-timeout-file", t::write_timeout_file::<true>),
        ("accept-drop", t::accept_drop_net::<true>),
    ])
}
