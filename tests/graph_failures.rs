//! The Graph adapter against a misbehaving tenant: every failure is one clear `TenantError`,
//! never a partial snapshot; throttling and transient failures are retried within limits.

mod graph_common;

use easgate::clock::Clock;
use easgate::graph::GraphLimits;
use easgate::tenant::{Tenant, TenantError};
use easgate::testing::fake_graph::{
    FAKE_CLIENT_SECRET, FAKE_EXPIRED_CLIENT_SECRET, FaultKind, FaultTarget, ScriptedFault,
};

async fn read_error(setup: &graph_common::Setup, limits: GraphLimits) -> TenantError {
    let mut settings = setup.settings(setup.secret_file(FAKE_CLIENT_SECRET));
    settings.limits = limits;
    match setup.tenant(settings).read(None).await {
        Ok(snapshot) => panic!("expected an error, got a snapshot of {} devices", snapshot.managed_devices.len()),
        Err(error) => error,
    }
}

#[tokio::test]
async fn an_invalid_secret_is_unauthorized_with_entra_s_reason() {
    let setup = graph_common::start_contoso().await;
    let tenant = setup.tenant(setup.settings(setup.secret_file("not-the-secret")));
    let error = tenant.read(None).await.expect_err("refused");
    assert!(matches!(error, TenantError::Unauthorized { .. }), "{error:?}");
    assert!(error.to_string().contains("AADSTS7000215"), "{error}");
    assert!(!error.to_string().contains("not-the-secret"), "the secret never appears in an error");
    assert_eq!(setup.fake.graph_requests(), 0, "no Graph call without a token");
}

#[tokio::test]
async fn an_expired_secret_is_unauthorized_and_says_so() {
    let setup = graph_common::start_contoso().await;
    let tenant = setup.tenant(setup.settings(setup.secret_file(FAKE_EXPIRED_CLIENT_SECRET)));
    let error = tenant.read(None).await.expect_err("refused");
    assert!(matches!(error, TenantError::Unauthorized { .. }), "{error:?}");
    assert!(error.to_string().contains("AADSTS7000222") && error.to_string().contains("expired"), "{error}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_missing_secret_file_is_unauthorized_naming_the_file() {
    let setup = graph_common::start_contoso().await;
    let missing = setup.secrets.path().join("nowhere.secret");
    let credential =
        easgate::config::model::GraphCredential::ClientSecret(easgate::config::SecretSource::File(missing.clone()));
    let error = setup.tenant(setup.settings(credential)).read(None).await.expect_err("refused");
    assert!(error.to_string().contains(&missing.display().to_string()), "{error}");
}

#[tokio::test]
async fn a_401_is_retried_once_with_a_new_token_then_reported() {
    let setup = graph_common::start_contoso().await;
    setup.fake.add_fault(ScriptedFault::always(FaultTarget::ManagedDevices, FaultKind::Unauthorized));
    let error = read_error(&setup, GraphLimits::default()).await;
    assert!(matches!(error, TenantError::Unauthorized { .. }), "{error:?}");
    assert!(error.to_string().contains("InvalidAuthenticationToken"), "{error}");
    assert_eq!(setup.fake.token_requests(), 2, "one new token after the first 401");
}

#[tokio::test]
async fn a_revoked_token_is_replaced_and_the_read_succeeds() {
    let setup = graph_common::start_contoso().await;
    let tenant = setup.valid_tenant();
    tenant.read(None).await.expect("first read");
    setup.fake.add_fault(ScriptedFault::once(FaultTarget::ManagedDevices, FaultKind::RevokeTokens));
    let snapshot = tenant.read(None).await.expect("the second read gets a new token");
    assert_eq!(snapshot.managed_devices.len(), 6);
    assert_eq!(setup.fake.token_requests(), 2);
}

#[tokio::test]
async fn a_403_is_unauthorized_with_graph_s_message() {
    let setup = graph_common::start_contoso().await;
    setup.fake.add_fault(ScriptedFault::always(FaultTarget::Users, FaultKind::Forbidden));
    let error = read_error(&setup, GraphLimits::default()).await;
    assert!(matches!(error, TenantError::Unauthorized { .. }), "{error:?}");
    assert!(error.to_string().contains("DeviceManagementManagedDevices.Read.All"), "{error}");
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out() {
    let setup = graph_common::start_contoso().await;
    let start = setup.clock.now();
    setup.fake.add_fault(ScriptedFault {
        target: FaultTarget::ManagedDevices,
        kind: FaultKind::Throttle { retry_after_s: Some(7) },
        times: Some(2),
        from_page: 0,
    });
    let snapshot = setup.valid_tenant().read(None).await.expect("the read succeeds after the waits");
    assert_eq!(snapshot.managed_devices.len(), 6);
    assert!((setup.clock.now() - start).num_seconds() >= 14, "waited Retry-After twice");
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off() {
    let setup = graph_common::start_contoso().await;
    let start = setup.clock.now();
    setup.fake.add_fault(ScriptedFault {
        target: FaultTarget::Users,
        kind: FaultKind::Throttle { retry_after_s: None },
        times: Some(3),
        from_page: 0,
    });
    setup.valid_tenant().read(None).await.expect("the read succeeds after backing off");
    // 500 ms, 1 s, 2 s steps, each at least half: 1.75 s at least.
    assert!((setup.clock.now() - start).num_milliseconds() >= 1_750);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_limit_fails_as_throttled() {
    let setup = graph_common::start_contoso().await;
    setup.fake.add_fault(ScriptedFault::always(
        FaultTarget::ManagedDevices,
        FaultKind::Throttle { retry_after_s: Some(3_600) },
    ));
    let error = read_error(&setup, GraphLimits::default()).await;
    assert_eq!(
        error,
        TenantError::Throttled {
            detail: error.to_string().trim_start_matches("the tenant throttled the read: ").to_string(),
            retry_after_ms: Some(3_600_000)
        }
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_5xx_is_retried_then_reported_as_unavailable() {
    let setup = graph_common::start_contoso().await;
    setup.fake.add_fault(ScriptedFault::always(FaultTarget::Policy, FaultKind::Unavailable));
    let limits = GraphLimits { max_retries: 3, ..GraphLimits::default() };
    let error = read_error(&setup, limits).await;
    assert!(matches!(error, TenantError::Unavailable { .. }), "{error:?}");
    assert!(error.to_string().contains("503"), "{error}");
}

#[tokio::test]
async fn a_transient_5xx_is_absorbed() {
    let setup = graph_common::start_contoso().await;
    setup.fake.add_fault(ScriptedFault::once(FaultTarget::AnyGraph, FaultKind::Unavailable));
    setup.valid_tenant().read(None).await.expect("one 503 is retried");
}

#[tokio::test]
async fn malformed_json_on_a_later_page_fails_the_whole_read() {
    let mut options = easgate::testing::fake_graph::FakeGraphOptions::new(
        easgate::testing::fake_graph_data::FakeTenantData::contoso(),
    );
    options.device_page_size = 2;
    let setup = graph_common::start(options).await;
    setup.fake.add_fault(ScriptedFault {
        target: FaultTarget::ManagedDevices,
        kind: FaultKind::MalformedJson,
        times: Some(1),
        from_page: 2,
    });
    let error = read_error(&setup, GraphLimits::default()).await;
    assert!(matches!(error, TenantError::Malformed { .. }), "{error:?}");
    assert!(error.to_string().contains("managedDevices: page 3"), "{error}");
}

#[tokio::test]
async fn malformed_policy_json_fails_the_read() {
    let setup = graph_common::start_contoso().await;
    setup.fake.add_fault(ScriptedFault::once(FaultTarget::Policy, FaultKind::MalformedJson));
    let error = read_error(&setup, GraphLimits::default()).await;
    assert!(matches!(error, TenantError::Malformed { .. }), "{error:?}");
}

#[tokio::test]
async fn a_collection_that_never_ends_stops_at_the_page_cap() {
    let setup = graph_common::start_contoso().await;
    setup.fake.add_fault(ScriptedFault::always(FaultTarget::ManagedDevices, FaultKind::EndlessPaging));
    let limits = GraphLimits { max_pages_per_collection: 40, ..GraphLimits::default() };
    let error = read_error(&setup, limits).await;
    assert!(error.to_string().contains("more than 40 pages"), "{error}");
    assert!(setup.fake.graph_requests() < 60, "stopped near the cap");
}

#[tokio::test]
async fn a_next_link_loop_is_detected() {
    let setup = graph_common::start_contoso().await;
    setup.fake.add_fault(ScriptedFault::always(FaultTarget::Users, FaultKind::NextLinkLoop));
    let error = read_error(&setup, GraphLimits::default()).await;
    assert!(matches!(error, TenantError::Malformed { .. }), "{error:?}");
    assert!(error.to_string().contains("links back to an earlier page"), "{error}");
}

#[tokio::test]
async fn a_body_that_never_ends_is_cut_at_the_size_cap() {
    let setup = graph_common::start_contoso().await;
    setup.fake.add_fault(ScriptedFault::always(FaultTarget::ManagedDevices, FaultKind::EndlessBody));
    let limits = GraphLimits { max_response_bytes: 256 * 1024, ..GraphLimits::default() };
    let error = read_error(&setup, limits).await;
    assert!(matches!(error, TenantError::Malformed { .. }), "{error:?}");
    assert!(error.to_string().contains("larger than 262144 bytes"), "{error}");
}

#[tokio::test]
async fn too_many_records_fail_the_read() {
    let setup = graph_common::start_contoso().await;
    let limits = GraphLimits { max_records_per_collection: 3, ..GraphLimits::default() };
    let error = read_error(&setup, limits).await;
    assert!(error.to_string().contains("more than 3 records"), "{error}");
}

#[tokio::test]
async fn the_request_budget_spreads_requests_over_windows() {
    let mut options = easgate::testing::fake_graph::FakeGraphOptions::new(
        easgate::testing::fake_graph_data::FakeTenantData::contoso(),
    );
    options.device_page_size = 1;
    let setup = graph_common::start(options).await;
    let start = setup.clock.now();
    let mut settings = setup.settings(setup.secret_file(FAKE_CLIENT_SECRET));
    settings.limits.budget_requests = 4;
    let tenant = setup.tenant(settings);
    tenant.read(None).await.expect("the read succeeds within the budget");
    let stats = tenant.request_stats();
    // 2 policy + 7 device pages + 1 user page + 2 group pages = 12 requests, 4 per 20 s window.
    assert_eq!(stats.graph_requests, 12);
    assert!(stats.budget_waited_ms > 0);
    assert!((setup.clock.now() - start).num_seconds() >= 40, "three windows");
}
