//! Serves any `ExchangeConnector` as an Exchange remote-PowerShell endpoint over WS-Management
//! and PSRP: Create opens a session on the backend, Command parses the pipeline into a
//! `CmdletCall` and runs it, Receive streams PIPELINE_OUTPUT / ERROR_RECORD / PIPELINE_STATE
//! back in envelopes no larger than the client's MaxEnvelopeSize, Delete closes. Faults look
//! like Windows' (shell not found, quota, OperationTimeout).
//!
//! `easgate sim-exchange --listen ADDR` and `easgate simulate --exchange psrp` run the simulated
//! organisation behind this; tests run small fakes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::exchange::{CmdletOutput, ExchangeConnector, ExchangeError, ExchangeSession};
use crate::psrp::capability::ProtocolVersion;
use crate::psrp::fragment::{DefragmenterLimits, FRAGMENT_HEADER_LEN};
use crate::psrp::server::{PipelineServer, RunspacePoolServer};
use crate::wsman::fault::WsmanFault;
use crate::wsman::names::{self, fault_code};
use crate::wsman::parse::Envelope;
use crate::wsman::response;
use crate::wsman::server::{
    BasicCredentials, RequestInfo, RunningServer, ServerFailure, ServerStartError, WsmanHandler, WsmanServerConfig,
    serve,
};
use crate::wsman::tls::TlsIdentity;

/// How the endpoint behaves.
#[derive(Debug, Clone)]
pub struct PsrpServerConfig {
    pub listen: SocketAddr,
    /// Serve HTTPS with a generated self-signed certificate (for these host names); plain HTTP when false.
    pub tls: bool,
    pub tls_host_names: Vec<String>,
    /// Basic credentials to require; `None` accepts anyone.
    pub credentials: Option<(String, SecretString)>,
    /// Also accept Kerberos tickets for this service (for the account of `credentials`).
    pub kerberos: Option<crate::wsman::server::KerberosService>,
    /// Shells one user may hold open (Exchange's PowerShellMaxConcurrency default: 18).
    pub max_shells_per_user: usize,
    /// Pipelines one shell may hold (finished ones are released by Signal Terminate).
    pub max_commands_per_shell: usize,
    /// The protocol version announced (2.1 behaves like Exchange 2010).
    pub protocol_version: ProtocolVersion,
    /// Upper bound on how long a Receive waits for output, whatever the client asks.
    pub max_operation_timeout_ms: u64,
    pub limits: DefragmenterLimits,
}

impl PsrpServerConfig {
    /// HTTPS on `listen` with a self-signed certificate for localhost, Basic credentials required.
    pub fn new(listen: SocketAddr, user: &str, password: SecretString) -> PsrpServerConfig {
        PsrpServerConfig {
            listen,
            tls: true,
            tls_host_names: vec!["localhost".to_string(), "127.0.0.1".to_string(), listen.ip().to_string()],
            credentials: Some((user.to_string(), password)),
            kerberos: None,
            max_shells_per_user: 18,
            max_commands_per_shell: 64,
            protocol_version: ProtocolVersion::V2_3,
            max_operation_timeout_ms: 60_000,
            limits: DefragmenterLimits::default(),
        }
    }
}

/// How many requests of each kind the endpoint has answered (faults included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestCounts {
    pub creates: u64,
    pub commands: u64,
    pub sends: u64,
    pub receives: u64,
    pub signals: u64,
    pub deletes: u64,
}

#[derive(Default)]
struct RequestCounters {
    creates: AtomicU64,
    commands: AtomicU64,
    sends: AtomicU64,
    receives: AtomicU64,
    signals: AtomicU64,
    deletes: AtomicU64,
}

/// A running endpoint.
pub struct RunningPsrpServer {
    server: RunningServer,
    host: Arc<ShellHost>,
    /// The generated certificate (PEM), for clients to trust; `None` over plain HTTP.
    pub certificate_pem: Option<String>,
}

impl RunningPsrpServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr
    }

    /// The endpoint of the backend's primary server: `http(s)://addr/PowerShell/`.
    pub fn url(&self) -> String {
        format!("{}/PowerShell/", self.server.base_url())
    }

    /// A `server_url_template` reaching any backend server through this endpoint:
    /// `http(s)://addr/PowerShell/{server}/`.
    pub fn server_url_template(&self) -> String {
        format!("{}/PowerShell/{{server}}/", self.server.base_url())
    }

    /// Requests answered so far, by kind.
    pub fn request_counts(&self) -> RequestCounts {
        let counters = &self.host.counters;
        RequestCounts {
            creates: counters.creates.load(Ordering::Relaxed),
            commands: counters.commands.load(Ordering::Relaxed),
            sends: counters.sends.load(Ordering::Relaxed),
            receives: counters.receives.load(Ordering::Relaxed),
            signals: counters.signals.load(Ordering::Relaxed),
            deletes: counters.deletes.load(Ordering::Relaxed),
        }
    }

    /// NTLM handshakes completed (one per authenticated connection).
    pub fn ntlm_handshakes(&self) -> u64 {
        self.server.ntlm_handshakes()
    }

    /// Shells open right now.
    pub fn open_shells(&self) -> usize {
        self.host.shells.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }

    /// Stops the endpoint; open shells are dropped.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// Serves an `ExchangeConnector` over WS-Management/PSRP.
pub struct PsrpServer;

impl PsrpServer {
    /// Binds `config.listen` (use port 0 for any free port) and serves `backend`.
    pub async fn start(
        config: PsrpServerConfig,
        backend: Arc<dyn ExchangeConnector>,
    ) -> Result<RunningPsrpServer, ServerStartError> {
        let tls = if config.tls { Some(TlsIdentity::self_signed(&config.tls_host_names)?) } else { None };
        let certificate_pem = tls.as_ref().map(|identity| identity.certificate_pem.clone());
        let server_config = WsmanServerConfig {
            listen: config.listen,
            tls,
            credentials: config.credentials.clone().map(|(user, password)| BasicCredentials { user, password }),
            max_request_bytes: 4 * 1024 * 1024,
            kerberos: config.kerberos.clone(),
        };
        let host = Arc::new(ShellHost {
            config,
            backend,
            shells: Mutex::new(HashMap::new()),
            counters: RequestCounters::default(),
        });
        let server = serve(server_config, host.clone()).await?;
        Ok(RunningPsrpServer { server, host, certificate_pem })
    }
}

type InvocationResult = Result<CmdletOutput, ExchangeError>;

struct Pipeline {
    psrp: PipelineServer,
    /// The running invocation's result, until it has been queued for the client.
    result: Option<oneshot::Receiver<InvocationResult>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

struct Shell {
    pool: RunspacePoolServer,
    session: Arc<tokio::sync::Mutex<Option<Box<dyn ExchangeSession>>>>,
    pipelines: HashMap<Uuid, Pipeline>,
}

struct ShellEntry {
    owner: String,
    shell: Arc<tokio::sync::Mutex<Shell>>,
}

struct ShellHost {
    config: PsrpServerConfig,
    backend: Arc<dyn ExchangeConnector>,
    shells: Mutex<HashMap<Uuid, ShellEntry>>,
    counters: RequestCounters,
}

fn fault(code: u32, subcode: &str, message: String) -> ServerFailure {
    ServerFailure::Fault(WsmanFault {
        code: Some(code),
        subcode: Some(subcode.to_string()),
        reason: message.clone(),
        message: Some(message),
        machine: None,
    })
}

fn shell_not_found() -> ServerFailure {
    fault(
        fault_code::SHELL_NOT_FOUND,
        "w:InvalidSelectors",
        "The request for the Windows Remote Shell with ShellId failed because the shell was not found on the server. \
         Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server."
            .to_string(),
    )
}

fn operation_timed_out() -> ServerFailure {
    fault(
        fault_code::OPERATION_TIMED_OUT,
        "w:TimedOut",
        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout."
            .to_string(),
    )
}

/// How a backend failure reaches a WS-Man client, so that the client's classification gives the
/// same `ExchangeError` kind back.
fn backend_failure(error: &ExchangeError) -> ServerFailure {
    match error {
        ExchangeError::Throttled { detail, retry_after_ms } => {
            let wait = retry_after_ms
                .map(|ms| {
                    format!(" The next request from this user will not be approved for at least {ms} milliseconds.")
                })
                .unwrap_or_default();
            let text = if crate::wsman::fault::throttling_from_text(detail).is_some() {
                format!("{detail}{wait}")
            } else {
                format!("The user load quota has been exceeded: {detail}.{wait}")
            };
            fault(fault_code::SHELL_QUOTA_EXCEEDED, "w:QuotaLimit", text)
        }
        ExchangeError::ShellGone { .. } => shell_not_found(),
        ExchangeError::Unauthorized { detail } => ServerFailure::Status(401, detail.clone()),
        ExchangeError::Unreachable { detail, .. } => ServerFailure::Status(503, detail.clone()),
        ExchangeError::Timeout { detail } => ServerFailure::Status(504, detail.clone()),
        other => fault(fault_code::PLUGIN_FAILED, "w:InternalError", other.to_string()),
    }
}

fn parse_id(text: Option<&str>, what: &str) -> Result<Uuid, ServerFailure> {
    let text = text
        .ok_or_else(|| fault(fault_code::PLUGIN_FAILED, "w:InvalidSelectors", format!("the request has no {what}")))?;
    Uuid::parse_str(text.trim())
        .map_err(|_| fault(fault_code::PLUGIN_FAILED, "w:InvalidSelectors", format!("{what} {text:?} is not a GUID")))
}

/// The backend server a path names: `/PowerShell/<server>/`, or the primary for `/PowerShell/`.
fn server_for_path(path: &str, backend: &dyn ExchangeConnector) -> String {
    let rest = path.trim_matches('/');
    let rest = rest.strip_prefix("PowerShell").or_else(|| rest.strip_prefix("powershell")).unwrap_or(rest);
    let name = rest.trim_matches('/');
    if name.is_empty() || name.eq_ignore_ascii_case("wsman") { backend.primary_server() } else { name.to_string() }
}

#[async_trait]
impl WsmanHandler for ShellHost {
    async fn handle(&self, request: RequestInfo, envelope: Envelope) -> Result<String, ServerFailure> {
        let action = envelope.header.action.clone();
        let counter = match action.as_str() {
            names::ACTION_CREATE => Some(&self.counters.creates),
            names::ACTION_COMMAND => Some(&self.counters.commands),
            names::ACTION_SEND => Some(&self.counters.sends),
            names::ACTION_RECEIVE => Some(&self.counters.receives),
            names::ACTION_SIGNAL => Some(&self.counters.signals),
            names::ACTION_DELETE => Some(&self.counters.deletes),
            _ => None,
        };
        if let Some(counter) = counter {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        match action.as_str() {
            names::ACTION_CREATE => self.create(&request, &envelope).await,
            names::ACTION_COMMAND => self.command(&envelope).await,
            names::ACTION_SEND => self.send(&envelope).await,
            names::ACTION_RECEIVE => self.receive(&envelope).await,
            names::ACTION_SIGNAL => self.signal(&envelope).await,
            names::ACTION_DELETE => self.delete(&envelope).await,
            other => Err(fault(
                fault_code::PLUGIN_FAILED,
                "w:ActionNotSupported",
                format!("the action {other:?} is not supported by this endpoint"),
            )),
        }
    }
}

impl ShellHost {
    fn shell(&self, envelope: &Envelope) -> Result<(Uuid, Arc<tokio::sync::Mutex<Shell>>), ServerFailure> {
        let shell_id = parse_id(envelope.header.shell_id.as_deref(), "ShellId")?;
        let shells = self.shells.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        shells.get(&shell_id).map(|entry| (shell_id, entry.shell.clone())).ok_or_else(shell_not_found)
    }

    async fn create(&self, request: &RequestInfo, envelope: &Envelope) -> Result<String, ServerFailure> {
        let relates_to = envelope.header.message_id.as_deref();
        self.check_shell_quota(&request.user)?;
        let shell_id = match envelope.body.shell_id.as_deref() {
            Some(text) => parse_id(Some(text), "ShellId")?,
            None => Uuid::new_v4(),
        };
        let creation = envelope.body.creation_data.as_deref().ok_or_else(|| {
            fault(fault_code::PLUGIN_FAILED, "w:InvalidMessage", "the Create carries no creationXml".to_string())
        })?;
        let mut pool = RunspacePoolServer::new(shell_id, self.config.protocol_version, self.config.limits);
        pool.receive_pool_data(creation)
            .map_err(|error| fault(fault_code::PLUGIN_FAILED, "w:InvalidMessage", error.to_string()))?;
        let server = server_for_path(&request.path, self.backend.as_ref());
        let session = self.backend.open(&server).await.map_err(|error| backend_failure(&error))?;
        let shell =
            Shell { pool, session: Arc::new(tokio::sync::Mutex::new(Some(session))), pipelines: HashMap::new() };
        let refused = {
            // Checked again under the same lock as the insert: concurrent Creates may have raced.
            let mut shells = self.shells.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let refused = self.quota_fault(&shells, &request.user);
            if refused.is_none() {
                shells.insert(
                    shell_id,
                    ShellEntry { owner: request.user.clone(), shell: Arc::new(tokio::sync::Mutex::new(shell)) },
                );
                None
            } else {
                Some((refused, shell))
            }
        };
        if let Some((Some(refused), shell)) = refused {
            if let Some(session) = shell.session.lock().await.take() {
                let _ = session.close().await;
            }
            return Err(refused);
        }
        let resource_uri = envelope.header.resource_uri.as_deref().unwrap_or(names::EXCHANGE_RESOURCE_URI);
        Ok(response::create_response(relates_to, &request.url, resource_uri, shell_id, &request.user))
    }

    fn check_shell_quota(&self, user: &str) -> Result<(), ServerFailure> {
        let shells = self.shells.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match self.quota_fault(&shells, user) {
            Some(refused) => Err(refused),
            None => Ok(()),
        }
    }

    /// The quota fault if `user` already holds the maximum number of shells.
    fn quota_fault(&self, shells: &HashMap<Uuid, ShellEntry>, user: &str) -> Option<ServerFailure> {
        let open_shells = shells.values().filter(|entry| entry.owner.eq_ignore_ascii_case(user)).count();
        (open_shells >= self.config.max_shells_per_user).then(|| {
            fault(
                fault_code::SHELL_QUOTA_EXCEEDED,
                "w:QuotaLimit",
                format!(
                    "The WS-Management service cannot process the request. This user is allowed a maximum number of {} \
                     concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user.",
                    self.config.max_shells_per_user
                ),
            )
        })
    }

    async fn command(&self, envelope: &Envelope) -> Result<String, ServerFailure> {
        let (_, shell) = self.shell(envelope)?;
        let command_id = parse_id(envelope.body.command_id.as_deref(), "CommandId")?;
        let mut shell = shell.lock().await;
        if shell.pipelines.len() >= self.config.max_commands_per_shell {
            return Err(fault(
                fault_code::MAX_COMMANDS_EXCEEDED,
                "w:QuotaLimit",
                format!("The shell already holds the maximum of {} commands.", self.config.max_commands_per_shell),
            ));
        }
        let psrp = shell.pool.start_pipeline(command_id);
        shell.pipelines.insert(command_id, Pipeline { psrp, result: None, task: None });
        let data = envelope.body.arguments.clone().unwrap_or_default();
        feed_pipeline(&mut shell, command_id, &data)?;
        Ok(response::command_response(envelope.header.message_id.as_deref(), command_id))
    }

    async fn send(&self, envelope: &Envelope) -> Result<String, ServerFailure> {
        let (_, shell) = self.shell(envelope)?;
        let mut shell = shell.lock().await;
        for stream in &envelope.body.streams {
            let command_id = parse_id(stream.command_id.as_deref(), "CommandId")?;
            feed_pipeline(&mut shell, command_id, &stream.data)?;
        }
        Ok(response::empty_response(names::ACTION_SEND, envelope.header.message_id.as_deref()))
    }

    async fn receive(&self, envelope: &Envelope) -> Result<String, ServerFailure> {
        let (_, shell) = self.shell(envelope)?;
        let relates_to = envelope.header.message_id.as_deref();
        let budget = envelope.header.max_envelope_size_bytes.unwrap_or(153_600) as usize;
        let wait_ms = envelope.header.operation_timeout_ms.unwrap_or(20_000).min(self.config.max_operation_timeout_ms);
        let Some(command_id) = envelope.body.command_id.as_deref() else {
            let mut shell = shell.lock().await;
            let streams = pack_streams(budget, |max_blob| shell.pool.next_pool_fragment(max_blob));
            if streams.is_empty() {
                drop(shell);
                tokio::time::sleep(Duration::from_millis(wait_ms)).await;
                return Err(operation_timed_out());
            }
            return Ok(response::receive_response(relates_to, None, &streams, false));
        };
        let command_id = parse_id(Some(command_id), "CommandId")?;
        let pending = {
            let mut shell = shell.lock().await;
            let pipeline = shell.pipelines.get_mut(&command_id).ok_or_else(shell_not_found)?;
            if pipeline.psrp.is_finished() { None } else { pipeline.result.take() }
        };
        if let Some(mut result) = pending {
            match tokio::time::timeout(Duration::from_millis(wait_ms), &mut result).await {
                Ok(outcome) => self.queue_result(&shell, command_id, outcome).await?,
                Err(_) => {
                    if let Some(pipeline) = shell.lock().await.pipelines.get_mut(&command_id) {
                        pipeline.result = Some(result);
                    }
                    return Err(operation_timed_out());
                }
            }
        }
        let mut shell = shell.lock().await;
        let pipeline = shell.pipelines.get_mut(&command_id).ok_or_else(shell_not_found)?;
        let streams = pack_streams(budget, |max_blob| pipeline.psrp.next_fragment(max_blob));
        if streams.is_empty() && !pipeline.psrp.is_drained() {
            return Err(operation_timed_out());
        }
        Ok(response::receive_response(relates_to, Some(command_id), &streams, pipeline.psrp.is_drained()))
    }

    async fn queue_result(
        &self,
        shell: &tokio::sync::Mutex<Shell>,
        command_id: Uuid,
        outcome: Result<InvocationResult, oneshot::error::RecvError>,
    ) -> Result<(), ServerFailure> {
        let mut shell = shell.lock().await;
        let pipeline = shell.pipelines.get_mut(&command_id).ok_or_else(shell_not_found)?;
        match outcome {
            Ok(Ok(output)) => pipeline.psrp.queue_output(&output),
            Ok(Err(ExchangeError::CmdletFailed { error, .. })) => pipeline.psrp.queue_failure(&error),
            Ok(Err(other)) => {
                // The backend failed below the cmdlet: report it as the transport would and drop
                // the pipeline, like a server whose plugin failed.
                shell.pipelines.remove(&command_id);
                return Err(backend_failure(&other));
            }
            // The invocation was aborted by a Signal: Stopped is already queued.
            Err(_) => pipeline.psrp.queue_stopped(),
        }
        Ok(())
    }

    async fn signal(&self, envelope: &Envelope) -> Result<String, ServerFailure> {
        let (_, shell) = self.shell(envelope)?;
        let command_id = parse_id(envelope.body.command_id.as_deref(), "CommandId")?;
        let code = envelope.body.signal_code.as_deref().unwrap_or_default();
        let mut shell = shell.lock().await;
        if code == names::SIGNAL_STOP_PIPELINE {
            let pipeline = shell.pipelines.get_mut(&command_id).ok_or_else(shell_not_found)?;
            if let Some(task) = pipeline.task.take() {
                task.abort();
            }
            pipeline.result = None;
            pipeline.psrp.queue_stopped();
        } else {
            if let Some(pipeline) = shell.pipelines.remove(&command_id)
                && let Some(task) = pipeline.task
            {
                task.abort();
            }
        }
        Ok(response::empty_response(names::ACTION_SIGNAL, envelope.header.message_id.as_deref()))
    }

    async fn delete(&self, envelope: &Envelope) -> Result<String, ServerFailure> {
        let (shell_id, shell) = self.shell(envelope)?;
        self.shells.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&shell_id);
        let session = {
            let mut shell = shell.lock().await;
            for (_, pipeline) in shell.pipelines.drain() {
                if let Some(task) = pipeline.task {
                    task.abort();
                }
            }
            shell.session.clone()
        };
        let session = session.lock().await.take();
        if let Some(session) = session
            && let Err(error) = session.close().await
        {
            tracing::debug!(%error, "closing the backend session failed");
        }
        Ok(response::empty_response(names::ACTION_DELETE, envelope.header.message_id.as_deref()))
    }
}

/// Feeds Command/Send data to a pipeline; starts the invocation once CREATE_PIPELINE is complete.
fn feed_pipeline(shell: &mut Shell, command_id: Uuid, data: &[u8]) -> Result<(), ServerFailure> {
    let session = shell.session.clone();
    let pipeline = shell.pipelines.get_mut(&command_id).ok_or_else(shell_not_found)?;
    let request = pipeline
        .psrp
        .receive(data)
        .map_err(|error| fault(fault_code::PLUGIN_FAILED, "w:InvalidMessage", error.to_string()))?;
    match request {
        None => {}
        Some(Err(rejection)) => pipeline.psrp.queue_failure(&rejection.to_error_record()),
        Some(Ok(call)) => {
            let (sender, receiver) = oneshot::channel();
            pipeline.result = Some(receiver);
            pipeline.task = Some(tokio::spawn(async move {
                let mut session = session.lock().await;
                let result = match session.as_mut() {
                    Some(session) => session.invoke(&call).await,
                    None => Err(ExchangeError::ShellGone { detail: "the shell is being deleted".to_string() }),
                };
                let _ = sender.send(result);
            }));
        }
    }
    Ok(())
}

/// Takes fragments (one `<rsp:Stream>` each, as Windows sends them) while they fit in a reply of
/// `max_envelope_size_bytes`.
fn pack_streams(
    max_envelope_size_bytes: usize,
    mut next_fragment: impl FnMut(usize) -> Option<Vec<u8>>,
) -> Vec<Vec<u8>> {
    let mut streams = Vec::new();
    let mut used = response::RECEIVE_RESPONSE_OVERHEAD_BYTES;
    // Bounded: each fragment takes room from a finite budget.
    loop {
        let room = max_envelope_size_bytes.saturating_sub(used + response::STREAM_OVERHEAD_BYTES);
        let max_raw = room / 4 * 3;
        if max_raw <= FRAGMENT_HEADER_LEN {
            break;
        }
        let Some(fragment) = next_fragment(max_raw - FRAGMENT_HEADER_LEN) else { break };
        used += response::STREAM_OVERHEAD_BYTES + fragment.len().div_ceil(3) * 4;
        streams.push(fragment);
    }
    streams
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clixml::value::PsValue;
    use crate::psrp::client::RunspacePoolClient;
    use crate::wsman::parse::parse_envelope;

    #[test]
    fn every_receive_response_fits_the_clients_max_envelope_size() {
        let pool = RunspacePoolServer::new(Uuid::new_v4(), ProtocolVersion::V2_3, DefragmenterLimits::default());
        let command_id = Uuid::new_v4();
        let mut pipeline = pool.start_pipeline(command_id);
        let big_text = "x\"<&>_x".repeat(30_000);
        let objects: Vec<PsValue> = (0..3_000)
            .map(|index| PsValue::String(format!("{index} {}", &big_text[..index % 500])))
            .chain([PsValue::String(big_text.clone())])
            .collect();
        pipeline.queue_output(&CmdletOutput { objects: objects.clone(), ..CmdletOutput::default() });
        let mut client = RunspacePoolClient::new(Uuid::new_v4(), DefragmenterLimits::default());
        let mut receiver = client.start_pipeline(command_id, &crate::domain::cmdlet_call::CmdletCall::new("Get-Big"));
        let max_envelope_size_bytes = 153_600;
        let mut replies = 0;
        while !pipeline.is_drained() {
            let streams = pack_streams(max_envelope_size_bytes, |max_blob| pipeline.next_fragment(max_blob));
            let reply = response::receive_response(Some("uuid:1"), Some(command_id), &streams, pipeline.is_drained());
            assert!(reply.len() <= max_envelope_size_bytes, "{} > {max_envelope_size_bytes}", reply.len());
            for stream in parse_envelope(reply.as_bytes()).unwrap().body.streams {
                receiver.receive(&stream.data).unwrap();
            }
            replies += 1;
            assert!(replies < 10_000);
        }
        assert!(replies > 2);
        let (output, outcome) = receiver.finish();
        assert_eq!(output.objects, objects);
        assert_eq!(outcome, Some(crate::psrp::client::PipelineOutcome::Completed));
    }
}
