//! `GraphTenant`: the `Tenant` adapter over Microsoft Graph. One read = the policy (unless it is
//! local), every managed device, every user, and the transitive members of each included and
//! excluded group, all or nothing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderValue};

use crate::clock::Clock;
use crate::config::model::{Config, GraphCredential, TenantSource};
use crate::graph::assertion::ClientCertificate;
use crate::graph::budget::{Backoff, RequestBudget};
use crate::graph::error::GraphBuildError;
use crate::graph::http::GraphHttp;
use crate::graph::model::*;
use crate::graph::paging::{CollectionStats, read_collection, read_object};
use crate::graph::settings::{GraphSettings, PolicyOrigin};
use crate::graph::token::TokenSource;
use crate::tenant::{EntraRegistration, ManagedDevice, Tenant, TenantError, TenantPolicy, TenantSnapshot, TenantUser};

/// The Graph tenant adapter.
pub struct GraphTenant {
    settings: Arc<GraphSettings>,
    http: GraphHttp,
}

/// What the last reads cost, for `check`, metrics and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GraphRequestStats {
    /// Graph requests sent (retries included), through the budget.
    pub graph_requests: u64,
    pub token_requests: u64,
    /// Time spent waiting for the client-side budget.
    pub budget_waited_ms: u64,
}

/// What one read saw, besides the snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    pub managed_devices: CollectionStats,
    pub users: CollectionStats,
    pub group_members: CollectionStats,
}

impl GraphTenant {
    /// An adapter with its own HTTP client (rustls, certificates verified, proxy from settings).
    pub fn new(settings: GraphSettings, clock: Arc<dyn Clock>) -> Result<GraphTenant, GraphBuildError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("easgate/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(settings.limits.connect_timeout)
            .timeout(settings.limits.request_timeout)
            // Graph does not redirect these reads; following one could carry the token away.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(proxy) = &settings.proxy {
            builder = builder.proxy(crate::graph::error::build_proxy(proxy)?);
        }
        let client = builder.build().map_err(|error| GraphBuildError::Http { detail: error.to_string() })?;
        GraphTenant::with_http_client(settings, clock, client)
    }

    /// An adapter over a given client (tests pass one that trusts their fake).
    pub fn with_http_client(
        settings: GraphSettings,
        clock: Arc<dyn Clock>,
        client: reqwest::Client,
    ) -> Result<GraphTenant, GraphBuildError> {
        let certificate = match &settings.credential {
            GraphCredential::ClientCertificate(source) => {
                let pem =
                    source.read_bytes().map_err(|error| GraphBuildError::Credential { detail: error.to_string() })?;
                Some(
                    ClientCertificate::from_pem(&pem)
                        .map_err(|error| GraphBuildError::Credential { detail: error.to_string() })?,
                )
            }
            GraphCredential::ClientSecret(_) => None,
        };
        let settings = Arc::new(settings);
        let limits = settings.limits.clone();
        let backoff = Arc::new(Backoff::new(limits.backoff_base, limits.backoff_cap, settings.jitter_seed));
        let tokens = TokenSource::new(client.clone(), settings.clone(), certificate, clock.clone(), backoff.clone());
        let budget = RequestBudget::new(limits.budget_requests, limits.budget_window);
        let http = GraphHttp { client, tokens, budget, backoff, clock, limits };
        Ok(GraphTenant { settings, http })
    }

    /// The adapter the configuration asks for (`<Tenant Source="Graph">`).
    pub fn from_config(config: &Config, clock: Arc<dyn Clock>) -> Result<GraphTenant, GraphBuildError> {
        let TenantSource::Graph(tenant) = &config.tenant else {
            return Err(GraphBuildError::NotGraph);
        };
        let settings = GraphSettings::from_config(tenant, &config.policy)
            .map_err(|error| GraphBuildError::Policy { detail: error.to_string() })?;
        GraphTenant::new(settings, clock)
    }

    pub fn request_stats(&self) -> GraphRequestStats {
        GraphRequestStats {
            graph_requests: self.http.budget.requests_total(),
            token_requests: self.http.tokens.requests_total(),
            budget_waited_ms: self.http.budget.waited_ms_total(),
        }
    }

    /// Requests a token now (for `easgate check`: proves the credentials without reading).
    pub async fn check_credentials(&self) -> Result<(), TenantError> {
        self.http.tokens.bearer().await.map(|_| ())
    }

    /// A full read with what it cost.
    pub async fn read_with_stats(&self) -> Result<(TenantSnapshot, ReadStats), TenantError> {
        let (policy, targeting) = match &self.settings.policy {
            PolicyOrigin::Graph => {
                let policy = self.read_policy().await?;
                (Some(policy.clone()), policy)
            }
            PolicyOrigin::Local(local) => (None, local.clone()),
        };
        let groups = policy_groups(&targeting, self.http.limits.max_groups)?;
        let (devices, users, members) =
            futures::try_join!(self.read_managed_devices(), self.read_users(), self.read_group_members(&groups))?;
        let (managed_devices, registrations, device_stats) = devices;
        let (graph_users, user_stats) = users;
        let (members_by_group, member_stats) = members;
        let users = join_users(graph_users, &groups, &members_by_group);
        let snapshot = TenantSnapshot {
            users,
            managed_devices,
            registrations,
            policy,
            complete: true,
            removed_managed_devices: Vec::new(),
            cursor: None,
        };
        let stats = ReadStats { managed_devices: device_stats, users: user_stats, group_members: member_stats };
        Ok((snapshot, stats))
    }

    async fn read_policy(&self) -> Result<TenantPolicy, TenantError> {
        let policy_url = self.settings.graph_endpoint("/beta/deviceManagement/exchangeOnPremisesPolicy");
        let settings_url = self.settings.graph_endpoint("/beta/deviceManagement/conditionalAccessSettings");
        let (policy, settings) = futures::try_join!(
            read_object::<MaybeWrapped<GraphExchangePolicy>>(&self.http, &policy_url, "exchangeOnPremisesPolicy"),
            read_object::<MaybeWrapped<GraphConditionalAccessSettings>>(
                &self.http,
                &settings_url,
                "conditionalAccessSettings"
            ),
        )?;
        policy_from_graph(policy.into_inner(), settings.into_inner())
    }

    async fn read_managed_devices(
        &self,
    ) -> Result<(Vec<ManagedDevice>, Vec<EntraRegistration>, CollectionStats), TenantError> {
        let url = self
            .settings
            .graph_endpoint(&format!("/v1.0/deviceManagement/managedDevices?$select={MANAGED_DEVICE_SELECT}"));
        let mut registrations = Vec::new();
        let (devices, stats) = read_collection(&self.http, &url, &HeaderMap::new(), "managedDevices", |record| {
            Ok(GraphManagedDevice::into_managed_device(record).map(|(device, registration)| {
                registrations.extend(registration);
                device
            }))
        })
        .await?;
        Ok((devices, registrations, stats))
    }

    async fn read_users(&self) -> Result<(Vec<GraphUser>, CollectionStats), TenantError> {
        // $top=999 (Graph's maximum for users) instead of the default 100: 10x fewer requests.
        let url = self.settings.graph_endpoint("/v1.0/users?$select=id,userPrincipalName,mail,assignedPlans&$top=999");
        read_collection(&self.http, &url, &HeaderMap::new(), "users", |user: GraphUser| Ok(Some(user))).await
    }

    async fn read_group_members(
        &self,
        groups: &[String],
    ) -> Result<(HashMap<String, HashSet<String>>, CollectionStats), TenantError> {
        // The cast to microsoft.graph.user is an advanced query on some tenants.
        let mut headers = HeaderMap::new();
        headers.insert("ConsistencyLevel", HeaderValue::from_static("eventual"));
        let mut members_by_group = HashMap::new();
        let mut total = CollectionStats::default();
        for group in groups {
            let url = self.settings.graph_endpoint(&format!(
                "/v1.0/groups/{group}/transitiveMembers/microsoft.graph.user?$select=id,userPrincipalName&$top=999&$count=true"
            ));
            let what = format!("members of group {group}");
            let (members, stats) = read_collection(&self.http, &url, &headers, &what, |member: GraphMember| {
                let is_user = member.odata_type.as_deref().is_none_or(|kind| kind == "#microsoft.graph.user");
                Ok(is_user.then_some(member.id))
            })
            .await?;
            total.pages += stats.pages;
            total.records += stats.records;
            members_by_group.insert(group.clone(), members.into_iter().collect());
        }
        Ok((members_by_group, total))
    }
}

/// The included and excluded groups, each once; ids must be GUIDs (they go into a URL path).
fn policy_groups(policy: &TenantPolicy, max_groups: usize) -> Result<Vec<String>, TenantError> {
    let mut groups: Vec<String> = Vec::new();
    for group in policy.included_groups.iter().chain(&policy.excluded_groups) {
        if !crate::config::parse::is_guid(group) {
            return Err(TenantError::Malformed { detail: format!("policy group {group:?} is not a GUID") });
        }
        if !groups.iter().any(|known| known.eq_ignore_ascii_case(group)) {
            groups.push(group.clone());
        }
    }
    if groups.len() > max_groups {
        return Err(TenantError::Malformed { detail: format!("the policy names more than {max_groups} groups") });
    }
    Ok(groups)
}

/// Users with their policy groups and licence.
fn join_users(
    graph_users: Vec<GraphUser>,
    groups: &[String],
    members_by_group: &HashMap<String, HashSet<String>>,
) -> Vec<TenantUser> {
    graph_users
        .into_iter()
        .map(|user| {
            let licensed = user.has_intune_plan();
            let user_groups = groups
                .iter()
                .filter(|group| members_by_group.get(*group).is_some_and(|members| members.contains(&user.id)))
                .cloned()
                .collect();
            TenantUser {
                upn: user.user_principal_name.unwrap_or_default(),
                mail: user.mail.unwrap_or_default(),
                id: user.id,
                licensed,
                groups: user_groups,
            }
        })
        .collect()
}

#[async_trait]
impl Tenant for GraphTenant {
    /// Graph has no delta for these collections: every read is a full read (`complete = true`).
    async fn read(&self, _since: Option<&str>) -> Result<TenantSnapshot, TenantError> {
        self.read_with_stats().await.map(|(snapshot, _)| snapshot)
    }
}
