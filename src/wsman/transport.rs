//! The HTTP(S) client side of WS-Management: POSTs an envelope, reads the reply with a size cap,
//! parses it as a stream and types what went wrong. One transport per shell, so each shell has
//! its own connection and cookie jar (load balancers and Exchange Online pin shells by cookie).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};

use crate::wsman::connection::PinnedConnection;
use crate::wsman::encryption::{
    ENCRYPTED_CONTENT_TYPE, SessionSealer, is_encrypted_content_type, open_body, seal_body,
};
use crate::wsman::error::WsmanError;
use crate::wsman::kerberos::KerberosClient;
use crate::wsman::ntlm::{NtlmClient, split_user};
use crate::wsman::parse::{Envelope, parse_envelope};
use crate::wsman::proxy::{ProxySettings, is_proxy_refusal};

/// How the client proves who it is.
#[derive(Debug, Clone)]
pub enum Authentication {
    /// HTTP Basic, for HTTPS only (Exchange needs `Set-PowerShellVirtualDirectory
    /// -BasicAuthentication $true`). `SecretString` keeps the password out of Debug output.
    Basic { user: String, password: SecretString },
    /// NTLM in the HTTP `Negotiate` scheme. Over HTTPS the envelopes go as they are (TLS protects
    /// them); over plain HTTP every envelope is sealed with the NTLM session keys (MS-WSMV
    /// 2.2.9.1, `crate::wsman::encryption`). `user` is `DOMAIN\\user` or a bare name.
    Negotiate { user: String, password: SecretString },
    /// Kerberos (a raw krb5 AP-REQ in the HTTP `Negotiate` scheme, mutual authentication) for the
    /// service principal `HTTP/<host of the URL>`; messages are sealed over plain HTTP as for
    /// NTLM. `user` is `user@REALM`; `kdc_url` (`tcp://kdc:88`) overrides `SSPI_KDC_URL` and
    /// krb5.conf. See `crate::wsman::kerberos`.
    Kerberos { user: String, password: SecretString, kdc_url: Option<String> },
}

/// An established security context that seals this connection's messages.
type Sealer = Box<dyn SessionSealer + Send>;

/// TLS and limits for a transport.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Verify the server's certificate (default true). Only an admin's explicit choice turns it off.
    pub tls_verify: bool,
    /// An extra trusted root in PEM (a private CA, or the test server's generated certificate).
    pub extra_root_certificate_pem: Option<Vec<u8>>,
    pub connect_timeout_ms: u64,
    /// The whole request, reply included: the OperationTimeout plus a margin for the network.
    pub request_timeout_ms: u64,
    /// The largest reply accepted. Windows keeps replies under MaxEnvelopeSize; twice that is
    /// room for its own accounting while stopping a runaway body.
    pub max_response_bytes: usize,
    /// An HTTP proxy to go through (CONNECT for https); `None`: straight to the server.
    pub proxy: Option<ProxySettings>,
}

impl Default for TransportConfig {
    fn default() -> TransportConfig {
        TransportConfig {
            tls_verify: true,
            extra_root_certificate_pem: None,
            connect_timeout_ms: 10_000,
            request_timeout_ms: 40_000,
            max_response_bytes: 2 * 153_600,
            proxy: None,
        }
    }
}

/// One HTTP connection (pool) and cookie jar, for one shell. Clones share both.
#[derive(Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    /// Whether NTLM has authenticated the (single, kept-alive) connection.
    connection_authenticated: Arc<AtomicBool>,
    /// Negotiate over plain HTTP: the connection's established NTLM context, which seals every
    /// envelope. The lock keeps the one connection's sequence numbers in request order.
    sealing: Arc<tokio::sync::Mutex<Option<Sealer>>>,
    /// Whether envelopes are sealed (Negotiate or Kerberos over `http://`).
    seals_messages: bool,
    /// For NTLM and Kerberos: the one connection every request goes on (see `connection`).
    pinned: Option<Arc<tokio::sync::Mutex<PinnedConnection>>>,
    url: String,
    authentication: Authentication,
    max_response_bytes: usize,
    proxy: Option<ProxySettings>,
}

impl HttpTransport {
    pub fn new(
        url: &str,
        authentication: Authentication,
        config: &TransportConfig,
    ) -> Result<HttpTransport, WsmanError> {
        let mut builder = reqwest::Client::builder()
            .cookie_store(true)
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .timeout(Duration::from_millis(config.request_timeout_ms))
            .pool_max_idle_per_host(1)
            .http1_only()
            .tls_danger_accept_invalid_certs(!config.tls_verify);
        if let Some(pem) = &config.extra_root_certificate_pem {
            let certificate = reqwest::Certificate::from_pem(pem).map_err(|error| WsmanError::Connect {
                detail: format!("the extra root certificate is not PEM: {error}"),
            })?;
            builder = builder.tls_certs_merge([certificate]);
        }
        if let Some(proxy) = &config.proxy {
            builder = builder.proxy(proxy.to_reqwest()?);
        }
        let client = builder
            .build()
            .map_err(|error| WsmanError::Connect { detail: format!("cannot set up the HTTP client: {error}") })?;
        let seals_messages = !matches!(authentication, Authentication::Basic { .. })
            && url.get(..7).is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"));
        Ok(HttpTransport {
            client,
            connection_authenticated: Arc::new(AtomicBool::new(false)),
            sealing: Arc::new(tokio::sync::Mutex::new(None)),
            seals_messages,
            // NTLM and Kerberos authenticate a connection: their sessions keep one.
            pinned: match &authentication {
                Authentication::Basic { .. } => None,
                _ => Some(Arc::new(tokio::sync::Mutex::new(PinnedConnection::new(url, config)?))),
            },
            url: url.to_string(),
            authentication,
            max_response_bytes: config.max_response_bytes,
            proxy: config.proxy.clone(),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one envelope and returns the reply envelope. A SOAP fault is `Err(WsmanError::Fault)`.
    pub async fn exchange(&self, envelope: String) -> Result<Envelope, WsmanError> {
        let reply = match &self.authentication {
            Authentication::Basic { user, password } => {
                let credentials = format!("{user}:{}", password.expose_secret());
                let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials));
                self.post(envelope.into_bytes(), SOAP_CONTENT_TYPE, Some(header)).await?
            }
            _ if self.seals_messages => self.sealed_exchange(envelope).await?,
            _ => {
                // NTLM and Kerberos authenticate the connection: once they have, requests go
                // without a header until the server asks again (a new connection).
                let mut reply = None;
                if self.connection_authenticated.load(Ordering::Relaxed) {
                    let attempt = self.post(envelope.clone().into_bytes(), SOAP_CONTENT_TYPE, None).await?;
                    if attempt.status != StatusCode::UNAUTHORIZED {
                        reply = Some(attempt);
                    }
                }
                match reply {
                    Some(reply) => reply,
                    None => self.handshake(envelope.into_bytes()).await?.1,
                }
            }
        };
        if let Some(proxy) = &self.proxy
            && reply.status == StatusCode::PROXY_AUTHENTICATION_REQUIRED
        {
            return Err(proxy.refused());
        }
        if reply.status == StatusCode::UNAUTHORIZED || reply.status == StatusCode::FORBIDDEN {
            return Err(WsmanError::Unauthorized { status: reply.status.as_u16() });
        }
        interpret_reply(reply.status, &reply.body)
    }

    /// Negotiate over plain HTTP: authenticates the connection with empty bodies, then sends the
    /// envelope sealed and opens the sealed reply. A 401 means a new connection: one more
    /// handshake, then the credentials are refused.
    async fn sealed_exchange(&self, envelope: String) -> Result<Reply, WsmanError> {
        let mut session = self.sealing.lock().await;
        // At most two tries: the kept context, then a fresh handshake.
        for _ in 0..2 {
            let mut context = match session.take() {
                Some(context) => context,
                None => self.handshake(Vec::new()).await?.0,
            };
            let body = seal_body(context.as_mut(), envelope.as_bytes())
                .map_err(|error| WsmanError::Authentication { detail: error.to_string() })?;
            let mut reply = self.post(body, ENCRYPTED_CONTENT_TYPE, None).await?;
            if reply.status == StatusCode::UNAUTHORIZED {
                continue;
            }
            let content_type = reply
                .headers
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_string();
            if is_encrypted_content_type(&content_type) {
                reply.body = open_body(context.as_mut(), &content_type, &reply.body)
                    .map_err(|error| WsmanError::Malformed { detail: format!("encrypted reply: {error}") })?;
            } else if reply.status.is_success() || !reply.body.is_empty() && content_type.contains("soap") {
                return Err(WsmanError::Malformed {
                    detail: format!("the server answered HTTP {} in clear on an encrypted session", reply.status),
                });
            }
            *session = Some(context);
            return Ok(reply);
        }
        Err(WsmanError::Unauthorized { status: StatusCode::UNAUTHORIZED.as_u16() })
    }

    /// Authenticates this connection with NTLM or Kerberos, `final_body` going with the last token.
    async fn handshake(&self, final_body: Vec<u8>) -> Result<(Sealer, Reply), WsmanError> {
        match &self.authentication {
            Authentication::Negotiate { user, password } => {
                let (context, reply) = self.ntlm_handshake(user, password, final_body).await?;
                Ok((Box::new(context), reply))
            }
            Authentication::Kerberos { user, password, kdc_url } => {
                let (context, reply) = self.kerberos_handshake(user, password, kdc_url.clone(), final_body).await?;
                Ok((Box::new(context), reply))
            }
            Authentication::Basic { .. } => {
                Err(WsmanError::Authentication { detail: "Basic has no connection handshake".to_string() })
            }
        }
    }

    /// Kerberos on this connection: the AP-REQ (after the KDC exchanges, off the async runtime)
    /// with `final_body`, the server's AP-REP in its answer.
    async fn kerberos_handshake(
        &self,
        user: &str,
        password: &SecretString,
        kdc_url: Option<String>,
        final_body: Vec<u8>,
    ) -> Result<(KerberosClient, Reply), WsmanError> {
        self.connection_authenticated.store(false, Ordering::Relaxed);
        let refused = |detail: String| WsmanError::Authentication { detail };
        let host = reqwest::Url::parse(&self.url).ok().and_then(|url| url.host_str().map(str::to_string));
        let service_principal = format!("HTTP/{}", host.unwrap_or_default());
        let (user, password) = (user.to_string(), password.clone());
        let first = tokio::task::spawn_blocking(move || {
            let mut client = KerberosClient::new(&user, &password, kdc_url.as_deref(), &service_principal)?;
            let ap_request = client.step(None)?;
            Ok::<_, crate::wsman::kerberos::KerberosError>((client, ap_request))
        });
        let (mut client, ap_request) = first
            .await
            .map_err(|error| refused(format!("the Kerberos task failed: {error}")))?
            .map_err(|error| refused(error.to_string()))?;
        let reply = self.post(final_body, SOAP_CONTENT_TYPE, Some(negotiate_header(&ap_request))).await?;
        if reply.status == StatusCode::UNAUTHORIZED {
            return Err(WsmanError::Unauthorized { status: reply.status.as_u16() });
        }
        let ap_reply = negotiate_token(&reply.headers)
            .ok_or_else(|| refused("the server sent no Kerberos AP-REP (mutual authentication)".to_string()))?;
        client.step(Some(&ap_reply)).map_err(|error| refused(error.to_string()))?;
        self.connection_authenticated.store(true, Ordering::Relaxed);
        Ok((client, reply))
    }

    /// The NTLM handshake on this connection (NEGOTIATE with an empty body, CHALLENGE in the 401,
    /// AUTHENTICATE with `final_body`: the envelope over HTTPS, nothing before sealed messages),
    /// as pypsrp does it. Returns the established context and the last reply.
    async fn ntlm_handshake(
        &self,
        user: &str,
        password: &SecretString,
        final_body: Vec<u8>,
    ) -> Result<(NtlmClient, Reply), WsmanError> {
        self.connection_authenticated.store(false, Ordering::Relaxed);
        let refused = |detail: String| WsmanError::Authentication { detail };
        let (account, domain) = split_user(user);
        let mut ntlm = NtlmClient::new(&account, &domain, password).map_err(|error| refused(error.to_string()))?;
        let negotiate = ntlm.step(None).map_err(|error| refused(error.to_string()))?;
        let first = self.post(Vec::new(), SOAP_CONTENT_TYPE, Some(negotiate_header(&negotiate))).await?;
        if first.status != StatusCode::UNAUTHORIZED {
            return Err(refused(format!("HTTP {} instead of an NTLM challenge", first.status.as_u16())));
        }
        let challenge = negotiate_token(&first.headers)
            .ok_or_else(|| refused("the server sent no Negotiate challenge".to_string()))?;
        let authenticate = ntlm.step(Some(&challenge)).map_err(|error| refused(error.to_string()))?;
        let reply = self.post(final_body, SOAP_CONTENT_TYPE, Some(negotiate_header(&authenticate))).await?;
        // Only a 401 refuses: what WinRM answers an empty authenticated POST is not specified
        // (pypsrp ignores it), and over HTTPS the envelope's own reply is interpreted by the caller.
        if reply.status == StatusCode::UNAUTHORIZED {
            return Err(WsmanError::Unauthorized { status: reply.status.as_u16() });
        }
        self.connection_authenticated.store(true, Ordering::Relaxed);
        Ok((ntlm, reply))
    }

    async fn post_routed(
        &self,
        body: Vec<u8>,
        content_type: &'static str,
        authorization: Option<String>,
    ) -> Result<Reply, WsmanError> {
        let mut request = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            // IIS compresses Exchange's replies unless told not to.
            .header(reqwest::header::ACCEPT_ENCODING, "identity")
            .body(body);
        if let Some(authorization) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization);
        }
        let mut response = request.send().await.map_err(|error| self.request_error(error))?;
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        // Bounded by max_response_bytes.
        while let Some(chunk) = response.chunk().await.map_err(body_error)? {
            if body.len() + chunk.len() > self.max_response_bytes {
                return Err(WsmanError::BodyTooLarge { limit_bytes: self.max_response_bytes });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply { status, headers, body })
    }
}

impl HttpTransport {
    /// POSTs on the session's pinned connection when it has one, else through the client's pool.
    async fn post(
        &self,
        body: Vec<u8>,
        content_type: &'static str,
        authorization: Option<String>,
    ) -> Result<Reply, WsmanError> {
        match &self.pinned {
            Some(pinned) => pinned.lock().await.post(body, content_type, authorization).await,
            None => self.post_routed(body, content_type, authorization).await,
        }
    }

    /// A failed request as a `WsmanError`, telling a proxy's refusal apart.
    fn request_error(&self, error: reqwest::Error) -> WsmanError {
        match &self.proxy {
            Some(proxy) if is_proxy_refusal(&error) => proxy.refused(),
            _ => request_error(error),
        }
    }
}

const SOAP_CONTENT_TYPE: &str = "application/soap+xml;charset=UTF-8";

/// An HTTP reply read in full.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// The token of a `WWW-Authenticate: Negotiate <base64>` header.
fn negotiate_token(headers: &reqwest::header::HeaderMap) -> Option<Vec<u8>> {
    headers
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix("Negotiate "))
        .and_then(|token| base64::engine::general_purpose::STANDARD.decode(token.trim()).ok())
}

fn negotiate_header(token: &[u8]) -> String {
    format!("Negotiate {}", base64::engine::general_purpose::STANDARD.encode(token))
}

/// A reply by its status and body: a fault in any status becomes `Fault`, a 2xx must parse.
fn interpret_reply(status: StatusCode, body: &[u8]) -> Result<Envelope, WsmanError> {
    let parsed = parse_envelope(body);
    if let Ok(envelope) = &parsed
        && let Some(fault) = &envelope.body.fault
    {
        return Err(WsmanError::Fault(fault.clone()));
    }
    if status.is_success() {
        return parsed;
    }
    let excerpt: String = String::from_utf8_lossy(body).chars().take(200).collect();
    match status {
        // IIS with a stopped application pool, or a load balancer with no healthy member.
        StatusCode::SERVICE_UNAVAILABLE => Err(WsmanError::Connect { detail: format!("HTTP 503: {excerpt}") }),
        // A proxy or load balancer gave up waiting for Exchange: the call is in doubt.
        StatusCode::GATEWAY_TIMEOUT => Err(WsmanError::Timeout { detail: format!("HTTP 504: {excerpt}") }),
        _ => Err(WsmanError::Http { status: status.as_u16(), excerpt }),
    }
}

fn request_error(error: reqwest::Error) -> WsmanError {
    if error.is_timeout() {
        WsmanError::Timeout { detail: error_chain(&error) }
    } else {
        WsmanError::Connect { detail: error_chain(&error) }
    }
}

fn body_error(error: reqwest::Error) -> WsmanError {
    // The server had the request: whatever it did, its effect is unknown.
    WsmanError::Timeout { detail: format!("the reply broke off: {}", error_chain(&error)) }
}

/// The error and its sources on one line ("error sending request: connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    // Error chains are short; the cap guards against a cyclic chain.
    for _ in 0..8 {
        let Some(cause) = source else { break };
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
