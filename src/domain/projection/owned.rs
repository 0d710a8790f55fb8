//! `evolve_owned`: the fold of `evolve` for an event the caller gives away, so that the strings
//! of the most frequent events (discoveries, intents) move into the projection instead of being
//! copied. Replays of a whole log use it; `evolve` stays for callers that keep the event.
//!
//! Invariant: `evolve_owned(p, e.clone())` leaves `p` exactly as `evolve(p, &e)` does.

use crate::domain::RecordedEvent;
use crate::domain::event::{CmdletRequested, DeviceDiscovered, Event};
use crate::domain::projection::Projection;
use crate::domain::projection::commands::cmdlet_requested;
use crate::domain::projection::evolve::{apply, begin, device_discovered};
use crate::domain::vocabulary::{ExchangeReason, ExchangeState};

/// Folds `recorded` into `projection`, consuming it.
pub fn evolve_owned(projection: &mut Projection, mut recorded: RecordedEvent) {
    if !begin(projection, &recorded) {
        return;
    }
    // The payload is taken out and an empty one of the same type left behind: anomalies still
    // name the event's type, and nothing else reads the payload after this point.
    match &mut recorded.event {
        Event::DeviceDiscovered(event) => {
            let event = std::mem::replace(event, empty_discovered());
            device_discovered(projection, &recorded, event);
        }
        Event::CmdletRequested(event) => {
            let empty = CmdletRequested {
                command_id: event.command_id,
                cmdlet: String::new(),
                parameters: Default::default(),
                devices: Vec::new(),
                attempt: event.attempt,
            };
            let event = std::mem::replace(event, empty);
            cmdlet_requested(projection, &recorded, event);
        }
        _ => apply(projection, &recorded),
    }
}

fn empty_discovered() -> DeviceDiscovered {
    DeviceDiscovered {
        mailbox: String::new(),
        device_id: String::new(),
        device_type: String::new(),
        device_model: String::new(),
        device_os: String::new(),
        exchange_state: ExchangeState::Unknown,
        exchange_reason: ExchangeReason::Unknown,
        user_agent: String::new(),
    }
}
