//! What the Graph adapter needs to run: endpoints, credentials, the groups to expand when the
//! policy is local, and the limits on every loop (pages, records, retries, waits, budget).

use std::time::Duration;

use url::Url;

use crate::config::model::{GraphCredential, GraphTenantConfig, PolicySource};
use crate::config::secret::SecretSource;
use crate::tenant::TenantPolicy;

/// Limits of one read. Defaults suit a tenant of a few hundred thousand devices.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphLimits {
    /// Pages per collection before the read is abandoned ("a page that never ends").
    pub max_pages_per_collection: u32,
    /// Records per collection.
    pub max_records_per_collection: u64,
    /// Bytes of one response body.
    pub max_response_bytes: usize,
    /// Retries of one request after a 429, a 5xx or a network failure.
    pub max_retries: u32,
    /// First backoff without Retry-After; doubles each retry, with jitter.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// A Retry-After longer than this is not waited for: the read fails as throttled.
    pub max_retry_after: Duration,
    /// Requests easgate allows itself per `budget_window` (Intune allows 2,000 / 20 s per app).
    pub budget_requests: u32,
    pub budget_window: Duration,
    /// One request, body included.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Groups expanded per read (included + excluded).
    pub max_groups: usize,
}

impl Default for GraphLimits {
    fn default() -> GraphLimits {
        GraphLimits {
            max_pages_per_collection: 5_000,
            max_records_per_collection: 2_000_000,
            max_response_bytes: 32 * 1024 * 1024,
            max_retries: 6,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(300),
            budget_requests: crate::config::model::DEFAULT_GRAPH_REQUESTS_PER_20_S,
            budget_window: Duration::from_secs(20),
            request_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(15),
            max_groups: 200,
        }
    }
}

/// Where the policy comes from, from the adapter's point of view.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyOrigin {
    /// Read `exchangeOnPremisesPolicy` + `conditionalAccessSettings` each time.
    Graph,
    /// The configuration's policy: not read from Graph, but its groups are expanded.
    Local(TenantPolicy),
}

#[derive(Debug, Clone, PartialEq)]
pub struct GraphSettings {
    pub tenant_id: String,
    pub client_id: String,
    pub credential: GraphCredential,
    pub authority_url: Url,
    pub graph_url: Url,
    pub policy: PolicyOrigin,
    pub limits: GraphLimits,
    pub proxy: Option<crate::config::model::ProxyConfig>,
    /// Seed of the backoff jitter (tests fix it; the daemon passes anything).
    pub jitter_seed: u64,
}

impl GraphSettings {
    /// Settings from the configuration. A local policy is read now (its notification file).
    pub fn from_config(
        tenant: &GraphTenantConfig,
        policy: &PolicySource,
    ) -> Result<GraphSettings, crate::config::ConfigError> {
        let policy = match policy {
            PolicySource::Graph => PolicyOrigin::Graph,
            PolicySource::Local(local) => PolicyOrigin::Local(local.to_tenant_policy()?),
        };
        let limits = GraphLimits { budget_requests: tenant.requests_per_20_s, ..GraphLimits::default() };
        Ok(GraphSettings {
            tenant_id: tenant.tenant_id.clone(),
            client_id: tenant.client_id.clone(),
            credential: tenant.credential.clone(),
            authority_url: tenant.authority_url.clone(),
            graph_url: tenant.graph_url.clone(),
            policy,
            limits,
            proxy: tenant.proxy.clone(),
            jitter_seed: 0x5eed_ea59_a7e0,
        })
    }

    /// `{AuthorityUrl}/{TenantId}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.authority_url.as_str().trim_end_matches('/'), self.tenant_id)
    }

    /// `{GraphUrl}/.default`.
    pub fn scope(&self) -> String {
        format!("{}/.default", self.graph_url.as_str().trim_end_matches('/'))
    }

    /// `{GraphUrl}{path_and_query}`, `path_and_query` starting with `/v1.0` or `/beta`.
    pub fn graph_endpoint(&self, path_and_query: &str) -> String {
        format!("{}{}", self.graph_url.as_str().trim_end_matches('/'), path_and_query)
    }

    pub fn secret_source(&self) -> &SecretSource {
        match &self.credential {
            GraphCredential::ClientSecret(source) | GraphCredential::ClientCertificate(source) => source,
        }
    }
}
