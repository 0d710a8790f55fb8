//! A fake Exchange front end on loopback (https and http on one port): EWS `CreateItem` with
//! scripted replies from fixtures/ews (success, ErrorInvalidRecipients, ErrorServerBusy as a
//! fault or a response message, 401), and Autodiscover per host name (POX settings, redirectAddr,
//! redirectUrl, error; SOAP settings and redirect; the http GET redirect). Test clients map the
//! fake host names to it with `reqwest::ClientBuilder::resolve` and trust `FIXTURE_CA_PEM`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::ews::xml::{FlatElement, flatten};
use crate::testing::loopback_server::{FIXTURE_CA_PEM, LoopbackServer, Transport, fixture_tls_config, serve_loopback};

const SUCCESS: &str = include_str!("../../fixtures/ews/create_item_success.xml");
const INVALID_RECIPIENTS: &str = include_str!("../../fixtures/ews/create_item_error_invalid_recipients.xml");
const BUSY_FAULT: &str = include_str!("../../fixtures/ews/create_item_server_busy_fault.xml");
const BUSY_MESSAGE: &str = include_str!("../../fixtures/ews/create_item_server_busy_message.xml");
const POX_SETTINGS: &str = include_str!("../../fixtures/ews/autodiscover_pox_settings.xml");
const POX_REDIRECT_ADDR: &str = include_str!("../../fixtures/ews/autodiscover_pox_redirect_addr.xml");
const POX_REDIRECT_URL: &str = include_str!("../../fixtures/ews/autodiscover_pox_redirect_url.xml");
const POX_ERROR: &str = include_str!("../../fixtures/ews/autodiscover_pox_error.xml");
const SOAP_SETTINGS: &str = include_str!("../../fixtures/ews/autodiscover_soap_settings.xml");
const SOAP_REDIRECT_ADDR: &str = include_str!("../../fixtures/ews/autodiscover_soap_redirect_addr.xml");
/// Mails and requests remembered.
const MAX_LOG: usize = 10_000;

/// The EWS URL the fake's Autodiscover hands out (internal, preferred) and the external one.
pub const FAKE_EWS_URL: &str = "https://mail.contoso.test/EWS/Exchange.asmx";
pub const FAKE_EXTERNAL_EWS_URL: &str = "https://external.contoso.test/EWS/Exchange.asmx";
/// Every host name the fake answers for (map each to it in the test client).
pub const FAKE_HOSTS: [&str; 6] = [
    "contoso.test",
    "autodiscover.contoso.test",
    "mail.contoso.test",
    "external.contoso.test",
    "fabrikam.test",
    "autodiscover.fabrikam.test",
];

/// One scripted EWS reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EwsReply {
    Success,
    InvalidRecipients,
    ServerBusyFault,
    ServerBusyMessage,
    Unauthorized,
}

/// What an Autodiscover endpoint of one host answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutodiscoverReply {
    Settings,
    RedirectAddress(String),
    RedirectUrl(String),
    Error,
    Unauthorized,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AutodiscoverEndpoint {
    Pox,
    Soap,
    /// The unauthenticated `GET http://host/autodiscover/autodiscover.xml`.
    HttpGet,
}

/// A mail the fake accepted, as it read the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    pub to: String,
    pub subject: String,
    pub html_body: String,
    pub disposition: String,
    pub server_version: String,
    pub saved_folder: String,
    pub host: String,
}

/// One request the fake saw: `METHOD scheme://host/path`.
pub type SeenRequest = String;

struct FakeEwsState {
    account: String,
    password: String,
    ews_replies: Mutex<VecDeque<EwsReply>>,
    autodiscover: Mutex<HashMap<(String, AutodiscoverEndpoint), AutodiscoverReply>>,
    sent: Mutex<Vec<SentMail>>,
    seen: Mutex<Vec<SeenRequest>>,
    credentials_over_plain_http: Mutex<u32>,
}

/// A running fake Exchange front end.
pub struct FakeEws {
    server: LoopbackServer,
    state: Arc<FakeEwsState>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl FakeEws {
    /// A fake accepting Basic auth for `account` / `password`.
    pub async fn start(account: &str, password: &str) -> std::io::Result<FakeEws> {
        let state = Arc::new(FakeEwsState {
            account: account.to_string(),
            password: password.to_string(),
            ews_replies: Mutex::new(VecDeque::new()),
            autodiscover: Mutex::new(HashMap::new()),
            sent: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
            credentials_over_plain_http: Mutex::new(0),
        });
        let router = Router::new()
            .route("/EWS/Exchange.asmx", post(create_item))
            .route("/autodiscover/autodiscover.xml", post(autodiscover_pox).get(autodiscover_get))
            .route("/autodiscover/autodiscover.svc", post(autodiscover_soap))
            .fallback(not_found)
            .with_state(state.clone());
        let tls = fixture_tls_config().map_err(std::io::Error::other)?;
        let server = serve_loopback(router, Some(tls)).await?;
        Ok(FakeEws { server, state })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// A client like the mailer's own, that maps `FAKE_HOSTS` to the fake and trusts its CA.
    pub fn client(&self) -> reqwest::Client {
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if let Ok(certificates) = reqwest::Certificate::from_pem_bundle(FIXTURE_CA_PEM.as_bytes()) {
            builder = builder.tls_certs_merge(certificates);
        }
        for host in FAKE_HOSTS {
            builder = builder.resolve(host, self.server.address());
        }
        builder.build().unwrap_or_default()
    }

    /// The replies of the next CreateItem requests (then Success).
    pub fn script_ews(&self, replies: &[EwsReply]) {
        lock(&self.state.ews_replies).extend(replies.iter().copied());
    }

    pub fn set_autodiscover(&self, host: &str, endpoint: AutodiscoverEndpoint, reply: AutodiscoverReply) {
        lock(&self.state.autodiscover).insert((host.to_string(), endpoint), reply);
    }

    pub fn sent(&self) -> Vec<SentMail> {
        lock(&self.state.sent).clone()
    }

    /// Requests seen, in order.
    pub fn seen(&self) -> Vec<SeenRequest> {
        lock(&self.state.seen).clone()
    }

    /// Requests that carried an Authorization header over plain http (must stay 0).
    pub fn credentials_over_plain_http(&self) -> u32 {
        *lock(&self.state.credentials_over_plain_http)
    }
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Basic realm=\"contoso.test\"")], "").into_response()
}

/// Logs the request and checks Basic auth; `Err` is the 401 to send.
fn observe(state: &FakeEwsState, headers: &HeaderMap, transport: Transport, method: &str, uri: &Uri) -> (String, bool) {
    let host = host_of(headers);
    let scheme = if transport == Transport::Tls { "https" } else { "http" };
    let mut seen = lock(&state.seen);
    if seen.len() < MAX_LOG {
        seen.push(format!("{method} {scheme}://{host}{}", uri.path()));
    }
    let authorization = headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok());
    if authorization.is_some() && transport == Transport::Plain {
        *lock(&state.credentials_over_plain_http) += 1;
    }
    let expected = format!("Basic {}", STANDARD.encode(format!("{}:{}", state.account, state.password)));
    (host, authorization == Some(expected.as_str()))
}

fn host_of(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or("");
    host.rsplit_once(':').map(|(name, _)| name).unwrap_or(host).to_ascii_lowercase()
}

async fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

fn text_inside(elements: &[FlatElement], name: &str, ancestor: &str) -> String {
    elements
        .iter()
        .find(|element| element.name() == name && element.is_inside(ancestor))
        .map(|element| element.text.clone())
        .unwrap_or_default()
}

async fn create_item(
    State(state): State<Arc<FakeEwsState>>,
    transport: axum::Extension<Transport>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (host, authorized) = observe(&state, &headers, transport.0, "POST", &uri);
    let reply = lock(&state.ews_replies).pop_front().unwrap_or(EwsReply::Success);
    if !authorized || reply == EwsReply::Unauthorized {
        return unauthorized();
    }
    let Ok(elements) = flatten(&String::from_utf8_lossy(&body)) else {
        return xml_response(StatusCode::BAD_REQUEST, String::new());
    };
    let attribute = |element: &str, name: &str| {
        elements
            .iter()
            .find(|found| found.name() == element)
            .and_then(|found| found.attribute(name))
            .unwrap_or("")
            .to_string()
    };
    match reply {
        EwsReply::InvalidRecipients => return xml_response(StatusCode::OK, INVALID_RECIPIENTS.to_string()),
        EwsReply::ServerBusyFault => return xml_response(StatusCode::INTERNAL_SERVER_ERROR, BUSY_FAULT.to_string()),
        EwsReply::ServerBusyMessage => return xml_response(StatusCode::OK, BUSY_MESSAGE.to_string()),
        EwsReply::Success | EwsReply::Unauthorized => {}
    }
    let mail = SentMail {
        to: text_inside(&elements, "EmailAddress", "ToRecipients"),
        subject: text_inside(&elements, "Subject", "Message"),
        html_body: text_inside(&elements, "Body", "Message"),
        disposition: attribute("CreateItem", "MessageDisposition"),
        server_version: attribute("RequestServerVersion", "Version"),
        saved_folder: attribute("DistinguishedFolderId", "Id"),
        host,
    };
    let mut sent = lock(&state.sent);
    if sent.len() < MAX_LOG {
        sent.push(mail);
    }
    xml_response(StatusCode::OK, SUCCESS.to_string())
}

fn autodiscover_reply(state: &FakeEwsState, host: &str, endpoint: AutodiscoverEndpoint) -> Option<AutodiscoverReply> {
    lock(&state.autodiscover).get(&(host.to_string(), endpoint)).cloned()
}

fn fill(template: &str, address: &str, url: &str) -> String {
    template
        .replace("{{EWS_URL}}", FAKE_EWS_URL)
        .replace("{{EXTERNAL_EWS_URL}}", FAKE_EXTERNAL_EWS_URL)
        .replace("{{ADDRESS}}", address)
        .replace("{{URL}}", url)
}

async fn autodiscover_pox(
    State(state): State<Arc<FakeEwsState>>,
    transport: axum::Extension<Transport>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (host, authorized) = observe(&state, &headers, transport.0, "POST", &uri);
    let Some(reply) = autodiscover_reply(&state, &host, AutodiscoverEndpoint::Pox) else { return not_found().await };
    if !authorized || reply == AutodiscoverReply::Unauthorized {
        return unauthorized();
    }
    let elements = flatten(&String::from_utf8_lossy(&body)).unwrap_or_default();
    let asked = text_inside(&elements, "EMailAddress", "Request");
    let body = match reply {
        AutodiscoverReply::Settings => fill(POX_SETTINGS, &asked, ""),
        AutodiscoverReply::RedirectAddress(address) => fill(POX_REDIRECT_ADDR, &address, ""),
        AutodiscoverReply::RedirectUrl(url) => fill(POX_REDIRECT_URL, "", &url),
        AutodiscoverReply::Error | AutodiscoverReply::Unauthorized => POX_ERROR.to_string(),
    };
    xml_response(StatusCode::OK, body)
}

async fn autodiscover_soap(
    State(state): State<Arc<FakeEwsState>>,
    transport: axum::Extension<Transport>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (host, authorized) = observe(&state, &headers, transport.0, "POST", &uri);
    let Some(reply) = autodiscover_reply(&state, &host, AutodiscoverEndpoint::Soap) else { return not_found().await };
    if !authorized || reply == AutodiscoverReply::Unauthorized {
        return unauthorized();
    }
    let body = match reply {
        AutodiscoverReply::Settings => fill(SOAP_SETTINGS, "", ""),
        AutodiscoverReply::RedirectAddress(address) => fill(SOAP_REDIRECT_ADDR, &address, ""),
        _ => return xml_response(StatusCode::INTERNAL_SERVER_ERROR, String::new()),
    };
    xml_response(StatusCode::OK, body)
}

async fn autodiscover_get(
    State(state): State<Arc<FakeEwsState>>,
    transport: axum::Extension<Transport>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let (host, _) = observe(&state, &headers, transport.0, "GET", &uri);
    match autodiscover_reply(&state, &host, AutodiscoverEndpoint::HttpGet) {
        Some(AutodiscoverReply::RedirectUrl(location)) => {
            (StatusCode::FOUND, [(header::LOCATION, location)], "").into_response()
        }
        _ => not_found().await,
    }
}
