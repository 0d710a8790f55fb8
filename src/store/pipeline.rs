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
//! A fold of views (`for_each_view`) has the reading thread decode into compact text (held
//! inline up to 24 bytes: no allocation for ids and most addresses, so nothing for the folding
//! thread to free), and the folding thread decodes an undecoded batch in place, borrowing the
//! text from the records.
//!
//! Invariant: the caller sees exactly the events `EventIter` would yield, in the same order, and
//! an error names the same seq; everything before the first bad record is still handed over.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::domain::RecordedEvent;
use crate::store::error::StoreError;
use crate::store::log::Store;
use crate::store::read::{RecordIter, StoredRecord};

/// Events handed over per batch: large enough that the channel costs nothing per event, small
/// enough that the folding thread starts at once.
pub const PIPELINE_BATCH_EVENTS: usize = 1_024;
/// Batches read ahead of the folding thread (the queue's limit, so memory stays bounded).
pub const PIPELINE_BATCHES_AHEAD: usize = 8;
/// Below this many events a second thread is not worth starting.
pub const PIPELINE_MIN_EVENTS: u64 = 4 * PIPELINE_BATCH_EVENTS as u64;
/// The reading thread decodes a batch itself when at least this many wait to be folded.
pub const DECODE_WHEN_AHEAD_BATCHES: usize = 2;

/// One batch in seq order, decoded (as `D`) or not, and the error that ended the read after it.
struct Batch<D> {
    items: Items<D>,
    error: Option<StoreError>,
}

enum Items<D> {
    Decoded(Vec<D>),
    Checked(Vec<StoredRecord>),
}

impl<D> Items<D> {
    fn len(&self) -> usize {
        match self {
            Items::Decoded(events) => events.len(),
            Items::Checked(records) => records.len(),
        }
    }
}

/// What the folding side is handed: an event the reading thread decoded (as `D`), or a checked
/// record for the folding side to decode.
enum Handed<'a, D> {
    Decoded(D),
    Checked(&'a StoredRecord),
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
        self.for_each_handed(from_seq, until_seq, StoredRecord::decode, |handed| {
            match handed {
                Handed::Decoded(event) => each(event),
                Handed::Checked(record) => each(record.decode()?),
            }
            Ok(())
        })
    }

    /// `for_each_event` for a fold: each event is handed over as its view, its text borrowed
    /// (from the record, or from the compact text the reading thread decoded), so that the fold
    /// copies only the text it keeps.
    pub fn for_each_view(
        &self,
        from_seq: u64,
        until_seq: u64,
        mut each: impl FnMut(RecordedEvent<&str>),
    ) -> Result<u64, StoreError> {
        self.for_each_handed(from_seq, until_seq, StoredRecord::decode_compact, |handed| {
            match handed {
                Handed::Decoded(event) => event.into_view(&mut each),
                Handed::Checked(record) => record.decode_view()?.into_view(&mut each),
            }
            Ok(())
        })
    }

    /// The pipeline under both: records read and checked on a second thread when the range is
    /// long, a batch decoded there with `decode` when the folding side is behind. `each` failing
    /// (a payload that does not decode) stops the read.
    fn for_each_handed<D: Send>(
        &self,
        from_seq: u64,
        until_seq: u64,
        decode: fn(&StoredRecord) -> Result<D, StoreError>,
        mut each: impl FnMut(Handed<'_, D>) -> Result<(), StoreError>,
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
            let (sender, receiver) = sync_channel::<Batch<D>>(PIPELINE_BATCHES_AHEAD);
            let waiting = &waiting_batches;
            let reader = scope.spawn(move || read_batches(records, sender, waiting, decode));
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
fn fold_batches<D>(
    receiver: Receiver<Batch<D>>,
    waiting: &AtomicUsize,
    each: &mut impl FnMut(Handed<'_, D>) -> Result<(), StoreError>,
) -> (u64, Result<(), StoreError>) {
    let mut count = 0;
    // Ends when the reader drops its sender: after the last batch, or after an error.
    while let Ok(batch) = receiver.recv() {
        waiting.fetch_sub(1, Ordering::Relaxed);
        match batch.items {
            Items::Decoded(events) => {
                for event in events {
                    if let Err(error) = each(Handed::Decoded(event)) {
                        return (count, Err(error));
                    }
                    count += 1;
                }
            }
            Items::Checked(records) => {
                for record in &records {
                    if let Err(error) = each(Handed::Checked(record)) {
                        return (count, Err(error));
                    }
                    count += 1;
                }
            }
        }
        if let Some(error) = batch.error {
            return (count, Err(error));
        }
    }
    (count, Ok(()))
}

/// The reading side: batches until the range ends, an error, or the folding side hangs up.
fn read_batches<D>(
    mut records: RecordIter<'_>,
    sender: SyncSender<Batch<D>>,
    waiting: &AtomicUsize,
    decode: fn(&StoredRecord) -> Result<D, StoreError>,
) {
    loop {
        let decode_here = waiting.load(Ordering::Relaxed) >= DECODE_WHEN_AHEAD_BATCHES;
        let batch = if decode_here { decoded_batch(&mut records, decode) } else { checked_batch(&mut records) };
        let (len, error) = (batch.items.len(), batch.error.is_some());
        if len == 0 && !error {
            return;
        }
        waiting.fetch_add(1, Ordering::Relaxed);
        // A closed channel means the folding side stopped (an error, or it panicked).
        if sender.send(batch).is_err() || error || len < PIPELINE_BATCH_EVENTS {
            return;
        }
    }
}

fn checked_batch<D>(records: &mut RecordIter<'_>) -> Batch<D> {
    let mut checked = Vec::with_capacity(PIPELINE_BATCH_EVENTS);
    for result in records.take(PIPELINE_BATCH_EVENTS) {
        match result {
            Ok(record) => checked.push(record),
            Err(error) => return Batch { items: Items::Checked(checked), error: Some(error) },
        }
    }
    Batch { items: Items::Checked(checked), error: None }
}

fn decoded_batch<D>(records: &mut RecordIter<'_>, decode: fn(&StoredRecord) -> Result<D, StoreError>) -> Batch<D> {
    let mut events = Vec::with_capacity(PIPELINE_BATCH_EVENTS);
    for result in records.take(PIPELINE_BATCH_EVENTS) {
        match result.and_then(|record| decode(&record)) {
            Ok(event) => events.push(event),
            Err(error) => return Batch { items: Items::Decoded(events), error: Some(error) },
        }
    }
    Batch { items: Items::Decoded(events), error: None }
}
