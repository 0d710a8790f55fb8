//! Reading the log: iterators over records from a seq that verify each record's checksum, the
//! contiguity of seqs and the hash chain as they go, and decode payloads through the catalog.
//! An iterator that stops early (a missing record, sled losing the tail) yields an error naming
//! the first bad seq: a reader never silently sees fewer events.

use std::path::Path;

use crate::domain::RecordedEvent;
use crate::store::catalog;
use crate::store::error::StoreError;
use crate::store::record::{CHECKSUM_LEN, Envelope, HEADER_LEN, ZERO_HASH, decode_record, record_hash};
use crate::store::sled_guard::{SledFailure, catch_quietly, sled_call};

/// A record as stored, checked (checksum, format, seq; and the chain when it came from an iterator).
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub envelope: Envelope,
    /// blake3 of the record's bytes: the next record's `prev_hash`.
    pub hash: [u8; 32],
    bytes: sled::IVec,
}

impl StoredRecord {
    /// The whole encoded record (envelope, payload, checksum).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The postcard payload.
    pub fn payload(&self) -> &[u8] {
        &self.bytes[HEADER_LEN..self.bytes.len() - CHECKSUM_LEN]
    }

    /// Decodes the payload (through the upcasters) into the event as the domain knows it.
    pub fn decode(&self) -> Result<RecordedEvent, StoreError> {
        let envelope = &self.envelope;
        let event = catalog::decode_payload(envelope.event_type, envelope.event_version, self.payload())
            .map_err(|source| StoreError::Payload { seq: envelope.seq, source })?;
        Ok(RecordedEvent {
            seq: envelope.seq,
            recorded_at_us: envelope.recorded_at_us,
            event_id: envelope.event_id,
            correlation_id: envelope.correlation_id,
            causation_id: envelope.causation_id,
            event,
        })
    }
}

/// The sled key of a seq: big-endian, so sled's byte order is seq order.
pub fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

pub(crate) fn key_seq(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.try_into().ok()?))
}

/// Checks one record's bytes as the record of `seq` (checksum, format, its own seq field).
pub(crate) fn check_record(seq: u64, bytes: sled::IVec) -> Result<StoredRecord, StoreError> {
    let (envelope, _) = decode_record(&bytes).map_err(|error| StoreError::damaged(seq, error.to_string()))?;
    if envelope.seq != seq {
        return Err(StoreError::damaged(
            seq,
            format!("the record stored under seq {seq} carries seq {}", envelope.seq),
        ));
    }
    let hash = record_hash(&bytes);
    Ok(StoredRecord { envelope, hash, bytes })
}

/// Reads and checks one record (checksum, seq; not the chain, which needs its neighbours).
pub(crate) fn read_record(events: &sled::Tree, log_path: &Path, seq: u64) -> Result<Option<StoredRecord>, StoreError> {
    let value =
        sled_call(|| events.get(seq_key(seq))).map_err(|failure| failure.into_store_error(log_path, Some(seq)))?;
    value.map(|bytes| check_record(seq, bytes)).transpose()
}

/// Records `from..=until` in order, each checked: checksum, format, contiguity and the chain.
pub struct RecordIter<'a> {
    log_path: &'a Path,
    inner: sled::Iter,
    next_seq: u64,
    until_seq: u64,
    previous_hash: [u8; 32],
    finished: bool,
}

impl<'a> RecordIter<'a> {
    /// Starts at `from_seq` (≥ 1). The hash of record `from_seq - 1` is read and checked first so
    /// that the chain is verified from the first record yielded.
    pub(crate) fn new(
        events: &sled::Tree,
        log_path: &'a Path,
        from_seq: u64,
        until_seq: u64,
    ) -> Result<RecordIter<'a>, StoreError> {
        let from_seq = from_seq.max(1);
        let previous_hash = if from_seq == 1 || from_seq > until_seq {
            ZERO_HASH
        } else {
            match read_record(events, log_path, from_seq - 1)? {
                Some(record) => record.hash,
                None => return Err(StoreError::damaged(from_seq - 1, "record missing")),
            }
        };
        RecordIter::starting_after(events, log_path, from_seq, until_seq, previous_hash)
    }

    /// Starts at `from_seq` with the hash of `from_seq - 1` already known (a snapshot's hash).
    pub(crate) fn starting_after(
        events: &sled::Tree,
        log_path: &'a Path,
        from_seq: u64,
        until_seq: u64,
        previous_hash: [u8; 32],
    ) -> Result<RecordIter<'a>, StoreError> {
        let range = seq_key(from_seq)..=seq_key(until_seq.max(from_seq));
        let inner = catch_quietly(|| events.range(range)).map_err(|message| StoreError::damaged(from_seq, message))?;
        Ok(RecordIter { log_path, inner, next_seq: from_seq, until_seq, previous_hash, finished: from_seq > until_seq })
    }

    /// The seq the next item will have.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn step(&mut self) -> Result<StoredRecord, StoreError> {
        let expected = self.next_seq;
        let item = catch_quietly(|| self.inner.next()).map_err(|message| StoreError::damaged(expected, message))?;
        let (key, bytes) = match item {
            Some(Ok(pair)) => pair,
            Some(Err(error)) => {
                return Err(SledFailure::from_error(error).into_store_error(self.log_path, Some(expected)));
            }
            None => {
                let detail = format!(
                    "record missing: the log ends at seq {} but seq {} was appended",
                    expected - 1,
                    self.until_seq
                );
                return Err(StoreError::damaged(expected, detail));
            }
        };
        match key_seq(&key) {
            Some(seq) if seq == expected => {}
            Some(seq) => {
                return Err(StoreError::damaged(
                    expected,
                    format!("record missing: the next stored record is seq {seq}"),
                ));
            }
            None => return Err(StoreError::damaged(expected, "a key of the events tree is not a seq")),
        }
        let record = check_record(expected, bytes)?;
        if record.envelope.prev_hash != self.previous_hash {
            let detail = format!(
                "hash chain broken: prev_hash does not match the hash of seq {} (seq {} or seq {expected} was altered)",
                expected - 1,
                expected - 1
            );
            return Err(StoreError::damaged(expected, detail));
        }
        self.previous_hash = record.hash;
        Ok(record)
    }
}

impl Iterator for RecordIter<'_> {
    type Item = Result<StoredRecord, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let result = self.step();
        self.next_seq += 1;
        // One error ends the iteration: nothing after a gap or a broken link is trustworthy.
        self.finished = result.is_err() || self.next_seq > self.until_seq;
        Some(result)
    }
}

/// Events `from..=until`, checked like `RecordIter` and decoded through the upcasters.
pub struct EventIter<'a> {
    records: RecordIter<'a>,
    failed: bool,
}

impl<'a> EventIter<'a> {
    pub(crate) fn new(records: RecordIter<'a>) -> EventIter<'a> {
        EventIter { records, failed: false }
    }
}

impl Iterator for EventIter<'_> {
    type Item = Result<RecordedEvent, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let result = self.records.next()?.and_then(|record| record.decode());
        self.failed = result.is_err();
        Some(result)
    }
}
