//! The mailbox cmdlets on the simulated organisation: Get-CASMailbox, Set-CASMailbox,
//! Get-Recipient. Set-CASMailbox re-evaluates the mailbox's partnerships at once.

use crate::exchange::cmdlets::{Cmdlet, GetCasMailbox, GetRecipient, SetCasMailbox};
use crate::exchange::{CmdletOutput, ExchangeError};
use crate::sim::exchange::error_records::nothing_modified;
use crate::sim::exchange::execute::{Context, limited, objects, parse_filter, resolve_mailbox, with_error};
use crate::sim::exchange::model::Mailbox;
use crate::sim::exchange::opath::{FieldType, FieldValue, Filter};
use crate::sim::exchange::organization::Organization;
use crate::sim::exchange::views;

const CAS_MAILBOX_PROPERTIES: &[(&str, FieldType)] = &[
    ("ActiveSyncAllowedDeviceIDs", FieldType::TextList),
    ("ActiveSyncBlockedDeviceIDs", FieldType::TextList),
    ("ActiveSyncEnabled", FieldType::Bool),
    ("ActiveSyncMailboxPolicy", FieldType::Text),
    ("Alias", FieldType::Text),
    ("DisplayName", FieldType::Text),
    ("HasActiveSyncDevicePartnership", FieldType::Bool),
    ("Name", FieldType::Text),
    ("PrimarySmtpAddress", FieldType::Text),
    ("SamAccountName", FieldType::Text),
    ("UserPrincipalName", FieldType::Text),
];

const RECIPIENT_PROPERTIES: &[(&str, FieldType)] = &[
    ("Alias", FieldType::Text),
    ("DisplayName", FieldType::Text),
    ("Name", FieldType::Text),
    ("PrimarySmtpAddress", FieldType::Text),
    ("RecipientType", FieldType::Text),
    ("RecipientTypeDetails", FieldType::Text),
];

fn mailbox_field<'a>(mailbox: &'a Mailbox) -> impl Fn(&str) -> FieldValue<'a> {
    move |property| match property {
        "ActiveSyncAllowedDeviceIDs" => FieldValue::TextList(&mailbox.allowed_device_ids),
        "ActiveSyncBlockedDeviceIDs" => FieldValue::TextList(&mailbox.blocked_device_ids),
        "ActiveSyncEnabled" => FieldValue::Bool(mailbox.activesync_enabled),
        "ActiveSyncMailboxPolicy" => FieldValue::Text(mailbox.policy.as_deref().unwrap_or("")),
        "Alias" | "SamAccountName" => FieldValue::Text(&mailbox.alias),
        "DisplayName" | "Name" => FieldValue::Text(&mailbox.name),
        "HasActiveSyncDevicePartnership" => FieldValue::Bool(!mailbox.devices.is_empty()),
        "PrimarySmtpAddress" => FieldValue::Text(&mailbox.smtp),
        "UserPrincipalName" => FieldValue::Text(&mailbox.upn),
        "RecipientType" | "RecipientTypeDetails" => FieldValue::Text("UserMailbox"),
        _ => FieldValue::Text(""),
    }
}

/// The mailboxes a Get-* selects: by identity, else all this runspace sees, then the filter.
fn select_mailboxes<'a>(
    organization: &'a Organization,
    identity: Option<&str>,
    filter: Option<&'a Filter>,
    context: &Context<'_>,
    cmdlet: &'static str,
) -> Result<Box<dyn Iterator<Item = &'a Mailbox> + 'a>, CmdletOutput> {
    let view = *context.view_entire_forest;
    let candidates: Box<dyn Iterator<Item = &'a Mailbox> + 'a> = match identity {
        Some(identity) => match resolve_mailbox(organization, identity, view, &context.site(cmdlet)) {
            Ok(index) => Box::new(std::iter::once(&organization.mailboxes[index])),
            Err(error) => return Err(with_error(error)),
        },
        None => Box::new(
            organization
                .mailboxes
                .iter()
                .enumerate()
                .filter(move |(index, _)| organization.visible(*index, view))
                .map(|(_, mailbox)| mailbox),
        ),
    };
    Ok(Box::new(candidates.filter(move |mailbox| filter.is_none_or(|filter| filter.matches(&mailbox_field(mailbox))))))
}

pub(crate) fn get_cas_mailbox(
    organization: &Organization,
    cmdlet: &GetCasMailbox,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let filter = parse_filter(cmdlet.filter.as_deref(), CAS_MAILBOX_PROPERTIES, &context.site(GetCasMailbox::NAME))?;
    let selected =
        match select_mailboxes(organization, cmdlet.identity.as_deref(), filter.as_ref(), context, GetCasMailbox::NAME)
        {
            Ok(selected) => selected,
            Err(output) => return Ok(output),
        };
    let mut output = CmdletOutput::default();
    let mailboxes = limited(selected, cmdlet.result_size, &mut output);
    output.objects = objects(mailboxes.into_iter().map(|mailbox| views::cas_mailbox(organization, mailbox)));
    Ok(output)
}

pub(crate) fn get_recipient(
    organization: &Organization,
    cmdlet: &GetRecipient,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let filter = parse_filter(cmdlet.filter.as_deref(), RECIPIENT_PROPERTIES, &context.site(GetRecipient::NAME))?;
    let selected = match select_mailboxes(
        organization,
        cmdlet.identity.as_deref(),
        filter.as_ref(),
        context,
        GetRecipient::NAME,
    ) {
        Ok(selected) => selected,
        Err(output) => return Ok(output),
    };
    let mut output = CmdletOutput::default();
    let mailboxes = limited(selected, cmdlet.result_size, &mut output);
    output.objects = objects(mailboxes.into_iter().map(views::recipient));
    Ok(output)
}

pub(crate) fn set_cas_mailbox(
    organization: &mut Organization,
    cmdlet: &SetCasMailbox,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let site = context.site(SetCasMailbox::NAME);
    let index = resolve_mailbox(organization, &cmdlet.identity, *context.view_entire_forest, &site)
        .map_err(|error| site.terminating(error))?;
    // Validate everything before changing anything: a failed Set-* changes nothing.
    let policy = match &cmdlet.activesync_mailbox_policy {
        Some(name) => match organization.policies.iter().find(|policy| policy.name.eq_ignore_ascii_case(name)) {
            Some(policy) => Some(policy.name.clone()),
            None => return Err(site.terminating(site.not_found(name, &organization.domain_controller()))),
        },
        None => None,
    };
    let mut changed = false;
    if let Some(enabled) = cmdlet.activesync_enabled {
        changed |= organization.set_activesync_enabled(index, enabled, context.now);
    }
    if let Some(policy) = policy
        && organization.mailboxes[index].policy.as_deref() != Some(policy.as_str())
    {
        organization.mailboxes[index].policy = Some(policy);
        changed = true;
    }
    changed |= organization.change_lists(
        index,
        cmdlet.activesync_allowed_device_ids.as_ref(),
        cmdlet.activesync_blocked_device_ids.as_ref(),
        context.now,
    );
    let mut output = CmdletOutput::default();
    if !changed {
        output.warnings.push(nothing_modified(&cmdlet.identity));
    }
    Ok(output)
}
