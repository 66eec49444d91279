//! `cargo bench --bench read`: the `read` workload on every engine (see the crate README).

fn main() {
    ringbench_benches::main(workloads::Workload::Read);
}
