//! A test HTTP server on 127.0.0.1:0 serving an axum router, optionally with TLS. With TLS the
//! same port also answers plain http (the first byte tells a TLS handshake from a request), so
//! that `https://host/` and `http://host/` of one fake host both reach it, as Autodiscover's
//! candidates need. Each request carries a `Transport` extension saying which it came over.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// Connections served at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 256;

/// The test CA that signed the fake server's certificate (contoso.test, *.contoso.test,
/// fabrikam.test, *.fabrikam.test, localhost, 127.0.0.1). Trust it in test clients.
pub const FIXTURE_CA_PEM: &str = include_str!("../../fixtures/ews/tls/ca.pem");
const FIXTURE_SERVER_CERTIFICATE_PEM: &str = include_str!("../../fixtures/ews/tls/server.pem");
const FIXTURE_SERVER_KEY_PEM: &str = include_str!("../../fixtures/ews/tls/server.key");

/// How a request reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Plain,
    Tls,
}

/// A running server; it stops accepting when dropped.
pub struct LoopbackServer {
    address: SocketAddr,
    accept_task: JoinHandle<()>,
}

impl LoopbackServer {
    pub fn address(&self) -> SocketAddr {
        self.address
    }
    pub fn port(&self) -> u16 {
        self.address.port()
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

/// The fixture certificate as a rustls server configuration (HTTP/1.1 only).
pub fn fixture_tls_config() -> Result<Arc<ServerConfig>, String> {
    let certificates: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(FIXTURE_SERVER_CERTIFICATE_PEM.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|error| format!("fixture certificate: {error}"))?;
    let key = PrivateKeyDer::from_pem_slice(FIXTURE_SERVER_KEY_PEM.as_bytes())
        .map_err(|error| format!("fixture key: {error}"))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .map_err(|error| error.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `router` on 127.0.0.1 (a free port); with `tls`, https and http on the same port.
pub async fn serve_loopback(router: Router, tls: Option<Arc<ServerConfig>>) -> std::io::Result<LoopbackServer> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    serve_listener(listener, router, tls)
}

/// Serves `router` on a listener already bound (when the router must know its own address).
pub fn serve_listener(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<ServerConfig>>,
) -> std::io::Result<LoopbackServer> {
    let address = listener.local_addr()?;
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let accept_task = tokio::spawn(async move {
        loop {
            let Ok(permit) = permits.clone().acquire_owned().await else { return };
            let Ok((stream, _)) = listener.accept().await else { continue };
            let router = router.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                serve_connection(stream, router, acceptor).await;
                drop(permit);
            });
        }
    });
    Ok(LoopbackServer { address, accept_task })
}

async fn serve_connection(stream: TcpStream, router: Router, acceptor: Option<tokio_rustls::TlsAcceptor>) {
    let mut first_byte = [0u8; 1];
    let is_tls_handshake = match stream.peek(&mut first_byte).await {
        Ok(1) => first_byte[0] == 0x16,
        _ => false,
    };
    match (acceptor, is_tls_handshake) {
        (Some(acceptor), true) => {
            if let Ok(tls_stream) = acceptor.accept(stream).await {
                serve_http(TokioIo::new(tls_stream), router, Transport::Tls).await;
            }
        }
        _ => serve_http(TokioIo::new(stream), router, Transport::Plain).await,
    }
}

async fn serve_http<I>(io: I, router: Router, transport: Transport)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = router.map_request(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(transport);
        request.map(axum::body::Body::new)
    });
    let _ = Builder::new(TokioExecutor::new()).serve_connection(io, TowerToHyperService::new(service)).await;
}
