//! The PowerShell value model that CLIXML (MS-PSRP 2.2.5) serialises: primitives and complex
//! objects with type names, adapted properties, extended members and containers.
//!
//! This module is pure data; `read` and `write` turn it into and out of XML. The Exchange cmdlet
//! layer maps its typed results to and from these values.

use std::sync::Arc;

/// A type-name list (`<TN>`): most derived type first. Shared, because many objects carry the
/// same one (a reply of 100,000 devices carries a handful of distinct lists).
pub type TypeNames = Arc<[String]>;

/// A PowerShell value.
#[derive(Debug, Clone, PartialEq)]
pub enum PsValue {
    /// `<Nil/>`
    Null,
    /// `<B>`
    Bool(bool),
    /// `<C>`: a UTF-16 code unit.
    Char(u16),
    /// `<By>`
    U8(u8),
    /// `<SB>`
    I8(i8),
    /// `<U16>`
    U16(u16),
    /// `<I16>`
    I16(i16),
    /// `<U32>`
    U32(u32),
    /// `<I32>`
    I32(i32),
    /// `<U64>`
    U64(u64),
    /// `<I64>`
    I64(i64),
    /// `<Sg>`
    F32(f32),
    /// `<Db>`
    F64(f64),
    /// `<D>`: decimal, kept as its text.
    Decimal(String),
    /// `<S>`: the string after `_xHHHH_` unescaping.
    String(String),
    /// `<DT>`: ISO 8601 text as sent (with its offset).
    DateTime(String),
    /// `<TS>`: ISO 8601 duration text as sent (`PT9.0269026S`).
    Duration(String),
    /// `<G>`
    Guid(uuid::Uuid),
    /// `<URI>`
    Uri(String),
    /// `<Version>`: `major.minor[.build[.revision]]`.
    Version(String),
    /// `<BA>`: base64-decoded bytes.
    Bytes(Vec<u8>),
    /// `<XD>`
    XmlDocument(String),
    /// `<SBK>`: a script block's text. easgate never sends one; it may arrive in metadata.
    ScriptBlock(String),
    /// `<SS>`: a SecureString, still encrypted (base64-decoded bytes).
    SecureString(Vec<u8>),
    /// `<Obj>`
    Object(Box<PsObject>),
}

/// A complex object (`<Obj>`). `<Ref>` back-references are resolved by the reader into copies.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PsObject {
    /// `<TN>`: most derived type first. Deserialised objects carry the `Deserialized.` prefix.
    pub type_names: TypeNames,
    /// `<ToString>`
    pub to_string: Option<String>,
    /// The value the object wraps, if any: a primitive (an enum's `<I32>`, a string's `<S>`) or,
    /// for an adapted object, its base `<Obj>`.
    pub value: Option<PsValue>,
    /// `<Props>`: adapted properties, in order.
    pub properties: Vec<(String, PsValue)>,
    /// `<MS>`: extended members, in order.
    pub members: Vec<(String, PsValue)>,
    /// `<LST>`, `<IE>`, `<QUE>`, `<STK>` or `<DCT>`.
    pub container: Option<Container>,
}

/// The collection an object holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Container {
    /// `<LST>`: a list or array.
    List(Vec<PsValue>),
    /// `<IE>`: any other enumerable.
    Enumerable(Vec<PsValue>),
    /// `<QUE>`
    Queue(Vec<PsValue>),
    /// `<STK>`
    Stack(Vec<PsValue>),
    /// `<DCT>`: key/value pairs in order.
    Dictionary(Vec<(PsValue, PsValue)>),
}

impl PsValue {
    pub fn string(text: impl Into<String>) -> PsValue {
        PsValue::String(text.into())
    }

    pub fn as_object(&self) -> Option<&PsObject> {
        match self {
            PsValue::Object(object) => Some(object),
            _ => None,
        }
    }

    /// The value as text: a string, an enum object's `ToString`, or a primitive printed.
    /// Exchange sends its value types (ADObjectId, SmtpAddress, enums) either way.
    pub fn as_text(&self) -> Option<String> {
        match self {
            PsValue::Null => None,
            PsValue::String(text) | PsValue::Uri(text) | PsValue::Version(text) | PsValue::DateTime(text) => {
                Some(text.clone())
            }
            PsValue::Bool(value) => Some(if *value { "True" } else { "False" }.to_string()),
            PsValue::I32(value) => Some(value.to_string()),
            PsValue::I64(value) => Some(value.to_string()),
            PsValue::U32(value) => Some(value.to_string()),
            PsValue::U64(value) => Some(value.to_string()),
            PsValue::Guid(value) => Some(value.to_string()),
            PsValue::Object(object) => {
                object.to_string.clone().or_else(|| object.value.as_ref().and_then(PsValue::as_text))
            }
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            PsValue::Bool(value) => Some(*value),
            PsValue::String(text) => match text.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            PsValue::Object(object) => object.value.as_ref().and_then(PsValue::as_bool),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            PsValue::I32(value) => Some(i64::from(*value)),
            PsValue::I64(value) => Some(*value),
            PsValue::U32(value) => Some(i64::from(*value)),
            PsValue::I16(value) => Some(i64::from(*value)),
            PsValue::U16(value) => Some(i64::from(*value)),
            PsValue::U8(value) => Some(i64::from(*value)),
            PsValue::Object(object) => object.value.as_ref().and_then(PsValue::as_i64),
            _ => None,
        }
    }

    /// The items of a list-like value (a container object, or a single value as one item).
    pub fn items(&self) -> Vec<&PsValue> {
        match self {
            PsValue::Null => Vec::new(),
            PsValue::Object(object) => match &object.container {
                Some(Container::List(items))
                | Some(Container::Enumerable(items))
                | Some(Container::Queue(items))
                | Some(Container::Stack(items)) => items.iter().collect(),
                _ => vec![self],
            },
            other => vec![other],
        }
    }

    /// The items of a list-like value as text, skipping values with no text form.
    pub fn text_items(&self) -> Vec<String> {
        self.items().into_iter().filter_map(PsValue::as_text).collect()
    }
}

impl PsObject {
    /// A property by name, from the adapted properties first, then the extended members
    /// (Exchange objects put their data in either place).
    pub fn get(&self, name: &str) -> Option<&PsValue> {
        self.properties
            .iter()
            .chain(self.members.iter())
            .find(|(property_name, _)| property_name == name)
            .map(|(_, value)| value)
    }

    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).and_then(PsValue::as_text)
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(PsValue::as_bool)
    }

    /// Whether any of the object's type names ends with `suffix` (ignoring `Deserialized.`).
    pub fn is_type(&self, suffix: &str) -> bool {
        self.type_names.iter().any(|type_name| type_name.ends_with(suffix))
    }
}
