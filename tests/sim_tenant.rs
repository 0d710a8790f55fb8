//! The simulated tenant: full reads, deltas since a cursor (only what changed, removed devices
//! listed), the scenario steps keyed by the EAS DeviceId, faults, and population loading.

mod sim_support;

use easgate::domain::vocabulary::{AccessLevel, Compliance, ExchangeState};
use easgate::sim::population::{PopulationSpec, load_population};
use easgate::sim::{FaultKind, SimTenant};
use easgate::tenant::{Tenant, TenantError, TenantPolicy};
use sim_support::organization;

fn tenant_with_alice() -> SimTenant {
    let tenant = SimTenant::new();
    tenant.upsert_user("alice@contoso.com", "alice@contoso.com", true, &["EAS users".to_string()]);
    tenant
}

#[tokio::test]
async fn a_full_read_returns_everything_and_a_cursor() {
    let tenant = tenant_with_alice();
    tenant.workplace_join("ApplA1");
    tenant.enroll("ApplA1", "alice@contoso.com", Some(Compliance::Compliant)).expect("enrols");
    let snapshot = tenant.read(None).await.expect("reads");
    assert!(snapshot.complete);
    assert_eq!(snapshot.users.len(), 1);
    assert_eq!(snapshot.registrations.len(), 1);
    let device = &snapshot.managed_devices[0];
    assert_eq!(device.eas_device_id.as_deref(), Some("ApplA1"));
    assert!(!device.eas_activated, "activate email is a later step");
    assert_eq!(device.compliance, Compliance::Compliant);
    assert_eq!(device.entra_device_id.as_deref(), Some(snapshot.registrations[0].entra_device_id.as_str()));
    assert!(snapshot.cursor.is_some());
}

#[tokio::test]
async fn given_a_cursor_when_records_change_then_a_delta_holds_only_those_and_the_removed_devices() {
    let tenant = tenant_with_alice();
    tenant.upsert_user("bob@contoso.com", "bob@contoso.com", true, &[]);
    tenant.enroll("ApplA1", "alice@contoso.com", None).expect("enrols");
    tenant.enroll("androidB1", "bob@contoso.com", None).expect("enrols");
    let cursor = tenant.read(None).await.expect("reads").cursor;

    tenant.activate_email("ApplA1").expect("activates");
    tenant.unenroll("androidB1").expect("unenrols");
    let removed_id = tenant.read(None).await.expect("reads");
    assert_eq!(removed_id.managed_devices.len(), 1);
    let delta = tenant.read(cursor.as_deref()).await.expect("reads");

    assert!(!delta.complete);
    assert!(delta.users.is_empty(), "no user changed");
    assert_eq!(delta.managed_devices.len(), 1);
    assert!(delta.managed_devices[0].eas_activated);
    assert_eq!(delta.removed_managed_devices.len(), 1);
    let empty = tenant.read(delta.cursor.as_deref()).await.expect("reads");
    assert!(empty.managed_devices.is_empty() && empty.removed_managed_devices.is_empty() && empty.users.is_empty());
}

#[tokio::test]
async fn compliance_changes_user_changes_and_the_policy_travel_in_deltas() {
    let tenant = tenant_with_alice();
    tenant.enroll("ApplA1", "alice@contoso.com", None).expect("enrols");
    let policy = TenantPolicy {
        enabled: true,
        included_groups: vec!["EAS users".into()],
        excluded_groups: vec![],
        default_access: AccessLevel::Quarantine,
        override_default_rule: false,
        access_rules: vec![],
        notification: String::new(),
    };
    tenant.set_policy(Some(policy.clone()));
    let cursor = tenant.read(None).await.expect("reads").cursor;

    tenant.set_compliance("appla1", Compliance::Noncompliant).expect("a known device, any case");
    tenant.upsert_user("alice@contoso.com", "alice@contoso.com", false, &[]);
    let delta = tenant.read(cursor.as_deref()).await.expect("reads");

    assert_eq!(delta.managed_devices[0].compliance, Compliance::Noncompliant);
    assert!(!delta.users[0].licensed);
    assert_eq!(delta.policy, Some(policy));
    let id_before = tenant.read(None).await.expect("reads").users[0].id.clone();
    tenant.upsert_user("alice@contoso.com", "alice@contoso.com", true, &[]);
    assert_eq!(tenant.user("alice@contoso.com").map(|u| u.id), Some(id_before), "a user keeps its id");
}

#[tokio::test]
async fn a_foreign_cursor_gets_a_full_read() {
    let tenant = tenant_with_alice();
    let snapshot = tenant.read(Some("someone-else's-token")).await.expect("reads");
    assert!(snapshot.complete);
    assert_eq!(snapshot.users.len(), 1);
    let future = tenant.read(Some("sim-delta:999")).await.expect("reads");
    assert!(future.complete);
}

#[tokio::test]
async fn steps_on_unknown_devices_and_users_are_scenario_errors() {
    let tenant = tenant_with_alice();
    assert!(tenant.activate_email("nope").is_err());
    assert!(tenant.enroll("ApplA1", "nobody@contoso.com", None).is_err());
    tenant.enroll("ApplA1", "alice@contoso.com", None).expect("enrols");
    assert!(tenant.enroll("ApplA1", "alice@contoso.com", None).is_err(), "already enrolled");
    tenant.wipe("ApplA1").expect("wipes");
    assert!(tenant.managed_device("ApplA1").is_none());
    assert_eq!(tenant.wiped_devices(), ["ApplA1"]);
    tenant.enroll("ApplA1", "alice@contoso.com", None).expect("re-enrols after a wipe");
}

#[tokio::test]
async fn given_read_faults_then_the_next_reads_fail_with_retryable_errors() {
    let tenant = tenant_with_alice();
    tenant.inject_fault(FaultKind::Throttle, 1).expect("injects");
    tenant.inject_fault(FaultKind::Timeout, 1).expect("injects");
    tenant.inject_fault(FaultKind::Error, 1).expect("injects");
    let throttled = tenant.read(None).await;
    assert!(matches!(throttled, Err(TenantError::Throttled { retry_after_ms: Some(_), .. })), "{throttled:?}");
    assert!(matches!(tenant.read(None).await, Err(TenantError::Timeout { .. })));
    let unavailable = tenant.read(None).await.expect_err("fails");
    assert!(matches!(unavailable, TenantError::Unavailable { .. }) && unavailable.is_retryable());
    assert!(tenant.read(None).await.is_ok());
}

#[tokio::test]
async fn a_population_loads_both_twins_consistently_and_deterministically() {
    let given = organization(AccessLevel::Quarantine);
    let tenant = SimTenant::new();
    let spec = PopulationSpec {
        users: 200,
        devices_per_user: 2,
        enrolled: 0.5,
        compliant: 0.8,
        groups: vec!["EAS users".into()],
        seed: 42,
        domain: "contoso.com".into(),
    };
    let summary = load_population(&spec, &given.exchange, &tenant).expect("loads");

    assert_eq!((summary.users, summary.devices), (200, 400));
    assert!((150..250).contains(&summary.enrolled), "about half: {}", summary.enrolled);
    let snapshot = tenant.read(None).await.expect("reads");
    assert_eq!(snapshot.users.len(), 200);
    assert_eq!(snapshot.managed_devices.len(), summary.enrolled);
    assert_eq!(snapshot.registrations.len(), summary.enrolled);
    let compliant = snapshot.managed_devices.iter().filter(|d| d.compliance == Compliance::Compliant).count();
    assert_eq!(compliant, summary.compliant);
    let device = &snapshot.managed_devices[0];
    let eas_id = device.eas_device_id.as_deref().expect("known at enrolment");
    let partnership = given.exchange.device(eas_id).expect("the same device partnered with Exchange");
    assert_eq!(partnership.mailbox_upn, device.upn);
    assert_eq!(partnership.state, ExchangeState::Quarantined);
    assert_eq!(given.exchange.organization().partnerships, 400);

    let again = organization(AccessLevel::Quarantine);
    let same = load_population(&spec, &again.exchange, &SimTenant::new()).expect("loads");
    assert_eq!(same, summary);
    assert!(again.exchange.device(eas_id).is_some(), "same seed, same device ids");
}
