//! Reading the log on a second thread while the caller folds it: one thread reads and checks
//! records (checksum, contiguity, chain, exactly as `EventIter`); the calling thread receives
//! them in seq order through a bounded channel. Folding a long log (open, replay, verify) then
//! uses both cores instead of one.
//!
//! Decoding the payloads goes to whichever thread has room: the reading thread decodes a batch
//! when the folding thread has at least `DECODE_WHEN_AHEAD_BATCHES` waiting (the fold is the
//! slower side), and otherwise hands the batch over undecoded for the folding thread to decode
//! (the read is the slower side). Which side is slower depends on the log: a log of new devices
//! makes the fold heavy, a long history of known devices makes it light.
//!
//! Either way an event is decoded once, into its view, its text borrowed from the record's
//! bytes: a decoded batch (`ViewBatch`) holds its records and the views that borrow from them,
//! and goes to the folding thread as one. No text is copied to cross threads, so nothing is
//! allocated on one thread to be freed on the other.
//!
//! Invariant: the caller sees exactly the events `EventIter` would yield, in the same order, and
//! an error names the same seq; everything before the first bad record is still handed over.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::domain::RecordedEvent;
use crate::store::error::StoreError;
use crate::store::log::Store;
use crate::store::read::{DecodedRecord, RecordIter, StoredRecord};

/// Events handed over per batch: large enough that the channel costs nothing per event, small
/// enough that the folding thread starts at once.
pub const PIPELINE_BATCH_EVENTS: usize = 1_024;
/// Batches read ahead of the folding thread (the queue's limit, so memory stays bounded).
pub const PIPELINE_BATCHES_AHEAD: usize = 8;
/// Below this many events a second thread is not worth starting.
pub const PIPELINE_MIN_EVENTS: u64 = 4 * PIPELINE_BATCH_EVENTS as u64;
/// The reading thread decodes a batch itself when at least this many wait to be folded.
pub const DECODE_WHEN_AHEAD_BATCHES: usize = 2;

/// The views of a batch, borrowing from its records.
type Views<'a> = Vec<DecodedRecord<'a>>;

self_cell::self_cell!(
    /// Records and the views decoded from them (their text borrowed from the records' bytes),
    /// moved between threads together: the views cannot outlive the bytes they borrow.
    struct ViewBatch {
        owner: Vec<StoredRecord>,
        #[covariant]
        dependent: Views,
    }
);

/// One batch in seq order, decoded or not, and the error that ended the read after it.
struct Batch {
    items: Items,
    error: Option<StoreError>,
}

enum Items {
    Decoded(ViewBatch),
    Checked(Vec<StoredRecord>),
}

/// What the folding side is handed: an event the reading thread decoded, or a checked record
/// for the folding side to decode. Moved straight into the callback, never stored, so boxing the
/// large variant would only add an allocation per event.
#[allow(clippy::large_enum_variant)]
enum Handed<'a, 'r> {
    Decoded(DecodedRecord<'a>),
    Checked(&'r StoredRecord),
}

impl Store {
    /// Hands every event of `from_seq..=until_seq` (clamped to the end) to `each` in seq order,
    /// checked and decoded like `events_range`, reading ahead on a second thread when the range
    /// is long. An error stops the read: the events before the bad one are handed over first,
    /// then the error (naming the first bad seq) is returned. Returns the events handed over.
    pub fn for_each_event(
        &self,
        from_seq: u64,
        until_seq: u64,
        mut each: impl FnMut(RecordedEvent),
    ) -> Result<u64, StoreError> {
        self.for_each_handed(from_seq, until_seq, |handed| {
            let decoded = match handed {
                Handed::Decoded(decoded) => decoded,
                Handed::Checked(record) => record.decode_view()?,
            };
            each(match decoded {
                DecodedRecord::View(view) => view.map_text(str::to_string),
                DecodedRecord::Owned(event) => event,
            });
            Ok(())
        })
    }

    /// `for_each_event` for a fold: each event is handed over as its view, its text borrowed
    /// from its record, so that the fold copies only the text it keeps.
    pub fn for_each_view(
        &self,
        from_seq: u64,
        until_seq: u64,
        mut each: impl FnMut(RecordedEvent<&str>),
    ) -> Result<u64, StoreError> {
        self.for_each_handed(from_seq, until_seq, |handed| {
            match handed {
                Handed::Decoded(decoded) => decoded.into_view(&mut each),
                Handed::Checked(record) => record.decode_view()?.into_view(&mut each),
            }
            Ok(())
        })
    }

    /// The pipeline under both: records read and checked on a second thread when the range is
    /// long, a batch decoded there when the folding side is behind. `each` failing (a payload
    /// that does not decode) stops the read.
    fn for_each_handed(
        &self,
        from_seq: u64,
        until_seq: u64,
        mut each: impl FnMut(Handed<'_, '_>) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let until_seq = until_seq.min(self.last_seq());
        if until_seq.saturating_sub(from_seq) < PIPELINE_MIN_EVENTS {
            let mut count = 0;
            for record in self.records_range(from_seq, until_seq)? {
                each(Handed::Checked(&record?))?;
                count += 1;
            }
            return Ok(count);
        }
        let records = self.records_range(from_seq, until_seq)?;
        let first_seq = records.next_seq();
        let waiting_batches = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            let (sender, receiver) = sync_channel::<Batch>(PIPELINE_BATCHES_AHEAD);
            let waiting = &waiting_batches;
            let reader = scope.spawn(move || read_batches(records, sender, waiting));
            let (count, outcome) = fold_batches(receiver, waiting, &mut each);
            if reader.join().is_err() && outcome.is_ok() {
                return Err(StoreError::damaged(first_seq + count, "the thread reading the log failed"));
            }
            outcome.map(|()| count)
        })
    }
}

/// The folding side: every event in order until the batches end or one is bad. Dropping the
/// receiver on an error tells the reading side to stop.
fn fold_batches(
    receiver: Receiver<Batch>,
    waiting: &AtomicUsize,
    each: &mut impl FnMut(Handed<'_, '_>) -> Result<(), StoreError>,
) -> (u64, Result<(), StoreError>) {
    let mut count = 0;
    // Ends when the reader drops its sender: after the last batch, or after an error.
    while let Ok(batch) = receiver.recv() {
        waiting.fetch_sub(1, Ordering::Relaxed);
        let outcome = match batch.items {
            Items::Decoded(mut views) => views.with_dependent_mut(|_, views| {
                views.drain(..).try_for_each(|view| each(Handed::Decoded(view)).map(|()| count += 1))
            }),
            Items::Checked(records) => {
                records.iter().try_for_each(|record| each(Handed::Checked(record)).map(|()| count += 1))
            }
        };
        if let Err(error) = outcome.and(batch.error.map_or(Ok(()), Err)) {
            return (count, Err(error));
        }
    }
    (count, Ok(()))
}

/// The reading side: batches until the range ends, an error, or the folding side hangs up.
fn read_batches(mut records: RecordIter<'_>, sender: SyncSender<Batch>, waiting: &AtomicUsize) {
    loop {
        let (checked, error) = checked_records(&mut records);
        if checked.is_empty() && error.is_none() {
            return;
        }
        let len = checked.len();
        let decode_here = waiting.load(Ordering::Relaxed) >= DECODE_WHEN_AHEAD_BATCHES;
        let batch = if decode_here { decoded(checked, error) } else { Batch { items: Items::Checked(checked), error } };
        let failed = batch.error.is_some();
        waiting.fetch_add(1, Ordering::Relaxed);
        // A closed channel means the folding side stopped (an error, or it panicked).
        if sender.send(batch).is_err() || failed || len < PIPELINE_BATCH_EVENTS {
            return;
        }
    }
}

/// The next batch of checked records, and the error that ended it early.
fn checked_records(records: &mut RecordIter<'_>) -> (Vec<StoredRecord>, Option<StoreError>) {
    let mut checked = Vec::with_capacity(PIPELINE_BATCH_EVENTS);
    for result in records.take(PIPELINE_BATCH_EVENTS) {
        match result {
            Ok(record) => checked.push(record),
            Err(error) => return (checked, Some(error)),
        }
    }
    (checked, None)
}

/// The batch with every record decoded into its view, up to the first that does not decode (its
/// error then ends the batch, after the error that ended the read, if any, which came later).
fn decoded(records: Vec<StoredRecord>, read_error: Option<StoreError>) -> Batch {
    let mut decode_error = None;
    let views = ViewBatch::new(records, |records| {
        let mut views = Vec::with_capacity(records.len());
        for record in records {
            match record.decode_view() {
                Ok(view) => views.push(view),
                Err(error) => {
                    decode_error = Some(error);
                    break;
                }
            }
        }
        views
    });
    Batch { items: Items::Decoded(views), error: decode_error.or(read_error) }
}
