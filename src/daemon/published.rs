//! What the daemon shows while it runs: per organisation, the same JSON as `easgate status
//! --format json` and the connectors in Graph's `deviceManagementExchangeConnector` shape. The
//! worker that owns the organisation's engine publishes a new view after every sync; the admin
//! API reads the latest one without waiting for a sync to end.

use std::path::Path;

use serde_json::{Value, json};

use crate::domain::projection::Projection;
use crate::graph::connector::CONNECTOR_ODATA_TYPE;

/// Files counted under `DATA/log` at most (sled keeps a handful).
const LOG_FILES_COUNTED_MAX: usize = 10_000;

/// One organisation as the admin API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedStatus {
    pub organization: String,
    /// The organisation's connector in this configuration (others in its log were replaced).
    pub connector_id: String,
    /// `easgate status --format json` of the organisation's data directory.
    pub status: Value,
}

impl PublishedStatus {
    /// The view of `projection`, the fold of the log in `data_dir`.
    pub fn of(organization: &str, connector_id: &str, projection: &Projection, data_dir: &Path) -> PublishedStatus {
        let bytes = log_size_bytes(&data_dir.join("log"));
        PublishedStatus {
            organization: organization.to_string(),
            connector_id: connector_id.to_string(),
            status: crate::cli::status::status_json(projection, projection.last_seq, bytes),
        }
    }

    /// The same view while a sync runs: `running_sync` filled in before the engine records it.
    pub fn with_running_sync(&self, kind: &str, started_at: &str) -> PublishedStatus {
        let mut running = self.clone();
        if let Some(object) = running.status.as_object_mut() {
            object.insert("running_sync".into(), json!({"kind": kind, "started_at": started_at}));
        }
        running
    }

    /// The organisation's connectors that are not replaced, in Graph's shape.
    pub fn graph_connectors(&self) -> Vec<Value> {
        self.status["connectors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|connector| connector["replacedBy"].is_null())
            .map(graph_connector)
            .collect()
    }
}

/// A connector of `status_json` as Graph's resource (plus easgate's `statusReason`).
fn graph_connector(connector: &Value) -> Value {
    json!({
        "@odata.type": CONNECTOR_ODATA_TYPE,
        "id": connector["id"],
        "lastSyncDateTime": connector["lastSyncDateTime"],
        "status": connector["status"],
        "statusReason": connector["statusReason"],
        "primarySmtpAddress": "",
        "serverName": connector["serverName"],
        "connectorServerName": connector["connectorServerName"],
        "exchangeConnectorType": connector["exchangeConnectorType"],
        "version": connector["version"],
        "exchangeAlias": "",
        "exchangeOrganization": connector["exchangeOrganization"],
    })
}

/// The size of sled's files (the store itself is inside the engine's journal).
pub fn log_size_bytes(log_dir: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![log_dir.to_path_buf()];
    let mut counted = 0;
    while let Some(directory) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else { continue };
        for entry in entries.flatten() {
            counted += 1;
            if counted > LOG_FILES_COUNTED_MAX {
                return total;
            }
            match entry.metadata() {
                Ok(metadata) if metadata.is_dir() => pending.push(entry.path()),
                Ok(metadata) => total += metadata.len(),
                Err(_) => {}
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaced_connectors_are_not_listed_in_graphs_shape() {
        let status = json!({"connectors": [
            {"id": "old", "status": "connected", "replacedBy": "new", "exchangeOrganization": "contoso"},
            {"id": "new", "status": "disconnected", "statusReason": "401", "replacedBy": null,
             "lastSyncDateTime": "2026-01-01T00:00:00Z", "exchangeOrganization": "contoso"}
        ]});
        let published = PublishedStatus { organization: "contoso".into(), connector_id: "new".into(), status };
        let connectors = published.graph_connectors();
        assert_eq!(connectors.len(), 1);
        assert_eq!(connectors[0]["id"], "new");
        assert_eq!(connectors[0]["@odata.type"], CONNECTOR_ODATA_TYPE);
        assert_eq!(connectors[0]["statusReason"], "401");
    }
}
