//! Errors of the WS-Management transport, and how each becomes an `ExchangeError`.

use crate::exchange::ExchangeError;
use crate::wsman::fault::WsmanFault;

/// Why a WS-Management exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WsmanError {
    /// The envelope is not well-formed XML, lacks what it must hold, or carries bad base64.
    /// **Handling:** a protocol error; fail the runspace, retry on a new one.
    #[error("malformed WS-Management envelope: {detail}")]
    Malformed { detail: String },
    /// The server answered with a SOAP fault. **Handling:** see [`WsmanFault::to_exchange_error`].
    #[error("WS-Management fault: {}", .0.text())]
    Fault(WsmanFault),
    /// HTTP 401/403. **Handling:** stop; the credentials are wrong or not allowed.
    #[error("HTTP {status}: the server refused the credentials")]
    Unauthorized { status: u16 },
    /// The authentication handshake failed on the client side or was answered oddly.
    /// **Handling:** stop; the credentials or the server's authentication setup are wrong.
    #[error("authentication failed: {detail}")]
    Authentication { detail: String },
    /// The HTTP proxy answered 407: it wants credentials, or other ones than configured.
    /// **Handling:** stop; fix the `<Proxy>` user or password. `proxy` holds no credentials.
    #[error("the proxy {proxy} refused the proxy credentials (HTTP 407 Proxy Authentication Required)")]
    ProxyRefused { proxy: String },
    /// Any other non-success HTTP status without a SOAP fault. **Handling:** retry with backoff.
    #[error("HTTP {status}: {excerpt}")]
    Http { status: u16, excerpt: String },
    /// No connection (refused, DNS, TLS handshake). **Handling:** fail over to another server.
    #[error("cannot connect: {detail}")]
    Connect { detail: String },
    /// No answer in time. **Handling:** the call may or may not have run; read back, retry.
    #[error("no answer in time: {detail}")]
    Timeout { detail: String },
    /// The response body exceeds the cap. **Handling:** a protocol error.
    #[error("response body larger than {limit_bytes} bytes")]
    BodyTooLarge { limit_bytes: usize },
    /// A well-formed answer that is not the one the request calls for.
    /// **Handling:** a protocol error.
    #[error("expected {expected}, got {got}")]
    UnexpectedResponse { expected: &'static str, got: String },
}

impl WsmanError {
    /// The ExchangeError this failure stands for, naming `server`.
    pub fn to_exchange_error(&self, server: &str) -> ExchangeError {
        match self {
            WsmanError::Fault(fault) => fault.to_exchange_error(),
            WsmanError::ProxyRefused { .. } => ExchangeError::ProxyRefused { detail: format!("{server}: {self}") },
            WsmanError::Unauthorized { .. } | WsmanError::Authentication { .. } => {
                ExchangeError::Unauthorized { detail: format!("{server}: {self}") }
            }
            WsmanError::Http { status, .. } if *status >= 500 => {
                ExchangeError::Server { detail: format!("{server}: {self}") }
            }
            WsmanError::Http { .. } => ExchangeError::Protocol { detail: format!("{server}: {self}") },
            WsmanError::Connect { detail } => {
                ExchangeError::Unreachable { server: server.to_string(), detail: detail.clone() }
            }
            WsmanError::Timeout { .. } => ExchangeError::Timeout { detail: format!("{server}: {self}") },
            WsmanError::Malformed { .. } | WsmanError::BodyTooLarge { .. } | WsmanError::UnexpectedResponse { .. } => {
                ExchangeError::Protocol { detail: format!("{server}: {self}") }
            }
        }
    }
}
