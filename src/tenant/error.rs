//! Errors from the tenant, typed by how the caller must handle them.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    /// 401/403, an invalid or expired secret. **Handling:** disconnected; no decisions.
    #[error("the tenant refused the credentials: {detail}")]
    Unauthorized { detail: String },
    /// 429 or a request budget exhausted. **Handling:** back off, retry; abort the sync if it persists.
    #[error("the tenant throttled the read: {detail}")]
    Throttled { detail: String, retry_after_ms: Option<u64> },
    /// No answer in time. **Handling:** retry with backoff.
    #[error("the tenant did not answer in time: {detail}")]
    Timeout { detail: String },
    /// A 5xx or a network failure. **Handling:** retry with backoff.
    #[error("tenant read failed: {detail}")]
    Unavailable { detail: String },
    /// A reply easgate cannot use (malformed JSON, a page that never ends, a nextLink loop).
    /// **Handling:** abort the sync's decisions; disconnected.
    #[error("malformed reply from the tenant: {detail}")]
    Malformed { detail: String },
}

impl TenantError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, TenantError::Throttled { .. } | TenantError::Timeout { .. } | TenantError::Unavailable { .. })
    }
}
