//! The pure domain: the event catalog, the ten-step projection, the decision rules and the
//! planner. Sans-IO: nothing here touches tokio, sled, reqwest, quick-xml, a clock or randomness;
//! time and ids come in as inputs.

pub mod cmdlet_call;
pub mod decide;
pub mod event;
pub mod exchange_rules;
pub mod observation;
pub mod observe;
pub mod plan;
pub mod projection;
pub mod vocabulary;

use uuid::Uuid;

pub use event::Event;

/// An event to append: the log assigns its seq and chains it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub recorded_at_us: i64,
    pub event_id: Uuid,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub event: Event,
}

impl NewEvent {
    /// The event as recorded at `seq`.
    pub fn recorded(self, seq: u64) -> RecordedEvent {
        RecordedEvent {
            seq,
            recorded_at_us: self.recorded_at_us,
            event_id: self.event_id,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            event: self.event,
        }
    }
}

/// An event as the log holds it: the payload and its envelope fields.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// Position in the log, from 1, gap-free.
    pub seq: u64,
    /// When it was recorded, microseconds since the Unix epoch (UTC).
    pub recorded_at_us: i64,
    pub event_id: Uuid,
    /// The sync run (or command) this event belongs to.
    pub correlation_id: Option<Uuid>,
    /// The event that caused this one.
    pub causation_id: Option<Uuid>,
    pub event: Event,
}

#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod flow_tests;
#[cfg(test)]
pub mod given;
#[cfg(test)]
mod plan_tests;
