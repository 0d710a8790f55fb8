//! `easgate status`: each connector as Graph's `deviceManagementExchangeConnector` (id, status,
//! lastSyncDateTime, serverName, exchangeOrganization, exchangeConnectorType...), the last
//! syncs, counts by access, intents and mails still pending, and the log's size.

use serde_json::{Value, json};

use crate::cli::open::store_error;
use crate::cli::output::{Format, Table, print};
use crate::cli::{Cli, CliError};
use crate::domain::projection::{Projection, SyncOutcome};
use crate::domain::vocabulary::{Access, ConnectorKind};
use crate::store::json_lines::format_recorded_at;

pub fn run(cli: &Cli) -> Result<(), CliError> {
    let data_dir = cli.data_dir();
    let status = match crate::data::open_for_reading(&data_dir) {
        // `easgate run` holds the directory: ask it through its admin API (daemon.json says where).
        Err(crate::store::StoreError::InUse { .. }) => crate::cli::runtime()?
            .block_on(crate::daemon::daemon_file::status_from_daemon(&data_dir))
            .map_err(CliError::Input)?,
        opened => {
            let store = opened.map_err(store_error)?;
            let projection = crate::data::load_projection(&store).map_err(store_error)?;
            let bytes = store.size_on_disk_bytes().map_err(store_error)?;
            status_json(&projection, store.last_seq(), bytes)
        }
    };
    match cli.format {
        Format::Json => print(&format!("{status}\n")),
        Format::Table => print(&status_table(&status)),
    }
    Ok(())
}

fn machine_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|name| name.trim().to_string()).unwrap_or_default()
}

fn sync_json(outcome: &SyncOutcome) -> Value {
    json!({
        "run_id": outcome.run_id.to_string(),
        "kind": outcome.kind.as_str(),
        "at": format_recorded_at(outcome.at_us),
        "duration_ms": outcome.duration_ms,
        "counts": outcome.counts,
        "error": if outcome.error.is_empty() { Value::Null } else { json!(outcome.error) },
    })
}

pub fn status_json(projection: &Projection, records: u64, bytes: u64) -> Value {
    let last_sync = projection.syncs.last_completed.as_ref();
    let connectors: Vec<Value> = projection
        .connectors
        .values()
        .map(|connector| {
            json!({
                "id": connector.connector_id,
                "status": connector.status,
                "statusReason": connector.status_reason,
                "lastSyncDateTime": last_sync.map(|sync| format_recorded_at(sync.at_us)),
                "serverName": projection.organization.as_ref().map(|organization| organization.current_server.clone()).filter(|server| !server.is_empty()).unwrap_or(connector.server.clone()),
                "connectorServerName": machine_name(),
                "exchangeConnectorType": match connector.kind { ConnectorKind::OnPremises => "onPremises", ConnectorKind::Hosted => "hosted" },
                "version": env!("CARGO_PKG_VERSION"),
                "exchangeOrganization": connector.organization,
                "replacedBy": connector.replaced_by,
            })
        })
        .collect();
    let counts = projection.counts_by_access();
    json!({
        "connectors": connectors,
        "counts": Access::ALL.iter().map(|access| (access.as_str().to_string(), json!(counts.get(access).copied().unwrap_or(0)))).collect::<serde_json::Map<_, _>>(),
        "devices": projection.current_devices().len(),
        "last_sync": projection.syncs.last_completed.as_ref().map(sync_json),
        "last_full_sync": projection.syncs.last_full_completed.as_ref().map(sync_json),
        "last_failed_sync": projection.syncs.last_failed.as_ref().map(sync_json),
        "running_sync": projection.syncs.running.as_ref().map(|running| json!({"run_id": running.run_id.to_string(), "kind": running.kind.as_str(), "started_at": format_recorded_at(running.started_at_us)})),
        "pending": {"cmdlets": projection.pending_commands.len(), "notifications": projection.pending_notifications.len()},
        "anomalies": projection.anomaly_count,
        "log": {"records": records, "last_seq": projection.last_seq, "bytes_on_disk": bytes},
    })
}

fn status_table(status: &Value) -> String {
    let mut text = String::new();
    let mut connectors = Table::new(&["CONNECTOR", "STATUS", "ORGANIZATION", "SERVER", "LAST SUCCESSFUL SYNC"]);
    for connector in status["connectors"].as_array().into_iter().flatten() {
        let mut state = connector["status"].as_str().unwrap_or("").to_string();
        if let Some(reason) = connector["statusReason"].as_str().filter(|reason| !reason.is_empty()) {
            state = format!("{state} ({reason})");
        }
        connectors.row(vec![
            connector["id"].as_str().unwrap_or("").to_string(),
            state,
            connector["exchangeOrganization"].as_str().unwrap_or("").to_string(),
            connector["serverName"].as_str().unwrap_or("").to_string(),
            connector["lastSyncDateTime"].as_str().unwrap_or("never").to_string(),
        ]);
    }
    text.push_str(&connectors.render());
    text.push('\n');
    let line: Vec<String> = Access::ALL
        .iter()
        .map(|access| format!("{} {}", status["counts"][access.as_str()].as_u64().unwrap_or(0), access.as_str()))
        .collect();
    text.push_str(&format!("devices: {} ({})\n", status["devices"], line.join(", ")));
    for (label, key) in
        [("last sync", "last_sync"), ("last full sync", "last_full_sync"), ("last failed sync", "last_failed_sync")]
    {
        if let Some(sync) = status[key].as_object() {
            let error = sync.get("error").and_then(Value::as_str).map(|error| format!(": {error}")).unwrap_or_default();
            text.push_str(&format!(
                "{label}: {} {} at {} ({} ms, {} cmdlets){error}\n",
                sync["kind"].as_str().unwrap_or(""),
                sync["run_id"].as_str().unwrap_or(""),
                sync["at"].as_str().unwrap_or(""),
                sync["duration_ms"],
                sync["counts"]["cmdlets"],
            ));
        }
    }
    text.push_str(&format!(
        "pending: {} cmdlet(s), {} notification(s); anomalies: {}\nlog: {} records, {} bytes on disk\n",
        status["pending"]["cmdlets"],
        status["pending"]["notifications"],
        status["anomalies"],
        status["log"]["records"],
        status["log"]["bytes_on_disk"]
    ));
    text
}
