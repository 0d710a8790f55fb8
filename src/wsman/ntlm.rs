//! NTLM tokens for HTTP `Negotiate` authentication (sspi-rs): the client's NEGOTIATE and
//! AUTHENTICATE messages, and the server's CHALLENGE and verification (used by the test server).
//! Once established, either side seals and unseals messages with the session keys (NTLM
//! sealing: RC4 plus a 16-byte signature), which `crate::wsman::encryption` frames for plain HTTP.

use secrecy::{ExposeSecret, SecretString};
use sspi::{
    AuthIdentity, AuthIdentityBuffers, BufferType, ClientRequestFlags, CredentialUse, DataRepresentation,
    EncryptionFlags, Ntlm, SecurityBuffer, SecurityBufferRef, SecurityStatus, ServerRequestFlags, Sspi, SspiEx,
    SspiImpl, Username,
};

use crate::wsman::encryption::{SealError, SessionSealer};

/// The size of an NTLM message signature (version, checksum, sequence number).
pub const NTLM_SIGNATURE_BYTES: usize = 16;

/// Why an NTLM step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NtlmError {
    /// The user name cannot be used (empty, or malformed `DOMAIN\user`).
    /// **Handling:** fix the configured user.
    #[error("unusable NTLM user name: {0}")]
    UserName(String),
    /// A token was malformed, out of sequence, or the credentials did not match.
    /// **Handling:** treat as refused credentials.
    #[error("NTLM authentication failed: {0}")]
    Failed(String),
}

fn failed(error: sspi::Error) -> NtlmError {
    NtlmError::Failed(error.to_string())
}

fn identity(user: &str, domain: &str, password: &SecretString) -> Result<AuthIdentity, NtlmError> {
    let domain = (!domain.is_empty()).then_some(domain);
    let username = Username::new(user, domain).map_err(|error| NtlmError::UserName(error.to_string()))?;
    Ok(AuthIdentity { username, password: password.expose_secret().to_string().into() })
}

/// `DOMAIN\user` or `user@domain` split for NTLM; a bare name has no domain.
pub fn split_user(qualified: &str) -> (String, String) {
    match qualified.split_once('\\') {
        Some((domain, user)) => (user.to_string(), domain.to_string()),
        None => (qualified.to_string(), String::new()),
    }
}

/// The client side of one NTLM handshake.
pub struct NtlmClient {
    ntlm: Ntlm,
    credentials: Option<AuthIdentityBuffers>,
}

impl NtlmClient {
    pub fn new(user: &str, domain: &str, password: &SecretString) -> Result<NtlmClient, NtlmError> {
        let mut ntlm = Ntlm::new();
        let identity = identity(user, domain, password)?;
        let acquired = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&identity)
            .execute(&mut ntlm)
            .map_err(failed)?;
        Ok(NtlmClient { ntlm, credentials: acquired.credentials_handle })
    }

    /// The next token to send, given the server's last token (none for the first).
    pub fn step(&mut self, server_token: Option<&[u8]>) -> Result<Vec<u8>, NtlmError> {
        let mut input =
            server_token.map(|token| vec![SecurityBuffer::new(token.to_vec(), BufferType::Token)]).unwrap_or_default();
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut builder = self
            .ntlm
            .initialize_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(ClientRequestFlags::ALLOCATE_MEMORY | ClientRequestFlags::CONFIDENTIALITY)
            .with_target_data_representation(DataRepresentation::Native)
            .with_input(&mut input)
            .with_output(&mut output);
        self.ntlm
            .initialize_security_context_impl(&mut builder)
            .map_err(failed)?
            .resolve_to_result()
            .map_err(failed)?;
        Ok(output.pop().map(|buffer| buffer.buffer).unwrap_or_default())
    }
}

/// Seals `plaintext` with the established context: the signature and the ciphertext.
fn seal(ntlm: &mut Ntlm, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), SealError> {
    let mut signature = vec![0u8; NTLM_SIGNATURE_BYTES];
    let mut data = plaintext.to_vec();
    let mut buffers = [SecurityBufferRef::token_buf(&mut signature), SecurityBufferRef::data_buf(&mut data)];
    ntlm.encrypt_message(EncryptionFlags::empty(), &mut buffers).map_err(|error| SealError::Seal(error.to_string()))?;
    Ok((signature, data))
}

/// Checks the signature over and decrypts `ciphertext` with the established context.
fn unseal(ntlm: &mut Ntlm, signature: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, SealError> {
    if signature.len() != NTLM_SIGNATURE_BYTES {
        return Err(SealError::SignatureLength { expected: NTLM_SIGNATURE_BYTES, got: signature.len() });
    }
    let mut token = signature.to_vec();
    let mut data = ciphertext.to_vec();
    let mut buffers = [SecurityBufferRef::token_buf(&mut token), SecurityBufferRef::data_buf(&mut data)];
    ntlm.decrypt_message(&mut buffers).map_err(|error| SealError::Unseal(error.to_string()))?;
    Ok(data)
}

impl SessionSealer for NtlmClient {
    fn seal(&mut self, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), SealError> {
        seal(&mut self.ntlm, plaintext)
    }

    fn unseal(&mut self, signature: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, SealError> {
        unseal(&mut self.ntlm, signature, ciphertext)
    }
}

impl SessionSealer for NtlmServer {
    fn seal(&mut self, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), SealError> {
        seal(&mut self.ntlm, plaintext)
    }

    fn unseal(&mut self, signature: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, SealError> {
        unseal(&mut self.ntlm, signature, ciphertext)
    }
}

/// The server side of one NTLM handshake, checking one configured account.
pub struct NtlmServer {
    ntlm: Ntlm,
    credentials: Option<AuthIdentityBuffers>,
}

impl NtlmServer {
    pub fn new() -> Result<NtlmServer, NtlmError> {
        let mut ntlm = Ntlm::new();
        let acquired = ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Inbound)
            .execute(&mut ntlm)
            .map_err(failed)?;
        Ok(NtlmServer { ntlm, credentials: acquired.credentials_handle })
    }

    fn accept(&mut self, client_token: &[u8]) -> Result<(SecurityStatus, Vec<u8>), NtlmError> {
        let mut input = vec![SecurityBuffer::new(client_token.to_vec(), BufferType::Token)];
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let builder = self
            .ntlm
            .accept_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(ServerRequestFlags::ALLOCATE_MEMORY)
            .with_target_data_representation(DataRepresentation::Native)
            .with_input(&mut input)
            .with_output(&mut output);
        let result =
            self.ntlm.accept_security_context_impl(builder).map_err(failed)?.resolve_to_result().map_err(failed)?;
        Ok((result.status, output.pop().map(|buffer| buffer.buffer).unwrap_or_default()))
    }

    /// The CHALLENGE answering a NEGOTIATE.
    pub fn challenge(&mut self, negotiate: &[u8]) -> Result<Vec<u8>, NtlmError> {
        Ok(self.accept(negotiate)?.1)
    }

    /// Verifies an AUTHENTICATE against the one account allowed; returns the user name.
    pub fn verify(
        &mut self,
        authenticate: &[u8],
        user: &str,
        domain: &str,
        password: &SecretString,
    ) -> Result<String, NtlmError> {
        let (status, _) = self.accept(authenticate)?;
        if status != SecurityStatus::CompleteNeeded && status != SecurityStatus::CompleteAndContinue {
            return Err(NtlmError::Failed(format!("unexpected status {status:?} after AUTHENTICATE")));
        }
        let names = self.ntlm.query_context_names().map_err(failed)?;
        let presented = names.username.account_name().to_string();
        if !presented.eq_ignore_ascii_case(user) {
            return Err(NtlmError::Failed(format!("unknown user {presented:?}")));
        }
        self.ntlm.custom_set_auth_identity(identity(user, domain, password)?).map_err(failed)?;
        self.ntlm.complete_auth_token(&mut []).map_err(failed)?;
        Ok(presented)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(client_password: &str) -> Result<String, NtlmError> {
        let server_password = SecretString::from("correct horse");
        let mut client = NtlmClient::new("svc-easgate", "CONTOSO", &SecretString::from(client_password))?;
        let mut server = NtlmServer::new()?;
        let negotiate = client.step(None)?;
        let challenge = server.challenge(&negotiate)?;
        let authenticate = client.step(Some(&challenge))?;
        server.verify(&authenticate, "svc-easgate", "CONTOSO", &server_password)
    }

    #[test]
    fn the_right_password_authenticates_and_a_wrong_one_does_not() {
        assert_eq!(handshake("correct horse").unwrap(), "svc-easgate");
        assert!(matches!(handshake("wrong horse"), Err(NtlmError::Failed(_))));
        assert_eq!(split_user("CONTOSO\\svc"), ("svc".to_string(), "CONTOSO".to_string()));
    }
}
