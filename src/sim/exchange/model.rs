//! The records the simulated organisation keeps: mailboxes, partnerships, servers, policies and
//! the organisation settings, plus the scenario-facing input and ground-truth types.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::vocabulary::{AccessLevel, ExchangeReason, ExchangeState};
use crate::exchange::cmdlets::WipeStatus;

/// A Client Access Server.
#[derive(Debug, Clone)]
pub(crate) struct CasServer {
    pub(crate) name: String,
    pub(crate) fqdn: String,
    pub(crate) up: bool,
    /// Bumped each time the server goes down: shells opened before are gone.
    pub(crate) epoch: u64,
}

/// A user's mailbox and its client access settings.
#[derive(Debug, Clone)]
pub(crate) struct Mailbox {
    pub(crate) upn: String,
    pub(crate) smtp: String,
    /// Canonical name, `contoso.com/Users/alice`.
    pub(crate) identity: String,
    pub(crate) name: String,
    pub(crate) alias: String,
    pub(crate) guid: Uuid,
    pub(crate) activesync_enabled: bool,
    pub(crate) allowed_device_ids: Vec<String>,
    pub(crate) blocked_device_ids: Vec<String>,
    /// `None`: the organisation's default policy applies.
    pub(crate) policy: Option<String>,
    /// Keys of the mailbox's partnerships (Exchange allows 100 per user by default).
    pub(crate) devices: Vec<u64>,
}

impl Mailbox {
    /// The AD domain of the user: the first segment of the canonical name.
    pub(crate) fn domain(&self) -> &str {
        self.identity.split('/').next().unwrap_or("")
    }
}

/// A device's partnership with a mailbox.
#[derive(Debug, Clone)]
pub(crate) struct Partnership {
    pub(crate) mailbox: usize,
    pub(crate) identity: String,
    pub(crate) guid: Uuid,
    pub(crate) device_id: String,
    pub(crate) device_type: String,
    pub(crate) device_model: String,
    pub(crate) device_os: String,
    pub(crate) user_agent: String,
    pub(crate) first_sync_time: DateTime<Utc>,
    pub(crate) last_sync_time: DateTime<Utc>,
    pub(crate) when_changed: DateTime<Utc>,
    pub(crate) state: ExchangeState,
    pub(crate) reason: ExchangeReason,
    /// The matching rule when the reason is DeviceRule.
    pub(crate) rule: Option<String>,
    pub(crate) wipe: WipeRecord,
}

/// Remote wipe times, from which Exchange derives the wipe status.
#[derive(Debug, Clone, Default)]
pub(crate) struct WipeRecord {
    pub(crate) requested_at: Option<DateTime<Utc>>,
    pub(crate) sent_at: Option<DateTime<Utc>>,
    pub(crate) acknowledged_at: Option<DateTime<Utc>>,
    pub(crate) requestor: String,
}

impl WipeRecord {
    /// Exchange's derivation (MobileDeviceConfiguration.Status): acknowledged -> succeeded;
    /// never requested -> ok; otherwise pending.
    pub(crate) fn status(&self) -> WipeStatus {
        if self.acknowledged_at.is_some() {
            WipeStatus::DeviceWipeSucceeded
        } else if self.requested_at.is_none() && self.sent_at.is_none() {
            WipeStatus::DeviceOk
        } else {
            WipeStatus::DeviceWipePending
        }
    }
}

/// A mobile device mailbox policy.
#[derive(Debug, Clone)]
pub(crate) struct MailboxPolicyRecord {
    pub(crate) name: String,
    pub(crate) is_default: bool,
    pub(crate) allow_non_provisionable_devices: bool,
    pub(crate) device_password_enabled: bool,
}

/// `ActiveSyncOrganizationSettings`.
#[derive(Debug, Clone)]
pub(crate) struct OrganizationSettings {
    pub(crate) default_access: AccessLevel,
    pub(crate) user_mail_insert: String,
    pub(crate) admin_mail_recipients: Vec<String>,
    pub(crate) ota_notification_mail_insert: String,
}

/// The organisation before easgate starts (scenario step `org`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationSpec {
    pub name: String,
    /// Client Access Servers, the first is the primary.
    pub cas: Vec<String>,
    pub default_access: AccessLevel,
}

/// A mailbox to create (scenario step `user`, or bulk loading).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxSpec {
    pub upn: String,
    /// Primary SMTP address.
    pub smtp: String,
}

/// A device that syncs with a mailbox (scenario step `connect`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceSpec {
    pub device_id: String,
    pub device_type: String,
    pub device_model: String,
    pub device_os: String,
    /// Empty: `<DeviceType>/<DeviceModel>` is used.
    pub user_agent: String,
}

impl DeviceSpec {
    pub fn new(device_id: &str, device_type: &str, device_model: &str, device_os: &str) -> DeviceSpec {
        DeviceSpec {
            device_id: device_id.to_string(),
            device_type: device_type.to_string(),
            device_model: device_model.to_string(),
            device_os: device_os.to_string(),
            user_agent: String::new(),
        }
    }

    /// The user agent, or `<DeviceType>/<DeviceModel>` when none was given.
    pub(crate) fn effective_user_agent(&self) -> String {
        if self.user_agent.is_empty() {
            format!("{}/{}", self.device_type, self.device_model)
        } else {
            self.user_agent.clone()
        }
    }
}

/// Ground truth about one partnership, outside any cmdlet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceTruth {
    pub mailbox_upn: String,
    pub mailbox_smtp: String,
    pub identity: String,
    pub device_id: String,
    pub device_type: String,
    pub state: ExchangeState,
    pub reason: ExchangeReason,
    pub rule: Option<String>,
    pub wipe_status: WipeStatus,
    pub first_sync_time: DateTime<Utc>,
}

/// Ground truth about one mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxTruth {
    pub upn: String,
    pub smtp: String,
    pub identity: String,
    pub activesync_enabled: bool,
    pub allowed_device_ids: Vec<String>,
    pub blocked_device_ids: Vec<String>,
    pub device_ids: Vec<String>,
}

/// Ground truth about the organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationTruth {
    pub name: String,
    pub default_access: AccessLevel,
    pub rules: Vec<crate::domain::event::DeviceAccessRule>,
    /// (server name, up).
    pub servers: Vec<(String, bool)>,
    pub mailboxes: usize,
    pub partnerships: usize,
}
