//! `Store::verify` (`easgate verify`): every record's checksum, seq contiguity, the hash chain,
//! every payload decodes, the side file, the device index against the log, and (through the
//! caller's `SnapshotReplay`) the stored projection snapshot against a full replay. The first
//! problem is an error naming its seq.

use rustc_hash::FxHashMap;

use crate::store::data_dir;
use crate::store::device_index::{DeviceIndex, describe_prefix};
use crate::store::error::StoreError;
use crate::store::log::Store;
use crate::store::read::EventIter;
use crate::store::snapshot::{self, Snapshot};

/// Whether a replay equals a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayComparison {
    Equal,
    /// They differ; the detail says where (shown in the error).
    Differs(String),
}

/// The projection's side of `verify`: replays the log and compares the result with a snapshot.
pub trait SnapshotReplay {
    /// The projection's snapshot format id; snapshots of another format are not compared.
    fn format_id(&self) -> u32;
    /// Folds `events` (seq 1..=`snapshot.seq`, checked and decoded) into a fresh projection and
    /// compares it with `snapshot.bytes`. A `StoreError` from `events` is passed up unchanged.
    fn compare(&mut self, snapshot: &Snapshot, events: EventIter<'_>) -> Result<ReplayComparison, StoreError>;
}

/// What the snapshot check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotVerdict {
    /// No `SnapshotReplay` was given.
    NotChecked,
    NoSnapshot,
    /// The newest snapshot has another format (it will be rebuilt, never upcast).
    OtherFormat {
        seq: u64,
        format_id: u32,
    },
    Matches {
        seq: u64,
    },
}

/// A log that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    pub last_seq: u64,
    pub last_hash: [u8; 32],
    /// The side file's seq (the last flushed record).
    pub side_file_seq: u64,
    /// Distinct keys in the device index.
    pub index_keys: u64,
    pub snapshot: SnapshotVerdict,
}

impl Store {
    /// Checks everything; the first problem is an error naming its seq.
    pub fn verify(&self, replay: Option<&mut dyn SnapshotReplay>) -> Result<VerifyReport, StoreError> {
        let side_file_seq = self.verify_side_file()?;
        let mut index = IndexComparison::load(self)?;
        let mut records = 0;
        for record in self.records_range_rehashing(1, self.last_seq())? {
            let recorded = record?.decode()?;
            index.check_event(recorded.seq, &DeviceIndex::event_prefixes(&recorded.event));
            records += 1;
        }
        if records != self.last_seq() {
            return Err(StoreError::damaged(records + 1, "record missing"));
        }
        let index_keys = index.finish()?;
        let snapshot = self.verify_snapshot(replay)?;
        Ok(VerifyReport {
            records,
            last_seq: self.last_seq(),
            last_hash: self.last_hash(),
            side_file_seq,
            index_keys,
            snapshot,
        })
    }

    fn verify_side_file(&self) -> Result<u64, StoreError> {
        let head = data_dir::read_head(&self.data_dir)?.ok_or_else(|| StoreError::BadDataDirectory {
            path: data_dir::head_path(&self.data_dir),
            detail: "the side file is missing".into(),
        })?;
        if head.seq > self.last_seq() {
            let detail = format!(
                "the side file records seq {} as committed but the log ends at seq {}",
                head.seq,
                self.last_seq()
            );
            return Err(StoreError::damaged(self.last_seq() + 1, detail));
        }
        if head.seq > 0 && self.read_record(head.seq)?.map(|record| record.hash()) != Some(head.hash) {
            return Err(StoreError::damaged(head.seq, "the record's hash differs from the side file's"));
        }
        Ok(head.seq)
    }

    fn verify_snapshot(&self, replay: Option<&mut dyn SnapshotReplay>) -> Result<SnapshotVerdict, StoreError> {
        // The newest snapshot that reads whole (a damaged one is never used, so not compared).
        let newest = snapshot::stored_snapshots(&self.data_dir)?
            .into_iter()
            .find_map(|stored| stored.load().map(|loaded| (stored, loaded)));
        let Some((header, stored)) = newest else {
            return Ok(SnapshotVerdict::NoSnapshot);
        };
        let trees = self.trees();
        if !snapshot::matches_log(&header, &trees.events, &self.log_path, self.last_seq())? {
            let detail = if stored.seq > self.last_seq() {
                format!("it is past the end of the log (seq {})", self.last_seq())
            } else {
                "its record hash differs from the log's record at that seq".to_string()
            };
            return Err(StoreError::SnapshotMismatch { seq: stored.seq, detail });
        }
        let Some(replay) = replay else {
            return Ok(SnapshotVerdict::NotChecked);
        };
        if replay.format_id() != stored.format_id {
            return Ok(SnapshotVerdict::OtherFormat { seq: stored.seq, format_id: stored.format_id });
        }
        match replay.compare(&stored, self.events_range(1, stored.seq)?)? {
            ReplayComparison::Equal => Ok(SnapshotVerdict::Matches { seq: stored.seq }),
            ReplayComparison::Differs(detail) => Err(StoreError::SnapshotMismatch { seq: stored.seq, detail }),
        }
    }
}

/// The stored index, walked in seq order alongside the log.
struct IndexComparison {
    /// Key prefix -> (stored seqs ascending, position of the next one expected).
    stored: FxHashMap<Vec<u8>, (Vec<u64>, usize)>,
    first_problem: Option<(u64, String)>,
}

impl IndexComparison {
    fn load(store: &Store) -> Result<IndexComparison, StoreError> {
        let stored = store.device_index.load_all(&store.trees().device_index, &store.log_path)?;
        let stored = stored.into_iter().map(|(prefix, seqs)| (prefix, (seqs, 0))).collect();
        Ok(IndexComparison { stored, first_problem: None })
    }

    fn note_problem(&mut self, seq: u64, detail: String) {
        if self.first_problem.as_ref().is_none_or(|(first, _)| seq < *first) {
            self.first_problem = Some((seq, detail));
        }
    }

    fn check_event(&mut self, seq: u64, prefixes: &[Vec<u8>]) {
        for prefix in prefixes {
            let mut extra = None;
            let found = match self.stored.get_mut(prefix) {
                Some((seqs, next)) => {
                    // Stored seqs below this one name events that do not have this key.
                    while *next < seqs.len() && seqs[*next] < seq {
                        extra.get_or_insert(seqs[*next]);
                        *next += 1;
                    }
                    let found = seqs.get(*next) == Some(&seq);
                    *next += usize::from(found);
                    found
                }
                None => false,
            };
            if let Some(extra_seq) = extra {
                let detail =
                    format!("the index lists this event under {}, which it does not name", describe_prefix(prefix));
                self.note_problem(extra_seq, detail);
            }
            if !found {
                self.note_problem(seq, format!("the index does not list this event under {}", describe_prefix(prefix)));
            }
        }
    }

    fn finish(mut self) -> Result<u64, StoreError> {
        let leftovers: Vec<(u64, String)> = self
            .stored
            .iter()
            .filter_map(|(prefix, (seqs, next))| seqs.get(*next).map(|seq| (*seq, describe_prefix(prefix))))
            .collect();
        for (seq, key) in leftovers {
            self.note_problem(seq, format!("the index lists this event under {key}, which it does not name"));
        }
        match self.first_problem {
            Some((seq, detail)) => Err(StoreError::IndexMismatch { seq, detail }),
            None => Ok(self.stored.len() as u64),
        }
    }
}
