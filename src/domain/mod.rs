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

/// An event as the log holds it: the payload and its envelope fields. `RecordedEvent<&str>` is
/// its view (text borrowed, from the caller's event or straight from a record's bytes), the form
/// the projection folds.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent<S = String> {
    /// Position in the log, from 1, gap-free.
    pub seq: u64,
    /// When it was recorded, microseconds since the Unix epoch (UTC).
    pub recorded_at_us: i64,
    pub event_id: Uuid,
    /// The sync run (or command) this event belongs to.
    pub correlation_id: Option<Uuid>,
    /// The event that caused this one.
    pub causation_id: Option<Uuid>,
    pub event: Event<S>,
}

impl<S: AsRef<str>> RecordedEvent<S> {
    /// The view of this event (text borrowed, other payloads cloned).
    pub fn to_view(&self) -> RecordedEvent<&str> {
        self.with_event(self.event.to_view())
    }

    /// Hands `fold` this event's view, moving the payloads that have no borrowed form.
    pub fn into_view<R>(self, fold: impl FnOnce(RecordedEvent<&str>) -> R) -> R {
        let RecordedEvent { seq, recorded_at_us, event_id, correlation_id, causation_id, event } = self;
        event.into_view(|event| {
            fold(RecordedEvent { seq, recorded_at_us, event_id, correlation_id, causation_id, event })
        })
    }
}

impl<S> RecordedEvent<S> {
    /// The event with its text turned into another text type.
    pub fn map_text<T>(self, map: impl FnMut(S) -> T) -> RecordedEvent<T> {
        let RecordedEvent { seq, recorded_at_us, event_id, correlation_id, causation_id, event } = self;
        RecordedEvent { seq, recorded_at_us, event_id, correlation_id, causation_id, event: event.map_text(map) }
    }

    /// The same envelope around another form of the payload.
    pub fn with_event<T>(&self, event: Event<T>) -> RecordedEvent<T> {
        RecordedEvent {
            seq: self.seq,
            recorded_at_us: self.recorded_at_us,
            event_id: self.event_id,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            event,
        }
    }
}

#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod flow_tests;
#[cfg(test)]
pub mod given;
#[cfg(test)]
mod plan_tests;
