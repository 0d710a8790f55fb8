//! Errors of the daemon and of the commands that share its machinery (`sync`, `check`), typed by
//! how the command line must handle them.

use crate::cli::CliError;

/// Why the daemon (or one sync) could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configuration cannot be used as written (an unsupported setting, an unreadable
    /// secret, a data directory another process holds). **Handling:** exit 2 with this line.
    #[error("{0}")]
    Config(String),
    /// The log refused a write, or the engine stopped. **Handling:** exit 1; the data directory
    /// is left as the last flush made it (`easgate verify` tells whether it is sound).
    #[error("{0}")]
    Runtime(String),
}

impl DaemonError {
    pub fn into_cli_error(self) -> CliError {
        match self {
            DaemonError::Config(message) => CliError::Input(message),
            DaemonError::Runtime(message) => CliError::Failed(message),
        }
    }
}

impl From<crate::adapters::AdapterError> for DaemonError {
    fn from(error: crate::adapters::AdapterError) -> DaemonError {
        DaemonError::Config(error.to_string())
    }
}

impl From<crate::store::StoreError> for DaemonError {
    fn from(error: crate::store::StoreError) -> DaemonError {
        use crate::store::StoreError;
        match error {
            StoreError::InUse { .. } => DaemonError::Config(format!(
                "{error} (is `easgate run` running on it? use its admin API, or stop it first)"
            )),
            StoreError::NewerFormat { .. } | StoreError::BadDataDirectory { .. } => {
                DaemonError::Config(error.to_string())
            }
            other => DaemonError::Runtime(other.to_string()),
        }
    }
}

impl From<crate::sync::journal::LogError> for DaemonError {
    fn from(error: crate::sync::journal::LogError) -> DaemonError {
        DaemonError::Runtime(format!("the event log failed: {error}"))
    }
}

impl From<crate::sync::engine::EngineError> for DaemonError {
    fn from(error: crate::sync::engine::EngineError) -> DaemonError {
        DaemonError::Runtime(error.to_string())
    }
}
