//! The HTTP(S) client side of WS-Management: POSTs an envelope, reads the reply with a size cap,
//! parses it as a stream and types what went wrong. One transport per shell, so each shell has
//! its own connection and cookie jar (load balancers and Exchange Online pin shells by cookie).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};

use crate::wsman::error::WsmanError;
use crate::wsman::ntlm::{NtlmClient, split_user};
use crate::wsman::parse::{Envelope, parse_envelope};
use crate::wsman::proxy::{ProxySettings, is_proxy_refusal};

/// How the client proves who it is.
#[derive(Debug, Clone)]
pub enum Authentication {
    /// HTTP Basic, for HTTPS only (Exchange needs `Set-PowerShellVirtualDirectory
    /// -BasicAuthentication $true`). `SecretString` keeps the password out of Debug output.
    Basic { user: String, password: SecretString },
    /// NTLM in the HTTP `Negotiate` scheme, over HTTPS only (the message encryption that plain
    /// HTTP needs is not implemented). `user` is `DOMAIN\\user` or a bare name.
    Negotiate { user: String, password: SecretString },
}

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
        Ok(HttpTransport {
            client,
            connection_authenticated: Arc::new(AtomicBool::new(false)),
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
                self.post(envelope, Some(header)).await?
            }
            Authentication::Negotiate { user, password } => {
                // NTLM authenticates the connection: once it has, requests go without a header
                // until the server asks again (a new connection).
                let mut reply = None;
                if self.connection_authenticated.load(Ordering::Relaxed) {
                    let attempt = self.post(envelope.clone(), None).await?;
                    if attempt.status != StatusCode::UNAUTHORIZED {
                        reply = Some(attempt);
                    }
                }
                match reply {
                    Some(reply) => reply,
                    None => self.negotiate_and_post(user, password, envelope).await?,
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

    /// The NTLM handshake on this connection (NEGOTIATE with an empty body, CHALLENGE in the 401,
    /// AUTHENTICATE with the real envelope), as pypsrp does it.
    async fn negotiate_and_post(
        &self,
        user: &str,
        password: &SecretString,
        envelope: String,
    ) -> Result<Reply, WsmanError> {
        self.connection_authenticated.store(false, Ordering::Relaxed);
        let refused = |detail: String| WsmanError::Authentication { detail };
        let (account, domain) = split_user(user);
        let mut ntlm = NtlmClient::new(&account, &domain, password).map_err(|error| refused(error.to_string()))?;
        let negotiate = ntlm.step(None).map_err(|error| refused(error.to_string()))?;
        let first = self.post(String::new(), Some(negotiate_header(&negotiate))).await?;
        if first.status != StatusCode::UNAUTHORIZED {
            return Err(refused(format!("HTTP {} instead of an NTLM challenge", first.status.as_u16())));
        }
        let challenge = first
            .headers
            .get_all(reqwest::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(|value| value.strip_prefix("Negotiate "))
            .and_then(|token| base64::engine::general_purpose::STANDARD.decode(token.trim()).ok())
            .ok_or_else(|| refused("the server sent no Negotiate challenge".to_string()))?;
        let authenticate = ntlm.step(Some(&challenge)).map_err(|error| refused(error.to_string()))?;
        let reply = self.post(envelope, Some(negotiate_header(&authenticate))).await?;
        if reply.status != StatusCode::UNAUTHORIZED {
            self.connection_authenticated.store(true, Ordering::Relaxed);
        }
        Ok(reply)
    }

    async fn post(&self, body: String, authorization: Option<String>) -> Result<Reply, WsmanError> {
        let mut request = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/soap+xml;charset=UTF-8")
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
    /// A failed request as a `WsmanError`, telling a proxy's refusal apart.
    fn request_error(&self, error: reqwest::Error) -> WsmanError {
        match &self.proxy {
            Some(proxy) if is_proxy_refusal(&error) => proxy.refused(),
            _ => request_error(error),
        }
    }
}

/// An HTTP reply read in full.
struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
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
