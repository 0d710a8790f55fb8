//! CLIXML primitives (MS-PSRP 2.2.5.1): which tags are primitives, and their text as values.

use std::borrow::Cow;

use base64::Engine as _;

use crate::clixml::value::PsValue;

/// The primitive types of MS-PSRP 2.2.5.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Primitive {
    String,
    Bool,
    Char,
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
    Decimal,
    DateTime,
    Duration,
    Guid,
    Uri,
    Version,
    Bytes,
    XmlDocument,
    ScriptBlock,
    SecureString,
}

/// The primitive a tag names. Byte patterns compile to a length switch and byte compares, which
/// matters: this runs for every value of a reply.
pub(crate) fn primitive_kind(tag: &str) -> Option<Primitive> {
    use Primitive::*;
    Some(match tag.as_bytes() {
        [b'S'] => String,
        [b'B'] => Bool,
        [b'C'] => Char,
        [b'D'] => Decimal,
        [b'G'] => Guid,
        [b'B', b'y'] => U8,
        [b'S', b'B'] => I8,
        [b'S', b'g'] => F32,
        [b'D', b'b'] => F64,
        [b'D', b'T'] => DateTime,
        [b'T', b'S'] => Duration,
        [b'B', b'A'] => Bytes,
        [b'X', b'D'] => XmlDocument,
        [b'S', b'S'] => SecureString,
        [b'I', b'3', b'2'] => I32,
        [b'I', b'6', b'4'] => I64,
        [b'I', b'1', b'6'] => I16,
        [b'U', b'1', b'6'] => U16,
        [b'U', b'3', b'2'] => U32,
        [b'U', b'6', b'4'] => U64,
        [b'U', b'R', b'I'] => Uri,
        [b'S', b'B', b'K'] => ScriptBlock,
        [b'V', b'e', b'r', b's', b'i', b'o', b'n'] => Version,
        _ => return None,
    })
}

/// Parses a primitive's text; the error carries the text and why it did not parse.
pub(crate) fn primitive_from_text(kind: Primitive, text: Cow<'_, str>) -> Result<PsValue, (String, String)> {
    fn number<T: std::str::FromStr>(text: &str) -> Result<T, (String, String)>
    where
        T::Err: std::fmt::Display,
    {
        text.trim().parse::<T>().map_err(|error| (text.to_string(), error.to_string()))
    }
    fn bytes(text: &str) -> Result<Vec<u8>, (String, String)> {
        let compact: String = text.chars().filter(|character| !character.is_ascii_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|error| (text.to_string(), format!("invalid base64: {error}")))
    }
    Ok(match kind {
        Primitive::String => PsValue::String(text.into_owned()),
        Primitive::Bool => PsValue::Bool(match text.trim() {
            "true" | "True" | "1" => true,
            "false" | "False" | "0" => false,
            _ => return Err((text.into_owned(), "expected true or false".to_string())),
        }),
        Primitive::Char => PsValue::Char(number(&text)?),
        Primitive::U8 => PsValue::U8(number(&text)?),
        Primitive::I8 => PsValue::I8(number(&text)?),
        Primitive::U16 => PsValue::U16(number(&text)?),
        Primitive::I16 => PsValue::I16(number(&text)?),
        Primitive::U32 => PsValue::U32(number(&text)?),
        Primitive::I32 => PsValue::I32(number(&text)?),
        Primitive::U64 => PsValue::U64(number(&text)?),
        Primitive::I64 => PsValue::I64(number(&text)?),
        Primitive::F32 => PsValue::F32(number(&net_float_text(&text))?),
        Primitive::F64 => PsValue::F64(number(&net_float_text(&text))?),
        Primitive::Decimal => PsValue::Decimal(text.into_owned()),
        Primitive::DateTime => PsValue::DateTime(text.into_owned()),
        Primitive::Duration => PsValue::Duration(text.into_owned()),
        Primitive::Guid => {
            PsValue::Guid(uuid::Uuid::parse_str(text.trim()).map_err(|error| (text.to_string(), error.to_string()))?)
        }
        Primitive::Uri => PsValue::Uri(text.into_owned()),
        Primitive::Version => PsValue::Version(text.into_owned()),
        Primitive::Bytes => PsValue::Bytes(bytes(&text)?),
        Primitive::XmlDocument => PsValue::XmlDocument(text.into_owned()),
        Primitive::ScriptBlock => PsValue::ScriptBlock(text.into_owned()),
        Primitive::SecureString => PsValue::SecureString(bytes(&text)?),
    })
}

/// .NET writes infinities as `INF`/`-INF` (XmlConvert); Rust parses `inf`.
fn net_float_text(text: &str) -> Cow<'_, str> {
    match text.trim() {
        "INF" | "Infinity" => Cow::Borrowed("inf"),
        "-INF" | "-Infinity" => Cow::Borrowed("-inf"),
        _ => Cow::Borrowed(text),
    }
}
