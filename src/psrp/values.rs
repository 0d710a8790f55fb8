//! Small helpers to build and take apart the `PsValue` shapes PSRP messages use (member-set
//! objects, enums, typed lists), so message code reads like the XML it stands for.

use crate::clixml::value::{Container, PsObject, PsValue};
use crate::psrp::error::PsrpError;
use crate::psrp::message::MessageType;

/// Type names of `System.Object[]`.
pub const OBJECT_ARRAY_TYPE_NAMES: [&str; 3] = ["System.Object[]", "System.Array", "System.Object"];
/// Type names of `System.Collections.Hashtable`.
pub const HASHTABLE_TYPE_NAMES: [&str; 2] = ["System.Collections.Hashtable", "System.Object"];

/// `<Obj><MS>...</MS></Obj>`.
pub fn member_object(members: Vec<(&str, PsValue)>) -> PsValue {
    PsValue::Object(Box::new(PsObject {
        members: members.into_iter().map(|(name, value)| (name.to_string(), value)).collect(),
        ..PsObject::default()
    }))
}

/// An enum as PowerShell serialises it: type names, `ToString` and the `I32` value.
pub fn enum_value(type_name: &str, text: &str, number: i32) -> PsValue {
    PsValue::Object(Box::new(PsObject {
        type_names: vec![
            type_name.to_string(),
            "System.Enum".to_string(),
            "System.ValueType".to_string(),
            "System.Object".to_string(),
        ]
        .into(),
        to_string: Some(text.to_string()),
        value: Some(PsValue::I32(number)),
        ..PsObject::default()
    }))
}

/// A list object with the given type names.
pub fn typed_list(type_names: &[&str], items: Vec<PsValue>) -> PsValue {
    PsValue::Object(Box::new(PsObject {
        type_names: type_names.iter().map(|type_name| type_name.to_string()).collect(),
        container: Some(Container::List(items)),
        ..PsObject::default()
    }))
}

/// A dictionary object with the given type names.
pub fn typed_dictionary(type_names: &[&str], entries: Vec<(PsValue, PsValue)>) -> PsValue {
    PsValue::Object(Box::new(PsObject {
        type_names: type_names.iter().map(|type_name| type_name.to_string()).collect(),
        container: Some(Container::Dictionary(entries)),
        ..PsObject::default()
    }))
}

/// The message's top-level object, or a typed error.
pub fn top_object(message_type: MessageType, value: &PsValue) -> Result<&PsObject, PsrpError> {
    value.as_object().ok_or_else(|| PsrpError::BadField {
        message_type,
        field: "(message data)",
        detail: "expected an <Obj>".to_string(),
    })
}

/// A required member as an integer.
pub fn required_i64(message_type: MessageType, object: &PsObject, field: &'static str) -> Result<i64, PsrpError> {
    let value = object.get(field).ok_or_else(|| PsrpError::missing(message_type, field))?;
    value.as_i64().ok_or_else(|| PsrpError::BadField {
        message_type,
        field,
        detail: format!("expected an integer, found {value:?}"),
    })
}

/// A required member as text.
pub fn required_text(message_type: MessageType, object: &PsObject, field: &'static str) -> Result<String, PsrpError> {
    let value = object.get(field).ok_or_else(|| PsrpError::missing(message_type, field))?;
    value.as_text().ok_or_else(|| PsrpError::BadField {
        message_type,
        field,
        detail: format!("expected text, found {value:?}"),
    })
}

/// `<Obj><TN>...</TN><ToString>...</ToString><MS>...</MS></Obj>`.
pub fn typed_member_object(type_names: &[&str], to_string: &str, members: Vec<(&str, PsValue)>) -> PsValue {
    PsValue::Object(Box::new(PsObject {
        type_names: type_names.iter().map(|type_name| type_name.to_string()).collect(),
        to_string: Some(to_string.to_string()),
        members: members.into_iter().map(|(name, value)| (name.to_string(), value)).collect(),
        ..PsObject::default()
    }))
}
