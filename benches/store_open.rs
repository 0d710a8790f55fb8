//! Open time of a log with a snapshot near the end: the default tail check against a full check.
//! The log size comes from EASGATE_BENCH_OPEN_EVENTS (default 200,000); the 5M case of the brief:
//! `EASGATE_BENCH_OPEN_EVENTS=5000000 cargo bench --bench store_open` (building it takes minutes).

use criterion::{Criterion, criterion_group, criterion_main};
use easgate::store::OpenMode;
use easgate::store::measure::{build_log, open_time};

fn open_events() -> u64 {
    std::env::var("EASGATE_BENCH_OPEN_EVENTS").ok().and_then(|text| text.parse().ok()).unwrap_or(200_000)
}

fn open(criterion: &mut Criterion) {
    let events = open_events();
    let directory = tempfile::tempdir().unwrap();
    // A 64 KiB projection snapshot 1,000 events before the end.
    build_log(directory.path(), events, Some(events.saturating_sub(1_000).max(1)), 64 * 1024).unwrap();
    let mut group = criterion.benchmark_group(format!("open_{events}"));
    group.sample_size(10);
    for (name, mode) in [("tail_after_snapshot", OpenMode::Tail), ("full", OpenMode::Full)] {
        let (_, report) = open_time(directory.path(), mode).unwrap();
        eprintln!("{name}: {report:?}");
        group.bench_function(name, |bencher| bencher.iter(|| open_time(directory.path(), mode).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, open);
criterion_main!(benches);
