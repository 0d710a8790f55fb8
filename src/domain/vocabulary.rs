//! The closed vocabularies of the domain: access, reasons, compliance, Exchange's access levels and
//! states. JSON spellings are the snake_case words of DESIGN sections 2 and 6, and Exchange's own
//! spelling for Exchange's enums.

use serde::{Deserialize, Serialize};

/// What easgate wants for a device (DESIGN section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Allowed,
    Blocked,
    Quarantined,
    /// Not targeted by the policy: left to Exchange's own rules.
    Exempt,
}

/// Why a device has its access (DESIGN section 2). Never reorder: postcard encodes the position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    PolicyDisabled,
    UserUnlicensed,
    UserNotTargeted,
    UserExcluded,
    IndividualRule,
    NotEnrolled,
    ComplianceUnknown,
    NotCompliant,
    Compliant,
    InGracePeriod,
    DeviceRule,
    GlobalRule,
}

/// Compliance of a managed device as the tenant reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compliance {
    #[default]
    Unknown,
    Compliant,
    Noncompliant,
    InGracePeriod,
    Conflict,
    Error,
    /// No compliance policy is assigned to the device: treated like compliant (DESIGN section 2).
    NotAssigned,
}

/// Exchange's `DeviceAccessLevel`, used by the organisation default, device access rules and the
/// policy's `defaultAccessLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    Allow,
    Block,
    Quarantine,
}

/// How a policy access rule matches a device class: family = DeviceType, model = DeviceModel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleMatch {
    Family,
    Model,
}

/// Exchange's `DeviceAccessCharacteristic` for device access rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Characteristic {
    DeviceType,
    DeviceModel,
    #[serde(rename = "DeviceOS")]
    DeviceOs,
    UserAgent,
    #[serde(rename = "XMSWLHeader")]
    XmswlHeader,
}

/// Quick (delta) or full sync (DESIGN section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncKind {
    Quick,
    Full,
}

/// What started a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncTrigger {
    #[default]
    Schedule,
    Manual,
    Recovery,
}

/// `exchangeConnectorType` of the Graph connector resource, reduced to what easgate can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    #[default]
    OnPremises,
    Hosted,
}

/// An entry for a device on its mailbox's lists: an admin's own (one easgate did not add) in
/// decision inputs, or the one easgate wants in the planner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListEntry {
    #[default]
    None,
    Allow,
    Block,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Allowed => "allowed",
            Access::Blocked => "blocked",
            Access::Quarantined => "quarantined",
            Access::Exempt => "exempt",
        }
    }
    pub const ALL: [Access; 4] = [Access::Allowed, Access::Blocked, Access::Quarantined, Access::Exempt];
    pub fn parse(text: &str) -> Option<Access> {
        Access::ALL.into_iter().find(|access| access.as_str() == text)
    }
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::PolicyDisabled => "policy_disabled",
            Reason::UserUnlicensed => "user_unlicensed",
            Reason::UserNotTargeted => "user_not_targeted",
            Reason::UserExcluded => "user_excluded",
            Reason::IndividualRule => "individual_rule",
            Reason::NotEnrolled => "not_enrolled",
            Reason::ComplianceUnknown => "compliance_unknown",
            Reason::NotCompliant => "not_compliant",
            Reason::Compliant => "compliant",
            Reason::InGracePeriod => "in_grace_period",
            Reason::DeviceRule => "device_rule",
            Reason::GlobalRule => "global_rule",
        }
    }
    pub const ALL: [Reason; 12] = [
        Reason::PolicyDisabled,
        Reason::UserUnlicensed,
        Reason::UserNotTargeted,
        Reason::UserExcluded,
        Reason::IndividualRule,
        Reason::NotEnrolled,
        Reason::ComplianceUnknown,
        Reason::NotCompliant,
        Reason::Compliant,
        Reason::InGracePeriod,
        Reason::DeviceRule,
        Reason::GlobalRule,
    ];
    pub fn parse(text: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|reason| reason.as_str() == text)
    }
    /// The reasons for which a targeted user gets the notification mail (DESIGN section 2).
    pub fn is_denial(self) -> bool {
        matches!(self, Reason::NotEnrolled | Reason::ComplianceUnknown | Reason::NotCompliant)
    }
}

impl Compliance {
    pub fn as_str(self) -> &'static str {
        match self {
            Compliance::Unknown => "unknown",
            Compliance::Compliant => "compliant",
            Compliance::Noncompliant => "noncompliant",
            Compliance::InGracePeriod => "in_grace_period",
            Compliance::Conflict => "conflict",
            Compliance::Error => "error",
            Compliance::NotAssigned => "not_assigned",
        }
    }
    pub const ALL: [Compliance; 7] = [
        Compliance::Unknown,
        Compliance::Compliant,
        Compliance::Noncompliant,
        Compliance::InGracePeriod,
        Compliance::Conflict,
        Compliance::Error,
        Compliance::NotAssigned,
    ];
    pub fn parse(text: &str) -> Option<Compliance> {
        Compliance::ALL.into_iter().find(|compliance| compliance.as_str() == text)
    }
}

impl AccessLevel {
    /// Exchange's spelling, as cmdlets take and return it.
    pub fn exchange_name(self) -> &'static str {
        match self {
            AccessLevel::Allow => "Allow",
            AccessLevel::Block => "Block",
            AccessLevel::Quarantine => "Quarantine",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::Allow => "allow",
            AccessLevel::Block => "block",
            AccessLevel::Quarantine => "quarantine",
        }
    }
    /// Accepts both Exchange's and the policy's spelling, case-insensitively.
    pub fn parse(text: &str) -> Option<AccessLevel> {
        [AccessLevel::Allow, AccessLevel::Block, AccessLevel::Quarantine]
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(text))
    }
    /// The state Exchange puts a device in at this level.
    pub fn exchange_state(self) -> ExchangeState {
        match self {
            AccessLevel::Allow => ExchangeState::Allowed,
            AccessLevel::Block => ExchangeState::Blocked,
            AccessLevel::Quarantine => ExchangeState::Quarantined,
        }
    }
}

impl Characteristic {
    pub fn exchange_name(self) -> &'static str {
        match self {
            Characteristic::DeviceType => "DeviceType",
            Characteristic::DeviceModel => "DeviceModel",
            Characteristic::DeviceOs => "DeviceOS",
            Characteristic::UserAgent => "UserAgent",
            Characteristic::XmswlHeader => "XMSWLHeader",
        }
    }
    pub fn parse(text: &str) -> Option<Characteristic> {
        [
            Characteristic::DeviceType,
            Characteristic::DeviceModel,
            Characteristic::DeviceOs,
            Characteristic::UserAgent,
            Characteristic::XmswlHeader,
        ]
        .into_iter()
        .find(|characteristic| characteristic.exchange_name().eq_ignore_ascii_case(text))
    }
}

impl SyncKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncKind::Quick => "quick",
            SyncKind::Full => "full",
        }
    }
}

/// Exchange's `DeviceAccessState`. Values Exchange may add later are kept as text, not rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum ExchangeState {
    #[default]
    Unknown,
    Allowed,
    Blocked,
    Quarantined,
    DeviceDiscovery,
    Other(String),
}

/// Exchange's `DeviceAccessStateReason`. Values beyond the documented ones are kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum ExchangeReason {
    #[default]
    Unknown,
    Global,
    Individual,
    DeviceRule,
    Upgrade,
    Policy,
    UserAgentsChanges,
    RecentCommands,
    Watsons,
    OutOfBudgets,
    SyncCommands,
    EnableNotificationEmail,
    ExternallyManaged,
    Other(String),
}

const EXCHANGE_STATES: [(ExchangeState, &str); 5] = [
    (ExchangeState::Unknown, "Unknown"),
    (ExchangeState::Allowed, "Allowed"),
    (ExchangeState::Blocked, "Blocked"),
    (ExchangeState::Quarantined, "Quarantined"),
    (ExchangeState::DeviceDiscovery, "DeviceDiscovery"),
];

const EXCHANGE_REASONS: [(ExchangeReason, &str); 13] = [
    (ExchangeReason::Unknown, "Unknown"),
    (ExchangeReason::Global, "Global"),
    (ExchangeReason::Individual, "Individual"),
    (ExchangeReason::DeviceRule, "DeviceRule"),
    (ExchangeReason::Upgrade, "Upgrade"),
    (ExchangeReason::Policy, "Policy"),
    (ExchangeReason::UserAgentsChanges, "UserAgentsChanges"),
    (ExchangeReason::RecentCommands, "RecentCommands"),
    (ExchangeReason::Watsons, "Watsons"),
    (ExchangeReason::OutOfBudgets, "OutOfBudgets"),
    (ExchangeReason::SyncCommands, "SyncCommands"),
    (ExchangeReason::EnableNotificationEmail, "EnableNotificationEmail"),
    (ExchangeReason::ExternallyManaged, "ExternallyManaged"),
];

impl ExchangeState {
    pub fn as_str(&self) -> &str {
        match self {
            ExchangeState::Other(text) => text,
            known => {
                EXCHANGE_STATES.iter().find(|(state, _)| state == known).map(|(_, name)| *name).unwrap_or("Unknown")
            }
        }
    }
    /// Parses Exchange's spelling case-insensitively; anything else is kept as `Other`.
    pub fn parse(text: &str) -> ExchangeState {
        EXCHANGE_STATES
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text))
            .map(|(state, _)| state.clone())
            .unwrap_or_else(|| ExchangeState::Other(text.to_string()))
    }
}

impl ExchangeReason {
    pub fn as_str(&self) -> &str {
        match self {
            ExchangeReason::Other(text) => text,
            known => {
                EXCHANGE_REASONS.iter().find(|(reason, _)| reason == known).map(|(_, name)| *name).unwrap_or("Unknown")
            }
        }
    }
    pub fn parse(text: &str) -> ExchangeReason {
        EXCHANGE_REASONS
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text))
            .map(|(reason, _)| reason.clone())
            .unwrap_or_else(|| ExchangeReason::Other(text.to_string()))
    }
}

// Exchange's enums travel as their text in both postcard and JSON, so a value Exchange adds later
// round-trips unchanged.
macro_rules! serde_as_exchange_text {
    ($name:ident) => {
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                // Parsed from the text where it lies: no copy for the values Exchange documents
                // (most decoded events carry two of them).
                struct Text;
                impl serde::de::Visitor<'_> for Text {
                    type Value = $name;
                    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        formatter.write_str(concat!("the text of an ", stringify!($name)))
                    }
                    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<$name, E> {
                        Ok($name::parse(text))
                    }
                }
                deserializer.deserialize_str(Text)
            }
        }
    };
}
serde_as_exchange_text!(ExchangeState);
serde_as_exchange_text!(ExchangeReason);
