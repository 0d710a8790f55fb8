//! The small files beside the sled database: `DATA/FORMAT` (the data directory's format version)
//! and `DATA/log.head` (the side file: the last committed seq and its record hash, written after
//! every flush so that a silently truncated sled file is detected at open).
//!
//! The side file is written once per flush, so it is on the durable-append path. It is not
//! replaced by tmp + fsync + rename + fsync-dir (two fsyncs and two metadata commits, measured
//! at 3-4x the cost of the alternative and the largest part of a flush) but updated in place in
//! two fixed slots, like a database's meta pages: each flush overwrites the slot that does not
//! hold the newest value, then fdatasyncs (the file's size never changes, so no metadata is
//! written). Each slot carries a crc32c, so a torn write spoils only the slot being written and a
//! reader falls back to the other one, which holds the previous commit. The side file may thus
//! understate what is durable (records beyond it are accepted at open) but never overstate it.
//!
//! Slot layout (64 bytes, big-endian): magic `EGH1`, seq u64, blake3 hash [32], crc32c of the 44
//! bytes before it, zero padding.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::store::error::StoreError;
use crate::store::record::ZERO_HASH;

/// The data-directory format this easgate writes. Raise it when the layout of the directory or of
/// a record changes; older easgates then refuse the directory instead of misreading it.
pub const DATA_FORMAT: u32 = 1;

const FORMAT_FILE: &str = "FORMAT";
const FORMAT_PREFIX: &str = "easgate-data ";
const HEAD_FILE: &str = "log.head";
/// The sled database directory inside the data directory (DESIGN section 5).
pub const LOG_DIRECTORY: &str = "log";

/// The last committed record: its seq and the blake3 hash of its bytes. Seq 0 = empty log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommittedHead {
    pub seq: u64,
    pub hash: [u8; 32],
}

impl CommittedHead {
    pub const EMPTY: CommittedHead = CommittedHead { seq: 0, hash: ZERO_HASH };
}

pub fn format_path(data_dir: &Path) -> PathBuf {
    data_dir.join(FORMAT_FILE)
}

pub fn head_path(data_dir: &Path) -> PathBuf {
    data_dir.join(HEAD_FILE)
}

/// Reads `DATA/FORMAT`: `None` when it does not exist; an error when it is malformed or newer.
pub fn read_format(data_dir: &Path) -> Result<Option<u32>, StoreError> {
    let path = format_path(data_dir);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(StoreError::io("cannot read", path, error)),
    };
    let bad = |detail: &str| StoreError::BadDataDirectory { path: path.clone(), detail: detail.to_string() };
    let number = text.trim_end().strip_prefix(FORMAT_PREFIX).ok_or_else(|| bad("not an easgate FORMAT file"))?;
    let found: u32 = number.parse().map_err(|_| bad("the format version is not a number"))?;
    if found > DATA_FORMAT {
        return Err(StoreError::NewerFormat { path: data_dir.to_path_buf(), found, supported: DATA_FORMAT });
    }
    if found == 0 {
        return Err(bad("format version 0 does not exist"));
    }
    Ok(Some(found))
}

/// Writes `DATA/FORMAT` for this easgate's format (only when creating a data directory).
pub fn write_format(data_dir: &Path) -> Result<(), StoreError> {
    write_atomically(data_dir, FORMAT_FILE, "FORMAT.tmp", format!("{FORMAT_PREFIX}{DATA_FORMAT}\n").as_bytes())
}

const SLOT_BYTES: usize = 64;
const SLOT_MAGIC: &[u8; 4] = b"EGH1";
const SLOT_CHECKED_BYTES: usize = 4 + 8 + 32;

/// The open side file: where the next commit goes.
#[derive(Debug)]
pub struct SideFile {
    file: File,
    path: PathBuf,
    /// The slot to overwrite next: the one not holding the newest head.
    next_slot: u64,
}

impl SideFile {
    /// Creates the side file of a new data directory, both slots empty, and syncs it and the directory.
    pub fn create(data_dir: &Path) -> Result<SideFile, StoreError> {
        let path = head_path(data_dir);
        let mut file = File::create(&path).map_err(|error| StoreError::io("cannot create", &path, error))?;
        let mut contents = encode_slot(CommittedHead::EMPTY).to_vec();
        contents.extend_from_slice(&encode_slot(CommittedHead::EMPTY));
        file.write_all(&contents).map_err(|error| StoreError::io("cannot write", &path, error))?;
        file.sync_all().map_err(|error| StoreError::io("cannot fsync", &path, error))?;
        drop(file);
        sync_directory(data_dir)?;
        SideFile::open(data_dir)?.map(|(side_file, _)| side_file).ok_or_else(|| StoreError::BadDataDirectory {
            path: head_path(data_dir),
            detail: "the side file vanished after it was created".into(),
        })
    }

    /// Opens the side file and reads the newest committed head; `None` when it does not exist.
    pub fn open(data_dir: &Path) -> Result<Option<(SideFile, CommittedHead)>, StoreError> {
        let path = head_path(data_dir);
        let mut file = match fs::OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(StoreError::io("cannot open", path, error)),
        };
        let mut contents = [0u8; 2 * SLOT_BYTES];
        file.read_exact(&mut contents).map_err(|error| StoreError::io("cannot read", &path, error))?;
        let slots = [decode_slot(&contents[..SLOT_BYTES]), decode_slot(&contents[SLOT_BYTES..])];
        let (newest_slot, head) = match slots {
            [Some(first), Some(second)] if second.seq > first.seq => (1, second),
            [Some(first), _] => (0, first),
            [None, Some(second)] => (1, second),
            [None, None] => {
                return Err(StoreError::BadDataDirectory {
                    path,
                    detail: "the side file is damaged (both slots)".into(),
                });
            }
        };
        Ok(Some((SideFile { file, path, next_slot: 1 - newest_slot }, head)))
    }

    /// Commits `head`: overwrites the older slot, then fdatasync.
    pub fn write(&mut self, head: CommittedHead) -> Result<(), StoreError> {
        let offset = self.next_slot * SLOT_BYTES as u64;
        self.file.seek(SeekFrom::Start(offset)).map_err(|error| StoreError::io("cannot seek in", &self.path, error))?;
        self.file.write_all(&encode_slot(head)).map_err(|error| StoreError::io("cannot write", &self.path, error))?;
        self.file.sync_data().map_err(|error| StoreError::io("cannot fdatasync", &self.path, error))?;
        self.next_slot = 1 - self.next_slot;
        Ok(())
    }
}

fn encode_slot(head: CommittedHead) -> [u8; SLOT_BYTES] {
    let mut slot = [0u8; SLOT_BYTES];
    slot[..4].copy_from_slice(SLOT_MAGIC);
    slot[4..12].copy_from_slice(&head.seq.to_be_bytes());
    slot[12..44].copy_from_slice(&head.hash);
    let checksum = crc32c::crc32c(&slot[..SLOT_CHECKED_BYTES]);
    slot[44..48].copy_from_slice(&checksum.to_be_bytes());
    slot
}

fn decode_slot(slot: &[u8]) -> Option<CommittedHead> {
    let checksum = u32::from_be_bytes(slot.get(44..48)?.try_into().ok()?);
    if slot.get(..4)? != SLOT_MAGIC || checksum != crc32c::crc32c(slot.get(..SLOT_CHECKED_BYTES)?) {
        return None;
    }
    Some(CommittedHead { seq: u64::from_be_bytes(slot[4..12].try_into().ok()?), hash: slot[12..44].try_into().ok()? })
}

/// Reads the newest committed head of the side file; `None` when it does not exist.
pub fn read_head(data_dir: &Path) -> Result<Option<CommittedHead>, StoreError> {
    Ok(SideFile::open(data_dir)?.map(|(_, head)| head))
}

/// Commits `head` to the side file of a closed data directory (tools and tests).
pub fn write_head(data_dir: &Path, head: CommittedHead) -> Result<(), StoreError> {
    match SideFile::open(data_dir)? {
        Some((mut side_file, _)) => side_file.write(head),
        None => SideFile::create(data_dir)?.write(head),
    }
}

pub(crate) fn write_atomically(
    data_dir: &Path,
    name: &str,
    temporary_name: &str,
    contents: &[u8],
) -> Result<(), StoreError> {
    let temporary_path = data_dir.join(temporary_name);
    let final_path = data_dir.join(name);
    let mut file =
        File::create(&temporary_path).map_err(|error| StoreError::io("cannot create", &temporary_path, error))?;
    file.write_all(contents).map_err(|error| StoreError::io("cannot write", &temporary_path, error))?;
    file.sync_all().map_err(|error| StoreError::io("cannot fsync", &temporary_path, error))?;
    drop(file);
    fs::rename(&temporary_path, &final_path)
        .map_err(|error| StoreError::io("cannot rename into", &final_path, error))?;
    sync_directory(data_dir)
}

/// fsyncs a directory so a rename or a new file in it survives power loss.
pub fn sync_directory(directory: &Path) -> Result<(), StoreError> {
    // Windows cannot open a directory as a file; its rename is durable once the file is synced.
    if cfg!(windows) {
        return Ok(());
    }
    File::open(directory)
        .and_then(|handle| handle.sync_all())
        .map_err(|error| StoreError::io("cannot fsync directory", directory, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_side_file_keeps_the_newest_commit_and_survives_a_torn_slot() {
        let directory = tempfile::tempdir().unwrap();
        let mut side_file = SideFile::create(directory.path()).unwrap();
        assert_eq!(read_head(directory.path()).unwrap(), Some(CommittedHead::EMPTY));
        side_file.write(CommittedHead { seq: 41, hash: [7; 32] }).unwrap();
        side_file.write(CommittedHead { seq: 42, hash: [8; 32] }).unwrap();
        assert_eq!(read_head(directory.path()).unwrap(), Some(CommittedHead { seq: 42, hash: [8; 32] }));
        // A torn write of the newest slot: the previous commit is what remains.
        let mut contents = fs::read(head_path(directory.path())).unwrap();
        let newest_slot_offset = if decode_slot(&contents[..SLOT_BYTES]).unwrap().seq == 42 { 0 } else { SLOT_BYTES };
        contents[newest_slot_offset + 20] ^= 0xff;
        fs::write(head_path(directory.path()), &contents).unwrap();
        assert_eq!(read_head(directory.path()).unwrap(), Some(CommittedHead { seq: 41, hash: [7; 32] }));
        // Both slots damaged: refused, not guessed.
        fs::write(head_path(directory.path()), [0u8; 2 * SLOT_BYTES]).unwrap();
        assert!(matches!(read_head(directory.path()), Err(StoreError::BadDataDirectory { .. })));
    }

    #[test]
    fn a_newer_format_is_refused_with_both_numbers() {
        let directory = tempfile::tempdir().unwrap();
        fs::write(format_path(directory.path()), "easgate-data 9\n").unwrap();
        let error = read_format(directory.path()).unwrap_err();
        assert!(matches!(error, StoreError::NewerFormat { found: 9, supported: 1, .. }), "{error}");
    }
}
