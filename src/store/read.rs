//! Reading the log: iterators over records from a seq that verify each record's checksum, the
//! contiguity of seqs and the hash chain as they go, and decode payloads through the catalog.
//! An iterator that stops early (a missing record, sled losing the tail) yields an error naming
//! the first bad seq: a reader never silently sees fewer events.

use std::path::Path;

use crate::domain::{Event, RecordedEvent};
use crate::store::catalog;
use crate::store::error::StoreError;
use crate::store::record::{
    Envelope, ZERO_HASH, check_record_bytes, check_record_layout, envelope_of, payload_of, prev_hash_of, record_hash,
    seq_of,
};
use crate::store::sled_guard::{SledFailure, catch_quietly, sled_call};

/// A record as stored, checked (checksum, format, seq; and the chain when it came from an
/// iterator). Only the bytes are kept: the envelope's fields are read from them at fixed offsets
/// when asked for, so that handing records between threads moves sled's 40-byte handle, not 144 bytes.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    bytes: sled::IVec,
}

impl StoredRecord {
    /// The whole encoded record (envelope, payload, checksum).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The envelope's fields.
    pub fn envelope(&self) -> Envelope {
        envelope_of(&self.bytes)
    }

    /// The postcard payload.
    pub fn payload(&self) -> &[u8] {
        payload_of(&self.bytes)
    }

    /// blake3 of the record's bytes: the next record's `prev_hash` (computed on each call).
    pub fn hash(&self) -> [u8; 32] {
        record_hash(&self.bytes)
    }

    /// Decodes the payload for folding: a view that borrows its text from this record (no text
    /// is copied), or the owned event when the payload was raised from an older version. Fails
    /// as `decode` does.
    pub fn decode_view(&self) -> Result<DecodedRecord<'_>, StoreError> {
        let envelope = self.envelope();
        let decoded = catalog::decode_payload_view(envelope.event_type, envelope.event_version, self.payload())
            .map_err(|source| StoreError::Payload { seq: envelope.seq, source })?;
        Ok(match decoded {
            catalog::DecodedPayload::View(event) => DecodedRecord::View(recorded(&envelope, event)),
            catalog::DecodedPayload::Owned(event) => DecodedRecord::Owned(recorded(&envelope, event)),
        })
    }

    /// Decodes the payload (through the upcasters) into the event as the domain knows it.
    pub fn decode(&self) -> Result<RecordedEvent, StoreError> {
        let envelope = self.envelope();
        let event = catalog::decode_payload(envelope.event_type, envelope.event_version, self.payload())
            .map_err(|source| StoreError::Payload { seq: envelope.seq, source })?;
        Ok(recorded(&envelope, event))
    }
}

/// The event with its envelope's fields.
fn recorded<S>(envelope: &Envelope, event: Event<S>) -> RecordedEvent<S> {
    RecordedEvent {
        seq: envelope.seq,
        recorded_at_us: envelope.recorded_at_us,
        event_id: envelope.event_id,
        correlation_id: envelope.correlation_id,
        causation_id: envelope.causation_id,
        event,
    }
}

/// A record decoded for folding (`StoredRecord::decode_view`).
#[derive(Debug, Clone, PartialEq)]
pub enum DecodedRecord<'a> {
    /// The event's view: its text borrowed from the record's bytes.
    View(RecordedEvent<&'a str>),
    /// A record of an older payload version, raised by the upcasters into an owned event.
    Owned(RecordedEvent),
}

impl DecodedRecord<'_> {
    /// Hands `fold` the event's view (made from the owned event when there is one).
    pub fn into_view<R>(self, fold: impl FnOnce(RecordedEvent<&str>) -> R) -> R {
        match self {
            DecodedRecord::View(view) => fold(view),
            DecodedRecord::Owned(event) => event.into_view(fold),
        }
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
    check_record_bytes(&bytes).map_err(|error| StoreError::damaged(seq, error.to_string()))?;
    check_seq(seq, bytes)
}

/// `check_record` for a record whose checksum this process checked already (at open, with its
/// link, or as it appended it): its layout and its own seq field.
fn check_verified_record(seq: u64, bytes: sled::IVec) -> Result<StoredRecord, StoreError> {
    check_record_layout(&bytes).map_err(|error| StoreError::damaged(seq, error.to_string()))?;
    check_seq(seq, bytes)
}

fn check_seq(seq: u64, bytes: sled::IVec) -> Result<StoredRecord, StoreError> {
    let stored_seq = seq_of(&bytes);
    if stored_seq != seq {
        return Err(StoreError::damaged(seq, format!("the record stored under seq {seq} carries seq {stored_seq}")));
    }
    Ok(StoredRecord { bytes })
}

/// Reads and checks one record (checksum, seq; not the chain, which needs its neighbours).
pub(crate) fn read_record(events: &sled::Tree, log_path: &Path, seq: u64) -> Result<Option<StoredRecord>, StoreError> {
    let value =
        sled_call(|| events.get(seq_key(seq))).map_err(|failure| failure.into_store_error(log_path, Some(seq)))?;
    value.map(|bytes| check_record(seq, bytes)).transpose()
}

/// Where a `RecordIter` checks the hash chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChainCheck {
    /// Every link, starting from this known hash of the record before the first one.
    From([u8; 32]),
    /// Every link into a seq below `verified_from`; the records from there on were verified
    /// when the store opened, checksum and link (or were appended by it), so they are not
    /// checksummed or hashed again: their layout and seq are still checked.
    Below { verified_from: u64 },
}

/// Records `from..=until` in order, each checked: checksum, format, contiguity and the chain
/// (records verified at open are not checksummed or hashed again, see `Store::records_from`).
pub struct RecordIter<'a> {
    log_path: &'a Path,
    inner: sled::Iter,
    next_seq: u64,
    until_seq: u64,
    previous_hash: [u8; 32],
    /// Links into seqs below this one are checked.
    check_links_below: u64,
    finished: bool,
}

impl<'a> RecordIter<'a> {
    /// Starts at `from_seq` (≥ 1). When the first link must be checked, the record before it is
    /// read (checksum checked) for its hash.
    pub(crate) fn new(
        events: &sled::Tree,
        log_path: &'a Path,
        from_seq: u64,
        until_seq: u64,
        chain: ChainCheck,
    ) -> Result<RecordIter<'a>, StoreError> {
        let from_seq = from_seq.max(1);
        let (previous_hash, check_links_below) = match chain {
            ChainCheck::From(hash) => (hash, u64::MAX),
            ChainCheck::Below { verified_from } if from_seq == 1 || from_seq >= verified_from => {
                (ZERO_HASH, verified_from)
            }
            ChainCheck::Below { verified_from } => match read_record(events, log_path, from_seq - 1)? {
                Some(record) => (record.hash(), verified_from),
                None => return Err(StoreError::damaged(from_seq - 1, "record missing")),
            },
        };
        let range = seq_key(from_seq)..=seq_key(until_seq.max(from_seq));
        let inner = catch_quietly(|| events.range(range)).map_err(|message| StoreError::damaged(from_seq, message))?;
        Ok(RecordIter {
            log_path,
            inner,
            next_seq: from_seq,
            until_seq,
            previous_hash,
            check_links_below,
            finished: from_seq > until_seq,
        })
    }

    /// The seq the next item will have.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The hash of the last record yielded, when the chain was being checked there.
    pub(crate) fn previous_hash(&self) -> [u8; 32] {
        self.previous_hash
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
        // Records the open checked (checksum and link) are not checksummed again, as their links
        // are not hashed again: `verify` re-checks everything.
        if expected >= self.check_links_below {
            return check_verified_record(expected, bytes);
        }
        let record = check_record(expected, bytes)?;
        if prev_hash_of(&record.bytes) != self.previous_hash {
            let previous = expected - 1;
            let detail = format!(
                "hash chain broken: prev_hash does not match the hash of seq {previous} (seq {previous} or seq {expected} was altered)"
            );
            return Err(StoreError::damaged(expected, detail));
        }
        // The next link needs this record's hash only when it is checked too.
        if expected + 1 < self.check_links_below {
            self.previous_hash = record.hash();
        }
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

/// Checks checksum, contiguity and every link of `from..=until`, starting from the hash of
/// `from - 1`, on up to `threads` threads (each takes a contiguous segment and starts from the
/// hash of the record before it). Returns the hash of `until`; an error names the lowest bad seq.
pub(crate) fn check_chain(
    events: &sled::Tree,
    log_path: &Path,
    from_seq: u64,
    until_seq: u64,
    previous_hash: [u8; 32],
    threads: usize,
) -> Result<[u8; 32], StoreError> {
    const MIN_SEGMENT_RECORDS: u64 = 16_384;
    let records = (until_seq + 1).saturating_sub(from_seq);
    let segments = (records / MIN_SEGMENT_RECORDS).clamp(1, threads.max(1) as u64);
    let segment_records = records.div_ceil(segments);
    let check_segment = |segment: u64| -> Result<[u8; 32], StoreError> {
        let first = from_seq + segment * segment_records;
        let last = (first + segment_records - 1).min(until_seq);
        let start_hash = if segment == 0 {
            previous_hash
        } else {
            read_record(events, log_path, first - 1)?
                .ok_or_else(|| StoreError::damaged(first - 1, "record missing"))?
                .hash()
        };
        let mut iter = RecordIter::new(events, log_path, first, last, ChainCheck::From(start_hash))?;
        for record in iter.by_ref() {
            record?;
        }
        Ok(iter.previous_hash())
    };
    if segments == 1 {
        return if records == 0 { Ok(previous_hash) } else { check_segment(0) };
    }
    let results: Vec<Result<[u8; 32], StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..segments).map(|segment| scope.spawn(move || check_segment(segment))).collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|_| Err(StoreError::damaged(from_seq, "a check thread failed"))))
            .collect()
    });
    let mut last_hash = previous_hash;
    let mut first_error: Option<StoreError> = None;
    for result in results {
        match result {
            Ok(hash) => last_hash = hash,
            Err(error) if first_error.as_ref().is_none_or(|first| error.seq() < first.seq()) => {
                first_error = Some(error)
            }
            Err(_) => {}
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(last_hash),
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

    /// The seq the next item will have.
    pub fn next_seq(&self) -> u64 {
        self.records.next_seq()
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
