//! Exchange's objects -> the domain's observations: partnerships, CAS mailboxes, the
//! organisation's settings, rules and servers. Property names are Exchange's; enums arrive as
//! text or enum objects and unknown values are kept.

use crate::clixml::value::{PsObject, PsValue};
use crate::domain::event::DeviceAccessRule;
use crate::domain::observation::{ObservedDevice, ObservedMailbox};
use crate::domain::vocabulary::{AccessLevel, Characteristic, ExchangeReason, ExchangeState};
use crate::exchange::{CmdletOutput, ExchangeError};

/// The separator between a mailbox's Identity and its partnerships' container.
const DEVICES_CONTAINER: &str = "/ExchangeActiveSyncDevices/";

fn objects(output: &CmdletOutput) -> impl Iterator<Item = &PsObject> {
    output.objects.iter().filter_map(PsValue::as_object)
}

fn text(object: &PsObject, name: &str) -> String {
    object.text(name).unwrap_or_default()
}

/// The mailbox Identity a partnership's Identity starts with.
pub fn mailbox_identity_of_device(device_identity: &str) -> Option<&str> {
    device_identity.split_once(DEVICES_CONTAINER).map(|(mailbox, _)| mailbox)
}

/// CAS mailboxes from Get-CASMailbox.
pub fn mailboxes(output: &CmdletOutput) -> Result<Vec<ObservedMailbox>, ExchangeError> {
    objects(output)
        .map(|object| {
            let smtp = text(object, "PrimarySmtpAddress");
            if smtp.is_empty() {
                return Err(ExchangeError::Protocol { detail: "a CASMailbox without PrimarySmtpAddress".into() });
            }
            Ok(ObservedMailbox {
                smtp,
                identity: text(object, "Identity"),
                activesync_enabled: object.bool("ActiveSyncEnabled").unwrap_or(true),
                allowed_device_ids: object
                    .get("ActiveSyncAllowedDeviceIDs")
                    .map(PsValue::text_items)
                    .unwrap_or_default(),
                blocked_device_ids: object
                    .get("ActiveSyncBlockedDeviceIDs")
                    .map(PsValue::text_items)
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Partnerships from Get-ActiveSyncDevice. `smtp_of_identity` gives a mailbox's SMTP address
/// by its Identity (lowercased); a partnership of an unknown mailbox is returned in the second
/// list by Identity.
pub fn devices<'a>(
    output: &CmdletOutput,
    smtp_of_identity: impl Fn(&str) -> Option<&'a str>,
) -> Result<(Vec<ObservedDevice>, Vec<String>), ExchangeError> {
    let mut observed = Vec::new();
    let mut unknown_mailboxes = Vec::new();
    for object in objects(output) {
        let identity = text(object, "Identity");
        let device_id = text(object, "DeviceId");
        let Some(mailbox_identity) = mailbox_identity_of_device(&identity) else {
            return Err(ExchangeError::Protocol {
                detail: format!("a partnership Identity without a mailbox: {identity}"),
            });
        };
        if device_id.is_empty() {
            return Err(ExchangeError::Protocol { detail: format!("a partnership without DeviceId: {identity}") });
        }
        let Some(smtp) = smtp_of_identity(mailbox_identity.to_lowercase().as_str()) else {
            unknown_mailboxes.push(mailbox_identity.to_string());
            continue;
        };
        observed.push(ObservedDevice {
            mailbox: smtp.to_string(),
            device_id,
            device_type: text(object, "DeviceType"),
            device_model: text(object, "DeviceModel"),
            device_os: text(object, "DeviceOS"),
            user_agent: text(object, "DeviceUserAgent"),
            exchange_state: ExchangeState::parse(&text(object, "DeviceAccessState")),
            exchange_reason: ExchangeReason::parse(&text(object, "DeviceAccessStateReason")),
        });
    }
    unknown_mailboxes.sort();
    unknown_mailboxes.dedup();
    Ok((observed, unknown_mailboxes))
}

/// `DefaultAccessLevel` from Get-ActiveSyncOrganizationSettings.
pub fn default_access(output: &CmdletOutput) -> Result<AccessLevel, ExchangeError> {
    let object = objects(output).next().ok_or_else(|| ExchangeError::Protocol {
        detail: "Get-ActiveSyncOrganizationSettings returned nothing".into(),
    })?;
    let level = text(object, "DefaultAccessLevel");
    AccessLevel::parse(&level)
        .ok_or_else(|| ExchangeError::Protocol { detail: format!("unknown DefaultAccessLevel `{level}`") })
}

/// Device access rules from Get-ActiveSyncDeviceAccessRule. A rule on a characteristic easgate
/// does not know cannot match anything easgate sees, so it is left out.
pub fn rules(output: &CmdletOutput) -> Vec<DeviceAccessRule> {
    objects(output)
        .filter_map(|object| {
            Some(DeviceAccessRule {
                query: object.text("QueryString")?,
                characteristic: Characteristic::parse(&object.text("Characteristic")?)?,
                access: AccessLevel::parse(&object.text("AccessLevel")?)?,
            })
        })
        .collect()
}

/// Client Access Servers from Get-ExchangeServer: their FQDN (or name), sorted.
pub fn cas_servers(output: &CmdletOutput) -> Vec<String> {
    let mut servers: Vec<String> = objects(output)
        .filter(|object| {
            object.bool("IsClientAccessServer").unwrap_or(true)
                && !text(object, "ServerRole").eq_ignore_ascii_case("Edge")
        })
        .filter_map(|object| object.text("Fqdn").filter(|fqdn| !fqdn.is_empty()).or_else(|| object.text("Name")))
        .collect();
    servers.sort();
    servers.dedup();
    servers
}
