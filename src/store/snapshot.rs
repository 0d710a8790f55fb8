//! Projection snapshots: the projection's own bytes at a seq, with the hash of the record at that
//! seq (tying the snapshot to this exact log) and the projection's format id. Snapshots are never
//! upcast: one whose format id differs from the caller's is ignored and rebuilt by a replay.
//!
//! Each snapshot is a file `DATA/snapshots/<seq, 20 digits>.snapshot`, written to a temporary
//! name, synced and renamed. Files, not a sled tree: sled keeps a value it has read in memory
//! whatever its cache size, so every open (which looks at the snapshots) and every load left the
//! newest snapshots resident, tens of MB each for a large organisation. A file is read once,
//! and its memory is the caller's. Snapshots that older easgates kept in the sled tree
//! `snapshots` are not read (the first start replays the log) and are cleared when the store closes.
//!
//! File layout: format byte 1, seq u64, hash [32], format_id u32, length u32, bytes, crc32c of
//! everything before it (integers big-endian). The header alone (seq, hash, format id) tells
//! whether a snapshot belongs to the log, so an open reads 49 bytes per snapshot, not the bytes.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::store::data_dir::{sync_directory, write_atomically};
use crate::store::error::StoreError;
use crate::store::read::read_record;

/// The directory of snapshot files inside the data directory.
pub const SNAPSHOT_DIRECTORY: &str = "snapshots";
const SNAPSHOT_SUFFIX: &str = ".snapshot";
const SNAPSHOT_FORMAT: u8 = 1;
const SNAPSHOT_HEADER_LEN: usize = 1 + 8 + 32 + 4 + 4;
/// Snapshots kept; older ones are deleted when a new one is saved.
pub const SNAPSHOTS_KEPT: usize = 2;
/// Snapshots examined when looking for a valid one (bounds the scan of a damaged directory).
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

/// Decodes a snapshot file's bytes (taking them over, so a large snapshot is never copied);
/// `None` when it is damaged (a damaged snapshot is just not used).
pub(crate) fn decode_snapshot(mut value: Vec<u8>) -> Option<Snapshot> {
    let body_len = value.len().checked_sub(4)?;
    let stored = u32::from_be_bytes(value[body_len..].try_into().ok()?);
    let header = decode_header(&value[..body_len])?;
    if stored != crc32c::crc32c(&value[..body_len]) || body_len - SNAPSHOT_HEADER_LEN != header.length {
        return None;
    }
    value.truncate(body_len);
    value.drain(..SNAPSHOT_HEADER_LEN);
    Some(Snapshot { seq: header.seq, hash: header.hash, format_id: header.format_id, bytes: value })
}

/// What a snapshot file's first bytes say.
struct Header {
    seq: u64,
    hash: [u8; 32],
    format_id: u32,
    length: usize,
}

fn decode_header(bytes: &[u8]) -> Option<Header> {
    if bytes.len() < SNAPSHOT_HEADER_LEN || bytes[0] != SNAPSHOT_FORMAT {
        return None;
    }
    Some(Header {
        seq: u64::from_be_bytes(bytes[1..9].try_into().ok()?),
        hash: bytes[9..41].try_into().ok()?,
        format_id: u32::from_be_bytes(bytes[41..45].try_into().ok()?),
        length: u32::from_be_bytes(bytes[45..49].try_into().ok()?) as usize,
    })
}

/// A snapshot file, known by its header; its bytes are read by `load`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredSnapshot {
    pub seq: u64,
    pub hash: [u8; 32],
    pub format_id: u32,
    path: PathBuf,
}

impl StoredSnapshot {
    /// Reads and checks the whole snapshot; `None` when the file is damaged or unreadable.
    pub(crate) fn load(&self) -> Option<Snapshot> {
        let snapshot = decode_snapshot(fs::read(&self.path).ok()?)?;
        (snapshot.seq == self.seq && snapshot.hash == self.hash).then_some(snapshot)
    }
}

fn directory(data_dir: &Path) -> PathBuf {
    data_dir.join(SNAPSHOT_DIRECTORY)
}

fn file_name(seq: u64) -> String {
    format!("{seq:020}{SNAPSHOT_SUFFIX}")
}

/// What the snapshot directory holds, from the names alone: snapshot files by seq, newest
/// first, and temporary files a crash left in the middle of a save (never read: only a rename
/// makes a snapshot).
struct Listing {
    snapshots: Vec<(u64, PathBuf)>,
    interrupted: Vec<PathBuf>,
}

fn listing(data_dir: &Path) -> Result<Listing, StoreError> {
    let directory = directory(data_dir);
    let mut listing = Listing { snapshots: Vec::new(), interrupted: Vec::new() };
    let entries = match fs::read_dir(&directory) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(listing),
        Err(error) => return Err(StoreError::io("cannot list", &directory, error)),
    };
    for entry in entries {
        let entry = entry.map_err(|error| StoreError::io("cannot list", &directory, error))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(seq) = name.strip_suffix(SNAPSHOT_SUFFIX).and_then(|seq| seq.parse::<u64>().ok()) {
            listing.snapshots.push((seq, entry.path()));
        } else if name.starts_with('.') && name.ends_with(".snapshot.tmp") {
            listing.interrupted.push(entry.path());
        }
    }
    // Newest first.
    listing.snapshots.sort_unstable_by_key(|(seq, _)| std::cmp::Reverse(*seq));
    Ok(listing)
}

/// Stored snapshots, newest first, known by their headers (damaged headers skipped), at most
/// `SNAPSHOTS_EXAMINED`.
pub(crate) fn stored_snapshots(data_dir: &Path) -> Result<Vec<StoredSnapshot>, StoreError> {
    let mut snapshots = Vec::new();
    for (seq, path) in listing(data_dir)?.snapshots.into_iter().take(SNAPSHOTS_EXAMINED) {
        let mut header = [0u8; SNAPSHOT_HEADER_LEN];
        let read = fs::File::open(&path).and_then(|mut file| file.read_exact(&mut header));
        if let (Ok(()), Some(decoded)) = (read, decode_header(&header))
            && decoded.seq == seq
        {
            snapshots.push(StoredSnapshot { seq, hash: decoded.hash, format_id: decoded.format_id, path });
        }
    }
    Ok(snapshots)
}

/// Whether a snapshot belongs to this log: its seq exists and the record there has its hash.
pub(crate) fn matches_log(
    stored: &StoredSnapshot,
    events: &sled::Tree,
    log_path: &Path,
    last_seq: u64,
) -> Result<bool, StoreError> {
    if stored.seq == 0 || stored.seq > last_seq {
        return Ok(false);
    }
    Ok(read_record(events, log_path, stored.seq)?.is_some_and(|record| record.hash() == stored.hash))
}

/// Writes a snapshot durably and deletes all but the newest `SNAPSHOTS_KEPT`.
pub(crate) fn save(data_dir: &Path, snapshot: &Snapshot) -> Result<(), StoreError> {
    let directory = directory(data_dir);
    if !directory.exists() {
        fs::create_dir_all(&directory).map_err(|error| StoreError::io("cannot create", &directory, error))?;
        sync_directory(data_dir)?;
    }
    let name = file_name(snapshot.seq);
    write_atomically(&directory, &name, &format!(".{name}.tmp"), &encode_snapshot(snapshot))?;
    keep_newest(data_dir, SNAPSHOTS_KEPT)
}

/// Deletes every snapshot file.
pub(crate) fn delete_all(data_dir: &Path) -> Result<(), StoreError> {
    keep_newest(data_dir, 0)
}

/// Deletes all but the newest `kept` snapshots, and what interrupted saves left.
fn keep_newest(data_dir: &Path, kept: usize) -> Result<(), StoreError> {
    let listing = listing(data_dir)?;
    let older = listing.snapshots.into_iter().skip(kept).map(|(_, path)| path);
    for path in older.chain(listing.interrupted) {
        fs::remove_file(&path).map_err(|error| StoreError::io("cannot delete", &path, error))?;
    }
    Ok(())
}
