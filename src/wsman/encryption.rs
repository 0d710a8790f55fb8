//! HTTP message encryption for WS-Management over plain HTTP (MS-WSMV 2.2.9.1): the SOAP body
//! sealed with the authenticated session's keys and framed as
//! `multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted"`. WinRM listeners
//! with `AllowUnencrypted=false` (the default, and Exchange's HTTP endpoint) accept nothing else.
//!
//! One body is two MIME parts: a header part whose `OriginalContent` carries the plaintext
//! length, then an `application/octet-stream` part holding a 4-byte little-endian signature
//! length, the signature and the ciphertext. Exchange writes its boundaries as
//! `-- Encrypted Boundary` (with a space), so the reader allows white space after the dashes.

use memchr::memmem;

/// The protocol of SPNEGO (here NTLM) session encryption.
pub const SPNEGO_ENCRYPTED_PROTOCOL: &str = "application/HTTP-SPNEGO-session-encrypted";
/// The boundary WinRM and its clients use.
pub const ENCRYPTED_BOUNDARY: &str = "Encrypted Boundary";
/// The `Content-Type` of an encrypted request or reply.
pub const ENCRYPTED_CONTENT_TYPE: &str =
    "multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"";
/// Signatures are 16 bytes for NTLM and tens of bytes for Kerberos; anything larger is garbage.
const MAX_SIGNATURE_BYTES: usize = 1024;

/// Why an established security context could not seal or unseal a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Sealing failed (no session keys). **Handling:** authenticate the connection again.
    #[error("cannot seal the message: {0}")]
    Seal(String),
    /// The signature does not verify (tampered, out of sequence, another session's key).
    /// **Handling:** drop the connection's context and authenticate again; never use the data.
    #[error("the message signature does not verify: {0}")]
    Unseal(String),
    /// The signature has the wrong size for the mechanism. **Handling:** as `Unseal`.
    #[error("the message signature is {got} bytes, expected {expected}")]
    SignatureLength { expected: usize, got: usize },
}

/// An established security context that seals messages (NTLM or Kerberos session keys).
pub trait SessionSealer {
    /// The signature and the ciphertext of `plaintext`; advances the send sequence.
    fn seal(&mut self, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), SealError>;
    /// The plaintext, after checking `signature`; advances the receive sequence.
    fn unseal(&mut self, signature: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, SealError>;
}

/// Why an encrypted body could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncryptionError {
    /// The body is not `multipart/encrypted` although the connection requires it.
    /// **Handling:** a protocol error (a server or client that does not encrypt); refuse it.
    #[error("expected an encrypted body (multipart/encrypted), got Content-Type {content_type:?}")]
    NotEncrypted { content_type: String },
    /// Encrypted with a protocol this session does not use (Kerberos, CredSSP).
    /// **Handling:** a protocol error.
    #[error("encrypted with protocol {protocol:?}, expected {SPNEGO_ENCRYPTED_PROTOCOL}")]
    Protocol { protocol: String },
    /// The MIME framing lacks a part or a header. **Handling:** a protocol error.
    #[error("malformed encrypted body: {what}")]
    Framing { what: String },
    /// The body ends before its framing says it should. **Handling:** the transfer broke off;
    /// a protocol error.
    #[error("truncated encrypted body: {what}")]
    Truncated { what: String },
    /// The plaintext is not as long as `OriginalContent` says. **Handling:** a protocol error;
    /// never use the data.
    #[error("OriginalContent says Length={declared} but the decrypted body is {actual} bytes")]
    LengthMismatch { declared: usize, actual: usize },
    /// Sealing or unsealing failed. **Handling:** see [`SealError`].
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// Whether a `Content-Type` announces an encrypted body.
pub fn is_encrypted_content_type(content_type: &str) -> bool {
    content_type.trim_start().to_ascii_lowercase().starts_with("multipart/encrypted")
}

/// Seals a SOAP body and frames it; send it with [`ENCRYPTED_CONTENT_TYPE`].
pub fn seal_body(sealer: &mut dyn SessionSealer, plaintext: &[u8]) -> Result<Vec<u8>, EncryptionError> {
    let (signature, ciphertext) = sealer.seal(plaintext)?;
    let signature_length = u32::try_from(signature.len())
        .map_err(|_| SealError::Seal(format!("a signature of {} bytes", signature.len())))?;
    let header = format!(
        "--{ENCRYPTED_BOUNDARY}\r\n\tContent-Type: {SPNEGO_ENCRYPTED_PROTOCOL}\r\n\
         \tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={}\r\n\
         --{ENCRYPTED_BOUNDARY}\r\n\tContent-Type: application/octet-stream\r\n",
        plaintext.len()
    );
    let closing = format!("--{ENCRYPTED_BOUNDARY}--\r\n");
    let mut body = Vec::with_capacity(header.len() + 4 + signature.len() + ciphertext.len() + closing.len());
    body.extend_from_slice(header.as_bytes());
    body.extend_from_slice(&signature_length.to_le_bytes());
    body.extend_from_slice(&signature);
    body.extend_from_slice(&ciphertext);
    body.extend_from_slice(closing.as_bytes());
    Ok(body)
}

/// Opens an encrypted body sent with `content_type`: checks the framing, the signature and the
/// declared length, and returns the SOAP plaintext.
pub fn open_body(sealer: &mut dyn SessionSealer, content_type: &str, body: &[u8]) -> Result<Vec<u8>, EncryptionError> {
    let boundary = encrypted_boundary(content_type)?;
    let parts = split_parts(body, &boundary)?;
    let declared = declared_length(parts.header)?;
    let payload = strip_octet_stream_header(parts.payload)?;
    let length_field: [u8; 4] = payload
        .get(..4)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| truncated("the signature length field (4 bytes) is missing"))?;
    let signature_length = u32::from_le_bytes(length_field) as usize;
    let rest = &payload[4..];
    if signature_length > MAX_SIGNATURE_BYTES || signature_length > rest.len() {
        return Err(truncated(&format!(
            "the signature length field says {signature_length} bytes but {} follow",
            rest.len()
        )));
    }
    let (signature, ciphertext) = rest.split_at(signature_length);
    let plaintext = sealer.unseal(signature, ciphertext)?;
    if plaintext.len() != declared {
        return Err(EncryptionError::LengthMismatch { declared, actual: plaintext.len() });
    }
    Ok(plaintext)
}

fn truncated(what: &str) -> EncryptionError {
    EncryptionError::Truncated { what: what.to_string() }
}

fn framing(what: &str) -> EncryptionError {
    EncryptionError::Framing { what: what.to_string() }
}

/// The boundary of an encrypted `Content-Type`, after checking its type and protocol.
fn encrypted_boundary(content_type: &str) -> Result<String, EncryptionError> {
    if !is_encrypted_content_type(content_type) {
        return Err(EncryptionError::NotEncrypted { content_type: content_type.chars().take(120).collect() });
    }
    let parameter = |name: &str| {
        content_type.split(';').skip(1).find_map(|item| {
            let (key, value) = item.split_once('=')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().trim_matches('"').to_string())
        })
    };
    let protocol = parameter("protocol").unwrap_or_default();
    if !protocol.eq_ignore_ascii_case(SPNEGO_ENCRYPTED_PROTOCOL) {
        return Err(EncryptionError::Protocol { protocol });
    }
    Ok(parameter("boundary").filter(|boundary| !boundary.is_empty()).unwrap_or_else(|| ENCRYPTED_BOUNDARY.into()))
}

/// The two parts of an encrypted body, each without its boundary line.
struct Parts<'a> {
    header: &'a [u8],
    payload: &'a [u8],
}

/// Splits `body` at its boundary lines: `--[ ]boundary\r\n` before each part and
/// `--[ ]boundary--\r\n` at the very end (the payload is binary, so the end is searched from the back).
fn split_parts<'a>(body: &'a [u8], boundary: &str) -> Result<Parts<'a>, EncryptionError> {
    let after_first = boundary_line_end(body, 0, boundary)
        .ok_or_else(|| framing("the body does not start with the encrypted boundary"))?;
    let second = find_boundary_line(body, after_first, boundary)
        .ok_or_else(|| truncated("the application/octet-stream part is missing"))?;
    let header = &body[after_first..second.0];
    let closing_start = closing_boundary_start(&body[second.1..], boundary)
        .ok_or_else(|| truncated("the closing boundary is missing"))?;
    Ok(Parts { header, payload: &body[second.1..second.1 + closing_start] })
}

/// Where the boundary line starting at `start` ends (`--`, optional blanks, boundary, CRLF).
fn boundary_line_end(body: &[u8], start: usize, boundary: &str) -> Option<usize> {
    let rest = body.get(start..)?.strip_prefix(b"--")?;
    let blanks = rest.iter().take_while(|byte| **byte == b' ' || **byte == b'\t').count();
    let rest = rest[blanks..].strip_prefix(boundary.as_bytes())?.strip_prefix(b"\r\n")?;
    Some(body.len() - rest.len())
}

/// The next boundary line at or after `from`: its start and end.
fn find_boundary_line(body: &[u8], from: usize, boundary: &str) -> Option<(usize, usize)> {
    let mut search = from;
    // Each iteration moves past one "--"; the body is finite.
    while let Some(offset) = memmem::find(body.get(search..)?, b"--") {
        let start = search + offset;
        if let Some(end) = boundary_line_end(body, start, boundary) {
            return Some((start, end));
        }
        search = start + 2;
    }
    None
}

/// Where the closing `--[ ]boundary--` (optionally followed by CRLF) starts at the end of `tail`.
fn closing_boundary_start(tail: &[u8], boundary: &str) -> Option<usize> {
    let without_crlf = tail.strip_suffix(b"\r\n").unwrap_or(tail);
    let before_dashes = without_crlf.strip_suffix(b"--")?.strip_suffix(boundary.as_bytes())?;
    let blanks = before_dashes.iter().rev().take_while(|byte| **byte == b' ' || **byte == b'\t').count();
    before_dashes[..before_dashes.len() - blanks].strip_suffix(b"--").map(<[u8]>::len)
}

/// The plaintext length declared by the header part's `OriginalContent: ...;Length=N`.
fn declared_length(header: &[u8]) -> Result<usize, EncryptionError> {
    let text = std::str::from_utf8(header).map_err(|_| framing("the header part is not text"))?;
    let mut saw_protocol = false;
    let mut length = None;
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let (name, value) = line.split_once(':').ok_or_else(|| framing(&format!("header line {line:?}")))?;
        if name.trim().eq_ignore_ascii_case("Content-Type") {
            saw_protocol = value.trim().eq_ignore_ascii_case(SPNEGO_ENCRYPTED_PROTOCOL);
        } else if name.trim().eq_ignore_ascii_case("OriginalContent") {
            length = value.split(';').find_map(|item| {
                let (key, number) = item.split_once('=')?;
                key.trim().eq_ignore_ascii_case("Length").then(|| number.trim().parse::<usize>())
            });
        }
    }
    if !saw_protocol {
        return Err(framing(&format!("the header part lacks Content-Type: {SPNEGO_ENCRYPTED_PROTOCOL}")));
    }
    match length {
        Some(Ok(length)) => Ok(length),
        Some(Err(_)) => Err(framing("OriginalContent has a Length that is not a number")),
        None => Err(framing("the header part lacks OriginalContent with a Length")),
    }
}

/// The payload part without its `Content-Type: application/octet-stream` line.
fn strip_octet_stream_header(payload: &[u8]) -> Result<&[u8], EncryptionError> {
    let line_end = memmem::find(payload, b"\r\n").ok_or_else(|| truncated("the octet-stream part has no header"))?;
    let line = std::str::from_utf8(&payload[..line_end]).unwrap_or_default();
    let is_octet_stream = line.split_once(':').is_some_and(|(name, value)| {
        name.trim().eq_ignore_ascii_case("Content-Type")
            && value.trim().eq_ignore_ascii_case("application/octet-stream")
    });
    if !is_octet_stream {
        return Err(framing("the second part is not Content-Type: application/octet-stream"));
    }
    Ok(&payload[line_end + 2..])
}

#[cfg(test)]
#[path = "encryption_tests.rs"]
mod tests;
