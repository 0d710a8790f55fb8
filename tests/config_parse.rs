//! The configuration file: the annotated example parses with the values it shows, defaults
//! apply, a local policy reads, and every bad input is one error naming line, column and element.

use std::path::PathBuf;

use easgate::config::*;
use easgate::domain::vocabulary::{AccessLevel, ConnectorKind, RuleMatch};

fn example_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/config/easgate.example.xml")
}

const MINIMAL: &str = r#"<EasGate>
  <Tenant Source="Simulated"/>
  <Policy Source="Graph"/>
  <Connector>
    <ExchangeOrganization>contoso</ExchangeOrganization>
    <ServerUrl>https://cas1.contoso.com/PowerShell/</ServerUrl>
    <User>CONTOSO\svc</User>
  </Connector>
</EasGate>"#;

#[test]
fn the_annotated_example_parses_with_the_values_it_shows() {
    let config = load_config(&example_path()).expect("the example is valid");
    assert_eq!(config.data_directory, Some(PathBuf::from("/var/lib/easgate")));
    let admin = config.admin_api.expect("admin api");
    assert_eq!(admin.listen.to_string(), "127.0.0.1:8470");
    assert_eq!(admin.token, SecretSource::File("/etc/easgate/admin.token".into()));
    let TenantSource::Graph(graph) = &config.tenant else { panic!("Graph tenant expected") };
    assert_eq!(graph.tenant_id, "contoso.onmicrosoft.com");
    assert_eq!(graph.credential, GraphCredential::ClientSecret(SecretSource::File("/etc/easgate/graph.secret".into())));
    assert_eq!(graph.authority_url.as_str(), "https://login.microsoftonline.com/");
    assert_eq!(graph.requests_per_20_s, 1500);
    assert_eq!(graph.proxy, None, "an empty proxy Url is no proxy");
    assert_eq!(config.policy, PolicySource::Graph);
    let connector = &config.connectors[0];
    assert_eq!(connector.exchange_organization, "contoso");
    assert_eq!(connector.server_kind, ConnectorKind::OnPremises);
    assert_eq!(connector.authentication, ExchangeAuthentication::Kerberos);
    assert_eq!(connector.max_runspaces, Some(4));
    assert_eq!(connector.effective_runspaces(), 1, "parallel commands are off");
    assert!(connector.tls_verify && connector.is_cas_failover_enabled);
    assert_eq!(connector.proxy.as_ref().map(|proxy| proxy.url.as_str()), Some("http://proxy.contoso.com:3128/"));
    let notification = connector.notification.as_ref().expect("notification");
    assert_eq!(notification.account, "notify@contoso.com");
    assert_eq!(
        notification.exchange_web_service_url.as_ref().map(|url| url.as_str()),
        Some("https://mail.contoso.com/EWS/Exchange.asmx")
    );
    assert_eq!((connector.quick_sync_interval_s, connector.full_sync_interval_s), (900, 86_400));
}

#[test]
fn defaults_apply_to_a_minimal_file() {
    let config = parse_config(MINIMAL).expect("minimal file");
    assert_eq!(config.tenant, TenantSource::Simulated);
    assert_eq!(config.data_directory, None);
    let connector = &config.connectors[0];
    assert_eq!(connector.quick_sync_interval_s, DEFAULT_QUICK_SYNC_INTERVAL_S);
    assert_eq!(connector.full_sync_interval_s, DEFAULT_FULL_SYNC_INTERVAL_S);
    assert!(connector.is_cas_failover_enabled, "CAS failover is on by default");
    assert!(connector.tls_verify, "TLS is verified by default");
    assert!(!connector.enable_parallel_command_support);
    assert_eq!(connector.notification, None);
}

#[test]
fn several_connectors_a_certificate_and_env_secrets_read() {
    let text = r#"<EasGate>
  <Tenant Source="Graph">
    <TenantId>72f988bf-86f1-41af-91ab-2d7cd011db47</TenantId>
    <ClientId>00000000-0000-0000-0000-000000000000</ClientId>
    <ClientCertificateFile>env:EASGATE_GRAPH_PEM</ClientCertificateFile>
    <GraphUrl>http://127.0.0.1:9999</GraphUrl>
  </Tenant>
  <Policy Source="Graph"/>
  <Connector><ExchangeOrganization>contoso</ExchangeOrganization><ServerUrl>https://a/PowerShell/</ServerUrl><User>u</User>
    <Authentication>basic</Authentication><PasswordFile>env:EXCHANGE_PASSWORD</PasswordFile>
    <EnableParallelCommandSupport>TRUE</EnableParallelCommandSupport><MaxRunspaces>18</MaxRunspaces></Connector>
  <Connector><ExchangeOrganization>fabrikam</ExchangeOrganization><ServerKind>Hosted</ServerKind><ServerUrl>https://b/PowerShell/</ServerUrl><User>u</User></Connector>
</EasGate>"#;
    let config = parse_config(text).expect("valid");
    let TenantSource::Graph(graph) = &config.tenant else { panic!("Graph tenant expected") };
    assert_eq!(graph.credential, GraphCredential::ClientCertificate(SecretSource::Env("EASGATE_GRAPH_PEM".into())));
    assert_eq!(graph.graph_url.as_str(), "http://127.0.0.1:9999/");
    assert_eq!(config.connectors.len(), 2);
    assert_eq!(config.connectors[0].authentication, ExchangeAuthentication::Basic);
    assert_eq!(config.connectors[0].effective_runspaces(), 18);
    assert_eq!(config.connectors[1].server_kind, ConnectorKind::Hosted);
}

#[test]
fn a_local_policy_reads_into_the_tenant_policy() {
    let text = MINIMAL.replace(
        r#"<Policy Source="Graph"/>"#,
        r#"<Policy Source="Local">
    <Enabled>true</Enabled>
    <IncludedGroups><Group>eas-users</Group><Group>sales</Group></IncludedGroups>
    <ExcludedGroups><Group>executives</Group></ExcludedGroups>
    <DefaultAccessLevel>quarantine</DefaultAccessLevel>
    <OverrideDefaultRule>true</OverrideDefaultRule>
    <AccessRules>
      <AccessRule DeviceClass="iPhone" Type="Family" AccessLevel="Allow"/>
      <AccessRule DeviceClass="SM-G900F" Type="model" AccessLevel="Block"/>
    </AccessRules>
    <NotificationContent><![CDATA[<p>Enrol at <a href="{{EnrollmentUrl}}">the portal</a> &amp; more</p>]]></NotificationContent>
  </Policy>"#,
    );
    let config = parse_config(&text).expect("valid");
    let PolicySource::Local(local) = &config.policy else { panic!("local policy expected") };
    let policy = local.to_tenant_policy().expect("no file to read");
    assert!(policy.enabled && policy.override_default_rule);
    assert_eq!(policy.included_groups, vec!["eas-users", "sales"]);
    assert_eq!(policy.excluded_groups, vec!["executives"]);
    assert_eq!(policy.default_access, AccessLevel::Quarantine);
    assert_eq!(policy.access_rules[1].rule_match, RuleMatch::Model);
    assert_eq!(policy.access_rules[1].access, AccessLevel::Block);
    assert_eq!(policy.notification, r#"<p>Enrol at <a href="{{EnrollmentUrl}}">the portal</a> &amp; more</p>"#);
}

/// (what is wrong, the file, the error's line, column and a part of its message)
const BAD_FILES: &[(&str, &str, u32, u32, &str)] = &[
    (
        "unknown element",
        "<EasGate>\n  <Tenant Source=\"Simulated\"/>\n  <Policy Source=\"Graph\"/>\n  <Conector/>\n</EasGate>",
        4,
        3,
        "<EasGate>: unknown element Conector",
    ),
    (
        "unknown attribute",
        "<EasGate>\n  <Tenant Source=\"Simulated\" Region=\"eu\"/>\n</EasGate>",
        2,
        30,
        "<Tenant>: unknown attribute Region",
    ),
    (
        "inline client secret",
        "<EasGate>\n <Tenant Source=\"Graph\">\n  <TenantId>contoso.com</TenantId>\n  <ClientSecret>hunter2</ClientSecret>\n </Tenant>\n</EasGate>",
        4,
        3,
        "secrets are never written inline; use ClientSecretFile",
    ),
    (
        "inline notification password",
        "<EasGate><Tenant Source=\"Simulated\"/><Policy Source=\"Graph\"/><Connector><ExchangeOrganization>c</ExchangeOrganization>\n<ServerUrl>https://a/</ServerUrl><User>u</User>\n  <Notification Account=\"n@contoso.com\" Password=\"hunter2\"/></Connector></EasGate>",
        3,
        41,
        "attribute Password: secrets are never written inline",
    ),
    (
        "runspaces out of range",
        "<EasGate><Tenant Source=\"Simulated\"/><Policy Source=\"Graph\"/>\n<Connector><ExchangeOrganization>c</ExchangeOrganization><ServerUrl>https://a/</ServerUrl><User>u</User>\n    <MaxRunspaces>40</MaxRunspaces></Connector></EasGate>",
        3,
        19,
        "<MaxRunspaces>: 40 is out of range 1..=18",
    ),
    (
        "not a boolean",
        "<EasGate><Tenant Source=\"Simulated\"/><Policy Source=\"Graph\"/>\n<Connector><ExchangeOrganization>c</ExchangeOrganization><ServerUrl>https://a/</ServerUrl><User>u</User>\n<TlsVerify>yes</TlsVerify></Connector></EasGate>",
        3,
        12,
        "<TlsVerify>: expected true or false",
    ),
    (
        "bad URL",
        "<EasGate><Tenant Source=\"Simulated\"/><Policy Source=\"Graph\"/>\n<Connector><ExchangeOrganization>c</ExchangeOrganization>\n  <ServerUrl>cas1/PowerShell</ServerUrl></Connector></EasGate>",
        3,
        14,
        "<ServerUrl>: \"cas1/PowerShell\" is not a URL",
    ),
    (
        "missing required element",
        "<EasGate>\n  <Policy Source=\"Graph\"/>\n</EasGate>",
        1,
        1,
        "<EasGate>: <Tenant> is missing",
    ),
    (
        "bad access level in a local policy",
        "<EasGate><Tenant Source=\"Simulated\"/>\n<Policy Source=\"Local\"><Enabled>true</Enabled>\n<DefaultAccessLevel>Deny</DefaultAccessLevel></Policy></EasGate>",
        3,
        21,
        "<DefaultAccessLevel>: \"Deny\" is not one of Allow, Block, Quarantine",
    ),
    (
        "an unknown rule type",
        "<EasGate><Tenant Source=\"Simulated\"/>\n<Policy Source=\"Local\"><Enabled>true</Enabled><DefaultAccessLevel>Allow</DefaultAccessLevel>\n<AccessRules>\n  <AccessRule DeviceClass=\"iPhone\" Type=\"Brand\" AccessLevel=\"Allow\"/></AccessRules></Policy></EasGate>",
        4,
        36,
        "<AccessRule>: attribute Type: \"Brand\" is not one of Family, Model",
    ),
    (
        "a duplicated element",
        "<EasGate><Tenant Source=\"Simulated\"/><Policy Source=\"Graph\"/>\n<Connector><ExchangeOrganization>c</ExchangeOrganization><ServerUrl>https://a/</ServerUrl><User>u</User>\n<User>v</User></Connector></EasGate>",
        3,
        1,
        "<User>: appears more than once in <Connector>",
    ),
    ("not well-formed", "<EasGate>\n  <Tenant Source=\"Simulated\">\n</EasGate>", 3, 1, "not well-formed XML"),
    (
        "a bad client id",
        "<EasGate>\n <Tenant Source=\"Graph\">\n  <TenantId>contoso.onmicrosoft.com</TenantId>\n  <ClientId>my-app</ClientId>\n </Tenant>\n</EasGate>",
        4,
        13,
        "<ClientId>: \"my-app\" is not a GUID",
    ),
    (
        "basic without a password",
        "<EasGate><Tenant Source=\"Simulated\"/><Policy Source=\"Graph\"/>\n<Connector><ExchangeOrganization>c</ExchangeOrganization><ServerUrl>https://a/</ServerUrl><User>u</User><Authentication>Basic</Authentication></Connector></EasGate>",
        2,
        1,
        "Basic authentication needs <PasswordFile>",
    ),
];

#[test]
fn every_bad_file_is_one_error_naming_line_column_and_element() {
    let mut failures = Vec::new();
    for (what, text, line, column, expected) in BAD_FILES {
        match parse_config(text) {
            Ok(_) => failures.push(format!("{what}: accepted")),
            Err(error) => {
                let message = error.to_string();
                let position = error.position().map(|position| (position.line, position.column));
                if position != Some((*line, *column)) || !message.contains(expected) {
                    failures.push(format!(
                        "{what}: got {message:?} at {position:?}, expected {expected:?} at {line}:{column}"
                    ));
                }
                assert!(!message.contains("hunter2"), "{what}: an inline secret is never echoed");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_file_error_names_the_file() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("easgate.xml");
    std::fs::write(&path, "<EasGate>\n  <Bogus/>\n</EasGate>").unwrap();
    let message = load_config(&path).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("{}: line 2, column 3: <EasGate>: unknown element Bogus", path.display())),
        "{message}"
    );
    let missing = load_config(&directory.path().join("absent.xml")).unwrap_err();
    assert!(matches!(missing, ConfigError::Unreadable { .. }));
}
