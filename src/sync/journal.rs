//! The journal: the single writer of the log and the holder of the projection. Every event the
//! engine records goes through here: it gets its id and time, is appended, and is folded into
//! the projection at once, so the projection is always the fold of what was appended.

use std::sync::Arc;

use uuid::Uuid;

use crate::clock::Clock;
use crate::domain::cmdlet_call::CmdletCall;
use crate::domain::projection::{PendingCommand, Projection, evolve};
use crate::domain::{Event, NewEvent, RecordedEvent};
use crate::sync::ids::IdGenerator;

/// Records per append (one sled batch): large batches cost sled memory out of proportion.
pub const EVENTS_PER_APPEND_MAX: usize = 1_024;

/// Events appended without a flush at most (sled keeps unflushed writes in memory).
pub const UNFLUSHED_EVENTS_MAX: usize = 8_192;

/// Why the log refused an append or a flush.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LogError(pub String);

/// The append-only log as the engine needs it. `crate::store::Store` is the real one.
pub trait EventLog: Send {
    /// Appends in order; seq and the hash chain are the log's to assign. Not durable until `flush`.
    fn append(&mut self, events: Vec<NewEvent>) -> Result<Vec<RecordedEvent>, LogError>;
    /// Makes everything appended durable (one flush for many events: group commit).
    fn flush(&mut self) -> Result<(), LogError>;
    /// Flushes and closes the log (a clean shutdown). Dropping it instead is a crash.
    fn close(self: Box<Self>) -> Result<(), LogError>;
    /// Stores a snapshot of the projection, which is the fold of the whole log.
    fn save_snapshot(&mut self, projection: &Projection) -> Result<(), LogError>;
    /// The event at `seq`, checked; `None` when the log does not hold it. Recovery reads the
    /// intents of pending commands back with it (the projection keeps only their effects).
    fn read(&self, seq: u64) -> Result<Option<RecordedEvent>, LogError>;
}

/// A log in memory, for tests of the engine that do not need durability.
#[derive(Debug, Default)]
pub struct MemoryLog {
    pub events: Vec<RecordedEvent>,
    pub flushed_len: usize,
}

impl EventLog for MemoryLog {
    fn append(&mut self, events: Vec<NewEvent>) -> Result<Vec<RecordedEvent>, LogError> {
        let first_seq = self.events.len() as u64 + 1;
        let recorded: Vec<RecordedEvent> =
            events.into_iter().enumerate().map(|(index, event)| event.recorded(first_seq + index as u64)).collect();
        self.events.extend(recorded.iter().cloned());
        Ok(recorded)
    }
    fn flush(&mut self) -> Result<(), LogError> {
        self.flushed_len = self.events.len();
        Ok(())
    }
    fn close(self: Box<Self>) -> Result<(), LogError> {
        Ok(())
    }
    fn save_snapshot(&mut self, _projection: &Projection) -> Result<(), LogError> {
        Ok(())
    }
    fn read(&self, seq: u64) -> Result<Option<RecordedEvent>, LogError> {
        Ok(seq.checked_sub(1).and_then(|index| self.events.get(usize::try_from(index).ok()?)).cloned())
    }
}

pub struct Journal {
    log: Box<dyn EventLog>,
    projection: Projection,
    clock: Arc<dyn Clock>,
    ids: IdGenerator,
    unflushed_count: usize,
    snapshot_seq: u64,
}

impl Journal {
    /// `projection` must be the fold of everything already in `log`.
    pub fn new(log: Box<dyn EventLog>, projection: Projection, clock: Arc<dyn Clock>, ids: IdGenerator) -> Journal {
        let snapshot_seq = projection.last_seq;
        Journal { log, projection, clock, ids, unflushed_count: 0, snapshot_seq }
    }

    /// The seq of the newest snapshot in the log (what `snapshot_if_due` counts from).
    pub fn set_snapshot_seq(&mut self, seq: u64) {
        self.snapshot_seq = seq;
    }

    /// The call of a pending command, read back from its intent in the log; `None` when the log
    /// holds no intent of that command at its seq.
    pub fn pending_call(&self, pending: &PendingCommand) -> Result<Option<CmdletCall>, LogError> {
        Ok(match self.log.read(pending.requested_seq)?.map(|recorded| recorded.event) {
            Some(Event::CmdletRequested(intent)) if intent.command_id == pending.command_id => {
                Some(CmdletCall { cmdlet: intent.cmdlet, parameters: intent.parameters })
            }
            _ => None,
        })
    }

    pub fn projection(&self) -> &Projection {
        &self.projection
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn new_id(&mut self) -> Uuid {
        let now = self.clock.now();
        self.ids.next_id(now)
    }

    /// Appends events (not yet durable) and folds them into the projection.
    pub fn record(&mut self, correlation_id: Option<Uuid>, events: Vec<Event>) -> Result<Vec<RecordedEvent>, LogError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        let mut recorded = Vec::with_capacity(events.len());
        let mut remaining = events.into_iter().peekable();
        while remaining.peek().is_some() {
            // One sled batch holds a bounded number of records: sled's memory for a batch grows
            // out of proportion with its size (measured: 60,000 records in one batch, +300 MB).
            let chunk: Vec<NewEvent> = remaining
                .by_ref()
                .take(EVENTS_PER_APPEND_MAX)
                .map(|event| NewEvent {
                    recorded_at_us: now.timestamp_micros(),
                    event_id: self.ids.next_id(now),
                    correlation_id,
                    causation_id: None,
                    event,
                })
                .collect();
            let appended = self.log.append(chunk)?;
            for event in &appended {
                assert!(
                    event.seq == self.projection.last_seq + 1,
                    "the log must assign seq {} next",
                    self.projection.last_seq + 1
                );
                evolve(&mut self.projection, event);
            }
            self.unflushed_count += appended.len();
            recorded.extend(appended);
            // sled also keeps unflushed writes in memory: a long run of observations is flushed
            // as it goes.
            if self.unflushed_count >= UNFLUSHED_EVENTS_MAX {
                self.commit()?;
            }
        }
        Ok(recorded)
    }

    /// Makes every recorded event durable. Intents must be committed before their effect.
    pub fn commit(&mut self) -> Result<(), LogError> {
        if self.unflushed_count == 0 {
            return Ok(());
        }
        self.log.flush()?;
        self.unflushed_count = 0;
        Ok(())
    }

    /// Commits and snapshots when `every_events` were recorded since the last snapshot, so
    /// that a restart folds only a short tail.
    pub fn snapshot_if_due(&mut self, every_events: u64) -> Result<(), LogError> {
        if self.projection.last_seq < self.snapshot_seq + every_events.max(1) {
            return Ok(());
        }
        self.commit()?;
        self.log.save_snapshot(&self.projection)?;
        self.snapshot_seq = self.projection.last_seq;
        Ok(())
    }

    /// Commits, snapshots and closes the log: a clean shutdown.
    pub fn close(mut self) -> Result<Projection, LogError> {
        self.commit()?;
        if self.projection.last_seq > self.snapshot_seq {
            self.log.save_snapshot(&self.projection)?;
        }
        self.log.close()?;
        Ok(self.projection)
    }
}
