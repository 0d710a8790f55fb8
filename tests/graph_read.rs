//! The Graph tenant adapter end to end against the fake Graph: what a read returns from the
//! recorded contoso tenant, paging, the local policy, and the certificate credential.

mod graph_common;

use easgate::config::SecretSource;
use easgate::config::model::GraphCredential;
use easgate::domain::vocabulary::{AccessLevel, Compliance, RuleMatch};
use easgate::graph::PolicyOrigin;
use easgate::tenant::{Tenant, TenantPolicy};
use easgate::testing::fake_graph::{FIXTURE_CLIENT_CERTIFICATE_PEM, FakeGraphOptions};
use easgate::testing::fake_graph_data::{CONTOSO_EXCLUDED_GROUP, CONTOSO_INCLUDED_GROUP, FakeTenantData};

#[tokio::test]
async fn a_read_of_the_recorded_tenant_maps_every_field() {
    let setup = graph_common::start_contoso().await;
    let snapshot = setup.valid_tenant().read(None).await.expect("the read succeeds");

    assert!(snapshot.complete, "Graph has no delta: every read is complete");
    // 7 records, one of them retirePending: it no longer stands for an enrolled device.
    let ids: Vec<&str> = snapshot.managed_devices.iter().map(|device| device.id.as_str()).collect();
    assert_eq!(ids.len(), 6, "{ids:?}");
    assert!(!ids.contains(&"0f4e5c6d-1111-4a2b-9c3d-000000000005"));

    let device = |suffix: &str| {
        snapshot.managed_devices.iter().find(|device| device.id.ends_with(suffix)).expect("device present")
    };
    let iphone = device("0001");
    assert_eq!(iphone.upn, "alice@contoso.test");
    assert_eq!(iphone.eas_device_id.as_deref(), Some("ApplF17LTTCGFFG8"));
    assert!(iphone.eas_activated);
    assert_eq!(iphone.compliance, Compliance::Compliant);
    assert_eq!(iphone.entra_device_id.as_deref(), Some("7b1d2e3f-aaaa-4bbb-8ccc-000000000001"));
    assert_eq!(device("0002").compliance, Compliance::InGracePeriod);
    assert!(!device("0002").eas_activated);
    let galaxy = device("0003");
    assert_eq!(galaxy.compliance, Compliance::Noncompliant);
    assert_eq!(galaxy.entra_device_id, None, "nil GUID and azureADRegistered=false: not registered");
    let pixel = device("0004");
    assert_eq!(pixel.compliance, Compliance::Unknown, "configManager is not a compliance easgate can use");
    assert_eq!(pixel.eas_device_id, None, "an empty easDeviceId is no id");
    let laptop = device("0006");
    assert_eq!(laptop.compliance, Compliance::Unknown, "unknownFutureValue");
    assert_eq!(laptop.upn, "");
    assert_eq!(laptop.entra_device_id, None, "azureADRegistered null");
    assert_eq!(device("0007").eas_device_id.as_deref(), Some("x\"; Remove-Mailbox -Identity *; \""));

    let registered: Vec<&str> = snapshot.registrations.iter().map(|entry| entry.eas_device_id.as_str()).collect();
    assert_eq!(registered, vec!["ApplF17LTTCGFFG8", "ApplDMPH2XYZ0001", "x\"; Remove-Mailbox -Identity *; \""]);

    let user = |upn: &str| snapshot.users.iter().find(|user| user.upn == upn).expect("user present");
    assert!(user("alice@contoso.test").licensed);
    assert_eq!(user("alice@contoso.test").groups, vec![CONTOSO_INCLUDED_GROUP.to_string()]);
    assert_eq!(
        user("bob@contoso.test").groups,
        vec![CONTOSO_INCLUDED_GROUP.to_string(), CONTOSO_EXCLUDED_GROUP.to_string()]
    );
    assert!(!user("carol@contoso.test").licensed, "a suspended SCO plan is no licence");
    assert!(!user("dave@contoso.test").licensed, "no SCO plan");
    assert_eq!(user("dave@contoso.test").mail, "");
    assert!(user("dave@contoso.test").groups.is_empty());

    let policy = snapshot.policy.expect("the Graph policy is read");
    assert!(policy.enabled && policy.override_default_rule);
    assert_eq!(policy.default_access, AccessLevel::Quarantine);
    assert_eq!(policy.included_groups, vec![CONTOSO_INCLUDED_GROUP.to_string()]);
    assert_eq!(policy.excluded_groups, vec![CONTOSO_EXCLUDED_GROUP.to_string()]);
    let rules: Vec<(&str, RuleMatch, AccessLevel)> =
        policy.access_rules.iter().map(|rule| (rule.device_class.as_str(), rule.rule_match, rule.access)).collect();
    assert_eq!(
        rules,
        vec![("iPhone", RuleMatch::Family, AccessLevel::Allow), ("SM-G900F", RuleMatch::Model, AccessLevel::Block)]
    );
    assert!(policy.notification.contains("Grüße"), "base64 UTF-8 HTML decoded: {}", policy.notification);
    assert!(policy.notification.contains("{{EnrollmentUrl}}"));
}

#[tokio::test]
async fn the_reads_are_exactly_the_calls_of_the_design() {
    let setup = graph_common::start_contoso().await;
    setup.valid_tenant().read(None).await.expect("the read succeeds");
    let mut urls = setup.fake.first_page_urls();
    urls.sort();
    assert_eq!(
        urls,
        vec![
            format!(
                "/v1.0/deviceManagement/managedDevices?$select=id,userPrincipalName,easDeviceId,easActivated,\
complianceState,managementState,azureADDeviceId,azureADRegistered,deviceName,operatingSystem,model,enrolledDateTime,\
lastSyncDateTime"
            ),
            format!(
                "/v1.0/groups/{CONTOSO_INCLUDED_GROUP}/transitiveMembers/microsoft.graph.user?$select=id,userPrincipalName&$top=999&$count=true"
            ),
            format!(
                "/v1.0/groups/{CONTOSO_EXCLUDED_GROUP}/transitiveMembers/microsoft.graph.user?$select=id,userPrincipalName&$top=999&$count=true"
            ),
            "/v1.0/users?$select=id,userPrincipalName,mail,assignedPlans&$top=999".to_string(),
        ]
    );
}

#[tokio::test]
async fn small_pages_are_followed_through_next_link() {
    let mut options = FakeGraphOptions::new(FakeTenantData::contoso());
    options.device_page_size = 2;
    let setup = graph_common::start(options).await;
    let (snapshot, stats) = setup.valid_tenant().read_with_stats().await.expect("the read succeeds");
    assert_eq!(stats.managed_devices.pages, 4, "7 records in pages of 2");
    assert_eq!(stats.managed_devices.records, 7);
    assert_eq!(snapshot.managed_devices.len(), 6);
}

#[tokio::test]
async fn a_local_policy_is_not_read_from_graph_but_its_groups_are_expanded() {
    let setup = graph_common::start_contoso().await;
    let local = TenantPolicy {
        enabled: true,
        included_groups: vec![CONTOSO_EXCLUDED_GROUP.to_string()],
        excluded_groups: vec![],
        default_access: AccessLevel::Block,
        override_default_rule: false,
        access_rules: vec![],
        notification: String::new(),
    };
    let settings = setup.fake.graph_settings(
        setup.secret_file(easgate::testing::fake_graph::FAKE_CLIENT_SECRET),
        PolicyOrigin::Local(local),
    );
    let snapshot = setup.tenant(settings).read(None).await.expect("the read succeeds");
    assert_eq!(snapshot.policy, None, "the policy comes from the configuration");
    assert!(setup.fake.first_page_urls().iter().all(|url| !url.starts_with("/beta")));
    let bob = snapshot.users.iter().find(|user| user.upn == "bob@contoso.test").expect("bob");
    assert_eq!(bob.groups, vec![CONTOSO_EXCLUDED_GROUP.to_string()]);
    let alice = snapshot.users.iter().find(|user| user.upn == "alice@contoso.test").expect("alice");
    assert!(alice.groups.is_empty());
}

#[tokio::test]
async fn the_certificate_credential_signs_an_assertion_the_token_endpoint_accepts() {
    let setup = graph_common::start_contoso().await;
    let path = setup.secrets.path().join("client.pem");
    std::fs::write(&path, FIXTURE_CLIENT_CERTIFICATE_PEM).expect("write pem");
    let tenant = setup.tenant(setup.settings(GraphCredential::ClientCertificate(SecretSource::File(path))));
    let snapshot = tenant.read(None).await.expect("the read succeeds with the certificate");
    assert_eq!(snapshot.managed_devices.len(), 6);
    assert_eq!(tenant.request_stats().token_requests, 1);
}

#[tokio::test]
async fn the_token_is_cached_and_refreshed_before_it_expires() {
    let mut options = FakeGraphOptions::new(FakeTenantData::contoso());
    options.token_lifetime_s = 600;
    let setup = graph_common::start(options).await;
    let tenant = setup.valid_tenant();
    tenant.read(None).await.expect("first read");
    tenant.read(None).await.expect("second read");
    assert_eq!(setup.fake.token_requests(), 1, "one token serves both reads");
    // 600 s token, refreshed 300 s before expiry.
    setup.clock.advance(std::time::Duration::from_secs(301));
    tenant.read(None).await.expect("third read");
    assert_eq!(setup.fake.token_requests(), 2);
}
