//! Where secrets come from (a file, or `env:NAME`) and the `Secret` value that never prints.
//!
//! The configuration names a source, never the secret itself; sources are read when the secret
//! is needed (each token request, each mail), so a rotated file is picked up without a restart.

use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::config::error::SecretError;

/// The largest secret file easgate reads (a PEM with a certificate chain fits easily).
pub const MAX_SECRET_BYTES: u64 = 256 * 1024;

/// Where a secret is kept.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    File(PathBuf),
    /// An environment variable (`env:NAME` in the file).
    Env(String),
}

impl SecretSource {
    /// Parses a `...File` value: `env:NAME` or a path. `None` when empty.
    pub fn parse(text: &str) -> Result<Option<SecretSource>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        match text.strip_prefix("env:") {
            Some(name) if is_variable_name(name) => Ok(Some(SecretSource::Env(name.to_string()))),
            Some(name) => Err(format!("{name:?} is not an environment variable name (letters, digits, _)")),
            None => Ok(Some(SecretSource::File(PathBuf::from(text)))),
        }
    }

    /// A name for messages: the path or `env:NAME`, never the secret.
    pub fn describe(&self) -> String {
        match self {
            SecretSource::File(path) => path.display().to_string(),
            SecretSource::Env(name) => format!("env:{name}"),
        }
    }

    /// Reads the secret as text, without its trailing line break.
    pub fn read(&self) -> Result<Secret, SecretError> {
        let bytes = self.read_bytes()?;
        let text = std::str::from_utf8(&bytes).map_err(|_| self.unavailable("is not UTF-8 text"))?;
        let trimmed = text.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            return Err(self.unavailable("is empty"));
        }
        Ok(Secret(Zeroizing::new(trimmed.to_string())))
    }

    /// Reads the secret as bytes (a PEM file).
    pub fn read_bytes(&self) -> Result<Zeroizing<Vec<u8>>, SecretError> {
        let bytes = match self {
            SecretSource::File(path) => read_limited(path).map_err(|detail| self.unavailable(&detail))?,
            SecretSource::Env(name) => match std::env::var_os(name) {
                Some(value) => Zeroizing::new(value.into_encoded_bytes()),
                None => return Err(self.unavailable("is not set")),
            },
        };
        if bytes.is_empty() {
            return Err(self.unavailable("is empty"));
        }
        Ok(bytes)
    }

    fn unavailable(&self, detail: &str) -> SecretError {
        SecretError::Unavailable { source_name: self.describe(), detail: detail.to_string() }
    }
}

fn read_limited(path: &Path) -> Result<Zeroizing<Vec<u8>>, String> {
    let metadata = std::fs::metadata(path).map_err(|error| error.to_string())?;
    if !metadata.is_file() {
        return Err("is not a file".to_string());
    }
    if metadata.len() > MAX_SECRET_BYTES {
        return Err(format!("is larger than {MAX_SECRET_BYTES} bytes"));
    }
    std::fs::read(path).map(Zeroizing::new).map_err(|error| error.to_string())
}

fn is_variable_name(name: &str) -> bool {
    let mut characters = name.chars();
    matches!(characters.next(), Some(first) if first.is_ascii_alphabetic() || first == '_')
        && characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "SecretSource({})", self.describe())
    }
}

/// A secret value. Its `Debug` prints `Secret(***)`; it is wiped from memory when dropped.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(text.into()))
    }
    /// The secret itself: only for the wire, never for a log line.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_and_file_sources_parse_and_read() {
        assert_eq!(SecretSource::parse("env:EASGATE_X").unwrap(), Some(SecretSource::Env("EASGATE_X".into())));
        assert!(SecretSource::parse("env:1bad").is_err());
        assert_eq!(SecretSource::parse("  ").unwrap(), None);
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("s");
        std::fs::write(&path, "hunter2\n").unwrap();
        let secret = SecretSource::File(path).read().unwrap();
        assert_eq!(secret.expose(), "hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
    }

    #[test]
    fn missing_and_empty_secrets_are_errors_naming_the_source() {
        let error = SecretSource::Env("EASGATE_SURELY_UNSET_VARIABLE".into()).read().unwrap_err().to_string();
        assert!(error.contains("env:EASGATE_SURELY_UNSET_VARIABLE") && error.contains("not set"), "{error}");
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("empty");
        std::fs::write(&path, "\n").unwrap();
        let error = SecretSource::File(path).read().unwrap_err().to_string();
        assert!(error.contains("empty"), "{error}");
    }
}
