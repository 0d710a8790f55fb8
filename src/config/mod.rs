//! The configuration file (DESIGN section 8): one XML file read with quick-xml into typed
//! structs, strictly (unknown elements and attributes, bad values and inline secrets are errors
//! naming the line and column), plus `validate` for `easgate check`.
//!
//! Code map: `xml_tree` (quick-xml -> a tree with positions), `node` (strict element reading),
//! `parse` (the file's elements), `parse_policy` (`<Policy>`), `model` (the types), `secret`
//! (secret sources and the `Secret` value), `validate` (problems for `easgate check`).
//! fixtures/config/easgate.example.xml is the annotated reference of the format.

pub mod error;
pub mod model;
pub mod node;
pub mod parse;
pub mod parse_policy;
pub mod secret;
pub mod validate;
pub mod xml_tree;

pub use error::{ConfigError, SecretError};
pub use model::*;
pub use parse::{load_config, parse_config};
pub use secret::{Secret, SecretSource};
pub use validate::{Problem, Severity, validate};
