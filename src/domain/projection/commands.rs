//! The intents easgate records (`CmdletRequested`) and their outcomes, folded into the
//! projection: pending commands, and the list entries and rules easgate asked Exchange for (what
//! makes an entry easgate's own rather than an admin's).

use crate::domain::cmdlet_call::{CmdletCall, ParamValue};
use crate::domain::event::{CmdletRequested, DeviceRef};
use crate::domain::projection::evolve::{At, anomaly, mailbox_mut, touch_mailbox};
use crate::domain::projection::partnerships::partnership_position;
use crate::domain::projection::*;
use crate::domain::vocabulary::Characteristic;

/// Which of a mailbox's lists a Set-CASMailbox parameter edits.
#[derive(Clone, Copy)]
enum List {
    Allowed,
    Blocked,
}

/// The list edits a Set-CASMailbox call makes: (mailbox, list, added ids, removed ids).
fn list_edits(call: &CmdletCall) -> impl Iterator<Item = (&str, List, &[String], &[String])> {
    let identity =
        if call.cmdlet.eq_ignore_ascii_case("Set-CASMailbox") { call.text_parameter("Identity") } else { None };
    [("ActiveSyncAllowedDeviceIDs", List::Allowed), ("ActiveSyncBlockedDeviceIDs", List::Blocked)]
        .into_iter()
        .filter_map(move |(parameter, list)| match (identity, call.parameter(parameter)) {
            (Some(identity), Some(ParamValue::Edit(edit))) => {
                Some((identity, list, edit.add.as_slice(), edit.remove.as_slice()))
            }
            _ => None,
        })
}

/// The device access rule a New-/Remove-ActiveSyncDeviceAccessRule call creates or removes.
fn rule_edit(call: &CmdletCall) -> Option<(bool, (String, Characteristic))> {
    if call.cmdlet.eq_ignore_ascii_case("New-ActiveSyncDeviceAccessRule") {
        let query = call.text_parameter("QueryString")?.to_string();
        let characteristic = Characteristic::parse(call.text_parameter("Characteristic")?)?;
        return Some((true, (query, characteristic)));
    }
    if call.cmdlet.eq_ignore_ascii_case("Remove-ActiveSyncDeviceAccessRule") {
        let identity = call.text_parameter("Identity")?;
        let (query, characteristic) = identity.rsplit_once(" (")?;
        let characteristic = Characteristic::parse(characteristic.strip_suffix(')')?)?;
        return Some((false, (query.to_string(), characteristic)));
    }
    None
}

fn easgate_list(mailbox: &mut MailboxView, list: List) -> &mut SmallSet {
    match list {
        List::Allowed => &mut mailbox.easgate_allowed,
        List::Blocked => &mut mailbox.easgate_blocked,
    }
}

/// Folds an intent, moving the call and its devices into the pending command.
pub(in crate::domain::projection) fn cmdlet_requested(projection: &mut Projection, at: At, event: CmdletRequested) {
    let call = CmdletCall { cmdlet: event.cmdlet, parameters: event.parameters };
    // easgate claims what it adds as soon as it asks: if the reply is lost, an entry that then
    // appears on the list is still known to be easgate's, never mistaken for an admin's.
    for (identity, list, added, _) in list_edits(&call) {
        if let Some(mailbox) = mailbox_mut(projection, LoweredId::new(identity).as_str()) {
            easgate_list(mailbox, list).extend(added.iter().map(|id| compact_key_of(id)));
        }
    }
    if let (Some((true, rule)), Some(organization)) = (rule_edit(&call), projection.organization.as_mut()) {
        organization.easgate_rules.insert(rule);
    }
    stamp_devices(projection, &event.devices, at.seq);
    let pending = PendingCommand {
        command_id: event.command_id,
        call,
        devices: event.devices,
        attempt: event.attempt,
        requested_seq: at.seq,
        in_doubt: false,
    };
    projection.pending_commands.insert(id_key(event.command_id), Box::new(pending));
}

/// Marks the partnerships a command acts for as touched by the event at `seq` (its intent or
/// its outcome), so that `audit` finds it from each device.
fn stamp_devices(projection: &mut Projection, devices: &[DeviceRef], seq: u64) {
    for device_ref in devices {
        if let Some(position) = partnership_position(projection, &device_ref.mailbox, &device_ref.device_id) {
            projection.devices[position].last_event_seq = seq;
            projection.cursor.set(position);
        }
    }
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
    stamp_devices(projection, &pending.devices, at.seq);
    let applied = matches!(outcome, Outcome::Applied);
    for (identity, list, added, removed) in list_edits(&pending.call) {
        let mailbox_key = LoweredId::new(identity);
        touch_mailbox(projection, mailbox_key.as_str(), at.seq);
        let Some(mailbox) = mailbox_mut(projection, mailbox_key.as_str()) else { continue };
        let owned = easgate_list(mailbox, list);
        let released = if applied { removed } else { added };
        for id in released {
            owned.remove(LoweredId::new(id).as_str());
        }
    }
    if let (Some((created, rule)), Some(organization)) = (rule_edit(&pending.call), projection.organization.as_mut())
        && created != applied
    {
        organization.easgate_rules.remove(&rule);
    }
}
