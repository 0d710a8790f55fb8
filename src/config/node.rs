//! Strict reading of one element of the configuration tree: only the children and attributes the
//! format allows, no duplicates, typed values; every error names the element, line and column.

use std::ops::RangeInclusive;

use url::Url;

use crate::config::error::ConfigError;
use crate::config::secret::SecretSource;
use crate::config::xml_tree::{XmlAttribute, XmlElement};

/// Names that would hold a secret inline, and the `...File` form to use instead.
const INLINE_SECRET_NAMES: [(&str, &str); 6] = [
    ("ClientSecret", "ClientSecretFile"),
    ("ClientCertificate", "ClientCertificateFile"),
    ("Password", "PasswordFile"),
    ("Token", "TokenFile"),
    ("Secret", "a ...File element"),
    ("AccessToken", "a ...File element"),
];

#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    pub element: &'a XmlElement,
}

impl<'a> Node<'a> {
    pub fn new(element: &'a XmlElement) -> Node<'a> {
        Node { element }
    }

    pub fn name(&self) -> &'a str {
        &self.element.name
    }

    /// An error about this element, at its start tag.
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::at(self.element.position, &self.element.name, message)
    }

    /// An error about this element's value, at its text.
    pub fn value_error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::at(self.element.text_position, &self.element.name, message)
    }

    /// Refuses children and attributes other than the ones named; text only when `text_allowed`.
    pub fn check_shape(&self, children: &[&str], attributes: &[&str], text_allowed: bool) -> Result<(), ConfigError> {
        for child in &self.element.children {
            if !children.contains(&child.name.as_str()) {
                return Err(unknown_name(child.position, &self.element.name, &child.name, "element", children));
            }
        }
        for attribute in &self.element.attributes {
            if !attributes.contains(&attribute.name.as_str()) && !is_namespace_declaration(&attribute.name) {
                return Err(unknown_name(
                    attribute.position,
                    &self.element.name,
                    &attribute.name,
                    "attribute",
                    attributes,
                ));
            }
        }
        if !text_allowed && !self.element.text.is_empty() {
            return Err(ConfigError::at(self.element.text_position, &self.element.name, "text is not allowed here"));
        }
        Ok(())
    }

    /// The only child of that name, if any; a second one is an error.
    pub fn child(&self, name: &str) -> Result<Option<Node<'a>>, ConfigError> {
        let mut found = self.element.children.iter().filter(|child| child.name == name);
        let first = found.next();
        if let Some(second) = found.next() {
            return Err(ConfigError::at(second.position, name, format!("appears more than once in <{}>", self.name())));
        }
        Ok(first.map(Node::new))
    }

    pub fn required_child(&self, name: &str) -> Result<Node<'a>, ConfigError> {
        self.child(name)?.ok_or_else(|| self.error(format!("<{name}> is missing")))
    }

    pub fn children(&self, name: &'a str) -> impl Iterator<Item = Node<'a>> + 'a {
        self.element.children.iter().filter(move |child| child.name == name).map(Node::new)
    }

    pub fn attribute(&self, name: &str) -> Option<&'a XmlAttribute> {
        self.element.attributes.iter().find(|attribute| attribute.name == name)
    }

    pub fn attribute_error(&self, attribute: &XmlAttribute, message: impl Into<String>) -> ConfigError {
        ConfigError::at(
            attribute.position,
            &self.element.name,
            format!("attribute {}: {}", attribute.name, message.into()),
        )
    }

    /// The text of a leaf element (no children, no attributes); empty text is an error.
    pub fn leaf_text(&self) -> Result<&'a str, ConfigError> {
        self.check_shape(&[], &[], true)?;
        if self.element.text.is_empty() {
            return Err(self.error("a value is required"));
        }
        Ok(&self.element.text)
    }

    pub fn bool_value(&self) -> Result<bool, ConfigError> {
        parse_bool(self.leaf_text()?).ok_or_else(|| self.value_error("expected true or false"))
    }

    pub fn number_value<T>(&self, range: RangeInclusive<T>) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let text = self.leaf_text()?;
        let value: T = text.parse().map_err(|_| self.value_error(format!("{text:?} is not a whole number")))?;
        if !range.contains(&value) {
            return Err(self.value_error(format!("{value} is out of range {}..={}", range.start(), range.end())));
        }
        Ok(value)
    }

    pub fn url_value(&self) -> Result<Url, ConfigError> {
        parse_url(self.leaf_text()?).map_err(|message| self.value_error(message))
    }

    pub fn secret_value(&self) -> Result<SecretSource, ConfigError> {
        let text = self.leaf_text()?;
        SecretSource::parse(text)
            .map_err(|message| self.value_error(message))?
            .ok_or_else(|| self.value_error("a file path or env:NAME is required"))
    }

    /// One of `choices` (case-insensitive), returning the matching value.
    pub fn choice_value<T: Copy>(&self, choices: &[(&str, T)]) -> Result<T, ConfigError> {
        let text = self.leaf_text()?;
        choice(text, choices).ok_or_else(|| self.value_error(expected_one_of(text, choices)))
    }
}

pub fn choice<T: Copy>(text: &str, choices: &[(&str, T)]) -> Option<T> {
    choices.iter().find(|(name, _)| name.eq_ignore_ascii_case(text)).map(|(_, value)| *value)
}

pub fn expected_one_of<T>(text: &str, choices: &[(&str, T)]) -> String {
    let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
    format!("{text:?} is not one of {}", names.join(", "))
}

pub fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An absolute http(s) URL without credentials in it.
pub fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|error| format!("{text:?} is not a URL: {error}"))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(format!("{text:?} is not an http(s) URL"));
    }
    if url.host_str().is_none() {
        return Err(format!("{text:?} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials are not allowed inside a URL; use the User and PasswordFile settings".to_string());
    }
    Ok(url)
}

fn is_namespace_declaration(name: &str) -> bool {
    name == "xmlns" || name.starts_with("xmlns:")
}

fn unknown_name(
    position: crate::config::xml_tree::Position,
    parent: &str,
    name: &str,
    kind: &str,
    allowed: &[&str],
) -> ConfigError {
    if let Some((_, file_form)) = INLINE_SECRET_NAMES.iter().find(|(inline, _)| *inline == name) {
        return ConfigError::at(
            position,
            parent,
            format!("{kind} {name}: secrets are never written inline; use {file_form} with a file path or env:NAME"),
        );
    }
    let known = if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") };
    ConfigError::at(position, parent, format!("unknown {kind} {name} (known: {known})"))
}
