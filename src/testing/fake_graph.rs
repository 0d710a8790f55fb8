//! A fake Entra ID token endpoint and Microsoft Graph on loopback, speaking the real shapes:
//! client-credentials tokens (secret or certificate assertion, with Entra's error bodies for an
//! invalid or expired secret), Graph pages with `@odata.nextLink`, and scripted faults (429 with
//! Retry-After, 503, 401/403, malformed JSON, a collection that never ends, a nextLink loop, a
//! body that never ends, revoked tokens).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::testing::fake_graph_data::FakeTenantData;
use crate::testing::fake_graph_routes::graph_router;
use crate::testing::loopback_server::{LoopbackServer, serve_listener};

/// Request times kept for `max_requests_in_window`.
const MAX_REQUEST_LOG: usize = 1_000_000;

pub const FAKE_TENANT_ID: &str = "contoso.onmicrosoft.com";
pub const FAKE_CLIENT_ID: &str = "11111111-2222-4333-8444-555555555555";
pub const FAKE_CLIENT_SECRET: &str = "fake-secret-value~0123456789";
pub const FAKE_EXPIRED_CLIENT_SECRET: &str = "fake-expired-secret~9876543210";
pub const FIXTURE_CLIENT_CERTIFICATE_PEM: &str = include_str!("../../fixtures/graph/client-certificate.pem");

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultTarget {
    Token,
    ManagedDevices,
    Users,
    GroupMembers,
    Policy,
    AnyGraph,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// 429 with `Retry-After` (seconds) when given.
    Throttle { retry_after_s: Option<u64> },
    /// 503.
    Unavailable,
    /// 401 with Graph's InvalidAuthenticationToken body.
    Unauthorized,
    /// 403 with Graph's Forbidden body.
    Forbidden,
    /// A page whose JSON stops halfway.
    MalformedJson,
    /// Every page links to a further, empty page.
    EndlessPaging,
    /// The page links to itself.
    NextLinkLoop,
    /// A 200 whose body never ends.
    EndlessBody,
    /// Every token issued so far is forgotten (the next Graph call answers 401).
    RevokeTokens,
}

/// A fault for the next `times` matching requests (`None`: all of them), from page `from_page`
/// (0 = the first page) of a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptedFault {
    pub target: FaultTarget,
    pub kind: FaultKind,
    pub times: Option<u32>,
    pub from_page: usize,
}

impl ScriptedFault {
    pub fn once(target: FaultTarget, kind: FaultKind) -> ScriptedFault {
        ScriptedFault { target, kind, times: Some(1), from_page: 0 }
    }
    pub fn always(target: FaultTarget, kind: FaultKind) -> ScriptedFault {
        ScriptedFault { target, kind, times: None, from_page: 0 }
    }
}

pub(crate) struct FakeGraphState {
    pub(crate) base_url: String,
    pub(crate) data: FakeTenantData,
    pub(crate) device_page_size: usize,
    pub(crate) token_lifetime_s: u64,
    faults: Mutex<Vec<ScriptedFault>>,
    pub(crate) tokens: Mutex<HashMap<String, Instant>>,
    pub(crate) token_counter: AtomicU64,
    pub(crate) token_requests: AtomicU64,
    graph_requests: AtomicU64,
    request_times: Mutex<VecDeque<Instant>>,
    first_urls: Mutex<Vec<String>>,
}

impl FakeGraphState {
    /// The first scripted fault for this request, used up by one.
    pub(crate) fn take_fault(&self, target: FaultTarget, page_index: usize) -> Option<FaultKind> {
        let mut faults = lock(&self.faults);
        let position = faults.iter().position(|fault| {
            let target_matches =
                fault.target == target || (fault.target == FaultTarget::AnyGraph && target != FaultTarget::Token);
            target_matches && page_index >= fault.from_page && fault.times != Some(0)
        })?;
        let fault = &mut faults[position];
        if let Some(times) = fault.times.as_mut() {
            *times -= 1;
        }
        Some(fault.kind)
    }

    pub(crate) fn record_request(&self) {
        self.graph_requests.fetch_add(1, Ordering::Relaxed);
        let mut times = lock(&self.request_times);
        if times.len() < MAX_REQUEST_LOG {
            times.push_back(Instant::now());
        }
    }

    pub(crate) fn record_first_url(&self, uri: &axum::http::Uri) {
        let mut urls = lock(&self.first_urls);
        if urls.len() < 1_000 {
            urls.push(uri.to_string());
        }
    }
}

/// A running fake Graph + token endpoint.
pub struct FakeGraph {
    server: LoopbackServer,
    state: Arc<FakeGraphState>,
}

/// Options of a fake Graph.
#[derive(Clone)]
pub struct FakeGraphOptions {
    pub data: FakeTenantData,
    /// Graph's server-side page size for managedDevices (1,000 in Intune).
    pub device_page_size: usize,
    pub token_lifetime_s: u64,
}

impl FakeGraphOptions {
    pub fn new(data: FakeTenantData) -> FakeGraphOptions {
        FakeGraphOptions { data, device_page_size: 1_000, token_lifetime_s: 3_599 }
    }
}

impl FakeGraph {
    pub async fn start(options: FakeGraphOptions) -> std::io::Result<FakeGraph> {
        // nextLinks are absolute URLs: the state needs the address before the server runs.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(FakeGraphState {
            base_url,
            data: options.data,
            device_page_size: options.device_page_size.max(1),
            token_lifetime_s: options.token_lifetime_s,
            faults: Mutex::new(Vec::new()),
            tokens: Mutex::new(HashMap::new()),
            token_counter: AtomicU64::new(0),
            token_requests: AtomicU64::new(0),
            graph_requests: AtomicU64::new(0),
            request_times: Mutex::new(VecDeque::new()),
            first_urls: Mutex::new(Vec::new()),
        });
        let server = serve_listener(listener, graph_router(state.clone()), None)?;
        Ok(FakeGraph { server, state })
    }

    /// `http://127.0.0.1:PORT`: both the AuthorityUrl and the GraphUrl of the fake.
    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    pub fn add_fault(&self, fault: ScriptedFault) {
        lock(&self.state.faults).push(fault);
    }

    pub fn token_requests(&self) -> u64 {
        self.state.token_requests.load(Ordering::Relaxed)
    }

    pub fn graph_requests(&self) -> u64 {
        self.state.graph_requests.load(Ordering::Relaxed)
    }

    /// The first-page URLs (path and query) the client asked for, in order.
    pub fn first_page_urls(&self) -> Vec<String> {
        lock(&self.state.first_urls).clone()
    }

    /// The most Graph requests seen in any `window` (measured on the server's clock).
    pub fn max_requests_in_window(&self, window: Duration) -> usize {
        let times = lock(&self.state.request_times);
        let times: Vec<Instant> = times.iter().copied().collect();
        let mut best = 0;
        let mut start = 0;
        for end in 0..times.len() {
            while times[end].duration_since(times[start]) >= window {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl FakeGraph {
    /// Graph settings aimed at this fake (authority and Graph on the fake's address).
    pub fn graph_settings(
        &self,
        credential: crate::config::model::GraphCredential,
        policy: crate::graph::PolicyOrigin,
    ) -> crate::graph::GraphSettings {
        let base = url::Url::parse(&self.state.base_url).unwrap_or_else(|_| unreachable!("the fake's own URL parses"));
        crate::graph::GraphSettings {
            tenant_id: FAKE_TENANT_ID.to_string(),
            client_id: FAKE_CLIENT_ID.to_string(),
            credential,
            authority_url: base.clone(),
            graph_url: base,
            policy,
            limits: crate::graph::GraphLimits::default(),
            proxy: None,
            jitter_seed: 7,
        }
    }
}
