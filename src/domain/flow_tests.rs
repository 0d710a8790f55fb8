//! Given/when/then tests of the ten-step flow as the projection tracks it (DESIGN section 1).

use crate::domain::Event;
use crate::domain::event::*;
use crate::domain::given::*;
use crate::domain::projection::Projection;
use crate::domain::vocabulary::*;

const ALICE: &str = "alice@contoso.com";
const PHONE: &str = "ApplF17LTTCGFFG8";

fn decided(access: Access, reason: Reason) -> Event {
    Event::AccessDecided(AccessDecided {
        mailbox: ALICE.into(),
        device_id: PHONE.into(),
        access,
        reason,
        inputs: DecisionInputs { targeted: true, ..DecisionInputs::default() },
    })
}

fn exchange_state(state: ExchangeState) -> Event {
    Event::ExchangeStateObserved(ExchangeStateObserved {
        mailbox: ALICE.into(),
        device_id: PHONE.into(),
        exchange_state: state,
        exchange_reason: ExchangeReason::Individual,
    })
}

fn registered() -> Event {
    Event::DeviceRegistered(DeviceRegistered {
        device_id: PHONE.into(),
        entra_device_id: "entra-1".into(),
        trust_type: "Workplace".into(),
    })
}

fn step_after(events: &[Event]) -> u8 {
    let projection: Projection = given(events.to_vec());
    projection.device(ALICE, PHONE).map(|device| device.flow_step).unwrap_or(0)
}

/// The happy path, with the step each event reaches.
fn walk() -> Vec<(Event, u8)> {
    let managed_device_id = format!("md-{PHONE}");
    vec![
        (policy(AccessLevel::Quarantine, true), 0),
        (user(ALICE, true, &["mobile"]), 0),
        (discovered(ALICE, PHONE, "iPhone"), 1),
        (decided(Access::Quarantined, Reason::NotEnrolled), 2),
        (exchange_state(ExchangeState::Quarantined), 3),
        (registered(), 4),
        (
            Event::DeviceEnrolled(DeviceEnrolled {
                managed_device_id: managed_device_id.clone(),
                upn: ALICE.into(),
                device_id: Some(PHONE.into()),
            }),
            5,
        ),
        (
            Event::DeviceMapped(DeviceMapped {
                mailbox: ALICE.into(),
                device_id: PHONE.into(),
                managed_device_id: managed_device_id.clone(),
            }),
            6,
        ),
        (
            Event::EasIdRegistered(EasIdRegistered {
                managed_device_id: managed_device_id.clone(),
                device_id: PHONE.into(),
            }),
            7,
        ),
        (Event::ComplianceObserved(ComplianceObserved { managed_device_id, compliance: Compliance::Compliant }), 8),
        (decided(Access::Allowed, Reason::Compliant), 9),
        (exchange_state(ExchangeState::Allowed), 10),
    ]
}

#[test]
fn the_happy_path_walks_the_ten_steps_in_order() {
    let mut events = Vec::new();
    for (event, expected_step) in walk() {
        let name = event.name();
        events.push(event);
        assert_eq!(step_after(&events), expected_step, "after {name}");
    }
}

#[test]
fn falling_off_starts_a_new_episode_at_the_denial() {
    let mut events: Vec<Event> = walk().into_iter().map(|(event, _)| event).collect();
    events.push(decided(Access::Blocked, Reason::NotCompliant));
    assert_eq!(step_after(&events), 2);
    let projection = given(events.clone());
    let device = projection.device(ALICE, PHONE).expect("discovered");
    assert_eq!(device.episode, 2);
    assert!(!device.notified_in_episode);
    events.push(exchange_state(ExchangeState::Blocked));
    assert_eq!(step_after(&events), 3);
    events.push(decided(Access::Allowed, Reason::Compliant));
    events.push(exchange_state(ExchangeState::Allowed));
    assert_eq!(step_after(&events), 10);
}

#[test]
fn facts_that_arrive_before_the_partnership_count_when_it_is_mapped() {
    // Enrolled and compliant before the phone ever synced mail.
    let mut events: Vec<Event> = managed(ALICE, PHONE, Compliance::Compliant);
    events.push(registered());
    events.push(discovered(ALICE, PHONE, "iPhone"));
    assert_eq!(step_after(&events), 1);
    events.push(Event::DeviceMapped(DeviceMapped {
        mailbox: ALICE.into(),
        device_id: PHONE.into(),
        managed_device_id: format!("md-{PHONE}"),
    }));
    assert_eq!(step_after(&events), 8);
}

#[test]
fn an_orphan_event_is_an_anomaly_not_an_error() {
    let projection = given(vec![
        exchange_state(ExchangeState::Allowed),
        Event::CmdletSucceeded(CmdletSucceeded { command_id: uuid::Uuid::nil(), cmdlet: "Set-CASMailbox".into() }),
    ]);
    assert_eq!(projection.anomaly_count, 2);
    assert!(projection.anomalies[0].detail.contains("never discovered"), "{:?}", projection.anomalies);
    assert!(projection.device(ALICE, PHONE).is_some(), "what the orphan said is kept");
}

#[test]
fn a_removed_partnership_that_comes_back_starts_over() {
    let mut events: Vec<Event> = walk().into_iter().map(|(event, _)| event).collect();
    events.push(Event::PartnershipRemoved(PartnershipRemoved { mailbox: ALICE.into(), device_id: PHONE.into() }));
    let projection = given(events.clone());
    assert!(projection.current_devices().is_empty());
    events.push(discovered(ALICE, PHONE, "iPhone"));
    let projection = given(events);
    let device = projection.device(ALICE, PHONE).expect("rediscovered");
    assert_eq!((device.flow_step, device.access, device.removed), (1, None, false));
}
