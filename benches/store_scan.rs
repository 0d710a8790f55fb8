//! Scan: every record read back with checksum, contiguity and chain checked (and with payloads
//! decoded), against sled iterating the same tree (same run, same data).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use easgate::store::measure::{build_log, checked_scan, decoded_scan, raw_sled_scan};
use easgate::store::{OpenMode, Store};

fn scan_events() -> u64 {
    std::env::var("EASGATE_BENCH_SCAN_EVENTS").ok().and_then(|text| text.parse().ok()).unwrap_or(200_000)
}

fn scan(criterion: &mut Criterion) {
    let events = scan_events();
    let directory = tempfile::tempdir().unwrap();
    build_log(directory.path(), events, None, 0).unwrap();
    let store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    let mut group = criterion.benchmark_group(format!("scan_{events}"));
    group.throughput(Throughput::Elements(events));
    group.sample_size(10);
    group.bench_function("raw_sled", |bencher| bencher.iter(|| raw_sled_scan(&store).unwrap()));
    group.bench_function("store_checked", |bencher| bencher.iter(|| checked_scan(&store).unwrap()));
    group.bench_function("store_checked_decoded", |bencher| bencher.iter(|| decoded_scan(&store).unwrap()));
    group.finish();
}

criterion_group!(benches, scan);
criterion_main!(benches);
