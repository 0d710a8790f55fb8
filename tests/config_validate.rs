//! `validate`: what `easgate check` lists about a configuration that parsed.

use easgate::config::*;

fn config_with(directory: &std::path::Path, connector_extra: &str, tenant: &str) -> Config {
    let text = format!(
        r#"<EasGate>
  <DataDirectory>{data}</DataDirectory>
  {tenant}
  <Policy Source="Graph"/>
  <Connector>
    <ExchangeOrganization>contoso</ExchangeOrganization>
    <ServerUrl>https://cas1.contoso.com/PowerShell/</ServerUrl>
    <User>CONTOSO\svc</User>
    {connector_extra}
  </Connector>
</EasGate>"#,
        data = directory.join("data").display(),
    );
    parse_config(&text).expect("parses")
}

fn write_secret(directory: &std::path::Path, name: &str, mode: u32) -> String {
    let path = directory.join(name);
    std::fs::write(&path, "s3cret\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    path.display().to_string()
}

#[test]
fn a_sound_configuration_has_no_problem() {
    let directory = tempfile::tempdir().unwrap();
    let notify = write_secret(directory.path(), "notify.secret", 0o600);
    let graph = write_secret(directory.path(), "graph.secret", 0o600);
    let tenant = format!(
        r#"<Tenant Source="Graph"><TenantId>contoso.onmicrosoft.com</TenantId>
        <ClientId>00000000-0000-0000-0000-000000000000</ClientId><ClientSecretFile>{graph}</ClientSecretFile></Tenant>"#
    );
    let notification = format!(r#"<Notification Account="notify@contoso.com" PasswordFile="{notify}"/>"#);
    let problems = validate(&config_with(directory.path(), &notification, &tenant));
    assert_eq!(problems, vec![]);
}

#[test]
fn unreadable_and_exposed_secrets_and_risky_settings_are_reported() {
    let directory = tempfile::tempdir().unwrap();
    let exposed = write_secret(directory.path(), "exchange.secret", 0o644);
    let missing = directory.path().join("absent.secret").display().to_string();
    let extra = format!(
        r#"<Authentication>Basic</Authentication><PasswordFile>{exposed}</PasswordFile>
        <TlsVerify>false</TlsVerify><MaxRunspaces>8</MaxRunspaces>
        <Notification Account="notify@contoso.com" PasswordFile="{missing}">
          <ExchangeWebServiceURL>http://mail.contoso.com/EWS/Exchange.asmx</ExchangeWebServiceURL>
        </Notification>"#
    );
    let tenant = r#"<Tenant Source="Graph"><TenantId>contoso.onmicrosoft.com</TenantId>
        <ClientId>00000000-0000-0000-0000-000000000000</ClientId><ClientSecretFile>env:EASGATE_TEST_UNSET_SECRET</ClientSecretFile>
        <GraphUrl>http://graph.contoso.com</GraphUrl></Tenant>"#;
    let problems = validate(&config_with(directory.path(), &extra, tenant));
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let has = |needle: &str| lines.iter().any(|line| line.contains(needle));
    assert!(has("error: Tenant / ClientSecretFile: secret env:EASGATE_TEST_UNSET_SECRET: is not set"), "{lines:#?}");
    assert!(has("error: Tenant / GraphUrl: http://graph.contoso.com/ is not https"), "{lines:#?}");
    assert!(has("error: Connector contoso / Notification / PasswordFile"), "{lines:#?}");
    assert!(has("error: Connector contoso / ExchangeWebServiceURL"), "{lines:#?}");
    assert!(has("warning: Connector contoso / PasswordFile") && has("readable by every user"), "{lines:#?}");
    assert!(has("warning: Connector contoso / TlsVerify"), "{lines:#?}");
    assert!(has("warning: Connector contoso / MaxRunspaces: ignored"), "{lines:#?}");
    assert_eq!(problems[0].severity, Severity::Error, "errors come first");
    assert!(!lines.iter().any(|line| line.contains("s3cret")), "a secret never appears");
}

#[test]
fn two_connectors_for_one_organization_are_an_error() {
    let text = r#"<EasGate><Tenant Source="Simulated"/><Policy Source="Graph"/>
      <Connector><ExchangeOrganization>contoso</ExchangeOrganization><ServerUrl>https://a/</ServerUrl><User>u</User></Connector>
      <Connector><ExchangeOrganization>Contoso</ExchangeOrganization><ServerUrl>https://b/</ServerUrl><User>u</User></Connector>
    </EasGate>"#;
    let problems = validate(&parse_config(text).unwrap());
    assert!(
        problems.iter().any(
            |problem| problem.severity == Severity::Error && problem.message.contains("same Exchange organization")
        ),
        "{problems:#?}"
    );
}

#[test]
fn a_local_policy_with_graph_needs_group_ids_and_a_readable_notification() {
    let directory = tempfile::tempdir().unwrap();
    let graph = write_secret(directory.path(), "graph.secret", 0o600);
    let text = format!(
        r#"<EasGate><Tenant Source="Graph"><TenantId>contoso.onmicrosoft.com</TenantId>
        <ClientId>00000000-0000-0000-0000-000000000000</ClientId><ClientSecretFile>{graph}</ClientSecretFile></Tenant>
      <Policy Source="Local"><Enabled>true</Enabled><IncludedGroups><Group>sales</Group></IncludedGroups>
        <DefaultAccessLevel>Block</DefaultAccessLevel><NotificationContentFile>{missing}</NotificationContentFile></Policy>
      <Connector><ExchangeOrganization>contoso</ExchangeOrganization><ServerUrl>https://a/</ServerUrl><User>u</User></Connector>
    </EasGate>"#,
        missing = directory.path().join("nope.html").display()
    );
    let problems = validate(&parse_config(&text).unwrap());
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(lines.iter().any(|line| line.contains("\"sales\" is not a GUID")), "{lines:#?}");
    assert!(
        lines.iter().any(|line| line.contains("NotificationContentFile") && line.contains("nope.html")),
        "{lines:#?}"
    );
}
