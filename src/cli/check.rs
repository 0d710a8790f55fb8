//! `easgate check --config FILE`: a checklist, one line per item (`ok`, `FAIL`, `warn`) with
//! what to do about each failure: the configuration validates; per connector, Exchange answers
//! (the PSRP protocol version, the Client Access Servers) and every cmdlet easgate needs is
//! available to the account (Get-Command); the tenant issues a token and every Graph read
//! works; the policy is there, enabled, and its groups resolve; EWS is reachable (configured or
//! by Autodiscover) and accepts the notification account. Exit 0 when nothing fails, 1 when
//! something does, 2 when the file does not parse (the error names the line and column).

use std::sync::Arc;

use serde_json::json;

use crate::cli::output::{Format, print, print_json_line};
use crate::cli::{Cli, CliError, ConfigArgs};
use crate::clock::SystemClock;
use crate::config::model::{Config, ConnectorConfig, PolicySource, TenantSource};
use crate::config::{Severity, load_config, validate};
use crate::exchange::ExchangeError;
use crate::exchange::cmdlets::*;
use crate::graph::GraphTenant;
use crate::tenant::{TenantError, TenantPolicy, TenantUser};

/// Every cmdlet easgate runs, as Exchange spells it.
pub const REQUIRED_CMDLETS: [&str; 21] = [
    GetActiveSyncOrganizationSettings::NAME,
    SetActiveSyncOrganizationSettings::NAME,
    GetCasMailbox::NAME,
    SetCasMailbox::NAME,
    GetActiveSyncMailboxPolicy::NAME,
    SetActiveSyncMailboxPolicy::NAME,
    NewActiveSyncMailboxPolicy::NAME,
    RemoveActiveSyncMailboxPolicy::NAME,
    GetActiveSyncDeviceAccessRule::NAME,
    SetActiveSyncDeviceAccessRule::NAME,
    NewActiveSyncDeviceAccessRule::NAME,
    RemoveActiveSyncDeviceAccessRule::NAME,
    GetActiveSyncDeviceStatistics::NAME,
    GetActiveSyncDevice::NAME,
    GetExchangeServer::NAME,
    GetActiveSyncDeviceClass::NAME,
    GetRecipient::NAME,
    ClearActiveSyncDevice::NAME,
    RemoveActiveSyncDevice::NAME,
    SetAdServerSettings::NAME,
    GetCommand::NAME,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Fail,
    Warn,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Fail => "FAIL",
            Status::Warn => "warn",
        }
    }
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub status: Status,
    pub subject: String,
    pub message: String,
    /// What to do, for a failure or a warning.
    pub fix: Option<String>,
}

#[derive(Debug, Default)]
pub struct Checklist {
    pub items: Vec<Item>,
}

impl Checklist {
    fn push(&mut self, status: Status, subject: impl Into<String>, message: impl Into<String>, fix: Option<&str>) {
        let item = Item { status, subject: subject.into(), message: message.into(), fix: fix.map(str::to_string) };
        self.items.push(item);
    }
    fn ok(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.push(Status::Ok, subject, message, None);
    }
    fn fail(&mut self, subject: impl Into<String>, message: impl Into<String>, fix: &str) {
        self.push(Status::Fail, subject, message, Some(fix));
    }
    fn warn(&mut self, subject: impl Into<String>, message: impl Into<String>, fix: &str) {
        self.push(Status::Warn, subject, message, Some(fix));
    }
    pub fn failures(&self) -> Vec<&Item> {
        self.items.iter().filter(|item| item.status == Status::Fail).collect()
    }
}

pub fn run(cli: &Cli, args: &ConfigArgs) -> Result<(), CliError> {
    let config = load_config(&args.config).map_err(|error| CliError::Input(error.to_string()))?;
    let mut list = Checklist::default();
    check_configuration(&mut list, &config, &args.config.display().to_string());
    let runtime = crate::cli::runtime()?;
    runtime.block_on(async {
        check_tenant_and_policy(&mut list, &config).await;
        for connector in &config.connectors {
            check_exchange(&mut list, connector).await;
            check_ews(&mut list, connector).await;
        }
    });
    print_checklist(&list, cli.format);
    let failures = list.failures();
    if failures.is_empty() {
        return Ok(());
    }
    let subjects: Vec<&str> = failures.iter().map(|item| item.subject.as_str()).collect();
    Err(CliError::Failed(format!("{} check(s) failed: {}", failures.len(), subjects.join("; "))))
}

fn print_checklist(list: &Checklist, format: Format) {
    match format {
        Format::Json => {
            for item in &list.items {
                print_json_line(
                    &json!({"status": item.status.label(), "subject": item.subject, "message": item.message, "fix": item.fix}),
                );
            }
        }
        Format::Table => {
            let mut text = String::new();
            for item in &list.items {
                text.push_str(&format!("{:<4}  {}: {}", item.status.label(), item.subject, item.message));
                if let Some(fix) = &item.fix {
                    text.push_str(&format!(" -> {fix}"));
                }
                text.push('\n');
            }
            print(&text);
        }
    }
}

fn check_configuration(list: &mut Checklist, config: &Config, path: &str) {
    let problems = validate(config);
    if !problems.iter().any(|problem| problem.severity == Severity::Error) {
        let connectors = config.connectors.len();
        list.ok("Configuration", format!("{path} parses and validates ({connectors} connector(s))"));
    }
    for problem in problems {
        let subject = format!("Configuration / {}", problem.subject);
        match problem.severity {
            Severity::Error => list.fail(subject, problem.message, "fix the file or the secret it names"),
            Severity::Warning => list.warn(subject, problem.message, "fine if intended"),
        }
    }
}

async fn check_tenant_and_policy(list: &mut Checklist, config: &Config) {
    let local_policy = match &config.policy {
        PolicySource::Graph => None,
        PolicySource::Local(local) => match local.to_tenant_policy() {
            Ok(policy) => Some(policy),
            Err(error) => {
                list.fail("Policy", error.to_string(), "fix <Policy Source=\"Local\">");
                return;
            }
        },
    };
    let TenantSource::Graph(graph) = &config.tenant else {
        list.ok("Tenant", "simulated (built in; nothing to reach)");
        match local_policy {
            Some(policy) => check_policy(list, &policy, "local", None),
            None => list.warn(
                "Policy",
                "Source=\"Graph\" with a simulated tenant: there is no policy",
                "use <Policy Source=\"Local\">",
            ),
        }
        return;
    };
    let tenant = match GraphTenant::from_config(config, Arc::new(SystemClock)) {
        Ok(tenant) => tenant,
        Err(error) => return list.fail("Tenant", error.to_string(), "fix <Tenant>"),
    };
    let token_subject = format!("Tenant / token ({})", graph.authority_url);
    match tenant.check_credentials().await {
        Ok(()) => list.ok(token_subject, format!("a token was issued to {} for {}", graph.client_id, graph.tenant_id)),
        Err(error) => return list.fail(token_subject, error.to_string(), tenant_fix(&error)),
    }
    let (snapshot, stats) = match tenant.read_with_stats().await {
        Ok(read) => read,
        Err(error) => {
            return list.fail(format!("Tenant / read ({})", graph.graph_url), error.to_string(), tenant_fix(&error));
        }
    };
    let collections = [
        ("managedDevices", stats.managed_devices),
        ("users", stats.users),
        ("transitive members of the policy's groups", stats.group_members),
    ];
    for (name, collection) in collections {
        list.ok(
            format!("Tenant / {name}"),
            format!("{} record(s) in {} page(s)", collection.records, collection.pages),
        );
    }
    match (snapshot.policy.as_ref(), local_policy.as_ref()) {
        (_, Some(local)) => check_policy(list, local, "local", Some(&snapshot.users)),
        (Some(graph_policy), None) => check_policy(list, graph_policy, "Graph", Some(&snapshot.users)),
        (None, None) => list.fail(
            "Policy",
            "Graph returned no policy",
            "configure the Exchange on-premises access policy in Intune",
        ),
    }
}

fn tenant_fix(error: &TenantError) -> &'static str {
    match error {
        TenantError::Unauthorized { .. } => {
            "check <TenantId>, <ClientId> and the secret or certificate (expired?), and that the app has the application permissions with admin consent"
        }
        TenantError::Throttled { .. } => "Graph throttles this app: retry later, or lower <RequestsPer20Seconds>",
        TenantError::Timeout { .. } | TenantError::Unavailable { .. } => {
            "check the network path to <AuthorityUrl> and <GraphUrl> (proxy, firewall), then retry"
        }
        TenantError::Malformed { .. } => "Graph answered something easgate cannot use; the message says where",
    }
}

fn check_policy(list: &mut Checklist, policy: &TenantPolicy, origin: &str, users: Option<&[TenantUser]>) {
    list.ok(
        "Policy",
        format!(
            "{origin} policy: default {}, override {}, {} access rule(s)",
            policy.default_access.as_str(),
            policy.override_default_rule,
            policy.access_rules.len()
        ),
    );
    if !policy.enabled {
        list.warn(
            "Policy / enabled",
            "the policy is disabled: every device is left to Exchange's own rules",
            "enable it when ready",
        );
    } else if policy.included_groups.is_empty() {
        list.warn(
            "Policy / included groups",
            "no group is included: no user is targeted",
            "include the groups to protect",
        );
    }
    let Some(users) = users else { return };
    for (kind, groups) in [("included", &policy.included_groups), ("excluded", &policy.excluded_groups)] {
        for group in groups {
            let members =
                users.iter().filter(|user| user.groups.iter().any(|known| known.eq_ignore_ascii_case(group))).count();
            let subject = format!("Policy / {kind} group {group}");
            if members == 0 {
                list.warn(subject, "resolves, but has no user members", "check the group id");
            } else {
                list.ok(subject, format!("resolves: {members} user(s)"));
            }
        }
    }
}

fn exchange_fix(error: &ExchangeError) -> &'static str {
    match error {
        ExchangeError::Unauthorized { .. } => {
            "check <User> and <PasswordFile>, and that Basic authentication is enabled on the PowerShell virtual directory"
        }
        ExchangeError::ProxyRefused { .. } => "check <Proxy User> and its PasswordFile",
        ExchangeError::Unreachable { .. } | ExchangeError::Timeout { .. } => {
            "check <ServerUrl> (host, port, /PowerShell/), DNS and the firewall; for certificate errors <TrustedCaFile>"
        }
        ExchangeError::Throttled { .. } => "the account is throttled (too many shells?): retry later",
        _ => "see the message; `EASGATE_LOG=debug` shows the exchange",
    }
}

async fn check_exchange(list: &mut Checklist, connector: &ConnectorConfig) {
    let organization = &connector.exchange_organization;
    let subject = format!("Exchange {organization}");
    let exchange = match crate::adapters::build_exchange(connector) {
        Ok(exchange) => exchange,
        Err(error) => return list.fail(format!("{subject} / connector"), error.to_string(), "fix the element named"),
    };
    let primary = crate::exchange::ExchangeConnector::primary_server(&exchange);
    let mut session = match crate::exchange::ExchangeConnector::open(&exchange, &primary).await {
        Ok(session) => session,
        Err(error) => {
            return list.fail(
                format!("{subject} / connect ({})", connector.server_url),
                error.to_string(),
                exchange_fix(&error),
            );
        }
    };
    let protocol = session.protocol_version().unwrap_or_else(|| "unknown".into());
    list.ok(
        format!("{subject} / connect"),
        format!("{} as {} (PSRP protocol {protocol})", connector.server_url, connector.user),
    );
    match GetExchangeServer::default().run(session.as_mut()).await {
        Ok(servers) => report_servers(list, connector, &servers),
        Err(error) => list.fail(format!("{subject} / Get-ExchangeServer"), error.to_string(), exchange_fix(&error)),
    }
    match GetCommand::names(&REQUIRED_CMDLETS).run_reply(session.as_mut()).await {
        Ok(reply) => {
            for name in REQUIRED_CMDLETS {
                let found = reply.objects.iter().any(|command| command.name.eq_ignore_ascii_case(name));
                let item_subject = format!("{subject} / cmdlet {name}");
                if found {
                    list.ok(item_subject, format!("available to {}", connector.user));
                } else {
                    list.fail(item_subject, format!("not available to {}", connector.user), "grant the account a role that includes it (e.g. Organization Management, or a custom RBAC role)");
                }
            }
        }
        Err(error) => list.fail(format!("{subject} / Get-Command"), error.to_string(), exchange_fix(&error)),
    }
    let _ = session.close().await;
}

fn report_servers(list: &mut Checklist, connector: &ConnectorConfig, servers: &[ExchangeServer]) {
    let subject = format!("Exchange {} / Client Access Servers", connector.exchange_organization);
    let cas: Vec<String> = servers
        .iter()
        .filter(|server| server.is_client_access_server)
        .map(|server| {
            let name = if server.fqdn.is_empty() { &server.name } else { &server.fqdn };
            format!("{name} ({})", server.admin_display_version)
        })
        .collect();
    if cas.is_empty() {
        return list.fail(
            subject,
            "Get-ExchangeServer lists no Client Access Server",
            "check the account's view (Set-ADServerSettings)",
        );
    }
    if connector.is_cas_failover_enabled && cas.len() == 1 {
        list.warn(
            subject,
            format!("{}: failover is on, but there is no other server to fail over to", cas.join(", ")),
            "fine for one server",
        );
    } else {
        list.ok(subject, cas.join(", "));
    }
}

async fn check_ews(list: &mut Checklist, connector: &ConnectorConfig) {
    let subject = format!("EWS {}", connector.exchange_organization);
    let settings = match crate::ews::EwsSettings::from_connector(connector) {
        Ok(Some(settings)) => settings,
        Ok(None) => return,
        Err(error) => return list.fail(subject, error.to_string(), "fix <TrustedCaFile> or <Proxy>"),
    };
    let mailer = match crate::ews::EwsMailer::new(settings.clone()) {
        Ok(mailer) => mailer,
        Err(error) => return list.fail(subject, error.to_string(), "fix <TrustedCaFile> or <Proxy>"),
    };
    let how = if settings.ews_url.is_some() { "configured" } else { "found by Autodiscover" };
    let url = match mailer.ews_url().await {
        Ok(url) => url,
        Err(error) => {
            let fix = "set <ExchangeWebServiceURL>, or publish Autodiscover for the account's domain";
            return list.fail(format!("{subject} / Autodiscover for {}", settings.account), error.to_string(), fix);
        }
    };
    list.ok(format!("{subject} / URL"), format!("{url} ({how})"));
    match crate::daemon::probe_ews::probe_account(&settings, &url).await {
        Ok(()) => list.ok(format!("{subject} / account"), format!("{} is accepted (GetFolder Sent Items)", settings.account)),
        Err(error) => list.fail(
            format!("{subject} / account {}", settings.account),
            error,
            "check the account's <Notification PasswordFile>, that it has a mailbox, and that EWS allows Basic authentication",
        ),
    }
}
