//! The partnership cmdlets on the simulated organisation: Get-ActiveSyncDevice,
//! Get-ActiveSyncDeviceStatistics, Clear-ActiveSyncDevice, Remove-ActiveSyncDevice,
//! Get-ActiveSyncDeviceClass.

use crate::exchange::cmdlets::{
    ActiveSyncDeviceClass, ClearActiveSyncDevice, Cmdlet, GetActiveSyncDevice, GetActiveSyncDeviceClass,
    GetActiveSyncDeviceStatistics, RemoveActiveSyncDevice,
};
use crate::exchange::{CmdletOutput, ExchangeError};
use crate::sim::exchange::execute::{
    Context, limited, objects, parse_filter, resolve_device, resolve_mailbox, with_error,
};
use crate::sim::exchange::model::Partnership;
use crate::sim::exchange::opath::{FieldType, FieldValue};
use crate::sim::exchange::organization::Organization;
use crate::sim::exchange::views;

/// What `Get-ActiveSyncDevice -Filter` can compare (reference/exchange.md 1.3).
const DEVICE_PROPERTIES: &[(&str, FieldType)] = &[
    ("ClientType", FieldType::Text),
    ("DeviceAccessControlRule", FieldType::Text),
    ("DeviceAccessState", FieldType::Text),
    ("DeviceAccessStateReason", FieldType::Text),
    ("DeviceActiveSyncVersion", FieldType::Text),
    ("DeviceId", FieldType::Text),
    ("DeviceImei", FieldType::Text),
    ("DeviceMobileOperator", FieldType::Text),
    ("DeviceModel", FieldType::Text),
    ("DeviceOS", FieldType::Text),
    ("DeviceOSLanguage", FieldType::Text),
    ("DeviceTelephoneNumber", FieldType::Text),
    ("DeviceType", FieldType::Text),
    ("DeviceUserAgent", FieldType::Text),
    ("FirstSyncTime", FieldType::Date),
    ("FriendlyName", FieldType::Text),
    ("UserDisplayName", FieldType::Text),
];

fn device_field<'a>(organization: &'a Organization, partnership: &'a Partnership) -> impl Fn(&str) -> FieldValue<'a> {
    move |property| match property {
        "ClientType" => FieldValue::Text("EAS"),
        "DeviceAccessControlRule" => FieldValue::Text(partnership.rule.as_deref().unwrap_or("")),
        "DeviceAccessState" => FieldValue::Text(partnership.state.as_str()),
        "DeviceAccessStateReason" => FieldValue::Text(partnership.reason.as_str()),
        "DeviceActiveSyncVersion" => FieldValue::Text("16.1"),
        "DeviceId" => FieldValue::Text(&partnership.device_id),
        "DeviceModel" => FieldValue::Text(&partnership.device_model),
        "DeviceOS" => FieldValue::Text(&partnership.device_os),
        "DeviceOSLanguage" => FieldValue::Text("en-us"),
        "DeviceType" => FieldValue::Text(&partnership.device_type),
        "DeviceUserAgent" => FieldValue::Text(&partnership.user_agent),
        "FirstSyncTime" => FieldValue::Date(Some(partnership.first_sync_time)),
        "UserDisplayName" => FieldValue::Text(&organization.mailboxes[partnership.mailbox].identity),
        _ => FieldValue::Text(""),
    }
}

pub(crate) fn get_activesync_device(
    organization: &Organization,
    cmdlet: &GetActiveSyncDevice,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let site = context.site(GetActiveSyncDevice::NAME);
    let filter = parse_filter(cmdlet.filter.as_deref(), DEVICE_PROPERTIES, &site)?;
    let view = *context.view_entire_forest;
    let keys: Vec<u64> = if let Some(identity) = &cmdlet.identity {
        match resolve_device(organization, identity, view, &site) {
            Ok(key) => vec![key],
            Err(error) => return Ok(with_error(error)),
        }
    } else if let Some(mailbox) = &cmdlet.mailbox {
        match resolve_mailbox(organization, mailbox, view, &site) {
            Ok(index) => organization.mailboxes[index].devices.clone(),
            Err(error) => return Ok(with_error(error)),
        }
    } else {
        Vec::new()
    };
    let everything = cmdlet.identity.is_none() && cmdlet.mailbox.is_none();
    let candidates: Box<dyn Iterator<Item = &Partnership>> = if everything {
        Box::new(organization.partnerships.values().filter(|p| organization.visible(p.mailbox, view)))
    } else {
        Box::new(keys.iter().filter_map(|key| organization.partnerships.get(key)))
    };
    let matching = candidates.filter(|partnership| match &filter {
        Some(filter) => filter.matches(&device_field(organization, partnership)),
        None => true,
    });
    let mut output = CmdletOutput::default();
    let selected = limited(matching, cmdlet.result_size, &mut output);
    output.objects =
        objects(selected.into_iter().map(|partnership| views::activesync_device(organization, partnership)));
    Ok(output)
}

pub(crate) fn get_statistics(
    organization: &Organization,
    cmdlet: &GetActiveSyncDeviceStatistics,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let site = context.site(GetActiveSyncDeviceStatistics::NAME);
    let view = *context.view_entire_forest;
    let keys = match (&cmdlet.identity, &cmdlet.mailbox) {
        (Some(identity), _) => resolve_device(organization, identity, view, &site).map(|key| vec![key]),
        (None, Some(mailbox)) => resolve_mailbox(organization, mailbox, view, &site)
            .map(|index| organization.mailboxes[index].devices.clone()),
        (None, None) => Ok(Vec::new()),
    };
    let keys = match keys {
        Ok(keys) => keys,
        Err(error) => return Ok(with_error(error)),
    };
    let statistics = keys
        .iter()
        .filter_map(|key| organization.partnerships.get(key))
        .map(|partnership| views::device_statistics(organization, partnership));
    Ok(CmdletOutput { objects: objects(statistics), ..CmdletOutput::default() })
}

pub(crate) fn clear_activesync_device(
    organization: &mut Organization,
    cmdlet: &ClearActiveSyncDevice,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let site = context.site(ClearActiveSyncDevice::NAME);
    if cmdlet.confirm {
        return Err(site.terminating(site.confirmation_required(&cmdlet.identity)));
    }
    let key = resolve_device(organization, &cmdlet.identity, *context.view_entire_forest, &site)
        .map_err(|error| site.terminating(error))?;
    let acknowledge_at_once = organization.wipe_acknowledged_at_once;
    let Some(partnership) = organization.partnerships.get_mut(&key) else {
        return Err(site.terminating(site.not_found(&cmdlet.identity, "dc1")));
    };
    let wipe = &mut partnership.wipe;
    if cmdlet.cancel {
        // Only a wipe the device has not acknowledged can be cancelled.
        if wipe.acknowledged_at.is_none() {
            wipe.requested_at = None;
            wipe.sent_at = None;
        }
        return Ok(CmdletOutput::default());
    }
    wipe.requested_at = Some(context.now);
    wipe.requestor = context.user.to_string();
    if acknowledge_at_once {
        // The device syncs at once (DESIGN section 7): it receives the wipe and acknowledges it.
        wipe.sent_at = Some(context.now);
        wipe.acknowledged_at = Some(context.now);
    }
    Ok(CmdletOutput::default())
}

pub(crate) fn remove_activesync_device(
    organization: &mut Organization,
    cmdlet: &RemoveActiveSyncDevice,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let site = context.site(RemoveActiveSyncDevice::NAME);
    if cmdlet.confirm {
        return Err(site.terminating(site.confirmation_required(&cmdlet.identity)));
    }
    let key = resolve_device(organization, &cmdlet.identity, *context.view_entire_forest, &site)
        .map_err(|error| site.terminating(error))?;
    organization.remove_partnership(key);
    Ok(CmdletOutput::default())
}

pub(crate) fn get_device_class(
    organization: &Organization,
    cmdlet: &GetActiveSyncDeviceClass,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    let site = context.site(GetActiveSyncDeviceClass::NAME);
    let classes = organization
        .device_classes
        .iter()
        .map(|(device_type, device_model, seen)| ActiveSyncDeviceClass::new(device_type, device_model, Some(seen)))
        .filter(|class| cmdlet.identity.as_ref().is_none_or(|identity| class.identity.eq_ignore_ascii_case(identity)));
    let mut output = CmdletOutput::default();
    let selected = limited(classes, cmdlet.result_size, &mut output);
    if selected.is_empty()
        && let Some(identity) = &cmdlet.identity
    {
        return Ok(with_error(site.not_found(identity, &organization.domain_controller())));
    }
    output.objects = objects(selected);
    Ok(output)
}
