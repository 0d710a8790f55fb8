//! The client-credentials token (Entra ID v2.0 endpoint): requested with the client secret or a
//! signed certificate assertion, cached, and refreshed a margin before it expires. There is no
//! refresh token in this flow; a new token is simply requested.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::clock::Clock;
use crate::config::model::GraphCredential;
use crate::config::secret::Secret;
use crate::graph::assertion::ClientCertificate;
use crate::graph::budget::Backoff;
use crate::graph::settings::GraphSettings;
use crate::tenant::TenantError;

/// Refresh this long before expiry (or at half the lifetime for very short tokens).
pub const REFRESH_MARGIN_S: i64 = 300;
/// Token requests per `bearer()` call after a 5xx or a network failure.
pub const MAX_TOKEN_ATTEMPTS: u32 = 4;
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

struct CachedToken {
    access_token: Secret,
    refresh_at: DateTime<Utc>,
}

/// Hands out a valid bearer token.
pub struct TokenSource {
    http: reqwest::Client,
    settings: Arc<GraphSettings>,
    certificate: Option<ClientCertificate>,
    clock: Arc<dyn Clock>,
    backoff: Arc<Backoff>,
    cache: Mutex<Option<CachedToken>>,
    requests_total: std::sync::atomic::AtomicU64,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    /// Seconds; Entra sends a number, older endpoints a string.
    expires_in: serde_json::Value,
}

#[derive(Deserialize, Default)]
struct TokenErrorReply {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

impl TokenSource {
    pub fn new(
        http: reqwest::Client,
        settings: Arc<GraphSettings>,
        certificate: Option<ClientCertificate>,
        clock: Arc<dyn Clock>,
        backoff: Arc<Backoff>,
    ) -> TokenSource {
        TokenSource {
            http,
            settings,
            certificate,
            clock,
            backoff,
            cache: Mutex::new(None),
            requests_total: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// A token valid for at least the refresh margin; requests one when needed. Concurrent
    /// callers wait for the one request in flight.
    pub async fn bearer(&self) -> Result<Secret, TenantError> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref()
            && self.clock.now() < cached.refresh_at
        {
            return Ok(cached.access_token.clone());
        }
        let fresh = self.request_with_retries().await?;
        let token = fresh.access_token.clone();
        *cache = Some(fresh);
        Ok(token)
    }

    /// Forgets the cached token if it is still `refused` (Graph answered 401 to it). Concurrent
    /// readers refused with the same token then share one new token.
    pub async fn invalidate(&self, refused: &Secret) {
        let mut cache = self.cache.lock().await;
        if cache.as_ref().is_some_and(|cached| cached.access_token.expose() == refused.expose()) {
            *cache = None;
        }
    }

    /// Token requests sent since this source was made.
    pub fn requests_total(&self) -> u64 {
        self.requests_total.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn request_with_retries(&self) -> Result<CachedToken, TenantError> {
        let mut attempt = 0;
        loop {
            match self.request_once().await {
                Err(error) if error.is_retryable() && attempt + 1 < MAX_TOKEN_ATTEMPTS => {
                    self.clock.sleep(self.backoff.delay(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn request_once(&self) -> Result<CachedToken, TenantError> {
        let token_url = self.settings.token_url();
        let mut form: Vec<(&str, String)> = vec![
            ("client_id", self.settings.client_id.clone()),
            ("scope", self.settings.scope()),
            ("grant_type", "client_credentials".to_string()),
        ];
        match &self.settings.credential {
            GraphCredential::ClientSecret(source) => {
                let secret = source.read().map_err(|error| TenantError::Unauthorized { detail: error.to_string() })?;
                form.push(("client_secret", secret.expose().to_string()));
            }
            GraphCredential::ClientCertificate(_) => {
                let certificate = self.certificate.as_ref().ok_or_else(|| TenantError::Unauthorized {
                    detail: "the client certificate was not loaded".to_string(),
                })?;
                let assertion = certificate
                    .assertion(&token_url, &self.settings.client_id, self.clock.now())
                    .map_err(|error| TenantError::Unauthorized { detail: error.to_string() })?;
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
                ));
                form.push(("client_assertion", assertion));
            }
        }
        self.requests_total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let response = self.http.post(&token_url).form(&form).send().await;
        // The form holds the secret: wipe our copy before anything else can keep it around.
        for (_, value) in form.iter_mut() {
            zeroize::Zeroize::zeroize(value);
        }
        let response = response.map_err(|error| network_error("token endpoint", &error))?;
        let status = response.status();
        let body = crate::graph::http::read_body_limited(response, MAX_TOKEN_RESPONSE_BYTES).await?;
        if status.is_success() {
            return self.parse_token(&body);
        }
        let reply: TokenErrorReply = serde_json::from_slice(&body).unwrap_or_default();
        let description = reply.error_description.lines().next().unwrap_or("").to_string();
        let detail = format!("token endpoint answered {status}: {} {description}", reply.error).trim().to_string();
        if status.is_server_error() || status.as_u16() == 429 {
            Err(TenantError::Unavailable { detail })
        } else {
            Err(TenantError::Unauthorized { detail })
        }
    }

    fn parse_token(&self, body: &[u8]) -> Result<CachedToken, TenantError> {
        let malformed = |detail: &str| TenantError::Malformed { detail: format!("token endpoint: {detail}") };
        let reply: TokenReply = serde_json::from_slice(body).map_err(|_| malformed("the reply is not a token"))?;
        let lifetime_s = match &reply.expires_in {
            serde_json::Value::Number(number) => number.as_i64(),
            serde_json::Value::String(text) => text.parse().ok(),
            _ => None,
        }
        .filter(|seconds| *seconds > 0)
        .ok_or_else(|| malformed("expires_in is missing or not positive"))?;
        if reply.access_token.is_empty() {
            return Err(malformed("access_token is empty"));
        }
        let margin_s = REFRESH_MARGIN_S.min(lifetime_s / 2);
        let refresh_at = self.clock.now() + chrono::Duration::seconds(lifetime_s - margin_s);
        Ok(CachedToken { access_token: Secret::new(reply.access_token), refresh_at })
    }
}

/// A reqwest failure as a tenant error: timeouts and connection failures are retryable.
pub fn network_error(what: &str, error: &reqwest::Error) -> TenantError {
    // reqwest's message names the URL but never a header or the form body.
    let detail = format!("{what}: {}", error_chain(error));
    if error.is_timeout() { TenantError::Timeout { detail } } else { TenantError::Unavailable { detail } }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    let mut depth = 0;
    while let Some(inner) = source
        && depth < 4
    {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
        depth += 1;
    }
    text
}
