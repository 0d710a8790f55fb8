//! Measuring the real path at scale, for `easgate bench` and `examples/daemon_measure.rs`: a
//! generated tenant served by the loopback fake Graph (pages of `page_size`), the same devices
//! as partnerships of a simulated Exchange organisation served over WS-Management/PSRP (https,
//! Basic), a configuration file pointing at both, and syncs run exactly as `easgate sync` runs
//! them (adapters built from the file, the organisation's log opened, synced, closed). Reported:
//! wall time, Graph and WinRM requests, and what the sync did.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use secrecy::SecretString;

use crate::clock::{Clock, SystemClock, VirtualClock};
use crate::domain::event::SyncCounts;
use crate::domain::vocabulary::{AccessLevel, SyncKind};
use crate::exchange::ExchangeConnector;
use crate::exchange::psrp_server::{PsrpServer, PsrpServerConfig, RequestCounts, RunningPsrpServer};
use crate::sim::SimExchange;
use crate::sim::exchange::{DEFAULT_SERVICE_ACCOUNT, DeviceSpec, MailboxSpec, OrganizationSpec};
use crate::testing::fake_graph::{FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FAKE_TENANT_ID, FakeGraph, FakeGraphOptions};
use crate::testing::fake_graph_data::FakeTenantData;

const EXCHANGE_USER: &str = "CONTOSO\\svc-easgate";
/// A loopback test credential, never a real secret.
const EXCHANGE_PASSWORD: &str = "measure-password";
pub const ADMIN_TOKEN: &str = "measure-admin-token";

/// The generated tenant and organisation, and a configuration for them.
pub struct GeneratedOrganization {
    pub directory: tempfile::TempDir,
    pub graph: FakeGraph,
    pub exchange: SimExchange,
    pub psrp: RunningPsrpServer,
    pub devices: usize,
}

/// What one measured sync did.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncMeasurement {
    pub kind: SyncKind,
    pub ok: bool,
    pub error: Option<String>,
    /// `easgate sync` end to end: the log opened (snapshot + tail), the sync, the log closed.
    pub wall_ms: f64,
    /// The engine's sync alone.
    pub sync_wall_ms: u64,
    pub counts: SyncCounts,
    pub graph_requests: u64,
    pub token_requests: u64,
    /// WinRM requests (Create, Command, Send, Receive, Signal, Delete) the sync sent.
    pub winrm_requests: u64,
}

fn total(counts: RequestCounts) -> u64 {
    counts.creates + counts.commands + counts.sends + counts.receives + counts.signals + counts.deletes
}

/// The partnerships of the generated tenant's devices: device `index` belongs to user
/// `index / 2` and is the tenant's `EAS{index:013}` (see `FakeTenantData::generated`).
fn generated_partnerships(devices: usize) -> (Vec<MailboxSpec>, Vec<(String, DeviceSpec)>) {
    let users = devices.div_ceil(2).max(1);
    let mailboxes = (0..users)
        .map(|index| {
            let upn = format!("user{index:06}@contoso.test");
            MailboxSpec { smtp: upn.clone(), upn }
        })
        .collect();
    let partnerships = (0..devices)
        .map(|index| {
            let device = if index.is_multiple_of(2) {
                DeviceSpec::new(&format!("EAS{index:013}"), "iPhone", "iPhone 15", "iOS 17.4")
            } else {
                DeviceSpec::new(&format!("EAS{index:013}"), "Android", "Pixel 8", "Android 14")
            };
            (format!("user{:06}@contoso.test", index / 2), device)
        })
        .collect();
    (mailboxes, partnerships)
}

impl GeneratedOrganization {
    /// Starts the fakes; `runspaces` > 1 turns parallel commands on.
    pub async fn start(devices: usize, page_size: usize, runspaces: u8) -> Result<GeneratedOrganization, String> {
        let mut options = FakeGraphOptions::new(FakeTenantData::generated(devices));
        options.device_page_size = page_size;
        let graph = FakeGraph::start(options).await.map_err(|error| format!("fake Graph: {error}"))?;
        let spec =
            OrganizationSpec { name: "contoso".into(), cas: vec!["cas1".into()], default_access: AccessLevel::Allow };
        let clock: Arc<dyn Clock> = Arc::new(VirtualClock::scenario_start());
        let exchange = SimExchange::new(spec, clock).map_err(|error| error.to_string())?;
        let (mailboxes, partnerships) = generated_partnerships(devices);
        exchange.bulk_load(mailboxes, partnerships).map_err(|error| error.to_string())?;
        let listen = "127.0.0.1:0".parse().map_err(|error| format!("{error}"))?;
        let config = PsrpServerConfig::new(listen, EXCHANGE_USER, SecretString::from(EXCHANGE_PASSWORD));
        let backend: Arc<dyn ExchangeConnector> = Arc::new(exchange.connector(DEFAULT_SERVICE_ACCOUNT));
        let psrp = PsrpServer::start(config, backend).await.map_err(|error| format!("PSRP server: {error}"))?;
        let directory = tempfile::tempdir().map_err(|error| error.to_string())?;
        let organization = GeneratedOrganization { directory, graph, exchange, psrp, devices };
        organization.write_files(runspaces)?;
        Ok(organization)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.directory.path().join(name)
    }

    pub fn config_path(&self) -> PathBuf {
        self.path("easgate.xml")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.path("data")
    }

    fn write_files(&self, runspaces: u8) -> Result<(), String> {
        let write =
            |name: &str, text: &str| std::fs::write(self.path(name), text).map_err(|error| format!("{name}: {error}"));
        write("graph.secret", FAKE_CLIENT_SECRET)?;
        write("exchange.secret", EXCHANGE_PASSWORD)?;
        write("admin.token", ADMIN_TOKEN)?;
        write("exchange-ca.pem", self.psrp.certificate_pem.as_deref().unwrap_or(""))?;
        let path = |name: &str| self.path(name).display().to_string();
        let parallel = if runspaces > 1 {
            format!(
                "<EnableParallelCommandSupport>true</EnableParallelCommandSupport><MaxRunspaces>{runspaces}</MaxRunspaces>"
            )
        } else {
            String::new()
        };
        let config = format!(
            r#"<EasGate><DataDirectory>{data}</DataDirectory>
<AdminApi Listen="127.0.0.1:0" TokenFile="{token}"/>
<Tenant Source="Graph"><TenantId>{tenant}</TenantId><ClientId>{client}</ClientId>
<ClientSecretFile>{secret}</ClientSecretFile><AuthorityUrl>{graph}</AuthorityUrl><GraphUrl>{graph}</GraphUrl></Tenant>
<Policy Source="Graph"/>
<Connector><ExchangeOrganization>contoso</ExchangeOrganization><ServerUrl>{psrp}</ServerUrl>
<Authentication>Basic</Authentication><User>{user}</User><PasswordFile>{password}</PasswordFile>
<IsCasFailoverEnabled>false</IsCasFailoverEnabled>{parallel}<TrustedCaFile>{ca}</TrustedCaFile></Connector></EasGate>
"#,
            data = self.data_dir().display(),
            token = path("admin.token"),
            tenant = FAKE_TENANT_ID,
            client = FAKE_CLIENT_ID,
            secret = path("graph.secret"),
            graph = self.graph.base_url(),
            psrp = self.psrp.url(),
            user = EXCHANGE_USER,
            password = path("exchange.secret"),
            ca = path("exchange-ca.pem"),
        );
        write("easgate.xml", &config)
    }

    /// One sync as `easgate sync --config FILE` runs it.
    pub async fn measure_sync(&self, kind: SyncKind) -> Result<SyncMeasurement, String> {
        let config = crate::config::load_config(&self.config_path()).map_err(|error| error.to_string())?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let organization = crate::adapters::build_adapters(&config, &self.data_dir(), clock.clone())
            .map_err(|error| error.to_string())?
            .into_iter()
            .next()
            .ok_or("no connector")?;
        let (graph_before, tokens_before) = (self.graph.graph_requests(), self.graph.token_requests());
        let winrm_before = total(self.psrp.request_counts());
        let started = Instant::now();
        let report = crate::cli::sync::sync_once(organization, kind, clock).await.map_err(|error| error.to_string())?;
        Ok(SyncMeasurement {
            kind: report.kind,
            ok: report.ok,
            error: report.error,
            wall_ms: started.elapsed().as_secs_f64() * 1_000.0,
            sync_wall_ms: report.wall_ms,
            counts: report.counts,
            graph_requests: self.graph.graph_requests() - graph_before,
            token_requests: self.graph.token_requests() - tokens_before,
            winrm_requests: total(self.psrp.request_counts()) - winrm_before,
        })
    }
}

/// Resident memory of a process from `/proc/PID/status` (`VmRSS`, `VmHWM`), in bytes (Linux).
pub fn process_memory_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partnerships_match_the_generated_tenant() {
        let (mailboxes, partnerships) = generated_partnerships(5);
        assert_eq!(mailboxes.len(), 3);
        assert_eq!(partnerships[3].0, "user000001@contoso.test");
        assert_eq!(partnerships[3].1.device_id, "EAS0000000000003");
        let tenant = FakeTenantData::generated(5);
        let page: serde_json::Value =
            serde_json::from_str(&format!("[{}]", tenant.managed_devices.page_json(3, 1))).unwrap();
        assert_eq!(page[0]["easDeviceId"], "EAS0000000000003");
        assert_eq!(page[0]["userPrincipalName"], "user000001@contoso.test");
    }
}
