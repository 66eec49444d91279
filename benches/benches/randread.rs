//! `cargo bench --bench randread`: the `randread` workload on every engine (see the crate
//! README).

fn main() {
    ringbench_benches::main(workloads::Workload::Randread);
}
