//! One Graph GET, done right: the request budget, the bearer token (refreshed once on a 401),
//! 429 with Retry-After (else backoff with jitter), 5xx and network failures retried, a cap on
//! the body size, and Graph's error body turned into a one-line `TenantError`.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, RETRY_AFTER};
use serde::Deserialize;

use crate::clock::Clock;
use crate::graph::budget::{Backoff, RequestBudget};
use crate::graph::settings::GraphLimits;
use crate::graph::token::{TokenSource, network_error};
use crate::tenant::TenantError;

/// Performs Graph GETs for one adapter.
pub struct GraphHttp {
    pub(crate) client: reqwest::Client,
    pub(crate) tokens: TokenSource,
    pub(crate) budget: RequestBudget,
    pub(crate) backoff: Arc<Backoff>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) limits: GraphLimits,
}

/// Graph's error body: `{"error":{"code":"...","message":"..."}}`.
#[derive(Deserialize, Default)]
struct GraphErrorReply {
    #[serde(default)]
    error: GraphErrorDetail,
}

#[derive(Deserialize, Default)]
struct GraphErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// What one attempt came to.
enum Attempt {
    Done(Vec<u8>),
    /// Retry after this wait (None: the backoff decides).
    Retry(TenantError, Option<Duration>),
    RetryWithNewToken(TenantError, crate::config::Secret),
    Fail(TenantError),
}

impl GraphHttp {
    /// GETs `url` and returns the body of a 2xx reply. `extra_headers` are added to the request.
    pub async fn get(&self, url: &str, extra_headers: &HeaderMap) -> Result<Vec<u8>, TenantError> {
        let mut token_renewed = false;
        let mut retries = 0u32;
        loop {
            let outcome = self.attempt(url, extra_headers).await?;
            let (error, wait) = match outcome {
                Attempt::Done(body) => return Ok(body),
                Attempt::Fail(error) => return Err(error),
                Attempt::RetryWithNewToken(error, refused) => {
                    if token_renewed {
                        return Err(error);
                    }
                    token_renewed = true;
                    self.tokens.invalidate(&refused).await;
                    continue;
                }
                Attempt::Retry(error, wait) => (error, wait),
            };
            if retries >= self.limits.max_retries {
                return Err(error);
            }
            let wait = wait.unwrap_or_else(|| self.backoff.delay(retries));
            if wait > self.limits.max_retry_after {
                return Err(error);
            }
            tracing::debug!(url = %redact_query(url), retry = retries + 1, wait_ms = wait.as_millis() as u64, %error, "graph retry");
            self.clock.sleep(wait).await;
            retries += 1;
        }
    }

    async fn attempt(&self, url: &str, extra_headers: &HeaderMap) -> Result<Attempt, TenantError> {
        let token = self.tokens.bearer().await?;
        self.budget.acquire(self.clock.as_ref()).await;
        let sent = self
            .client
            .get(url)
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, format!("Bearer {}", token.expose()))
            .headers(extra_headers.clone())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => return Ok(Attempt::Retry(network_error(&redact_query(url), &error), None)),
        };
        let status = response.status();
        let retry_after = retry_after(response.headers());
        if status.is_success() {
            return match read_body_limited(response, self.limits.max_response_bytes).await {
                Ok(body) => Ok(Attempt::Done(body)),
                Err(error) if error.is_retryable() => Ok(Attempt::Retry(error, None)),
                Err(error) => Ok(Attempt::Fail(error)),
            };
        }
        let body = read_body_limited(response, 64 * 1024).await.unwrap_or_default();
        let detail = describe_failure(url, status, &body);
        Ok(match status {
            StatusCode::UNAUTHORIZED => Attempt::RetryWithNewToken(TenantError::Unauthorized { detail }, token),
            StatusCode::FORBIDDEN => Attempt::Fail(TenantError::Unauthorized { detail }),
            StatusCode::TOO_MANY_REQUESTS => {
                let retry_after_ms = retry_after.map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
                Attempt::Retry(TenantError::Throttled { detail, retry_after_ms }, retry_after)
            }
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => {
                Attempt::Retry(TenantError::Timeout { detail }, retry_after)
            }
            status if status.is_server_error() => Attempt::Retry(TenantError::Unavailable { detail }, retry_after),
            _ => Attempt::Fail(TenantError::Malformed { detail }),
        })
    }
}

/// `Retry-After` in seconds (Graph's form). An HTTP date is not used by Graph; it falls back to
/// the backoff.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?;
    text.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn describe_failure(url: &str, status: StatusCode, body: &[u8]) -> String {
    let reply: GraphErrorReply = serde_json::from_slice(body).unwrap_or_default();
    let message: String = reply.error.message.chars().take(300).collect();
    format!("GET {} answered {status}: {} {message}", redact_query(url), reply.error.code).trim().to_string()
}

/// The URL without its query: skiptokens are long and say nothing to an admin.
pub fn redact_query(url: &str) -> String {
    match url.split_once('?') {
        Some((path, _)) => format!("{path}?..."),
        None => url.to_string(),
    }
}

/// Reads a body up to `limit` bytes; a longer one is an error (a reply that never ends).
pub async fn read_body_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, TenantError> {
    let url = redact_query(response.url().as_str());
    if let Some(length) = response.content_length()
        && length > limit as u64
    {
        return Err(TenantError::Malformed { detail: format!("{url}: the reply is larger than {limit} bytes") });
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(TenantError::Malformed {
                        detail: format!("{url}: the reply is larger than {limit} bytes"),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(error) => return Err(network_error(&url, &error)),
        }
    }
}
