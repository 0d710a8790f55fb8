//! The connector resource: Graph's JSON shape and the status rules the sync engine applies.

use chrono::{TimeZone, Utc};
use easgate::domain::event::ConnectorRegistered;
use easgate::domain::vocabulary::{ConnectorKind, SyncKind};
use easgate::graph::ConnectorObservation;
use easgate::graph::connector::{
    ConnectorStatus, ConnectorSyncRequest, ExchangeConnector, ExchangeConnectorType, apply_observation, evolve_status,
};
use easgate::tenant::TenantError;

fn registered() -> ExchangeConnector {
    let registration = ConnectorRegistered {
        connector_id: "e11c8d1e-0000-4000-8000-000000000001".into(),
        organization: "contoso".into(),
        server: "cas1.contoso.com".into(),
        kind: ConnectorKind::OnPremises,
        replaces: None,
    };
    ExchangeConnector::registered(&registration, "easgate01")
}

#[test]
fn the_resource_serialises_in_graph_s_shape() {
    let mut connector = registered();
    connector.last_sync_date_time = Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 15, 0).unwrap());
    let json = serde_json::to_value(&connector).unwrap();
    assert_eq!(json["@odata.type"], "#microsoft.graph.deviceManagementExchangeConnector");
    assert_eq!(json["status"], "connectionPending");
    assert_eq!(json["exchangeConnectorType"], "onPremises");
    assert_eq!(json["lastSyncDateTime"], "2026-01-01T00:15:00Z");
    assert_eq!(json["serverName"], "cas1.contoso.com");
    assert_eq!(json["connectorServerName"], "easgate01");
    assert_eq!(json["exchangeOrganization"], "contoso");
    assert_eq!(serde_json::from_value::<ExchangeConnector>(json).unwrap(), connector);
}

#[test]
fn graph_s_own_sample_reads_including_future_enum_values() {
    let sample = r##"{"@odata.type":"#microsoft.graph.deviceManagementExchangeConnector","id":"e11c8d1e-8d1e-e11c-1e8d-1ce11e8d1ce1",
        "lastSyncDateTime":"2017-01-01T00:02:49.3205976-08:00","status":"somethingNew","primarySmtpAddress":"x@contoso.com",
        "serverName":"Server Name value","connectorServerName":"Connector Server Name value","exchangeConnectorType":"hosted",
        "version":"Version value","exchangeAlias":"Exchange Alias value","exchangeOrganization":"Exchange Organization value"}"##;
    let connector: ExchangeConnector = serde_json::from_str(sample).unwrap();
    assert_eq!(connector.status, ConnectorStatus::UnknownFutureValue);
    assert_eq!(connector.exchange_connector_type, ExchangeConnectorType::Hosted);
    assert_eq!(
        connector.last_sync_date_time,
        Some(Utc.with_ymd_and_hms(2017, 1, 1, 8, 2, 49).unwrap() + chrono::Duration::nanoseconds(320_597_600))
    );
}

#[test]
fn a_successful_sync_connects_and_records_the_time() {
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 15, 0).unwrap();
    let (connector, change) = apply_observation(
        &registered(),
        &ConnectorObservation::SyncSucceeded { at, server: "cas2.contoso.com".into() },
    );
    assert_eq!(connector.status, ConnectorStatus::Connected);
    assert_eq!(connector.last_sync_date_time, Some(at));
    assert_eq!(connector.server_name, "cas2.contoso.com");
    let change = change.expect("pending -> connected is a change");
    assert_eq!((change.status.as_str(), change.reason.as_str()), ("connected", ""));
    // Connected again: nothing new to record, but the time moves.
    let later = at + chrono::Duration::minutes(15);
    let (again, change) =
        apply_observation(&connector, &ConnectorObservation::SyncSucceeded { at: later, server: String::new() });
    assert_eq!(change, None);
    assert_eq!(again.last_sync_date_time, Some(later));
}

#[test]
fn an_authentication_failure_or_a_failed_read_disconnects_with_a_reason() {
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 15, 0).unwrap();
    let (connected, _) =
        apply_observation(&registered(), &ConnectorObservation::SyncSucceeded { at, server: String::new() });
    let refused =
        TenantError::Unauthorized { detail: "token endpoint answered 401: invalid_client AADSTS7000222".into() };
    let observation = ConnectorObservation::from_tenant_error(&refused);
    assert!(matches!(observation, ConnectorObservation::AuthenticationFailed { .. }));
    let (disconnected, change) = apply_observation(&connected, &observation);
    assert_eq!(disconnected.status, ConnectorStatus::Disconnected);
    assert_eq!(disconnected.last_sync_date_time, Some(at), "the last successful sync is kept");
    let change = change.expect("connected -> disconnected");
    assert_eq!(change.status, "disconnected");
    assert!(change.reason.contains("AADSTS7000222"));

    let malformed = TenantError::Malformed { detail: "managedDevices: page 3 links back to an earlier page".into() };
    let (still, change) = apply_observation(&disconnected, &ConnectorObservation::from_tenant_error(&malformed));
    assert_eq!(still.status, ConnectorStatus::Disconnected);
    assert_eq!(change, None, "already disconnected");

    let mut replayed = connected.clone();
    evolve_status(
        &mut replayed,
        &easgate::domain::event::ConnectorStatusChanged {
            connector_id: connected.id.clone(),
            status: "disconnected".into(),
            reason: String::new(),
        },
    );
    assert_eq!(replayed.status, ConnectorStatus::Disconnected);
}

#[test]
fn the_sync_action_body_reads_as_a_sync_kind() {
    let request: ConnectorSyncRequest = serde_json::from_str(r#"{"syncType":"deltaSync"}"#).unwrap();
    assert_eq!(SyncKind::from(request.sync_type), SyncKind::Quick);
    let request: ConnectorSyncRequest = serde_json::from_str(r#"{"syncType":"fullSync"}"#).unwrap();
    assert_eq!(SyncKind::from(request.sync_type), SyncKind::Full);
    assert!(serde_json::from_str::<ConnectorSyncRequest>(r#"{"syncType":"weekly"}"#).is_err());
}
