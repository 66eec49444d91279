//! `cargo bench --bench large`: the `large` workload on every engine (see the crate README).

fn main() {
    ringbench_benches::main(workloads::Workload::Large);
}
