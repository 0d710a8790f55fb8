//! The HTTP(S) side of a WS-Management server (axum on hyper, rustls): accepts POSTed envelopes
//! on any path, checks Basic credentials, parses the envelope and hands it to a handler, and
//! writes its reply or fault the way WinRM does (faults with HTTP 500). Over plain HTTP a
//! connection NTLM authenticated must send sealed bodies (MS-WSMV 2.2.9.1, like a WinRM
//! listener with AllowUnencrypted=false) and gets sealed replies. Bounded connections, bounded
//! bodies, graceful shutdown.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hyper_util::rt::TokioIo;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinSet;

use crate::wsman::encryption::SessionSealer;
use crate::wsman::encryption::{ENCRYPTED_CONTENT_TYPE, is_encrypted_content_type, open_body, seal_body};
use crate::wsman::fault::WsmanFault;
use crate::wsman::kerberos::KerberosAcceptor;
use crate::wsman::keytab::KeytabEntry;
use crate::wsman::ntlm::{NtlmServer, split_user};
use crate::wsman::parse::{Envelope, parse_envelope};
use crate::wsman::response::fault_envelope;
use crate::wsman::tls::{TlsError, TlsIdentity};

/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 256;

/// Who sent a request and where.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// The authenticated user (empty when the server checks no credentials).
    pub user: String,
    /// The URL path, e.g. `/PowerShell/` or `/PowerShell/cas2.contoso.com/`.
    pub path: String,
    /// The URL the client addressed, for replies that echo it.
    pub url: String,
}

/// A reply that is not a normal envelope.
#[derive(Debug, Clone)]
pub enum ServerFailure {
    /// A SOAP fault, sent with HTTP 500.
    Fault(WsmanFault),
    /// A bare HTTP status (401, 503, 504), as IIS or a load balancer would send.
    Status(u16, String),
}

/// What serves the envelopes.
#[async_trait]
pub trait WsmanHandler: Send + Sync + 'static {
    /// Handles one request; returns the reply envelope.
    async fn handle(&self, request: RequestInfo, envelope: Envelope) -> Result<String, ServerFailure>;
}

/// Basic credentials the server accepts.
#[derive(Debug, Clone)]
pub struct BasicCredentials {
    pub user: String,
    pub password: SecretString,
}

/// The Kerberos service the server accepts tickets for.
#[derive(Debug, Clone)]
pub struct KerberosService {
    /// `HTTP/<host>`, the principal clients ask the KDC a ticket for.
    pub service_principal: String,
    /// The service's keys (from its keytab).
    pub keys: Vec<KeytabEntry>,
}

/// How to listen.
#[derive(Debug, Clone)]
pub struct WsmanServerConfig {
    pub listen: SocketAddr,
    /// `None` serves plain HTTP (tests).
    pub tls: Option<TlsIdentity>,
    /// `None` accepts any caller (tests).
    pub credentials: Option<BasicCredentials>,
    /// The largest request body accepted (MaxEnvelopeSize is at most a few hundred KB).
    pub max_request_bytes: usize,
    /// Accept Kerberos tickets (in the Negotiate scheme) for the account of `credentials`.
    pub kerberos: Option<KerberosService>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerStartError {
    /// **Handling:** the address is taken or not local; report it and stop.
    #[error("cannot listen on {address}: {source}")]
    Bind { address: SocketAddr, source: std::io::Error },
    /// **Handling:** report it and stop.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// A running server: its address and how to stop it.
pub struct RunningServer {
    pub local_addr: SocketAddr,
    pub is_tls: bool,
    ntlm_handshakes: Arc<AtomicU64>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// `http(s)://addr` with no path.
    pub fn base_url(&self) -> String {
        format!("{}://{}", if self.is_tls { "https" } else { "http" }, self.local_addr)
    }

    /// NTLM handshakes completed so far (one per authenticated connection).
    pub fn ntlm_handshakes(&self) -> u64 {
        self.ntlm_handshakes.load(Ordering::Relaxed)
    }

    /// Stops accepting, ends open connections and waits for the accept loop to finish.
    pub async fn shutdown(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

#[derive(Clone)]
struct ServerState {
    handler: Arc<dyn WsmanHandler>,
    credentials: Option<BasicCredentials>,
    kerberos: Option<Arc<KerberosService>>,
    max_request_bytes: usize,
    scheme: &'static str,
    ntlm_handshakes: Arc<AtomicU64>,
}

/// Binds `config.listen` and serves `handler` until shutdown.
pub async fn serve(
    config: WsmanServerConfig,
    handler: Arc<dyn WsmanHandler>,
) -> Result<RunningServer, ServerStartError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerStartError::Bind { address: config.listen, source })?;
    let local_addr =
        listener.local_addr().map_err(|source| ServerStartError::Bind { address: config.listen, source })?;
    let acceptor = match &config.tls {
        Some(identity) => Some(tokio_rustls::TlsAcceptor::from(identity.server_config()?)),
        None => None,
    };
    let state = ServerState {
        handler,
        credentials: config.credentials.clone(),
        kerberos: config.kerberos.clone().map(Arc::new),
        max_request_bytes: config.max_request_bytes,
        scheme: if acceptor.is_some() { "https" } else { "http" },
        ntlm_handshakes: Arc::new(AtomicU64::new(0)),
    };
    let ntlm_handshakes = state.ntlm_handshakes.clone();
    let router = Router::new().fallback(handle_request).with_state(state);
    let (shutdown_sender, shutdown_receiver) = oneshot::channel();
    let is_tls = acceptor.is_some();
    let task = tokio::spawn(accept_loop(listener, acceptor, router, shutdown_receiver));
    Ok(RunningServer { local_addr, is_tls, ntlm_handshakes, shutdown: Some(shutdown_sender), task })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    mut shutdown: oneshot::Receiver<()>,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    // Runs until shutdown; each iteration accepts one connection.
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit { Ok(permit) => permit, Err(_) => break },
        };
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        // NTLM authenticates a connection, not a request: each connection has its own state.
        let router = router.clone().layer(axum::Extension(Arc::new(Mutex::new(ConnectionAuth::default()))));
        let acceptor = acceptor.clone();
        connections.spawn(async move {
            let _permit = permit;
            let service = hyper_util::service::TowerToHyperService::new(router);
            let http = hyper::server::conn::http1::Builder::new();
            let result = match acceptor {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls) => http.serve_connection(TokioIo::new(tls), service).await,
                    Err(error) => {
                        tracing::debug!(%error, "TLS handshake failed");
                        return;
                    }
                },
                None => http.serve_connection(TokioIo::new(stream), service).await,
            };
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
        // Reap finished connections so the set stays small.
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

async fn handle_request(
    State(state): State<ServerState>,
    connection: Option<axum::Extension<Arc<Mutex<ConnectionAuth>>>>,
    request: Request,
) -> Response {
    let connection = connection.map(|axum::Extension(connection)| connection).unwrap_or_default();
    let mut response = handle_authenticated(&state, &connection, request).await;
    // Kerberos' mutual authentication: the AP-REP goes back with the first answer.
    let reply_token = connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).reply_token.take();
    if let Some(token) = reply_token {
        let value = format!("Negotiate {}", base64::engine::general_purpose::STANDARD.encode(token));
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

async fn handle_authenticated(state: &ServerState, connection: &Mutex<ConnectionAuth>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (user, scheme) = match authenticate(state, connection, &parts.headers) {
        Ok(authenticated) => authenticated,
        Err(response) => return *response,
    };
    if parts.method != axum::http::Method::POST {
        return plain_status(StatusCode::METHOD_NOT_ALLOWED, "WS-Management takes POST");
    }
    let bytes = match axum::body::to_bytes(body, state.max_request_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => return plain_status(StatusCode::PAYLOAD_TOO_LARGE, "request larger than MaxEnvelopeSize allows"),
    };
    if scheme != AuthScheme::Connection || state.scheme != "http" {
        return serve_envelope(state, &parts, user, &bytes).await;
    }
    // NTLM or Kerberos over plain HTTP: the handshake's own POST is empty; everything else
    // must be sealed.
    if bytes.is_empty() {
        return plain_status(StatusCode::OK, "");
    }
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    if !is_encrypted_content_type(content_type) {
        return plain_status(
            StatusCode::BAD_REQUEST,
            "unencrypted message refused: this listener requires HTTP message encryption (AllowUnencrypted=false)",
        );
    }
    let opened = {
        let mut connection = connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match connection.session.as_mut() {
            Some(session) => open_body(session.as_mut(), content_type, &bytes),
            None => return *unauthorized(None),
        }
    };
    let plaintext = match opened {
        Ok(plaintext) => plaintext,
        Err(error) => {
            // A context that failed to unseal is out of step for good: authenticate again.
            *connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = ConnectionAuth::default();
            return plain_status(StatusCode::BAD_REQUEST, &error.to_string());
        }
    };
    let response = serve_envelope(state, &parts, user, &plaintext).await;
    seal_response(connection, response).await
}

/// Parses an envelope, hands it to the handler and writes its reply or fault.
async fn serve_envelope(
    state: &ServerState,
    parts: &axum::http::request::Parts,
    user: String,
    bytes: &[u8],
) -> Response {
    let envelope = match parse_envelope(bytes) {
        Ok(envelope) => envelope,
        Err(error) => {
            let fault = WsmanFault {
                code: Some(crate::wsman::names::fault_code::PLUGIN_FAILED),
                subcode: Some("w:InvalidMessage".to_string()),
                reason: error.to_string(),
                message: None,
                machine: None,
            };
            return soap_reply(StatusCode::INTERNAL_SERVER_ERROR, fault_envelope(None, &fault));
        }
    };
    let host = parts.headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or("localhost");
    let info = RequestInfo {
        user,
        path: parts.uri.path().to_string(),
        url: format!("{}://{host}{}", state.scheme, parts.uri.path()),
    };
    let relates_to = envelope.header.message_id.clone();
    match state.handler.handle(info, envelope).await {
        Ok(reply) => soap_reply(StatusCode::OK, reply),
        Err(ServerFailure::Fault(fault)) => {
            soap_reply(StatusCode::INTERNAL_SERVER_ERROR, fault_envelope(relates_to.as_deref(), &fault))
        }
        Err(ServerFailure::Status(status, text)) => {
            plain_status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), &text)
        }
    }
}

/// Seals a SOAP reply (envelope or fault) with the connection's session; bare statuses go as
/// they are, as IIS sends them.
async fn seal_response(connection: &Mutex<ConnectionAuth>, response: Response) -> Response {
    let is_soap = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/soap+xml"));
    if !is_soap {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Our own reply, already in memory.
    let Ok(plaintext) = axum::body::to_bytes(body, usize::MAX).await else {
        return plain_status(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the reply");
    };
    let sealed = {
        let mut connection = connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match connection.session.as_mut() {
            Some(session) => seal_body(session.as_mut(), &plaintext),
            None => return *unauthorized(None),
        }
    };
    match sealed {
        Ok(sealed) => {
            parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ENCRYPTED_CONTENT_TYPE));
            Response::from_parts(parts, Body::from(sealed))
        }
        Err(error) => plain_status(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
    }
}

/// How a request proved who sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthScheme {
    /// No credentials are checked.
    Anyone,
    Basic,
    /// NTLM or Kerberos, on this request or earlier on the connection.
    Connection,
}

/// What a connection has proven so far.
#[derive(Default)]
pub struct ConnectionAuth {
    /// The user NTLM authenticated on this connection.
    user: Option<String>,
    /// An NTLM handshake waiting for its AUTHENTICATE.
    pending: Option<NtlmServer>,
    /// The established NTLM or Kerberos context, which seals and unseals the bodies over plain HTTP.
    session: Option<Box<dyn SessionSealer + Send>>,
    /// A token for the next answer's `WWW-Authenticate` (Kerberos' AP-REP).
    reply_token: Option<Vec<u8>>,
}

/// A 401 offering both schemes, or carrying an NTLM challenge.
fn unauthorized(negotiate: Option<&[u8]>) -> Box<Response> {
    let mut response = plain_status(StatusCode::UNAUTHORIZED, "");
    let headers = response.headers_mut();
    match negotiate {
        Some(token) => {
            let value = format!("Negotiate {}", base64::engine::general_purpose::STANDARD.encode(token));
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        None => {
            headers.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("Negotiate"));
            headers.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"WSMAN\""));
        }
    }
    Box::new(response)
}

/// The authenticated user and how (Basic per request, NTLM per connection), or the 401 to send.
fn authenticate(
    state: &ServerState,
    connection: &Mutex<ConnectionAuth>,
    headers: &HeaderMap,
) -> Result<(String, AuthScheme), Box<Response>> {
    let Some(expected) = &state.credentials else { return Ok((String::new(), AuthScheme::Anyone)) };
    let mut connection = connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let authorization = headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok());
    if let Some(encoded) = authorization.and_then(|value| value.strip_prefix("Basic ")) {
        let presented = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|decoded| String::from_utf8(decoded).ok());
        let Some((user, password)) = presented.as_deref().and_then(|text| text.split_once(':')) else {
            return Err(unauthorized(None));
        };
        let accepted = user.eq_ignore_ascii_case(&expected.user) && password == expected.password.expose_secret();
        return if accepted { Ok((user.to_string(), AuthScheme::Basic)) } else { Err(unauthorized(None)) };
    }
    if let Some(encoded) = authorization.and_then(|value| value.strip_prefix("Negotiate ")) {
        let token = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| unauthorized(None))?;
        // A krb5 GSS token (an AP-REQ) starts with the ASN.1 application tag 0x60.
        if let (Some(kerberos), Some(0x60)) = (&state.kerberos, token.first()) {
            return accept_kerberos(kerberos, &mut connection, &expected.user, &token);
        }
        // NTLMSSP message type: 1 = NEGOTIATE, 3 = AUTHENTICATE (after the 8-byte signature).
        match token.get(8..12) {
            Some([1, 0, 0, 0]) => {
                let mut server = NtlmServer::new().map_err(|_| unauthorized(None))?;
                let challenge = server.challenge(&token).map_err(|_| unauthorized(None))?;
                connection.pending = Some(server);
                return Err(unauthorized(Some(&challenge)));
            }
            Some([3, 0, 0, 0]) => {
                let mut server = connection.pending.take().ok_or_else(|| unauthorized(None))?;
                let (account, domain) = split_user(&expected.user);
                let user = server.verify(&token, &account, &domain, &expected.password).map_err(|error| {
                    tracing::debug!(%error, "NTLM authentication refused");
                    unauthorized(None)
                })?;
                connection.user = Some(user.clone());
                connection.session = Some(Box::new(server));
                state.ntlm_handshakes.fetch_add(1, Ordering::Relaxed);
                return Ok((user, AuthScheme::Connection));
            }
            _ => return Err(unauthorized(None)),
        }
    }
    connection.user.clone().map(|user| (user, AuthScheme::Connection)).ok_or_else(|| unauthorized(None))
}

/// Accepts a Kerberos AP-REQ for the one account allowed; the AP-REP waits in `reply_token`.
fn accept_kerberos(
    kerberos: &KerberosService,
    connection: &mut ConnectionAuth,
    expected_user: &str,
    token: &[u8],
) -> Result<(String, AuthScheme), Box<Response>> {
    let refused = |error: crate::wsman::kerberos::KerberosError| {
        tracing::debug!(%error, "Kerberos authentication refused");
        unauthorized(None)
    };
    let mut acceptor = KerberosAcceptor::new(&kerberos.keys, &kerberos.service_principal).map_err(refused)?;
    let (user, ap_reply) = acceptor.accept(token).map_err(refused)?;
    // The configured user may be written DOMAIN\user or user@REALM.
    let expected_account = match expected_user.rsplit_once('@') {
        Some((account, _)) => account.to_string(),
        None => split_user(expected_user).0,
    };
    if !user.eq_ignore_ascii_case(&expected_account) {
        tracing::debug!(user, "Kerberos ticket for another account");
        return Err(unauthorized(None));
    }
    connection.user = Some(user.clone());
    connection.session = Some(Box::new(acceptor));
    connection.reply_token = Some(ap_reply);
    Ok((user, AuthScheme::Connection))
}

fn soap_reply(status: StatusCode, xml: String) -> Response {
    let mut response = Response::new(Body::from(xml));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/soap+xml;charset=UTF-8"));
    response
}

fn plain_status(status: StatusCode, text: &str) -> Response {
    (status, text.to_string()).into_response()
}
