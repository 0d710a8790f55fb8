//! The certificate credential: a JWT client assertion signed with the app registration's
//! certificate key (Entra ID "certificate credentials": RS256, `x5t` = the certificate's SHA-1
//! thumbprint, `aud` = the token endpoint, `iss` = `sub` = the client id, short-lived).

use std::fmt;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Serialize;
use uuid::Uuid;

/// How long an assertion is valid: Entra only needs it for the one token request.
pub const ASSERTION_LIFETIME_S: i64 = 600;

/// Why the certificate file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// **Handling:** report in `easgate check`; fix the file (PEM with CERTIFICATE + RSA PRIVATE KEY).
    #[error("the client certificate file is not usable: {detail}")]
    Unusable { detail: String },
}

/// A certificate and its RSA private key, ready to sign assertions.
#[derive(Clone)]
pub struct ClientCertificate {
    key: EncodingKey,
    thumbprint_sha1: String,
    thumbprint_sha256: String,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "ClientCertificate(x5t={})", self.thumbprint_sha1)
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}

fn unusable(detail: impl Into<String>) -> CertificateError {
    CertificateError::Unusable { detail: detail.into() }
}

impl ClientCertificate {
    /// Reads a PEM holding the certificate and its unencrypted RSA private key (PKCS#8 or PKCS#1).
    pub fn from_pem(pem: &[u8]) -> Result<ClientCertificate, CertificateError> {
        let certificate = CertificateDer::pem_slice_iter(pem)
            .next()
            .ok_or_else(|| unusable("no CERTIFICATE block"))?
            .map_err(|error| unusable(format!("the CERTIFICATE block is malformed: {error}")))?;
        let text = std::str::from_utf8(pem).map_err(|_| unusable("not a PEM text file"))?;
        if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            return Err(unusable(
                "the private key is encrypted; easgate needs it unencrypted (protect the file instead)",
            ));
        }
        let key_block = private_key_block(text).ok_or_else(|| unusable("no PRIVATE KEY block"))?;
        let key = EncodingKey::from_rsa_pem(key_block.as_bytes())
            .map_err(|error| unusable(format!("the private key is not an RSA key: {error}")))?;
        let thumbprint_sha1 =
            URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, certificate.as_ref()));
        let thumbprint_sha256 = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, certificate.as_ref()));
        let client_certificate = ClientCertificate { key, thumbprint_sha1, thumbprint_sha256 };
        // A trial signature: a key that parses but cannot sign shows up in `check`, not at 3 a.m.
        client_certificate.assertion("https://check.invalid/token", "check", DateTime::UNIX_EPOCH)?;
        Ok(client_certificate)
    }

    /// The certificate's SHA-1 thumbprint, base64url (the JWT `x5t`).
    pub fn thumbprint_sha1(&self) -> &str {
        &self.thumbprint_sha1
    }

    /// A signed client assertion for one token request at `now`.
    pub fn assertion(&self, token_url: &str, client_id: &str, now: DateTime<Utc>) -> Result<String, CertificateError> {
        let mut header = Header::new(Algorithm::RS256);
        header.x5t = Some(self.thumbprint_sha1.clone());
        header.x5t_s256 = Some(self.thumbprint_sha256.clone());
        let issued_at_s = now.timestamp();
        let claims = AssertionClaims {
            aud: token_url,
            iss: client_id,
            sub: client_id,
            jti: Uuid::new_v4().to_string(),
            nbf: issued_at_s,
            iat: issued_at_s,
            exp: issued_at_s + ASSERTION_LIFETIME_S,
        };
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|error| unusable(format!("signing failed: {error}")))
    }
}

/// The text of the first `-----BEGIN ...PRIVATE KEY-----` block, with its END line.
fn private_key_block(text: &str) -> Option<&str> {
    let begin = ["-----BEGIN PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----"]
        .iter()
        .filter_map(|marker| text.find(marker))
        .min()?;
    let rest = &text[begin..];
    let end_marker = rest.find("-----END ")?;
    let line_end = rest[end_marker..].find('\n').map(|offset| end_marker + offset).unwrap_or(rest.len());
    Some(&rest[..line_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../fixtures/graph/client-certificate.pem");

    #[test]
    fn the_fixture_certificate_signs_assertions() {
        let certificate = ClientCertificate::from_pem(FIXTURE.as_bytes()).unwrap();
        let now = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        let jwt = certificate.assertion("https://login.example/t/oauth2/v2.0/token", "client", now).unwrap();
        assert_eq!(jwt.split('.').count(), 3);
        assert_eq!(certificate.thumbprint_sha1().len(), 27);
    }

    #[test]
    fn a_file_without_a_key_is_refused() {
        let certificate_only = &FIXTURE[..FIXTURE.find("-----BEGIN PRIVATE KEY-----").unwrap()];
        let error = ClientCertificate::from_pem(certificate_only.as_bytes()).unwrap_err().to_string();
        assert!(error.contains("no PRIVATE KEY"), "{error}");
    }
}
