//! Errors from Exchange, typed by how the caller must handle them.

/// A PowerShell ErrorRecord, reduced to what easgate shows and decides on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorRecord {
    pub message: String,
    /// `FullyQualifiedErrorId`, e.g. `[Server=CAS1,...] ...,Microsoft.Exchange....`.
    pub fully_qualified_error_id: String,
    /// `ErrorCategory_Reason` or the category name, e.g. `ManagementObjectNotFoundException`.
    pub category: String,
    pub target: Option<String>,
}

/// Why an Exchange call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// The server does not answer (connection refused, DNS, TLS handshake).
    /// **Handling:** fail over to another Client Access Server.
    #[error("Exchange server {server} is unreachable: {detail}")]
    Unreachable { server: String, detail: String },
    /// The concurrent-shell quota or a cmdlet budget was exceeded.
    /// **Handling:** back off (at least `retry_after_ms` when given) and retry.
    #[error("Exchange throttled the request: {detail}")]
    Throttled { detail: String, retry_after_ms: Option<u64> },
    /// No answer in time. A state-changing cmdlet may or may not have run.
    /// **Handling:** read back, then retry.
    #[error("Exchange did not answer in time: {detail}")]
    Timeout { detail: String },
    /// The shell is gone (idle timeout, app-pool recycle; WSManFault 2150858843).
    /// **Handling:** reopen the runspace and retry.
    #[error("the Exchange shell is gone: {detail}")]
    ShellGone { detail: String },
    /// HTTP 401/403 or a refused credential. **Handling:** stop; the connector is disconnected.
    #[error("Exchange refused the credentials: {detail}")]
    Unauthorized { detail: String },
    /// The HTTP proxy in front of Exchange (`<Connector><Proxy>`) refused its credentials (407).
    /// **Handling:** stop, like `Unauthorized`; the connector is disconnected.
    #[error("{detail}")]
    ProxyRefused { detail: String },
    /// The cmdlet failed (a terminating error). **Handling:** record `CmdletFailed`, not retryable.
    #[error("{cmdlet} failed: {}", error.message)]
    CmdletFailed { cmdlet: String, error: ErrorRecord },
    /// An HTTP 5xx or a fault easgate does not know. **Handling:** retry with backoff.
    #[error("Exchange server error: {detail}")]
    Server { detail: String },
    /// A reply easgate cannot decode. **Handling:** fail the runspace; retry on a new one.
    #[error("malformed reply from Exchange: {detail}")]
    Protocol { detail: String },
}

impl ExchangeError {
    /// Whether retrying the same call later can succeed.
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            ExchangeError::Unauthorized { .. }
                | ExchangeError::ProxyRefused { .. }
                | ExchangeError::CmdletFailed { .. }
        )
    }

    /// Whether the call may have changed Exchange although it reports failure.
    pub fn is_in_doubt(&self) -> bool {
        matches!(self, ExchangeError::Timeout { .. } | ExchangeError::Protocol { .. } | ExchangeError::ShellGone { .. })
    }

    /// Whether the server itself is unavailable, so another CAS should be tried.
    pub fn calls_for_failover(&self) -> bool {
        matches!(self, ExchangeError::Unreachable { .. })
    }
}
