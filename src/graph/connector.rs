//! The connector resource, modelled on Graph's `deviceManagementExchangeConnector` (same JSON,
//! camelCase), and the pure rules for its status: connectionPending when registered, connected
//! after a successful sync, disconnected (with a reason) after an authentication failure or a
//! failed read. `easgate status` and the admin API show it; the sync engine feeds it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::event::{ConnectorRegistered, ConnectorStatusChanged};
use crate::domain::vocabulary::{ConnectorKind, SyncKind};
use crate::tenant::TenantError;

pub const CONNECTOR_ODATA_TYPE: &str = "#microsoft.graph.deviceManagementExchangeConnector";

/// `deviceManagementExchangeConnectorStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConnectorStatus {
    #[default]
    None,
    ConnectionPending,
    Connected,
    Disconnected,
    /// Graph's evolvable-enum sentinel; also what an unknown value reads as.
    #[serde(other)]
    UnknownFutureValue,
}

impl ConnectorStatus {
    /// Graph's spelling (`ConnectorStatusChanged.status`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorStatus::None => "none",
            ConnectorStatus::ConnectionPending => "connectionPending",
            ConnectorStatus::Connected => "connected",
            ConnectorStatus::Disconnected => "disconnected",
            ConnectorStatus::UnknownFutureValue => "unknownFutureValue",
        }
    }
    pub fn parse(text: &str) -> ConnectorStatus {
        [
            ConnectorStatus::None,
            ConnectorStatus::ConnectionPending,
            ConnectorStatus::Connected,
            ConnectorStatus::Disconnected,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
        .unwrap_or(ConnectorStatus::UnknownFutureValue)
    }
}

/// `exchangeConnectorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExchangeConnectorType {
    #[default]
    OnPremises,
    Hosted,
    ServiceToService,
    Dedicated,
    #[serde(other)]
    UnknownFutureValue,
}

impl From<ConnectorKind> for ExchangeConnectorType {
    fn from(kind: ConnectorKind) -> ExchangeConnectorType {
        match kind {
            ConnectorKind::OnPremises => ExchangeConnectorType::OnPremises,
            ConnectorKind::Hosted => ExchangeConnectorType::Hosted,
        }
    }
}

/// The connector resource. Field names and JSON spelling are Graph's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeConnector {
    #[serde(rename = "@odata.type", default = "odata_type")]
    pub odata_type: String,
    pub id: String,
    /// Last successful sync; `null` before the first one.
    #[serde(default, with = "graph_date_time")]
    pub last_sync_date_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub status: ConnectorStatus,
    #[serde(default)]
    pub primary_smtp_address: String,
    /// The Exchange (CAS) server in use.
    #[serde(default)]
    pub server_name: String,
    /// The machine running easgate.
    #[serde(default)]
    pub connector_server_name: String,
    #[serde(default)]
    pub exchange_connector_type: ExchangeConnectorType,
    /// easgate's version.
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub exchange_alias: String,
    #[serde(default)]
    pub exchange_organization: String,
}

fn odata_type() -> String {
    CONNECTOR_ODATA_TYPE.to_string()
}

/// Graph writes DateTimeOffset as RFC 3339; easgate writes UTC with a `Z`.
mod graph_date_time {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(at) => serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text: Option<String> = Option::deserialize(deserializer)?;
        match text {
            None => Ok(None),
            Some(text) => DateTime::parse_from_rfc3339(&text)
                .map(|at| Some(at.with_timezone(&Utc)))
                .map_err(serde::de::Error::custom),
        }
    }
}

impl ExchangeConnector {
    /// A newly registered connector: pending until its first successful sync.
    pub fn registered(registration: &ConnectorRegistered, connector_server_name: &str) -> ExchangeConnector {
        ExchangeConnector {
            odata_type: odata_type(),
            id: registration.connector_id.clone(),
            last_sync_date_time: None,
            status: ConnectorStatus::ConnectionPending,
            primary_smtp_address: String::new(),
            server_name: registration.server.clone(),
            connector_server_name: connector_server_name.to_string(),
            exchange_connector_type: registration.kind.into(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            exchange_alias: String::new(),
            exchange_organization: registration.organization.clone(),
        }
    }
}

/// What happened to the connector, as far as its status is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectorObservation {
    /// A sync (quick or full) finished; `server` is the CAS it used.
    SyncSucceeded { at: DateTime<Utc>, server: String },
    /// The tenant, Exchange or the mail server refused the credentials.
    AuthenticationFailed { reason: String },
    /// A read failed (tenant or Exchange unreachable, malformed, throttled out).
    ReadFailed { reason: String },
}

impl ConnectorObservation {
    /// How a failed tenant read counts.
    pub fn from_tenant_error(error: &TenantError) -> ConnectorObservation {
        match error {
            TenantError::Unauthorized { .. } => {
                ConnectorObservation::AuthenticationFailed { reason: error.to_string() }
            }
            _ => ConnectorObservation::ReadFailed { reason: error.to_string() },
        }
    }
}

/// The status a connector moves to after an observation.
pub fn next_status(observation: &ConnectorObservation) -> ConnectorStatus {
    match observation {
        ConnectorObservation::SyncSucceeded { .. } => ConnectorStatus::Connected,
        ConnectorObservation::AuthenticationFailed { .. } | ConnectorObservation::ReadFailed { .. } => {
            ConnectorStatus::Disconnected
        }
    }
}

/// Applies an observation: the new resource, and the event to record when the status changed
/// (a disconnected connector failing again records nothing new).
pub fn apply_observation(
    connector: &ExchangeConnector,
    observation: &ConnectorObservation,
) -> (ExchangeConnector, Option<ConnectorStatusChanged>) {
    let mut next = connector.clone();
    next.status = next_status(observation);
    let reason = match observation {
        ConnectorObservation::SyncSucceeded { at, server } => {
            next.last_sync_date_time = Some(*at);
            if !server.is_empty() {
                next.server_name = server.clone();
            }
            String::new()
        }
        ConnectorObservation::AuthenticationFailed { reason } | ConnectorObservation::ReadFailed { reason } => {
            reason.clone()
        }
    };
    let changed = (next.status != connector.status).then(|| ConnectorStatusChanged {
        connector_id: connector.id.clone(),
        status: next.status.as_str().to_string(),
        reason,
    });
    (next, changed)
}

/// Replays a recorded status change onto the resource (the projection's `evolve`).
pub fn evolve_status(connector: &mut ExchangeConnector, change: &ConnectorStatusChanged) {
    if change.connector_id == connector.id {
        connector.status = ConnectorStatus::parse(&change.status);
    }
}

/// `deviceManagementExchangeConnectorSyncType`, the body of `POST .../exchangeConnectors/{id}/sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConnectorSyncType {
    FullSync,
    DeltaSync,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectorSyncRequest {
    pub sync_type: ConnectorSyncType,
}

impl From<ConnectorSyncType> for SyncKind {
    fn from(sync_type: ConnectorSyncType) -> SyncKind {
        match sync_type {
            ConnectorSyncType::FullSync => SyncKind::Full,
            ConnectorSyncType::DeltaSync => SyncKind::Quick,
        }
    }
}
