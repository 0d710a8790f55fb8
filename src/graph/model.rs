//! Graph's JSON shapes for what easgate reads, and how each maps to the tenant boundary's types
//! (reference/intune.md sections 1.4-1.6). Unknown fields are ignored; any field may be null.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::domain::event::PolicyAccessRule;
use crate::domain::vocabulary::{AccessLevel, Compliance, RuleMatch};
use crate::tenant::{EntraRegistration, ManagedDevice, TenantError, TenantPolicy};

/// `$select` of the managed-device read (DESIGN section 8).
pub const MANAGED_DEVICE_SELECT: &str = "id,userPrincipalName,easDeviceId,easActivated,complianceState,managementState,\
azureADDeviceId,azureADRegistered,deviceName,operatingSystem,model,enrolledDateTime,lastSyncDateTime";

/// The nil GUID Intune reports for a device without an Entra registration.
const NIL_GUID: &str = "00000000-0000-0000-0000-000000000000";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphManagedDevice {
    pub id: String,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub eas_device_id: Option<String>,
    #[serde(default)]
    pub eas_activated: Option<bool>,
    #[serde(default)]
    pub compliance_state: Option<String>,
    #[serde(default)]
    pub management_state: Option<String>,
    #[serde(default, rename = "azureADDeviceId")]
    pub azure_ad_device_id: Option<String>,
    #[serde(default, rename = "azureADRegistered")]
    pub azure_ad_registered: Option<bool>,
}

/// Graph's `complianceState` as easgate's `Compliance`. `configManager` (Configuration Manager
/// decides) and values Graph may add later are `Unknown`: easgate does not guess compliance.
pub fn compliance_from_graph(state: Option<&str>) -> Compliance {
    match state.unwrap_or("unknown") {
        "compliant" => Compliance::Compliant,
        "noncompliant" => Compliance::Noncompliant,
        "conflict" => Compliance::Conflict,
        "error" => Compliance::Error,
        "inGracePeriod" => Compliance::InGracePeriod,
        _ => Compliance::Unknown,
    }
}

/// Whether the record still stands for an enrolled device. Retire/wipe/delete in progress or
/// done, and `discovered` (not fully enrolled), do not; a missing state (v1.0 may not return
/// it) and the failed/cancelled/unhealthy states do.
pub fn is_enrolled_management_state(state: Option<&str>) -> bool {
    !matches!(
        state,
        Some("retirePending" | "retireIssued" | "wipePending" | "wipeIssued" | "deletePending" | "discovered")
    )
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|text| text.trim().to_string()).filter(|text| !text.is_empty())
}

impl GraphManagedDevice {
    /// The record as a `ManagedDevice`, or `None` when it no longer stands for an enrolled device.
    pub fn into_managed_device(self) -> Option<(ManagedDevice, Option<EntraRegistration>)> {
        if !is_enrolled_management_state(self.management_state.as_deref()) {
            return None;
        }
        let eas_device_id = non_empty(self.eas_device_id);
        let entra_device_id =
            non_empty(self.azure_ad_device_id).filter(|id| id != NIL_GUID && self.azure_ad_registered == Some(true));
        let registration = match (&eas_device_id, &entra_device_id) {
            (Some(eas), Some(entra)) => Some(EntraRegistration {
                eas_device_id: eas.clone(),
                entra_device_id: entra.clone(),
                // managedDevice does not say how the device joined; an EAS phone registers by
                // workplace join (DESIGN step 4).
                trust_type: "Workplace".to_string(),
            }),
            _ => None,
        };
        let device = ManagedDevice {
            id: self.id,
            upn: self.user_principal_name.unwrap_or_default(),
            eas_device_id,
            eas_activated: self.eas_activated.unwrap_or(false),
            compliance: compliance_from_graph(self.compliance_state.as_deref()),
            entra_device_id,
        };
        Some((device, registration))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphUser {
    pub id: String,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub assigned_plans: Vec<AssignedPlan>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedPlan {
    #[serde(default)]
    pub capability_status: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
}

impl GraphUser {
    /// Licensed for Intune: an enabled plan of the service `SCO`.
    pub fn has_intune_plan(&self) -> bool {
        self.assigned_plans
            .iter()
            .any(|plan| plan.service.as_deref() == Some("SCO") && plan.capability_status.as_deref() == Some("Enabled"))
    }
}

/// A transitive member (cast to `microsoft.graph.user`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphMember {
    pub id: String,
    #[serde(default, rename = "@odata.type")]
    pub odata_type: Option<String>,
}

/// `deviceManagementExchangeOnPremisesPolicy` (beta).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GraphExchangePolicy {
    #[serde(default)]
    pub notification_content: Option<String>,
    #[serde(default)]
    pub default_access_level: Option<String>,
    #[serde(default)]
    pub access_rules: Vec<GraphAccessRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphAccessRule {
    pub device_class: GraphDeviceClass,
    #[serde(default)]
    pub access_level: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GraphDeviceClass {
    pub name: String,
    #[serde(rename = "type")]
    pub class_type: String,
}

/// `onPremisesConditionalAccessSettings`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GraphConditionalAccessSettings {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub included_groups: Vec<String>,
    #[serde(default)]
    pub excluded_groups: Vec<String>,
    #[serde(default)]
    pub override_default_rule: bool,
}

/// Some Graph samples wrap a singleton in `{"value": {...}}`; both forms are accepted.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum MaybeWrapped<T> {
    Wrapped { value: T },
    Plain(T),
}

impl<T> MaybeWrapped<T> {
    pub fn into_inner(self) -> T {
        match self {
            MaybeWrapped::Wrapped { value } | MaybeWrapped::Plain(value) => value,
        }
    }
}

fn malformed(detail: String) -> TenantError {
    TenantError::Malformed { detail }
}

/// `deviceManagementExchangeAccessLevel`: `none` means no level set, which is Exchange's own
/// default, Allow.
fn access_level_from_graph(text: Option<&str>) -> Result<Option<AccessLevel>, TenantError> {
    match text.unwrap_or("none") {
        "none" => Ok(None),
        other => AccessLevel::parse(other)
            .map(Some)
            .ok_or_else(|| malformed(format!("exchangeOnPremisesPolicy: unknown access level {other:?}"))),
    }
}

/// The two policy objects as one `TenantPolicy`.
pub fn policy_from_graph(
    policy: GraphExchangePolicy,
    settings: GraphConditionalAccessSettings,
) -> Result<TenantPolicy, TenantError> {
    let default_access = access_level_from_graph(policy.default_access_level.as_deref())?.unwrap_or(AccessLevel::Allow);
    let mut access_rules = Vec::new();
    for rule in policy.access_rules {
        let rule_match = match rule.device_class.class_type.as_str() {
            "family" => RuleMatch::Family,
            "model" => RuleMatch::Model,
            other => return Err(malformed(format!("exchangeOnPremisesPolicy: unknown device class type {other:?}"))),
        };
        // A rule whose level is `none` says nothing: it is not a rule.
        if let Some(access) = access_level_from_graph(rule.access_level.as_deref())? {
            access_rules.push(PolicyAccessRule { device_class: rule.device_class.name, rule_match, access });
        }
    }
    let notification = match policy.notification_content.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        None => String::new(),
        Some(encoded) => {
            let bytes = STANDARD.decode(encoded).map_err(|error| {
                malformed(format!("exchangeOnPremisesPolicy: notificationContent is not base64: {error}"))
            })?;
            String::from_utf8(bytes)
                .map_err(|_| malformed("exchangeOnPremisesPolicy: notificationContent is not UTF-8".to_string()))?
        }
    };
    Ok(TenantPolicy {
        enabled: settings.enabled,
        included_groups: settings.included_groups,
        excluded_groups: settings.excluded_groups,
        default_access,
        override_default_rule: settings.override_default_rule,
        access_rules,
        notification,
    })
}
