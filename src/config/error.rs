//! Errors from reading the configuration file and the secrets it points to.

use crate::config::xml_tree::Position;

/// Why the configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file itself cannot be read. **Handling:** exit 2 naming the file.
    #[error("{path}: cannot read the configuration: {detail}")]
    Unreadable { path: String, detail: String },
    /// Bad XML, an unknown element or attribute, a missing or bad value. **Handling:** exit 2
    /// with this one line; the admin fixes the file at that line and column.
    #[error("{}line {}, column {}: {}{message}", file_prefix(file), position.line, position.column, element_prefix(element))]
    Invalid { file: Option<String>, position: Position, element: String, message: String },
}

fn file_prefix(file: &Option<String>) -> String {
    file.as_ref().map(|file| format!("{file}: ")).unwrap_or_default()
}

fn element_prefix(element: &str) -> String {
    if element.is_empty() { String::new() } else { format!("<{element}>: ") }
}

impl ConfigError {
    pub fn at(position: Position, element: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid { file: None, position, element: element.to_string(), message: message.into() }
    }

    /// The same error, naming the file it came from.
    pub fn in_file(self, path: &str) -> ConfigError {
        match self {
            ConfigError::Invalid { position, element, message, .. } => {
                ConfigError::Invalid { file: Some(path.to_string()), position, element, message }
            }
            other => other,
        }
    }

    /// Where the error is, when it is inside the file.
    pub fn position(&self) -> Option<Position> {
        match self {
            ConfigError::Invalid { position, .. } => Some(*position),
            ConfigError::Unreadable { .. } => None,
        }
    }
}

/// Why a secret (a password, a client secret, a certificate) cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The file is missing, unreadable, empty or too large, or the variable is unset.
    /// **Handling:** report in `easgate check`; the adapter that needs it cannot connect.
    #[error("secret {source_name}: {detail}")]
    Unavailable { source_name: String, detail: String },
}
