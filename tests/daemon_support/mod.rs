//! A test bed that speaks the real wire shapes, all on 127.0.0.1: a fake Entra ID + Graph
//! (the recorded contoso tenant), a fake EWS (https with the fixture CA), and a simulated
//! Exchange organisation served over WS-Management/PSRP (https with a generated certificate,
//! Basic authentication). It writes a configuration file pointing at them and runs the real
//! `easgate` binary against it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use easgate::clock::{Clock, SystemClock};
use easgate::domain::vocabulary::AccessLevel;
use easgate::exchange::ExchangeConnector;
use easgate::exchange::psrp_server::{PsrpServer, PsrpServerConfig, RunningPsrpServer};
use easgate::sim::SimExchange;
use easgate::sim::exchange::{DEFAULT_SERVICE_ACCOUNT, DeviceSpec, OrganizationSpec};
use easgate::testing::fake_ews::FakeEws;
use easgate::testing::fake_graph::{FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FAKE_TENANT_ID, FakeGraph, FakeGraphOptions};
use easgate::testing::fake_graph_data::FakeTenantData;
use easgate::testing::loopback_server::FIXTURE_CA_PEM;
use secrecy::SecretString;

pub const EXCHANGE_USER: &str = "CONTOSO\\svc-easgate";
pub const EXCHANGE_PASSWORD: &str = "exchange-password-for-tests";
pub const NOTIFY_ACCOUNT: &str = "notify@contoso.test";
pub const NOTIFY_PASSWORD: &str = "notify-password-for-tests";
pub const ADMIN_TOKEN: &str = "admin-token-for-tests-0123456789";
/// The hostile DeviceId of the recorded tenant: it must stay one string end to end.
pub const HOSTILE_DEVICE_ID: &str = "x\"; Remove-Mailbox -Identity *; \"";

/// The partnerships of the bed's organisation: (mailbox, DeviceId, type, model, OS).
pub const PARTNERSHIPS: [(&str, &str, &str, &str, &str); 5] = [
    ("alice@contoso.test", "ApplF17LTTCGFFG8", "iPhone", "iPhone 15", "iOS 17.4"),
    ("alice@contoso.test", "ApplDMPH2XYZ0001", "iPad", "iPad Air", "iPadOS 17.4"),
    ("bob@contoso.test", "androidc1234567890", "Android", "SM-G900F", "Android 14"),
    ("carol@contoso.test", "ApplCAROL0000001", "iPhone", "iPhone 13", "iOS 17.4"),
    ("erin@contoso.test", HOSTILE_DEVICE_ID, "iPhone", "iPhone 14", "iOS 17.4"),
];

pub struct Bed {
    pub directory: tempfile::TempDir,
    pub graph: FakeGraph,
    pub ews: FakeEws,
    pub exchange: SimExchange,
    pub psrp: RunningPsrpServer,
}

impl Bed {
    pub async fn start() -> Bed {
        let directory = tempfile::tempdir().expect("temp dir");
        let graph = FakeGraph::start(FakeGraphOptions::new(FakeTenantData::contoso())).await.expect("fake Graph");
        let ews = FakeEws::start(NOTIFY_ACCOUNT, NOTIFY_PASSWORD).await.expect("fake EWS");
        let exchange = contoso_organization();
        let psrp = serve_over_psrp(&exchange).await;
        let bed = Bed { directory, graph, ews, exchange, psrp };
        bed.write_secrets();
        bed.write_config(&bed.config_text());
        bed
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.directory.path().join(name)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.path("data")
    }

    pub fn config_path(&self) -> PathBuf {
        self.path("easgate.xml")
    }

    fn write_secrets(&self) {
        write_private(&self.path("graph.secret"), FAKE_CLIENT_SECRET);
        write_private(&self.path("exchange.secret"), EXCHANGE_PASSWORD);
        write_private(&self.path("notify.secret"), NOTIFY_PASSWORD);
        write_private(&self.path("admin.token"), ADMIN_TOKEN);
        // Exchange's CA for both endpoints: the PSRP server's generated certificate and the
        // fixture CA that signed the fake EWS's certificate.
        let psrp_certificate = self.psrp.certificate_pem.clone().expect("the PSRP server serves https");
        std::fs::write(self.path("exchange-ca.pem"), format!("{psrp_certificate}\n{FIXTURE_CA_PEM}")).expect("CA file");
    }

    /// The configuration for this bed (admin API on any free port).
    pub fn config_text(&self) -> String {
        let path = |name: &str| self.path(name).display().to_string();
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<EasGate>
  <DataDirectory>{data}</DataDirectory>
  <AdminApi Listen="127.0.0.1:0" TokenFile="{token}"/>
  <Tenant Source="Graph">
    <TenantId>{tenant}</TenantId>
    <ClientId>{client}</ClientId>
    <ClientSecretFile>{graph_secret}</ClientSecretFile>
    <AuthorityUrl>{graph_url}</AuthorityUrl>
    <GraphUrl>{graph_url}</GraphUrl>
  </Tenant>
  <Policy Source="Graph"/>
  <Connector>
    <ExchangeOrganization>contoso</ExchangeOrganization>
    <ServerUrl>{psrp_url}</ServerUrl>
    <Authentication>Basic</Authentication>
    <User>{user}</User>
    <PasswordFile>{exchange_secret}</PasswordFile>
    <TrustedCaFile>{ca}</TrustedCaFile>
    <Notification Account="{notify}" PasswordFile="{notify_secret}">
      <ExchangeWebServiceURL>https://127.0.0.1:{ews_port}/EWS/Exchange.asmx</ExchangeWebServiceURL>
    </Notification>
    <QuickSyncIntervalSeconds>60</QuickSyncIntervalSeconds>
    <FullSyncIntervalSeconds>3600</FullSyncIntervalSeconds>
  </Connector>
</EasGate>
"#,
            data = self.data_dir().display(),
            token = path("admin.token"),
            tenant = FAKE_TENANT_ID,
            client = FAKE_CLIENT_ID,
            graph_secret = path("graph.secret"),
            graph_url = self.graph.base_url(),
            psrp_url = self.psrp.url(),
            user = EXCHANGE_USER,
            exchange_secret = path("exchange.secret"),
            ca = path("exchange-ca.pem"),
            notify = NOTIFY_ACCOUNT,
            notify_secret = path("notify.secret"),
            ews_port = self.ews.port(),
        )
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(self.config_path(), text).expect("write config");
    }

    /// Runs `easgate` with `arguments` (and `--data` on the bed's data directory).
    pub async fn easgate(&self, arguments: &[&str]) -> Output {
        easgate_in(&self.data_dir(), arguments).await
    }

    /// `easgate <command> --config <bed config> ...`.
    pub async fn with_config(&self, command: &str, more: &[&str]) -> Output {
        let config = self.config_path().display().to_string();
        let mut arguments = vec![command, "--config", config.as_str()];
        arguments.extend_from_slice(more);
        self.easgate(&arguments).await
    }
}

pub async fn easgate_in(data_dir: &Path, arguments: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_easgate"))
        .arg("--data")
        .arg(data_dir)
        .args(arguments)
        .env_remove("EASGATE_DATA")
        .output()
        .await
        .expect("easgate runs")
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, format!("{text}\n")).expect("write secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

/// contoso: one CAS, default Allow, the bed's mailboxes and partnerships.
pub fn contoso_organization() -> SimExchange {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let spec =
        OrganizationSpec { name: "contoso".into(), cas: vec!["cas1".into()], default_access: AccessLevel::Allow };
    let exchange = SimExchange::new(spec, clock).expect("organisation");
    for (mailbox, device_id, device_type, model, os) in PARTNERSHIPS {
        exchange.ensure_mailbox(mailbox, mailbox).expect("mailbox");
        exchange.connect_device(mailbox, &DeviceSpec::new(device_id, device_type, model, os)).expect("partnership");
    }
    exchange
}

pub async fn serve_over_psrp(exchange: &SimExchange) -> RunningPsrpServer {
    let listen = "127.0.0.1:0".parse().expect("address");
    let config = PsrpServerConfig::new(listen, EXCHANGE_USER, SecretString::from(EXCHANGE_PASSWORD));
    let backend: Arc<dyn ExchangeConnector> = Arc::new(exchange.connector(DEFAULT_SERVICE_ACCOUNT));
    PsrpServer::start(config, backend).await.expect("PSRP server")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The exit code, with the output in the message when it is not `expected`.
pub fn assert_exit(output: &Output, expected: i32) {
    assert_eq!(
        output.status.code(),
        Some(expected),
        "exit code\n--- stdout\n{}\n--- stderr\n{}",
        stdout(output),
        stderr(output)
    );
}

/// JSON lines printed on stdout.
pub fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON: {line}: {error}")))
        .collect()
}
