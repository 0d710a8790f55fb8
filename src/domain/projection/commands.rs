//! The intents easgate records (`CmdletRequested`) and their outcomes, folded into the
//! projection: pending commands, and the list entries and rules easgate asked Exchange for (what
//! makes an entry easgate's own rather than an admin's).

use crate::domain::cmdlet_call::{ParamValue, Parameters};
use crate::domain::event::{CmdletRequested, DeviceRef};
use crate::domain::projection::evolve::{At, anomaly, mailbox_mut, touch_mailbox};
use crate::domain::projection::partnerships::partnership_position;
use crate::domain::projection::*;
use crate::domain::vocabulary::Characteristic;

/// The list edits of a Set-CASMailbox call, lowercased: `None` for any other cmdlet, one without
/// a text Identity, or one that edits no list.
fn list_claims(cmdlet: &str, parameters: &Parameters<&str>) -> Option<ListClaims> {
    if !cmdlet.eq_ignore_ascii_case("Set-CASMailbox") {
        return None;
    }
    let identity = parameters.text("Identity")?;
    let mut entries = ListEntryEdits::new();
    let mut edited = false;
    for (name, list) in
        [("ActiveSyncAllowedDeviceIDs", DeviceList::Allowed), ("ActiveSyncBlockedDeviceIDs", DeviceList::Blocked)]
    {
        let Some(ParamValue::Edit(edit)) = parameters.get(name) else { continue };
        edited = true;
        for (ids, added) in [(&edit.add, true), (&edit.remove, false)] {
            entries.extend(ids.iter().map(|id| ListEntryEdit { list, added, id_key: compact_key_of(id) }));
        }
    }
    edited.then(|| ListClaims { mailbox_key: compact_key_of(identity), entries })
}

/// The device access rule a New-/Remove-ActiveSyncDeviceAccessRule call creates or removes.
fn rule_edit(cmdlet: &str, parameters: &Parameters<&str>) -> Option<(bool, (String, Characteristic))> {
    if cmdlet.eq_ignore_ascii_case("New-ActiveSyncDeviceAccessRule") {
        let query = parameters.text("QueryString")?.to_string();
        let characteristic = Characteristic::parse(parameters.text("Characteristic")?)?;
        return Some((true, (query, characteristic)));
    }
    if cmdlet.eq_ignore_ascii_case("Remove-ActiveSyncDeviceAccessRule") {
        let identity = parameters.text("Identity")?;
        let (query, characteristic) = identity.rsplit_once(" (")?;
        let characteristic = Characteristic::parse(characteristic.strip_suffix(')')?)?;
        return Some((false, (query.to_string(), characteristic)));
    }
    None
}

fn easgate_list(mailbox: &mut MailboxView, list: DeviceList) -> &mut SmallSet {
    match list {
        DeviceList::Allowed => &mut mailbox.easgate_allowed,
        DeviceList::Blocked => &mut mailbox.easgate_blocked,
    }
}

/// Folds an intent: easgate's claims on list entries and rules, the partnerships it touches, and
/// a pending command holding what its outcome settles (not the call, which stays in the log).
pub(in crate::domain::projection) fn cmdlet_requested(
    projection: &mut Projection,
    at: At,
    event: CmdletRequested<&str>,
) {
    let lists = list_claims(event.cmdlet, &event.parameters);
    // easgate claims what it adds as soon as it asks: if the reply is lost, an entry that then
    // appears on the list is still known to be easgate's, never mistaken for an admin's.
    if let Some(claims) = &lists
        && let Some(mailbox) = mailbox_mut(projection, &claims.mailbox_key)
    {
        for entry in claims.entries.iter().filter(|entry| entry.added) {
            easgate_list(mailbox, entry.list).insert(entry.id_key.clone());
        }
    }
    let rule = rule_edit(event.cmdlet, &event.parameters);
    if let (Some((true, rule)), Some(organization)) = (&rule, projection.organization.as_mut()) {
        organization.easgate_rules.insert(rule.clone());
    }
    let devices = stamp_devices(projection, &event.devices, at.seq);
    let pending = PendingCommand {
        command_id: event.command_id,
        attempt: event.attempt,
        requested_seq: at.seq,
        in_doubt: false,
        devices,
        lists,
        rule,
    };
    projection.pending_commands.insert(id_key(event.command_id), Box::new(pending));
}

/// Marks the partnerships an intent acts for as touched by it, so that `audit` finds it from
/// each device; returns their positions, for its outcome to stamp.
fn stamp_devices(projection: &mut Projection, devices: &[DeviceRef<&str>], seq: u64) -> Positions {
    let mut positions = Positions::new();
    for device_ref in devices {
        if let Some(position) = partnership_position(projection, device_ref.mailbox, device_ref.device_id) {
            stamp_position(projection, position, seq);
            positions.push(position);
        }
    }
    positions
}

fn stamp_position(projection: &mut Projection, position: usize, seq: u64) {
    projection.devices[position].last_event_seq = seq;
    projection.cursor.set(position);
}

pub(in crate::domain::projection) enum Outcome {
    Applied,
    NotApplied,
    InDoubt,
}

pub(in crate::domain::projection) fn command_finished(
    projection: &mut Projection,
    at: At,
    command_id: uuid::Uuid,
    outcome: Outcome,
) {
    // One search: nearly every outcome is final, and the rare one in doubt goes back.
    let Some(mut pending) = projection.pending_commands.swap_remove(&id_key(command_id)) else {
        anomaly(projection, at, format!("outcome of unknown command {command_id}"));
        return;
    };
    if let Outcome::InDoubt = outcome {
        pending.in_doubt = true;
        projection.pending_commands.insert(id_key(command_id), pending);
        return;
    }
    for &position in &pending.devices {
        stamp_position(projection, position, at.seq);
    }
    let applied = matches!(outcome, Outcome::Applied);
    if let Some(claims) = &pending.lists {
        touch_mailbox(projection, &claims.mailbox_key, at.seq);
        if let Some(mailbox) = mailbox_mut(projection, &claims.mailbox_key) {
            // An added id the call did not apply, or a removed one it did, is no longer easgate's.
            for entry in claims.entries.iter().filter(|entry| entry.added != applied) {
                easgate_list(mailbox, entry.list).remove(&entry.id_key);
            }
        }
    }
    if let (Some((created, rule)), Some(organization)) = (&pending.rule, projection.organization.as_mut())
        && *created != applied
    {
        organization.easgate_rules.remove(rule);
    }
}
