//! The fake Graph's routes: the token endpoint and the collections and singletons easgate reads.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Form, OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::testing::fake_graph::*;
use crate::testing::fake_graph_data::FakeRecords;

const ERROR_401: &str = include_str!("../../fixtures/graph/error_401_invalid_token.json");
const ERROR_403: &str = include_str!("../../fixtures/graph/error_403_forbidden.json");
const ERROR_429: &str = include_str!("../../fixtures/graph/error_429_throttled.json");
const TOKEN_INVALID_SECRET: &str = include_str!("../../fixtures/graph/token_error_invalid_secret.json");
const TOKEN_EXPIRED_SECRET: &str = include_str!("../../fixtures/graph/token_error_expired_secret.json");
const FIXTURE_CLIENT_PUBLIC_KEY_PEM: &str = include_str!("../../fixtures/graph/client-certificate-public.pem");

pub(crate) fn graph_router(state: Arc<FakeGraphState>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/v1.0/deviceManagement/managedDevices", get(managed_devices))
        .route("/v1.0/users", get(users))
        .route("/v1.0/groups/{group}/transitiveMembers/microsoft.graph.user", get(group_members))
        .route("/beta/deviceManagement/exchangeOnPremisesPolicy", get(exchange_policy))
        .route("/beta/deviceManagement/conditionalAccessSettings", get(conditional_access_settings))
        .with_state(state)
}

fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.into()).into_response()
}

fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(status, json!({"error": error, "error_description": description, "error_codes": [0]}).to_string())
}

async fn token(
    State(state): State<Arc<FakeGraphState>>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    state.token_requests.fetch_add(1, Ordering::Relaxed);
    if let Some(response) = state.take_fault(FaultTarget::Token, 0).and_then(|fault| fault_response(&state, fault)) {
        return response;
    }
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    if tenant != FAKE_TENANT_ID {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("AADSTS90002: Tenant '{tenant}' not found."),
        );
    }
    if field("grant_type") != "client_credentials" {
        return token_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "AADSTS70003: unsupported grant type");
    }
    if field("client_id") != FAKE_CLIENT_ID {
        return token_error(StatusCode::BAD_REQUEST, "unauthorized_client", "AADSTS700016: Application not found.");
    }
    if field("scope") != format!("{}/.default", state.base_url) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS70011: The provided value for scope is not valid.",
        );
    }
    let token_url = format!("{}/{tenant}/oauth2/v2.0/token", state.base_url);
    let accepted = match (form.get("client_secret"), form.get("client_assertion")) {
        (Some(secret), None) if secret == FAKE_CLIENT_SECRET => Ok(()),
        (Some(secret), None) if secret == FAKE_EXPIRED_CLIENT_SECRET => Err(TOKEN_EXPIRED_SECRET.to_string()),
        (Some(_), None) => Err(TOKEN_INVALID_SECRET.to_string()),
        (None, Some(assertion)) => check_assertion(assertion, field("client_assertion_type"), &token_url),
        _ => Err(json!({"error": "invalid_request", "error_description": "AADSTS7000216: client_assertion, \
client_secret or request is required."})
        .to_string()),
    };
    match accepted {
        Err(body) => json_response(StatusCode::UNAUTHORIZED, body),
        Ok(()) => {
            let serial = state.token_counter.fetch_add(1, Ordering::Relaxed);
            let access_token = format!("eyJ0eXAiOiJKV1QifQ.fake-token-{serial}.sig");
            let expires_at = Instant::now() + Duration::from_secs(state.token_lifetime_s);
            lock(&state.tokens).insert(access_token.clone(), expires_at);
            let body = json!({"token_type": "Bearer", "expires_in": state.token_lifetime_s,
                "ext_expires_in": state.token_lifetime_s, "access_token": access_token});
            json_response(StatusCode::OK, body.to_string())
        }
    }
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    nbf: i64,
    exp: i64,
}

/// Entra's checks on a client assertion: signature by the registered certificate, audience =
/// the token endpoint, iss = sub = the client id, short-lived, x5t present.
fn check_assertion(assertion: &str, assertion_type: &str, token_url: &str) -> Result<(), String> {
    let refuse = |detail: &str| {
        json!({"error": "invalid_client", "error_description": format!("AADSTS700027: Client assertion failed: {detail}")})
            .to_string()
    };
    if assertion_type != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
        return Err(refuse("wrong client_assertion_type"));
    }
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| refuse("not a JWT"))?;
    if header.x5t.is_none() {
        return Err(refuse("no x5t"));
    }
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(FIXTURE_CLIENT_PUBLIC_KEY_PEM.as_bytes())
        .map_err(|_| refuse("fixture key unreadable"))?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[token_url]);
    // The client's clock may be virtual: check the lifetime, not the wall clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
    let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation)
        .map_err(|error| refuse(&format!("signature or claims invalid: {error}")))?
        .claims;
    if claims.iss != FAKE_CLIENT_ID || claims.sub != FAKE_CLIENT_ID {
        return Err(refuse("iss/sub is not the client id"));
    }
    if claims.exp - claims.nbf > 3_600 || claims.exp <= claims.nbf {
        return Err(refuse("lifetime"));
    }
    Ok(())
}

fn fault_response(state: &FakeGraphState, fault: FaultKind) -> Option<Response> {
    match fault {
        FaultKind::Throttle { retry_after_s } => {
            let mut response = json_response(StatusCode::TOO_MANY_REQUESTS, ERROR_429);
            if let Some(seconds) = retry_after_s
                && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Some(response)
        }
        FaultKind::Unavailable => Some(json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"error":{"code":"ServiceUnavailable","message":"Service unavailable."}}"#,
        )),
        FaultKind::Unauthorized => Some(json_response(StatusCode::UNAUTHORIZED, ERROR_401)),
        FaultKind::Forbidden => Some(json_response(StatusCode::FORBIDDEN, ERROR_403)),
        FaultKind::RevokeTokens => {
            lock(&state.tokens).clear();
            None
        }
        FaultKind::MalformedJson | FaultKind::EndlessPaging | FaultKind::NextLinkLoop | FaultKind::EndlessBody => None,
    }
}

fn is_authorized(state: &FakeGraphState, headers: &HeaderMap) -> bool {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    else {
        return false;
    };
    lock(&state.tokens).get(token).is_some_and(|expires_at| Instant::now() < *expires_at)
}

/// Faults, then the token: the gate every Graph request passes. `Err` is the reply to send.
#[allow(clippy::result_large_err)]
fn gate(
    state: &FakeGraphState,
    headers: &HeaderMap,
    target: FaultTarget,
    page_index: usize,
) -> Result<Option<FaultKind>, Response> {
    state.record_request();
    let fault = state.take_fault(target, page_index);
    if let Some(response) = fault.and_then(|fault| fault_response(state, fault)) {
        return Err(response);
    }
    if !is_authorized(state, headers) {
        return Err(json_response(StatusCode::UNAUTHORIZED, ERROR_401));
    }
    Ok(fault)
}

fn skiptoken_offset(query: &HashMap<String, String>) -> usize {
    query
        .get("$skiptoken")
        .and_then(|token| token.strip_prefix("RFNwdA"))
        .and_then(|offset| usize::from_str_radix(offset, 16).ok())
        .unwrap_or(0)
}

fn page_size(query: &HashMap<String, String>, default: usize) -> usize {
    query.get("$top").and_then(|top| top.parse::<usize>().ok()).map(|top| top.clamp(1, 999)).unwrap_or(default)
}

/// The nextLink: the same path and query with a new opaque `$skiptoken`.
fn next_link(state: &FakeGraphState, uri: &axum::http::Uri, offset: usize) -> String {
    let kept: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|part| !part.starts_with("$skiptoken=") && !part.is_empty())
        .collect();
    let mut query = kept.join("&");
    if !query.is_empty() {
        query.push('&');
    }
    format!("{}{}?{query}$skiptoken=RFNwdA{offset:x}", state.base_url, uri.path())
}

struct CollectionRequest<'a> {
    uri: &'a axum::http::Uri,
    query: &'a HashMap<String, String>,
    headers: &'a HeaderMap,
    target: FaultTarget,
    page_size: usize,
}

fn collection_page(state: &FakeGraphState, request: CollectionRequest, records: &FakeRecords) -> Response {
    let offset = skiptoken_offset(request.query);
    let page_index = offset / request.page_size;
    if page_index == 0 {
        state.record_first_url(request.uri);
    }
    let fault = match gate(state, request.headers, request.target, page_index) {
        Ok(fault) => fault,
        Err(response) => return response,
    };
    let context = format!("{}/v1.0/$metadata#collection", state.base_url);
    match fault {
        Some(FaultKind::MalformedJson) => {
            return json_response(
                StatusCode::OK,
                format!(r#"{{"@odata.context":"{context}","value":[{{"id":"broken","#),
            );
        }
        Some(FaultKind::EndlessBody) => return endless_body(),
        _ => {}
    }
    let values = records.page_json(offset, request.page_size);
    let next_offset = offset + request.page_size;
    let next = match fault {
        Some(FaultKind::NextLinkLoop) => Some(next_link(state, request.uri, offset)),
        Some(FaultKind::EndlessPaging) => Some(next_link(state, request.uri, next_offset)),
        _ if next_offset < records.len() => Some(next_link(state, request.uri, next_offset)),
        _ => None,
    };
    let next_field = next.map(|link| format!(r#","@odata.nextLink":{}"#, json!(link))).unwrap_or_default();
    json_response(StatusCode::OK, format!(r#"{{"@odata.context":"{context}","value":[{values}]{next_field}}}"#))
}

fn endless_body() -> Response {
    let opening = futures::stream::once(async { Ok::<Bytes, std::io::Error>(Bytes::from_static(b"{\"value\":[")) });
    let records =
        futures::stream::repeat_with(|| Ok::<Bytes, std::io::Error>(Bytes::from_static(b"{\"id\":\"again\"},")));
    json_response(StatusCode::OK, Body::from_stream(futures::StreamExt::chain(opening, records)))
}

async fn managed_devices(
    State(state): State<Arc<FakeGraphState>>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let request = CollectionRequest {
        uri: &uri,
        query: &query,
        headers: &headers,
        target: FaultTarget::ManagedDevices,
        page_size: state.device_page_size,
    };
    collection_page(&state, request, &state.data.managed_devices)
}

async fn users(
    State(state): State<Arc<FakeGraphState>>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let page_size = page_size(&query, 100);
    let request =
        CollectionRequest { uri: &uri, query: &query, headers: &headers, target: FaultTarget::Users, page_size };
    collection_page(&state, request, &state.data.users)
}

async fn group_members(
    State(state): State<Arc<FakeGraphState>>,
    Path(group): Path<String>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let page_size = page_size(&query, 100);
    let empty = FakeRecords::Recorded(Vec::new());
    let records = state.data.group_members.get(&group).unwrap_or(&empty);
    let request =
        CollectionRequest { uri: &uri, query: &query, headers: &headers, target: FaultTarget::GroupMembers, page_size };
    collection_page(&state, request, records)
}

async fn exchange_policy(State(state): State<Arc<FakeGraphState>>, headers: HeaderMap) -> Response {
    singleton(&state, &headers, state.data.exchange_policy.to_string())
}

async fn conditional_access_settings(State(state): State<Arc<FakeGraphState>>, headers: HeaderMap) -> Response {
    singleton(&state, &headers, state.data.conditional_access_settings.to_string())
}

fn singleton(state: &FakeGraphState, headers: &HeaderMap, body: String) -> Response {
    match gate(state, headers, FaultTarget::Policy, 0) {
        Err(response) => response,
        Ok(Some(FaultKind::MalformedJson)) => json_response(StatusCode::OK, "{\"enabled\": tru"),
        Ok(_) => json_response(StatusCode::OK, body),
    }
}
