//! The tenant adapter boundary: users, managed devices, Entra registrations and the policy, as
//! the device-management service (Microsoft Graph, or the simulated tenant) reports them.
//!
//! A read is all or nothing: an adapter that cannot read everything it was asked for returns an
//! error, never a partial snapshot, because easgate must not decide from a partial view (a
//! failed read would otherwise look like everyone unenrolled).

pub mod error;

use async_trait::async_trait;

pub use error::TenantError;

pub use crate::domain::observation::{EntraRegistration, ManagedDevice, TenantPolicy, TenantSnapshot, TenantUser};

/// Reads the tenant.
#[async_trait]
pub trait Tenant: Send + Sync {
    /// A full read (`since = None`), or the changes since a cursor of an earlier read. An
    /// adapter without deltas returns a full read either way.
    async fn read(&self, since: Option<&str>) -> Result<TenantSnapshot, TenantError>;
}
