//! Reading the log on a second thread while the caller folds it: one thread reads, checks
//! (checksum, contiguity, chain, exactly as `EventIter`) and decodes batches of events; the
//! calling thread receives them in seq order through a bounded channel. Folding a long log
//! (open, replay, verify) then uses both cores instead of one.
//!
//! Invariant: the caller sees exactly the events `EventIter` would yield, in the same order, and
//! an error names the same seq; everything before the first bad record is still handed over.

use crate::domain::RecordedEvent;
use crate::store::error::StoreError;
use crate::store::log::Store;
use crate::store::read::EventIter;

/// Events handed over per batch: large enough that the channel costs nothing per event, small
/// enough that the folding thread starts at once.
pub const PIPELINE_BATCH_EVENTS: usize = 1_024;
/// Batches read ahead of the folding thread (the queue's limit, so memory stays bounded).
pub const PIPELINE_BATCHES_AHEAD: usize = 8;
/// Below this many events a second thread is not worth starting.
pub const PIPELINE_MIN_EVENTS: u64 = 4 * PIPELINE_BATCH_EVENTS as u64;

/// One batch: events in seq order, and the error that ended the read after them, if any.
struct Batch {
    events: Vec<RecordedEvent>,
    error: Option<StoreError>,
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
        let until_seq = until_seq.min(self.last_seq());
        let events = self.events_range(from_seq, until_seq)?;
        if until_seq.saturating_sub(from_seq) < PIPELINE_MIN_EVENTS {
            let mut count = 0;
            for event in events {
                each(event?);
                count += 1;
            }
            return Ok(count);
        }
        let first_seq = events.next_seq();
        std::thread::scope(|scope| {
            let (sender, receiver) = std::sync::mpsc::sync_channel::<Batch>(PIPELINE_BATCHES_AHEAD);
            let reader = scope.spawn(move || read_batches(events, sender));
            let mut count = 0;
            let mut outcome = Ok(());
            // Ends when the reader drops its sender: after the last batch, or after an error.
            for batch in receiver {
                for event in batch.events {
                    each(event);
                    count += 1;
                }
                if let Some(error) = batch.error {
                    outcome = Err(error);
                }
            }
            if reader.join().is_err() && outcome.is_ok() {
                outcome = Err(StoreError::damaged(first_seq + count, "the thread reading the log failed"));
            }
            outcome.map(|()| count)
        })
    }
}

/// The reading side: batches until the range ends, an error, or the folding side hangs up.
fn read_batches(mut events: EventIter<'_>, sender: std::sync::mpsc::SyncSender<Batch>) {
    loop {
        let mut batch = Batch { events: Vec::with_capacity(PIPELINE_BATCH_EVENTS), error: None };
        for result in events.by_ref().take(PIPELINE_BATCH_EVENTS) {
            match result {
                Ok(event) => batch.events.push(event),
                Err(error) => {
                    batch.error = Some(error);
                    break;
                }
            }
        }
        let last = batch.error.is_some() || batch.events.len() < PIPELINE_BATCH_EVENTS;
        if batch.events.is_empty() && batch.error.is_none() {
            return;
        }
        // A closed channel means the folding side stopped (it panicked): nothing left to do.
        if sender.send(batch).is_err() || last {
            return;
        }
    }
}
