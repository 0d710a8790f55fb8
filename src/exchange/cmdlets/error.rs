//! Errors of the typed cmdlet layer: a call that does not bind (PowerShell's
//! ParameterBindingException, as a server reports it) and an output object easgate cannot read.

use crate::exchange::ErrorRecord;

/// Why a `CmdletCall` could not become a typed cmdlet, or an object a typed result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmdletError {
    /// The cmdlet has no such parameter.
    /// **Handling:** a bug in the caller (or a server older than the cmdlet): report, never retry.
    #[error("{cmdlet}: A parameter cannot be found that matches parameter name '{parameter}'.")]
    UnknownParameter { cmdlet: String, parameter: String },
    /// The same parameter was bound twice.
    /// **Handling:** a bug in the caller: report, never retry.
    #[error("{cmdlet}: Cannot bind parameter because parameter '{parameter}' is specified more than once.")]
    DuplicateParameter { cmdlet: String, parameter: String },
    /// The value cannot be converted to the parameter's type.
    /// **Handling:** a bug in the caller or bad input: report naming the parameter, never retry.
    #[error(
        "{cmdlet}: Cannot process argument transformation on parameter '{parameter}'. Cannot convert value \"{value}\" to type \"{expected}\"."
    )]
    WrongType { cmdlet: String, parameter: String, value: String, expected: String },
    /// A mandatory parameter is missing.
    /// **Handling:** a bug in the caller: report, never retry.
    #[error("{cmdlet}: Cannot process command because of one or more missing mandatory parameters: {parameter}.")]
    MissingParameter { cmdlet: String, parameter: String },
    /// Parameters of different parameter sets were combined (e.g. -Identity with -Mailbox).
    /// **Handling:** a bug in the caller: report, never retry.
    #[error("{cmdlet}: Parameter set cannot be resolved using the specified named parameters: {detail}.")]
    AmbiguousParameterSet { cmdlet: String, detail: String },
    /// No cmdlet of that name exists (or this account may not run it).
    /// **Handling:** the account lacks a role or Exchange is too old: report in `check`, never retry.
    #[error(
        "The term '{cmdlet}' is not recognized as the name of a cmdlet, function, script file, or operable program."
    )]
    UnknownCmdlet { cmdlet: String },
    /// An object Exchange returned lacks what easgate needs, or holds a value it cannot read.
    /// **Handling:** treat the reply as malformed (`ExchangeError::Protocol`): fail the runspace, retry.
    #[error("cannot read {type_name} returned by Exchange: property {property}: {detail}")]
    BadObject { type_name: String, property: String, detail: String },
}

impl CmdletError {
    /// The ErrorRecord a PowerShell server returns for this binding failure, so that the
    /// simulated organisation (and a PSRP server on it) fails the way Exchange does.
    pub fn to_error_record(&self) -> ErrorRecord {
        let (error_id, category, cmdlet) = match self {
            CmdletError::UnknownParameter { cmdlet, .. } => {
                ("NamedParameterNotFound", "ParameterBindingException", cmdlet.as_str())
            }
            CmdletError::DuplicateParameter { cmdlet, .. } => {
                ("ParameterAlreadyBound", "ParameterBindingException", cmdlet.as_str())
            }
            CmdletError::WrongType { cmdlet, .. } => (
                "ParameterArgumentTransformationError",
                "ParameterBindingArgumentTransformationException",
                cmdlet.as_str(),
            ),
            CmdletError::MissingParameter { cmdlet, .. } => {
                ("MissingMandatoryParameter", "ParameterBindingException", cmdlet.as_str())
            }
            CmdletError::AmbiguousParameterSet { cmdlet, .. } => {
                ("AmbiguousParameterSet", "ParameterBindingException", cmdlet.as_str())
            }
            CmdletError::UnknownCmdlet { cmdlet } => {
                ("CommandNotFoundException", "CommandNotFoundException", cmdlet.as_str())
            }
            CmdletError::BadObject { type_name, .. } => {
                ("DeserializationFailed", "InvalidDataException", type_name.as_str())
            }
        };
        ErrorRecord {
            message: self.message_without_cmdlet(),
            fully_qualified_error_id: format!("{error_id},{cmdlet}"),
            category: category.to_string(),
            target: None,
        }
    }

    /// PowerShell's message, without the `<cmdlet>: ` prefix easgate adds for its own logs.
    fn message_without_cmdlet(&self) -> String {
        let message = self.to_string();
        match self {
            CmdletError::UnknownCmdlet { .. } | CmdletError::BadObject { .. } => message,
            CmdletError::UnknownParameter { cmdlet, .. }
            | CmdletError::DuplicateParameter { cmdlet, .. }
            | CmdletError::WrongType { cmdlet, .. }
            | CmdletError::MissingParameter { cmdlet, .. }
            | CmdletError::AmbiguousParameterSet { cmdlet, .. } => {
                message.strip_prefix(&format!("{cmdlet}: ")).map(str::to_string).unwrap_or(message)
            }
        }
    }
}
