//! `cargo bench --bench small`: the `small` workload on every engine (see the crate README).

fn main() {
    ringbench_benches::main(workloads::Workload::Small);
}
