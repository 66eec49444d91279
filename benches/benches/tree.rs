//! `cargo bench --bench tree`: the `tree` workload on every engine (see the crate README).

fn main() {
    ringbench_benches::main(workloads::Workload::Tree);
}
