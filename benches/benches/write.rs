//! `cargo bench --bench write`: the `write` workload on every engine (see the crate README).

fn main() {
    ringbench_benches::main(workloads::Workload::Write);
}
