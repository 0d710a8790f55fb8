//! TLS for the pinned connection (`crate::wsman::connection`), verifying as the pooled client
//! does: the platform's roots plus the configured extra root (rustls-platform-verifier), and no
//! verification only when the admin turned `TlsVerify` off.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{DigitallySignedStruct, SignatureScheme};

use crate::wsman::error::WsmanError;
use crate::wsman::transport::TransportConfig;

/// The TLS connector for `config`.
pub(crate) fn tls_connector(config: &TransportConfig) -> Result<tokio_rustls::TlsConnector, WsmanError> {
    let unusable = |detail: String| WsmanError::Connect { detail: format!("cannot set up TLS: {detail}") };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = if config.tls_verify {
        let extra_roots = match &config.extra_root_certificate_pem {
            Some(pem) => CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| unusable(format!("the extra root certificate is not PEM: {error}")))?,
            None => Vec::new(),
        };
        Arc::new(
            rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots, provider.clone())
                .map_err(|error| unusable(error.to_string()))?,
        )
    } else {
        Arc::new(AcceptAnyCertificate { provider: provider.clone() })
    };
    let mut client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| unusable(error.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    client_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(client_config)))
}

/// The server name a certificate must carry for `host` (a DNS name or an IP address).
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, WsmanError> {
    ServerName::try_from(host.to_string()).map_err(|error| WsmanError::Connect {
        detail: format!("{host} cannot be checked against a certificate: {error}"),
    })
}

/// `TlsVerify=false`: any certificate is taken, but the handshake signatures are still checked
/// so the session keys belong to whoever holds that certificate's key.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, certificate, signature, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, certificate, signature, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
