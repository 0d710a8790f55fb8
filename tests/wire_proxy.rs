//! `<Connector><Proxy Url User PasswordFile/>` for remote PowerShell: `easgate sync` reaches the
//! simulated Exchange (WS-Man/PSRP over https on loopback) only through a small CONNECT proxy
//! that demands Basic proxy credentials. The configured server port is closed; only the proxy
//! knows where Exchange really listens, so every cmdlet that took effect went through a tunnel.
//! Wrong proxy credentials fail the sync with one line naming the proxy and HTTP 407, and
//! nothing is recorded as done.

mod daemon_support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use daemon_support::*;
use easgate::domain::vocabulary::AccessLevel;
use easgate::wsman::WsmanError;
use easgate::wsman::proxy::ProxySettings;
use easgate::wsman::transport::{Authentication, HttpTransport, TransportConfig};
use secrecy::SecretString;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PROXY_USER: &str = "svc-proxy";
const PROXY_PASSWORD: &str = "proxy-password-for-tests";
/// The longest CONNECT request head the proxy reads.
const MAX_HEAD_BYTES: usize = 8192;
/// Connections the proxy serves before it stops accepting (a test needs a few dozen).
const MAX_CONNECTIONS: usize = 10_000;

/// What the proxy saw: tunnels opened per requested `host:port`, and refusals (407).
#[derive(Default)]
struct ProxyLog {
    tunnels: HashMap<String, usize>,
    refused: usize,
}

/// A CONNECT-only proxy on 127.0.0.1 that requires `Proxy-Authorization: Basic` and may route a
/// requested port to another one (the only way to reach the real Exchange endpoint).
struct ConnectProxy {
    address: SocketAddr,
    log: Arc<Mutex<ProxyLog>>,
    task: tokio::task::JoinHandle<()>,
}

impl ConnectProxy {
    async fn start(routes: HashMap<u16, u16>) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy listens");
        let address = listener.local_addr().expect("proxy address");
        let log = Arc::new(Mutex::new(ProxyLog::default()));
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{PROXY_USER}:{PROXY_PASSWORD}"))
        );
        let (task_log, routes) = (Arc::clone(&log), Arc::new(routes));
        let task = tokio::spawn(async move {
            for _ in 0..MAX_CONNECTIONS {
                let Ok((client, _)) = listener.accept().await else { return };
                let (log, routes, expected) = (Arc::clone(&task_log), Arc::clone(&routes), expected.clone());
                tokio::spawn(async move { serve(client, &routes, &expected, &log).await });
            }
        });
        ConnectProxy { address, log, task }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    fn tunnels_to(&self, port: u16) -> usize {
        self.log.lock().unwrap().tunnels.get(&format!("127.0.0.1:{port}")).copied().unwrap_or(0)
    }

    fn refused(&self) -> usize {
        self.log.lock().unwrap().refused
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client connection: a CONNECT with the right credentials becomes a byte tunnel.
async fn serve(mut client: TcpStream, routes: &HashMap<u16, u16>, expected: &str, log: &Mutex<ProxyLog>) {
    let Some(head) = read_head(&mut client).await else { return };
    let mut lines = head.split("\r\n");
    let request_line: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
    let authorization = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, value)| value.trim().to_string());
    if authorization.as_deref() != Some(expected) {
        log.lock().unwrap().refused += 1;
        let refusal = "407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"easgate-test\"";
        return reply(&mut client, refusal).await;
    }
    let target = match request_line.as_slice() {
        ["CONNECT", target, _] => target.to_string(),
        // Forwarding plain http requests is not needed: Exchange is reached over https.
        _ => return reply(&mut client, "405 Method Not Allowed").await,
    };
    // Only loopback: the test never touches the network.
    let Some(port) = target.strip_prefix("127.0.0.1:").and_then(|port| port.parse::<u16>().ok()) else {
        return reply(&mut client, "403 Forbidden").await;
    };
    let port = routes.get(&port).copied().unwrap_or(port);
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", port)).await else {
        return reply(&mut client, "502 Bad Gateway").await;
    };
    *log.lock().unwrap().tunnels.entry(target).or_default() += 1;
    if client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}

/// The request head up to the blank line, at most [`MAX_HEAD_BYTES`].
async fn read_head(client: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // One byte at a time so that nothing after the head is consumed; bounded by the cap.
    while head.len() < MAX_HEAD_BYTES && !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).ok()
}

async fn reply(client: &mut TcpStream, status: &str) {
    let _ = client.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes()).await;
}

/// A port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

fn port_of(url: &str) -> u16 {
    url::Url::parse(url).expect("URL").port().expect("a port")
}

/// The bed's configuration with its Exchange URL on a closed port and a `<Proxy>` that routes
/// that port to the real endpoint.
async fn bed_behind_proxy(proxy_password: &str) -> (Bed, ConnectProxy, u16) {
    let bed = Bed::start().await;
    let real_port = port_of(&bed.psrp.url());
    let configured_port = closed_port();
    let proxy = ConnectProxy::start(HashMap::from([(configured_port, real_port)])).await;
    std::fs::write(bed.path("proxy.secret"), format!("{proxy_password}\n")).expect("proxy secret");
    let proxy_element = format!(
        "    <Proxy Url=\"{}\" User=\"{PROXY_USER}\" PasswordFile=\"{}\"/>\n    <Notification ",
        proxy.url(),
        bed.path("proxy.secret").display()
    );
    let text = bed
        .config_text()
        .replace(&bed.psrp.url(), &format!("https://127.0.0.1:{configured_port}/PowerShell/"))
        .replacen("    <Notification ", &proxy_element, 1);
    bed.write_config(&text);
    (bed, proxy, configured_port)
}

async fn events(bed: &Bed) -> Vec<Value> {
    let output = bed.easgate(&["log"]).await;
    assert_exit(&output, 0);
    json_lines(&output)
}

fn count_of(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|event| event["type"] == kind).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmdlets_reach_exchange_through_the_authenticating_proxy() {
    let (bed, proxy, configured_port) = bed_behind_proxy(PROXY_PASSWORD).await;
    let output = bed.with_config("sync", &["--full"]).await;
    assert_exit(&output, 0);
    assert!(stdout(&output).starts_with("contoso: full sync completed in "), "{}", stdout(&output));

    assert!(proxy.tunnels_to(configured_port) >= 1, "remote PowerShell went through the proxy");
    assert_eq!(proxy.refused(), 0, "every CONNECT carried the configured credentials");
    // Only the proxy knows the real port, so what changed in Exchange came through a tunnel.
    assert_eq!(bed.exchange.organization().default_access, AccessLevel::Quarantine, "the policy's default is pushed");
    let alice = bed.exchange.mailbox("alice@contoso.test").unwrap();
    assert_eq!(alice.allowed_device_ids, vec!["ApplF17LTTCGFFG8".to_string()]);
    let erin = bed.exchange.mailbox("erin@contoso.test").unwrap();
    assert_eq!(erin.allowed_device_ids, vec![HOSTILE_DEVICE_ID.to_string()], "the hostile id stays one string");
    let log = events(&bed).await;
    assert!(count_of(&log, "CmdletSucceeded") >= 2, "cmdlets are recorded as done");
    // EWS uses the same connector proxy for the quarantine mail.
    assert!(proxy.tunnels_to(bed.ews.port()) >= 1, "the notification mail went through the proxy");
    assert_eq!(bed.ews.sent().iter().filter(|mail| mail.to == "alice@contoso.test").count(), 1);
    assert!(!stderr(&output).contains(PROXY_PASSWORD), "the proxy password is never logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_proxy_credentials_fail_with_one_line_naming_the_proxy_and_change_nothing() {
    let (bed, proxy, configured_port) = bed_behind_proxy("not-the-proxy-password").await;
    let output = bed.with_config("sync", &["--full"]).await;
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("the sync failed for contoso"), "{}", stderr(&output));
    let expected =
        format!("the proxy {} refused the proxy credentials (HTTP 407 Proxy Authentication Required)", proxy.url());
    let report = stdout(&output);
    let lines: Vec<&str> = report.lines().filter(|line| line.contains(&expected)).collect();
    assert_eq!(lines.len(), 1, "one line names the proxy and the 407:\n{report}");
    assert!(lines[0].starts_with("contoso: ") && !lines[0].contains("Exchange refused"), "{report}");
    for text in [report.as_str(), &stderr(&output)] {
        assert!(!text.contains("not-the-proxy-password"), "the proxy password is never logged");
    }

    assert!(proxy.refused() >= 1);
    assert_eq!(proxy.tunnels_to(configured_port), 0);
    assert_eq!(bed.exchange.organization().default_access, AccessLevel::Allow, "Exchange is unchanged");
    assert!(bed.exchange.mailbox("alice@contoso.test").unwrap().allowed_device_ids.is_empty());
    let log = events(&bed).await;
    for kind in ["CmdletRequested", "CmdletSucceeded", "AccessDecided", "SyncCompleted", "NotificationSent"] {
        assert_eq!(count_of(&log, kind), 0, "no {kind} is recorded:\n{log:#?}");
    }
    assert!(bed.ews.sent().is_empty());
    let status = bed.easgate(&["status", "--format", "json"]).await;
    let status: Value = serde_json::from_str(&stdout(&status)).expect("status JSON");
    let reason = status["connectors"][0]["statusReason"].as_str().unwrap_or("");
    assert_eq!(status["connectors"][0]["status"], "disconnected", "{status:#}");
    assert!(reason.contains(&expected), "{reason}");
}

/// NTLM keeps one pinned connection per session; through a proxy it is one CONNECT tunnel, so
/// the authentication holds across the session's requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ntlm_sessions_go_through_the_proxy_in_a_tunnel_of_their_own() {
    let (bed, proxy, configured_port) = bed_behind_proxy(PROXY_PASSWORD).await;
    let text = std::fs::read_to_string(bed.config_path()).expect("the configuration behind the proxy");
    let negotiate =
        text.replace("<Authentication>Basic</Authentication>", "<Authentication>Negotiate</Authentication>");
    assert_ne!(text, negotiate, "the bed's configuration names its authentication");
    bed.write_config(&negotiate);
    let output = bed.with_config("sync", &["--full"]).await;
    assert_exit(&output, 0);
    assert!(proxy.tunnels_to(configured_port) >= 1, "NTLM's connection went through the proxy");
    assert_eq!(proxy.refused(), 0);
    assert_eq!(bed.exchange.organization().default_access, AccessLevel::Quarantine, "the policy's default is pushed");
    let alice = bed.exchange.mailbox("alice@contoso.test").unwrap();
    assert_eq!(alice.allowed_device_ids, vec!["ApplF17LTTCGFFG8".to_string()]);
    assert!(!stderr(&output).contains(PROXY_PASSWORD) && !stdout(&output).contains(PROXY_PASSWORD));
}

/// A plain http endpoint is reached by sending the request itself to the proxy, which answers
/// 407 as an ordinary reply when the credentials are wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_http_endpoint_behind_a_refusing_proxy_gives_proxy_refused() {
    let proxy = ConnectProxy::start(HashMap::new()).await;
    let url = format!("http://127.0.0.1:{}/PowerShell/", closed_port());
    let transport = |password: &str| {
        let settings = ProxySettings {
            url: proxy.url(),
            user: Some(PROXY_USER.to_string()),
            password: Some(SecretString::from(password.to_string())),
        };
        let config = TransportConfig { proxy: Some(settings), ..TransportConfig::default() };
        let authentication =
            Authentication::Basic { user: EXCHANGE_USER.to_string(), password: SecretString::from(EXCHANGE_PASSWORD) };
        HttpTransport::new(&url, authentication, &config).expect("transport")
    };
    let refused = transport("wrong").exchange("<s:Envelope/>".to_string()).await.err();
    assert_eq!(refused, Some(WsmanError::ProxyRefused { proxy: proxy.url() }));
    // With the right credentials the request reaches the proxy's own answer (it only tunnels).
    let passed = transport(PROXY_PASSWORD).exchange("<s:Envelope/>".to_string()).await.err();
    assert!(matches!(passed, Some(WsmanError::Http { status: 405, .. })), "{passed:?}");
    assert_eq!(proxy.refused(), 1);
}
