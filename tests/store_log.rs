//! The store's contract on a real sled directory: gap-free seqs from 1, the chain, group commit
//! and the side file, reopening, recovery of records sled kept beyond the side file, reads.

use easgate::domain::event::{ComplianceObserved, Event, SyncStarted};
use easgate::domain::vocabulary::{Compliance, SyncKind, SyncTrigger};
use easgate::store::data_dir::{self, CommittedHead};
use easgate::store::measure::{realistic_event, realistic_events};
use easgate::store::record::{ZERO_HASH, decode_record, record_hash};
use easgate::store::{NewEvent, OpenMode, Store, StoreError};
use uuid::Uuid;

fn sync_started(index: u128) -> NewEvent {
    NewEvent {
        recorded_at_us: 1_767_225_600_000_000 + index as i64,
        event_id: Uuid::from_u128(index),
        correlation_id: Some(Uuid::from_u128(1000 + index)),
        causation_id: None,
        event: Event::SyncStarted(SyncStarted {
            run_id: Uuid::from_u128(index),
            kind: SyncKind::Quick,
            trigger: SyncTrigger::Manual,
        }),
    }
}

#[test]
fn appended_events_get_gap_free_seqs_from_1_and_read_back_equal() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    let first = store.append(realistic_events(0, 5)).unwrap();
    let second = store.append(realistic_events(5, 4)).unwrap();
    assert_eq!(first.iter().chain(&second).map(|event| event.seq).collect::<Vec<_>>(), (1..=9).collect::<Vec<_>>());
    assert_eq!(store.len(), 9);
    let read: Vec<_> = store.events_from(1).unwrap().map(Result::unwrap).collect();
    assert_eq!(read, [first, second].concat());
    assert_eq!(store.read(4).unwrap().unwrap().event, realistic_event(3).event);
    assert_eq!(store.read(10).unwrap(), None);
}

#[test]
fn each_record_carries_the_hash_of_the_previous_one() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    store.append(realistic_events(0, 3)).unwrap();
    let records: Vec<_> = store.records_from(1).unwrap().map(Result::unwrap).collect();
    assert_eq!(records[0].envelope().prev_hash, ZERO_HASH);
    assert_eq!(records[1].envelope().prev_hash, record_hash(records[0].bytes()));
    assert_eq!(records[2].envelope().prev_hash, record_hash(records[1].bytes()));
    assert_eq!(store.last_hash(), record_hash(records[2].bytes()));
    let (envelope, _) = decode_record(records[1].bytes()).unwrap();
    assert_eq!(envelope.seq, 2);
}

#[test]
fn flush_records_the_last_seq_and_hash_in_the_side_file() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    assert_eq!(data_dir::read_head(directory.path()).unwrap(), Some(CommittedHead::EMPTY));
    store.append(realistic_events(0, 1_000)).unwrap();
    assert_eq!(store.committed_seq(), 0, "appending alone is not durable");
    store.flush().unwrap();
    let head = data_dir::read_head(directory.path()).unwrap().unwrap();
    assert_eq!(head, CommittedHead { seq: 1_000, hash: store.last_hash() });
    assert_eq!(store.committed_seq(), 1_000);
}

#[test]
fn a_reopened_store_continues_the_sequence_and_the_chain() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    store.append_durable(vec![sync_started(1), sync_started(2)]).unwrap();
    store.close().unwrap();
    let mut store = Store::open(directory.path(), OpenMode::Full).unwrap();
    assert_eq!(store.open_report().records_checked, 2);
    let recorded = store.append_durable(vec![sync_started(3)]).unwrap();
    assert_eq!(recorded[0].seq, 3);
    let seqs: Vec<u64> = store.events_from(1).unwrap().map(|event| event.unwrap().seq).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert_eq!(store.read(3).unwrap().unwrap().correlation_id, Some(Uuid::from_u128(1003)));
}

#[test]
fn records_sled_kept_beyond_the_side_file_are_accepted_and_recorded_at_open() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    store.append_durable(realistic_events(0, 10)).unwrap();
    // Appended but never flushed by easgate: sled's own drop (or background flush) writes them,
    // as when the process dies between sled's write and the side-file update.
    store.append(realistic_events(10, 5)).unwrap();
    drop(store);
    assert_eq!(data_dir::read_head(directory.path()).unwrap().unwrap().seq, 10);
    let store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    assert_eq!(store.last_seq(), 15);
    assert_eq!(store.open_report().side_file_seq, 10);
    assert_eq!(data_dir::read_head(directory.path()).unwrap().unwrap().seq, 15);
}

#[test]
fn a_range_read_stops_at_its_end_and_starts_with_the_chain_checked() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    store.append(realistic_events(0, 20)).unwrap();
    let seqs: Vec<u64> = store.events_range(5, 8).unwrap().map(|event| event.unwrap().seq).collect();
    assert_eq!(seqs, vec![5, 6, 7, 8]);
    assert_eq!(store.events_from(21).unwrap().count(), 0);
    assert_eq!(store.events_range(18, 500).unwrap().count(), 3);
}

#[test]
fn a_second_store_on_the_same_directory_is_refused_as_in_use() {
    let directory = tempfile::tempdir().unwrap();
    let _store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    let error = Store::open(directory.path(), OpenMode::Tail).err().unwrap();
    assert!(matches!(error, StoreError::InUse { .. }), "{error}");
}

#[test]
fn managed_device_and_command_events_appear_in_a_device_history() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    // Events 0..3 concern device 0 (discovered, decided, cmdlet requested); 3..6 device 1.
    store.append(realistic_events(0, 6)).unwrap();
    let device_id = match &realistic_event(0).event {
        Event::DeviceDiscovered(discovered) => discovered.device_id.clone(),
        other => panic!("unexpected {other:?}"),
    };
    let command_id = match &realistic_event(2).event {
        Event::CmdletRequested(requested) => requested.command_id,
        other => panic!("unexpected {other:?}"),
    };
    let outcome =
        Event::CmdletSucceeded(easgate::domain::event::CmdletSucceeded { command_id, cmdlet: "Set-CASMailbox".into() });
    let mapped = Event::DeviceMapped(easgate::domain::event::DeviceMapped {
        mailbox: "user000000@contoso.com".into(),
        device_id: device_id.to_uppercase(),
        managed_device_id: "MD-1".into(),
    });
    let compliance = Event::ComplianceObserved(ComplianceObserved {
        managed_device_id: "md-1".into(),
        compliance: Compliance::Compliant,
    });
    let extra = [outcome, mapped, compliance].into_iter().enumerate().map(|(index, event)| NewEvent {
        recorded_at_us: 0,
        event_id: Uuid::from_u128(index as u128 + 100),
        correlation_id: None,
        causation_id: None,
        event,
    });
    store.append(extra.collect()).unwrap();
    store.flush().unwrap();
    let seqs: Vec<u64> =
        store.device_history(&device_id.to_lowercase()).unwrap().iter().map(|event| event.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 7, 8, 9]);
    // Written to sled (close) and read back after reopening: the same answer.
    store.close().unwrap();
    let store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    let seqs: Vec<u64> = store.device_history(&device_id).unwrap().iter().map(|event| event.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 7, 8, 9]);
}

#[test]
fn an_event_too_large_for_a_record_is_refused_and_the_store_stays_usable() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    let mut huge = realistic_event(0);
    if let Event::DeviceDiscovered(discovered) = &mut huge.event {
        discovered.user_agent = "x".repeat(17 * 1024 * 1024);
    }
    let error = store.append(vec![realistic_event(0), huge]).unwrap_err();
    assert!(matches!(error, StoreError::Refused(_)), "{error}");
    assert!(error.to_string().contains("more than the 16777216 bytes a record may hold"), "{error}");
    assert_eq!(store.len(), 0, "nothing of the refused batch was appended");
    assert_eq!(store.append_durable(vec![realistic_event(0)]).unwrap()[0].seq, 1);
}
