//! A long history over a bounded organisation, for the restart benchmark: what a log looks like
//! after months of syncs. Every partnership is discovered once, then each round re-decides it,
//! issues a cmdlet that succeeds and observes Exchange's answer, so the log grows while the
//! projection stays the size of the organisation (no pending intents, one view per device).
//! (`store::measure::realistic_events` is the other shape: every three events a new device.)

use std::path::Path;

use crate::domain::NewEvent;
use crate::domain::cmdlet_call::{ListEdit, ParamValue, Parameters};
use crate::domain::event::{
    AccessDecided, CmdletRequested, CmdletSucceeded, DecisionInputs, DeviceRef, Event, ExchangeStateObserved,
};
use crate::domain::vocabulary::{Access, Compliance, ExchangeReason, ExchangeState, Reason};
use crate::store::measure::{START_US, deterministic_v7, iphone_discovered};
use crate::store::{OpenMode, Store, StoreError};

/// Events per partnership per round: decided, cmdlet requested, cmdlet succeeded, state observed.
const EVENTS_PER_ROUND: u64 = 4;
/// Events appended (and flushed) at a time while building.
const BATCH_EVENTS: u64 = 10_000;
/// Event `index` (0-based) of the history of `devices` partnerships (two per mailbox).
pub fn history_event(index: u64, devices: u64) -> NewEvent {
    let devices = devices.max(1);
    let (device, step) = if index < devices {
        (index, None)
    } else {
        let position = index - devices;
        (position / EVENTS_PER_ROUND % devices, Some(position % EVENTS_PER_ROUND))
    };
    let round = index.saturating_sub(devices) / (EVENTS_PER_ROUND * devices);
    let mailbox = format!("user{:06}@contoso.com", device / 2);
    let device_id = format!("Appl{:012X}", device.wrapping_mul(7919));
    // Each round flips the device between blocked and allowed, as compliance comes and goes.
    let allowed = round.is_multiple_of(2);
    let command_id = deterministic_v7(index - step.unwrap_or(0) + 1, 1);
    let event = match step {
        None => iphone_discovered(mailbox, device_id),
        Some(0) => Event::AccessDecided(AccessDecided {
            mailbox,
            device_id,
            access: if allowed { Access::Allowed } else { Access::Blocked },
            reason: if allowed { Reason::Compliant } else { Reason::NotCompliant },
            inputs: DecisionInputs {
                targeted: true,
                enrolled: true,
                eas_id_linked: true,
                compliance: if allowed { Compliance::Compliant } else { Compliance::Noncompliant },
                policy_revision: 3,
                ..Default::default()
            },
        }),
        Some(1) => {
            let edit = ListEdit { add: vec![device_id.clone()], remove: vec![] };
            let list = if allowed { "ActiveSyncAllowedDeviceIDs" } else { "ActiveSyncBlockedDeviceIDs" };
            Event::CmdletRequested(CmdletRequested {
                command_id,
                cmdlet: "Set-CASMailbox".into(),
                parameters: Parameters(vec![
                    ("Identity".into(), ParamValue::Text(mailbox.clone())),
                    (list.into(), ParamValue::Edit(edit)),
                ]),
                devices: vec![DeviceRef { mailbox, device_id }],
                attempt: 1,
            })
        }
        Some(2) => Event::CmdletSucceeded(CmdletSucceeded { command_id, cmdlet: "Set-CASMailbox".into() }),
        Some(_) => Event::ExchangeStateObserved(ExchangeStateObserved {
            mailbox,
            device_id,
            exchange_state: if allowed { ExchangeState::Allowed } else { ExchangeState::Blocked },
            exchange_reason: ExchangeReason::Individual,
        }),
    };
    NewEvent {
        recorded_at_us: START_US + index as i64 * 1_000,
        event_id: deterministic_v7(index, 0),
        correlation_id: Some(deterministic_v7(index / 1_000, 2)),
        causation_id: None,
        event,
    }
}

/// Appends the history of `devices` partnerships to `data_dir` until it holds `events` events.
pub fn build_history(data_dir: &Path, events: u64, devices: u64) -> Result<(), StoreError> {
    let mut store = Store::open(data_dir, OpenMode::Tail)?;
    while store.last_seq() < events {
        let first = store.last_seq();
        let count = BATCH_EVENTS.min(events - first);
        store.append((first..first + count).map(|index| history_event(index, devices)).collect())?;
        store.flush()?;
    }
    store.close()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::projection::{Projection, evolve};

    #[test]
    fn the_projection_of_a_long_history_stays_the_size_of_the_organisation() {
        let devices = 50;
        let mut projection = Projection::default();
        for index in 0..devices + 7 * EVENTS_PER_ROUND * devices {
            evolve(&mut projection, &history_event(index, devices).recorded(index + 1));
        }
        assert_eq!(projection.devices.len() as u64, devices);
        assert!(projection.pending_commands.is_empty(), "every cmdlet has its outcome");
        assert_eq!(projection.anomaly_count, 0, "{:?}", projection.anomalies);
        // Seven rounds: the last one (round 6) allows.
        assert!(projection.devices.values().all(|device| device.access == Some(Access::Allowed)));
    }
}
