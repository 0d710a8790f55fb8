//! Durable append: batches of 1,000 realistic events with one flush each, the store against raw
//! sled inserting values of the same size with the same flushes (same run, same machine).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use easgate::store::measure::{realistic_events, realistic_record_bytes};
use easgate::store::{Store, StoreOptions};

const BATCH_EVENTS: u64 = 1_000;

fn durable_append(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("durable_append_1000");
    group.throughput(Throughput::Elements(BATCH_EVENTS));
    group.sample_size(30);

    for (name, chunk_events) in [("store", 65_536), ("store_index_every_flush", 1)] {
        let directory = tempfile::tempdir().unwrap();
        let options = StoreOptions { index_chunk_events: chunk_events, ..StoreOptions::default() };
        let mut store = Store::open_with(directory.path(), options).unwrap();
        let mut next = 0u64;
        group.bench_function(name, |bencher| {
            bencher.iter_batched(
                || {
                    next += BATCH_EVENTS;
                    realistic_events(next - BATCH_EVENTS, BATCH_EVENTS as usize)
                },
                |events| {
                    store.append(events).unwrap();
                    store.flush().unwrap();
                },
                BatchSize::PerIteration,
            )
        });
        if name == "store" {
            eprintln!("median record size: {} bytes", realistic_record_bytes(&store).unwrap());
        }
    }

    for (name, value_bytes, index_entries) in
        [("raw_sled_150B", 150, 0), ("raw_sled_250B", 250, 0), ("raw_sled_250B_naive_index", 250, 1)]
    {
        let directory = tempfile::tempdir().unwrap();
        let db = sled::open(directory.path().join("log")).unwrap();
        let events = db.open_tree("events").unwrap();
        let index = db.open_tree("index").unwrap();
        let value: Vec<u8> = (0..value_bytes).map(|byte| (byte * 31 % 251) as u8).collect();
        let mut next = 0u64;
        group.bench_function(name, |bencher| {
            bencher.iter(|| {
                let mut batch = sled::Batch::default();
                let mut index_batch = sled::Batch::default();
                for _ in 0..BATCH_EVENTS {
                    next += 1;
                    batch.insert(&next.to_be_bytes(), value.as_slice());
                    for entry in 0..index_entries {
                        index_batch.insert(format!("d\0\x14appl{:016x}{entry}{next:016x}", next / 3).as_bytes(), &[]);
                    }
                }
                events.apply_batch(batch).unwrap();
                if index_entries > 0 {
                    index.apply_batch(index_batch).unwrap();
                }
                db.flush().unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, durable_append);
criterion_main!(benches);
