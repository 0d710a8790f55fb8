//! The organisation-wide cmdlets on the simulated organisation: ActiveSync organisation
//! settings, device access rules, mailbox policies, Get-ExchangeServer, Set-ADServerSettings and
//! Get-Command. A change to the default or to a rule re-evaluates every partnership at once.

use crate::domain::event::DeviceAccessRule;
use crate::domain::exchange_rules::rule_identity;
use crate::exchange::cmdlets::get_activesync_organization_settings::ORGANIZATION_SETTINGS_IDENTITY;
use crate::exchange::cmdlets::registry::{CMDLET_NAMES, canonical_name};
use crate::exchange::cmdlets::{
    ActiveSyncDeviceAccessRule, Cmdlet, CommandInfo, GetActiveSyncDeviceAccessRule, GetActiveSyncMailboxPolicy,
    GetActiveSyncOrganizationSettings, GetCommand, GetExchangeServer, NewActiveSyncDeviceAccessRule,
    NewActiveSyncMailboxPolicy, RemoveActiveSyncDeviceAccessRule, RemoveActiveSyncMailboxPolicy,
    SetActiveSyncDeviceAccessRule, SetActiveSyncMailboxPolicy, SetActiveSyncOrganizationSettings, SetAdServerSettings,
};
use crate::exchange::{CmdletOutput, ExchangeError};
use crate::sim::exchange::error_records::nothing_modified;
use crate::sim::exchange::execute::{Context, objects, with_error};
use crate::sim::exchange::model::MailboxPolicyRecord;
use crate::sim::exchange::organization::Organization;
use crate::sim::exchange::views;

/// Exchange's limit on UserMailInsert and OtaNotificationMailInsert.
const MAX_MAIL_INSERT_CHARS: usize = 256;

fn is_settings_identity(identity: &str) -> bool {
    identity.trim().eq_ignore_ascii_case(ORGANIZATION_SETTINGS_IDENTITY)
}

pub(crate) fn get_organization_settings(
    organization: &Organization,
    cmdlet: &GetActiveSyncOrganizationSettings,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    if let Some(identity) = cmdlet.identity.as_deref().filter(|identity| !is_settings_identity(identity)) {
        let site = context.site(GetActiveSyncOrganizationSettings::NAME);
        return Ok(with_error(site.not_found(identity, &organization.domain_controller())));
    }
    Ok(CmdletOutput { objects: objects([views::organization_settings(organization)]), ..CmdletOutput::default() })
}

pub(crate) fn set_organization_settings(
    organization: &mut Organization,
    cmdlet: &SetActiveSyncOrganizationSettings,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let site = context.site(SetActiveSyncOrganizationSettings::NAME);
    if let Some(identity) = cmdlet.identity.as_deref().filter(|identity| !is_settings_identity(identity)) {
        return Err(site.terminating(site.not_found(identity, &organization.domain_controller())));
    }
    for (property, value) in [
        ("UserMailInsert", &cmdlet.user_mail_insert),
        ("OtaNotificationMailInsert", &cmdlet.ota_notification_mail_insert),
    ] {
        let length = value.as_deref().map(|text| text.chars().count()).unwrap_or(0);
        if length > MAX_MAIL_INSERT_CHARS {
            return Err(site.terminating(site.too_long(property, MAX_MAIL_INSERT_CHARS, length)));
        }
    }
    let mut changed = false;
    if let Some(text) = &cmdlet.user_mail_insert {
        changed |= std::mem::replace(&mut organization.settings.user_mail_insert, text.clone()) != *text;
    }
    if let Some(text) = &cmdlet.ota_notification_mail_insert {
        changed |= std::mem::replace(&mut organization.settings.ota_notification_mail_insert, text.clone()) != *text;
    }
    if let Some(change) = &cmdlet.admin_mail_recipients {
        changed |= change.apply_to(&mut organization.settings.admin_mail_recipients);
    }
    if let Some(level) = cmdlet.default_access_level {
        changed |= organization.set_default_access(level, context.now);
    }
    let mut output = CmdletOutput::default();
    if !changed {
        output.warnings.push(nothing_modified(ORGANIZATION_SETTINGS_IDENTITY));
    }
    Ok(output)
}

pub(crate) fn get_rules(
    organization: &Organization,
    cmdlet: &GetActiveSyncDeviceAccessRule,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let rules: Vec<&DeviceAccessRule> = match &cmdlet.identity {
        Some(identity) => match organization.rule_index(identity) {
            Some(index) => vec![&organization.rules[index]],
            None => {
                let site = context.site(GetActiveSyncDeviceAccessRule::NAME);
                return Ok(with_error(site.not_found(identity, &organization.domain_controller())));
            }
        },
        None => organization.rules.iter().collect(),
    };
    let objects = objects(rules.into_iter().map(ActiveSyncDeviceAccessRule::from_rule));
    Ok(CmdletOutput { objects, ..CmdletOutput::default() })
}

pub(crate) fn new_rule(
    organization: &mut Organization,
    cmdlet: &NewActiveSyncDeviceAccessRule,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let rule = DeviceAccessRule {
        query: cmdlet.query_string.clone(),
        characteristic: cmdlet.characteristic,
        access: cmdlet.access_level,
    };
    let created = ActiveSyncDeviceAccessRule::from_rule(&rule);
    if !organization.add_rule(rule, context.now) {
        let site = context.site(NewActiveSyncDeviceAccessRule::NAME);
        let identity = rule_identity(&cmdlet.query_string, cmdlet.characteristic);
        return Err(site.terminating(site.already_exists(&identity, &organization.domain_controller())));
    }
    Ok(CmdletOutput { objects: objects([created]), ..CmdletOutput::default() })
}

pub(crate) fn set_rule(
    organization: &mut Organization,
    cmdlet: &SetActiveSyncDeviceAccessRule,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let site = context.site(SetActiveSyncDeviceAccessRule::NAME);
    let Some(index) = organization.rule_index(&cmdlet.identity) else {
        return Err(site.terminating(site.not_found(&cmdlet.identity, &organization.domain_controller())));
    };
    let changed = match cmdlet.access_level {
        Some(level) => organization.set_rule_access(index, level, context.now),
        None => false,
    };
    let mut output = CmdletOutput::default();
    if !changed {
        output.warnings.push(nothing_modified(&cmdlet.identity));
    }
    Ok(output)
}

pub(crate) fn remove_rule(
    organization: &mut Organization,
    cmdlet: &RemoveActiveSyncDeviceAccessRule,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let site = context.site(RemoveActiveSyncDeviceAccessRule::NAME);
    if cmdlet.confirm {
        return Err(site.terminating(site.confirmation_required(&cmdlet.identity)));
    }
    let Some(index) = organization.rule_index(&cmdlet.identity) else {
        return Err(site.terminating(site.not_found(&cmdlet.identity, &organization.domain_controller())));
    };
    organization.remove_rule(index, context.now);
    Ok(CmdletOutput::default())
}

fn policy_index(organization: &Organization, identity: &str) -> Option<usize> {
    organization.policies.iter().position(|policy| policy.name.eq_ignore_ascii_case(identity.trim()))
}

/// Exactly one policy is the default: making one the default clears the flag on the others.
fn make_default(organization: &mut Organization, index: usize) {
    for (position, policy) in organization.policies.iter_mut().enumerate() {
        policy.is_default = position == index;
    }
}

pub(crate) fn get_policies(
    organization: &Organization,
    cmdlet: &GetActiveSyncMailboxPolicy,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let policies: Vec<&MailboxPolicyRecord> = match &cmdlet.identity {
        Some(identity) => match policy_index(organization, identity) {
            Some(index) => vec![&organization.policies[index]],
            None => {
                let site = context.site(GetActiveSyncMailboxPolicy::NAME);
                return Ok(with_error(site.not_found(identity, &organization.domain_controller())));
            }
        },
        None => organization.policies.iter().collect(),
    };
    Ok(CmdletOutput { objects: objects(policies.into_iter().map(views::mailbox_policy)), ..CmdletOutput::default() })
}

pub(crate) fn new_policy(
    organization: &mut Organization,
    cmdlet: &NewActiveSyncMailboxPolicy,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    if policy_index(organization, &cmdlet.name).is_some() {
        let site = context.site(NewActiveSyncMailboxPolicy::NAME);
        return Err(site.terminating(site.already_exists(&cmdlet.name, &organization.domain_controller())));
    }
    organization.policies.push(MailboxPolicyRecord {
        name: cmdlet.name.clone(),
        is_default: false,
        allow_non_provisionable_devices: cmdlet.allow_non_provisionable_devices.unwrap_or(false),
        device_password_enabled: cmdlet.device_password_enabled.unwrap_or(false),
    });
    let index = organization.policies.len() - 1;
    if cmdlet.is_default == Some(true) {
        make_default(organization, index);
    }
    let created = views::mailbox_policy(&organization.policies[index]);
    Ok(CmdletOutput { objects: objects([created]), ..CmdletOutput::default() })
}

pub(crate) fn set_policy(
    organization: &mut Organization,
    cmdlet: &SetActiveSyncMailboxPolicy,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let site = context.site(SetActiveSyncMailboxPolicy::NAME);
    let Some(index) = policy_index(organization, &cmdlet.identity) else {
        return Err(site.terminating(site.not_found(&cmdlet.identity, &organization.domain_controller())));
    };
    let policy = &mut organization.policies[index];
    if let Some(allow) = cmdlet.allow_non_provisionable_devices {
        policy.allow_non_provisionable_devices = allow;
    }
    if let Some(enabled) = cmdlet.device_password_enabled {
        policy.device_password_enabled = enabled;
    }
    match cmdlet.is_default {
        Some(true) => make_default(organization, index),
        Some(false) => organization.policies[index].is_default = false,
        None => {}
    }
    Ok(CmdletOutput::default())
}

pub(crate) fn remove_policy(
    organization: &mut Organization,
    cmdlet: &RemoveActiveSyncMailboxPolicy,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let site = context.site(RemoveActiveSyncMailboxPolicy::NAME);
    if cmdlet.confirm {
        return Err(site.terminating(site.confirmation_required(&cmdlet.identity)));
    }
    let Some(index) = policy_index(organization, &cmdlet.identity) else {
        return Err(site.terminating(site.not_found(&cmdlet.identity, &organization.domain_controller())));
    };
    let removed = organization.policies.remove(index);
    // Mailboxes that had the removed policy fall back to the default.
    for mailbox in &mut organization.mailboxes {
        if mailbox.policy.as_deref().is_some_and(|name| name.eq_ignore_ascii_case(&removed.name)) {
            mailbox.policy = None;
        }
    }
    Ok(CmdletOutput::default())
}

pub(crate) fn get_servers(
    organization: &Organization,
    cmdlet: &GetExchangeServer,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let servers = match &cmdlet.identity {
        Some(identity) => match organization.server_index(identity) {
            Some(index) => vec![&organization.servers[index]],
            None => {
                let site = context.site(GetExchangeServer::NAME);
                return Ok(with_error(site.not_found(identity, &organization.domain_controller())));
            }
        },
        None => organization.servers.iter().collect(),
    };
    Ok(CmdletOutput { objects: objects(servers.into_iter().map(views::exchange_server)), ..CmdletOutput::default() })
}

pub(crate) fn set_ad_server_settings(
    cmdlet: &SetAdServerSettings,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    if let Some(view) = cmdlet.view_entire_forest {
        *context.view_entire_forest = view;
    }
    Ok(CmdletOutput::default())
}

pub(crate) fn get_command(cmdlet: &GetCommand, context: &mut Context<'_>) -> Result<CmdletOutput, ExchangeError> {
    let available = |name: &str| canonical_name(name).filter(|known| !context.withheld.contains(*known));
    let mut output = CmdletOutput::default();
    if cmdlet.name.is_empty() {
        let names = CMDLET_NAMES.iter().filter(|name| !context.withheld.contains(**name));
        output.objects = objects(names.map(|name| CommandInfo::cmdlet(name)));
        return Ok(output);
    }
    let site = context.site(GetCommand::NAME);
    for name in &cmdlet.name {
        match available(name) {
            Some(known) => {
                output.objects.push(crate::exchange::cmdlets::ExchangeObject::into_object(CommandInfo::cmdlet(known)))
            }
            None => output.errors.push(site.command_not_found(name)),
        }
    }
    Ok(output)
}
