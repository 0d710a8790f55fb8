//! The Exchange adapter boundary: a connector opens runspaces on a Client Access Server, a
//! runspace runs one cmdlet at a time. The real implementation speaks WS-Management + PSRP
//! (`crate::wsman`, `crate::psrp`); the simulated organisation (`crate::sim::exchange`) is its
//! twin. Both take cmdlets as data (`CmdletCall`) and return PowerShell values, so everything
//! above this boundary runs unchanged against either.

pub mod cmdlets;
pub mod error;
pub mod psrp_connector;
pub mod psrp_server;

use async_trait::async_trait;

pub use crate::domain::cmdlet_call::{CmdletCall, ListEdit, ParamValue, Parameters};
pub use error::{ErrorRecord, ExchangeError};

use crate::clixml::value::PsValue;

/// What one cmdlet invocation returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CmdletOutput {
    /// PIPELINE_OUTPUT objects, in order.
    pub objects: Vec<PsValue>,
    /// Non-terminating errors (ERROR_RECORD) the pipeline reported while it went on.
    pub errors: Vec<ErrorRecord>,
    /// WARNING_RECORD messages.
    pub warnings: Vec<String>,
}

/// Opens runspaces. One per Exchange organisation.
#[async_trait]
pub trait ExchangeConnector: Send + Sync {
    /// Opens one runspace (one shell) on `server`, a Client Access Server's name as
    /// Get-ExchangeServer reports it, or the configured primary. Callers run
    /// `Set-ADServerSettings -ViewEntireForest $true` in it before anything else.
    async fn open(&self, server: &str) -> Result<Box<dyn ExchangeSession>, ExchangeError>;

    /// The server to use first.
    fn primary_server(&self) -> String;
}

/// One runspace. Not shared: a pool hands each to one task at a time.
#[async_trait]
pub trait ExchangeSession: Send {
    /// Runs one cmdlet with its parameters as a command (never as script text).
    async fn invoke(&mut self, call: &CmdletCall) -> Result<CmdletOutput, ExchangeError>;

    /// Closes the runspace and releases the shell on the server. Always called.
    async fn close(self: Box<Self>) -> Result<(), ExchangeError>;

    /// The server this runspace is open on.
    fn server(&self) -> &str;

    /// The PSRP protocol version the server negotiated (`2.3`), when the transport has one.
    fn protocol_version(&self) -> Option<String> {
        None
    }
}
