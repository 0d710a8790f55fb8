//! Projection snapshots: the projection's own bytes at a seq, with the hash of the record at that
//! seq (tying the snapshot to this exact log) and the projection's format id. Snapshots are never
//! upcast: one whose format id differs from the caller's is ignored and rebuilt by a replay.
//!
//! Value layout in the `snapshots` tree (key = seq, big-endian): format byte 1, seq u64,
//! hash [32], format_id u32, length u32, bytes, crc32c of everything before it (big-endian).

use std::path::Path;

use crate::store::error::StoreError;
use crate::store::read::{read_record, seq_key};
use crate::store::sled_guard::{catch_quietly, sled_call};

const SNAPSHOT_FORMAT: u8 = 1;
const SNAPSHOT_HEADER_LEN: usize = 1 + 8 + 32 + 4 + 4;
/// Snapshots kept; older ones are deleted when a new one is saved.
pub const SNAPSHOTS_KEPT: usize = 2;
/// Snapshots examined when looking for a valid one (bounds the scan of a damaged tree).
const SNAPSHOTS_EXAMINED: usize = 16;

/// A projection snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The last seq folded into the projection.
    pub seq: u64,
    /// The hash of the record at `seq`.
    pub hash: [u8; 32],
    /// The projection's serialisation format; a different one means "rebuild".
    pub format_id: u32,
    pub bytes: Vec<u8>,
}

pub(crate) fn encode_snapshot(snapshot: &Snapshot) -> Vec<u8> {
    let mut value = Vec::with_capacity(SNAPSHOT_HEADER_LEN + snapshot.bytes.len() + 4);
    value.push(SNAPSHOT_FORMAT);
    value.extend_from_slice(&snapshot.seq.to_be_bytes());
    value.extend_from_slice(&snapshot.hash);
    value.extend_from_slice(&snapshot.format_id.to_be_bytes());
    let length = u32::try_from(snapshot.bytes.len()).unwrap_or(u32::MAX);
    value.extend_from_slice(&length.to_be_bytes());
    value.extend_from_slice(&snapshot.bytes);
    let checksum = crc32c::crc32c(&value);
    value.extend_from_slice(&checksum.to_be_bytes());
    value
}

/// Decodes a stored snapshot; `None` when it is damaged (a damaged snapshot is just not used).
pub(crate) fn decode_snapshot(value: &[u8]) -> Option<Snapshot> {
    let body = value.get(..value.len().checked_sub(4)?)?;
    let stored = u32::from_be_bytes(value.get(body.len()..)?.try_into().ok()?);
    if stored != crc32c::crc32c(body) || body.len() < SNAPSHOT_HEADER_LEN || body[0] != SNAPSHOT_FORMAT {
        return None;
    }
    let seq = u64::from_be_bytes(body[1..9].try_into().ok()?);
    let hash: [u8; 32] = body[9..41].try_into().ok()?;
    let format_id = u32::from_be_bytes(body[41..45].try_into().ok()?);
    let length = u32::from_be_bytes(body[45..49].try_into().ok()?) as usize;
    let bytes = body.get(SNAPSHOT_HEADER_LEN..)?;
    if bytes.len() != length {
        return None;
    }
    Some(Snapshot { seq, hash, format_id, bytes: bytes.to_vec() })
}

/// Stored snapshots, newest first, decoded (damaged ones skipped), at most `SNAPSHOTS_EXAMINED`.
pub(crate) fn stored_snapshots(tree: &sled::Tree, log_path: &Path) -> Result<Vec<Snapshot>, StoreError> {
    let entries = catch_quietly(|| tree.iter().rev())
        .map_err(|message| StoreError::Unreadable { path: log_path.to_path_buf(), detail: message })?;
    let mut snapshots = Vec::new();
    for entry in entries.take(SNAPSHOTS_EXAMINED) {
        let (_, value) = sled_call(|| entry).map_err(|failure| failure.into_store_error(log_path, None))?;
        if let Some(snapshot) = decode_snapshot(&value) {
            snapshots.push(snapshot);
        }
    }
    Ok(snapshots)
}

/// Whether a snapshot belongs to this log: its seq exists and the record there has its hash.
pub(crate) fn matches_log(
    snapshot: &Snapshot,
    events: &sled::Tree,
    log_path: &Path,
    last_seq: u64,
) -> Result<bool, StoreError> {
    if snapshot.seq == 0 || snapshot.seq > last_seq {
        return Ok(false);
    }
    Ok(read_record(events, log_path, snapshot.seq)?.is_some_and(|record| record.hash() == snapshot.hash))
}

/// Inserts a snapshot and deletes all but the newest `SNAPSHOTS_KEPT`.
pub(crate) fn save(tree: &sled::Tree, log_path: &Path, snapshot: &Snapshot) -> Result<(), StoreError> {
    let to_store = |failure: crate::store::sled_guard::SledFailure| failure.into_store_error(log_path, None);
    sled_call(|| tree.insert(seq_key(snapshot.seq), encode_snapshot(snapshot))).map_err(to_store)?;
    let keys = catch_quietly(|| tree.iter().keys().rev())
        .map_err(|message| StoreError::Unreadable { path: log_path.to_path_buf(), detail: message })?;
    let mut older = Vec::new();
    for key in keys.skip(SNAPSHOTS_KEPT).take(SNAPSHOTS_EXAMINED) {
        older.push(sled_call(|| key).map_err(to_store)?);
    }
    for key in older {
        sled_call(|| tree.remove(key)).map_err(to_store)?;
    }
    Ok(())
}
