//! TLS for the WS-Management server: a generated self-signed certificate (rcgen) and the rustls
//! server configuration, always with the aws-lc-rs provider reqwest also uses.

use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate and its key.
#[derive(Clone)]
pub struct TlsIdentity {
    /// PEM, for clients to trust (`PsrpConnectorConfig::extra_root_certificate_pem`).
    pub certificate_pem: String,
    certificate_der: Vec<u8>,
    private_key_der: Vec<u8>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key never reaches a log.
        formatter.debug_struct("TlsIdentity").field("certificate_pem", &self.certificate_pem).finish_non_exhaustive()
    }
}

/// Why TLS could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// **Handling:** a bug or an unusable host name; report and stop.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(String),
    /// **Handling:** the certificate or key is unusable; report and stop.
    #[error("cannot configure TLS: {0}")]
    Configure(String),
}

impl TlsIdentity {
    /// A self-signed certificate for `host_names` (DNS names or IP addresses).
    pub fn self_signed(host_names: &[String]) -> Result<TlsIdentity, TlsError> {
        let certified = rcgen::generate_simple_self_signed(host_names.to_vec())
            .map_err(|error| TlsError::Generate(error.to_string()))?;
        Ok(TlsIdentity {
            certificate_pem: certified.cert.pem(),
            certificate_der: certified.cert.der().to_vec(),
            private_key_der: certified.signing_key.serialize_der(),
        })
    }

    /// The rustls server configuration for this identity (HTTP/1.1 only, like WinRM).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let certificate = CertificateDer::from(self.certificate_der.clone());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.private_key_der.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::Configure(error.to_string()))?
            .with_no_client_auth()
            .with_single_cert(vec![certificate], key)
            .map_err(|error| TlsError::Configure(error.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}
