//! `validate`: what `easgate check` reports about a configuration that parsed: secrets that cannot
//! be read, settings that contradict each other, and risky choices. It reads files and the
//! environment, but never the network.

use std::fmt;
use std::path::Path;

use url::Url;

use crate::config::model::*;
use crate::config::parse::is_guid;
use crate::config::parse_policy::read_notification_file;
use crate::config::secret::SecretSource;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// easgate will not work as configured.
    Error,
    /// It works, but the admin should know.
    Warning,
}

/// One finding: what it is about (`Connector contoso / PasswordFile`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub subject: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(formatter, "{label}: {}: {}", self.subject, self.message)
    }
}

struct Findings(Vec<Problem>);

impl Findings {
    fn error(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem { severity: Severity::Error, subject: subject.into(), message: message.into() });
    }
    fn warning(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem { severity: Severity::Warning, subject: subject.into(), message: message.into() });
    }
}

/// Everything wrong with `config`, errors first; empty when it is ready to run.
pub fn validate(config: &Config) -> Vec<Problem> {
    let mut findings = Findings(Vec::new());
    if let Some(admin_api) = &config.admin_api {
        check_secret(&mut findings, "AdminApi / TokenFile", &admin_api.token);
        if !admin_api.listen.ip().is_loopback() {
            findings.warning("AdminApi / Listen", format!("{} is reachable from other machines", admin_api.listen));
        }
    }
    if let Some(directory) = &config.data_directory {
        check_data_directory(&mut findings, directory);
    }
    if let TenantSource::Graph(graph) = &config.tenant {
        check_graph_tenant(&mut findings, graph, &config.policy);
    }
    if let PolicySource::Local(policy) = &config.policy {
        check_local_policy(&mut findings, policy);
    }
    let mut organizations: Vec<String> = Vec::new();
    for connector in &config.connectors {
        let key = connector.exchange_organization.to_ascii_lowercase();
        if organizations.contains(&key) {
            findings.error(
                format!("Connector {}", connector.exchange_organization),
                "a second connector for the same Exchange organization (one connector per organization)",
            );
        }
        organizations.push(key);
        check_connector(&mut findings, connector);
    }
    findings.0.sort_by_key(|problem| problem.severity);
    findings.0
}

fn check_secret(findings: &mut Findings, subject: &str, source: &SecretSource) {
    if let Err(error) = source.read_bytes() {
        findings.error(subject, error.to_string());
        return;
    }
    if let SecretSource::File(path) = source {
        warn_if_world_readable(findings, subject, path);
    }
}

#[cfg(unix)]
fn warn_if_world_readable(findings: &mut Findings, subject: &str, path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.permissions().mode() & 0o004 != 0
    {
        findings.warning(subject, format!("{} is readable by every user (chmod o-r)", path.display()));
    }
}

#[cfg(not(unix))]
fn warn_if_world_readable(_findings: &mut Findings, _subject: &str, _path: &Path) {}

fn check_data_directory(findings: &mut Findings, directory: &Path) {
    match std::fs::metadata(directory) {
        Ok(metadata) if !metadata.is_dir() => {
            findings.error("DataDirectory", format!("{} is not a directory", directory.display()));
        }
        Ok(_) => {}
        Err(_) => {
            let parent_exists = directory.parent().map(|parent| parent.as_os_str().is_empty() || parent.is_dir());
            if parent_exists != Some(true) {
                findings.error("DataDirectory", format!("neither {} nor its parent exists", directory.display()));
            }
        }
    }
}

fn check_graph_tenant(findings: &mut Findings, graph: &GraphTenantConfig, policy: &PolicySource) {
    match &graph.credential {
        GraphCredential::ClientSecret(source) => check_secret(findings, "Tenant / ClientSecretFile", source),
        GraphCredential::ClientCertificate(source) => {
            check_secret(findings, "Tenant / ClientCertificateFile", source);
            if let Ok(bytes) = source.read_bytes()
                && let Err(error) = crate::graph::assertion::ClientCertificate::from_pem(&bytes)
            {
                findings.error("Tenant / ClientCertificateFile", error.to_string());
            }
        }
    }
    check_cloud_url(findings, "Tenant / AuthorityUrl", &graph.authority_url);
    check_cloud_url(findings, "Tenant / GraphUrl", &graph.graph_url);
    if let PolicySource::Local(local) = policy {
        for group in local.included_groups.iter().chain(&local.excluded_groups) {
            if !is_guid(group) {
                findings.error("Policy / Group", format!("{group:?} is not a GUID: Graph names groups by object id"));
            }
        }
    }
    if let Some(proxy) = &graph.proxy {
        check_proxy(findings, "Tenant / Proxy", proxy);
    }
}

/// Cloud endpoints carry the token: plain http only to this machine (tests).
fn check_cloud_url(findings: &mut Findings, subject: &str, url: &Url) {
    if url.scheme() != "https" && !is_loopback_url(url) {
        findings.error(subject, format!("{url} is not https"));
    }
}

fn is_loopback_url(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn check_local_policy(findings: &mut Findings, policy: &LocalPolicy) {
    if policy.enabled && policy.included_groups.is_empty() {
        findings.warning("Policy / IncludedGroups", "no group is included: no user is targeted");
    }
    for group in &policy.included_groups {
        if policy.excluded_groups.contains(group) {
            findings.warning("Policy / Group", format!("{group:?} is both included and excluded (excluded wins)"));
        }
    }
    if let NotificationContent::File(path) = &policy.notification
        && let Err(error) = read_notification_file(path)
    {
        findings.error("Policy / NotificationContentFile", error.to_string());
    }
}

fn check_connector(findings: &mut Findings, connector: &ConnectorConfig) {
    let subject = |what: &str| format!("Connector {} / {what}", connector.exchange_organization);
    if let Some(password) = &connector.password {
        check_secret(findings, &subject("PasswordFile"), password);
    }
    if connector.authentication == ExchangeAuthentication::Basic && connector.server_url.scheme() != "https" {
        findings.error(subject("ServerUrl"), "Basic authentication over plain http would send the password in clear");
    }
    if !connector.tls_verify {
        findings.warning(
            subject("TlsVerify"),
            "certificates are not verified: anyone on the path can impersonate Exchange",
        );
    }
    if let Some(path) = &connector.trusted_ca_file
        && let Err(error) = std::fs::read(path)
    {
        findings.error(subject("TrustedCaFile"), format!("{}: {error}", path.display()));
    }
    if !connector.enable_parallel_command_support && connector.max_runspaces.is_some_and(|runspaces| runspaces > 1) {
        findings.warning(subject("MaxRunspaces"), "ignored: EnableParallelCommandSupport is false (one runspace)");
    }
    if connector.quick_sync_interval_s >= connector.full_sync_interval_s {
        findings.warning(subject("QuickSyncIntervalSeconds"), "not shorter than the full sync interval");
    }
    if let Some(proxy) = &connector.proxy {
        check_proxy(findings, &subject("Proxy"), proxy);
    }
    match &connector.notification {
        Some(notification) => {
            check_secret(findings, &subject("Notification / PasswordFile"), &notification.password);
            if let Some(url) = &notification.exchange_web_service_url
                && url.scheme() != "https"
                && !is_loopback_url(url)
            {
                findings
                    .error(subject("ExchangeWebServiceURL"), "EWS over plain http would send the password in clear");
            }
        }
        None => findings.warning(subject("Notification"), "no notification account: quarantined users get no mail"),
    }
}

fn check_proxy(findings: &mut Findings, subject: &str, proxy: &ProxyConfig) {
    if let Some(password) = &proxy.password {
        check_secret(findings, &format!("{subject} / PasswordFile"), password);
    }
}
