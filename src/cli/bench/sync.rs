//! Benchmarks of syncs: a generated organisation's full syncs and a quick sync after 1% of
//! devices changed compliance (in process), the same organisation over PSRP on loopback against
//! in process, cmdlets/s with 1, 4 and 8 runspaces, and a Graph read of 100,000 devices.

use serde_json::json;

use crate::cli::CliError;
use crate::cli::bench::{failed, memory_mb, report};
use crate::cli::output::print;
use crate::domain::vocabulary::{AccessLevel, Compliance, SyncKind, SyncTrigger};
use crate::scenario::world::{Transport, World};
use crate::sim::population::{PopulationSpec, load_population};
use crate::sync::engine::SyncReport;
use crate::tenant::TenantPolicy;

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    crate::cli::runtime()
}

/// A world with a generated organisation of `users` users with two phones each.
fn world(directory: &std::path::Path, transport: Transport, users: usize, runspaces: usize) -> Result<World, CliError> {
    let mut world = World::new(directory, transport);
    world.runspaces_max = runspaces;
    world
        .create_organization("fabrikam", &["cas1".into(), "cas2".into()], AccessLevel::Allow)
        .map_err(|error| failed("sync")(error.to_string()))?;
    world.tenant.set_policy(Some(TenantPolicy {
        enabled: true,
        included_groups: vec!["all-staff".into()],
        excluded_groups: Vec::new(),
        default_access: AccessLevel::Quarantine,
        override_default_rule: true,
        access_rules: Vec::new(),
        notification: String::new(),
    }));
    let spec = PopulationSpec {
        users,
        devices_per_user: 2,
        enrolled: 0.6,
        compliant: 0.8,
        groups: vec!["all-staff".into()],
        seed: 42,
        domain: "fabrikam.com".into(),
    };
    let exchange = world.exchange().map_err(|error| failed("sync")(error.to_string()))?.clone();
    load_population(&spec, &exchange, &world.tenant).map_err(|error| failed("sync")(error.to_string()))?;
    Ok(world)
}

fn line(name: &str, sync: &SyncReport) {
    let phases: Vec<String> = sync.phases_ms.iter().map(|(phase, ms)| format!("{phase} {ms}")).collect();
    report(
        name,
        sync.wall_ms as f64,
        "ms",
        &format!(
            "{} cmdlets, {} reads, {} decisions; phases ms: {}",
            sync.counts.cmdlets,
            sync.counts.reads,
            sync.counts.decisions,
            phases.join(", ")
        ),
    );
}

/// Full syncs of 100,000 devices × scale / 10, and a quick sync after 1% changed compliance.
pub fn sync(scale: u64) -> Result<(), CliError> {
    let users = 5_000 * usize::try_from(scale).unwrap_or(1);
    let directory = tempfile::tempdir().map_err(|error| failed("sync")(error.to_string()))?;
    runtime()?.block_on(async {
        let mut world = world(directory.path(), Transport::InProcess, users, 1)?;
        // The partnerships were made two hours before the syncs: a quick sync looks for those
        // made since the last sync (with an hour's margin), as it would in a running organisation.
        world.clock.advance(std::time::Duration::from_secs(2 * 3_600));
        let first =
            world.sync(SyncKind::Full, SyncTrigger::Manual).await.map_err(|error| failed("sync")(error.to_string()))?;
        line(&format!("full sync, {} devices, first", users * 2), &first);
        let second =
            world.sync(SyncKind::Full, SyncTrigger::Manual).await.map_err(|error| failed("sync")(error.to_string()))?;
        line("full sync again, nothing changed", &second);
        let changed = change_compliance(&mut world).await?;
        let quick = world
            .sync(SyncKind::Quick, SyncTrigger::Manual)
            .await
            .map_err(|error| failed("sync")(error.to_string()))?;
        line(&format!("quick sync after {changed} devices (1%) noncompliant"), &quick);
        report("quick / full wall time", quick.wall_ms as f64 / second.wall_ms.max(1) as f64, "ratio", "");
        let (resident, peak) = memory_mb();
        report("resident memory after these syncs", resident, "MB", &format!("peak {peak:.0} MB"));
        world.stop_engine().map_err(|error| failed("sync")(error.to_string()))
    })
}

/// Makes 1% of the allowed devices noncompliant in the tenant; returns how many.
async fn change_compliance(world: &mut World) -> Result<usize, CliError> {
    let engine = world.engine().await.map_err(|error| failed("sync")(error.to_string()))?;
    let mut allowed: Vec<String> = engine
        .projection()
        .current_devices()
        .into_iter()
        .filter(|device| device.access == Some(crate::domain::vocabulary::Access::Allowed))
        .map(|device| device.device_id.to_string())
        .collect();
    allowed.sort();
    let count = engine.projection().devices.len() / 100;
    let chosen: Vec<String> = allowed.into_iter().step_by(2).take(count).collect();
    for device_id in &chosen {
        world
            .tenant
            .set_compliance(device_id, Compliance::Noncompliant)
            .map_err(|error| failed("sync")(error.to_string()))?;
    }
    Ok(chosen.len())
}

/// The first full sync in process and over PSRP (HTTPS on loopback), and cmdlets/s with 1, 4
/// and 8 runspaces over PSRP.
pub fn psrp(scale: u64) -> Result<(), CliError> {
    let users = 10_000 * usize::try_from(scale).unwrap_or(1);
    runtime()?.block_on(async {
        let mut results = Vec::new();
        for (transport, runspaces) in [(Transport::InProcess, 1), (Transport::Psrp, 1), (Transport::Psrp, 4), (Transport::Psrp, 8)] {
            let directory = tempfile::tempdir().map_err(|error| failed("psrp")(error.to_string()))?;
            let mut world = world(directory.path(), transport, users, runspaces)?;
            let report_of_sync = world.sync(SyncKind::Full, SyncTrigger::Manual).await.map_err(|error| failed("psrp")(error.to_string()))?;
            world.stop_engine().map_err(|error| failed("psrp")(error.to_string()))?;
            let act_ms = report_of_sync.phases_ms.iter().find(|(phase, _)| *phase == "act").map(|(_, ms)| *ms).unwrap_or(0);
            let cmdlets_per_s = report_of_sync.counts.cmdlets as f64 * 1000.0 / act_ms.max(1) as f64;
            let name = format!("full sync {} devices, {:?}, {runspaces} runspace(s)", users * 2, transport);
            line(&name, &report_of_sync);
            report("  cmdlets/s while acting", cmdlets_per_s, "cmdlets/s", "");
            results.push((transport, runspaces, report_of_sync.wall_ms, cmdlets_per_s));
        }
        if let (Some(inproc), Some(psrp)) = (results.first(), results.get(1)) {
            report("PSRP / in process, full sync wall time", psrp.2 as f64 / inproc.2.max(1) as f64, "ratio", "");
        }
        print(&format!("{}\n", json!(results.iter().map(|(transport, runspaces, wall_ms, rate)| json!({"transport": format!("{transport:?}"), "runspaces": runspaces, "wall_ms": wall_ms, "cmdlets_per_s": rate})).collect::<Vec<_>>())));
        Ok(())
    })
}

/// A Graph read of 100,000 managed devices × scale from the loopback fake, pages of 1,000.
pub fn graph(scale: u64) -> Result<(), CliError> {
    let devices = 100_000 * usize::try_from(scale).unwrap_or(1);
    let measurement = runtime()?
        .block_on(crate::testing::graph_bench::measure_graph_read(devices, 1_000))
        .map_err(failed("graph"))?;
    report(
        &format!("Graph read, {devices} managed devices"),
        measurement.wall_ms,
        "ms",
        &format!(
            "{} requests (+{} token), busiest 20 s: {}",
            measurement.graph_requests, measurement.token_requests, measurement.max_requests_in_20_s
        ),
    );
    Ok(())
}
