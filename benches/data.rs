//! Data generation: the reference tasks' full datasets (the reference Python builds the
//! two-body set in 7.9 s on the 2-core development machine; target < 0.5 s).
//!
//! `cargo bench --bench data`

use criterion::{criterion_group, criterion_main, Criterion};
use hnn::systems::TrajectoryTask;

fn generation(c: &mut Criterion) {
    let mut group = c.benchmark_group("generate");
    group.sample_size(10);
    for name in ["spring", "pendulum", "two_body", "three_body"] {
        let task = TrajectoryTask::preset(name).unwrap();
        group.bench_function(name, |b| b.iter(|| task.generate(0).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, generation);
criterion_main!(benches);
