//! The Microsoft Graph tenant adapter: `GraphTenant` implements `crate::tenant::Tenant` with
//! exactly the calls of DESIGN section 8, and `connector` models Graph's connector resource.
//!
//! Code map: `settings` (endpoints, credentials, limits), `assertion` (certificate JWT),
//! `token` (client-credentials token cache), `budget` (request budget, backoff), `http` (one
//! GET with retries), `paging` (nextLink paging with limits), `model` (Graph JSON -> tenant
//! types), `tenant` (the read), `connector` (the connector resource and its status rules).
//!
//! Invariants: a read is all or nothing (any failure is a `TenantError`, never a partial
//! snapshot); server-side filters are never used (everything is filtered here); the bearer
//! token and the client secret never reach a log line.

pub mod assertion;
pub mod budget;
pub mod connector;
pub mod error;
pub mod http;
pub mod model;
pub mod paging;
pub mod settings;
pub mod tenant;
pub mod token;

pub use connector::{ConnectorObservation, ConnectorStatus, ExchangeConnector, apply_observation, next_status};
pub use error::GraphBuildError;
pub use settings::{GraphLimits, GraphSettings, PolicyOrigin};
pub use tenant::{GraphRequestStats, GraphTenant, ReadStats};
