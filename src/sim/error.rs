//! Errors of the scenario-facing methods of the simulated twins (a scenario step that names
//! something the simulation does not have).

/// A scenario step the simulation cannot perform.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// **Handling:** the scenario is wrong: report the step's line, exit 2.
    #[error("field `upn`: no mailbox or user {user:?} in the simulation")]
    UnknownUser { user: String },
    /// **Handling:** the scenario is wrong: report the step's line, exit 2.
    #[error("field `upn`: a mailbox or user {user:?} already exists in the simulation")]
    DuplicateUser { user: String },
    /// **Handling:** the scenario is wrong: report the step's line, exit 2.
    #[error("field `device_id`: no device {device_id:?} in the simulation")]
    UnknownDevice { device_id: String },
    /// **Handling:** the scenario is wrong: report the step's line, exit 2.
    #[error("field `server`: no Client Access Server {server:?} in the simulated organisation")]
    UnknownServer { server: String },
    /// **Handling:** the scenario is wrong: report the step's line, exit 2.
    #[error("invalid scenario input: {detail}")]
    InvalidInput { detail: String },
}
