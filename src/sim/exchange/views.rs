//! The simulated organisation's records as the typed objects its cmdlets return.

use crate::exchange::cmdlets::get_activesync_organization_settings::ORGANIZATION_SETTINGS_IDENTITY;
use crate::exchange::cmdlets::{
    ActiveSyncDevice, ActiveSyncDeviceStatistics, ActiveSyncMailboxPolicy, ActiveSyncOrganizationSettings, CasMailbox,
    ExchangeServer, Recipient,
};
use crate::sim::exchange::model::{CasServer, Mailbox, MailboxPolicyRecord, Partnership};
use crate::sim::exchange::organization::Organization;

pub(crate) fn activesync_device(organization: &Organization, partnership: &Partnership) -> ActiveSyncDevice {
    let mailbox = &organization.mailboxes[partnership.mailbox];
    ActiveSyncDevice {
        identity: partnership.identity.clone(),
        guid: Some(partnership.guid),
        device_id: partnership.device_id.clone(),
        device_type: partnership.device_type.clone(),
        device_model: partnership.device_model.clone(),
        device_os: partnership.device_os.clone(),
        device_user_agent: partnership.user_agent.clone(),
        friendly_name: String::new(),
        device_imei: String::new(),
        device_mobile_operator: String::new(),
        device_os_language: "en-us".to_string(),
        device_telephone_number: String::new(),
        device_active_sync_version: "16.1".to_string(),
        user_display_name: mailbox.identity.clone(),
        first_sync_time: Some(partnership.first_sync_time),
        device_access_state: partnership.state.clone(),
        device_access_state_reason: partnership.reason.clone(),
        device_access_control_rule: partnership.rule.clone(),
        device_policy_applied: Some(policy_name(organization, mailbox)),
        device_policy_application_status: "AppliedInFull".to_string(),
        client_type: "EAS".to_string(),
        is_managed: false,
        is_compliant: false,
        is_disabled: false,
        when_created: Some(partnership.first_sync_time),
        when_changed: Some(partnership.when_changed),
    }
}

pub(crate) fn device_statistics(organization: &Organization, partnership: &Partnership) -> ActiveSyncDeviceStatistics {
    let device = activesync_device(organization, partnership);
    ActiveSyncDeviceStatistics {
        identity: device.identity,
        guid: device.guid,
        device_id: device.device_id,
        device_type: device.device_type,
        device_model: device.device_model,
        device_os: device.device_os,
        device_user_agent: device.device_user_agent,
        device_friendly_name: device.friendly_name,
        first_sync_time: device.first_sync_time,
        last_policy_update_time: device.first_sync_time,
        last_sync_attempt_time: Some(partnership.last_sync_time),
        last_success_sync: Some(partnership.last_sync_time),
        device_wipe_request_time: partnership.wipe.requested_at,
        device_wipe_sent_time: partnership.wipe.sent_at,
        device_wipe_ack_time: partnership.wipe.acknowledged_at,
        last_device_wipe_requestor: partnership.wipe.requestor.clone(),
        is_remote_wipe_supported: true,
        status: partnership.wipe.status(),
        device_access_state: device.device_access_state,
        device_access_state_reason: device.device_access_state_reason,
        device_access_control_rule: device.device_access_control_rule,
        client_type: device.client_type,
    }
}

fn policy_name(organization: &Organization, mailbox: &Mailbox) -> String {
    match &mailbox.policy {
        Some(name) => name.clone(),
        None => default_policy_name(organization),
    }
}

fn default_policy_name(organization: &Organization) -> String {
    organization.policies.iter().find(|policy| policy.is_default).map(|policy| policy.name.clone()).unwrap_or_default()
}

pub(crate) fn cas_mailbox(organization: &Organization, mailbox: &Mailbox) -> CasMailbox {
    CasMailbox {
        identity: mailbox.identity.clone(),
        name: mailbox.name.clone(),
        display_name: mailbox.name.clone(),
        sam_account_name: mailbox.alias.clone(),
        primary_smtp_address: mailbox.smtp.clone(),
        guid: Some(mailbox.guid),
        activesync_enabled: mailbox.activesync_enabled,
        activesync_allowed_device_ids: mailbox.allowed_device_ids.clone(),
        activesync_blocked_device_ids: mailbox.blocked_device_ids.clone(),
        activesync_mailbox_policy: policy_name(organization, mailbox),
        activesync_mailbox_policy_is_defaulted: mailbox.policy.is_none(),
        has_activesync_device_partnership: !mailbox.devices.is_empty(),
    }
}

pub(crate) fn recipient(mailbox: &Mailbox) -> Recipient {
    let mut email_addresses = vec![format!("SMTP:{}", mailbox.smtp)];
    if !mailbox.upn.eq_ignore_ascii_case(&mailbox.smtp) {
        email_addresses.push(format!("smtp:{}", mailbox.upn));
    }
    Recipient {
        identity: mailbox.identity.clone(),
        name: mailbox.name.clone(),
        alias: mailbox.alias.clone(),
        display_name: mailbox.name.clone(),
        primary_smtp_address: mailbox.smtp.clone(),
        recipient_type: "UserMailbox".to_string(),
        recipient_type_details: "UserMailbox".to_string(),
        email_addresses,
        guid: Some(mailbox.guid),
    }
}

pub(crate) fn organization_settings(organization: &Organization) -> ActiveSyncOrganizationSettings {
    let settings = &organization.settings;
    ActiveSyncOrganizationSettings {
        identity: ORGANIZATION_SETTINGS_IDENTITY.to_string(),
        name: ORGANIZATION_SETTINGS_IDENTITY.to_string(),
        default_access_level: settings.default_access,
        user_mail_insert: settings.user_mail_insert.clone(),
        admin_mail_recipients: settings.admin_mail_recipients.clone(),
        ota_notification_mail_insert: settings.ota_notification_mail_insert.clone(),
    }
}

pub(crate) fn mailbox_policy(policy: &MailboxPolicyRecord) -> ActiveSyncMailboxPolicy {
    ActiveSyncMailboxPolicy {
        identity: policy.name.clone(),
        name: policy.name.clone(),
        is_default: policy.is_default,
        allow_non_provisionable_devices: policy.allow_non_provisionable_devices,
        device_password_enabled: policy.device_password_enabled,
    }
}

pub(crate) fn exchange_server(server: &CasServer) -> ExchangeServer {
    ExchangeServer {
        identity: server.name.clone(),
        name: server.name.clone(),
        fqdn: server.fqdn.clone(),
        server_role: "Mailbox, ClientAccess".to_string(),
        admin_display_version: "Version 15.2 (Build 1544.4)".to_string(),
        is_client_access_server: true,
        site: "Default-First-Site-Name".to_string(),
    }
}
