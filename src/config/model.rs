//! The typed configuration (DESIGN section 8), as `parse_config` returns it.

use std::net::SocketAddr;
use std::path::PathBuf;

use url::Url;

use crate::config::secret::SecretSource;
use crate::domain::event::PolicyAccessRule;
use crate::domain::vocabulary::{AccessLevel, ConnectorKind};

/// Quick (delta) sync interval when the file does not say (DESIGN section 3: 15 minutes).
pub const DEFAULT_QUICK_SYNC_INTERVAL_S: u64 = 900;
/// Full sync interval when the file does not say (daily).
pub const DEFAULT_FULL_SYNC_INTERVAL_S: u64 = 86_400;
/// Runspaces when `EnableParallelCommandSupport` is on and `MaxRunspaces` is not given.
pub const DEFAULT_MAX_RUNSPACES: u8 = 4;
/// Exchange's default throttling allows 18 shells per user; easgate never asks for more.
pub const MAX_RUNSPACES_LIMIT: u8 = 18;
/// Graph requests easgate allows itself per 20 s window: below Intune's 2,000 per app per tenant,
/// leaving room for other tools of the same app registration and for retries.
pub const DEFAULT_GRAPH_REQUESTS_PER_20_S: u32 = 1_500;
/// Intune's own limit per app per tenant per 20 s (reference/intune.md 1.8).
pub const INTUNE_REQUESTS_PER_20_S_LIMIT: u32 = 2_000;
pub const DEFAULT_AUTHORITY_URL: &str = "https://login.microsoftonline.com";
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com";

/// The whole file.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `None`: the command line's `--data` (default `./easgate-data`) applies.
    pub data_directory: Option<PathBuf>,
    pub admin_api: Option<AdminApiConfig>,
    pub tenant: TenantSource,
    pub policy: PolicySource,
    /// At least one; one per Exchange organisation.
    pub connectors: Vec<ConnectorConfig>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AdminApiConfig {
    pub listen: SocketAddr,
    pub token: SecretSource,
}

/// Where users, devices and (for `PolicySource::Graph`) the policy come from.
// Read once at start: the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum TenantSource {
    Graph(GraphTenantConfig),
    /// The simulated tenant (`easgate demo` / tests); it needs nothing more here.
    Simulated,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GraphTenantConfig {
    /// A GUID or a verified domain (`contoso.onmicrosoft.com`).
    pub tenant_id: String,
    /// The app registration's application (client) id.
    pub client_id: String,
    pub credential: GraphCredential,
    /// Entra ID's authority, without the tenant (national clouds: login.microsoftonline.us, ...).
    pub authority_url: Url,
    /// Graph's root (national clouds: graph.microsoft.us, microsoftgraph.chinacloudapi.cn, ...).
    pub graph_url: Url,
    /// easgate's own request budget per 20 s, at most Intune's 2,000.
    pub requests_per_20_s: u32,
    pub proxy: Option<ProxyConfig>,
}

/// How easgate proves it is the app registration.
#[derive(Debug, Clone, PartialEq)]
pub enum GraphCredential {
    /// `ClientSecretFile`: the client secret.
    ClientSecret(SecretSource),
    /// `ClientCertificateFile`: a PEM with the certificate and its private key (RSA); easgate
    /// signs a JWT client assertion with it.
    ClientCertificate(SecretSource),
}

/// Where the conditional-access policy comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicySource {
    /// Graph's `exchangeOnPremisesPolicy` + `conditionalAccessSettings`.
    Graph,
    /// Written in the file (`<Policy Source="Local">`).
    Local(LocalPolicy),
}

/// The section-2 policy fields, as `<Policy Source="Local">` holds them.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalPolicy {
    pub enabled: bool,
    pub included_groups: Vec<String>,
    pub excluded_groups: Vec<String>,
    pub default_access: AccessLevel,
    pub override_default_rule: bool,
    pub access_rules: Vec<PolicyAccessRule>,
    pub notification: NotificationContent,
}

/// The HTML of the quarantine mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationContent {
    /// easgate's own template.
    Default,
    Inline(String),
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorConfig {
    pub exchange_organization: String,
    pub server_kind: ConnectorKind,
    /// The remote PowerShell endpoint of the primary CAS.
    pub server_url: Url,
    pub authentication: ExchangeAuthentication,
    pub user: String,
    /// Required by every authentication easgate builds (Basic, NTLM, Kerberos); building the
    /// connector without it is an error naming `<PasswordFile>`.
    pub password: Option<SecretSource>,
    pub is_cas_failover_enabled: bool,
    pub enable_parallel_command_support: bool,
    /// The pool's bound when parallel commands are on (1..=18); `None`: the default (4).
    pub max_runspaces: Option<u8>,
    /// Verify Exchange's TLS certificates (EWS, Autodiscover, WinRM). Off only when the admin says so.
    pub tls_verify: bool,
    /// Extra CA certificates (PEM) to trust for Exchange, for an internal CA.
    pub trusted_ca_file: Option<PathBuf>,
    pub proxy: Option<ProxyConfig>,
    pub notification: Option<NotificationConfig>,
    pub quick_sync_interval_s: u64,
    pub full_sync_interval_s: u64,
}

impl ConnectorConfig {
    /// How many runspaces the connector may open: one unless parallel commands are on.
    pub fn effective_runspaces(&self) -> u8 {
        if self.enable_parallel_command_support { self.max_runspaces.unwrap_or(DEFAULT_MAX_RUNSPACES) } else { 1 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeAuthentication {
    Kerberos,
    Negotiate,
    Basic,
}

impl ExchangeAuthentication {
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeAuthentication::Kerberos => "Kerberos",
            ExchangeAuthentication::Negotiate => "Negotiate",
            ExchangeAuthentication::Basic => "Basic",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProxyConfig {
    pub url: Url,
    pub user: Option<String>,
    pub password: Option<SecretSource>,
}

/// The notification account that sends the quarantine mail through EWS.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationConfig {
    /// Its SMTP address (= its UPN), also the Basic-auth user.
    pub account: String,
    pub password: SecretSource,
    /// `None`: found with Autodiscover from the account's domain.
    pub exchange_web_service_url: Option<Url>,
}
