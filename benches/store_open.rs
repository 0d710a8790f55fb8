//! Open time of a log with a snapshot near the end: the default tail check against a full check.
//! The log size comes from EASGATE_BENCH_OPEN_EVENTS (default 200,000); the 5M case of the brief:
//! `EASGATE_BENCH_OPEN_EVENTS=5000000 cargo bench --bench store_open` (building it takes minutes).

use criterion::{Criterion, criterion_group, criterion_main};
use easgate::store::OpenMode;
use easgate::store::measure::{build_log, open_time};

fn open_events() -> u64 {
    // `cargo test --all-targets` runs benches once without `--bench`: keep that quick.
    if !std::env::args().any(|argument| argument == "--bench") {
        return 2_000;
    }
    std::env::var("EASGATE_BENCH_OPEN_EVENTS").ok().and_then(|text| text.parse().ok()).unwrap_or(200_000)
}

fn open(criterion: &mut Criterion) {
    let events = open_events();
    let directory = tempfile::tempdir().unwrap();
    // A 64 KiB projection snapshot 1,000 events before the end.
    build_log(directory.path(), events, Some(events.saturating_sub(1_000).max(1)), 64 * 1024).unwrap();
    let mut group = criterion.benchmark_group(format!("open_{events}"));
    group.sample_size(10);
    // The baseline: sled's own open of the same database, with the events tree and its last key.
    group.bench_function("raw_sled_open", |bencher| {
        bencher.iter(|| {
            let db = open_raw_sled(&directory.path().join("log"));
            let events = db.open_tree("events").unwrap();
            events.last().unwrap()
        })
    });
    for (name, mode) in [("tail_after_snapshot", OpenMode::Tail), ("full", OpenMode::Full)] {
        let (_, report) = open_time(directory.path(), mode).unwrap();
        eprintln!("{name}: {report:?}");
        group.bench_function(name, |bencher| bencher.iter(|| open_time(directory.path(), mode).unwrap()));
    }
    group.finish();
}

/// sled's thread pool may hold the file lock for a moment after the previous iteration's drop.
fn open_raw_sled(path: &std::path::Path) -> sled::Db {
    for _ in 0..200 {
        if let Ok(db) = sled::open(path) {
            return db;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    sled::open(path).unwrap()
}

criterion_group!(benches, open);
criterion_main!(benches);
