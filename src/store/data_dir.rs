//! The small files beside the sled database: `DATA/FORMAT` (the data directory's format version)
//! and `DATA/log.head` (the side file: the last committed seq and its record hash, written
//! atomically after every flush so that a silently truncated sled file is detected at open).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::store::error::StoreError;
use crate::store::record::{ZERO_HASH, hash_hex};

/// The data-directory format this easgate writes. Raise it when the layout of the directory or of
/// a record changes; older easgates then refuse the directory instead of misreading it.
pub const DATA_FORMAT: u32 = 1;

const FORMAT_FILE: &str = "FORMAT";
const FORMAT_PREFIX: &str = "easgate-data ";
const HEAD_FILE: &str = "log.head";
const HEAD_TEMPORARY_FILE: &str = "log.head.tmp";
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

/// Reads the side file; `None` when it does not exist.
pub fn read_head(data_dir: &Path) -> Result<Option<CommittedHead>, StoreError> {
    let path = head_path(data_dir);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(StoreError::io("cannot read", path, error)),
    };
    parse_head(&text)
        .map(Some)
        .ok_or_else(|| StoreError::BadDataDirectory { path, detail: "the side file is malformed or damaged".into() })
}

/// Replaces the side file atomically: temporary file, fsync, rename, fsync of the directory.
pub fn write_head(data_dir: &Path, head: CommittedHead) -> Result<(), StoreError> {
    write_atomically(data_dir, HEAD_FILE, HEAD_TEMPORARY_FILE, format_head(head).as_bytes())
}

/// `seq N hash HEX crc HEX`: the crc32c covers the text before ` crc`, so a torn or edited side
/// file is recognised instead of trusted.
fn format_head(head: CommittedHead) -> String {
    let body = format!("seq {} hash {}", head.seq, hash_hex(&head.hash));
    let checksum = crc32c::crc32c(body.as_bytes());
    format!("{body} crc {checksum:08x}\n")
}

fn parse_head(text: &str) -> Option<CommittedHead> {
    let (body, checksum) = text.trim_end().rsplit_once(" crc ")?;
    if u32::from_str_radix(checksum, 16).ok()? != crc32c::crc32c(body.as_bytes()) {
        return None;
    }
    let mut words = body.split(' ');
    let (seq_word, seq, hash_word, hash) = (words.next()?, words.next()?, words.next()?, words.next()?);
    if seq_word != "seq" || hash_word != "hash" || words.next().is_some() || hash.len() != 64 {
        return None;
    }
    let mut hash_bytes = [0u8; 32];
    for (index, byte) in hash_bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hash.get(index * 2..index * 2 + 2)?, 16).ok()?;
    }
    Some(CommittedHead { seq: seq.parse().ok()?, hash: hash_bytes })
}

fn write_atomically(data_dir: &Path, name: &str, temporary_name: &str, contents: &[u8]) -> Result<(), StoreError> {
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
    fn the_side_file_round_trips_and_rejects_edits() {
        let directory = tempfile::tempdir().unwrap();
        let head = CommittedHead { seq: 42, hash: [7; 32] };
        write_head(directory.path(), head).unwrap();
        assert_eq!(read_head(directory.path()).unwrap(), Some(head));
        let text = fs::read_to_string(head_path(directory.path())).unwrap();
        fs::write(head_path(directory.path()), text.replace("seq 42", "seq 43")).unwrap();
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
