//! WS-Management over HTTP(S) for PowerShell remoting: envelopes (built as text, parsed as a
//! stream), faults, the HTTP client transport and the HTTP server.

pub mod connection;
pub mod encryption;
pub mod error;
pub mod fault;
pub mod kerberos;
pub mod keytab;
pub mod names;
pub mod ntlm;
pub mod parse;
pub mod pinned_tls;
pub mod proxy;
pub mod proxy_tunnel;
pub mod request;
pub mod response;
pub mod server;
pub mod shell;
pub mod tls;
pub mod transport;

pub use error::WsmanError;
pub use fault::WsmanFault;
