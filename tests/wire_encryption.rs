//! NTLM over plain `http://` with HTTP message encryption (MS-WSMV 2.2.9.1), end to end on
//! 127.0.0.1: the real PSRP client runs Exchange cmdlets against the simulated organisation
//! served by our WS-Man server, through a proxy that records every byte. The SOAP never
//! crosses the wire readable, and the server refuses what WinRM with AllowUnencrypted=false
//! refuses.

mod proxy_support;
mod sim_support;

use std::sync::Arc;

use base64::Engine as _;
use easgate::domain::vocabulary::AccessLevel;
use easgate::exchange::cmdlets::{Cmdlet, GetCasMailbox, MultiValuedChange, SetAdServerSettings, SetCasMailbox};
use easgate::exchange::psrp_connector::{PsrpConnector, PsrpConnectorConfig};
use easgate::exchange::psrp_server::{PsrpServer, PsrpServerConfig, RunningPsrpServer};
use easgate::exchange::{ExchangeConnector, ExchangeError};
use easgate::sim::exchange::DEFAULT_SERVICE_ACCOUNT;
use easgate::wsman::encryption::{ENCRYPTED_CONTENT_TYPE, seal_body};
use easgate::wsman::ntlm::NtlmClient;
use easgate::wsman::transport::Authentication;
use memchr::memmem;
use proxy_support::recording_proxy;
use secrecy::SecretString;

const USER: &str = "CONTOSO\\svc-easgate";
const PASSWORD: &str = "correct horse battery staple";
/// A DeviceId full of PowerShell and XML metacharacters: it must stay data, and stay secret.
const DEVICE_ID: &str = "ApplSECRET\"; Remove-Mailbox -Identity *; <x/>";

async fn plain_http_server(given: &sim_support::Given) -> RunningPsrpServer {
    let mut config = PsrpServerConfig::new("127.0.0.1:0".parse().unwrap(), USER, SecretString::from(PASSWORD));
    config.tls = false;
    let backend: Arc<dyn ExchangeConnector> = Arc::new(given.exchange.connector(DEFAULT_SERVICE_ACCOUNT));
    PsrpServer::start(config, backend).await.unwrap()
}

fn negotiate_client(base_url: &str, password: &str) -> PsrpConnector {
    let template = format!("{base_url}/PowerShell/{{server}}/");
    let mut config = PsrpConnectorConfig::basic(&template.replace("{server}", "CAS1"), USER, SecretString::from(""));
    config.authentication =
        Authentication::Negotiate { user: USER.to_string(), password: SecretString::from(password) };
    config.server_url_template = template;
    config.primary_server_name = Some("CAS1".to_string());
    PsrpConnector::new(config)
}

#[tokio::test]
async fn cmdlets_run_over_plain_http_with_ntlm_and_nothing_readable_crosses_the_wire() {
    let given = sim_support::organization(AccessLevel::Allow);
    let server = plain_http_server(&given).await;
    let (proxy, wire) = recording_proxy(server.local_addr()).await;
    let connector = negotiate_client(&format!("http://{proxy}"), PASSWORD);

    let mut session = connector.open("").await.unwrap();
    SetAdServerSettings::view_entire_forest().run(session.as_mut()).await.unwrap();
    SetCasMailbox::identity("alice@contoso.com")
        .allowed(MultiValuedChange::add(&[DEVICE_ID]))
        .run(session.as_mut())
        .await
        .unwrap();
    let alice = GetCasMailbox::identity("alice@contoso.com").run(session.as_mut()).await.unwrap();
    session.close().await.unwrap();

    assert_eq!(alice[0].activesync_allowed_device_ids, vec![DEVICE_ID.to_string()]);
    assert_eq!(server.ntlm_handshakes(), 1, "one handshake authenticates the kept-alive connection");
    let requests = server.request_counts();
    assert!(requests.creates + requests.commands + requests.receives + requests.deletes >= 8);
    let to_server = wire.to_server.lock().unwrap().clone();
    let to_client = wire.to_client.lock().unwrap().clone();
    assert!(memmem::find(&to_server, b"multipart/encrypted;protocol=").is_some());
    assert!(memmem::find(&to_client, b"multipart/encrypted").is_some());
    for (direction, bytes) in [("request", &to_server), ("reply", &to_client)] {
        for plaintext in ["Envelope", "soap-envelope", "creationXml", "ApplSECRET", "alice", "Receive"] {
            assert!(memmem::find(bytes, plaintext.as_bytes()).is_none(), "{plaintext:?} readable in a {direction}");
        }
    }
}

#[tokio::test]
async fn a_wrong_password_over_plain_http_is_unauthorized() {
    let given = sim_support::organization(AccessLevel::Allow);
    let server = plain_http_server(&given).await;
    let refused = negotiate_client(&format!("http://{}", server.local_addr()), "wrong").open("").await.err().unwrap();
    assert!(matches!(refused, ExchangeError::Unauthorized { .. }), "{refused:?}");
}

/// Authenticates a raw HTTP connection with NTLM and empty bodies, as the client does.
async fn authenticated_raw_client(url: &str) -> (reqwest::Client, NtlmClient) {
    let http = reqwest::Client::builder().pool_max_idle_per_host(1).http1_only().build().unwrap();
    let mut ntlm = NtlmClient::new("svc-easgate", "CONTOSO", &SecretString::from(PASSWORD)).unwrap();
    let header = |token: &[u8]| format!("Negotiate {}", base64::engine::general_purpose::STANDARD.encode(token));
    let negotiate = ntlm.step(None).unwrap();
    let challenge_reply = http.post(url).header("Authorization", header(&negotiate)).send().await.unwrap();
    assert_eq!(challenge_reply.status(), 401);
    let challenge = challenge_reply.headers()["www-authenticate"].to_str().unwrap().strip_prefix("Negotiate ").unwrap();
    let challenge = base64::engine::general_purpose::STANDARD.decode(challenge).unwrap();
    let authenticate = ntlm.step(Some(&challenge)).unwrap();
    let done = http.post(url).header("Authorization", header(&authenticate)).send().await.unwrap();
    assert_eq!(done.status(), 200, "the empty authenticated POST completes the handshake");
    (http, ntlm)
}

#[tokio::test]
async fn the_server_refuses_unencrypted_and_tampered_bodies_like_winrm() {
    let given = sim_support::organization(AccessLevel::Allow);
    let server = plain_http_server(&given).await;
    let url = server.url();
    let soap = "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Header/><s:Body/></s:Envelope>";

    let (http, _) = authenticated_raw_client(&url).await;
    let clear = http.post(&url).header("Content-Type", "application/soap+xml;charset=UTF-8").body(soap).send().await;
    let clear = clear.unwrap();
    assert_eq!(clear.status(), 400);
    assert!(clear.text().await.unwrap().contains("AllowUnencrypted=false"));

    let (http, mut ntlm) = authenticated_raw_client(&url).await;
    let mut sealed = seal_body(&mut ntlm, soap.as_bytes()).unwrap();
    let signature = memmem::find(&sealed, b"octet-stream\r\n").unwrap() + "octet-stream\r\n".len() + 4;
    sealed[signature + 4] ^= 0xFF;
    let tampered = http.post(&url).header("Content-Type", ENCRYPTED_CONTENT_TYPE).body(sealed).send().await.unwrap();
    assert_eq!(tampered.status(), 400);
    assert!(tampered.text().await.unwrap().starts_with("the message signature does not verify"));
    let after = http.post(&url).header("Content-Type", "application/soap+xml").body(soap).send().await.unwrap();
    assert_eq!(after.status(), 401, "a context out of step must authenticate again");
}

#[tokio::test]
async fn a_configuration_with_negotiate_and_an_http_server_url_runs_cmdlets_encrypted() {
    let given = sim_support::organization(AccessLevel::Allow);
    let server = plain_http_server(&given).await;
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), PASSWORD).unwrap();
    let text = format!(
        r#"<EasGate><Tenant Source="Simulated"/><Policy Source="Graph"/><Connector>
        <ExchangeOrganization>contoso</ExchangeOrganization><ServerUrl>{}</ServerUrl>
        <Authentication>Negotiate</Authentication><User>{USER}</User><PasswordFile>{}</PasswordFile>
        </Connector></EasGate>"#,
        server.url(),
        secret.path().display()
    );
    let config = easgate::config::parse_config(&text).unwrap();
    let connector = easgate::adapters::build_exchange(&config.connectors[0]).unwrap();
    let mut session = connector.open("").await.unwrap();
    SetAdServerSettings::view_entire_forest().run(session.as_mut()).await.unwrap();
    let bob = GetCasMailbox::identity("bob@contoso.com").run(session.as_mut()).await.unwrap();
    session.close().await.unwrap();
    assert_eq!(bob[0].primary_smtp_address, "bob@contoso.com");
    assert_eq!(server.ntlm_handshakes(), 1, "Negotiate (NTLM) authenticated the connection");
}

/// NTLM authenticates a connection: on a multi-threaded runtime a pooled client would send the
/// next request on a new connection before the last one is back in its pool, and the server
/// would answer 401. Both over http (sealed) and over https, one handshake must serve them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ntlm_keeps_its_one_connection_on_a_multi_threaded_runtime() {
    let given = sim_support::organization(AccessLevel::Allow);
    for tls in [false, true] {
        let mut config = PsrpServerConfig::new("127.0.0.1:0".parse().unwrap(), USER, SecretString::from(PASSWORD));
        config.tls = tls;
        let backend: Arc<dyn ExchangeConnector> = Arc::new(given.exchange.connector(DEFAULT_SERVICE_ACCOUNT));
        let server = PsrpServer::start(config, backend).await.unwrap();
        let base = server.server_url_template().replace("/PowerShell/{server}/", "");
        let mut client = PsrpConnectorConfig::basic("", USER, SecretString::from(""));
        client.primary_url = format!("{base}/PowerShell/CAS1/");
        client.server_url_template = server.server_url_template();
        client.primary_server_name = Some("CAS1".to_string());
        client.extra_root_certificate_pem = server.certificate_pem.clone().map(String::into_bytes);
        client.authentication =
            Authentication::Negotiate { user: USER.to_string(), password: SecretString::from(PASSWORD) };
        let mut session = PsrpConnector::new(client).open("").await.expect("opens");
        SetAdServerSettings::view_entire_forest().run(session.as_mut()).await.unwrap();
        for _ in 0..20 {
            let alice = GetCasMailbox::identity("alice@contoso.com").run(session.as_mut()).await.unwrap();
            assert_eq!(alice[0].primary_smtp_address, "alice@contoso.com");
        }
        session.close().await.unwrap();
        assert_eq!(server.ntlm_handshakes(), 1, "tls={tls}: one connection, authenticated once");
    }
}

#[tokio::test]
async fn the_pinned_https_connection_verifies_the_certificate_unless_told_not_to() {
    let given = sim_support::organization(AccessLevel::Allow);
    let config = PsrpServerConfig::new("127.0.0.1:0".parse().unwrap(), USER, SecretString::from(PASSWORD));
    let backend: Arc<dyn ExchangeConnector> = Arc::new(given.exchange.connector(DEFAULT_SERVICE_ACCOUNT));
    let server = PsrpServer::start(config, backend).await.unwrap();
    let mut client = PsrpConnectorConfig::basic(&server.url(), USER, SecretString::from(""));
    client.authentication =
        Authentication::Negotiate { user: USER.to_string(), password: SecretString::from(PASSWORD) };
    // The server's self-signed certificate is not trusted: no connection.
    let refused = PsrpConnector::new(client.clone()).open("").await.err().expect("an untrusted certificate");
    assert!(matches!(&refused, ExchangeError::Unreachable { detail, .. } if detail.contains("TLS")), "{refused:?}");
    assert_eq!(server.ntlm_handshakes(), 0, "no credentials went to an unverified server");
    // The admin's explicit TlsVerify=false connects anyway.
    client.tls_verify = false;
    let session = PsrpConnector::new(client).open("").await.expect("TlsVerify=false connects");
    session.close().await.unwrap();
}
