//! The real client (`PsrpConnector`) against our WS-Man/PSRP server (`PsrpServer`) on 127.0.0.1,
//! with a small fake `ExchangeConnector` behind the server: calls arrive intact, outputs and
//! errors come back typed, big outputs cross many Receives, faults map to the right
//! `ExchangeError`s.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use easgate::clixml::value::{PsObject, PsValue};
use easgate::domain::cmdlet_call::{CmdletCall, ListEdit, ParamValue};
use easgate::exchange::psrp_connector::{PsrpConnector, PsrpConnectorConfig};
use easgate::exchange::psrp_server::{PsrpServer, PsrpServerConfig, RunningPsrpServer};
use easgate::exchange::{CmdletOutput, ErrorRecord, ExchangeConnector, ExchangeError, ExchangeSession};
use easgate::psrp::capability::ProtocolVersion;
use secrecy::SecretString;

const USER: &str = "CONTOSO\\svc-easgate";
const PASSWORD: &str = "correct horse battery staple";

#[derive(Default)]
struct Recorded {
    calls: Vec<CmdletCall>,
    opened_servers: Vec<String>,
    closed_sessions: usize,
}

/// A backend whose cmdlets are named for what they do.
#[derive(Clone, Default)]
struct FakeBackend {
    recorded: Arc<Mutex<Recorded>>,
}

fn device(index: usize) -> PsValue {
    PsValue::Object(Box::new(PsObject {
        type_names: vec!["Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.MobileDevice".to_string()]
            .into(),
        to_string: Some(format!("device {index}")),
        properties: vec![
            ("DeviceId".to_string(), PsValue::String(format!("ANDROIDC{index:08}<&>\"_x0041_"))),
            ("DeviceModel".to_string(), PsValue::string("Pixel 8")),
            ("Index".to_string(), PsValue::I32(index as i32)),
        ],
        ..PsObject::default()
    }))
}

#[async_trait]
impl ExchangeConnector for FakeBackend {
    async fn open(&self, server: &str) -> Result<Box<dyn ExchangeSession>, ExchangeError> {
        if server == "down.contoso.com" {
            return Err(ExchangeError::Unreachable { server: server.to_string(), detail: "powered off".to_string() });
        }
        self.recorded.lock().unwrap().opened_servers.push(server.to_string());
        Ok(Box::new(FakeSession { backend: self.clone(), server: server.to_string() }))
    }

    fn primary_server(&self) -> String {
        "cas1.contoso.com".to_string()
    }
}

struct FakeSession {
    backend: FakeBackend,
    server: String,
}

#[async_trait]
impl ExchangeSession for FakeSession {
    async fn invoke(&mut self, call: &CmdletCall) -> Result<CmdletOutput, ExchangeError> {
        self.backend.recorded.lock().unwrap().calls.push(call.clone());
        let count = match call.parameter("Count") {
            Some(ParamValue::Int(count)) => *count as usize,
            _ => 1,
        };
        match call.cmdlet.as_str() {
            "Get-Many" => Ok(CmdletOutput { objects: (0..count).map(device).collect(), ..CmdletOutput::default() }),
            "Get-Mixed" => Ok(CmdletOutput {
                objects: vec![PsValue::string("first"), PsValue::I64(1 << 40)],
                errors: vec![ErrorRecord {
                    message: "Mailbox 'x' couldn't be found.".to_string(),
                    fully_qualified_error_id: "[Server=CAS1] 1,Microsoft.Exchange.Get".to_string(),
                    category: "ManagementObjectNotFoundException".to_string(),
                    target: Some("x".to_string()),
                }],
                warnings: vec!["The command completed successfully but no settings were modified.".to_string()],
            }),
            "Fail-Me" => Err(ExchangeError::CmdletFailed {
                cmdlet: call.cmdlet.clone(),
                error: ErrorRecord {
                    message: "The operation couldn't be performed because object 'nobody' couldn't be found."
                        .to_string(),
                    fully_qualified_error_id: "[Server=CAS1,RequestId=42] 5C3B6B0A,Microsoft.Exchange.Management.Set"
                        .to_string(),
                    category: "ManagementObjectNotFoundException".to_string(),
                    target: Some("nobody".to_string()),
                },
            }),
            "Throttle-Me" => {
                Err(ExchangeError::Throttled { detail: "budget exhausted".to_string(), retry_after_ms: Some(1234) })
            }
            "Timeout-Me" => Err(ExchangeError::Timeout { detail: "the backend took too long".to_string() }),
            "Gone-Me" => Err(ExchangeError::ShellGone { detail: "recycled".to_string() }),
            "Slow" => {
                tokio::time::sleep(Duration::from_millis(2_500)).await;
                Ok(CmdletOutput { objects: vec![PsValue::string("finally")], ..CmdletOutput::default() })
            }
            _ => Ok(CmdletOutput { objects: vec![PsValue::string(&self.server)], ..CmdletOutput::default() }),
        }
    }

    async fn close(self: Box<Self>) -> Result<(), ExchangeError> {
        self.backend.recorded.lock().unwrap().closed_sessions += 1;
        Ok(())
    }

    fn server(&self) -> &str {
        &self.server
    }
}

async fn start_server(backend: &FakeBackend, configure: impl FnOnce(&mut PsrpServerConfig)) -> RunningPsrpServer {
    let mut config = PsrpServerConfig::new("127.0.0.1:0".parse().unwrap(), USER, SecretString::from(PASSWORD));
    configure(&mut config);
    PsrpServer::start(config, Arc::new(backend.clone())).await.unwrap()
}

fn client_config(server: &RunningPsrpServer, password: &str) -> PsrpConnectorConfig {
    let mut config = PsrpConnectorConfig::basic(&server.url(), USER, SecretString::from(password));
    config.server_url_template = server.server_url_template();
    config.extra_root_certificate_pem = server.certificate_pem.clone().map(String::into_bytes);
    config
}

fn every_parameter_shape() -> CmdletCall {
    CmdletCall::new("Set-CASMailbox")
        .text("Identity", "x\"; Remove-Mailbox -Identity *; \"")
        .text("Note", "<Obj RefId=\"0\"/>&amp;_x000D_\r\n\t$(Get-Date)`;|@{}")
        .switch("Confirm", false)
        .with("ResultSize", ParamValue::Int(5_000_000_000))
        .with("Index", ParamValue::Int(-7))
        .with("DeviceIds", ParamValue::List(vec!["a".to_string(), "x\"; Remove-Mailbox -Identity *; \"".to_string()]))
        .with(
            "ActiveSyncAllowedDeviceIDs",
            ParamValue::Edit(ListEdit {
                add: vec!["d1".to_string(), "d2".to_string()],
                remove: vec!["d3".to_string()],
            }),
        )
}

#[tokio::test]
async fn a_cmdlet_call_arrives_at_the_backend_exactly_as_sent_over_https() {
    let backend = FakeBackend::default();
    let server = start_server(&backend, |_| {}).await;
    assert!(server.url().starts_with("https://127.0.0.1:"));
    let connector = PsrpConnector::new(client_config(&server, PASSWORD));
    assert_eq!(connector.primary_server(), "127.0.0.1");
    let mut session = connector.open("").await.unwrap();
    let call = every_parameter_shape();
    let output = session.invoke(&call).await.unwrap();
    assert_eq!(output.objects, vec![PsValue::string("cas1.contoso.com")]);
    let mixed = session.invoke(&CmdletCall::new("Get-Mixed")).await.unwrap();
    assert_eq!(mixed.objects, vec![PsValue::string("first"), PsValue::I64(1 << 40)]);
    assert_eq!(mixed.errors[0].category, "ManagementObjectNotFoundException");
    assert_eq!(mixed.errors[0].target.as_deref(), Some("x"));
    assert_eq!(mixed.warnings, vec!["The command completed successfully but no settings were modified.".to_string()]);
    session.close().await.unwrap();
    let recorded = backend.recorded.lock().unwrap();
    assert_eq!(recorded.calls[0], call);
    assert_eq!(recorded.closed_sessions, 1);
    assert_eq!(server.open_shells(), 0);
}

#[tokio::test]
async fn twenty_thousand_objects_cross_many_receives_intact() {
    let backend = FakeBackend::default();
    let server = start_server(&backend, |_| {}).await;
    let mut config = client_config(&server, PASSWORD);
    config.max_envelope_size_bytes = 153_600;
    let mut session = PsrpConnector::new(config).open("").await.unwrap();
    let receives_before = server.request_counts().receives;
    let output = session.invoke(&CmdletCall::new("Get-Many").with("Count", ParamValue::Int(20_000))).await.unwrap();
    let receives = server.request_counts().receives - receives_before;
    assert_eq!(output.objects.len(), 20_000);
    for (index, object) in output.objects.iter().enumerate() {
        assert_eq!(object, &device(index));
    }
    assert!(receives > 20, "20,000 objects took only {receives} Receives");
    session.close().await.unwrap();
}

#[tokio::test]
async fn a_pipeline_larger_than_one_envelope_is_sent_with_command_and_sends() {
    let backend = FakeBackend::default();
    let server = start_server(&backend, |_| {}).await;
    let mut config = client_config(&server, PASSWORD);
    config.max_envelope_size_bytes = 8_192;
    let ids: Vec<String> = (0..2_000).map(|index| format!("device-{index:05}")).collect();
    let call = CmdletCall::new("Set-CASMailbox").with("DeviceIds", ParamValue::List(ids));
    let mut session = PsrpConnector::new(config).open("").await.unwrap();
    session.invoke(&call).await.unwrap();
    assert!(server.request_counts().sends > 3);
    assert_eq!(backend.recorded.lock().unwrap().calls, vec![call]);
    session.close().await.unwrap();
}

#[tokio::test]
async fn failures_come_back_as_the_exchange_errors_they_are() {
    let backend = FakeBackend::default();
    let server = start_server(&backend, |_| {}).await;
    let connector = PsrpConnector::new(client_config(&server, PASSWORD));
    let mut session = connector.open("").await.unwrap();
    let error = session.invoke(&CmdletCall::new("Fail-Me")).await.unwrap_err();
    let ExchangeError::CmdletFailed { cmdlet, error } = error else { panic!("{error:?}") };
    assert_eq!(cmdlet, "Fail-Me");
    assert_eq!(error.fully_qualified_error_id, "[Server=CAS1,RequestId=42] 5C3B6B0A,Microsoft.Exchange.Management.Set");
    assert_eq!(error.target.as_deref(), Some("nobody"));
    let throttled = session.invoke(&CmdletCall::new("Throttle-Me")).await.unwrap_err();
    assert!(matches!(throttled, ExchangeError::Throttled { retry_after_ms: Some(1234), .. }), "{throttled:?}");
    let timeout = session.invoke(&CmdletCall::new("Timeout-Me")).await.unwrap_err();
    assert!(matches!(timeout, ExchangeError::Timeout { .. }), "{timeout:?}");
    let gone = session.invoke(&CmdletCall::new("Gone-Me")).await.unwrap_err();
    assert!(matches!(gone, ExchangeError::ShellGone { .. }), "{gone:?}");
    // The shell still works after each failure.
    assert_eq!(session.invoke(&CmdletCall::new("Get-Anything")).await.unwrap().objects.len(), 1);
    session.close().await.unwrap();
}

#[tokio::test]
async fn a_slow_cmdlet_survives_operation_timeouts_by_receiving_again() {
    let backend = FakeBackend::default();
    let server = start_server(&backend, |_| {}).await;
    let mut config = client_config(&server, PASSWORD);
    config.operation_timeout_s = 1;
    let mut session = PsrpConnector::new(config).open("").await.unwrap();
    let output = session.invoke(&CmdletCall::new("Slow")).await.unwrap();
    assert_eq!(output.objects, vec![PsValue::string("finally")]);
    assert!(server.request_counts().receives >= 4);
    session.close().await.unwrap();
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized() {
    let backend = FakeBackend::default();
    let server = start_server(&backend, |_| {}).await;
    let error = PsrpConnector::new(client_config(&server, "wrong")).open("").await.err().unwrap();
    assert!(matches!(error, ExchangeError::Unauthorized { .. }), "{error:?}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_unless_verification_is_off() {
    let backend = FakeBackend::default();
    let server = start_server(&backend, |_| {}).await;
    let mut config = client_config(&server, PASSWORD);
    config.extra_root_certificate_pem = None;
    let error = PsrpConnector::new(config.clone()).open("").await.err().unwrap();
    assert!(matches!(error, ExchangeError::Unreachable { .. }), "{error:?}");
    config.tls_verify = false;
    PsrpConnector::new(config).open("").await.unwrap().close().await.unwrap();
}

#[tokio::test]
async fn the_shell_quota_throttles_and_closing_frees_a_slot() {
    let backend = FakeBackend::default();
    let server = start_server(&backend, |config| config.max_shells_per_user = 2).await;
    let connector = PsrpConnector::new(client_config(&server, PASSWORD));
    let first = connector.open("").await.unwrap();
    let second = connector.open("").await.unwrap();
    let refused = connector.open("").await.err().unwrap();
    assert!(matches!(refused, ExchangeError::Throttled { .. }), "{refused:?}");
    first.close().await.unwrap();
    let third = connector.open("").await.unwrap();
    second.close().await.unwrap();
    third.close().await.unwrap();
    assert_eq!(server.open_shells(), 0);
}

#[tokio::test]
async fn servers_are_reached_by_name_and_failures_to_reach_them_are_unreachable() {
    let backend = FakeBackend::default();
    let server = start_server(&backend, |_| {}).await;
    let connector = PsrpConnector::new(client_config(&server, PASSWORD));
    let mut session = connector.open("cas2.contoso.com").await.unwrap();
    assert_eq!(session.server(), "cas2.contoso.com");
    assert_eq!(
        session.invoke(&CmdletCall::new("Get-Server")).await.unwrap().objects,
        vec![PsValue::string("cas2.contoso.com")]
    );
    session.close().await.unwrap();
    let down = connector.open("down.contoso.com").await.err().unwrap();
    assert!(matches!(down, ExchangeError::Unreachable { .. }) && down.calls_for_failover(), "{down:?}");

    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let config =
        PsrpConnectorConfig::basic(&format!("https://{closed_port}/PowerShell/"), USER, SecretString::from(PASSWORD));
    let refused = PsrpConnector::new(config).open("").await.err().unwrap();
    assert!(matches!(refused, ExchangeError::Unreachable { .. }), "{refused:?}");
}

#[tokio::test]
async fn an_exchange_2010_server_negotiates_protocol_2_1_and_still_runs_commands() {
    let backend = FakeBackend::default();
    let server = start_server(&backend, |config| {
        config.protocol_version = ProtocolVersion::V2_1;
        config.tls = false;
    })
    .await;
    assert!(server.url().starts_with("http://"));
    let mut session = PsrpConnector::new(client_config(&server, PASSWORD)).open("").await.unwrap();
    let call = every_parameter_shape();
    session.invoke(&call).await.unwrap();
    session.close().await.unwrap();
    assert_eq!(backend.recorded.lock().unwrap().calls, vec![call]);
}

#[tokio::test]
async fn a_session_dropped_without_close_still_deletes_its_shell() {
    let backend = FakeBackend::default();
    let server = start_server(&backend, |_| {}).await;
    let session = PsrpConnector::new(client_config(&server, PASSWORD)).open("").await.unwrap();
    assert_eq!(server.open_shells(), 1);
    drop(session);
    for _ in 0..100 {
        if server.open_shells() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.open_shells(), 0);
    assert_eq!(backend.recorded.lock().unwrap().closed_sessions, 1);
}

#[tokio::test]
async fn a_script_is_refused_like_exchanges_no_language_endpoint() {
    use easgate::psrp::client::{PipelineOutcome, RunspacePoolClient};
    use easgate::psrp::fragment::{DefragmenterLimits, OutgoingQueue};
    use easgate::psrp::message::{Destination, Message, MessageType};
    use easgate::psrp::pipeline::{PipelineCommand, create_pipeline_value};
    use easgate::wsman::request::RequestContext;
    use easgate::wsman::transport::{Authentication, HttpTransport, TransportConfig};
    use uuid::Uuid;

    let backend = FakeBackend::default();
    let server = start_server(&backend, |config| config.tls = false).await;
    let authentication = Authentication::Basic { user: USER.to_string(), password: SecretString::from(PASSWORD) };
    let transport = HttpTransport::new(&server.url(), authentication, &TransportConfig::default()).unwrap();
    let context = RequestContext {
        to: server.url(),
        resource_uri: easgate::wsman::names::EXCHANGE_RESOURCE_URI.to_string(),
        max_envelope_size_bytes: 153_600,
        operation_timeout_s: 5,
        session_id: Uuid::new_v4(),
        locale: "en-US".to_string(),
    };
    let mut pool = RunspacePoolClient::new(Uuid::new_v4(), DefragmenterLimits::default());
    let shell_id = pool.runspace_pool_id();
    transport.exchange(context.create(shell_id, "2.3", &pool.open_data())).await.unwrap();
    for stream in transport.exchange(context.receive(shell_id, None)).await.unwrap().body.streams {
        pool.receive_pool_data(&stream.data).unwrap();
    }

    let script = PipelineCommand { name: "Remove-Mailbox -Identity *".to_string(), is_script: true, arguments: vec![] };
    let command_id = Uuid::new_v4();
    let value = create_pipeline_value(&[script], ProtocolVersion::V2_3, true);
    let message = Message::with_value(Destination::Server, MessageType::CreatePipeline, shell_id, command_id, &value);
    let mut queue = OutgoingQueue::new();
    queue.push(100, message.encode());
    let mut arguments = Vec::new();
    queue.fill(usize::MAX, &mut arguments);
    transport.exchange(context.command(shell_id, command_id, &arguments)).await.unwrap();
    let mut pipeline = pool.start_pipeline(command_id, &CmdletCall::new("unused"));
    for stream in transport.exchange(context.receive(shell_id, Some(command_id))).await.unwrap().body.streams {
        pipeline.receive(&stream.data).unwrap();
    }
    let Some(PipelineOutcome::Failed(error)) = pipeline.outcome().cloned() else { panic!("{:?}", pipeline.outcome()) };
    assert!(error.message.contains("no-language mode"), "{error:?}");
    assert_eq!(error.fully_qualified_error_id, "ScriptsNotAllowed");
    assert!(backend.recorded.lock().unwrap().calls.is_empty(), "the script must never reach the backend");
    transport.exchange(context.delete(shell_id)).await.unwrap();
}

#[tokio::test]
async fn ntlm_in_the_negotiate_scheme_authenticates_over_https() {
    use easgate::wsman::transport::Authentication;

    let backend = FakeBackend::default();
    let server = start_server(&backend, |_| {}).await;
    let mut config = client_config(&server, PASSWORD);
    config.authentication =
        Authentication::Negotiate { user: USER.to_string(), password: SecretString::from(PASSWORD) };
    let mut session = PsrpConnector::new(config.clone()).open("").await.unwrap();
    for _ in 0..3 {
        session.invoke(&every_parameter_shape()).await.unwrap();
    }
    session.close().await.unwrap();
    assert_eq!(backend.recorded.lock().unwrap().calls, vec![every_parameter_shape(); 3]);
    let requests = server.request_counts();
    assert!(requests.creates + requests.commands + requests.receives + requests.signals + requests.deletes >= 10);
    assert_eq!(server.ntlm_handshakes(), 1, "the kept-alive connection is authenticated once");

    config.authentication = Authentication::Negotiate { user: USER.to_string(), password: SecretString::from("wrong") };
    let refused = PsrpConnector::new(config).open("").await.err().unwrap();
    assert!(matches!(refused, ExchangeError::Unauthorized { .. }), "{refused:?}");
}
