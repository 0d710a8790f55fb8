//! Reads the configuration file (DESIGN section 8) into `Config`: every element of the format,
//! strictly. The local policy's elements are read in `parse_policy.rs`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::config::error::ConfigError;
use crate::config::model::*;
use crate::config::node::{Node, parse_url};
use crate::config::parse_policy::read_policy;
use crate::config::secret::SecretSource;
use crate::config::xml_tree::parse_tree;
use crate::domain::vocabulary::ConnectorKind;

/// The most `<Connector>`s one file may hold.
pub const MAX_CONNECTORS: usize = 64;

/// Reads and parses the file at `path`; errors name the file, line and column.
pub fn load_config(path: &Path) -> Result<Config, ConfigError> {
    let display = path.display().to_string();
    let metadata = std::fs::metadata(path)
        .map_err(|error| ConfigError::Unreadable { path: display.clone(), detail: error.to_string() })?;
    if metadata.len() > crate::config::xml_tree::MAX_FILE_BYTES as u64 {
        return Err(ConfigError::Unreadable { path: display, detail: "the file is larger than 1 MiB".to_string() });
    }
    let text = std::fs::read_to_string(path)
        .map_err(|error| ConfigError::Unreadable { path: display.clone(), detail: error.to_string() })?;
    parse_config(&text).map_err(|error| error.in_file(&display))
}

/// Parses the text of a configuration file.
pub fn parse_config(text: &str) -> Result<Config, ConfigError> {
    let tree = parse_tree(text.strip_prefix('\u{feff}').unwrap_or(text))?;
    let root = Node::new(&tree);
    if root.name() != "EasGate" {
        return Err(root.error("the root element must be <EasGate>"));
    }
    root.check_shape(&["DataDirectory", "AdminApi", "Tenant", "Policy", "Connector"], &[], false)?;
    let data_directory = root.child("DataDirectory")?.map(|node| node.leaf_text().map(PathBuf::from)).transpose()?;
    let admin_api = root.child("AdminApi")?.map(read_admin_api).transpose()?;
    let tenant = read_tenant(root.required_child("Tenant")?)?;
    let policy = read_policy(root.required_child("Policy")?)?;
    let mut connectors = Vec::new();
    for node in root.children("Connector") {
        if connectors.len() == MAX_CONNECTORS {
            return Err(node.error(format!("more than {MAX_CONNECTORS} connectors")));
        }
        connectors.push(read_connector(node)?);
    }
    if connectors.is_empty() {
        return Err(root.error("at least one <Connector> is required"));
    }
    Ok(Config { data_directory, admin_api, tenant, policy, connectors })
}

fn read_admin_api(node: Node) -> Result<AdminApiConfig, ConfigError> {
    node.check_shape(&[], &["Listen", "TokenFile"], false)?;
    let listen_attribute = node.attribute("Listen").ok_or_else(|| node.error("attribute Listen is missing"))?;
    let listen: SocketAddr = listen_attribute.value.parse().map_err(|_| {
        node.attribute_error(listen_attribute, format!("{:?} is not an address:port", listen_attribute.value))
    })?;
    let token_attribute = node.attribute("TokenFile").ok_or_else(|| node.error("attribute TokenFile is missing"))?;
    let token = SecretSource::parse(&token_attribute.value)
        .map_err(|message| node.attribute_error(token_attribute, message))?
        .ok_or_else(|| node.attribute_error(token_attribute, "a file path or env:NAME is required"))?;
    Ok(AdminApiConfig { listen, token })
}

fn read_tenant(node: Node) -> Result<TenantSource, ConfigError> {
    let source =
        node.attribute("Source").ok_or_else(|| node.error("attribute Source is missing (Graph | Simulated)"))?;
    match source.value.as_str() {
        "Simulated" => {
            node.check_shape(&[], &["Source"], false)?;
            Ok(TenantSource::Simulated)
        }
        "Graph" => read_graph_tenant(node).map(TenantSource::Graph),
        other => Err(node.attribute_error(source, format!("{other:?} is not one of Graph, Simulated"))),
    }
}

fn read_graph_tenant(node: Node) -> Result<GraphTenantConfig, ConfigError> {
    node.check_shape(
        &[
            "TenantId",
            "ClientId",
            "ClientSecretFile",
            "ClientCertificateFile",
            "AuthorityUrl",
            "GraphUrl",
            "RequestsPer20Seconds",
            "Proxy",
        ],
        &["Source"],
        false,
    )?;
    let tenant_id_node = node.required_child("TenantId")?;
    let tenant_id = tenant_id_node.leaf_text()?.to_string();
    if !is_guid(&tenant_id) && !is_domain_name(&tenant_id) {
        return Err(tenant_id_node.value_error(format!("{tenant_id:?} is neither a GUID nor a domain name")));
    }
    let client_id_node = node.required_child("ClientId")?;
    let client_id = client_id_node.leaf_text()?.to_string();
    if !is_guid(&client_id) {
        return Err(client_id_node.value_error(format!("{client_id:?} is not a GUID")));
    }
    let credential = match (node.child("ClientSecretFile")?, node.child("ClientCertificateFile")?) {
        (Some(secret), None) => GraphCredential::ClientSecret(secret.secret_value()?),
        (None, Some(certificate)) => GraphCredential::ClientCertificate(certificate.secret_value()?),
        (Some(_), Some(certificate)) => {
            return Err(certificate.error("give either <ClientSecretFile> or <ClientCertificateFile>, not both"));
        }
        (None, None) => return Err(node.error("<ClientSecretFile> or <ClientCertificateFile> is required")),
    };
    let authority_url = optional_url(node, "AuthorityUrl", DEFAULT_AUTHORITY_URL)?;
    let graph_url = optional_url(node, "GraphUrl", DEFAULT_GRAPH_URL)?;
    let requests_per_20_s = match node.child("RequestsPer20Seconds")? {
        Some(child) => child.number_value(1..=INTUNE_REQUESTS_PER_20_S_LIMIT)?,
        None => DEFAULT_GRAPH_REQUESTS_PER_20_S,
    };
    let proxy = node.child("Proxy")?.map(read_proxy).transpose()?.flatten();
    Ok(GraphTenantConfig { tenant_id, client_id, credential, authority_url, graph_url, requests_per_20_s, proxy })
}

fn optional_url(node: Node, name: &str, default: &str) -> Result<url::Url, ConfigError> {
    match node.child(name)? {
        Some(child) => child.url_value(),
        None => parse_url(default).map_err(|message| node.error(message)),
    }
}

/// `<Proxy Url=".." User=".." PasswordFile=".."/>`; an empty Url means no proxy.
fn read_proxy(node: Node) -> Result<Option<ProxyConfig>, ConfigError> {
    node.check_shape(&[], &["Url", "User", "PasswordFile"], false)?;
    let Some(url_attribute) = node.attribute("Url").filter(|attribute| !attribute.value.trim().is_empty()) else {
        return Ok(None);
    };
    let url = parse_url(url_attribute.value.trim()).map_err(|message| node.attribute_error(url_attribute, message))?;
    let user =
        node.attribute("User").map(|attribute| attribute.value.trim().to_string()).filter(|user| !user.is_empty());
    let password = match node.attribute("PasswordFile") {
        Some(attribute) => {
            SecretSource::parse(&attribute.value).map_err(|message| node.attribute_error(attribute, message))?
        }
        None => None,
    };
    if password.is_some() && user.is_none() {
        return Err(node.error("PasswordFile without User"));
    }
    Ok(Some(ProxyConfig { url, user, password }))
}

const CONNECTOR_CHILDREN: [&str; 15] = [
    "ExchangeOrganization",
    "ServerKind",
    "ServerUrl",
    "Authentication",
    "User",
    "PasswordFile",
    "IsCasFailoverEnabled",
    "EnableParallelCommandSupport",
    "MaxRunspaces",
    "TlsVerify",
    "TrustedCaFile",
    "Proxy",
    "Notification",
    "QuickSyncIntervalSeconds",
    "FullSyncIntervalSeconds",
];

fn read_connector(node: Node) -> Result<ConnectorConfig, ConfigError> {
    node.check_shape(&CONNECTOR_CHILDREN, &[], false)?;
    let exchange_organization = node.required_child("ExchangeOrganization")?.leaf_text()?.to_string();
    let server_kind = match node.child("ServerKind")? {
        Some(child) => {
            child.choice_value(&[("OnPremises", ConnectorKind::OnPremises), ("Hosted", ConnectorKind::Hosted)])?
        }
        None => ConnectorKind::OnPremises,
    };
    let server_url = node.required_child("ServerUrl")?.url_value()?;
    let authentication = match node.child("Authentication")? {
        Some(child) => child.choice_value(&[
            ("Kerberos", ExchangeAuthentication::Kerberos),
            ("Negotiate", ExchangeAuthentication::Negotiate),
            ("Basic", ExchangeAuthentication::Basic),
        ])?,
        None => ExchangeAuthentication::Kerberos,
    };
    let user = node.required_child("User")?.leaf_text()?.to_string();
    let password = node.child("PasswordFile")?.map(|child| child.secret_value()).transpose()?;
    if authentication == ExchangeAuthentication::Basic && password.is_none() {
        return Err(node.error("Basic authentication needs <PasswordFile>"));
    }
    let flag = |name: &str, default: bool| -> Result<bool, ConfigError> {
        node.child(name)?.map(|child| child.bool_value()).transpose().map(|value| value.unwrap_or(default))
    };
    let number = |name: &str, range: std::ops::RangeInclusive<u64>, default: u64| -> Result<u64, ConfigError> {
        node.child(name)?.map(|child| child.number_value(range)).transpose().map(|value| value.unwrap_or(default))
    };
    let max_runspaces =
        node.child("MaxRunspaces")?.map(|child| child.number_value(1..=MAX_RUNSPACES_LIMIT)).transpose()?;
    let quick_sync_interval_s = number("QuickSyncIntervalSeconds", 60..=86_400, DEFAULT_QUICK_SYNC_INTERVAL_S)?;
    let full_sync_interval_s = number("FullSyncIntervalSeconds", 3_600..=2_592_000, DEFAULT_FULL_SYNC_INTERVAL_S)?;
    Ok(ConnectorConfig {
        exchange_organization,
        server_kind,
        server_url,
        authentication,
        user,
        password,
        is_cas_failover_enabled: flag("IsCasFailoverEnabled", true)?,
        enable_parallel_command_support: flag("EnableParallelCommandSupport", false)?,
        max_runspaces,
        tls_verify: flag("TlsVerify", true)?,
        trusted_ca_file: node.child("TrustedCaFile")?.map(|child| child.leaf_text().map(PathBuf::from)).transpose()?,
        proxy: node.child("Proxy")?.map(read_proxy).transpose()?.flatten(),
        notification: node.child("Notification")?.map(read_notification).transpose()?,
        quick_sync_interval_s,
        full_sync_interval_s,
    })
}

fn read_notification(node: Node) -> Result<NotificationConfig, ConfigError> {
    node.check_shape(&["ExchangeWebServiceURL"], &["Account", "PasswordFile"], false)?;
    let account_attribute = node.attribute("Account").ok_or_else(|| node.error("attribute Account is missing"))?;
    let account = account_attribute.value.trim().to_string();
    if !is_mail_address(&account) {
        return Err(node.attribute_error(account_attribute, format!("{account:?} is not an SMTP address")));
    }
    let password_attribute =
        node.attribute("PasswordFile").ok_or_else(|| node.error("attribute PasswordFile is missing"))?;
    let password = SecretSource::parse(&password_attribute.value)
        .map_err(|message| node.attribute_error(password_attribute, message))?
        .ok_or_else(|| node.attribute_error(password_attribute, "a file path or env:NAME is required"))?;
    let exchange_web_service_url = node.child("ExchangeWebServiceURL")?.map(|child| child.url_value()).transpose()?;
    Ok(NotificationConfig { account, password, exchange_web_service_url })
}

pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, length)| {
            group.len() == length && group.chars().all(|character| character.is_ascii_hexdigit())
        })
}

pub fn is_domain_name(text: &str) -> bool {
    let labels: Vec<&str> = text.split('.').collect();
    text.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|character| character.is_ascii_alphanumeric() || character == '-')
        })
}

pub fn is_mail_address(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !local.chars().any(|character| character.is_whitespace() || character == '@')
                && is_domain_name(domain)
        }
        None => false,
    }
}
