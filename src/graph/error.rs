//! Errors from building the Graph adapter (reads fail with `crate::tenant::TenantError`).

use crate::config::model::ProxyConfig;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphBuildError {
    /// The configuration's tenant is not Graph. **Handling:** build the simulated tenant instead.
    #[error("the configuration's <Tenant> is not Source=\"Graph\"")]
    NotGraph,
    /// The client secret or certificate cannot be read or used. **Handling:** exit 2 / report in `check`.
    #[error("Graph credential: {detail}")]
    Credential { detail: String },
    /// The local policy cannot be read (its notification file). **Handling:** exit 2 naming the file.
    #[error("local policy: {detail}")]
    Policy { detail: String },
    /// The HTTP client cannot be built (a bad proxy). **Handling:** exit 2.
    #[error("HTTP client: {detail}")]
    Http { detail: String },
}

/// A reqwest proxy from the configuration (the password read from its source now).
pub fn build_proxy(proxy: &ProxyConfig) -> Result<reqwest::Proxy, GraphBuildError> {
    let mut built =
        reqwest::Proxy::all(proxy.url.as_str()).map_err(|error| GraphBuildError::Http { detail: error.to_string() })?;
    if let Some(user) = &proxy.user {
        let password = match &proxy.password {
            Some(source) => source.read().map_err(|error| GraphBuildError::Credential { detail: error.to_string() })?,
            None => crate::config::Secret::new(""),
        };
        built = built.basic_auth(user, password.expose());
    }
    Ok(built)
}
