//! The tenant adapter boundary: users, managed devices, Entra registrations and the policy, as
//! the device-management service (Microsoft Graph, or the simulated tenant) reports them.
//!
//! A read is all or nothing: an adapter that cannot read everything it was asked for returns an
//! error, never a partial snapshot, because easgate must not decide from a partial view (a
//! failed read would otherwise look like everyone unenrolled).

pub mod error;

use async_trait::async_trait;

pub use error::TenantError;

use crate::domain::event::PolicyAccessRule;
use crate::domain::vocabulary::{AccessLevel, Compliance};

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

/// Reads the tenant.
#[async_trait]
pub trait Tenant: Send + Sync {
    /// A full read (`since = None`), or the changes since a cursor of an earlier read. An
    /// adapter without deltas returns a full read either way.
    async fn read(&self, since: Option<&str>) -> Result<TenantSnapshot, TenantError>;
}
