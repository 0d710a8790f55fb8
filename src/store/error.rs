//! Errors of the event store, typed by how the caller must handle them.

use std::path::PathBuf;

use crate::store::catalog::CatalogError;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The log is damaged: a record is missing, fails its checksum, breaks the hash chain, or
    /// disagrees with the side file. `seq` is the first bad seq.
    /// **Handling:** stop; never append to a damaged log. Restore the data directory from a backup
    /// (or re-import an exported `easgate log`), then rerun `easgate verify`.
    #[error("the log is damaged at seq {seq}: {detail}")]
    Damaged { seq: u64, detail: String },
    /// sled cannot read its files at all (it panicked or reported corruption before any record
    /// could be checked).
    /// **Handling:** as `Damaged`: stop and restore the data directory from a backup.
    #[error("the log database {} is unreadable: {detail}", path.display())]
    Unreadable { path: PathBuf, detail: String },
    /// A payload's (event_type, event_version) is not in the catalog, or its bytes do not decode.
    /// **Handling:** the data was written by a newer easgate (upgrade) or is damaged (restore).
    #[error("cannot decode the event at seq {seq}: {source}")]
    Payload { seq: u64, source: CatalogError },
    /// The data directory was written by a newer easgate.
    /// **Handling:** run a newer easgate; never write to this directory with this one.
    #[error(
        "the data directory {} has format {found}, newer than this easgate understands ({supported}); upgrade easgate",
        path.display()
    )]
    NewerFormat { path: PathBuf, found: u32, supported: u32 },
    /// A file of the data directory (FORMAT, the side file) is missing or malformed.
    /// **Handling:** the directory is not an easgate data directory or was damaged: check the path,
    /// restore from a backup.
    #[error("{}: {detail}", path.display())]
    BadDataDirectory { path: PathBuf, detail: String },
    /// Another process (or another `Store` in this one) has the data directory open.
    /// **Handling:** stop the other easgate (or use its admin API) and retry.
    #[error("the data directory {} is in use by another easgate process", path.display())]
    InUse { path: PathBuf },
    /// A file-system operation failed (disk full, permissions).
    /// **Handling:** fix the file system (free space, permissions) and retry; nothing unflushed
    /// may be assumed durable.
    #[error("{what} {}: {source}", path.display())]
    Io { what: &'static str, path: PathBuf, source: std::io::Error },
    /// An earlier write failed, so the in-memory head may not match the disk.
    /// **Handling:** drop the `Store` and open it again (the open checks resynchronise).
    #[error("the store refuses writes after an earlier failure ({0}); reopen it")]
    Poisoned(String),
    /// An event could not be encoded (a payload postcard cannot represent).
    /// **Handling:** a bug in the event's construction; nothing was appended.
    #[error("cannot encode {event}: {source}")]
    Encode { event: &'static str, source: CatalogError },
    /// The caller asked for something the log cannot do (a snapshot past the end, import into a
    /// non-empty directory). **Handling:** a bug or a user error; the message says which.
    #[error("{0}")]
    Refused(String),
    /// A derived tree (the device index) disagrees with the log.
    /// **Handling:** rebuild it with `Store::rebuild_device_index` (derived data, no loss).
    #[error("the device index disagrees with the log at seq {seq}: {detail}")]
    IndexMismatch { seq: u64, detail: String },
    /// The stored projection snapshot is not what a full replay gives.
    /// **Handling:** delete the snapshots (`Store::delete_snapshots`); they are rebuilt.
    #[error("the snapshot at seq {seq} differs from a full replay of the log: {detail}")]
    SnapshotMismatch { seq: u64, detail: String },
}

impl StoreError {
    /// The first bad seq this error names, if it names one.
    pub fn seq(&self) -> Option<u64> {
        match self {
            StoreError::Damaged { seq, .. }
            | StoreError::Payload { seq, .. }
            | StoreError::IndexMismatch { seq, .. }
            | StoreError::SnapshotMismatch { seq, .. } => Some(*seq),
            _ => None,
        }
    }

    /// Whether the log itself is damaged (as opposed to a usage, environment or derived-data problem).
    pub fn is_damage(&self) -> bool {
        matches!(self, StoreError::Damaged { .. } | StoreError::Unreadable { .. })
    }

    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> StoreError {
        StoreError::Io { what, path: path.into(), source }
    }

    pub(crate) fn damaged(seq: u64, detail: impl Into<String>) -> StoreError {
        StoreError::Damaged { seq, detail: detail.into() }
    }
}
