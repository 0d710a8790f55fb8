//! Kerberos for WS-Management (sspi-rs): the client gets a ticket from the KDC and makes the
//! AP-REQ sent in the HTTP `Negotiate` scheme, then checks the server's AP-REP (mutual
//! authentication); the acceptor (our test server) decrypts the ticket with a keytab key. Both
//! then seal messages with the session key (RFC 4121 wrap tokens), framed by
//! `crate::wsman::encryption` over plain HTTP.
//!
//! How it was established (MIT krb5 1.20 from Debian, realm on 127.0.0.1, tests/wire_kerberos.rs):
//! sspi 0.23's `Kerberos` client without the `network_client` feature yields its KDC requests
//! (`NetworkRequest`, TCP, length-prefixed) and [`KdcTcpClient`] answers them; the KDC must
//! require pre-authentication for the user (`+requires_preauth`, as Active Directory always
//! does), else sspi refuses the AS-REP ("KDC server should not process AS_REQ without the
//! pa-pac data"). sspi's acceptor takes a raw krb5 AP-REQ with one service key per principal.
//!
//! Limits: the user needs a password (`user@REALM`; `REALM\user` works when the part before the
//! backslash is the realm itself, not a NetBIOS name); sspi reads no ticket cache. The KDC comes
//! from `SSPI_KDC_URL_<REALM>` / `SSPI_KDC_URL` or the realm's `kdc` in krb5.conf (`KRB5_CONFIG`),
//! TCP only; DNS SRV discovery would need sspi's `dns_resolver` feature. The tokens are raw
//! krb5 GSS tokens, not SPNEGO-wrapped: Windows' Negotiate package accepts them (pypsrp sends
//! the same), but this has not been tried against a real Exchange here.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sspi::network_client::NetworkClient;
use sspi::{
    AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, Credentials, CredentialsBuffers, DataRepresentation,
    EncryptionFlags, Kerberos, KerberosConfig, NetworkProtocol, NetworkRequest, Secret, SecurityBuffer,
    SecurityBufferRef, ServerRequestFlags, Sspi, SspiImpl, Username, kerberos::ServerProperties,
};

use crate::wsman::encryption::{SealError, SessionSealer};
use crate::wsman::keytab::KeytabEntry;

/// How long the KDC may take to accept a connection, and then to answer.
const KDC_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const KDC_REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// KDC replies carry a ticket or two; a PAC-laden AD reply stays far below this.
const MAX_KDC_REPLY_BYTES: usize = 256 * 1024;
/// The clock skew the acceptor tolerates (Kerberos' usual five minutes).
const MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// Why a Kerberos step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KerberosError {
    /// The user is not `user@REALM` or `REALM\user`. **Handling:** fix the configured user.
    #[error("unusable Kerberos user name {0:?}: use user@REALM")]
    UserName(String),
    /// The KDC could not be reached or refused (wrong password, unknown principal, no SPN).
    /// **Handling:** treat as refused credentials; the message names the KDC's answer.
    #[error("Kerberos ticket request failed: {0}")]
    Kdc(String),
    /// A token was malformed, out of sequence, or for another service. **Handling:** refused.
    #[error("Kerberos authentication failed: {0}")]
    Token(String),
    /// The keytab has no usable key for the service principal. **Handling:** export the keytab again.
    #[error("the keytab has no AES key for {0}")]
    NoServiceKey(String),
}

/// `user@REALM` or `REALM\user` as (user, upper-case realm).
pub fn split_principal(user: &str) -> Result<(String, String), KerberosError> {
    let (account, realm) = match (user.rsplit_once('@'), user.split_once('\\')) {
        (Some((account, realm)), _) => (account, realm),
        (None, Some((realm, account))) => (account, realm),
        (None, None) => return Err(KerberosError::UserName(user.to_string())),
    };
    if account.is_empty() || realm.is_empty() {
        return Err(KerberosError::UserName(user.to_string()));
    }
    Ok((account.to_string(), realm.to_ascii_uppercase()))
}

/// Answers sspi's KDC requests over TCP (blocking, bounded by timeouts and a size cap).
pub struct KdcTcpClient;

impl NetworkClient for KdcTcpClient {
    fn send(&self, request: &NetworkRequest) -> sspi::Result<Vec<u8>> {
        let refused = |detail: String| sspi::Error::new(sspi::ErrorKind::NoAuthenticatingAuthority, detail);
        if request.protocol != NetworkProtocol::Tcp {
            return Err(refused(format!("KDC {}: only tcp:// KDCs are supported", request.url)));
        }
        let host = request.url.host_str().unwrap_or_default();
        let address = (host, request.url.port().unwrap_or(88))
            .to_socket_addrs()
            .map_err(|error| refused(format!("KDC {host}: {error}")))?
            .next()
            .ok_or_else(|| refused(format!("KDC {host}: no address")))?;
        let mut stream = TcpStream::connect_timeout(&address, KDC_CONNECT_TIMEOUT)
            .map_err(|error| refused(format!("KDC {address}: {error}")))?;
        let io = |error: std::io::Error| refused(format!("KDC {address}: {error}"));
        stream.set_read_timeout(Some(KDC_REPLY_TIMEOUT)).map_err(io)?;
        stream.set_write_timeout(Some(KDC_REPLY_TIMEOUT)).map_err(io)?;
        // The request already carries its 4-byte length prefix; so must the reply.
        stream.write_all(&request.data).map_err(io)?;
        let mut length = [0u8; 4];
        stream.read_exact(&mut length).map_err(io)?;
        let reply_length = u32::from_be_bytes(length) as usize;
        if reply_length > MAX_KDC_REPLY_BYTES {
            return Err(refused(format!("KDC {address}: a reply of {reply_length} bytes")));
        }
        let mut reply = vec![0u8; 4 + reply_length];
        reply[..4].copy_from_slice(&length);
        stream.read_exact(&mut reply[4..]).map_err(io)?;
        Ok(reply)
    }
}

/// The client side: one AP-REQ, then the AP-REP, then sealing.
pub struct KerberosClient {
    kerberos: Kerberos,
    credentials: Option<CredentialsBuffers>,
    service_principal: String,
}

const CLIENT_FLAGS: ClientRequestFlags =
    ClientRequestFlags::MUTUAL_AUTH.union(ClientRequestFlags::CONFIDENTIALITY).union(ClientRequestFlags::INTEGRITY);

impl KerberosClient {
    /// `service_principal` is `HTTP/<host>`; `kdc_url` (`tcp://host:88`) overrides discovery.
    pub fn new(
        user: &str,
        password: &SecretString,
        kdc_url: Option<&str>,
        service_principal: &str,
    ) -> Result<KerberosClient, KerberosError> {
        let (account, realm) = split_principal(user)?;
        let config = match kdc_url {
            Some(url) => KerberosConfig::new_with_kdc_url(url, "easgate".into()),
            None => KerberosConfig {
                kdc_resolution: sspi::KdcResolution::KdcUrl(None),
                client_computer_name: "easgate".into(),
            },
        };
        let mut kerberos =
            Kerberos::new_client_from_config(config).map_err(|error| KerberosError::Kdc(error.to_string()))?;
        let username = Username::new(&account, Some(&realm)).map_err(|_| KerberosError::UserName(user.to_string()))?;
        let identity = AuthIdentity { username, password: password.expose_secret().to_string().into() };
        let acquired = kerberos
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&Credentials::AuthIdentity(identity))
            .execute(&mut kerberos)
            .map_err(|error| KerberosError::Kdc(error.to_string()))?;
        Ok(KerberosClient {
            kerberos,
            credentials: acquired.credentials_handle,
            service_principal: service_principal.to_string(),
        })
    }

    /// The next token: the AP-REQ first (this talks to the KDC and blocks: run it off the async
    /// runtime), then nothing after the server's AP-REP.
    pub fn step(&mut self, server_token: Option<&[u8]>) -> Result<Vec<u8>, KerberosError> {
        let mut input =
            server_token.map(|token| vec![SecurityBuffer::new(token.to_vec(), BufferType::Token)]).unwrap_or_default();
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut builder = self
            .kerberos
            .initialize_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(CLIENT_FLAGS)
            .with_target_data_representation(DataRepresentation::Native)
            .with_target_name(&self.service_principal)
            .with_input(&mut input)
            .with_output(&mut output);
        let generator = self.kerberos.initialize_security_context_impl(&mut builder);
        let result =
            generator.map_err(|error| KerberosError::Kdc(error.to_string()))?.resolve_with_client(&KdcTcpClient);
        let failed = |error: sspi::Error| match server_token {
            None => KerberosError::Kdc(error.to_string()),
            Some(_) => KerberosError::Token(error.to_string()),
        };
        result.map_err(failed)?;
        Ok(output.pop().map(|buffer| buffer.buffer).unwrap_or_default())
    }
}

/// The acceptor side, with the service's keytab key.
pub struct KerberosAcceptor {
    kerberos: Kerberos,
    credentials: Option<CredentialsBuffers>,
}

impl KerberosAcceptor {
    /// An acceptor for `service_principal` (`HTTP/host`), using its strongest AES key in `keys`.
    pub fn new(keys: &[KeytabEntry], service_principal: &str) -> Result<KerberosAcceptor, KerberosError> {
        let components: Vec<&str> = service_principal.split('/').collect();
        let key = keys
            .iter()
            .filter(|entry| entry.components.iter().map(String::as_str).eq(components.iter().copied()))
            .filter(|entry| entry.encryption_type == 17 || entry.encryption_type == 18)
            .max_by_key(|entry| (entry.encryption_type, entry.version))
            .ok_or_else(|| KerberosError::NoServiceKey(service_principal.to_string()))?;
        let token_error = |error: sspi::Error| KerberosError::Token(error.to_string());
        let properties = ServerProperties::new(&components, None, MAX_CLOCK_SKEW, Some(Secret::new(key.key.clone())))
            .map_err(token_error)?;
        let config =
            KerberosConfig { kdc_resolution: sspi::KdcResolution::KdcUrl(None), client_computer_name: String::new() };
        let mut kerberos = Kerberos::new_server_from_config(config, properties).map_err(token_error)?;
        let acquired = kerberos
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Inbound)
            .execute(&mut kerberos)
            .map_err(token_error)?;
        Ok(KerberosAcceptor { kerberos, credentials: acquired.credentials_handle })
    }

    /// Accepts an AP-REQ: the client's account name and the AP-REP to send back.
    pub fn accept(&mut self, token: &[u8]) -> Result<(String, Vec<u8>), KerberosError> {
        let token_error = |error: sspi::Error| KerberosError::Token(error.to_string());
        let mut input = vec![SecurityBuffer::new(token.to_vec(), BufferType::Token)];
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let builder = self
            .kerberos
            .accept_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(ServerRequestFlags::MUTUAL_AUTH | ServerRequestFlags::CONFIDENTIALITY)
            .with_target_data_representation(DataRepresentation::Native)
            .with_input(&mut input)
            .with_output(&mut output);
        // An AP-REQ needs no KDC: a generator that asks for one fails here.
        self.kerberos
            .accept_security_context_impl(builder)
            .map_err(token_error)?
            .resolve_to_result()
            .map_err(token_error)?;
        let names = self.kerberos.query_context_names().map_err(token_error)?;
        Ok((names.username.account_name().to_string(), output.pop().map(|buffer| buffer.buffer).unwrap_or_default()))
    }
}

fn seal(kerberos: &mut Kerberos, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), SealError> {
    let sizes = kerberos.query_context_sizes().map_err(|error| SealError::Seal(error.to_string()))?;
    let mut header = vec![0u8; sizes.security_trailer as usize];
    let mut data = plaintext.to_vec();
    let mut buffers = [SecurityBufferRef::token_buf(&mut header), SecurityBufferRef::data_buf(&mut data)];
    kerberos
        .encrypt_message(EncryptionFlags::empty(), &mut buffers)
        .map_err(|error| SealError::Seal(error.to_string()))?;
    Ok((buffers[0].data().to_vec(), buffers[1].data().to_vec()))
}

fn unseal(kerberos: &mut Kerberos, signature: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, SealError> {
    let mut header = signature.to_vec();
    let mut data = ciphertext.to_vec();
    let mut buffers = [SecurityBufferRef::token_buf(&mut header), SecurityBufferRef::data_buf(&mut data)];
    kerberos.decrypt_message(&mut buffers).map_err(|error| SealError::Unseal(error.to_string()))?;
    Ok(buffers[1].data().to_vec())
}

impl SessionSealer for KerberosClient {
    fn seal(&mut self, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), SealError> {
        seal(&mut self.kerberos, plaintext)
    }

    fn unseal(&mut self, signature: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, SealError> {
        unseal(&mut self.kerberos, signature, ciphertext)
    }
}

impl SessionSealer for KerberosAcceptor {
    fn seal(&mut self, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), SealError> {
        seal(&mut self.kerberos, plaintext)
    }

    fn unseal(&mut self, signature: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, SealError> {
        unseal(&mut self.kerberos, signature, ciphertext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_name_a_realm() {
        assert_eq!(split_principal("svc@contoso.com").unwrap(), ("svc".into(), "CONTOSO.COM".into()));
        assert_eq!(split_principal("CONTOSO.COM\\svc").unwrap(), ("svc".into(), "CONTOSO.COM".into()));
        assert!(matches!(split_principal("svc"), Err(KerberosError::UserName(_))));
        assert!(matches!(split_principal("@REALM"), Err(KerberosError::UserName(_))));
    }
}
