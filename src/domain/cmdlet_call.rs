//! A cmdlet as data: its name and its parameters, typed as PowerShell binds them. This is what
//! the planner produces, what `CmdletRequested` records, and what the Exchange adapters send as a
//! command (never as script text).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One parameter value. JSON: string, bool, integer, list of strings, or
/// `{"Add": [..], "Remove": [..]}`. A switch (`-Confirm:$false`) is a `Bool`.
///
/// `S` is the type of the text: `String` as calls are made and sent, `&str` in the view of a
/// recorded intent that the projection folds (`CmdletRequested<&str>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue<S = String> {
    Bool(bool),
    Int(i64),
    Text(S),
    List(Vec<S>),
    /// The incremental multi-value form `@{Add=...; Remove=...}` (a Hashtable over the wire).
    Edit(ListEdit<S>),
}

/// Incremental edit of a multi-valued property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListEdit<S = String> {
    #[serde(rename = "Add", default = "Vec::new")]
    pub add: Vec<S>,
    #[serde(rename = "Remove", default = "Vec::new")]
    pub remove: Vec<S>,
}

impl<S> Default for ListEdit<S> {
    fn default() -> Self {
        ListEdit { add: Vec::new(), remove: Vec::new() }
    }
}

/// Parameter name -> value, in the order they are bound. JSON: an object; binary: a list of pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameters<S = String>(pub Vec<(S, ParamValue<S>)>);

impl<S> Default for Parameters<S> {
    fn default() -> Self {
        Parameters(Vec::new())
    }
}

impl<S: AsRef<str>> ParamValue<S> {
    /// This value with its text borrowed.
    pub fn view(&self) -> ParamValue<&str> {
        match self {
            ParamValue::Bool(value) => ParamValue::Bool(*value),
            ParamValue::Int(value) => ParamValue::Int(*value),
            ParamValue::Text(value) => ParamValue::Text(value.as_ref()),
            ParamValue::List(values) => ParamValue::List(values.iter().map(AsRef::as_ref).collect()),
            ParamValue::Edit(edit) => ParamValue::Edit(edit.view()),
        }
    }
}

impl<S> ParamValue<S> {
    /// This value with its text turned into another text type.
    pub fn map_text<T>(self, mut map: impl FnMut(S) -> T) -> ParamValue<T> {
        match self {
            ParamValue::Bool(value) => ParamValue::Bool(value),
            ParamValue::Int(value) => ParamValue::Int(value),
            ParamValue::Text(value) => ParamValue::Text(map(value)),
            ParamValue::List(values) => ParamValue::List(values.into_iter().map(map).collect()),
            ParamValue::Edit(edit) => ParamValue::Edit(edit.map_text(map)),
        }
    }
}

impl<S: AsRef<str>> ListEdit<S> {
    /// This edit with its text borrowed.
    pub fn view(&self) -> ListEdit<&str> {
        ListEdit {
            add: self.add.iter().map(AsRef::as_ref).collect(),
            remove: self.remove.iter().map(AsRef::as_ref).collect(),
        }
    }
}

impl<S> ListEdit<S> {
    /// This edit with its text turned into another text type.
    pub fn map_text<T>(self, mut map: impl FnMut(S) -> T) -> ListEdit<T> {
        ListEdit {
            add: self.add.into_iter().map(&mut map).collect(),
            remove: self.remove.into_iter().map(map).collect(),
        }
    }
}

impl<S: AsRef<str>> Parameters<S> {
    /// The first value bound to `name` (PowerShell's parameter names are case-insensitive).
    pub fn get(&self, name: &str) -> Option<&ParamValue<S>> {
        self.0
            .iter()
            .find(|(parameter_name, _)| parameter_name.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// The first text bound to `name`.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(ParamValue::Text(text)) => Some(text.as_ref()),
            _ => None,
        }
    }

    /// These parameters with their text borrowed.
    pub fn view(&self) -> Parameters<&str> {
        Parameters(self.0.iter().map(|(name, value)| (name.as_ref(), value.view())).collect())
    }
}

impl<S> Parameters<S> {
    /// These parameters with their text turned into another text type.
    pub fn map_text<T>(self, mut map: impl FnMut(S) -> T) -> Parameters<T> {
        Parameters(self.0.into_iter().map(|(name, value)| (map(name), value.map_text(&mut map))).collect())
    }
}

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
        self.parameters.text(name)
    }

    /// Whether this cmdlet changes Exchange's state (everything but Get-*).
    pub fn is_state_changing(&self) -> bool {
        !self.cmdlet.starts_with("Get-")
    }
}

// Binary formats (postcard) need a tagged form; JSON gets the untagged shape DESIGN section 5 shows.
// The variants' order is the binary form's tag: never reorder them (schema/ holds the bytes).
#[derive(Serialize)]
enum TaggedParamValueRef<'a, S> {
    Bool(bool),
    Int(i64),
    Text(&'a S),
    List(&'a [S]),
    Edit(&'a ListEdit<S>),
}

#[derive(Deserialize)]
enum TaggedParamValue<S> {
    Bool(bool),
    Int(i64),
    Text(S),
    List(Vec<S>),
    Edit(ListEdit<S>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum UntaggedParamValue<S> {
    Bool(bool),
    Int(i64),
    Text(S),
    List(Vec<S>),
    Edit(ListEdit<S>),
}

impl<S: Serialize> Serialize for ParamValue<S> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        if serializer.is_human_readable() {
            return match self {
                ParamValue::Bool(value) => serializer.serialize_bool(*value),
                ParamValue::Int(value) => serializer.serialize_i64(*value),
                ParamValue::Text(value) => value.serialize(serializer),
                ParamValue::List(values) => values.serialize(serializer),
                ParamValue::Edit(edit) => edit.serialize(serializer),
            };
        }
        let tagged = match self {
            ParamValue::Bool(value) => TaggedParamValueRef::Bool(*value),
            ParamValue::Int(value) => TaggedParamValueRef::Int(*value),
            ParamValue::Text(value) => TaggedParamValueRef::Text(value),
            ParamValue::List(values) => TaggedParamValueRef::List(values),
            ParamValue::Edit(edit) => TaggedParamValueRef::Edit(edit),
        };
        tagged.serialize(serializer)
    }
}

impl<'de, S: Deserialize<'de>> Deserialize<'de> for ParamValue<S> {
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

impl<S: Serialize> Serialize for Parameters<S> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
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

impl<'de, S: Deserialize<'de>> Deserialize<'de> for Parameters<S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            struct MapVisitor<S>(std::marker::PhantomData<S>);
            impl<'de, S: Deserialize<'de>> serde::de::Visitor<'de> for MapVisitor<S> {
                type Value = Parameters<S>;
                fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                    formatter.write_str("an object of parameter name -> value")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Parameters<S>, A::Error> {
                    let mut parameters = Vec::new();
                    while let Some((name, value)) = access.next_entry::<S, ParamValue<S>>()? {
                        parameters.push((name, value));
                    }
                    Ok(Parameters(parameters))
                }
            }
            return deserializer.deserialize_map(MapVisitor(std::marker::PhantomData));
        }
        Ok(Parameters(Vec::deserialize(deserializer)?))
    }
}
