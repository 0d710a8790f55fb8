//! The real Exchange connector: remote PowerShell over WS-Management + PSRP. `open` creates a
//! shell with one runspace on a Client Access Server; `invoke` runs one cmdlet as a command with
//! typed parameters (never script text); `close` deletes the shell.

use async_trait::async_trait;
use secrecy::SecretString;
use tokio::time::{Duration, Instant};
use uuid::Uuid;

use crate::domain::cmdlet_call::CmdletCall;
use crate::exchange::{CmdletOutput, ErrorRecord, ExchangeConnector, ExchangeError, ExchangeSession};
use crate::psrp::client::PipelineOutcome;
use crate::psrp::fragment::DefragmenterLimits;
use crate::wsman::fault::throttling_from_text;
use crate::wsman::names::EXCHANGE_RESOURCE_URI;
use crate::wsman::proxy::ProxySettings;
use crate::wsman::request::RequestContext;
use crate::wsman::shell::{ClientShell, ShellError};
use crate::wsman::transport::{Authentication, HttpTransport, TransportConfig};

/// How to reach an Exchange organisation's remote PowerShell.
#[derive(Debug, Clone)]
pub struct PsrpConnectorConfig {
    /// The primary Client Access Server's endpoint, e.g. `https://cas1.contoso.com/PowerShell/`.
    pub primary_url: String,
    /// The endpoint of any other CAS; `{server}` is replaced by its name (FQDN).
    pub server_url_template: String,
    /// The primary server's name when it is not the primary URL's host (a load balancer's
    /// name, or a loopback endpoint standing for `cas1`).
    pub primary_server_name: Option<String>,
    pub authentication: Authentication,
    /// Verify TLS certificates (default true).
    pub tls_verify: bool,
    /// An extra trusted root certificate in PEM.
    pub extra_root_certificate_pem: Option<Vec<u8>>,
    /// WS-Man MaxEnvelopeSize (153600 = WinRM 2.0's default, safe for Exchange 2010).
    pub max_envelope_size_bytes: u32,
    /// WS-Man OperationTimeout: how long one Receive may wait for output.
    pub operation_timeout_s: u32,
    pub resource_uri: String,
    pub locale: String,
    pub connect_timeout_ms: u64,
    /// How long opening a shell may take.
    pub open_timeout_ms: u64,
    /// How long one cmdlet may run (a full `Get-ActiveSyncDevice -ResultSize Unlimited` on a big
    /// organisation takes minutes).
    pub pipeline_timeout_ms: u64,
    /// Caps on PSRP reassembly.
    pub limits: DefragmenterLimits,
    /// The HTTP proxy to reach every server through (`<Connector><Proxy>`); `None`: direct.
    pub proxy: Option<ProxySettings>,
}

impl PsrpConnectorConfig {
    /// Basic authentication over HTTPS with Exchange's defaults.
    pub fn basic(primary_url: &str, user: &str, password: SecretString) -> PsrpConnectorConfig {
        PsrpConnectorConfig {
            primary_url: primary_url.to_string(),
            server_url_template: "https://{server}/PowerShell/".to_string(),
            primary_server_name: None,
            authentication: Authentication::Basic { user: user.to_string(), password },
            tls_verify: true,
            extra_root_certificate_pem: None,
            max_envelope_size_bytes: 153_600,
            operation_timeout_s: 20,
            resource_uri: EXCHANGE_RESOURCE_URI.to_string(),
            locale: "en-US".to_string(),
            connect_timeout_ms: 10_000,
            open_timeout_ms: 60_000,
            pipeline_timeout_ms: 30 * 60 * 1000,
            limits: DefragmenterLimits::default(),
            proxy: None,
        }
    }

    /// The host of the primary URL: the primary server's name.
    pub fn primary_server(&self) -> String {
        if let Some(name) = &self.primary_server_name {
            return name.clone();
        }
        reqwest::Url::parse(&self.primary_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_string))
            .unwrap_or_else(|| self.primary_url.clone())
    }

    /// The endpoint URL for a server name: the primary URL for the primary, else the template.
    pub fn url_for(&self, server: &str) -> String {
        if server.is_empty() || server.eq_ignore_ascii_case(&self.primary_server()) {
            return self.primary_url.clone();
        }
        self.server_url_template.replace("{server}", server)
    }
}

/// Opens shells on Exchange over WS-Management/PSRP.
pub struct PsrpConnector {
    config: PsrpConnectorConfig,
    /// Constant per client, like PowerShell's WSMan session.
    session_id: Uuid,
}

impl PsrpConnector {
    pub fn new(config: PsrpConnectorConfig) -> PsrpConnector {
        PsrpConnector { config, session_id: Uuid::new_v4() }
    }

    fn transport_config(&self) -> TransportConfig {
        TransportConfig {
            tls_verify: self.config.tls_verify,
            extra_root_certificate_pem: self.config.extra_root_certificate_pem.clone(),
            connect_timeout_ms: self.config.connect_timeout_ms,
            request_timeout_ms: u64::from(self.config.operation_timeout_s) * 1000 + 20_000,
            max_response_bytes: 2 * self.config.max_envelope_size_bytes as usize + 65_536,
            proxy: self.config.proxy.clone(),
        }
    }
}

#[async_trait]
impl ExchangeConnector for PsrpConnector {
    async fn open(&self, server: &str) -> Result<Box<dyn ExchangeSession>, ExchangeError> {
        let server_name = if server.is_empty() { self.config.primary_server() } else { server.to_string() };
        let url = self.config.url_for(&server_name);
        let transport = HttpTransport::new(&url, self.config.authentication.clone(), &self.transport_config())
            .map_err(|error| error.to_exchange_error(&server_name))?;
        let context = RequestContext {
            to: url,
            resource_uri: self.config.resource_uri.clone(),
            max_envelope_size_bytes: self.config.max_envelope_size_bytes,
            operation_timeout_s: self.config.operation_timeout_s,
            session_id: self.session_id,
            locale: self.config.locale.clone(),
        };
        let deadline = Instant::now() + Duration::from_millis(self.config.open_timeout_ms);
        let shell = ClientShell::open(transport, context, self.config.limits, deadline)
            .await
            .map_err(|error| shell_error(&server_name, error))?;
        tracing::debug!(server = %server_name, shell_id = %shell.shell_id(), "opened an Exchange shell");
        Ok(Box::new(PsrpSession { shell, server: server_name, pipeline_timeout_ms: self.config.pipeline_timeout_ms }))
    }

    fn primary_server(&self) -> String {
        self.config.primary_server()
    }
}

/// One shell on one server.
pub struct PsrpSession {
    shell: ClientShell,
    server: String,
    pipeline_timeout_ms: u64,
}

#[async_trait]
impl ExchangeSession for PsrpSession {
    async fn invoke(&mut self, call: &CmdletCall) -> Result<CmdletOutput, ExchangeError> {
        let deadline = Instant::now() + Duration::from_millis(self.pipeline_timeout_ms);
        let (output, outcome) =
            self.shell.run(call, deadline).await.map_err(|error| shell_error(&self.server, error))?;
        outcome_result(&call.cmdlet, output, outcome)
    }

    async fn close(self: Box<Self>) -> Result<(), ExchangeError> {
        let server = self.server.clone();
        self.shell.close().await.map_err(|error| shell_error(&server, error))
    }

    fn server(&self) -> &str {
        &self.server
    }

    fn protocol_version(&self) -> Option<String> {
        Some(self.shell.protocol_version().to_string())
    }
}

/// What a finished pipeline means for the caller.
fn outcome_result(cmdlet: &str, output: CmdletOutput, outcome: PipelineOutcome) -> Result<CmdletOutput, ExchangeError> {
    let failed = |error: ErrorRecord| ExchangeError::CmdletFailed { cmdlet: cmdlet.to_string(), error };
    match outcome {
        PipelineOutcome::Completed => Ok(output),
        PipelineOutcome::Failed(error) => Err(throttling_from_text(&error.message).unwrap_or_else(|| failed(error))),
        PipelineOutcome::Stopped => Err(failed(ErrorRecord {
            message: "the pipeline was stopped before it finished".to_string(),
            fully_qualified_error_id: "PipelineStopped".to_string(),
            category: "OperationStopped".to_string(),
            target: None,
        })),
        PipelineOutcome::HostCallRequested { method } => Err(failed(ErrorRecord {
            message: format!("the cmdlet asked the host to {method}; easgate runs without a host, so it was stopped"),
            fully_qualified_error_id: "HostCallNotSupported".to_string(),
            category: "NotImplemented".to_string(),
            target: None,
        })),
    }
}

fn shell_error(server: &str, error: ShellError) -> ExchangeError {
    match error {
        ShellError::Wsman(error) => error.to_exchange_error(server),
        ShellError::Psrp(error) => ExchangeError::Protocol { detail: format!("{server}: {error}") },
        ShellError::PoolNotUsable { state, error } => {
            let text = error.as_ref().map(|error| error.message.clone()).unwrap_or_default();
            // Exchange refuses a runspace over quota by breaking the pool with the quota text.
            throttling_from_text(&text).unwrap_or_else(|| ExchangeError::ShellGone {
                detail: format!("{server}: the runspace pool is {state:?}: {text}"),
            })
        }
        error @ ShellError::DeadlineExceeded { .. } => ExchangeError::Timeout { detail: format!("{server}: {error}") },
    }
}
