//! Scale benchmarks: print figures, assert nothing. `cargo bench --bench scale -- NAME`.
fn main() {}
