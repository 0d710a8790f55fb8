//! Damage to a real sled directory, one test per kind, through the public API: each is a
//! `StoreError` whose one-line message names the first bad seq (or says the database is
//! unreadable), never a panic and never a log that silently holds fewer events.
//!
//! Damage to sled's own file (`log/db`) is applied to the bytes of the file. sled keeps its own
//! CRC on what it writes, so there a flipped byte makes sled panic or drop data rather than hand
//! back a damaged record; damage *inside a record* that sled accepts (the case the record checksum
//! and the chain exist for) is therefore made through sled itself, by rewriting a value.

use std::fs;
use std::path::Path;

use easgate::store::data_dir::{self, CommittedHead};
use easgate::store::measure::realistic_events;
use easgate::store::record::{decode_record, encode_record, record_hash};
use easgate::store::{OpenMode, Store, StoreError};
use store_support::with_raw_tree;

mod store_support;

fn build_log(data_dir: &Path, events: u64) {
    let mut store = Store::open(data_dir, OpenMode::Tail).unwrap();
    for first in (0..events).step_by(1_000) {
        store.append(realistic_events(first, 1_000.min(events - first) as usize)).unwrap();
        store.flush().unwrap();
    }
    store.close().unwrap();
}

/// Runs `change` on the raw `events` tree of the log.
fn with_raw_events_tree(data_dir: &Path, change: impl FnOnce(&sled::Tree)) {
    with_raw_tree(data_dir, "events", change);
}

fn raw_record(events: &sled::Tree, seq: u64) -> Vec<u8> {
    events.get(seq.to_be_bytes()).unwrap().unwrap().to_vec()
}

fn assert_one_line_naming(error: &StoreError, seq: u64) {
    let message = error.to_string();
    assert!(!message.contains('\n'), "not one line: {message}");
    assert!(message.contains(&format!("seq {seq}")), "does not name seq {seq}: {message}");
    assert_eq!(error.seq(), Some(seq), "{message}");
}

fn open_error(data_dir: &Path, mode: OpenMode) -> StoreError {
    match Store::open(data_dir, mode) {
        Ok(store) => panic!("a damaged log opened with {} events", store.last_seq()),
        Err(error) => error,
    }
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack.windows(needle.len()).enumerate().filter(|(_, window)| *window == needle).map(|(at, _)| at).collect()
}

#[test]
fn a_flipped_byte_in_every_copy_of_a_record_in_sleds_file_is_an_error_not_a_panic() {
    let directory = tempfile::tempdir().unwrap();
    build_log(directory.path(), 5_000);
    let db_file = directory.path().join("log/db");
    let mut bytes = fs::read(&db_file).unwrap();
    // The event id of seq 3000 is unique to that record; sled holds several copies of its page.
    let event_id = realistic_events(2_999, 1)[0].event_id;
    let copies = find_all(&bytes, event_id.as_bytes());
    assert!(!copies.is_empty(), "record not found in sled's file");
    for at in copies {
        bytes[at + 5] ^= 0x40;
    }
    fs::write(&db_file, &bytes).unwrap();
    let error = open_error(directory.path(), OpenMode::Full);
    assert!(error.is_damage(), "{error}");
    assert!(!error.to_string().contains('\n'));
    match &error {
        StoreError::Unreadable { .. } => {
            assert!(error.to_string().contains("unreadable"), "{error}");
            // No seq can be read back, so the message says what the log held (from the side file).
            assert!(error.to_string().contains("it held seq 1..=5000 when last committed"), "{error}");
        }
        StoreError::Damaged { seq, .. } => assert!(*seq <= 3_000, "{error}"),
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn a_byte_changed_inside_a_record_fails_its_checksum_at_that_seq() {
    let directory = tempfile::tempdir().unwrap();
    build_log(directory.path(), 1_000);
    with_raw_events_tree(directory.path(), |events| {
        let mut record = raw_record(events, 300);
        record[150] ^= 0x01;
        events.insert(300u64.to_be_bytes(), record).unwrap();
    });
    let error = open_error(directory.path(), OpenMode::Full);
    assert_one_line_naming(&error, 300);
    assert!(error.to_string().contains("checksum mismatch"), "{error}");
}

#[test]
fn truncating_sleds_file_to_half_is_an_error_naming_the_first_lost_seq() {
    let directory = tempfile::tempdir().unwrap();
    build_log(directory.path(), 5_000);
    let db_file = directory.path().join("log/db");
    let length = fs::metadata(&db_file).unwrap().len();
    fs::OpenOptions::new().write(true).open(&db_file).unwrap().set_len(length / 2).unwrap();
    let error = open_error(directory.path(), OpenMode::Tail);
    match &error {
        StoreError::Damaged { seq, .. } => {
            assert!(*seq <= 5_000);
            assert_one_line_naming(&error, *seq);
            assert!(error.to_string().contains("side file records seq 5000"), "{error}");
        }
        StoreError::Unreadable { .. } => assert!(error.to_string().contains("unreadable")),
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn any_truncation_of_sleds_file_is_an_error_or_keeps_every_event() {
    let directory = tempfile::tempdir().unwrap();
    build_log(directory.path(), 3_000);
    let pristine = directory.path().join("pristine");
    fs::create_dir(&pristine).unwrap();
    let db_file = directory.path().join("log/db");
    let original = fs::read(&db_file).unwrap();
    for percent in [5u64, 25, 50, 75, 90, 99] {
        fs::write(&db_file, &original[..(original.len() as u64 * percent / 100) as usize]).unwrap();
        match Store::open(directory.path(), OpenMode::Full) {
            Ok(store) => {
                assert_eq!(store.last_seq(), 3_000, "truncation to {percent}% lost events silently");
                assert_eq!(store.events_from(1).unwrap().filter(Result::is_ok).count(), 3_000);
            }
            Err(error) => assert!(error.is_damage(), "truncation to {percent}%: {error}"),
        }
        fs::write(&db_file, &original).unwrap();
    }
}

#[test]
fn a_deleted_record_is_reported_missing_at_its_seq() {
    let directory = tempfile::tempdir().unwrap();
    build_log(directory.path(), 1_000);
    with_raw_events_tree(directory.path(), |events| {
        events.remove(500u64.to_be_bytes()).unwrap();
    });
    let error = open_error(directory.path(), OpenMode::Tail);
    assert_one_line_naming(&error, 500);
    assert!(error.to_string().contains("record missing"), "{error}");
}

#[test]
fn a_deleted_last_record_disagrees_with_the_side_file() {
    let directory = tempfile::tempdir().unwrap();
    build_log(directory.path(), 1_000);
    with_raw_events_tree(directory.path(), |events| {
        events.remove(1_000u64.to_be_bytes()).unwrap();
    });
    let error = open_error(directory.path(), OpenMode::Tail);
    assert_one_line_naming(&error, 1_000);
    assert!(error.to_string().contains("side file"), "{error}");
}

#[test]
fn a_record_rewritten_with_a_valid_checksum_but_a_wrong_prev_hash_breaks_the_chain_at_its_seq() {
    let directory = tempfile::tempdir().unwrap();
    build_log(directory.path(), 1_000);
    with_raw_events_tree(directory.path(), |events| {
        let record = raw_record(events, 300);
        let (mut envelope, payload) = decode_record(&record).unwrap();
        envelope.prev_hash = [0x11; 32];
        events.insert(300u64.to_be_bytes(), encode_record(&envelope, payload)).unwrap();
    });
    let error = open_error(directory.path(), OpenMode::Full);
    assert_one_line_naming(&error, 300);
    assert!(error.to_string().contains("hash chain broken"), "{error}");
}

#[test]
fn a_payload_altered_with_a_recomputed_checksum_breaks_the_chain_at_the_next_seq() {
    let directory = tempfile::tempdir().unwrap();
    build_log(directory.path(), 1_000);
    with_raw_events_tree(directory.path(), |events| {
        let record = raw_record(events, 300);
        let (envelope, payload) = decode_record(&record).unwrap();
        let mut payload = payload.to_vec();
        let last = payload.len() - 3;
        payload[last] ^= 0x02; // a character of a string near the end
        events.insert(300u64.to_be_bytes(), encode_record(&envelope, &payload)).unwrap();
    });
    let error = open_error(directory.path(), OpenMode::Full);
    assert_one_line_naming(&error, 301);
}

#[test]
fn a_garbage_sled_file_that_sled_opens_as_empty_is_an_error_naming_seq_1() {
    for fill in ["zeros", "noise"] {
        let directory = tempfile::tempdir().unwrap();
        build_log(directory.path(), 2_000);
        let db_file = directory.path().join("log/db");
        let mut bytes = fs::read(&db_file).unwrap();
        let mut state: u32 = 12_345;
        for byte in bytes.iter_mut() {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *byte = if fill == "zeros" { 0 } else { (state >> 24) as u8 };
        }
        fs::write(&db_file, &bytes).unwrap();
        let error = open_error(directory.path(), OpenMode::Tail);
        if let StoreError::Unreadable { .. } = error {
            continue;
        }
        assert_one_line_naming(&error, 1);
        assert!(error.to_string().contains("sled lost records 1..=2000"), "{fill}: {error}");
    }
}

#[test]
fn a_data_directory_of_a_newer_format_is_refused_with_a_clear_message() {
    let directory = tempfile::tempdir().unwrap();
    build_log(directory.path(), 10);
    fs::write(directory.path().join("FORMAT"), "easgate-data 2\n").unwrap();
    let error = open_error(directory.path(), OpenMode::Tail);
    assert!(matches!(error, StoreError::NewerFormat { found: 2, supported: 1, .. }), "{error}");
    assert!(error.to_string().contains("upgrade easgate"), "{error}");
}

#[test]
fn a_missing_side_file_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    build_log(directory.path(), 10);
    fs::remove_file(data_dir::head_path(directory.path())).unwrap();
    let error = open_error(directory.path(), OpenMode::Tail);
    assert!(matches!(error, StoreError::BadDataDirectory { .. }), "{error}");
    assert!(error.to_string().contains("side file is missing"), "{error}");
}

#[test]
fn a_record_of_an_unknown_event_type_is_an_error_naming_its_seq_and_type() {
    let directory = tempfile::tempdir().unwrap();
    build_log(directory.path(), 10);
    // A well-formed record (checksum, chain, side file) of a type this easgate does not know,
    // as a newer easgate would write it.
    with_raw_events_tree(directory.path(), |events| {
        let last = raw_record(events, 10);
        let (mut envelope, _) = decode_record(&last).unwrap();
        envelope.seq = 11;
        envelope.event_type = 999;
        envelope.prev_hash = record_hash(&last);
        let record = encode_record(&envelope, b"\x01\x02");
        events.insert(11u64.to_be_bytes(), record.clone()).unwrap();
        data_dir::write_head(directory.path(), CommittedHead { seq: 11, hash: record_hash(&record) }).unwrap();
    });
    // The open brings the device index up to date, which decodes the new record.
    let error = open_error(directory.path(), OpenMode::Tail);
    assert_one_line_naming(&error, 11);
    assert!(error.to_string().contains("unknown event type 999 (version 1)"), "{error}");
}

#[test]
fn the_parallel_full_check_names_the_lowest_bad_seq_across_its_segments() {
    let directory = tempfile::tempdir().unwrap();
    build_log(directory.path(), 40_000);
    with_raw_events_tree(directory.path(), |events| {
        events.remove(30_000u64.to_be_bytes()).unwrap();
    });
    let error = open_error(directory.path(), OpenMode::Full);
    assert_one_line_naming(&error, 30_000);
    with_raw_events_tree(directory.path(), |events| {
        let record = raw_record(events, 10_000);
        let (mut envelope, payload) = decode_record(&record).unwrap();
        envelope.prev_hash = [0x22; 32];
        events.insert(10_000u64.to_be_bytes(), encode_record(&envelope, payload)).unwrap();
    });
    let error = open_error(directory.path(), OpenMode::Full);
    assert_one_line_naming(&error, 10_000);
    assert!(error.to_string().contains("hash chain broken"), "{error}");
}
