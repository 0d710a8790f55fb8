//! One persistent HTTP/1.1 connection (hyper, over TCP or TLS) for the sessions NTLM or
//! Kerberos authenticate: the authentication belongs to the connection, so every request of the
//! session (and both legs of NTLM's handshake) must use the same one. A pooled client (reqwest) may start a
//! second connection while the first is still on its way back to the pool, which the server
//! then sees as unauthenticated. When the server closes the connection the next request opens a
//! new one; its 401 makes the transport authenticate again. Cookies are kept (load balancers
//! pin shells by cookie). Through a proxy the connection is a CONNECT tunnel (`proxy_tunnel`),
//! one TCP stream end to end, so the authentication holds.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use reqwest::cookie::CookieStore;
use tokio::net::TcpStream;

use crate::wsman::error::WsmanError;
use crate::wsman::transport::{Reply, TransportConfig};

/// The session's connection, opened on first use.
pub(crate) struct PinnedConnection {
    url: url::Url,
    /// For https URLs.
    tls: Option<tokio_rustls::TlsConnector>,
    sender: Option<SendRequest<Full<Bytes>>>,
    cookies: Arc<reqwest::cookie::Jar>,
    connect_timeout: Duration,
    request_timeout: Duration,
    max_response_bytes: usize,
    /// Reached through a CONNECT tunnel when set.
    proxy: Option<crate::wsman::proxy::ProxySettings>,
}

impl PinnedConnection {
    pub(crate) fn new(url: &str, config: &TransportConfig) -> Result<PinnedConnection, WsmanError> {
        let url = url::Url::parse(url).map_err(|error| WsmanError::Connect { detail: format!("{url}: {error}") })?;
        let tls = match (url.scheme(), url.host_str()) {
            ("http", Some(_)) => None,
            ("https", Some(_)) => Some(crate::wsman::pinned_tls::tls_connector(config)?),
            _ => return Err(WsmanError::Connect { detail: format!("{url}: not an http(s)://host URL") }),
        };
        Ok(PinnedConnection {
            url,
            tls,
            sender: None,
            cookies: Arc::new(reqwest::cookie::Jar::default()),
            connect_timeout: Duration::from_millis(config.connect_timeout_ms),
            request_timeout: Duration::from_millis(config.request_timeout_ms),
            max_response_bytes: config.max_response_bytes,
            proxy: config.proxy.clone(),
        })
    }

    /// POSTs `body` on the connection, reconnecting once if the server had closed it.
    pub(crate) async fn post(
        &mut self,
        body: Vec<u8>,
        content_type: &str,
        authorization: Option<String>,
    ) -> Result<Reply, WsmanError> {
        // At most two tries: the kept connection, then a fresh one if the kept one was closed
        // before the request went out (never after: the server may have acted on it).
        for _ in 0..2 {
            let request = self.request(body.clone(), content_type, authorization.as_deref())?;
            let timeout = self.request_timeout;
            let sender = self.ready_sender().await?;
            let sent = tokio::time::timeout(timeout, sender.send_request(request)).await;
            match sent {
                Err(_) => return Err(self.broken(WsmanError::Timeout { detail: "no answer in time".into() })),
                Ok(Err(error)) if error.is_canceled() => self.sender = None,
                Ok(Err(error)) => {
                    let detail = format!("the connection broke: {error}");
                    return Err(self.broken(WsmanError::Timeout { detail }));
                }
                Ok(Ok(response)) => return self.read(response).await,
            }
        }
        Err(WsmanError::Connect { detail: format!("{}: the server keeps closing the connection", self.url) })
    }

    fn broken(&mut self, error: WsmanError) -> WsmanError {
        self.sender = None;
        error
    }

    /// The open connection's sender, connecting first if there is none or it was closed.
    async fn ready_sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, WsmanError> {
        if self.sender.as_ref().is_some_and(SendRequest::is_closed) {
            self.sender = None;
        }
        if self.sender.is_none() {
            self.sender = Some(self.connect().await?);
        }
        let Some(sender) = self.sender.as_mut() else {
            return Err(WsmanError::Connect { detail: "no connection".into() });
        };
        if sender.ready().await.is_err() {
            self.sender = None;
            return Err(WsmanError::Connect { detail: format!("{}: the connection closed", self.url) });
        }
        self.sender.as_mut().ok_or_else(|| WsmanError::Connect { detail: "no connection".into() })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, WsmanError> {
        let host = self.url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
        let port = self.url.port_or_known_default().unwrap_or(80);
        let unreachable = |detail: String| WsmanError::Connect { detail: format!("{host}:{port}: {detail}") };
        let stream = match &self.proxy {
            Some(proxy) => crate::wsman::proxy_tunnel::connect_tunnel(proxy, host, port, self.connect_timeout).await?,
            None => tokio::time::timeout(self.connect_timeout, TcpStream::connect((host, port)))
                .await
                .map_err(|_| unreachable("no connection in time".into()))?
                .map_err(|error| unreachable(error.to_string()))?,
        };
        let _ = stream.set_nodelay(true);
        let Some(tls) = &self.tls else { return http1(stream).await.map_err(unreachable) };
        let name = crate::wsman::pinned_tls::server_name(host)?;
        let handshake = tokio::time::timeout(self.connect_timeout, tls.connect(name, stream));
        let stream = handshake
            .await
            .map_err(|_| unreachable("no TLS handshake in time".into()))?
            .map_err(|error| unreachable(format!("TLS: {error}")))?;
        http1(stream).await.map_err(unreachable)
    }
}

/// HTTP/1.1 on an open stream; the connection runs on its own task until either side closes it.
async fn http1<Stream>(stream: Stream) -> Result<SendRequest<Full<Bytes>>, String>
where
    Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|error| error.to_string())?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "WS-Management connection ended");
        }
    });
    Ok(sender)
}

impl PinnedConnection {
    fn request(
        &self,
        body: Vec<u8>,
        content_type: &str,
        authorization: Option<&str>,
    ) -> Result<hyper::Request<Full<Bytes>>, WsmanError> {
        let host = match self.url.port() {
            Some(port) => format!("{}:{port}", self.url.host_str().unwrap_or_default()),
            None => self.url.host_str().unwrap_or_default().to_string(),
        };
        let path = &self.url[url::Position::BeforePath..url::Position::AfterQuery];
        let mut builder = hyper::Request::post(path)
            .header(hyper::header::HOST, host)
            .header(hyper::header::CONTENT_TYPE, content_type)
            .header(hyper::header::ACCEPT_ENCODING, "identity");
        if let Some(authorization) = authorization {
            builder = builder.header(hyper::header::AUTHORIZATION, authorization);
        }
        if let Some(cookies) = self.cookies.cookies(&self.url) {
            builder = builder.header(hyper::header::COOKIE, cookies);
        }
        builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| WsmanError::Connect { detail: format!("cannot build the request: {error}") })
    }

    /// Reads the whole reply, bounded by `max_response_bytes` and the request timeout.
    async fn read(&mut self, response: hyper::Response<hyper::body::Incoming>) -> Result<Reply, WsmanError> {
        let (parts, mut incoming) = response.into_parts();
        self.cookies.set_cookies(&mut parts.headers.get_all(hyper::header::SET_COOKIE).iter(), &self.url);
        let limit_bytes = self.max_response_bytes;
        let mut body = Vec::new();
        let reading = async {
            // Bounded by max_response_bytes.
            while let Some(frame) = incoming.frame().await {
                let frame = frame.map_err(|error| format!("the reply broke off: {error}"))?;
                if let Some(data) = frame.data_ref() {
                    if body.len() + data.len() > limit_bytes {
                        return Err(String::new());
                    }
                    body.extend_from_slice(data);
                }
            }
            Ok(())
        };
        let outcome = tokio::time::timeout(self.request_timeout, reading).await;
        match outcome {
            Ok(Ok(())) => Ok(Reply { status: parts.status, headers: parts.headers, body }),
            Ok(Err(detail)) if detail.is_empty() => Err(self.broken(WsmanError::BodyTooLarge { limit_bytes })),
            Ok(Err(detail)) => Err(self.broken(WsmanError::Timeout { detail })),
            Err(_) => Err(self.broken(WsmanError::Timeout { detail: "the reply did not finish in time".into() })),
        }
    }
}
