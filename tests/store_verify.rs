//! Snapshots (format ids, retention, tail-checked open) and `verify` (chain, side file, device
//! index, snapshot against a full replay), on real sled directories.

use std::path::Path;

use easgate::store::measure::realistic_events;
use easgate::store::{
    EventIter, IndexKey, OpenMode, ReplayComparison, Snapshot, SnapshotReplay, SnapshotVerdict, Store, StoreError,
    StoreOptions,
};
use store_support::with_raw_tree;

mod store_support;

const PROJECTION_FORMAT: u32 = 7;

/// A stand-in projection: the number of events folded and the sum of their seqs.
fn fold(events: EventIter<'_>) -> Result<(u64, u64), StoreError> {
    let mut state = (0, 0);
    for event in events {
        let event = event?;
        state = (state.0 + 1, state.1 + event.seq);
    }
    Ok(state)
}

fn encode(state: (u64, u64)) -> Vec<u8> {
    postcard::to_allocvec(&state).unwrap()
}

struct CountingReplay;

impl SnapshotReplay for CountingReplay {
    fn format_id(&self) -> u32 {
        PROJECTION_FORMAT
    }
    fn compare(&mut self, snapshot: &Snapshot, events: EventIter<'_>) -> Result<ReplayComparison, StoreError> {
        let replayed = encode(fold(events)?);
        Ok(if replayed == snapshot.bytes {
            ReplayComparison::Equal
        } else {
            ReplayComparison::Differs(format!("replay gives {replayed:?}"))
        })
    }
}

fn store_with(directory: &Path, events: u64) -> Store {
    let mut store = Store::open(directory, OpenMode::Tail).unwrap();
    for first in (0..events).step_by(1_000) {
        store.append(realistic_events(first, 1_000.min(events - first) as usize)).unwrap();
    }
    store.flush().unwrap();
    store
}

fn snapshot_at(store: &mut Store, seq: u64) {
    let state = fold(store.events_range(1, seq).unwrap()).unwrap();
    store.save_snapshot(seq, PROJECTION_FORMAT, encode(state)).unwrap();
    store.flush().unwrap();
}

#[test]
fn the_latest_snapshot_of_the_callers_format_is_loaded_and_others_are_ignored() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = store_with(directory.path(), 300);
    store.save_snapshot(100, PROJECTION_FORMAT, b"at 100".to_vec()).unwrap();
    store.save_snapshot(200, PROJECTION_FORMAT, b"at 200".to_vec()).unwrap();
    store.save_snapshot(250, PROJECTION_FORMAT + 1, b"newer projection format".to_vec()).unwrap();
    let latest = store.latest_snapshot(PROJECTION_FORMAT).unwrap().unwrap();
    assert_eq!((latest.seq, latest.bytes.as_slice()), (200, &b"at 200"[..]));
    assert_eq!(latest.hash, store.read_record(200).unwrap().unwrap().hash());
    assert_eq!(store.latest_snapshot(99).unwrap(), None);
    // Only the newest two are kept.
    store.save_snapshot(290, PROJECTION_FORMAT + 1, b"x".to_vec()).unwrap();
    assert_eq!(store.latest_snapshot(PROJECTION_FORMAT).unwrap(), None);
    let error = store.save_snapshot(301, PROJECTION_FORMAT, vec![]).unwrap_err();
    assert!(matches!(error, StoreError::Refused(_)), "{error}");
}

fn snapshot_files(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory.join("snapshots"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn snapshots_are_files_and_a_damaged_one_gives_way_to_the_one_before() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = store_with(directory.path(), 300);
    store.save_snapshot(100, PROJECTION_FORMAT, b"at 100".to_vec()).unwrap();
    // A save a crash interrupted leaves a temporary file: never read, removed by the next save.
    std::fs::write(directory.path().join("snapshots/.00000000000000000150.snapshot.tmp"), b"half").unwrap();
    store.save_snapshot(200, PROJECTION_FORMAT, b"at 200".to_vec()).unwrap();
    assert_eq!(snapshot_files(directory.path()), ["00000000000000000100.snapshot", "00000000000000000200.snapshot"]);
    // A flipped byte inside the newest snapshot's bytes: its checksum fails, the older one is used.
    let newest = directory.path().join("snapshots/00000000000000000200.snapshot");
    let mut bytes = std::fs::read(&newest).unwrap();
    let inside = bytes.len() - 6;
    bytes[inside] ^= 0x01;
    std::fs::write(&newest, bytes).unwrap();
    let latest = store.latest_snapshot(PROJECTION_FORMAT).unwrap().unwrap();
    assert_eq!((latest.seq, latest.bytes.as_slice()), (100, &b"at 100"[..]));
    store.close().unwrap();
    // The tail open trusts the header (its hash matches the log) and checks from there; the
    // damaged bytes are never folded.
    let store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    assert_eq!(store.open_report().checked_from_seq, 201);
    assert_eq!(store.latest_snapshot(PROJECTION_FORMAT).unwrap().unwrap().seq, 100);
    // Deleting snapshots deletes the files; the log stays whole.
    let mut store = store;
    store.delete_snapshots().unwrap();
    assert!(snapshot_files(directory.path()).is_empty());
    assert_eq!(store.latest_snapshot(PROJECTION_FORMAT).unwrap(), None);
    assert_eq!(store.last_seq(), 300);
}

#[test]
fn snapshots_an_older_easgate_kept_in_sled_are_not_read_and_closing_clears_them() {
    let directory = tempfile::tempdir().unwrap();
    store_with(directory.path(), 300).close().unwrap();
    // What an easgate before snapshot files left: a (valid-looking) value in the `snapshots` tree.
    with_raw_tree(directory.path(), "snapshots", |tree| {
        tree.insert(200u64.to_be_bytes(), vec![1u8; 80]).unwrap();
    });
    let mut store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    assert_eq!(store.open_report().checked_from_seq, 1, "the whole chain is checked: no snapshot is known");
    assert_eq!(store.latest_snapshot(PROJECTION_FORMAT).unwrap(), None);
    snapshot_at(&mut store, 250);
    store.close().unwrap();
    let mut legacy_entries = usize::MAX;
    with_raw_tree(directory.path(), "snapshots", |tree| legacy_entries = tree.len());
    assert_eq!(legacy_entries, 0);
    let store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    assert_eq!(store.latest_snapshot(PROJECTION_FORMAT).unwrap().unwrap().seq, 250);
}

#[test]
fn a_tail_open_checks_only_the_records_after_the_snapshot() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = store_with(directory.path(), 5_000);
    snapshot_at(&mut store, 4_900);
    store.close().unwrap();
    let store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    assert_eq!(store.open_report().checked_from_seq, 4_901);
    assert_eq!(store.open_report().records_checked, 100);
    assert_eq!(store.last_seq(), 5_000);
    drop(store);
    let store = Store::open(directory.path(), OpenMode::Full).unwrap();
    assert_eq!(store.open_report().records_checked, 5_000);
}

#[test]
fn a_healthy_log_verifies_including_its_snapshot_against_a_full_replay() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = store_with(directory.path(), 2_000);
    let report = store.verify(Some(&mut CountingReplay)).unwrap();
    assert_eq!((report.records, report.last_seq, report.side_file_seq), (2_000, 2_000, 2_000));
    assert_eq!(report.snapshot, SnapshotVerdict::NoSnapshot);
    assert!(report.index_keys >= 2_000 / 3, "{report:?}");
    snapshot_at(&mut store, 1_500);
    assert_eq!(store.verify(Some(&mut CountingReplay)).unwrap().snapshot, SnapshotVerdict::Matches { seq: 1_500 });
    assert_eq!(store.verify(None).unwrap().snapshot, SnapshotVerdict::NotChecked);
}

#[test]
fn a_snapshot_that_differs_from_the_replay_is_named_by_its_seq() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = store_with(directory.path(), 1_000);
    store.save_snapshot(800, PROJECTION_FORMAT, encode((800, 1))).unwrap();
    let error = store.verify(Some(&mut CountingReplay)).unwrap_err();
    assert!(matches!(error, StoreError::SnapshotMismatch { seq: 800, .. }), "{error}");
    assert!(error.to_string().starts_with("the snapshot at seq 800 differs from a full replay"), "{error}");
    store.delete_snapshots().unwrap();
    assert_eq!(store.verify(Some(&mut CountingReplay)).unwrap().snapshot, SnapshotVerdict::NoSnapshot);
}

#[test]
fn verify_finds_a_hole_before_the_snapshot_that_the_tail_open_does_not_read() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = store_with(directory.path(), 3_000);
    snapshot_at(&mut store, 2_900);
    store.close().unwrap();
    with_raw_tree(directory.path(), "events", |events| {
        events.remove(1_234u64.to_be_bytes()).unwrap();
    });
    let store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    let error = store.verify(Some(&mut CountingReplay)).unwrap_err();
    assert_eq!(error.seq(), Some(1_234), "{error}");
    assert!(error.to_string().contains("record missing"), "{error}");
    drop(store);
    let error = Store::open(directory.path(), OpenMode::Full).err().unwrap();
    assert_eq!(error.seq(), Some(1_234), "{error}");
}

#[test]
fn a_damaged_device_index_is_named_by_verify_and_rebuilt_from_the_log() {
    let directory = tempfile::tempdir().unwrap();
    let store = store_with(directory.path(), 3_000);
    store.close().unwrap();
    // Drop one bucket of entries (a few devices and commands).
    with_raw_tree(directory.path(), "device_index", |index| {
        let key = index.scan_prefix(b"w").keys().next().unwrap().unwrap();
        index.remove(key).unwrap();
    });
    let mut store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    let error = store.verify(None).unwrap_err();
    assert!(matches!(error, StoreError::IndexMismatch { .. }), "{error}");
    assert!(error.to_string().contains("does not list this event under"), "{error}");
    assert_eq!(store.rebuild_device_index().unwrap(), 3_000);
    store.verify(None).unwrap();
}

#[test]
fn index_entries_lost_in_a_crash_are_rederived_at_open() {
    let directory = tempfile::tempdir().unwrap();
    let options = StoreOptions { index_pending_max_events: 1_000_000, ..StoreOptions::default() };
    let mut store = Store::open_with(directory.path(), options).unwrap();
    store.append(realistic_events(0, 600)).unwrap();
    store.flush().unwrap();
    let before = store.index_lookup(&IndexKey::Device("appl000000001eef".into())).unwrap();
    assert_eq!(before, vec![4, 5, 6]);
    // Dropped without close: the pending index entries were never written.
    drop(store);
    let store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    assert_eq!(store.open_report().index_events_repaired, 600);
    assert_eq!(store.index_lookup(&IndexKey::Device("APPL000000001EEF".to_lowercase())).unwrap(), before);
    store.verify(None).unwrap();
}

#[test]
fn reads_before_the_snapshot_check_the_links_the_tail_open_skipped() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = store_with(directory.path(), 3_000);
    snapshot_at(&mut store, 2_900);
    store.close().unwrap();
    with_raw_tree(directory.path(), "events", |events| {
        let record = events.get(1_000u64.to_be_bytes()).unwrap().unwrap();
        let (mut envelope, payload) = easgate::store::record::decode_record(&record).unwrap();
        envelope.prev_hash = [0x33; 32];
        let rewritten = easgate::store::record::encode_record(&envelope, payload);
        events.insert(1_000u64.to_be_bytes(), rewritten).unwrap();
    });
    let store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    assert_eq!(store.events_from(2_901).unwrap().filter(Result::is_ok).count(), 100);
    let error = store.events_from(1).unwrap().find_map(Result::err).unwrap();
    assert_eq!(error.seq(), Some(1_000), "{error}");
    assert!(error.to_string().contains("hash chain broken"), "{error}");
    let error = store.events_from(1_000).unwrap().find_map(Result::err).unwrap();
    assert_eq!(error.seq(), Some(1_000), "{error}");
}

#[test]
fn index_entries_written_when_idle_or_at_the_memory_bound_need_no_repair() {
    let directory = tempfile::tempdir().unwrap();
    let options = StoreOptions { index_pending_max_events: 400, ..StoreOptions::default() };
    let mut store = Store::open_with(directory.path(), options).unwrap();
    store.append(realistic_events(0, 300)).unwrap();
    assert_eq!(store.catch_up_device_index().unwrap(), 300);
    // 450 pending reach the bound of 400: written by append itself; the last 50 stay pending.
    store.append(realistic_events(300, 450)).unwrap();
    store.append(realistic_events(750, 50)).unwrap();
    store.flush().unwrap();
    drop(store);
    let store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    assert_eq!(store.open_report().index_events_repaired, 50, "only the events after the last write");
    store.verify(None).unwrap();
}

#[test]
fn a_lookup_finds_a_key_in_every_write_window_and_in_the_pending_events() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    let mut expected = Vec::new();
    for window in 0..40u64 {
        store.append(realistic_events(window * 100, 99)).unwrap();
        let mut phone = realistic_events(window * 100 + 99, 1).remove(0);
        phone.event = easgate::domain::event::Event::PartnershipRemoved(easgate::domain::event::PartnershipRemoved {
            mailbox: "alice@contoso.com".into(),
            device_id: "Phone-1".into(),
        });
        expected.push(store.append(vec![phone]).unwrap()[0].seq);
        // Every third window stays pending in memory.
        if window % 3 != 0 {
            store.catch_up_device_index().unwrap();
        }
    }
    store.flush().unwrap();
    assert_eq!(store.index_lookup(&IndexKey::Device("phone-1".into())).unwrap(), expected);
    store.close().unwrap();
    let store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    assert_eq!(store.index_lookup(&IndexKey::Device("PHONE-1".into())).unwrap(), expected);
    store.verify(None).unwrap();
}
