//! One line of words per event, for `audit` and `replay --trace`.

use crate::domain::Event;
use crate::domain::event::DecisionInputs;
use crate::domain::vocabulary::ListEntry;

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// The inputs behind a decision, in words.
pub fn inputs(inputs: &DecisionInputs) -> String {
    let admin = match inputs.admin_entry {
        ListEntry::None => "none",
        ListEntry::Allow => "on the allow list",
        ListEntry::Block => "on the block list",
    };
    let rules = inputs.exchange_rules_give.map(|level| level.as_str()).unwrap_or("unknown");
    format!(
        "targeted {}, enrolled {}, EAS id linked {}, compliance {}, admin entry {admin}, Exchange's own rules give {rules}, policy revision {}",
        yes_no(inputs.targeted),
        yes_no(inputs.enrolled),
        yes_no(inputs.eas_id_linked),
        inputs.compliance.as_str(),
        inputs.policy_revision
    )
}

pub fn describe(event: &Event) -> String {
    match event {
        Event::ConnectorRegistered(event) => {
            format!("connector {} for {} on {}", event.connector_id, event.organization, event.server)
        }
        Event::ConnectorStatusChanged(event) => {
            format!("connector {} {} {}", event.connector_id, event.status, event.reason)
        }
        Event::PolicyApplied(event) => format!(
            "revision {}: {}, default {}, override {}, {} rule(s), groups in {:?} out {:?}",
            event.revision,
            if event.enabled { "enabled" } else { "disabled" },
            event.default_access.as_str(),
            yes_no(event.override_default_rule),
            event.access_rules.len(),
            event.included_groups,
            event.excluded_groups
        ),
        Event::SyncStarted(event) => format!("{} sync {}", event.kind.as_str(), event.run_id),
        Event::SyncCompleted(event) => format!(
            "{} sync {} in {} ms, {} cmdlets",
            event.kind.as_str(),
            event.run_id,
            event.duration_ms,
            event.counts.cmdlets
        ),
        Event::SyncFailed(event) => format!("{} sync {}: {}", event.kind.as_str(), event.run_id, event.error),
        Event::CasFailedOver(event) => format!("{} -> {}: {}", event.from, event.to, event.reason),
        Event::UserObserved(event) => {
            format!("{} licensed {} groups {:?}", event.upn, yes_no(event.licensed), event.groups)
        }
        Event::DeviceDiscovered(event) => format!(
            "{} on {}: {} {} {}; Exchange {} ({})",
            event.device_id,
            event.mailbox,
            event.device_type,
            event.device_model,
            event.device_os,
            event.exchange_state.as_str(),
            event.exchange_reason.as_str()
        ),
        Event::ExchangeStateObserved(event) => {
            format!("Exchange {} ({})", event.exchange_state.as_str(), event.exchange_reason.as_str())
        }
        Event::PartnershipRemoved(event) => format!("{} left {}", event.device_id, event.mailbox),
        Event::DeviceRegistered(event) => format!("Entra {} ({})", event.entra_device_id, event.trust_type),
        Event::DeviceEnrolled(event) => format!("managed device {} of {}", event.managed_device_id, event.upn),
        Event::DeviceUnenrolled(event) => format!("managed device {} of {}", event.managed_device_id, event.upn),
        Event::DeviceMapped(event) => {
            format!("{} joined to managed device {}", event.device_id, event.managed_device_id)
        }
        Event::EasIdRegistered(event) => {
            format!("{} registered on managed device {}", event.device_id, event.managed_device_id)
        }
        Event::ComplianceObserved(event) => {
            format!("managed device {} {}", event.managed_device_id, event.compliance.as_str())
        }
        Event::AccessDecided(event) => {
            format!("{} ({}) because {}", event.access.as_str(), event.reason.as_str(), inputs(&event.inputs))
        }
        Event::CmdletRequested(event) => {
            let parameters = serde_json::to_string(&event.parameters).unwrap_or_default();
            format!("{} {parameters} (attempt {}, command {})", event.cmdlet, event.attempt, event.command_id)
        }
        Event::CmdletSucceeded(event) => format!("{} succeeded (command {})", event.cmdlet, event.command_id),
        Event::CmdletFailed(event) => format!(
            "{} failed: {}{}{} (command {})",
            event.cmdlet,
            event.error,
            if event.retryable { "; retryable" } else { "" },
            if event.in_doubt { "; in doubt" } else { "" },
            event.command_id
        ),
        Event::CmdletReconciled(event) => format!(
            "{} {} after reading back: {} (command {})",
            event.cmdlet,
            if event.applied { "applied" } else { "not applied" },
            event.observed,
            event.command_id
        ),
        Event::NotificationRequested(event) => format!("mail to {} requested", event.to),
        Event::NotificationSent(event) => format!("mail sent to {}", event.to),
        Event::NotificationFailed(event) => format!("mail failed: {}", event.error),
        Event::DriftDetected(event) => format!("expected {}, found {}", event.expected, event.actual),
        Event::WipeRequested(event) => format!("wipe requested by {}", event.requested_by),
        Event::WipeConfirmed(event) => format!("wipe confirmed by Exchange (requested by {})", event.requested_by),
        Event::MailboxObserved(event) => {
            format!("{}: allowed {:?} blocked {:?}", event.mailbox, event.allowed_device_ids, event.blocked_device_ids)
        }
        Event::OrganizationObserved(event) => format!(
            "default {}, {} rule(s), servers {:?}",
            event.default_access.as_str(),
            event.rules.len(),
            event.cas_servers
        ),
    }
}
