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
///
/// `S` is the type of the text in the payloads that have text of their own type (the hot ones
/// of a replay): `String` as events are made and decoded; `&str` for the view the projection
/// folds (`to_view`, `into_view`, `StoredRecord::decode_view`, which borrows the text from the
/// record's bytes). Both encode and decode from the same bytes: the payload structs are one
/// declaration.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<S = String> {
    ConnectorRegistered(ConnectorRegistered),
    PolicyApplied(PolicyApplied),
    SyncStarted(SyncStarted),
    SyncCompleted(SyncCompleted),
    SyncFailed(SyncFailed),
    CasFailedOver(CasFailedOver),
    UserObserved(UserObserved<S>),
    DeviceDiscovered(DeviceDiscovered<S>),
    ExchangeStateObserved(ExchangeStateObserved<S>),
    PartnershipRemoved(PartnershipRemoved<S>),
    DeviceRegistered(DeviceRegistered<S>),
    DeviceEnrolled(DeviceEnrolled<S>),
    DeviceUnenrolled(DeviceUnenrolled<S>),
    DeviceMapped(DeviceMapped<S>),
    EasIdRegistered(EasIdRegistered<S>),
    ComplianceObserved(ComplianceObserved<S>),
    AccessDecided(AccessDecided<S>),
    CmdletRequested(CmdletRequested<S>),
    CmdletSucceeded(CmdletSucceeded<S>),
    CmdletFailed(CmdletFailed<S>),
    CmdletReconciled(CmdletReconciled),
    NotificationRequested(NotificationRequested<S>),
    NotificationSent(NotificationSent<S>),
    NotificationFailed(NotificationFailed<S>),
    DriftDetected(DriftDetected),
    WipeRequested(WipeRequested),
    WipeConfirmed(WipeConfirmed),
    MailboxObserved(MailboxObserved<S>),
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
pub struct UserObserved<S = String> {
    pub upn: S,
    #[serde(default)]
    pub smtp: S,
    #[serde(default)]
    pub licensed: bool,
    #[serde(default = "Vec::new")]
    pub groups: Vec<S>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceDiscovered<S = String> {
    /// The mailbox's primary SMTP address.
    pub mailbox: S,
    pub device_id: S,
    #[serde(default)]
    pub device_type: S,
    #[serde(default)]
    pub device_model: S,
    #[serde(default)]
    pub device_os: S,
    #[serde(default)]
    pub exchange_state: ExchangeState,
    #[serde(default)]
    pub exchange_reason: ExchangeReason,
    #[serde(default)]
    pub user_agent: S,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExchangeStateObserved<S = String> {
    pub mailbox: S,
    pub device_id: S,
    #[serde(default)]
    pub exchange_state: ExchangeState,
    #[serde(default)]
    pub exchange_reason: ExchangeReason,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartnershipRemoved<S = String> {
    pub mailbox: S,
    pub device_id: S,
}

/// The device registered with Entra ID (workplace join). `device_id` is the EAS DeviceId.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceRegistered<S = String> {
    pub device_id: S,
    #[serde(default)]
    pub entra_device_id: S,
    #[serde(default)]
    pub trust_type: S,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceEnrolled<S = String> {
    pub managed_device_id: S,
    #[serde(default)]
    pub upn: S,
    /// The EAS DeviceId the device reported, when known.
    #[serde(default)]
    pub device_id: Option<S>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceUnenrolled<S = String> {
    pub managed_device_id: S,
    #[serde(default)]
    pub upn: S,
    #[serde(default)]
    pub device_id: Option<S>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceMapped<S = String> {
    pub mailbox: S,
    pub device_id: S,
    pub managed_device_id: S,
}

/// "Activate email": the EAS DeviceId is registered on the managed-device record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EasIdRegistered<S = String> {
    pub managed_device_id: S,
    pub device_id: S,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceObserved<S = String> {
    pub managed_device_id: S,
    pub compliance: Compliance,
}

/// The inputs behind an access decision, recorded so that `audit` can say why.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DecisionInputs<S = String> {
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
    pub managed_device_id: Option<S>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessDecided<S = String> {
    pub mailbox: S,
    pub device_id: S,
    pub access: Access,
    pub reason: Reason,
    #[serde(default)]
    pub inputs: DecisionInputs<S>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CmdletRequested<S = String> {
    pub command_id: Uuid,
    pub cmdlet: S,
    #[serde(default)]
    pub parameters: Parameters<S>,
    /// The partnerships this cmdlet acts for, so that `audit` finds it from a device.
    #[serde(default = "Vec::new")]
    pub devices: Vec<DeviceRef<S>>,
    #[serde(default)]
    pub attempt: u32,
}

/// A partnership: a device on a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeviceRef<S = String> {
    pub mailbox: S,
    pub device_id: S,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CmdletSucceeded<S = String> {
    pub command_id: Uuid,
    #[serde(default)]
    pub cmdlet: S,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CmdletFailed<S = String> {
    pub command_id: Uuid,
    #[serde(default)]
    pub cmdlet: S,
    #[serde(default)]
    pub error: S,
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
pub struct NotificationRequested<S = String> {
    pub notification_id: Uuid,
    pub mailbox: S,
    pub device_id: S,
    #[serde(default)]
    pub to: S,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationSent<S = String> {
    pub notification_id: Uuid,
    pub mailbox: S,
    pub device_id: S,
    #[serde(default)]
    pub to: S,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationFailed<S = String> {
    pub notification_id: Uuid,
    pub mailbox: S,
    pub device_id: S,
    #[serde(default)]
    pub error: S,
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
pub struct MailboxObserved<S = String> {
    /// Primary SMTP address.
    pub mailbox: S,
    /// Exchange's Identity of the mailbox (canonical name), the prefix of its devices' Identity.
    #[serde(default)]
    pub identity: S,
    #[serde(default = "default_true")]
    pub activesync_enabled: bool,
    #[serde(default = "Vec::new")]
    pub allowed_device_ids: Vec<S>,
    #[serde(default = "Vec::new")]
    pub blocked_device_ids: Vec<S>,
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

impl<S> Event<S> {
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

/// One payload field in its borrowed form (`view`).
macro_rules! field_view {
    (text, $value:expr) => {
        $value.as_ref()
    };
    (optional, $value:expr) => {
        $value.as_ref().map(AsRef::as_ref)
    };
    (copy, $value:expr) => {
        $value.clone()
    };
    (view, $value:expr) => {
        $value.view()
    };
    (views, $value:expr) => {
        $value.iter().map(|item| item.view()).collect()
    };
    (list, $value:expr) => {
        $value.iter().map(AsRef::as_ref).collect()
    };
}

/// One payload field with its text mapped by `$map` (`map_text`).
macro_rules! field_map {
    (text, $value:expr, $map:ident) => {
        $map($value)
    };
    (optional, $value:expr, $map:ident) => {
        $value.map(&mut $map)
    };
    (copy, $value:expr, $map:ident) => {
        $value
    };
    (view, $value:expr, $map:ident) => {
        $value.map_text(&mut $map)
    };
    (views, $value:expr, $map:ident) => {
        $value.into_iter().map(|item| item.map_text(&mut $map)).collect()
    };
    (list, $value:expr, $map:ident) => {
        $value.into_iter().map(&mut $map).collect()
    };
}

/// `view` and `map_text` for the payloads with text of their own type.
macro_rules! payload_views {
    ($($payload:ident { $($field:ident: $how:ident),* $(,)? })*) => {
        $(impl<S: AsRef<str>> $payload<S> {
            /// This payload with its text borrowed: the form the projection folds.
            pub fn view(&self) -> $payload<&str> {
                $payload { $($field: field_view!($how, self.$field)),* }
            }
        }

        impl<S> $payload<S> {
            /// This payload with every text field turned into another text type.
            pub fn map_text<T>(self, mut map: impl FnMut(S) -> T) -> $payload<T> {
                $payload { $($field: field_map!($how, self.$field, map)),* }
            }
        })*
    };
}

payload_views! {
    DeviceDiscovered {
        mailbox: text, device_id: text, device_type: text, device_model: text, device_os: text,
        exchange_state: copy, exchange_reason: copy, user_agent: text,
    }
    ExchangeStateObserved { mailbox: text, device_id: text, exchange_state: copy, exchange_reason: copy }
    PartnershipRemoved { mailbox: text, device_id: text }
    DeviceRegistered { device_id: text, entra_device_id: text, trust_type: text }
    DeviceEnrolled { managed_device_id: text, upn: text, device_id: optional }
    DeviceUnenrolled { managed_device_id: text, upn: text, device_id: optional }
    DeviceMapped { mailbox: text, device_id: text, managed_device_id: text }
    EasIdRegistered { managed_device_id: text, device_id: text }
    ComplianceObserved { managed_device_id: text, compliance: copy }
    DecisionInputs {
        targeted: copy, enrolled: copy, eas_id_linked: copy, compliance: copy, policy_revision: copy,
        admin_entry: copy, exchange_rules_give: copy, managed_device_id: optional,
    }
    AccessDecided { mailbox: text, device_id: text, access: copy, reason: copy, inputs: view }
    DeviceRef { mailbox: text, device_id: text }
    UserObserved { upn: text, smtp: text, licensed: copy, groups: list }
    MailboxObserved {
        mailbox: text, identity: text, activesync_enabled: copy, allowed_device_ids: list,
        blocked_device_ids: list,
    }
    CmdletRequested { command_id: copy, cmdlet: text, parameters: view, devices: views, attempt: copy }
    CmdletSucceeded { command_id: copy, cmdlet: text }
    CmdletFailed { command_id: copy, cmdlet: text, error: text, retryable: copy, in_doubt: copy }
    NotificationRequested { notification_id: copy, mailbox: text, device_id: text, to: text }
    NotificationSent { notification_id: copy, mailbox: text, device_id: text, to: text }
    NotificationFailed { notification_id: copy, mailbox: text, device_id: text, error: text, retryable: copy }
}

/// `to_view`, `into_view` and `map_text` over every variant: `text` payloads are viewed or
/// mapped, `whole` ones (no text type of their own) are cloned or moved.
macro_rules! event_views {
    (text: [$($text:ident),* $(,)?] whole: [$($whole:ident),* $(,)?]) => {
        impl<S: AsRef<str>> Event<S> {
            /// The event as the projection folds it: text borrowed, other payloads cloned.
            pub fn to_view(&self) -> Event<&str> {
                match self {
                    $(Event::$text(payload) => Event::$text(payload.view()),)*
                    $(Event::$whole(payload) => Event::$whole(payload.clone()),)*
                }
            }

            /// Hands `fold` the event's view, moving (not cloning) the payloads without text of
            /// their own type.
            pub fn into_view<R>(self, fold: impl FnOnce(Event<&str>) -> R) -> R {
                match self {
                    $(Event::$text(payload) => fold(Event::$text(payload.view())),)*
                    $(Event::$whole(payload) => fold(Event::$whole(payload)),)*
                }
            }
        }

        impl<S> Event<S> {
            /// The event with its text turned into another text type.
            pub fn map_text<T>(self, map: impl FnMut(S) -> T) -> Event<T> {
                match self {
                    $(Event::$text(payload) => Event::$text(payload.map_text(map)),)*
                    $(Event::$whole(payload) => Event::$whole(payload),)*
                }
            }
        }
    };
}

event_views! {
    text: [
        DeviceDiscovered, ExchangeStateObserved, PartnershipRemoved, DeviceRegistered, DeviceEnrolled,
        DeviceUnenrolled, DeviceMapped, EasIdRegistered, ComplianceObserved, AccessDecided,
        UserObserved, MailboxObserved, CmdletRequested, CmdletSucceeded, CmdletFailed, NotificationRequested,
        NotificationSent, NotificationFailed,
    ]
    whole: [
        ConnectorRegistered, PolicyApplied, SyncStarted, SyncCompleted, SyncFailed, CasFailedOver,
        CmdletReconciled, DriftDetected, WipeRequested, WipeConfirmed,
        OrganizationObserved, ConnectorStatusChanged,
    ]
}

impl<S: AsRef<str>> DecisionInputs<S> {
    /// The inputs as the projection keeps them: the managed device's id is the device's own
    /// field there, so the copy in the inputs is left out.
    pub fn without_managed_device_id(&self) -> DecisionInputs {
        DecisionInputs {
            targeted: self.targeted,
            enrolled: self.enrolled,
            eas_id_linked: self.eas_id_linked,
            compliance: self.compliance,
            policy_revision: self.policy_revision,
            admin_entry: self.admin_entry,
            exchange_rules_give: self.exchange_rules_give,
            managed_device_id: None,
        }
    }
}
