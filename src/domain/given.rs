//! A given/when/then harness for the domain, in the style of cqrs-es's test framework: given
//! past events, when something is decided, then expect these events or this state. Used by the
//! domain's unit tests and by the replay tests.

use uuid::Uuid;

use crate::domain::event::*;
use crate::domain::projection::{Projection, evolve};
use crate::domain::vocabulary::*;
use crate::domain::{Event, RecordedEvent};

/// Folds events into a fresh projection, one second apart from 2026-01-01T00:00:00Z.
pub fn given(events: Vec<Event>) -> Projection {
    let mut projection = Projection::default();
    for (index, event) in events.into_iter().enumerate() {
        let seq = index as u64 + 1;
        let recorded = RecordedEvent {
            seq,
            recorded_at_us: 1_767_225_600_000_000 + seq as i64 * 1_000_000,
            event_id: Uuid::from_u128(u128::from(seq)),
            correlation_id: None,
            causation_id: None,
            event,
        };
        evolve(&mut projection, &recorded);
    }
    projection
}

pub fn policy(default_access: AccessLevel, override_default_rule: bool) -> Event {
    Event::PolicyApplied(PolicyApplied {
        revision: 1,
        enabled: true,
        included_groups: vec!["mobile".into()],
        excluded_groups: vec!["exempt".into()],
        default_access,
        override_default_rule,
        access_rules: Vec::new(),
        notification: String::new(),
    })
}

pub fn organization(default_access: AccessLevel, rules: Vec<DeviceAccessRule>) -> Event {
    Event::OrganizationObserved(OrganizationObserved { default_access, rules, cas_servers: vec!["cas1".into()] })
}

pub fn user(upn: &str, licensed: bool, groups: &[&str]) -> Event {
    Event::UserObserved(UserObserved {
        upn: upn.into(),
        smtp: upn.into(),
        licensed,
        groups: groups.iter().map(|group| group.to_string()).collect(),
    })
}

pub fn mailbox(smtp: &str, allowed: &[&str], blocked: &[&str]) -> Event {
    Event::MailboxObserved(MailboxObserved {
        mailbox: smtp.into(),
        identity: format!("contoso.com/Users/{smtp}"),
        activesync_enabled: true,
        allowed_device_ids: allowed.iter().map(|id| id.to_string()).collect(),
        blocked_device_ids: blocked.iter().map(|id| id.to_string()).collect(),
    })
}

pub fn discovered(smtp: &str, device_id: &str, device_type: &str) -> Event {
    Event::DeviceDiscovered(DeviceDiscovered {
        mailbox: smtp.into(),
        device_id: device_id.into(),
        device_type: device_type.into(),
        device_model: format!("{device_type} model"),
        device_os: "OS 1".into(),
        exchange_state: ExchangeState::Quarantined,
        exchange_reason: ExchangeReason::Global,
        user_agent: String::new(),
    })
}

/// Enrolment, "Activate email" and a compliance state for a device, as the tenant reports them.
pub fn managed(upn: &str, device_id: &str, compliance: Compliance) -> Vec<Event> {
    let managed_device_id = format!("md-{device_id}");
    let mut events = vec![
        Event::DeviceEnrolled(DeviceEnrolled {
            managed_device_id: managed_device_id.clone(),
            upn: upn.into(),
            device_id: Some(device_id.into()),
        }),
        Event::EasIdRegistered(EasIdRegistered {
            managed_device_id: managed_device_id.clone(),
            device_id: device_id.into(),
        }),
    ];
    if compliance != Compliance::Unknown {
        events.push(Event::ComplianceObserved(ComplianceObserved { managed_device_id, compliance }));
    }
    events
}
