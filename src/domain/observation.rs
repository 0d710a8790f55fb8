//! Observations: what the adapters report, as plain data the domain turns into events. Tenant
//! observations come from `crate::tenant`, Exchange observations from the cmdlets' results.

use crate::domain::event::{DeviceAccessRule, PolicyAccessRule};
use crate::domain::vocabulary::{AccessLevel, Compliance, ExchangeReason, ExchangeState};

/// A user as the tenant sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantUser {
    pub id: String,
    pub upn: String,
    /// The primary SMTP address (`mail`); empty when the tenant has none.
    pub mail: String,
    /// Has an enabled Intune plan (service plan `SCO`).
    pub licensed: bool,
    /// The included and excluded groups of the policy this user is a (transitive) member of.
    pub groups: Vec<String>,
}

/// A device-management record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedDevice {
    pub id: String,
    pub upn: String,
    /// The EAS DeviceId the device reported (`easDeviceId`), when known.
    pub eas_device_id: Option<String>,
    /// "Activate email" done (`easActivated`).
    pub eas_activated: bool,
    pub compliance: Compliance,
    /// Entra registration of the device, when registered.
    pub entra_device_id: Option<String>,
}

/// An Entra ID registration of a device (workplace join) that may not be enrolled yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraRegistration {
    /// The EAS DeviceId of the registered device.
    pub eas_device_id: String,
    pub entra_device_id: String,
    /// `Workplace`, `AzureAd`, `ServerAd`.
    pub trust_type: String,
}

/// The conditional-access policy (Graph `exchangeOnPremisesPolicy` + `conditionalAccessSettings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantPolicy {
    pub enabled: bool,
    pub included_groups: Vec<String>,
    pub excluded_groups: Vec<String>,
    pub default_access: AccessLevel,
    pub override_default_rule: bool,
    pub access_rules: Vec<PolicyAccessRule>,
    /// HTML of the notification mail; empty for easgate's template.
    pub notification: String,
}

/// What one read returned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TenantSnapshot {
    pub users: Vec<TenantUser>,
    pub managed_devices: Vec<ManagedDevice>,
    pub registrations: Vec<EntraRegistration>,
    /// `None` when the policy comes from elsewhere (the configuration file).
    pub policy: Option<TenantPolicy>,
    /// `false` for a delta: records missing from it did not change (see `removed_*`). `true`
    /// for a full read: records missing from it are gone.
    pub complete: bool,
    /// For a delta: managed devices deleted since the cursor.
    pub removed_managed_devices: Vec<String>,
    /// Opaque position to pass to the next delta read.
    pub cursor: Option<String>,
}

/// A partnership as Get-ActiveSyncDevice reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedDevice {
    /// Primary SMTP address of the owning mailbox.
    pub mailbox: String,
    pub device_id: String,
    pub device_type: String,
    pub device_model: String,
    pub device_os: String,
    pub user_agent: String,
    pub exchange_state: ExchangeState,
    pub exchange_reason: ExchangeReason,
}

/// A CAS mailbox as Get-CASMailbox reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedMailbox {
    pub smtp: String,
    /// Exchange's Identity (canonical name): the prefix of its partnerships' Identity.
    pub identity: String,
    pub activesync_enabled: bool,
    pub allowed_device_ids: Vec<String>,
    pub blocked_device_ids: Vec<String>,
}

/// Organisation settings, device access rules and Client Access Servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedOrganization {
    pub default_access: AccessLevel,
    pub rules: Vec<DeviceAccessRule>,
    pub cas_servers: Vec<String>,
}
