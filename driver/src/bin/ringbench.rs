//! `ringbench`: the driver binary. Everything lives in the library; this only installs the
//! allocator and exits with the code [`driver::cli::real_main`] returns: 0 success, 1 some
//! trials failed (results still written), 2 bad input or a failed run, 130/143 interrupted by
//! SIGINT/SIGTERM (results so far kept).

// The quarantining allocator: a pass-through to the system allocator until a safety scenario
// arms it (then freed blocks are poisoned and kept, so kernel writes after free are caught).
#[global_allocator]
static ALLOC: workloads::alloc::Quarantine = workloads::alloc::Quarantine::new();

fn main() {
    std::process::exit(driver::cli::real_main());
}
