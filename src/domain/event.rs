//! The event catalog, version 1 (DESIGN section 5): past-tense facts, each a payload struct.
//!
//! These structs are the persisted payloads of version 1 (postcard in the log, JSON in
//! `easgate log`). Never edit a shipped one: add a new version and an upcaster in `store::catalog`
//! (see schema/README.md). Fields that are not the identity of what happened default when a JSON
//! history omits them, so recorded histories from other tools import.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::cmdlet_call::Parameters;
use crate::domain::vocabulary::{
    Access, AccessLevel, Characteristic, Compliance, ConnectorKind, ExchangeReason, ExchangeState, Reason, RuleMatch,
    SyncKind, SyncTrigger,
};

/// Every event easgate records. The variant names are the `type` of `easgate log`.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    ConnectorRegistered(ConnectorRegistered),
    PolicyApplied(PolicyApplied),
    SyncStarted(SyncStarted),
    SyncCompleted(SyncCompleted),
    SyncFailed(SyncFailed),
    CasFailedOver(CasFailedOver),
    UserObserved(UserObserved),
    DeviceDiscovered(DeviceDiscovered),
    ExchangeStateObserved(ExchangeStateObserved),
    PartnershipRemoved(PartnershipRemoved),
    DeviceRegistered(DeviceRegistered),
    DeviceEnrolled(DeviceEnrolled),
    DeviceUnenrolled(DeviceUnenrolled),
    DeviceMapped(DeviceMapped),
    EasIdRegistered(EasIdRegistered),
    ComplianceObserved(ComplianceObserved),
    AccessDecided(AccessDecided),
    CmdletRequested(CmdletRequested),
    CmdletSucceeded(CmdletSucceeded),
    CmdletFailed(CmdletFailed),
    CmdletReconciled(CmdletReconciled),
    NotificationRequested(NotificationRequested),
    NotificationSent(NotificationSent),
    NotificationFailed(NotificationFailed),
    DriftDetected(DriftDetected),
    WipeRequested(WipeRequested),
    WipeConfirmed(WipeConfirmed),
    MailboxObserved(MailboxObserved),
    OrganizationObserved(OrganizationObserved),
    ConnectorStatusChanged(ConnectorStatusChanged),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorRegistered {
    pub connector_id: String,
    #[serde(default)]
    pub organization: String,
    #[serde(default)]
    pub server: String,
    #[serde(default)]
    pub kind: ConnectorKind,
    /// The connector this registration replaces (same Exchange organisation), if any.
    #[serde(default)]
    pub replaces: Option<String>,
}

/// A device platform exception: `device_class` matched as a family (DeviceType) or a model.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PolicyAccessRule {
    pub device_class: String,
    #[serde(rename = "type")]
    pub rule_match: RuleMatch,
    pub access: AccessLevel,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyApplied {
    #[serde(default)]
    pub revision: u64,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub included_groups: Vec<String>,
    #[serde(default)]
    pub excluded_groups: Vec<String>,
    #[serde(default = "default_access_level")]
    pub default_access: AccessLevel,
    #[serde(default)]
    pub override_default_rule: bool,
    #[serde(default)]
    pub access_rules: Vec<PolicyAccessRule>,
    /// `notificationContent`: the HTML of the quarantine mail; empty means easgate's template.
    #[serde(default)]
    pub notification: String,
}

fn default_access_level() -> AccessLevel {
    AccessLevel::Allow
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncStarted {
    pub run_id: Uuid,
    pub kind: SyncKind,
    #[serde(default)]
    pub trigger: SyncTrigger,
}

/// What one sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SyncCounts {
    /// Partnerships the sync looked at.
    #[serde(default)]
    pub devices: u64,
    #[serde(default)]
    pub decisions: u64,
    /// State-changing cmdlets issued (attempts, including failed ones).
    #[serde(default)]
    pub cmdlets: u64,
    /// Read cmdlets issued.
    #[serde(default)]
    pub reads: u64,
    #[serde(default)]
    pub cmdlets_failed: u64,
    #[serde(default)]
    pub notifications: u64,
    #[serde(default)]
    pub drift: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncCompleted {
    pub run_id: Uuid,
    pub kind: SyncKind,
    #[serde(default)]
    pub counts: SyncCounts,
    #[serde(default)]
    pub duration_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncFailed {
    pub run_id: Uuid,
    pub kind: SyncKind,
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub counts: SyncCounts,
    #[serde(default)]
    pub duration_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CasFailedOver {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserObserved {
    pub upn: String,
    #[serde(default)]
    pub smtp: String,
    #[serde(default)]
    pub licensed: bool,
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceDiscovered {
    /// The mailbox's primary SMTP address.
    pub mailbox: String,
    pub device_id: String,
    #[serde(default)]
    pub device_type: String,
    #[serde(default)]
    pub device_model: String,
    #[serde(default)]
    pub device_os: String,
    #[serde(default)]
    pub exchange_state: ExchangeState,
    #[serde(default)]
    pub exchange_reason: ExchangeReason,
    #[serde(default)]
    pub user_agent: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExchangeStateObserved {
    pub mailbox: String,
    pub device_id: String,
    #[serde(default)]
    pub exchange_state: ExchangeState,
    #[serde(default)]
    pub exchange_reason: ExchangeReason,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartnershipRemoved {
    pub mailbox: String,
    pub device_id: String,
}

/// The device registered with Entra ID (workplace join). `device_id` is the EAS DeviceId.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceRegistered {
    pub device_id: String,
    #[serde(default)]
    pub entra_device_id: String,
    #[serde(default)]
    pub trust_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceEnrolled {
    pub managed_device_id: String,
    #[serde(default)]
    pub upn: String,
    /// The EAS DeviceId the device reported, when known.
    #[serde(default)]
    pub device_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceUnenrolled {
    pub managed_device_id: String,
    #[serde(default)]
    pub upn: String,
    #[serde(default)]
    pub device_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceMapped {
    pub mailbox: String,
    pub device_id: String,
    pub managed_device_id: String,
}

/// "Activate email": the EAS DeviceId is registered on the managed-device record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EasIdRegistered {
    pub managed_device_id: String,
    pub device_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceObserved {
    pub managed_device_id: String,
    pub compliance: Compliance,
}

/// The inputs behind an access decision, recorded so that `audit` can say why.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DecisionInputs {
    #[serde(default)]
    pub targeted: bool,
    #[serde(default)]
    pub enrolled: bool,
    #[serde(default)]
    pub eas_id_linked: bool,
    #[serde(default)]
    pub compliance: Compliance,
    #[serde(default)]
    pub policy_revision: u64,
    /// An admin's own entry on the mailbox's lists, if any.
    #[serde(default)]
    pub admin_entry: crate::domain::vocabulary::ListEntry,
    /// What Exchange's own rules give the device with no list entry.
    #[serde(default)]
    pub exchange_rules_give: Option<AccessLevel>,
    #[serde(default)]
    pub managed_device_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessDecided {
    pub mailbox: String,
    pub device_id: String,
    pub access: Access,
    pub reason: Reason,
    #[serde(default)]
    pub inputs: DecisionInputs,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CmdletRequested {
    pub command_id: Uuid,
    pub cmdlet: String,
    #[serde(default)]
    pub parameters: Parameters,
    /// The partnerships this cmdlet acts for, so that `audit` finds it from a device.
    #[serde(default)]
    pub devices: Vec<DeviceRef>,
    #[serde(default)]
    pub attempt: u32,
}

/// A partnership: a device on a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeviceRef {
    pub mailbox: String,
    pub device_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CmdletSucceeded {
    pub command_id: Uuid,
    #[serde(default)]
    pub cmdlet: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CmdletFailed {
    pub command_id: Uuid,
    #[serde(default)]
    pub cmdlet: String,
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub retryable: bool,
    /// The cmdlet may have changed Exchange anyway (a timeout): to be reconciled by reading back.
    #[serde(default)]
    pub in_doubt: bool,
}

/// An intent without an outcome (after a crash) settled by reading Exchange back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CmdletReconciled {
    pub command_id: Uuid,
    #[serde(default)]
    pub cmdlet: String,
    /// Whether Exchange shows the cmdlet's effect.
    #[serde(default)]
    pub applied: bool,
    /// What was read back, in words.
    #[serde(default)]
    pub observed: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationRequested {
    pub notification_id: Uuid,
    pub mailbox: String,
    pub device_id: String,
    #[serde(default)]
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationSent {
    pub notification_id: Uuid,
    pub mailbox: String,
    pub device_id: String,
    #[serde(default)]
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationFailed {
    pub notification_id: Uuid,
    pub mailbox: String,
    pub device_id: String,
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub retryable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftDetected {
    pub mailbox: String,
    #[serde(default)]
    pub device_id: String,
    #[serde(default)]
    pub expected: String,
    #[serde(default)]
    pub actual: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WipeRequested {
    pub mailbox: String,
    pub device_id: String,
    #[serde(default)]
    pub requested_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WipeConfirmed {
    pub mailbox: String,
    pub device_id: String,
    #[serde(default)]
    pub requested_by: String,
}

/// A CAS mailbox's ActiveSync settings as Exchange reported them (recorded when they change).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MailboxObserved {
    /// Primary SMTP address.
    pub mailbox: String,
    /// Exchange's Identity of the mailbox (canonical name), the prefix of its devices' Identity.
    #[serde(default)]
    pub identity: String,
    #[serde(default = "default_true")]
    pub activesync_enabled: bool,
    #[serde(default)]
    pub allowed_device_ids: Vec<String>,
    #[serde(default)]
    pub blocked_device_ids: Vec<String>,
}

fn default_true() -> bool {
    true
}

/// An Exchange device access rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeviceAccessRule {
    pub query: String,
    pub characteristic: Characteristic,
    pub access: AccessLevel,
}

/// The organisation's ActiveSync settings and device access rules (recorded when they change).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationObserved {
    pub default_access: AccessLevel,
    #[serde(default)]
    pub rules: Vec<DeviceAccessRule>,
    /// Client Access Servers seen with Get-ExchangeServer.
    #[serde(default)]
    pub cas_servers: Vec<String>,
}

/// `deviceManagementExchangeConnectorStatus` of a connector changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorStatusChanged {
    pub connector_id: String,
    /// none | connectionPending | connected | disconnected (Graph's spelling).
    pub status: String,
    #[serde(default)]
    pub reason: String,
}

impl Event {
    /// The catalog name, as `easgate log` prints it in `type`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::ConnectorRegistered(_) => "ConnectorRegistered",
            Event::PolicyApplied(_) => "PolicyApplied",
            Event::SyncStarted(_) => "SyncStarted",
            Event::SyncCompleted(_) => "SyncCompleted",
            Event::SyncFailed(_) => "SyncFailed",
            Event::CasFailedOver(_) => "CasFailedOver",
            Event::UserObserved(_) => "UserObserved",
            Event::DeviceDiscovered(_) => "DeviceDiscovered",
            Event::ExchangeStateObserved(_) => "ExchangeStateObserved",
            Event::PartnershipRemoved(_) => "PartnershipRemoved",
            Event::DeviceRegistered(_) => "DeviceRegistered",
            Event::DeviceEnrolled(_) => "DeviceEnrolled",
            Event::DeviceUnenrolled(_) => "DeviceUnenrolled",
            Event::DeviceMapped(_) => "DeviceMapped",
            Event::EasIdRegistered(_) => "EasIdRegistered",
            Event::ComplianceObserved(_) => "ComplianceObserved",
            Event::AccessDecided(_) => "AccessDecided",
            Event::CmdletRequested(_) => "CmdletRequested",
            Event::CmdletSucceeded(_) => "CmdletSucceeded",
            Event::CmdletFailed(_) => "CmdletFailed",
            Event::CmdletReconciled(_) => "CmdletReconciled",
            Event::NotificationRequested(_) => "NotificationRequested",
            Event::NotificationSent(_) => "NotificationSent",
            Event::NotificationFailed(_) => "NotificationFailed",
            Event::DriftDetected(_) => "DriftDetected",
            Event::WipeRequested(_) => "WipeRequested",
            Event::WipeConfirmed(_) => "WipeConfirmed",
            Event::MailboxObserved(_) => "MailboxObserved",
            Event::OrganizationObserved(_) => "OrganizationObserved",
            Event::ConnectorStatusChanged(_) => "ConnectorStatusChanged",
        }
    }
}
