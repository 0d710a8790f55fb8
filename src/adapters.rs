//! The real adapters built from a parsed configuration: for each `<Connector>` (one per
//! Exchange organisation) the Exchange connector (remote PowerShell over WinRM), the tenant
//! (Graph or the simulated tenant, carrying the local policy when the file has one), the mailer
//! (EWS, or one that records that no notification account is configured), the engine's
//! settings and the organisation's data directory. `run`, `sync` and `check` all start here.
//!
//! Secrets are read from their files or variables when an adapter needs them and never logged.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::clock::Clock;
use crate::config::model::{Config, ConnectorConfig, ExchangeAuthentication, PolicySource, ProxyConfig, TenantSource};
use crate::domain::Event;
use crate::domain::event::ConnectorRegistered;
use crate::ews::EwsMailer;
use crate::exchange::ExchangeConnector;
use crate::exchange::psrp_connector::{PsrpConnector, PsrpConnectorConfig};
use crate::graph::GraphTenant;
use crate::mail::{Mail, MailError, Mailer};
use crate::sync::engine::EngineConfig;
use crate::sync::journal::{Journal, LogError};
use crate::tenant::{Tenant, TenantError, TenantPolicy, TenantSnapshot};
use crate::wsman::proxy::ProxySettings;
use crate::wsman::transport::Authentication;

/// The error code a notification gets when the connector has no `<Notification>` account.
pub const NO_NOTIFICATION_ACCOUNT_CODE: &str = "NoNotificationAccount";

/// Why the adapters cannot be built from the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    /// A setting easgate cannot honour. **Handling:** exit 2; the admin changes the element named.
    #[error("Connector {organization} / <{element}>: {message}")]
    Unsupported { organization: String, element: String, message: String },
    /// A secret, certificate or file an adapter needs cannot be read or used. **Handling:**
    /// exit 2 naming it; `easgate check` reports the same.
    #[error("{subject}: {detail}")]
    Unusable { subject: String, detail: String },
}

/// Everything one organisation's engine runs on.
pub struct OrganizationAdapters {
    pub connector: ConnectorConfig,
    /// Stable for the same organisation, server and account (see `connector_id`).
    pub connector_id: String,
    pub data_dir: PathBuf,
    pub exchange: Arc<dyn ExchangeConnector>,
    pub tenant: Arc<dyn Tenant>,
    pub mailer: Arc<dyn Mailer>,
    pub engine_config: EngineConfig,
}

/// Builds the adapters of every connector. `default_data_dir` is the command line's `--data`,
/// used when the file has no `<DataDirectory>`. One tenant adapter is shared by all of them.
pub fn build_adapters(
    config: &Config,
    default_data_dir: &Path,
    clock: Arc<dyn Clock>,
) -> Result<Vec<OrganizationAdapters>, AdapterError> {
    let tenant = build_tenant(config, clock)?;
    config
        .connectors
        .iter()
        .map(|connector| {
            Ok(OrganizationAdapters {
                connector: connector.clone(),
                connector_id: connector_id(connector),
                data_dir: data_dir_for(config, default_data_dir, connector),
                exchange: Arc::new(build_exchange(connector)?),
                tenant: tenant.clone(),
                mailer: build_mailer(connector)?,
                engine_config: engine_config(connector),
            })
        })
        .collect()
}

/// The data directory of a connector: `<DataDirectory>` itself when the file has one
/// connector, `<DataDirectory>/<organization>` when it has several.
pub fn data_dir_for(config: &Config, default_data_dir: &Path, connector: &ConnectorConfig) -> PathBuf {
    let root = config.data_directory.clone().unwrap_or_else(|| default_data_dir.to_path_buf());
    if config.connectors.len() <= 1 {
        return root;
    }
    root.join(directory_name(&connector.exchange_organization))
}

/// An organisation's name as a directory name: letters, digits, `-`, `_` and `.` kept, anything
/// else (a path separator, a space) replaced by `_`, never `.` or `..` alone.
pub fn directory_name(organization: &str) -> String {
    let name: String =
        organization
            .trim()
            .chars()
            .map(|character| {
                if character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '.') { character } else { '_' }
            })
            .collect();
    if name.is_empty() || name.chars().all(|character| character == '.') { format!("org_{name}") } else { name }
}

/// The connector's id: a UUID derived from the organisation, the server URL and the account,
/// so the same configuration keeps its id across restarts, and pointing the organisation at
/// another server or account registers a new connector that replaces the old one.
pub fn connector_id(connector: &ConnectorConfig) -> String {
    let identity = format!(
        "easgate-connector\n{}\n{}\n{}",
        connector.exchange_organization.to_lowercase(),
        connector.server_url.as_str().to_lowercase(),
        connector.user.to_lowercase()
    );
    let digest = blake3::hash(identity.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_bytes()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

/// The engine's settings for a connector.
pub fn engine_config(connector: &ConnectorConfig) -> EngineConfig {
    EngineConfig {
        connector_id: connector_id(connector),
        organization: connector.exchange_organization.clone(),
        runspaces_max: usize::from(connector.effective_runspaces()),
        cas_failover: connector.is_cas_failover_enabled,
        ..EngineConfig::default()
    }
}

/// The remote-PowerShell connector of `<Connector>` with the password from `<PasswordFile>`,
/// `TlsVerify`, `TrustedCaFile`: Basic over https; Negotiate (NTLM) or Kerberos over https, or
/// over plain http with every message sealed (MS-WSMV HTTP message encryption). Kerberos asks
/// the KDC of the user's realm (`user@REALM`) found in krb5.conf or `SSPI_KDC_URL`; see
/// `crate::wsman::kerberos`.
pub fn build_exchange(connector: &ConnectorConfig) -> Result<PsrpConnector, AdapterError> {
    let organization = connector.exchange_organization.clone();
    if connector.authentication == ExchangeAuthentication::Kerberos
        && let Err(error) = crate::wsman::kerberos::split_principal(&connector.user)
    {
        return Err(AdapterError::Unsupported { organization, element: "User".into(), message: error.to_string() });
    }
    let unusable = |what: &str, detail: String| AdapterError::Unusable {
        subject: format!("Connector {organization} / {what}"),
        detail,
    };
    let password_source = connector.password.as_ref().ok_or_else(|| {
        unusable("PasswordFile", format!("{} authentication needs it", connector.authentication.as_str()))
    })?;
    let password = password_source.read().map_err(|error| unusable("PasswordFile", error.to_string()))?;
    let mut psrp = PsrpConnectorConfig::basic(
        connector.server_url.as_str(),
        &connector.user,
        SecretString::from(password.expose().to_string()),
    );
    // The transport seals every message itself when the URL is plain http.
    let (user, password) = (connector.user.clone(), SecretString::from(password.expose().to_string()));
    psrp.authentication = match connector.authentication {
        ExchangeAuthentication::Basic => psrp.authentication,
        ExchangeAuthentication::Negotiate => Authentication::Negotiate { user, password },
        ExchangeAuthentication::Kerberos => Authentication::Kerberos { user, password, kdc_url: None },
    };
    psrp.server_url_template = server_url_template(&connector.server_url);
    psrp.tls_verify = connector.tls_verify;
    if let Some(path) = &connector.trusted_ca_file {
        let pem =
            std::fs::read(path).map_err(|error| unusable("TrustedCaFile", format!("{}: {error}", path.display())))?;
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| {
            unusable("TrustedCaFile", format!("{} holds no PEM certificate: {error}", path.display()))
        })?;
        psrp.extra_root_certificate_pem = Some(pem);
    }
    if let Some(proxy) = &connector.proxy {
        psrp.proxy = Some(proxy_settings(proxy).map_err(|detail| unusable("Proxy", detail))?);
    }
    Ok(PsrpConnector::new(psrp))
}

/// The WinRM transport's proxy from `<Proxy Url User PasswordFile>`, the password read now.
fn proxy_settings(proxy: &ProxyConfig) -> Result<ProxySettings, String> {
    let password = match &proxy.password {
        Some(source) => {
            Some(SecretString::from(source.read().map_err(|error| error.to_string())?.expose().to_string()))
        }
        None => None,
    };
    Ok(ProxySettings { url: proxy.url.to_string(), user: proxy.user.clone(), password })
}

/// The endpoint of another Client Access Server: the primary's URL with its host replaced by
/// `{server}` (same scheme, port and path).
pub fn server_url_template(server_url: &url::Url) -> String {
    let port = server_url.port().map(|port| format!(":{port}")).unwrap_or_default();
    format!("{}://{{server}}{port}{}", server_url.scheme(), server_url.path())
}

/// The tenant of `<Tenant>`, carrying the policy of `<Policy Source="Local">` in every read.
pub fn build_tenant(config: &Config, clock: Arc<dyn Clock>) -> Result<Arc<dyn Tenant>, AdapterError> {
    let tenant: Arc<dyn Tenant> = match &config.tenant {
        TenantSource::Graph(_) => Arc::new(
            GraphTenant::from_config(config, clock)
                .map_err(|error| AdapterError::Unusable { subject: "Tenant".into(), detail: error.to_string() })?,
        ),
        TenantSource::Simulated => Arc::new(crate::sim::SimTenant::new()),
    };
    match &config.policy {
        PolicySource::Graph => Ok(tenant),
        PolicySource::Local(local) => {
            let policy = local
                .to_tenant_policy()
                .map_err(|error| AdapterError::Unusable { subject: "Policy".into(), detail: error.to_string() })?;
            Ok(Arc::new(LocalPolicyTenant { inner: tenant, policy }))
        }
    }
}

/// A tenant whose reads carry the configuration's policy (`<Policy Source="Local">`).
pub struct LocalPolicyTenant {
    pub inner: Arc<dyn Tenant>,
    pub policy: TenantPolicy,
}

#[async_trait]
impl Tenant for LocalPolicyTenant {
    async fn read(&self, since: Option<&str>) -> Result<TenantSnapshot, TenantError> {
        let mut snapshot = self.inner.read(since).await?;
        snapshot.policy = Some(self.policy.clone());
        Ok(snapshot)
    }
}

/// The mailer of a connector: EWS as its `<Notification>` account, or `NoNotificationMailer`.
pub fn build_mailer(connector: &ConnectorConfig) -> Result<Arc<dyn Mailer>, AdapterError> {
    match EwsMailer::from_connector(connector) {
        Ok(Some(mailer)) => Ok(Arc::new(mailer)),
        Ok(None) => Ok(Arc::new(NoNotificationMailer)),
        Err(error) => Err(AdapterError::Unusable {
            subject: format!("Connector {} / Notification", connector.exchange_organization),
            detail: error.to_string(),
        }),
    }
}

/// Without a notification account no mail can go out: every send is a non-retryable failure,
/// recorded as `NotificationFailed`, so the log says why the user got no mail.
pub struct NoNotificationMailer;

#[async_trait]
impl Mailer for NoNotificationMailer {
    async fn send(&self, _mail: &Mail) -> Result<(), MailError> {
        Err(MailError::Rejected {
            code: NO_NOTIFICATION_ACCOUNT_CODE.into(),
            message: "no notification account configured (<Notification> in the connector)".into(),
        })
    }
}

/// Registers the connector in its organisation's log before the engine starts: once per id,
/// with `replaces` naming the organisation's current connector when this one is new. Returns
/// the id replaced, if any.
pub fn register_connector(journal: &mut Journal, adapters: &OrganizationAdapters) -> Result<Option<String>, LogError> {
    let projection = journal.projection();
    if projection.connectors.contains_key(&adapters.connector_id) {
        return Ok(None);
    }
    let organization = &adapters.connector.exchange_organization;
    let replaces = projection
        .connectors
        .values()
        .filter(|known| known.replaced_by.is_none() && known.organization.eq_ignore_ascii_case(organization))
        .max_by_key(|known| known.registered_at_us)
        .map(|known| known.connector_id.clone());
    let registered = Event::ConnectorRegistered(ConnectorRegistered {
        connector_id: adapters.connector_id.clone(),
        organization: organization.clone(),
        server: adapters.exchange.primary_server(),
        kind: adapters.connector.server_kind,
        replaces: replaces.clone(),
    });
    journal.record(None, vec![registered])?;
    journal.commit()?;
    Ok(replaces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connector(xml_connector: &str) -> Config {
        let text = format!(r#"<EasGate><Tenant Source="Simulated"/><Policy Source="Graph"/>{xml_connector}</EasGate>"#);
        crate::config::parse_config(&text).expect("the test configuration parses")
    }

    const CONTOSO: &str = r#"<Connector><ExchangeOrganization>contoso</ExchangeOrganization>
        <ServerUrl>https://cas1.contoso.com:8443/PowerShell/</ServerUrl><Authentication>Kerberos</Authentication>
        <User>CONTOSO\svc</User></Connector>"#;

    #[test]
    fn connector_ids_are_stable_and_change_with_the_server() {
        let config = connector(CONTOSO);
        let first = connector_id(&config.connectors[0]);
        assert_eq!(first, connector_id(&config.connectors[0]));
        assert_eq!(first.len(), 36);
        let mut moved = config.connectors[0].clone();
        moved.server_url = url::Url::parse("https://cas2.contoso.com/PowerShell/").unwrap();
        assert_ne!(first, connector_id(&moved));
    }

    #[test]
    fn kerberos_needs_a_realm_in_the_user_and_a_password_file() {
        let bare = CONTOSO.replace(r"CONTOSO\svc", "svc");
        let error = build_exchange(&connector(&bare).connectors[0]).err().expect("no realm").to_string();
        assert!(error.starts_with("Connector contoso / <User>: unusable Kerberos user name"), "{error}");
        let with_realm = CONTOSO.replace(r"CONTOSO\svc", "svc@contoso.com");
        let error = build_exchange(&connector(&with_realm).connectors[0]).err().expect("no password").to_string();
        assert_eq!(error, "Connector contoso / PasswordFile: Kerberos authentication needs it");
    }

    #[test]
    fn negotiate_needs_a_password_file_and_builds_for_http_and_https() {
        let plain_http = CONTOSO.replace("https://cas1.contoso.com:8443", "http://cas1.contoso.com:5985");
        let negotiate = plain_http.replace(">Kerberos<", ">Negotiate<");
        let error = build_exchange(&connector(&negotiate).connectors[0]).err().expect("no password").to_string();
        assert_eq!(error, "Connector contoso / PasswordFile: Negotiate authentication needs it");

        let secret = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(secret.path(), "s3cret\n").unwrap();
        let with_password =
            negotiate.replace("</User>", &format!("</User><PasswordFile>{}</PasswordFile>", secret.path().display()));
        let built = build_exchange(&connector(&with_password).connectors[0]).expect("Negotiate over http builds");
        assert_eq!(built.primary_server(), "cas1.contoso.com");
        let over_https = with_password.replace("http://cas1.contoso.com:5985", "https://cas1.contoso.com");
        assert!(build_exchange(&connector(&over_https).connectors[0]).is_ok());
    }

    #[test]
    fn the_server_template_keeps_scheme_port_and_path() {
        let url = url::Url::parse("https://cas1.contoso.com:8443/PowerShell/").unwrap();
        assert_eq!(server_url_template(&url), "https://{server}:8443/PowerShell/");
    }

    #[test]
    fn directory_names_cannot_leave_the_data_directory() {
        assert_eq!(directory_name("contoso"), "contoso");
        assert_eq!(directory_name("../etc/passwd"), ".._etc_passwd");
        assert_eq!(directory_name(".."), "org_..");
        assert_eq!(directory_name("Contoso Ltd"), "Contoso_Ltd");
    }

    #[test]
    fn one_connector_uses_the_data_directory_itself_several_get_one_each() {
        let single = connector(CONTOSO);
        assert_eq!(data_dir_for(&single, Path::new("/d"), &single.connectors[0]), PathBuf::from("/d"));
        let fabrikam = CONTOSO.replace("contoso</Exchange", "fabrikam</Exchange");
        let double = connector(&format!("{CONTOSO}{fabrikam}"));
        assert_eq!(data_dir_for(&double, Path::new("/d"), &double.connectors[1]), PathBuf::from("/d/fabrikam"));
    }
}
