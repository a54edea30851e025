//! `foreach run [--count N] [--payload MIB] [--inherit-mib MIB] [--max-workers N] ...`: the flowrs side of one benchmark shape.

fn main() -> std::process::ExitCode {
    flow_local::main::<flowrs_bench_flows::foreach::BenchForeachFlow>()
}
