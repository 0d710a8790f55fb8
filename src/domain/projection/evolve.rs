//! `evolve`: folds one recorded event into the projection. It only assigns; it cannot fail. An
//! event that does not fit (an orphan, an outcome without its intent) is kept as an anomaly.

use compact_str::CompactString;

use crate::domain::RecordedEvent;
use crate::domain::event::*;
use crate::domain::projection::commands::{Outcome, cmdlet_requested, command_finished};
use crate::domain::projection::flow::{self, TenantFacts};
use crate::domain::projection::partnerships::{ClassOf, device_mut, device_position, new_device, position_or_insert};
use crate::domain::projection::*;
use crate::domain::vocabulary::{Access, ExchangeReason, ExchangeState};

/// Folds `recorded` into `projection`: its view, with the payloads that have no borrowed form
/// cloned. `evolve_owned` moves them instead; `fold` takes a view made elsewhere (a record's bytes).
pub fn evolve(projection: &mut Projection, recorded: &RecordedEvent) {
    fold(projection, recorded.to_view());
}

/// Folds an event the caller gives away: payloads without a borrowed form (a cmdlet's call, a
/// mailbox's lists) move into the projection instead of being copied.
pub fn evolve_owned(projection: &mut Projection, recorded: RecordedEvent) {
    recorded.into_view(|view| fold(projection, view));
}

/// Folds one event's view. Every other entry point comes here: one fold, whichever form the
/// event arrived in.
pub fn fold(projection: &mut Projection, recorded: RecordedEvent<&str>) {
    let at = At { seq: recorded.seq, recorded_at_us: recorded.recorded_at_us, event_type: recorded.event.name() };
    if begin(projection, at) {
        apply(projection, at, recorded.event);
    }
}

/// Where the folded event sits in the log: what the folds stamp and what an anomaly names.
#[derive(Debug, Clone, Copy)]
pub(super) struct At {
    pub seq: u64,
    pub recorded_at_us: i64,
    pub event_type: &'static str,
}

/// Stamps the projection with the event; false (an anomaly) when it arrived out of order.
fn begin(projection: &mut Projection, at: At) -> bool {
    if at.seq <= projection.last_seq && projection.last_seq != 0 {
        let detail = format!("seq {} arrived after seq {}", at.seq, projection.last_seq);
        anomaly(projection, at, detail);
        return false;
    }
    projection.last_seq = at.seq;
    projection.last_recorded_at_us = at.recorded_at_us;
    projection.event_count += 1;
    true
}

/// Whether a mail is owed changes only with a decision, a mail asked for, a discovery or a
/// removal: their folds bring the set in line with the device they changed.
fn follow_owed(owed_notifications: &mut PositionSet, position: usize, owed: bool) {
    if owed {
        owed_notifications.insert(position);
    } else {
        owed_notifications.remove(position);
    }
}

/// What the event says, folded in (after `begin`). Payloads without a borrowed form arrive owned
/// and move into the projection.
fn apply(projection: &mut Projection, at: At, event: Event<&str>) {
    match event {
        Event::ConnectorRegistered(event) => connector_registered(projection, at, event),
        Event::ConnectorStatusChanged(event) => connector_status_changed(projection, at, event),
        Event::PolicyApplied(event) => {
            projection.policy = Some(event);
            projection.rules_seq = at.seq;
        }
        Event::SyncStarted(event) => sync_started(projection, at, &event),
        Event::SyncCompleted(event) => sync_completed(projection, at, event),
        Event::SyncFailed(event) => sync_failed(projection, at, event),
        Event::CasFailedOver(event) => {
            if let Some(organization) = projection.organization.as_mut() {
                organization.current_server = event.to;
            }
        }
        Event::UserObserved(event) => {
            let smtp_key = LoweredId::new(if event.smtp.is_empty() { event.upn } else { event.smtp });
            user_observed(projection, smtp_key.as_str(), event);
            touch_mailbox(projection, smtp_key.as_str(), at.seq);
        }
        Event::MailboxObserved(event) => {
            let mailbox_key = LoweredId::new(event.mailbox);
            mailbox_observed(projection, mailbox_key.as_str(), event);
            touch_mailbox(projection, mailbox_key.as_str(), at.seq);
        }
        Event::OrganizationObserved(event) => {
            organization_observed(projection, event);
            projection.rules_seq = at.seq;
        }
        Event::DeviceDiscovered(event) => device_discovered(projection, at, &event),
        Event::ExchangeStateObserved(event) => exchange_state_observed(projection, at, &event),
        Event::PartnershipRemoved(event) => {
            change_owing_device(projection, at, event.mailbox, event.device_id, |device| device.removed = true)
        }
        Event::DeviceRegistered(event) => device_registered(projection, at, &event),
        Event::DeviceEnrolled(event) => device_enrolled(projection, at, &event),
        Event::DeviceUnenrolled(event) => device_unenrolled(projection, at, &event),
        Event::DeviceMapped(event) => device_mapped(projection, at, &event),
        Event::EasIdRegistered(event) => eas_id_registered(projection, at, &event),
        Event::ComplianceObserved(event) => compliance_observed(projection, at, &event),
        Event::AccessDecided(event) => access_decided(projection, at, &event),
        Event::CmdletRequested(event) => cmdlet_requested(projection, at, event),
        Event::CmdletSucceeded(event) => command_finished(projection, at, event.command_id, Outcome::Applied),
        Event::CmdletFailed(event) => {
            let outcome = if event.in_doubt { Outcome::InDoubt } else { Outcome::NotApplied };
            command_finished(projection, at, event.command_id, outcome);
        }
        Event::CmdletReconciled(event) => {
            let outcome = if event.applied { Outcome::Applied } else { Outcome::NotApplied };
            command_finished(projection, at, event.command_id, outcome);
        }
        Event::NotificationRequested(event) => notification_requested(projection, at, &event),
        Event::NotificationSent(event) => notification_sent(projection, at, &event),
        Event::NotificationFailed(event) => notification_failed(projection, at, &event),
        Event::DriftDetected(event) => {
            if !event.device_id.is_empty() {
                device_mut(projection, at, &event.mailbox, &event.device_id);
            }
        }
        Event::WipeRequested(event) => {
            let device = device_mut(projection, at, &event.mailbox, &event.device_id);
            device.wipe = Some(WipeView { requested_by: event.requested_by, confirmed: false });
        }
        Event::WipeConfirmed(event) => {
            let device = device_mut(projection, at, &event.mailbox, &event.device_id);
            device.wipe = Some(WipeView { requested_by: event.requested_by, confirmed: true });
        }
    }
}

/// Every partnership of a mailbox (`mailbox_key`, lowercased) may decide differently now.
pub(super) fn touch_mailbox(projection: &mut Projection, mailbox_key: &str, seq: u64) {
    let positions: smallvec::SmallVec<[usize; 4]> =
        projection.devices_by_mailbox.positions(&projection.devices, mailbox_key).collect();
    for position in positions {
        if let Some((_, device)) = projection.devices.get_index_mut(position) {
            device.inputs_seq = seq;
        }
    }
}

pub(super) fn anomaly(projection: &mut Projection, at: At, detail: String) {
    projection.anomaly_count += 1;
    if projection.anomalies.len() < ANOMALIES_KEPT_MAX {
        let event_type = at.event_type.to_string();
        projection.anomalies.push(Anomaly { seq: at.seq, event_type, detail });
    }
}

/// Folds an event that changes a mail's being owed for the partnership it names: `change` is
/// applied to the device, then the owed set follows it.
fn change_owing_device(
    projection: &mut Projection,
    at: At,
    mailbox: &str,
    device_id: &str,
    change: impl FnOnce(&mut DeviceView),
) {
    let position = device_position(projection, at, mailbox, device_id);
    let device = &mut projection.devices[position];
    change(device);
    let owed = device.is_owed_notification();
    follow_owed(&mut projection.owed_notifications, position, owed);
}

fn is_denied(access: Option<Access>) -> bool {
    matches!(access, Some(Access::Blocked) | Some(Access::Quarantined))
}

pub(super) fn raise(device: &mut DeviceView, step: u8) {
    device.flow_step = device.flow_step.max(step);
}

fn connector_registered(projection: &mut Projection, at: At, event: ConnectorRegistered) {
    if let Some(replaced) = &event.replaces {
        match projection.connectors.get_mut(replaced) {
            Some(old) => old.replaced_by = Some(event.connector_id.clone()),
            None => anomaly(projection, at, format!("replaces unknown connector {replaced}")),
        }
    }
    let connector = ConnectorView {
        connector_id: event.connector_id.clone(),
        organization: event.organization,
        server: event.server,
        kind: event.kind,
        status: "connectionPending".to_string(),
        status_reason: String::new(),
        replaced_by: None,
        registered_at_us: at.recorded_at_us,
    };
    projection.connectors.insert(event.connector_id, connector);
}

fn connector_status_changed(projection: &mut Projection, at: At, event: ConnectorStatusChanged) {
    match projection.connectors.get_mut(&event.connector_id) {
        Some(connector) => {
            connector.status = event.status;
            connector.status_reason = event.reason;
        }
        None => anomaly(projection, at, format!("status of unknown connector {}", event.connector_id)),
    }
}

fn sync_started(projection: &mut Projection, at: At, event: &SyncStarted) {
    let running = RunningSync { run_id: event.run_id, kind: event.kind, started_at_us: at.recorded_at_us };
    projection.syncs.running = Some(running);
}

fn sync_completed(projection: &mut Projection, at: At, event: SyncCompleted) {
    let outcome = SyncOutcome {
        run_id: event.run_id,
        kind: event.kind,
        at_us: at.recorded_at_us,
        counts: event.counts,
        duration_ms: event.duration_ms,
        error: String::new(),
    };
    finish_running(projection, at, event.run_id);
    if event.kind == crate::domain::vocabulary::SyncKind::Full {
        projection.syncs.last_full_completed = Some(outcome.clone());
    }
    projection.syncs.last_completed = Some(outcome);
    projection.syncs.completed_count += 1;
}

fn sync_failed(projection: &mut Projection, at: At, event: SyncFailed) {
    let outcome = SyncOutcome {
        run_id: event.run_id,
        kind: event.kind,
        at_us: at.recorded_at_us,
        counts: event.counts,
        duration_ms: event.duration_ms,
        error: event.error,
    };
    finish_running(projection, at, event.run_id);
    projection.syncs.last_failed = Some(outcome);
    projection.syncs.failed_count += 1;
}

fn finish_running(projection: &mut Projection, at: At, run_id: uuid::Uuid) {
    match &projection.syncs.running {
        Some(running) if running.run_id == run_id => projection.syncs.running = None,
        _ => anomaly(projection, at, format!("sync {run_id} ended without having started")),
    }
}

/// Folds an observation of a user, copying only what changed: a sync observes every user again.
/// `smtp_key` is the user's address (or UPN when it has none) lowercased.
fn user_observed(projection: &mut Projection, smtp_key: &str, event: UserObserved<&str>) {
    let upn_key = LoweredId::new(event.upn);
    let smtp = if event.smtp.is_empty() { event.upn } else { event.smtp };
    let Some((position, _, user)) = projection.users.get_full_mut(upn_key.as_str()) else {
        let groups = event.groups.iter().map(|&group| group.into()).collect();
        let user = UserView { upn: event.upn.into(), smtp: smtp.into(), licensed: event.licensed, groups };
        let (position, _) = projection.users.insert_full(upn_key.as_str().into(), user);
        projection.user_by_smtp.insert(smtp_key.into(), position);
        return;
    };
    // The user's old address maps to nobody, and the address observed to this user (whoever it
    // mapped to before). The old address is lowered only when it may differ.
    if !user.smtp.eq_ignore_ascii_case(smtp) {
        let previous_key = LoweredId::new(&user.smtp);
        if previous_key.as_str() != smtp_key {
            projection.user_by_smtp.swap_remove(previous_key.as_str());
        }
    }
    if projection.user_by_smtp.get(smtp_key) != Some(&position) {
        projection.user_by_smtp.insert(smtp_key.into(), position);
    }
    set_text(&mut user.upn, event.upn);
    set_text(&mut user.smtp, smtp);
    user.licensed = event.licensed;
    set_texts(&mut user.groups, &event.groups);
}

/// Folds an observation of a mailbox, copying only what changed: a sync observes every mailbox
/// again.
fn mailbox_observed(projection: &mut Projection, mailbox_key: &str, event: MailboxObserved<&str>) {
    let position = match projection.near.mailboxes.position(&projection.mailboxes, mailbox_key) {
        Some(position) => position,
        None => {
            let new = MailboxView {
                smtp: event.mailbox.into(),
                identity: CompactString::default(),
                activesync_enabled: true,
                allowed_device_ids: Vec::new(),
                blocked_device_ids: Vec::new(),
                easgate_allowed: Default::default(),
                easgate_blocked: Default::default(),
            };
            let (position, _) = projection.mailboxes.insert_full(mailbox_key.into(), new);
            projection.near.mailboxes.set(position);
            position
        }
    };
    let mailbox = &mut projection.mailboxes[position];
    if mailbox.identity != event.identity {
        let old_identity = std::mem::replace(&mut mailbox.identity, event.identity.into()).to_lowercase();
        projection.mailbox_by_identity.swap_remove(old_identity.as_str());
        if !event.identity.is_empty() {
            projection.mailbox_by_identity.insert(compact_key_of(event.identity), position);
        }
    }
    mailbox.activesync_enabled = event.activesync_enabled;
    set_texts(&mut mailbox.allowed_device_ids, &event.allowed_device_ids);
    set_texts(&mut mailbox.blocked_device_ids, &event.blocked_device_ids);
}

/// Sets `field` to `text` unless it holds it already: a sync observes everything again, and an
/// unchanged value is not copied.
fn set_text<T: AsRef<str> + for<'a> From<&'a str>>(field: &mut T, text: &str) {
    if field.as_ref() != text {
        *field = T::from(text);
    }
}

/// `set_text` for an optional field.
fn set_optional_text<T: AsRef<str> + for<'a> From<&'a str>>(field: &mut Option<T>, text: &str) {
    match field {
        Some(field) => set_text(field, text),
        None => *field = Some(T::from(text)),
    }
}

/// `set_text` for a list, compared in order.
fn set_texts<T: AsRef<str> + for<'a> From<&'a str>>(list: &mut Vec<T>, texts: &[&str]) {
    if !list.iter().map(AsRef::as_ref).eq(texts.iter().copied()) {
        *list = texts.iter().map(|&text| T::from(text)).collect();
    }
}

fn organization_observed(projection: &mut Projection, event: OrganizationObserved) {
    match projection.organization.as_mut() {
        Some(organization) => {
            organization.default_access = event.default_access;
            organization.rules = event.rules;
            if !event.cas_servers.is_empty() {
                organization.cas_servers = event.cas_servers;
            }
        }
        None => {
            projection.organization = Some(OrganizationView {
                default_access: event.default_access,
                rules: event.rules,
                cas_servers: event.cas_servers,
                easgate_rules: Default::default(),
                current_server: String::new(),
            });
        }
    }
}

/// Folds a discovery: the partnership's strings are copied only when it is new; its class
/// strings are shared, and a new device is made with them.
fn device_discovered(projection: &mut Projection, at: At, event: &DeviceDiscovered<&str>) {
    let (position, inserted) = position_or_insert(projection, event.mailbox, event.device_id, |class_strings| {
        new_device(event.mailbox, event.device_id, at.recorded_at_us, ClassOf::of(class_strings, event))
    });
    // A new device was made with its class; a known one takes the class reported now.
    let class = (!inserted).then(|| ClassOf::of(&mut projection.class_strings, event));
    let device = &mut projection.devices[position];
    if device.removed {
        // The partnership came back and walks the steps again. The mail episode goes on unless the
        // device had been allowed (DESIGN section 2: a new episode needs an allow in between).
        device.removed = false;
        if device.access == Some(Access::Allowed) {
            device.episode += 1;
            device.notified_in_episode = false;
        }
        device.flow_step = 0;
        device.access = None;
        device.reason = None;
    }
    if let Some(class) = class {
        device.device_type = class.device_type;
        device.device_model = class.device_model;
        device.device_os = class.device_os;
        device.user_agent = class.user_agent;
    }
    device.exchange_state.clone_from(&event.exchange_state);
    device.exchange_reason.clone_from(&event.exchange_reason);
    device.last_event_seq = at.seq;
    device.inputs_seq = at.seq;
    raise(device, flow::ACCESS_ATTEMPTED);
    let owed = device.is_owed_notification();
    follow_owed(&mut projection.owed_notifications, position, owed);
}

fn exchange_state_observed(projection: &mut Projection, at: At, event: &ExchangeStateObserved<&str>) {
    let device = device_mut(projection, at, event.mailbox, event.device_id);
    let blocked_by_rule = |state: &ExchangeState, reason: &ExchangeReason| {
        *state == ExchangeState::Blocked && *reason == ExchangeReason::DeviceRule
    };
    // A rule's block outlives the rule (Exchange keeps it): a decision input when it starts or ends.
    if blocked_by_rule(&device.exchange_state, &device.exchange_reason)
        != blocked_by_rule(&event.exchange_state, &event.exchange_reason)
    {
        device.inputs_seq = at.seq;
    }
    device.exchange_state.clone_from(&event.exchange_state);
    device.exchange_reason.clone_from(&event.exchange_reason);
    let held = matches!(event.exchange_state, ExchangeState::Quarantined | ExchangeState::Blocked);
    if held && is_denied(device.access) {
        raise(device, flow::QUARANTINED);
    }
    if event.exchange_state == ExchangeState::Allowed && device.access == Some(Access::Allowed) {
        raise(device, flow::ACCESS_GRANTED);
    }
}

/// What the tenant says of a device; `device_id` is its DeviceId lowercased.
fn tenant_facts(tenant: TenantRecords<'_>, device: &DeviceView, device_id: &str) -> TenantFacts {
    let managed = tenant.managed_for(device, device_id);
    TenantFacts {
        registered: tenant.registration_for(device_id).is_some(),
        enrolled: managed.is_some_and(|managed| managed.enrolled),
        mapped: device.managed_device_id.is_some() && managed.is_some_and(|managed| managed.enrolled),
        eas_id_registered: managed.is_some_and(|managed| managed.enrolled && managed.eas_activated),
        compliance_known: managed.is_some_and(|managed| managed.compliance_observed),
    }
}

/// Moves every partnership of `device_id` to the furthest step the tenant's facts support.
fn raise_by_facts(projection: &mut Projection, at: At, device_id: &str) {
    let positions = positions_with_id(projection, device_id);
    // The tenant's records are read in place (the loop writes only `devices`): most tenant
    // events land here.
    let tenant = TenantRecords {
        managed: &projection.managed,
        managed_by_eas: &projection.managed_by_eas,
        registrations: &projection.registrations,
        near: projection.near,
    };
    for position in positions {
        let Some((key, device)) = projection.devices.get_index_mut(position) else { continue };
        raise(device, flow::facts_step(tenant_facts(tenant, device, &key.device_id)));
        device.last_event_seq = at.seq;
        device.inputs_seq = at.seq;
    }
}

fn device_registered(projection: &mut Projection, at: At, event: &DeviceRegistered<&str>) {
    let device_key = LoweredId::new(event.device_id);
    let position = match projection.near.registrations.position(&projection.registrations, device_key.as_str()) {
        Some(position) => {
            let known = &mut projection.registrations[position];
            set_text(&mut known.entra_device_id, event.entra_device_id);
            set_text(&mut known.trust_type, event.trust_type);
            position
        }
        None => {
            let registration =
                RegistrationView { entra_device_id: event.entra_device_id.into(), trust_type: event.trust_type.into() };
            projection.registrations.insert_full(device_key.as_str().into(), Box::new(registration)).0
        }
    };
    projection.near.registrations.set(position);
    raise_by_facts(projection, at, event.device_id);
}

fn device_enrolled(projection: &mut Projection, at: At, event: &DeviceEnrolled<&str>) {
    let position = match projection.near.managed.position(&projection.managed, event.managed_device_id) {
        Some(position) => position,
        None => projection.managed.insert_full(event.managed_device_id.into(), Box::default()).0,
    };
    projection.near.managed.set(position);
    let managed = &mut projection.managed[position];
    set_text(&mut managed.managed_device_id, event.managed_device_id);
    set_text(&mut managed.upn, event.upn);
    managed.enrolled = true;
    if let Some(device_id) = event.device_id {
        link_eas_id(projection, position, device_id);
        raise_by_facts(projection, at, device_id);
    }
}

/// Records that the managed device at `position` in `managed` reports the EAS DeviceId
/// `device_id`, copying the ids only when they are new (a sync observes every device again).
fn link_eas_id(projection: &mut Projection, position: usize, device_id: &str) {
    let Some((_, managed)) = projection.managed.get_index_mut(position) else { return };
    set_optional_text(&mut managed.eas_device_id, device_id);
    let device_key = LoweredId::new(device_id);
    if projection.managed_by_eas.get(device_key.as_str()) != Some(&position) {
        projection.managed_by_eas.insert(device_key.as_str().into(), position);
    }
}

fn device_unenrolled(projection: &mut Projection, at: At, event: &DeviceUnenrolled<&str>) {
    let Some(managed) = managed_mut(projection, event.managed_device_id) else {
        anomaly(projection, at, format!("unknown managed device {}", event.managed_device_id));
        return;
    };
    managed.enrolled = false;
    managed.eas_activated = false;
    let device_id = event.device_id.map(CompactString::from).or_else(|| managed.eas_device_id.clone());
    if let Some(device_id) = device_id {
        for position in positions_with_id(projection, &device_id) {
            if let Some((_, device)) = projection.devices.get_index_mut(position) {
                if device.managed_device_id.as_deref() == Some(event.managed_device_id) {
                    device.managed_device_id = None;
                }
                device.last_event_seq = at.seq;
                device.inputs_seq = at.seq;
            }
        }
    }
}

fn device_mapped(projection: &mut Projection, at: At, event: &DeviceMapped<&str>) {
    if managed_mut(projection, event.managed_device_id).is_none() {
        anomaly(projection, at, format!("mapped to unknown managed device {}", event.managed_device_id));
    }
    let device = device_mut(projection, at, event.mailbox, event.device_id);
    set_optional_text(&mut device.managed_device_id, event.managed_device_id);
    raise_by_facts(projection, at, event.device_id);
}

fn eas_id_registered(projection: &mut Projection, at: At, event: &EasIdRegistered<&str>) {
    let Some(position) = projection.near.managed.position(&projection.managed, event.managed_device_id) else {
        anomaly(projection, at, format!("unknown managed device {}", event.managed_device_id));
        return;
    };
    projection.managed[position].eas_activated = true;
    link_eas_id(projection, position, event.device_id);
    raise_by_facts(projection, at, event.device_id);
}

fn compliance_observed(projection: &mut Projection, at: At, event: &ComplianceObserved<&str>) {
    let Some(managed) = managed_mut(projection, event.managed_device_id) else {
        anomaly(projection, at, format!("unknown managed device {}", event.managed_device_id));
        return;
    };
    managed.compliance = event.compliance;
    managed.compliance_observed = true;
    if let Some(device_id) = managed.eas_device_id.as_deref().map(LoweredId::new) {
        raise_by_facts(projection, at, device_id.as_str());
    }
}

/// Folds a decision about the partnership the event names.
fn access_decided(projection: &mut Projection, at: At, event: &AccessDecided<&str>) {
    let position = device_position(projection, at, event.mailbox, event.device_id);
    let device = &mut projection.devices[position];
    let was_allowed = device.access == Some(Access::Allowed);
    device.decided_seq = at.seq;
    device.access = Some(event.access);
    device.reason = Some(event.reason);
    // The managed device's id is the device's own field; the copy in the inputs stays in the log.
    device.inputs = Some(event.inputs.without_managed_device_id());
    match event.access {
        Access::Allowed => {
            raise(device, flow::ALLOW_ISSUED);
            if device.exchange_state == ExchangeState::Allowed {
                raise(device, flow::ACCESS_GRANTED);
            }
        }
        Access::Blocked | Access::Quarantined => {
            if was_allowed {
                // Fell off the path: a new episode starts at the denial.
                device.episode += 1;
                device.notified_in_episode = false;
                device.flow_step = flow::BLOCKED_UNMANAGED;
            }
            raise(device, flow::BLOCKED_UNMANAGED);
        }
        Access::Exempt => {}
    }
    let owed = device.is_owed_notification();
    follow_owed(&mut projection.owed_notifications, position, owed);
}

fn notification_requested(projection: &mut Projection, at: At, event: &NotificationRequested<&str>) {
    change_owing_device(projection, at, event.mailbox, event.device_id, |device| device.notified_in_episode = true);
    let pending = PendingNotification {
        notification_id: event.notification_id,
        mailbox: event.mailbox.into(),
        device_id: event.device_id.into(),
        to: event.to.into(),
        attempts: 0,
        last_error: String::new(),
    };
    projection.pending_notifications.insert(id_key(event.notification_id), Box::new(pending));
}

fn notification_sent(projection: &mut Projection, at: At, event: &NotificationSent<&str>) {
    if projection.pending_notifications.swap_remove(&id_key(event.notification_id)).is_none() {
        anomaly(projection, at, format!("unknown notification {}", event.notification_id));
    }
    let device = device_mut(projection, at, event.mailbox, event.device_id);
    if is_denied(device.access) {
        raise(device, flow::QUARANTINED);
    }
}

fn notification_failed(projection: &mut Projection, at: At, event: &NotificationFailed<&str>) {
    device_mut(projection, at, event.mailbox, event.device_id);
    let Some(pending) = projection.pending_notifications.get_mut(&id_key(event.notification_id)) else {
        anomaly(projection, at, format!("unknown notification {}", event.notification_id));
        return;
    };
    pending.attempts += 1;
    copy_text(&mut pending.last_error, event.error);
    if !event.retryable {
        projection.pending_notifications.swap_remove(&id_key(event.notification_id));
    }
}

/// Copies `text` into `target`, reusing its buffer.
fn copy_text(target: &mut String, text: &str) {
    target.clear();
    target.push_str(text);
}

/// The managed-device record `managed_device_id`, looked for at its table's cursor first.
fn managed_mut<'a>(projection: &'a mut Projection, managed_device_id: &str) -> Option<&'a mut ManagedView> {
    let position = projection.near.managed.position(&projection.managed, managed_device_id)?;
    projection.managed.get_index_mut(position).map(|(_, managed)| managed.as_mut())
}

/// The mailbox `mailbox_key` (lowercased), looked for at its table's cursor first.
pub(super) fn mailbox_mut<'a>(projection: &'a mut Projection, mailbox_key: &str) -> Option<&'a mut MailboxView> {
    let position = projection.near.mailboxes.position(&projection.mailboxes, mailbox_key)?;
    projection.mailboxes.get_index_mut(position).map(|(_, mailbox)| mailbox)
}
