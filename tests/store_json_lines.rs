//! `easgate log` lines and `easgate log import`: the line shape, a lossless round trip into a
//! fresh data directory, and all-or-nothing import with errors naming the line and the field.

use std::io::Cursor;

use easgate::domain::RecordedEvent;
use easgate::domain::event::{Event, SyncStarted};
use easgate::domain::vocabulary::{SyncKind, SyncTrigger};
use easgate::store::measure::realistic_events;
use easgate::store::{ImportDefaults, ImportError, OpenMode, Store, StoreError, to_json_line, write_json_line};
use uuid::Uuid;

fn import(store: &mut Store, text: &str) -> Result<u64, ImportError> {
    let mut next_id = 0u128;
    let mut new_event_id = || {
        next_id += 1;
        Uuid::from_u128(0xfeed_0000 + next_id)
    };
    let defaults = ImportDefaults { recorded_at_us: 1_800_000_000_000_000, new_event_id: &mut new_event_id };
    store.import_json_lines(Cursor::new(text.as_bytes()), defaults).map(|summary| summary.events)
}

fn line_error(text: &str) -> String {
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    let error = import(&mut store, text).unwrap_err();
    assert!(matches!(error, ImportError::Line(_)), "{error}");
    assert_eq!(store.len(), 0, "a failed import appended events");
    error.to_string()
}

const DISCOVERED: &str = r#"{"type":"DeviceDiscovered","v":1,"data":{"mailbox":"a@contoso.com","device_id":"D1"}}"#;

#[test]
fn a_recorded_event_prints_as_one_line_with_the_design_keys_in_order() {
    let event = RecordedEvent {
        seq: 42,
        recorded_at_us: 1_767_225_600_000_001,
        event_id: Uuid::from_u128(1),
        correlation_id: Some(Uuid::from_u128(2)),
        causation_id: None,
        event: Event::SyncStarted(SyncStarted {
            run_id: Uuid::from_u128(3),
            kind: SyncKind::Full,
            trigger: SyncTrigger::Schedule,
        }),
    };
    assert_eq!(
        to_json_line(&event),
        concat!(
            r#"{"seq":42,"at":"2026-01-01T00:00:00.000001Z","type":"SyncStarted","v":1,"#,
            r#""event_id":"00000000-0000-0000-0000-000000000001","correlation_id":"00000000-0000-0000-0000-000000000002","#,
            r#""causation_id":null,"data":{"run_id":"00000000-0000-0000-0000-000000000003","kind":"full","trigger":"schedule"}}"#
        )
    );
}

#[test]
fn an_exported_log_imports_into_a_fresh_directory_as_the_same_chain() {
    let source_directory = tempfile::tempdir().unwrap();
    let mut source = Store::open(source_directory.path(), OpenMode::Tail).unwrap();
    source.append_durable(realistic_events(0, 2_500)).unwrap();
    let mut exported = Vec::new();
    for event in source.events_from(1).unwrap() {
        write_json_line(&event.unwrap(), &mut exported).unwrap();
    }
    let target_directory = tempfile::tempdir().unwrap();
    let mut target = Store::open(target_directory.path(), OpenMode::Tail).unwrap();
    assert_eq!(import(&mut target, std::str::from_utf8(&exported).unwrap()).unwrap(), 2_500);
    assert_eq!(target.committed_seq(), 2_500, "import flushes once at the end");
    // Same events, same envelopes: the same records, so the same hash chain.
    assert_eq!(target.last_hash(), source.last_hash());
    let source_events: Vec<_> = source.events_from(1).unwrap().map(Result::unwrap).collect();
    let target_events: Vec<_> = target.events_from(1).unwrap().map(Result::unwrap).collect();
    assert_eq!(source_events, target_events);
}

#[test]
fn lines_without_at_or_ids_get_the_defaults_and_unknown_fields_are_ignored() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    let text = format!(
        "{DISCOVERED}\n\n{}\n",
        r#"{"seq":99,"type":"PartnershipRemoved","hash":"x","data":{"mailbox":"a@contoso.com","device_id":"D1","note":"extra"}}"#
    );
    assert_eq!(import(&mut store, &text).unwrap(), 2);
    let events: Vec<_> = store.events_from(1).unwrap().map(Result::unwrap).collect();
    assert_eq!(events[1].seq, 2, "seqs are assigned by the store");
    assert_eq!(events[0].recorded_at_us, 1_800_000_000_000_000);
    assert_eq!(events[0].event_id, Uuid::from_u128(0xfeed_0001));
    assert_eq!(events[1].event.name(), "PartnershipRemoved");
}

#[test]
fn a_malformed_line_is_named_and_nothing_is_imported() {
    let message = line_error(&format!("{DISCOVERED}\n{DISCOVERED}\n{{\"type\": \n"));
    assert!(message.starts_with("line 3: malformed JSON"), "{message}");
}

#[test]
fn an_unknown_type_is_named_with_its_line_and_field() {
    let message = line_error(&format!("{DISCOVERED}\n{}\n", r#"{"type":"DeviceExploded","v":1,"data":{}}"#));
    assert_eq!(message, r#"line 2, field type: unknown event type "DeviceExploded""#);
}

#[test]
fn an_unsupported_version_is_named() {
    let message = line_error(r#"{"type":"DeviceDiscovered","v":2,"data":{"mailbox":"a","device_id":"b"}}"#);
    assert_eq!(message, "line 1, field v: DeviceDiscovered version 2 is not supported (import takes version 1)");
}

#[test]
fn a_bad_field_inside_data_is_named_by_its_path() {
    let line = r#"{"type":"AccessDecided","v":1,"data":{"mailbox":"a","device_id":"b","access":"blocked","reason":"not_compliant","inputs":{"targeted":"yes"}}}"#;
    let message = line_error(&format!("{DISCOVERED}\n{line}"));
    assert!(message.starts_with("line 2, field data.inputs.targeted: invalid type"), "{message}");
}

#[test]
fn a_missing_payload_field_and_a_bad_timestamp_are_named() {
    let message = line_error(r#"{"type":"DeviceDiscovered","v":1,"data":{"mailbox":"a"}}"#);
    assert!(message.starts_with("line 1, field data: missing field `device_id`"), "{message}");
    let message = line_error(r#"{"type":"DeviceDiscovered","at":"yesterday","data":{"mailbox":"a","device_id":"b"}}"#);
    assert!(message.starts_with(r#"line 1, field at: "yesterday" is not an RFC 3339 timestamp"#), "{message}");
    let message = line_error(r#"{"type":"CmdletSucceeded","data":{"command_id":"not-a-uuid"}}"#);
    assert!(message.starts_with("line 1, field data.command_id:"), "{message}");
}

#[test]
fn import_into_a_non_empty_data_directory_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(directory.path(), OpenMode::Tail).unwrap();
    store.append_durable(realistic_events(0, 1)).unwrap();
    let error = import(&mut store, DISCOVERED).unwrap_err();
    assert!(matches!(error, ImportError::Store(StoreError::Refused(_))), "{error}");
    assert!(error.to_string().contains("needs an empty data directory"), "{error}");
    assert_eq!(store.len(), 1);
}
