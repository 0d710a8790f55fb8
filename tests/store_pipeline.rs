//! The read-ahead fold (`Store::for_each_event`, `data::fold_log`): it hands over exactly the
//! events the checked iterator yields, in order; damage before a snapshot (which a tail open does
//! not read) is still an error naming the first bad seq, after every event before it; and the
//! fold that moves events into the projection ends where the fold that borrows them does.

use std::fs;
use std::path::Path;

use easgate::domain::RecordedEvent;
use easgate::domain::projection::{Projection, evolve};
use easgate::store::measure::realistic_events;
use easgate::store::record::{decode_record, encode_record};
use easgate::store::{ImportDefaults, OpenMode, Store, StoreError};
use store_support::with_raw_tree;

mod store_support;

/// Long enough that the events are read on a second thread (several batches).
const EVENTS: u64 = 12_000;

fn store_with(directory: &Path, events: u64) -> Store {
    let mut store = Store::open(directory, OpenMode::Tail).unwrap();
    for first in (0..events).step_by(1_000) {
        store.append(realistic_events(first, 1_000.min(events - first) as usize)).unwrap();
    }
    store.flush().unwrap();
    store
}

/// Runs `change` on the raw `events` tree of the log.
fn with_raw_events(directory: &Path, change: impl FnOnce(&sled::Tree)) {
    with_raw_tree(directory, "events", change);
}

/// A log of `EVENTS` events with a snapshot near its end (so a tail open reads only after it),
/// damaged by `change`, then opened at its tail.
fn damaged_below_the_snapshot(directory: &Path, change: impl FnOnce(&sled::Tree)) -> Store {
    let mut store = store_with(directory, EVENTS);
    store.save_snapshot(EVENTS - 100, 7, vec![1, 2, 3]).unwrap();
    store.flush().unwrap();
    store.close().unwrap();
    with_raw_events(directory, change);
    Store::open(directory, OpenMode::Tail).unwrap()
}

fn handed_over(store: &Store, from_seq: u64, until_seq: u64) -> (Vec<RecordedEvent>, Result<u64, StoreError>) {
    let mut events = Vec::new();
    let result = store.for_each_event(from_seq, until_seq, |event| events.push(event));
    (events, result)
}

/// The events `for_each_view` hands over, each made owned again; `slow` sleeps now and then so
/// that batches pile up and the reading thread decodes them (into views of its batch).
fn handed_over_as_views(
    store: &Store,
    from_seq: u64,
    until_seq: u64,
    slow: bool,
) -> (Vec<RecordedEvent>, Result<u64, StoreError>) {
    let mut events = Vec::new();
    let result = store.for_each_view(from_seq, until_seq, |view| {
        if slow && view.seq % 1_024 == 1 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        events.push(view.map_text(str::to_string));
    });
    (events, result)
}

/// Both entry points hand over, in order, exactly the events the checked iterator yields: as
/// events, and as views whichever thread decodes them.
#[test]
fn every_event_and_every_view_is_what_the_checked_iterator_yields_in_order() {
    let directory = tempfile::tempdir().unwrap();
    let store = store_with(directory.path(), EVENTS);
    for (from_seq, until_seq) in [(1, u64::MAX), (2_500, 7_777), (11_990, EVENTS), (5, 9)] {
        let expected: Vec<RecordedEvent> =
            store.events_range(from_seq, until_seq).unwrap().map(|event| event.unwrap()).collect();
        let (events, result) = handed_over(&store, from_seq, until_seq);
        assert_eq!(result.unwrap(), expected.len() as u64);
        assert_eq!(events, expected, "{from_seq}..={until_seq}");
        for slow in [false, true] {
            let (events, result) = handed_over_as_views(&store, from_seq, until_seq, slow);
            assert_eq!(result.unwrap(), expected.len() as u64);
            assert_eq!(events, expected, "{from_seq}..={until_seq}, slow fold: {slow}");
        }
    }
}

#[test]
fn a_hole_is_named_after_every_event_before_it_was_handed_over() {
    let directory = tempfile::tempdir().unwrap();
    let store = damaged_below_the_snapshot(directory.path(), |events| {
        events.remove(5_000u64.to_be_bytes()).unwrap();
    });
    let (events, result) = handed_over(&store, 1, u64::MAX);
    let error = result.unwrap_err();
    assert_eq!(error.seq(), Some(5_000), "{error}");
    assert!(error.to_string().contains("record missing"), "{error}");
    assert_eq!(events.len(), 4_999);
    assert!(events.iter().zip(1..).all(|(event, seq)| event.seq == seq));
}

#[test]
fn a_broken_link_is_named_at_its_seq() {
    let directory = tempfile::tempdir().unwrap();
    let store = damaged_below_the_snapshot(directory.path(), |events| {
        let record = events.get(6_000u64.to_be_bytes()).unwrap().unwrap().to_vec();
        let (mut envelope, payload) = decode_record(&record).unwrap();
        envelope.prev_hash = [0x11; 32];
        events.insert(6_000u64.to_be_bytes(), encode_record(&envelope, payload)).unwrap();
    });
    let (events, result) = handed_over(&store, 1, u64::MAX);
    let error = result.unwrap_err();
    assert_eq!(error.seq(), Some(6_000), "{error}");
    assert!(error.to_string().contains("hash chain broken"), "{error}");
    assert_eq!(events.len(), 5_999);
}

#[test]
fn a_flipped_byte_is_named_at_its_seq() {
    let directory = tempfile::tempdir().unwrap();
    let store = damaged_below_the_snapshot(directory.path(), |events| {
        let mut record = events.get(7_000u64.to_be_bytes()).unwrap().unwrap().to_vec();
        record[120] ^= 0x04;
        events.insert(7_000u64.to_be_bytes(), record).unwrap();
    });
    let mut projection = Projection::default();
    let error = easgate::data::fold_log(&store, &mut projection).unwrap_err();
    assert_eq!(error.seq(), Some(7_000), "{error}");
    assert!(error.to_string().contains("checksum"), "{error}");
    assert_eq!(projection.last_seq, 6_999);
}

fn borrowed_fold(store: &Store) -> Projection {
    let mut projection = Projection::default();
    for event in store.events_from(1).unwrap() {
        evolve(&mut projection, &event.unwrap());
    }
    projection
}

#[test]
fn the_fold_that_moves_events_ends_where_the_fold_that_borrows_them_does() {
    let directory = tempfile::tempdir().unwrap();
    let store = store_with(directory.path(), EVENTS);
    let mut moved = Projection::default();
    assert_eq!(easgate::data::fold_log(&store, &mut moved).unwrap(), EVENTS);
    assert_eq!(moved, borrowed_fold(&store));
    assert_eq!(moved.owed_notifications, borrowed_fold(&store).owed_notifications);
    let mut rebuilt = moved.clone();
    rebuilt.rebuild_indexes();
    assert_eq!(moved.owed_notifications, rebuilt.owed_notifications);
}

#[test]
fn every_recorded_history_folds_the_same_moved_or_borrowed() {
    let histories = Path::new(env!("CARGO_MANIFEST_DIR")).join("replay/histories");
    let (mut folded, mut owed) = (0, 0);
    for entry in fs::read_dir(&histories).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|extension| extension != "jsonl") {
            continue;
        }
        let directory = tempfile::tempdir().unwrap();
        let mut store = Store::open(directory.path(), OpenMode::Full).unwrap();
        let mut counter = 0u128;
        let mut new_event_id = || {
            counter += 1;
            uuid::Uuid::from_u128(counter)
        };
        let input = std::io::BufReader::new(fs::File::open(&path).unwrap());
        store.import_json_lines(input, ImportDefaults { recorded_at_us: 0, new_event_id: &mut new_event_id }).unwrap();
        let moved = easgate::data::load_projection(&store).unwrap();
        let borrowed = borrowed_fold(&store);
        assert_eq!(moved, borrowed, "{}", path.display());
        assert_eq!(moved.owed_notifications, borrowed.owed_notifications, "{}", path.display());
        assert_eq!(moved.anomalies, borrowed.anomalies, "{}", path.display());
        owed += owed_set_follows_every_event(&store, &path.display().to_string());
        folded += 1;
    }
    assert!(folded >= 3, "only {folded} histories under {}", histories.display());
    assert!(owed > 0, "no history ever owes a mail: the owed set goes untested");
}

/// Folds `store` event by event, checking after each one that the derived sets the fold keeps
/// (mails owed, the indexes by DeviceId and by mailbox) equal the sets rebuilt from the devices,
/// as a snapshot load rebuilds them. Returns the events after which a mail was owed.
fn owed_set_follows_every_event(store: &Store, name: &str) -> usize {
    let mut projection = Projection::default();
    let mut owing_events = 0;
    for event in store.events_from(1).unwrap() {
        let event = event.unwrap();
        evolve(&mut projection, &event);
        let mut rebuilt = projection.clone();
        rebuilt.rebuild_indexes();
        let at = format!("{name} at seq {}", event.seq);
        assert_eq!(projection.owed_notifications, rebuilt.owed_notifications, "{at}");
        assert_eq!(projection.devices_by_id, rebuilt.devices_by_id, "{at}");
        assert_eq!(projection.devices_by_mailbox, rebuilt.devices_by_mailbox, "{at}");
        owing_events += usize::from(!projection.owed_notifications.is_empty());
    }
    owing_events
}

/// A record whose checksum holds but whose payload does not decode, at `seq`.
fn undecodable_payload_at(seq: u64) -> impl FnOnce(&sled::Tree) {
    move |events: &sled::Tree| {
        let record = events.get(seq.to_be_bytes()).unwrap().unwrap().to_vec();
        let (envelope, _) = decode_record(&record).unwrap();
        events.insert(seq.to_be_bytes(), encode_record(&envelope, &[0xff; 8])).unwrap();
    }
}

#[test]
fn a_payload_that_does_not_decode_is_named_at_its_seq_whichever_thread_decodes_it() {
    // Early in the log the folding thread waits, so it decodes the first batches itself.
    let directory = tempfile::tempdir().unwrap();
    let store = damaged_below_the_snapshot(directory.path(), undecodable_payload_at(10));
    let (events, result) = handed_over(&store, 1, u64::MAX);
    let error = result.unwrap_err();
    assert_eq!(error.seq(), Some(10), "{error}");
    assert!(error.to_string().contains("does not decode"), "{error}");
    assert_eq!(events.len(), 9);
    drop(store);
    // A slow fold lets batches pile up, so the reading thread decodes later ones.
    let directory = tempfile::tempdir().unwrap();
    let store = damaged_below_the_snapshot(directory.path(), undecodable_payload_at(11_000));
    let mut seqs = Vec::new();
    let result = store.for_each_event(1, u64::MAX, |event| {
        if event.seq % 1_024 == 1 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        seqs.push(event.seq);
    });
    let error = result.unwrap_err();
    assert_eq!(error.seq(), Some(11_000), "{error}");
    assert_eq!(seqs, (1..11_000).collect::<Vec<u64>>());
    // The same for a fold of views, decoded on the folding thread early and on the reading thread late.
    let (views, result) = handed_over_as_views(&store, 1, u64::MAX, true);
    let error = result.unwrap_err();
    assert_eq!(error.seq(), Some(11_000), "{error}");
    assert!(error.to_string().contains("does not decode"), "{error}");
    assert_eq!(views.len(), 10_999);
    drop(store);
    let directory = tempfile::tempdir().unwrap();
    let store = damaged_below_the_snapshot(directory.path(), undecodable_payload_at(10));
    let (views, result) = handed_over_as_views(&store, 1, u64::MAX, false);
    assert_eq!(result.unwrap_err().seq(), Some(10));
    assert_eq!(views.len(), 9);
}
