//! The planner: desired access per device + what Exchange last reported -> the smallest set of
//! cmdlets. One `Set-CASMailbox` per mailbox whose lists must change, in the incremental
//! `@{Add=..;Remove=..}` form; none for a mailbox already right. The organisation's default and
//! easgate's device access rules only when they differ from the policy. easgate removes only its
//! own entries and rules.

use std::collections::BTreeMap;

use crate::domain::cmdlet_call::{CmdletCall, ListEdit, ParamValue};
use crate::domain::decide::{policy_rules, wanted_entry};
use crate::domain::event::DeviceRef;
use crate::domain::exchange_rules::{list_contains, rule_identity};
use crate::domain::projection::{DeviceView, MailboxView, Projection, key_of};
use crate::domain::vocabulary::ListEntry;

/// A cmdlet to issue and the partnerships it acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedCall {
    pub call: CmdletCall,
    pub devices: Vec<DeviceRef>,
}

/// The Set-CASMailbox that brings a mailbox's lists to what easgate wants, if any is needed.
pub fn plan_mailbox(projection: &Projection, mailbox_key: &str) -> Option<PlannedCall> {
    let mailbox = projection.mailboxes.get(mailbox_key)?;
    let devices = mailbox_devices(projection, mailbox_key);
    // Lowercased id -> display id, for each list easgate wants the device on.
    let mut want_allow = BTreeMap::new();
    let mut want_block = BTreeMap::new();
    for device in &devices {
        let (Some(access), Some(reason)) = (device.access, device.reason) else { continue };
        match wanted_entry(access, reason) {
            ListEntry::Allow => want_allow.insert(key_of(&device.device_id), device.device_id.to_string()),
            ListEntry::Block => want_block.insert(key_of(&device.device_id), device.device_id.to_string()),
            ListEntry::None => None,
        };
    }
    let allow_edit = list_edit(&mailbox.allowed_device_ids, &mailbox.easgate_allowed, &want_allow);
    let block_edit = list_edit(&mailbox.blocked_device_ids, &mailbox.easgate_blocked, &want_block);
    if allow_edit.is_none() && block_edit.is_none() {
        return None;
    }
    let mut touched: Vec<String> = Vec::new();
    let mut call = CmdletCall::new("Set-CASMailbox").text("Identity", &mailbox.smtp);
    for (parameter, edit) in [("ActiveSyncAllowedDeviceIDs", allow_edit), ("ActiveSyncBlockedDeviceIDs", block_edit)] {
        if let Some(edit) = edit {
            touched.extend(edit.add.iter().chain(edit.remove.iter()).map(|id| key_of(id)));
            call = call.with(parameter, ParamValue::Edit(edit));
        }
    }
    let devices = devices
        .iter()
        .filter(|device| touched.contains(&key_of(&device.device_id)))
        .map(|device| DeviceRef { mailbox: device.mailbox.to_string(), device_id: device.device_id.to_string() })
        .collect();
    Some(PlannedCall { call, devices })
}

/// Adds what is wanted and missing; removes easgate's own entries that are no longer wanted.
fn list_edit(
    observed: &[String],
    easgate_owned: &crate::domain::projection::SmallSet,
    wanted: &BTreeMap<String, String>,
) -> Option<ListEdit> {
    let add: Vec<String> = wanted.values().filter(|device_id| !list_contains(observed, device_id)).cloned().collect();
    let remove: Vec<String> = observed
        .iter()
        .filter(|entry| {
            let key = key_of(entry);
            easgate_owned.contains(&key) && !wanted.contains_key(&key)
        })
        .cloned()
        .collect();
    (!add.is_empty() || !remove.is_empty()).then_some(ListEdit { add, remove })
}

/// The current partnerships of a mailbox, sorted by DeviceId.
pub fn mailbox_devices<'a>(projection: &'a Projection, mailbox_key: &str) -> Vec<&'a DeviceView> {
    projection
        .keys_of_mailbox(mailbox_key)
        .iter()
        .filter_map(|key| projection.devices.get(key).map(Box::as_ref))
        .filter(|device| !device.removed)
        .collect()
}

/// Mailboxes whose lists are not what easgate wants, sorted; for a full sync's reconciliation.
pub fn plan_all_mailboxes(projection: &Projection) -> Vec<PlannedCall> {
    let mut keys: Vec<&str> = projection.mailboxes.keys().map(|key| key.as_str()).collect();
    keys.sort_unstable();
    keys.into_iter().filter_map(|key| plan_mailbox(projection, key)).collect()
}

/// The organisation's default and easgate's device access rules, pushed from the policy (full
/// sync only, and only while the policy is enabled).
pub fn plan_organization(projection: &Projection) -> Vec<PlannedCall> {
    let (Some(policy), Some(organization)) = (&projection.policy, &projection.organization) else { return Vec::new() };
    if !policy.enabled {
        return Vec::new();
    }
    let mut calls = Vec::new();
    if policy.default_access != organization.default_access {
        let call = CmdletCall::new("Set-ActiveSyncOrganizationSettings")
            .text("DefaultAccessLevel", policy.default_access.exchange_name());
        calls.push(PlannedCall { call, devices: Vec::new() });
    }
    let wanted = policy_rules(policy);
    for rule in &wanted {
        let identity = rule_identity(&rule.query, rule.characteristic);
        let existing = organization
            .rules
            .iter()
            .find(|existing| existing.query == rule.query && existing.characteristic == rule.characteristic);
        let call = match existing {
            None => CmdletCall::new("New-ActiveSyncDeviceAccessRule")
                .text("QueryString", &rule.query)
                .text("Characteristic", rule.characteristic.exchange_name())
                .text("AccessLevel", rule.access.exchange_name()),
            Some(existing) if existing.access == rule.access => continue,
            Some(_) if !organization.easgate_rules.contains(&(rule.query.clone(), rule.characteristic)) => continue,
            Some(_) => CmdletCall::new("Set-ActiveSyncDeviceAccessRule")
                .text("Identity", &identity)
                .text("AccessLevel", rule.access.exchange_name()),
        };
        calls.push(PlannedCall { call, devices: Vec::new() });
    }
    for existing in &organization.rules {
        let owned = organization.easgate_rules.contains(&(existing.query.clone(), existing.characteristic));
        let still_wanted =
            wanted.iter().any(|rule| rule.query == existing.query && rule.characteristic == existing.characteristic);
        if owned && !still_wanted {
            let call = CmdletCall::new("Remove-ActiveSyncDeviceAccessRule")
                .text("Identity", &rule_identity(&existing.query, existing.characteristic))
                .switch("Confirm", false);
            calls.push(PlannedCall { call, devices: Vec::new() });
        }
    }
    calls
}

/// Exchange's Identity of a partnership: `<mailbox identity>/ExchangeActiveSyncDevices/<type>§<id>`.
pub fn device_identity(mailbox: Option<&MailboxView>, device: &DeviceView) -> String {
    match mailbox.filter(|mailbox| !mailbox.identity.is_empty()) {
        Some(mailbox) => {
            format!("{}/ExchangeActiveSyncDevices/{}\u{a7}{}", mailbox.identity, device.device_type, device.device_id)
        }
        None => device.device_id.to_string(),
    }
}
