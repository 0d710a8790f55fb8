//! Tests of the encrypted-body framing with real NTLM session keys on both sides.

use secrecy::SecretString;

use super::*;
use crate::wsman::ntlm::{NtlmClient, NtlmServer};

const SOAP: &[u8] =
    b"<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>secret</s:Body></s:Envelope>";

/// A client and a server that completed one NTLM handshake.
fn established_pair() -> (NtlmClient, NtlmServer) {
    let password = SecretString::from("correct horse");
    let mut client = NtlmClient::new("svc-easgate", "CONTOSO", &password).unwrap();
    let mut server = NtlmServer::new().unwrap();
    let negotiate = client.step(None).unwrap();
    let challenge = server.challenge(&negotiate).unwrap();
    let authenticate = client.step(Some(&challenge)).unwrap();
    server.verify(&authenticate, "svc-easgate", "CONTOSO", &password).unwrap();
    (client, server)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memmem::find(haystack, needle).is_some()
}

#[test]
fn bodies_sealed_by_one_side_open_on_the_other_in_sequence() {
    let (mut client, mut server) = established_pair();
    for round in 0..3 {
        let request = [SOAP, format!("<!-- request {round} -->").as_bytes()].concat();
        let sealed = seal_body(&mut client, &request).unwrap();
        assert!(!contains(&sealed, b"Envelope") && !contains(&sealed, b"secret"), "the SOAP must not be readable");
        assert!(contains(&sealed, format!("Length={}\r\n", request.len()).as_bytes()));
        assert_eq!(open_body(&mut server, ENCRYPTED_CONTENT_TYPE, &sealed).unwrap(), request);

        let reply = [SOAP, format!("<!-- reply {round} -->").as_bytes()].concat();
        let sealed = seal_body(&mut server, &reply).unwrap();
        assert_eq!(open_body(&mut client, ENCRYPTED_CONTENT_TYPE, &sealed).unwrap(), reply);
    }
}

#[test]
fn exchanges_boundary_with_a_space_opens() {
    let (mut client, mut server) = established_pair();
    let sealed = seal_body(&mut server, SOAP).unwrap();
    let text_boundary = b"--Encrypted Boundary";
    let mut exchange_style = Vec::new();
    let mut rest = sealed.as_slice();
    // Rewrite every boundary as Exchange writes it: "-- Encrypted Boundary".
    while let Some(offset) = memmem::find(rest, text_boundary) {
        exchange_style.extend_from_slice(&rest[..offset]);
        exchange_style.extend_from_slice(b"-- Encrypted Boundary");
        rest = &rest[offset + text_boundary.len()..];
    }
    exchange_style.extend_from_slice(rest);
    assert_eq!(open_body(&mut client, ENCRYPTED_CONTENT_TYPE, &exchange_style).unwrap(), SOAP);
}

#[test]
fn a_tampered_signature_is_refused_by_name() {
    let (mut client, mut server) = established_pair();
    let mut sealed = seal_body(&mut client, SOAP).unwrap();
    let signature_start = memmem::find(&sealed, b"octet-stream\r\n").unwrap() + "octet-stream\r\n".len() + 4;
    sealed[signature_start + 5] ^= 0x40;
    let error = open_body(&mut server, ENCRYPTED_CONTENT_TYPE, &sealed).unwrap_err();
    assert!(matches!(error, EncryptionError::Seal(SealError::Unseal(_))), "{error:?}");
    assert!(error.to_string().starts_with("the message signature does not verify"), "{error}");
}

#[test]
fn tampered_ciphertext_is_refused() {
    let (mut client, mut server) = established_pair();
    let mut sealed = seal_body(&mut client, SOAP).unwrap();
    let closing = memmem::rfind(&sealed, b"--Encrypted Boundary--").unwrap();
    sealed[closing - 3] ^= 0x01;
    let error = open_body(&mut server, ENCRYPTED_CONTENT_TYPE, &sealed).unwrap_err();
    assert!(matches!(error, EncryptionError::Seal(SealError::Unseal(_))), "{error:?}");
}

#[test]
fn a_lying_length_is_refused_naming_both_lengths() {
    let (mut client, mut server) = established_pair();
    let sealed = seal_body(&mut client, SOAP).unwrap();
    let honest = format!("Length={}\r\n", SOAP.len());
    let lying = format!("Length={}\r\n", SOAP.len() + 1);
    let offset = memmem::find(&sealed, honest.as_bytes()).unwrap();
    let forged = [&sealed[..offset], lying.as_bytes(), &sealed[offset + honest.len()..]].concat();
    let error = open_body(&mut server, ENCRYPTED_CONTENT_TYPE, &forged).unwrap_err();
    assert_eq!(error, EncryptionError::LengthMismatch { declared: SOAP.len() + 1, actual: SOAP.len() });
    assert_eq!(
        error.to_string(),
        format!("OriginalContent says Length={} but the decrypted body is {} bytes", SOAP.len() + 1, SOAP.len())
    );
}

#[test]
fn a_truncated_body_says_what_is_missing() {
    let (mut client, _) = established_pair();
    let sealed = seal_body(&mut client, SOAP).unwrap();
    let octet_stream = memmem::find(&sealed, b"octet-stream\r\n").unwrap() + "octet-stream\r\n".len();
    let cases: [(&[u8], &str); 4] = [
        (&sealed[..sealed.len() - 10], "the closing boundary is missing"),
        (&sealed[..40], "the application/octet-stream part is missing"),
        (
            &[&sealed[..octet_stream + 2], b"--Encrypted Boundary--\r\n"].concat(),
            "the signature length field (4 bytes)",
        ),
        (
            &[&sealed[..octet_stream + 4 + 10], b"--Encrypted Boundary--\r\n"].concat(),
            "the signature length field says 16 bytes but 10 follow",
        ),
    ];
    for (body, expected) in cases {
        // Framing is checked before any unsealing, so one context serves every case.
        let (_, mut server) = established_pair();
        let error = open_body(&mut server, ENCRYPTED_CONTENT_TYPE, body).unwrap_err();
        assert!(matches!(error, EncryptionError::Truncated { .. }), "{error:?}");
        assert!(error.to_string().contains(expected), "{error} should say {expected}");
    }
}

#[test]
fn plaintext_and_foreign_protocols_are_refused() {
    let (_, mut server) = established_pair();
    let error = open_body(&mut server, "application/soap+xml;charset=UTF-8", SOAP).unwrap_err();
    assert!(matches!(error, EncryptionError::NotEncrypted { .. }), "{error:?}");
    let kerberos =
        "multipart/encrypted;protocol=\"application/HTTP-Kerberos-session-encrypted\";boundary=\"Encrypted Boundary\"";
    let error = open_body(&mut server, kerberos, SOAP).unwrap_err();
    assert!(matches!(error, EncryptionError::Protocol { .. }), "{error:?}");
    let error = open_body(&mut server, ENCRYPTED_CONTENT_TYPE, SOAP).unwrap_err();
    assert!(matches!(error, EncryptionError::Framing { .. }), "{error:?}");
    assert!(is_encrypted_content_type(ENCRYPTED_CONTENT_TYPE) && !is_encrypted_content_type("text/xml"));
}

#[test]
fn a_replayed_body_is_refused_as_out_of_sequence() {
    let (mut client, mut server) = established_pair();
    let sealed = seal_body(&mut client, SOAP).unwrap();
    assert_eq!(open_body(&mut server, ENCRYPTED_CONTENT_TYPE, &sealed).unwrap(), SOAP);
    let error = open_body(&mut server, ENCRYPTED_CONTENT_TYPE, &sealed).unwrap_err();
    assert!(matches!(error, EncryptionError::Seal(SealError::Unseal(_))), "{error:?}");
}
