//! The checks a `Store` runs when it opens: the last record against the side file (sled can open
//! a truncated file with fewer records and say nothing), the first record, and the hash chain
//! from the latest snapshot (`OpenMode::Tail`) or from seq 1 (`OpenMode::Full`) to the end.

use std::path::Path;

use crate::store::data_dir::CommittedHead;
use crate::store::error::StoreError;
use crate::store::read::{check_chain, key_seq, read_record};
use crate::store::record::{ZERO_HASH, hash_hex};
use crate::store::sled_guard::sled_call;
use crate::store::snapshot;

/// How much of the log `Store::open` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenMode {
    /// The side file against the log's end, seq 1 present, and checksum, contiguity and chain of
    /// every record after the latest snapshot that matches the log (all records when there is
    /// none). Records before the snapshot are checked as they are read.
    #[default]
    Tail,
    /// Checksum, contiguity and chain of every record.
    Full,
}

/// What the open checks found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReport {
    pub mode: OpenMode,
    /// The last record of the log.
    pub last_seq: u64,
    /// The side file's seq before the open (the last seq a flush completed).
    pub side_file_seq: u64,
    /// The first seq whose chain was checked (1, or the snapshot's seq + 1).
    pub checked_from_seq: u64,
    /// Records whose checksum and chain were checked.
    pub records_checked: u64,
    /// Events the device index re-derived from the log (written before a crash but not indexed).
    pub index_events_repaired: u64,
}

/// The result of the log checks: the log's last record, and from where its chain was checked.
pub(crate) struct LogEnd {
    pub head: CommittedHead,
    pub checked_from_seq: u64,
    pub records_checked: u64,
}

pub(crate) fn check_log(
    events: &sled::Tree,
    data_dir: &Path,
    log_path: &Path,
    side_file: CommittedHead,
    mode: OpenMode,
) -> Result<LogEnd, StoreError> {
    let last_seq = last_seq(events, log_path)?;
    if last_seq < side_file.seq {
        let detail = format!(
            "the log ends at seq {last_seq} but the side file records seq {} as committed: sled lost records {}..={}",
            side_file.seq,
            last_seq + 1,
            side_file.seq
        );
        return Err(StoreError::damaged(last_seq + 1, detail));
    }
    if last_seq == 0 {
        return Ok(LogEnd { head: CommittedHead::EMPTY, checked_from_seq: 1, records_checked: 0 });
    }
    check_first_record(events, log_path)?;
    check_side_file_record(events, log_path, side_file)?;
    let (from_seq, previous_hash) = match mode {
        OpenMode::Full => (1, ZERO_HASH),
        OpenMode::Tail => tail_start(events, data_dir, log_path, last_seq)?,
    };
    let threads = std::thread::available_parallelism().map_or(1, |threads| threads.get());
    let last_hash = check_chain(events, log_path, from_seq, last_seq, previous_hash, threads)?;
    let head = CommittedHead { seq: last_seq, hash: last_hash };
    let records_checked = (last_seq + 1).saturating_sub(from_seq);
    Ok(LogEnd { head, checked_from_seq: from_seq, records_checked })
}

fn last_seq(events: &sled::Tree, log_path: &Path) -> Result<u64, StoreError> {
    let last = sled_call(|| events.last()).map_err(|failure| failure.into_store_error(log_path, None))?;
    match last {
        None => Ok(0),
        Some((key, _)) => key_seq(&key).ok_or_else(|| StoreError::Unreadable {
            path: log_path.to_path_buf(),
            detail: "the last key of the events tree is not a seq".into(),
        }),
    }
}

fn check_first_record(events: &sled::Tree, log_path: &Path) -> Result<(), StoreError> {
    let first = sled_call(|| events.first()).map_err(|failure| failure.into_store_error(log_path, Some(1)))?;
    match first.and_then(|(key, _)| key_seq(&key)) {
        Some(1) => Ok(()),
        Some(seq) => Err(StoreError::damaged(1, format!("record missing: the log starts at seq {seq}"))),
        None => Err(StoreError::damaged(1, "record missing")),
    }
}

fn check_side_file_record(events: &sled::Tree, log_path: &Path, side_file: CommittedHead) -> Result<(), StoreError> {
    if side_file.seq == 0 {
        return Ok(());
    }
    let record = read_record(events, log_path, side_file.seq)?
        .ok_or_else(|| StoreError::damaged(side_file.seq, "record missing (the side file records it as committed)"))?;
    if record.hash() != side_file.hash {
        let detail = format!(
            "the record's hash {} differs from the side file's {} (the record was altered)",
            hash_hex(&record.hash()),
            hash_hex(&side_file.hash)
        );
        return Err(StoreError::damaged(side_file.seq, detail));
    }
    Ok(())
}

/// Where the tail check starts: after the newest snapshot whose record hash matches the log.
fn tail_start(
    events: &sled::Tree,
    data_dir: &Path,
    log_path: &Path,
    last_seq: u64,
) -> Result<(u64, [u8; 32]), StoreError> {
    for stored in snapshot::stored_snapshots(data_dir)? {
        if snapshot::matches_log(&stored, events, log_path, last_seq)? {
            return Ok((stored.seq + 1, stored.hash));
        }
    }
    Ok((1, ZERO_HASH))
}
