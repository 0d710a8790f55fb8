//! A cmdlet as data: its name and its parameters, typed as PowerShell binds them. This is what
//! the planner produces, what `CmdletRequested` records, and what the Exchange adapters send as a
//! command (never as script text).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One parameter value. JSON: string, bool, integer, list of strings, or
/// `{"Add": [..], "Remove": [..]}`. A switch (`-Confirm:$false`) is a `Bool`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Text(String),
    List(Vec<String>),
    /// The incremental multi-value form `@{Add=...; Remove=...}` (a Hashtable over the wire).
    Edit(ListEdit),
}

/// Incremental edit of a multi-valued property.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListEdit {
    #[serde(rename = "Add", default)]
    pub add: Vec<String>,
    #[serde(rename = "Remove", default)]
    pub remove: Vec<String>,
}

/// Parameter name -> value, in the order they are bound. JSON: an object; binary: a list of pairs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parameters(pub Vec<(String, ParamValue)>);

/// A cmdlet with its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CmdletCall {
    pub cmdlet: String,
    pub parameters: Parameters,
}

impl CmdletCall {
    pub fn new(cmdlet: &str) -> CmdletCall {
        CmdletCall { cmdlet: cmdlet.to_string(), parameters: Parameters::default() }
    }

    pub fn with(mut self, name: &str, value: ParamValue) -> CmdletCall {
        assert!(self.parameter(name).is_none(), "parameter {name} bound twice");
        self.parameters.0.push((name.to_string(), value));
        self
    }

    pub fn text(self, name: &str, value: &str) -> CmdletCall {
        self.with(name, ParamValue::Text(value.to_string()))
    }

    pub fn switch(self, name: &str, value: bool) -> CmdletCall {
        self.with(name, ParamValue::Bool(value))
    }

    pub fn parameter(&self, name: &str) -> Option<&ParamValue> {
        self.parameters.get(name)
    }

    pub fn text_parameter(&self, name: &str) -> Option<&str> {
        match self.parameter(name) {
            Some(ParamValue::Text(text)) => Some(text),
            _ => None,
        }
    }

    /// Whether this cmdlet changes Exchange's state (everything but Get-*).
    pub fn is_state_changing(&self) -> bool {
        !self.cmdlet.starts_with("Get-")
    }
}

impl Parameters {
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.0.iter().find(|(parameter_name, _)| parameter_name.eq_ignore_ascii_case(name)).map(|(_, value)| value)
    }
}

// Binary formats (postcard) need a tagged form; JSON gets the untagged shape DESIGN section 5 shows.
#[derive(Serialize, Deserialize)]
enum TaggedParamValue {
    Bool(bool),
    Int(i64),
    Text(String),
    List(Vec<String>),
    Edit(ListEdit),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum UntaggedParamValue {
    Bool(bool),
    Int(i64),
    Text(String),
    List(Vec<String>),
    Edit(ListEdit),
}

impl Serialize for ParamValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            return match self {
                ParamValue::Bool(value) => serializer.serialize_bool(*value),
                ParamValue::Int(value) => serializer.serialize_i64(*value),
                ParamValue::Text(value) => serializer.serialize_str(value),
                ParamValue::List(values) => values.serialize(serializer),
                ParamValue::Edit(edit) => edit.serialize(serializer),
            };
        }
        let tagged = match self.clone() {
            ParamValue::Bool(value) => TaggedParamValue::Bool(value),
            ParamValue::Int(value) => TaggedParamValue::Int(value),
            ParamValue::Text(value) => TaggedParamValue::Text(value),
            ParamValue::List(values) => TaggedParamValue::List(values),
            ParamValue::Edit(edit) => TaggedParamValue::Edit(edit),
        };
        tagged.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ParamValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let value = UntaggedParamValue::deserialize(deserializer).map_err(|_| {
                D::Error::custom("a parameter value must be a string, bool, integer, list of strings or {\"Add\":[..],\"Remove\":[..]}")
            })?;
            return Ok(match value {
                UntaggedParamValue::Bool(value) => ParamValue::Bool(value),
                UntaggedParamValue::Int(value) => ParamValue::Int(value),
                UntaggedParamValue::Text(value) => ParamValue::Text(value),
                UntaggedParamValue::List(values) => ParamValue::List(values),
                UntaggedParamValue::Edit(edit) => ParamValue::Edit(edit),
            });
        }
        Ok(match TaggedParamValue::deserialize(deserializer)? {
            TaggedParamValue::Bool(value) => ParamValue::Bool(value),
            TaggedParamValue::Int(value) => ParamValue::Int(value),
            TaggedParamValue::Text(value) => ParamValue::Text(value),
            TaggedParamValue::List(values) => ParamValue::List(values),
            TaggedParamValue::Edit(edit) => ParamValue::Edit(edit),
        })
    }
}

impl Serialize for Parameters {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            use serde::ser::SerializeMap;
            let mut map = serializer.serialize_map(Some(self.0.len()))?;
            for (name, value) in &self.0 {
                map.serialize_entry(name, value)?;
            }
            return map.end();
        }
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Parameters {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            struct MapVisitor;
            impl<'de> serde::de::Visitor<'de> for MapVisitor {
                type Value = Parameters;
                fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                    formatter.write_str("an object of parameter name -> value")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Parameters, A::Error> {
                    let mut parameters = Vec::new();
                    while let Some((name, value)) = access.next_entry::<String, ParamValue>()? {
                        parameters.push((name, value));
                    }
                    Ok(Parameters(parameters))
                }
            }
            return deserializer.deserialize_map(MapVisitor);
        }
        Ok(Parameters(Vec::deserialize(deserializer)?))
    }
}
