//! `Store`: the single writer of the sled log. It opens (and checks) a data directory, appends
//! events with gap-free seqs and chained hashes in one sled batch per call, makes them durable
//! with one flush per group (group commit), and reads them back checked.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::domain::RecordedEvent;
use crate::store::catalog;
use crate::store::data_dir::{self, CommittedHead, LOG_DIRECTORY, SideFile};
use crate::store::device_index::{DeviceIndex, IndexKey, linked_keys};
use crate::store::error::StoreError;
use crate::store::open_check::{self, OpenMode, OpenReport};
use crate::store::read::{ChainCheck, EventIter, RecordIter, StoredRecord, read_record, seq_key};
use crate::store::record::{Envelope, HEADER_LEN, begin_record, finish_record, record_hash};
use crate::store::sled_guard::{SledFailure, catch_quietly, sled_call};
use crate::store::snapshot::{self, Snapshot};

const EVENTS_TREE: &str = "events";
const DEVICE_INDEX_TREE: &str = "device_index";
const SNAPSHOTS_TREE: &str = "snapshots";
/// The largest payload a record holds (events are a few hundred bytes; this bounds a mistake).
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024 * 1024;
/// How long `open` waits for sled's file lock before reporting the directory in use.
const LOCK_WAIT_MS: u64 = 2_000;
const LOCK_POLL_MS: u64 = 10;
/// Linked keys (managed devices, commands) `device_history` follows from one device.
const MAX_LINKED_KEYS: usize = 10_000;

/// An event to append; the store assigns its seq and prev_hash.
pub use crate::domain::NewEvent;

/// How to open a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    pub mode: OpenMode,
    /// Events whose device-index entries may wait in memory for `catch_up_device_index`; at
    /// this many, `append` writes them itself. Default 262,144 (about 20 MB).
    pub index_pending_max_events: u64,
    /// sled's page cache; `None` = sled's default (1 GiB).
    pub cache_capacity_bytes: Option<u64>,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions { mode: OpenMode::Tail, index_pending_max_events: 262_144, cache_capacity_bytes: None }
    }
}

pub(crate) struct Trees {
    pub(crate) db: sled::Db,
    pub(crate) events: sled::Tree,
    pub(crate) snapshots: sled::Tree,
    pub(crate) device_index: sled::Tree,
}

/// The event log of one data directory. One writer: `append` and `flush` take `&mut self`.
pub struct Store {
    pub(crate) data_dir: PathBuf,
    pub(crate) log_path: PathBuf,
    /// `Some` until drop, which drops sled behind `catch_unwind`.
    trees: Option<Trees>,
    pub(crate) device_index: DeviceIndex,
    /// The last appended record (durable only once flushed).
    head: CommittedHead,
    /// What the side file says: the last record a flush made durable.
    committed: CommittedHead,
    side_file: SideFile,
    /// Every link of the chain into a seq from here to the end was checked at open (or appended
    /// by this store), so reads do not hash those records again.
    chain_verified_from: u64,
    open_report: OpenReport,
    poisoned: Option<String>,
}

impl Store {
    /// Opens (creating if absent) the data directory `data_dir` with default options.
    pub fn open(data_dir: &Path, mode: OpenMode) -> Result<Store, StoreError> {
        Store::open_with(data_dir, StoreOptions { mode, ..StoreOptions::default() })
    }

    pub fn open_with(data_dir: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        let log_path = data_dir.join(LOG_DIRECTORY);
        let (side_file, committed) = prepare_data_dir(data_dir, &log_path)?;
        let trees = open_trees(&log_path, options.cache_capacity_bytes).map_err(|error| match error {
            // Nothing can be read, so no seq can be named: say what the log held when last committed.
            StoreError::Unreadable { path, detail } => StoreError::Unreadable {
                path,
                detail: format!(
                    "{detail} (it held seq 1..={} when last committed; restore the data directory from a backup)",
                    committed.seq
                ),
            },
            other => other,
        })?;
        let mut store = Store {
            data_dir: data_dir.to_path_buf(),
            log_path,
            trees: Some(trees),
            device_index: DeviceIndex::new(options.index_pending_max_events),
            head: committed,
            committed,
            side_file,
            chain_verified_from: u64::MAX,
            open_report: OpenReport {
                mode: options.mode,
                last_seq: 0,
                side_file_seq: committed.seq,
                checked_from_seq: 1,
                records_checked: 0,
                index_events_repaired: 0,
            },
            poisoned: None,
        };
        // On an error `store` is dropped, which drops sled behind catch_unwind (a damaged sled may
        // panic while dropping too).
        store.check_at_open(options.mode)?;
        Ok(store)
    }

    /// The open checks (see `open_check`), then: records beyond the side file survived a crash
    /// after sled wrote them, so make them durable and record them; bring the device index up to
    /// the log's end.
    fn check_at_open(&mut self, mode: OpenMode) -> Result<(), StoreError> {
        let trees = self.trees();
        let end = open_check::check_log(&trees.events, &self.data_dir, &self.log_path, self.committed, mode)?;
        self.head = end.head;
        self.chain_verified_from = end.checked_from_seq;
        self.open_report.last_seq = end.head.seq;
        self.open_report.checked_from_seq = end.checked_from_seq;
        self.open_report.records_checked = end.records_checked;
        if self.head.seq > self.committed.seq {
            sync_sled_files(&self.log_path)?;
            self.side_file.write(self.head)?;
            self.committed = self.head;
        }
        let (events, index_tree) = (self.trees().events.clone(), self.trees().device_index.clone());
        self.device_index.load_high_water(&index_tree, &self.log_path)?;
        if self.device_index.indexed_through() > self.head.seq {
            self.device_index.clear(&index_tree, &self.log_path)?;
        }
        self.open_report.index_events_repaired =
            self.device_index.catch_up((&events, &index_tree), &self.log_path, self.head.seq, self.chain_check())?;
        Ok(())
    }

    pub(crate) fn trees(&self) -> &Trees {
        // Present from construction until drop; nothing else takes them.
        self.trees.as_ref().expect("sled trees are present until the store is dropped")
    }

    /// Appends events in one sled batch: seq = last + 1, ..., each chained to the previous record.
    /// Not durable until `flush`. Returns the events as recorded.
    pub fn append(&mut self, events: Vec<NewEvent>) -> Result<Vec<RecordedEvent>, StoreError> {
        self.refuse_if_poisoned()?;
        let mut batch = sled::Batch::default();
        let mut head = self.head;
        let mut recorded = Vec::with_capacity(events.len());
        for new_event in events {
            let (record, recorded_event) = encode_new_event(new_event, head)?;
            head = CommittedHead { seq: recorded_event.seq, hash: record_hash(&record) };
            batch.insert(&seq_key(head.seq), record);
            recorded.push(recorded_event);
        }
        if recorded.is_empty() {
            return Ok(recorded);
        }
        let applied = sled_call(|| self.trees().events.apply_batch(batch));
        if let Err(failure) = applied {
            return Err(self.poison(failure.into_store_error(&self.log_path, Some(self.head.seq + 1))));
        }
        self.head = head;
        for event in &recorded {
            self.device_index.note(event.seq, &event.event);
        }
        if self.device_index.pending_is_full() {
            self.catch_up_device_index()?;
        }
        Ok(recorded)
    }

    /// Makes every appended event durable: one sled flush (fsync), then the side file.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        self.refuse_if_poisoned()?;
        if self.head == self.committed {
            return Ok(());
        }
        let flushed = sled_call(|| self.trees().db.flush());
        if let Err(failure) = flushed {
            return Err(self.poison(failure.into_store_error(&self.log_path, None)));
        }
        let written = self.side_file.write(self.head);
        written.map_err(|error| self.poison(error))?;
        self.committed = self.head;
        Ok(())
    }

    /// `append` then `flush`: the write-ahead intent path (DESIGN section 5).
    pub fn append_durable(&mut self, events: Vec<NewEvent>) -> Result<Vec<RecordedEvent>, StoreError> {
        let recorded = self.append(events)?;
        self.flush()?;
        Ok(recorded)
    }

    /// Writes the device-index entries of the events appended since the last call (one sled
    /// batch, off the flush path): call it when idle, e.g. after a sync. They become durable with
    /// the next flush; until then (and after a crash) lookups and the open cover them from memory
    /// and from the log. Returns the number of events indexed.
    pub fn catch_up_device_index(&mut self) -> Result<u64, StoreError> {
        self.refuse_if_poisoned()?;
        let pending_events = self.device_index.pending_events();
        let index_tree = self.trees().device_index.clone();
        let written = self.device_index.write_pending(&index_tree, &self.log_path);
        written.map_err(|error| self.poison(error))?;
        Ok(pending_events)
    }

    /// Writes the pending device-index entries and flushes, then closes the database.
    pub fn close(mut self) -> Result<(), StoreError> {
        self.refuse_if_poisoned()?;
        let index_tree = self.trees().device_index.clone();
        self.device_index.write_pending(&index_tree, &self.log_path)?;
        // Here, not when a snapshot is saved: sled pages in what it deletes, and a closing store's
        // memory no longer counts.
        self.clear_legacy_snapshots()?;
        let flushed = sled_call(|| self.trees().db.flush());
        flushed.map_err(|failure| failure.into_store_error(&self.log_path, None))?;
        self.flush()
    }

    fn refuse_if_poisoned(&self) -> Result<(), StoreError> {
        match &self.poisoned {
            Some(reason) => Err(StoreError::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }

    fn poison(&mut self, error: StoreError) -> StoreError {
        self.poisoned = Some(error.to_string());
        error
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The last appended seq (0 when empty). Seqs are gap-free from 1, so this is also the count.
    pub fn last_seq(&self) -> u64 {
        self.head.seq
    }

    /// The hash of the last appended record (zeros when empty).
    pub fn last_hash(&self) -> [u8; 32] {
        self.head.hash
    }

    /// The last seq made durable by a flush (what the side file says).
    pub fn committed_seq(&self) -> u64 {
        self.committed.seq
    }

    /// The number of events, O(1) (sled's `Tree::len` is a full scan).
    pub fn len(&self) -> u64 {
        self.head.seq
    }

    pub fn is_empty(&self) -> bool {
        self.head.seq == 0
    }

    /// What the open checks found.
    pub fn open_report(&self) -> &OpenReport {
        &self.open_report
    }

    /// sled's size on disk, in bytes.
    pub fn size_on_disk_bytes(&self) -> Result<u64, StoreError> {
        sled_call(|| self.trees().db.size_on_disk()).map_err(|failure| failure.into_store_error(&self.log_path, None))
    }

    /// One event, checked (checksum and seq; the chain needs `events_from`). `None` past the end.
    pub fn read(&self, seq: u64) -> Result<Option<RecordedEvent>, StoreError> {
        self.read_record(seq)?.map(|record| record.decode()).transpose()
    }

    /// One record, checked, without decoding its payload.
    pub fn read_record(&self, seq: u64) -> Result<Option<StoredRecord>, StoreError> {
        if seq == 0 || seq > self.head.seq {
            return Ok(None);
        }
        match read_record(&self.trees().events, &self.log_path, seq)? {
            Some(record) => Ok(Some(record)),
            None => Err(StoreError::damaged(seq, "record missing")),
        }
    }

    /// Records from `from_seq` to the end, each checked (checksum, contiguity, chain).
    pub fn records_from(&self, from_seq: u64) -> Result<RecordIter<'_>, StoreError> {
        self.records_range(from_seq, self.head.seq)
    }

    /// Records `from_seq..=until_seq` (clamped to the end), each checked: layout and contiguity,
    /// and the checksums and links that the open did not check (before the snapshot it started
    /// from); `verify` re-checks every checksum and link.
    pub fn records_range(&self, from_seq: u64, until_seq: u64) -> Result<RecordIter<'_>, StoreError> {
        RecordIter::new(
            &self.trees().events,
            &self.log_path,
            from_seq,
            until_seq.min(self.head.seq),
            self.chain_check(),
        )
    }

    /// Like `records_range`, hashing every record to check every link.
    pub(crate) fn records_range_rehashing(&self, from_seq: u64, until_seq: u64) -> Result<RecordIter<'_>, StoreError> {
        let until_seq = until_seq.min(self.head.seq);
        RecordIter::new(
            &self.trees().events,
            &self.log_path,
            from_seq,
            until_seq,
            ChainCheck::Below { verified_from: u64::MAX },
        )
    }

    fn chain_check(&self) -> ChainCheck {
        ChainCheck::Below { verified_from: self.chain_verified_from }
    }

    /// Events from `from_seq` to the end, checked and decoded through the upcasters.
    pub fn events_from(&self, from_seq: u64) -> Result<EventIter<'_>, StoreError> {
        Ok(EventIter::new(self.records_from(from_seq)?))
    }

    /// Events `from_seq..=until_seq` (clamped to the end), checked and decoded.
    pub fn events_range(&self, from_seq: u64, until_seq: u64) -> Result<EventIter<'_>, StoreError> {
        Ok(EventIter::new(self.records_range(from_seq, until_seq)?))
    }

    /// The seqs of the events that name `key`, ascending.
    pub fn index_lookup(&self, key: &IndexKey) -> Result<Vec<u64>, StoreError> {
        self.device_index.lookup(&self.trees().device_index, key, &self.log_path)
    }

    /// Every event about an EAS device, ascending: its own events, plus the events of the managed
    /// devices and commands they name (compliance changes, cmdlet outcomes).
    pub fn device_history(&self, device_id: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut history = std::collections::BTreeMap::new();
        let mut linked = Vec::new();
        for seq in self.index_lookup(&IndexKey::Device(device_id.to_lowercase()))? {
            if let Some(event) = self.read(seq)? {
                linked.extend(linked_keys(&event.event));
                history.insert(seq, event);
            }
        }
        linked.sort();
        linked.dedup();
        for key in linked.iter().take(MAX_LINKED_KEYS) {
            for seq in self.index_lookup(key)? {
                if let std::collections::btree_map::Entry::Vacant(entry) = history.entry(seq) {
                    entry.insert(self.read(seq)?.ok_or_else(|| StoreError::damaged(seq, "record missing"))?);
                }
            }
        }
        Ok(history.into_values().collect())
    }

    /// Re-derives the whole device index from the log.
    pub fn rebuild_device_index(&mut self) -> Result<u64, StoreError> {
        let (events, index_tree) = (self.trees().events.clone(), self.trees().device_index.clone());
        self.device_index.clear(&index_tree, &self.log_path)?;
        self.device_index.catch_up((&events, &index_tree), &self.log_path, self.head.seq, self.chain_check())
    }

    /// Saves a projection snapshot taken after folding every event up to `seq` (a file, durable
    /// when this returns; the newest two are kept), and writes the pending device-index entries
    /// (durable with the next `flush`). A snapshot whose record is lost in a crash no longer
    /// matches the log and is not used.
    pub fn save_snapshot(&mut self, seq: u64, format_id: u32, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.refuse_if_poisoned()?;
        if u32::try_from(bytes.len()).is_err() {
            return Err(StoreError::Refused(format!("a snapshot of {} bytes is larger than 4 GiB", bytes.len())));
        }
        let hash = match self.read_record(seq)? {
            Some(record) => record.hash(),
            None => {
                return Err(StoreError::Refused(format!(
                    "no snapshot at seq {seq}: the log ends at seq {}",
                    self.head.seq
                )));
            }
        };
        snapshot::save(&self.data_dir, &Snapshot { seq, hash, format_id, bytes })?;
        // A natural idle point: the device index catches up too, so that a crash re-derives at
        // most the events since the last snapshot.
        self.catch_up_device_index().map(|_| ())
    }

    /// The newest snapshot of `format_id` that matches this log (its record hash). Snapshots of
    /// another format are ignored: they are rebuilt, never upcast.
    pub fn latest_snapshot(&self, format_id: u32) -> Result<Option<Snapshot>, StoreError> {
        let trees = self.trees();
        for stored in snapshot::stored_snapshots(&self.data_dir)? {
            if stored.format_id == format_id
                && snapshot::matches_log(&stored, &trees.events, &self.log_path, self.head.seq)?
                && let Some(loaded) = stored.load()
            {
                return Ok(Some(loaded));
            }
        }
        Ok(None)
    }

    /// Deletes every snapshot (they are rebuilt from the log).
    pub fn delete_snapshots(&mut self) -> Result<(), StoreError> {
        snapshot::delete_all(&self.data_dir)?;
        self.clear_legacy_snapshots()
    }

    /// Empties the sled tree where easgates before snapshot files kept their snapshots (unread;
    /// done at `close` and by `delete_snapshots`).
    fn clear_legacy_snapshots(&self) -> Result<(), StoreError> {
        let legacy = &self.trees().snapshots;
        if legacy.is_empty() {
            return Ok(());
        }
        sled_call(|| legacy.clear()).map_err(|failure| failure.into_store_error(&self.log_path, None))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(trees) = self.trees.take() {
            // sled flushes on drop and may panic on a damaged file; never let that escape.
            let _ = catch_quietly(move || drop(trees));
        }
    }
}

fn encode_new_event(new_event: NewEvent, previous: CommittedHead) -> Result<(Vec<u8>, RecordedEvent), StoreError> {
    let seq = previous.seq + 1;
    let event_type = catalog::event_type_of(&new_event.event);
    let event_version = catalog::entry(event_type).map_or(1, |entry| entry.current_version);
    let envelope = Envelope {
        seq,
        recorded_at_us: new_event.recorded_at_us,
        event_id: new_event.event_id,
        correlation_id: new_event.correlation_id,
        causation_id: new_event.causation_id,
        event_type,
        event_version,
        prev_hash: previous.hash,
    };
    let record = begin_record(&envelope, 192);
    let record = catalog::encode_payload_into(&new_event.event, record)
        .map_err(|source| StoreError::Encode { event: new_event.event.name(), source })?;
    if record.len() - HEADER_LEN > MAX_PAYLOAD_BYTES {
        let detail = format!(
            "{} is {} bytes encoded, more than the {MAX_PAYLOAD_BYTES} bytes a record may hold",
            new_event.event.name(),
            record.len() - HEADER_LEN
        );
        return Err(StoreError::Refused(detail));
    }
    let recorded = RecordedEvent {
        seq,
        recorded_at_us: new_event.recorded_at_us,
        event_id: new_event.event_id,
        correlation_id: new_event.correlation_id,
        causation_id: new_event.causation_id,
        event: new_event.event,
    };
    Ok((finish_record(record), recorded))
}

/// Checks the data directory's FORMAT and side file, creating both for a new directory.
/// Returns the side file and its committed head.
fn prepare_data_dir(data_dir: &Path, log_path: &Path) -> Result<(SideFile, CommittedHead), StoreError> {
    fs::create_dir_all(data_dir).map_err(|error| StoreError::io("cannot create", data_dir, error))?;
    let format = data_dir::read_format(data_dir)?;
    let side_file = SideFile::open(data_dir)?;
    match (format, side_file) {
        (Some(_), Some(opened)) => Ok(opened),
        (Some(_), None) => Err(StoreError::BadDataDirectory {
            path: data_dir::head_path(data_dir),
            detail: "the side file is missing, so the log's end cannot be checked".into(),
        }),
        (None, _) if log_path.exists() => Err(StoreError::BadDataDirectory {
            path: data_dir::format_path(data_dir),
            detail: "missing beside an existing log: not an easgate data directory, or damaged".into(),
        }),
        // A new directory: the side file first, so that FORMAT never exists without it.
        (None, _) => {
            let side_file = SideFile::create(data_dir)?;
            data_dir::write_format(data_dir)?;
            Ok((side_file, CommittedHead::EMPTY))
        }
    }
}

fn open_trees(log_path: &Path, cache_capacity_bytes: Option<u64>) -> Result<Trees, StoreError> {
    let to_error = |failure: SledFailure| failure.into_store_error(log_path, None);
    let mut config = sled::Config::new().path(log_path);
    if let Some(bytes) = cache_capacity_bytes {
        config = config.cache_capacity(bytes);
    }
    let db = open_waiting_for_lock(&config).map_err(to_error)?;
    let trees =
        sled_call(|| Ok((db.open_tree(EVENTS_TREE)?, db.open_tree(SNAPSHOTS_TREE)?, db.open_tree(DEVICE_INDEX_TREE)?)));
    match trees {
        Ok((events, snapshots, device_index)) => Ok(Trees { db, events, snapshots, device_index }),
        Err(failure) => {
            let _ = catch_quietly(move || drop(db));
            Err(to_error(failure))
        }
    }
}

/// Opens sled, retrying for up to `LOCK_WAIT_MS` while its file lock is taken: after a `Store` in
/// this process is dropped, sled's thread pool keeps the file (and its lock) for a moment.
fn open_waiting_for_lock(config: &sled::Config) -> Result<sled::Db, SledFailure> {
    let attempts = LOCK_WAIT_MS / LOCK_POLL_MS;
    for _ in 0..attempts {
        match sled_call(|| config.open()) {
            Err(failure) if failure.is_lock_failure() => std::thread::sleep(Duration::from_millis(LOCK_POLL_MS)),
            result => return result,
        }
    }
    sled_call(|| config.open())
}

/// fsyncs sled's log file: records another process wrote before it crashed are in the page cache,
/// and sled's own flush skips what it did not write itself.
fn sync_sled_files(log_path: &Path) -> Result<(), StoreError> {
    let db_file = log_path.join("db");
    // Write access: Windows cannot flush a read-only handle.
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&db_file)
        .and_then(|file| file.sync_all())
        .map_err(|error| StoreError::io("cannot fsync", &db_file, error))
}
