//! Replay with the reading on a second thread: a reader thread iterates and checks the records
//! and decodes their payloads in batches, while the caller folds the previous batch. On a machine
//! with two cores the replay then costs about max(read + decode, fold) instead of their sum.
//! Same checks and same order as `Store::events_range`; the first error ends the stream.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::domain::RecordedEvent;
use crate::store::error::StoreError;
use crate::store::log::Store;
use crate::store::read::{ChainCheck, RecordIter};

/// Events per batch handed from the reader thread to the caller.
const PREFETCH_BATCH_EVENTS: usize = 1_024;
/// Batches the reader may run ahead (bounds memory to about 4,000 decoded events).
const PREFETCH_BATCHES_AHEAD: usize = 4;

type Batch = Vec<Result<RecordedEvent, StoreError>>;

/// Events decoded ahead on a reader thread; see the module comment.
pub struct PrefetchedEvents {
    receiver: Option<Receiver<Batch>>,
    current: std::vec::IntoIter<Result<RecordedEvent, StoreError>>,
    reader: Option<JoinHandle<()>>,
    /// The seq the next event must have, and the last one: a reader that stops early (it cannot,
    /// short of a bug) is an error, never a shorter replay.
    next_seq: u64,
    until_seq: u64,
    failed: bool,
}

impl Store {
    /// `events_range(from_seq, until_seq)`, read and decoded on a second thread.
    pub fn events_prefetched(&self, from_seq: u64, until_seq: u64) -> PrefetchedEvents {
        let events = self.trees().events.clone();
        let log_path = self.log_path.clone();
        let until_seq = until_seq.min(self.last_seq());
        let chain = self.chain_check();
        let (sender, receiver) = sync_channel(PREFETCH_BATCHES_AHEAD);
        let reader = std::thread::Builder::new()
            .name("easgate-store-prefetch".into())
            .spawn(move || read_ahead(events, log_path, from_seq, until_seq, chain, sender));
        match reader {
            Ok(reader) => PrefetchedEvents {
                receiver: Some(receiver),
                current: Vec::new().into_iter(),
                reader: Some(reader),
                next_seq: from_seq.max(1),
                until_seq,
                failed: false,
            },
            Err(error) => {
                let failure = StoreError::io("cannot start a reader thread for", &self.log_path, error);
                PrefetchedEvents {
                    receiver: None,
                    current: vec![Err(failure)].into_iter(),
                    reader: None,
                    next_seq: from_seq.max(1),
                    until_seq,
                    failed: false,
                }
            }
        }
    }
}

fn read_ahead(
    events: sled::Tree,
    log_path: PathBuf,
    from_seq: u64,
    until_seq: u64,
    chain: ChainCheck,
    sender: SyncSender<Batch>,
) {
    let records = match RecordIter::new(&events, &log_path, from_seq, until_seq, chain) {
        Ok(records) => records,
        Err(error) => {
            let _ = sender.send(vec![Err(error)]);
            return;
        }
    };
    let mut batch = Vec::with_capacity(PREFETCH_BATCH_EVENTS);
    for record in records {
        let decoded = record.and_then(|record| record.decode());
        let failed = decoded.is_err();
        batch.push(decoded);
        if failed || batch.len() == PREFETCH_BATCH_EVENTS {
            // A closed channel means the caller stopped reading: stop too.
            if sender.send(std::mem::replace(&mut batch, Vec::with_capacity(PREFETCH_BATCH_EVENTS))).is_err() || failed
            {
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = sender.send(batch);
    }
}

impl Iterator for PrefetchedEvents {
    type Item = Result<RecordedEvent, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        // Each turn either yields or takes a batch of at least one event from a bounded range.
        loop {
            if let Some(item) = self.current.next() {
                self.failed = item.is_err();
                self.next_seq += 1;
                return Some(item);
            }
            match self.receiver.as_ref().map(|receiver| receiver.recv()) {
                Some(Ok(batch)) => self.current = batch.into_iter(),
                _ if self.next_seq > self.until_seq => return None,
                _ => {
                    self.failed = true;
                    return Some(Err(StoreError::damaged(
                        self.next_seq,
                        "the reader thread stopped before this record",
                    )));
                }
            }
        }
    }
}

impl Drop for PrefetchedEvents {
    fn drop(&mut self) {
        // Closing the channel stops the reader at its next send; then wait for it.
        self.receiver = None;
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}
