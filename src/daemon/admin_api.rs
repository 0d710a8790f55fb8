//! The admin HTTP API (`<AdminApi Listen=.. TokenFile=..>`), in Graph's shapes where Graph has
//! them: `GET /deviceManagement/exchangeConnectors` and `/{id}`, `POST
//! /deviceManagement/exchangeConnectors/{id}/sync` with `{"syncType":"fullSync"|"deltaSync"}`
//! (204, the sync runs), and `GET /status[?organization=NAME]` (the JSON of `easgate status`).
//!
//! Every request carries `Authorization: Bearer <token>`, compared in constant time with the
//! token file, which is read for each request so a rotated token needs no restart. Reads come
//! from the views the workers publish; a sync request goes to the main loop.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::SecretSource;
use crate::daemon::published::PublishedStatus;
use crate::domain::vocabulary::SyncKind;
use crate::graph::connector::ConnectorSyncRequest;

/// How long a handler waits for the main loop to take a sync request.
const SYNC_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A request the main loop answers.
#[derive(Debug)]
pub enum AdminRequest {
    Sync { connector_id: String, kind: SyncKind, reply: oneshot::Sender<Result<(), SyncRefusal>> },
}

/// Why a sync request was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncRefusal {
    UnknownConnector,
    ShuttingDown,
}

#[derive(Clone)]
pub struct AdminState {
    pub token: SecretSource,
    pub organizations: Vec<watch::Receiver<PublishedStatus>>,
    pub requests: mpsc::Sender<AdminRequest>,
}

/// The API's routes, behind the bearer check.
pub fn admin_router(state: AdminState) -> Router {
    Router::new()
        .route("/deviceManagement/exchangeConnectors", get(list_connectors))
        .route("/deviceManagement/exchangeConnectors/{id}", get(get_connector))
        .route("/deviceManagement/exchangeConnectors/{id}/sync", post(sync_connector))
        .route("/status", get(status))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), require_bearer))
        .layer(tower::limit::ConcurrencyLimitLayer::new(REQUESTS_IN_FLIGHT_MAX))
        .with_state(state)
}

/// Requests the API handles at once; more wait.
const REQUESTS_IN_FLIGHT_MAX: usize = 64;
/// How long a stopping server waits for requests in flight.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The running API.
pub struct AdminServer {
    pub local_addr: std::net::SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl AdminServer {
    /// Binds `listen` (port 0: any free port, see `local_addr`) and serves the API.
    pub async fn start(listen: std::net::SocketAddr, state: AdminState) -> std::io::Result<AdminServer> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let local_addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            if let Err(error) = axum::serve(listener, admin_router(state)).with_graceful_shutdown(shutdown).await {
                tracing::error!(%error, "the admin API stopped");
            }
        });
        Ok(AdminServer { local_addr, stop, task })
    }

    /// Stops accepting, lets requests in flight finish (briefly), and returns.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(STOP_GRACE, self.task).await;
    }
}

/// Graph's error body.
fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

async fn not_found() -> Response {
    graph_error(StatusCode::NOT_FOUND, "ResourceNotFound", "no such resource")
}

/// Whether `presented` is the token: both hashed, and blake3's hash equality is constant-time,
/// so neither the token's bytes nor its length leak through timing.
pub fn token_matches(presented: &str, expected: &str) -> bool {
    blake3::hash(presented.as_bytes()) == blake3::hash(expected.as_bytes())
}

async fn require_bearer(State(state): State<AdminState>, request: Request, next: Next) -> Response {
    let expected = match state.token.read() {
        Ok(token) => token,
        Err(error) => {
            tracing::error!(%error, "the admin API token cannot be read; refusing every request");
            return graph_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "the admin token cannot be read",
            );
        }
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or("");
    if presented.is_empty() || !token_matches(presented.trim(), expected.expose()) {
        let mut response =
            graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "a valid bearer token is required");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        return response;
    }
    next.run(request).await
}

fn published(state: &AdminState) -> Vec<PublishedStatus> {
    state.organizations.iter().map(|receiver| receiver.borrow().clone()).collect()
}

async fn list_connectors(State(state): State<AdminState>) -> Response {
    let connectors: Vec<Value> = published(&state).iter().flat_map(PublishedStatus::graph_connectors).collect();
    axum::Json(json!({
        "@odata.context": "$metadata#deviceManagement/exchangeConnectors",
        "value": connectors,
    }))
    .into_response()
}

async fn get_connector(State(state): State<AdminState>, Path(id): Path<String>) -> Response {
    let found = published(&state)
        .iter()
        .flat_map(PublishedStatus::graph_connectors)
        .find(|connector| connector["id"].as_str().is_some_and(|known| known.eq_ignore_ascii_case(&id)));
    match found {
        Some(connector) => axum::Json(connector).into_response(),
        None => graph_error(StatusCode::NOT_FOUND, "ResourceNotFound", &format!("no exchange connector {id}")),
    }
}

async fn sync_connector(State(state): State<AdminState>, Path(id): Path<String>, body: Bytes) -> Response {
    let request: ConnectorSyncRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            let message = format!("the body must be {{\"syncType\":\"fullSync\"|\"deltaSync\"}}: {error}");
            return graph_error(StatusCode::BAD_REQUEST, "BadRequest", &message);
        }
    };
    let (reply, answer) = oneshot::channel();
    let sync = AdminRequest::Sync { connector_id: id.clone(), kind: request.sync_type.into(), reply };
    if state.requests.try_send(sync).is_err() {
        return graph_error(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "too many requests queued; retry");
    }
    match tokio::time::timeout(SYNC_REQUEST_TIMEOUT, answer).await {
        Ok(Ok(Ok(()))) => StatusCode::NO_CONTENT.into_response(),
        Ok(Ok(Err(SyncRefusal::UnknownConnector))) => {
            graph_error(StatusCode::NOT_FOUND, "ResourceNotFound", &format!("no exchange connector {id}"))
        }
        Ok(Ok(Err(SyncRefusal::ShuttingDown))) | Ok(Err(_)) => {
            graph_error(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "easgate is shutting down")
        }
        Err(_) => graph_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "the daemon did not take the request in time",
        ),
    }
}

/// The organisation's status; with several organisations and none named, all of them by name.
async fn status(State(state): State<AdminState>, Query(query): Query<HashMap<String, String>>) -> Response {
    let all = published(&state);
    if let Some(name) = query.get("organization") {
        return match all.iter().find(|organization| organization.organization.eq_ignore_ascii_case(name)) {
            Some(organization) => axum::Json(organization.status.clone()).into_response(),
            None => graph_error(StatusCode::NOT_FOUND, "ResourceNotFound", &format!("no organization {name}")),
        };
    }
    match all.as_slice() {
        [single] => axum::Json(single.status.clone()).into_response(),
        several => {
            let by_name: serde_json::Map<String, Value> = several
                .iter()
                .map(|organization| (organization.organization.clone(), organization.status.clone()))
                .collect();
            axum::Json(json!({"organizations": by_name})).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_exactly() {
        assert!(token_matches("s3cret-token", "s3cret-token"));
        assert!(!token_matches("s3cret-toke", "s3cret-token"));
        assert!(!token_matches("", "s3cret-token"));
        assert!(!token_matches("S3cret-token", "s3cret-token"));
    }
}
