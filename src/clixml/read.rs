//! CLIXML reader (MS-PSRP 2.2.5): turns XML text into `PsValue`s by streaming quick-xml events,
//! with no intermediate document tree. `<TNRef>` and `<Ref>` back-references are resolved.
//!
//! A PSRP message carries one value; an `Export-Clixml` file carries an `<Objs>` list. Both are
//! read here. Objects are copied for `<Ref>` only on a second pass, taken when the first meets a
//! back-reference: most messages have none, so they never clone. Type-name lists are shared
//! (`Arc`), within a text and, for lists seen before, across texts (see `read/type_names.rs`).

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use rustc_hash::FxHashMap;

use crate::clixml::escape;
use crate::clixml::primitive::{primitive_from_text, primitive_kind};
use crate::clixml::value::{Container, PsObject, PsValue, TypeNames};

mod type_names;

/// How deep objects and containers may nest. PowerShell's remoting serialises to depth 1-2 and
/// Exchange objects nest a few levels; anything deeper is hostile input meant to exhaust the stack.
pub const MAX_NESTING_DEPTH: usize = 64;

/// Why CLIXML could not be read. Offsets are byte positions in the CLIXML text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClixmlError {
    /// The text is not well-formed XML (or not UTF-8).
    /// **Handling:** the peer sent garbage; fail the call as a protocol error.
    #[error("malformed XML in CLIXML at byte {offset}: {detail}")]
    Xml { offset: u64, detail: String },
    /// The text ended inside an element.
    /// **Handling:** a truncated message; fail the call as a protocol error.
    #[error("CLIXML ends inside <{element}> at byte {offset}")]
    Truncated { element: String, offset: u64 },
    /// An element that CLIXML does not allow where it stands.
    /// **Handling:** an unsupported serialisation; fail the call as a protocol error.
    #[error("unexpected <{element}> in {context} at byte {offset}")]
    UnexpectedElement { element: String, context: &'static str, offset: u64 },
    /// A primitive whose text does not parse as its type (`<I32>abc</I32>`, bad base64, ...).
    /// **Handling:** fail the call as a protocol error.
    #[error("<{element}> at byte {offset} holds {text:?}, which is not a valid value: {detail}")]
    BadPrimitive { element: String, text: String, detail: String, offset: u64 },
    /// `<Ref>` or `<TNRef>` names a RefId that no earlier object or type list declared.
    /// **Handling:** fail the call as a protocol error.
    #[error("<{element} RefId=\"{ref_id}\"> at byte {offset} refers to nothing declared before it")]
    UnknownRef { element: &'static str, ref_id: String, offset: u64 },
    /// A member of `<Props>`/`<MS>` or a dictionary entry lacks its `N` name.
    /// **Handling:** fail the call as a protocol error.
    #[error("<{element}> at byte {offset} in {context} has no N attribute")]
    MissingName { element: String, context: &'static str, offset: u64 },
    /// Objects nest deeper than [`MAX_NESTING_DEPTH`].
    /// **Handling:** hostile or broken input; fail the call as a protocol error.
    #[error("CLIXML nests deeper than {limit} levels at byte {offset}")]
    TooDeep { limit: usize, offset: u64 },
    /// Text where only elements may stand, or no value at all.
    /// **Handling:** fail the call as a protocol error.
    #[error("{detail} at byte {offset}")]
    Unexpected { detail: String, offset: u64 },
}

/// Reads the single value a PSRP message carries (`<Obj RefId="0">...</Obj>`, `<S>hi</S>`).
pub fn parse_value(xml: &str) -> Result<PsValue, ClixmlError> {
    let mut values = parse_values(xml)?;
    match values.len() {
        1 => Ok(values.pop().unwrap_or(PsValue::Null)),
        count => Err(ClixmlError::Unexpected { detail: format!("expected one value, found {count}"), offset: 0 }),
    }
}

/// Like [`parse_value`] for raw message bytes: strips a UTF-8 BOM and checks UTF-8 first.
pub fn parse_value_bytes(bytes: &[u8]) -> Result<PsValue, ClixmlError> {
    parse_value(utf8_text(bytes)?)
}

/// Message bytes as text: without the UTF-8 BOM servers put first, checked to be UTF-8.
pub fn utf8_text(bytes: &[u8]) -> Result<&str, ClixmlError> {
    let without_bom = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(without_bom).map_err(|error| ClixmlError::Xml {
        offset: error.valid_up_to() as u64,
        detail: "the text is not UTF-8".to_string(),
    })
}

/// Reads every top-level value, looking inside an `<Objs>` wrapper (an `Export-Clixml` file).
pub fn parse_values(xml: &str) -> Result<Vec<PsValue>, ClixmlError> {
    // Most messages never refer back, so the first pass keeps no copies for `<Ref>`/`<TNRef>`;
    // one that does is read again with copies kept.
    match parse_values_tracking(xml, false) {
        Err(ClixmlError::UnknownRef { .. }) => parse_values_tracking(xml, true),
        result => result,
    }
}

fn parse_values_tracking(xml: &str, track_references: bool) -> Result<Vec<PsValue>, ClixmlError> {
    let mut parser = Parser::new(xml, track_references);
    let mut values = Vec::new();
    loop {
        match parser.next_item("the document")? {
            Item::Start(start) if start.local_name().as_ref() == "Objs" => {
                while let Some(value) = parser.next_value_in("<Objs>", 0)? {
                    values.push(value.1);
                }
            }
            Item::Start(start) => values.push(parser.read_value(&start, false, 0)?.1),
            Item::Empty(start) => values.push(parser.read_value(&start, true, 0)?.1),
            Item::End => return Err(parser.unexpected("a closing tag with no opening tag")),
            Item::Eof => return Ok(values),
        }
    }
}

enum Item<'x> {
    Start(BytesStart<'x>),
    Empty(BytesStart<'x>),
    End,
    Eof,
}

struct Parser<'x> {
    reader: Reader<&'x [u8]>,
    /// The whole text, for slicing out raw `<TN>` content.
    xml: &'x str,
    /// `<TN RefId>` -> its type names, for `<TNRef>`; `None` while references are not tracked.
    type_names_by_ref: Option<FxHashMap<String, TypeNames>>,
    /// `<Obj RefId>` -> a copy, for `<Ref>`; `None` while references are not tracked.
    objects_by_ref: Option<FxHashMap<String, PsValue>>,
    /// One reusable buffer per nesting depth for members being read, so that each object's
    /// member list is allocated once at its exact size instead of growing.
    member_buffers: Vec<Vec<(String, PsValue)>>,
    /// The same for the type names of a `<TN>`.
    type_name_buffer: Vec<String>,
}

/// The `N` and `RefId` attributes of an element.
struct Attributes {
    name: Option<String>,
    ref_id: Option<String>,
}

impl<'x> Parser<'x> {
    fn new(xml: &'x str, track_references: bool) -> Parser<'x> {
        // quick-xml skips a leading BOM without counting it in its offsets; without it here,
        // the reader's offsets index `xml` exactly (raw `<TN>` content is sliced by them).
        let xml = xml.strip_prefix('\u{FEFF}').unwrap_or(xml);
        let mut reader = Reader::from_str(xml);
        reader.config_mut().check_end_names = true;
        let objects_by_ref = track_references.then(FxHashMap::default);
        let type_names_by_ref = track_references.then(FxHashMap::default);
        Parser {
            reader,
            xml,
            type_names_by_ref,
            objects_by_ref,
            member_buffers: Vec::new(),
            type_name_buffer: Vec::new(),
        }
    }

    fn offset(&self) -> u64 {
        self.reader.buffer_position()
    }

    fn unexpected(&self, detail: &str) -> ClixmlError {
        ClixmlError::Unexpected { detail: detail.to_string(), offset: self.offset() }
    }

    /// The next element boundary, skipping whitespace, comments, declarations and PIs.
    fn next_item(&mut self, context: &'static str) -> Result<Item<'x>, ClixmlError> {
        // Bounded by the input: every event consumes bytes.
        loop {
            let event = self.reader.read_event().map_err(|error| ClixmlError::Xml {
                offset: self.reader.error_position(),
                detail: error.to_string(),
            })?;
            match event {
                Event::Start(start) => return Ok(Item::Start(start)),
                Event::Empty(start) => return Ok(Item::Empty(start)),
                Event::End(_) => return Ok(Item::End),
                Event::Eof => return Ok(Item::Eof),
                Event::Text(text) if text.trim_ascii().is_empty() => continue,
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => continue,
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(ClixmlError::Unexpected {
                        detail: format!("text where only elements may stand in {context}"),
                        offset: self.offset(),
                    });
                }
            }
        }
    }

    fn attributes(&self, start: &BytesStart<'x>) -> Result<Attributes, ClixmlError> {
        let mut attributes = Attributes { name: None, ref_id: None };
        let malformed = |detail: &str| ClixmlError::Xml { offset: self.offset(), detail: detail.to_string() };
        // A small scanner instead of quick-xml's attribute iterator: only N and RefId are read,
        // and this runs for nearly every element of a reply.
        let mut rest = start.attributes_raw();
        // Bounded: each iteration consumes one attribute.
        loop {
            // XML whitespace is exactly the ASCII whitespace `trim_ascii` removes (plus form feed,
            // which XML forbids anyway).
            rest = rest.trim_ascii_start();
            if rest.is_empty() || rest == "/" {
                return Ok(attributes);
            }
            let equals = memchr::memchr(b'=', rest.as_bytes()).ok_or_else(|| malformed("an attribute without ="))?;
            let key = rest[..equals].trim_ascii_end();
            rest = rest[equals + 1..].trim_ascii_start();
            let quote = match rest.as_bytes().first() {
                Some(quote @ (b'"' | b'\'')) => *quote,
                _ => return Err(malformed("an attribute value without quotes")),
            };
            let close = memchr::memchr(quote, &rest.as_bytes()[1..])
                .ok_or_else(|| malformed("an attribute value without its closing quote"))?;
            let value = &rest[1..1 + close];
            rest = &rest[close + 2..];
            match key {
                "N" => {
                    attributes.name =
                        Some(escape::decode(&attribute_value(value).map_err(|detail| malformed(&detail))?).into_owned())
                }
                "RefId" if self.objects_by_ref.is_some() => {
                    attributes.ref_id = Some(attribute_value(value).map_err(|detail| malformed(&detail))?.into_owned())
                }
                _ => {}
            }
        }
    }

    /// The next value inside a container, or `None` at its closing tag.
    fn next_value_in(
        &mut self,
        context: &'static str,
        depth: usize,
    ) -> Result<Option<(Option<String>, PsValue)>, ClixmlError> {
        match self.next_item(context)? {
            Item::Start(start) => Ok(Some(self.read_value(&start, false, depth)?)),
            Item::Empty(start) => Ok(Some(self.read_value(&start, true, depth)?)),
            Item::End => Ok(None),
            Item::Eof => Err(ClixmlError::Truncated { element: context.to_string(), offset: self.offset() }),
        }
    }

    /// Reads one value element (the opening tag already consumed) up to its closing tag.
    fn read_value(
        &mut self,
        start: &BytesStart<'x>,
        empty: bool,
        depth: usize,
    ) -> Result<(Option<String>, PsValue), ClixmlError> {
        if depth > MAX_NESTING_DEPTH {
            return Err(ClixmlError::TooDeep { limit: MAX_NESTING_DEPTH, offset: self.offset() });
        }
        let attributes = self.attributes(start)?;
        let value = match start.local_name().as_ref().as_bytes() {
            [b'O', b'b', b'j'] => {
                PsValue::Object(Box::new(self.read_object(empty, attributes.ref_id.as_deref(), depth)?))
            }
            [b'R', b'e', b'f'] => self.resolve_ref(attributes.ref_id.as_deref(), empty, start)?,
            [b'N', b'i', b'l'] => {
                if !empty {
                    self.skip_to_end(start)?;
                }
                PsValue::Null
            }
            _ => self.read_primitive(start, empty)?,
        };
        Ok((attributes.name, value))
    }

    fn resolve_ref(
        &mut self,
        ref_id: Option<&str>,
        empty: bool,
        start: &BytesStart<'x>,
    ) -> Result<PsValue, ClixmlError> {
        let offset = self.offset();
        let ref_id = ref_id.unwrap_or_default();
        let value = self
            .objects_by_ref
            .as_ref()
            .and_then(|objects| objects.get(ref_id))
            .cloned()
            .ok_or_else(|| ClixmlError::UnknownRef { element: "Ref", ref_id: ref_id.to_string(), offset })?;
        if !empty {
            self.skip_to_end(start)?;
        }
        Ok(value)
    }

    fn skip_to_end(&mut self, start: &BytesStart<'x>) -> Result<(), ClixmlError> {
        self.reader
            .read_to_end(start.name())
            .map(|_| ())
            .map_err(|error| ClixmlError::Xml { offset: self.reader.error_position(), detail: error.to_string() })
    }

    /// The unescaped text of a leaf element (`<S>`, `<ToString>`, `<T>`), read event by event:
    /// text, entity and character references, CDATA, up to the closing tag.
    fn read_text(&mut self, start: &BytesStart<'x>, empty: bool) -> Result<Cow<'x, str>, ClixmlError> {
        if empty {
            return Ok(Cow::Borrowed(""));
        }
        let element_offset = self.offset();
        let mut text: Cow<'x, str> = Cow::Borrowed("");
        // Bounded by the input: every event consumes bytes.
        loop {
            let event = self.reader.read_event().map_err(|error| ClixmlError::Xml {
                offset: self.reader.error_position(),
                detail: error.to_string(),
            })?;
            match event {
                Event::Text(part) => append(&mut text, part.xml10_content()),
                Event::CData(part) => append(&mut text, part.xml10_content()),
                Event::GeneralRef(reference) => {
                    let character = match reference.resolve_char_ref() {
                        Ok(Some(character)) => character,
                        Ok(None) => quick_xml::escape::resolve_predefined_entity(&reference)
                            .and_then(|replacement| replacement.chars().next())
                            .ok_or_else(|| ClixmlError::Xml {
                                offset: self.offset(),
                                detail: format!("unknown entity &{};", &*reference),
                            })?,
                        Err(error) => {
                            return Err(ClixmlError::Xml { offset: self.offset(), detail: error.to_string() });
                        }
                    };
                    text.to_mut().push(character);
                }
                Event::End(_) => break,
                Event::Start(child) | Event::Empty(child) => {
                    return Err(ClixmlError::UnexpectedElement {
                        element: child.local_name().as_ref().to_string(),
                        context: "a value that may only hold text",
                        offset: element_offset,
                    });
                }
                Event::Eof => {
                    return Err(ClixmlError::Truncated {
                        element: start.local_name().as_ref().to_string(),
                        offset: element_offset,
                    });
                }
                Event::Comment(_) | Event::PI(_) | Event::Decl(_) | Event::DocType(_) => {}
            }
        }
        Ok(match text {
            Cow::Borrowed(text) => escape::decode(text),
            Cow::Owned(text) => Cow::Owned(escape::decode(&text).into_owned()),
        })
    }

    fn read_primitive(&mut self, start: &BytesStart<'x>, empty: bool) -> Result<PsValue, ClixmlError> {
        let offset = self.offset();
        let tag = start.local_name();
        let tag = tag.as_ref();
        let Some(kind) = primitive_kind(tag) else {
            return Err(ClixmlError::UnexpectedElement {
                element: tag.to_string(),
                context: "a value position",
                offset,
            });
        };
        let text = self.read_text(start, empty)?;
        primitive_from_text(kind, text).map_err(|(text, detail)| ClixmlError::BadPrimitive {
            element: tag.to_string(),
            text: text.chars().take(80).collect(),
            detail,
            offset,
        })
    }

    fn read_object(&mut self, empty: bool, ref_id: Option<&str>, depth: usize) -> Result<PsObject, ClixmlError> {
        let mut object = PsObject::default();
        if !empty {
            self.read_object_children(&mut object, depth)?;
        }
        if let (Some(objects), Some(ref_id)) = (self.objects_by_ref.as_mut(), ref_id) {
            objects.insert(ref_id.to_string(), PsValue::Object(Box::new(object.clone())));
        }
        Ok(object)
    }

    fn read_object_children(&mut self, object: &mut PsObject, depth: usize) -> Result<(), ClixmlError> {
        // Bounded by the input: every child consumes its element.
        loop {
            let (start, empty) = match self.next_item("<Obj>")? {
                Item::Start(start) => (start, false),
                Item::Empty(start) => (start, true),
                Item::End => return Ok(()),
                Item::Eof => return Err(ClixmlError::Truncated { element: "Obj".to_string(), offset: self.offset() }),
            };
            match start.local_name().as_ref() {
                "TN" => object.type_names = self.read_type_names(&start, empty)?,
                "TNRef" => object.type_names = self.resolve_type_names(&start, empty)?,
                "ToString" => object.to_string = Some(self.read_text(&start, empty)?.into_owned()),
                "Props" => object.properties = self.read_members(empty, "<Props>", depth)?,
                "MS" => object.members = self.read_members(empty, "<MS>", depth)?,
                "LST" => object.container = Some(Container::List(self.read_items(empty, "<LST>", depth)?)),
                "IE" => object.container = Some(Container::Enumerable(self.read_items(empty, "<IE>", depth)?)),
                "QUE" => object.container = Some(Container::Queue(self.read_items(empty, "<QUE>", depth)?)),
                "STK" => object.container = Some(Container::Stack(self.read_items(empty, "<STK>", depth)?)),
                "DCT" => object.container = Some(Container::Dictionary(self.read_dictionary(empty, depth)?)),
                // The base object of an adapted PSObject may itself be an object.
                "Nil" | "Obj" | "Ref" => object.value = Some(self.read_value(&start, empty, depth + 1)?.1),
                _ => object.value = Some(self.read_primitive(&start, empty)?),
            }
        }
    }

    fn read_members(
        &mut self,
        empty: bool,
        context: &'static str,
        depth: usize,
    ) -> Result<Vec<(String, PsValue)>, ClixmlError> {
        if empty {
            return Ok(Vec::new());
        }
        if self.member_buffers.len() <= depth {
            self.member_buffers.resize_with(depth + 1, Vec::new);
        }
        let mut buffer = std::mem::take(&mut self.member_buffers[depth]);
        buffer.clear();
        let offset = self.offset();
        while let Some((name, value)) = self.next_value_in(context, depth + 1)? {
            let Some(name) = name else {
                return Err(ClixmlError::MissingName { element: value_tag(&value).to_string(), context, offset });
            };
            buffer.push((name, value));
        }
        let mut members = Vec::with_capacity(buffer.len());
        members.append(&mut buffer);
        self.member_buffers[depth] = buffer;
        Ok(members)
    }

    fn read_items(&mut self, empty: bool, context: &'static str, depth: usize) -> Result<Vec<PsValue>, ClixmlError> {
        let mut items = Vec::new();
        if !empty {
            while let Some((_, value)) = self.next_value_in(context, depth + 1)? {
                items.push(value);
            }
        }
        Ok(items)
    }

    fn read_dictionary(&mut self, empty: bool, depth: usize) -> Result<Vec<(PsValue, PsValue)>, ClixmlError> {
        let mut entries = Vec::new();
        if empty {
            return Ok(entries);
        }
        // Bounded by the input.
        loop {
            match self.next_item("<DCT>")? {
                Item::Start(entry) if entry.local_name().as_ref() == "En" => {
                    entries.push(self.read_dictionary_entry(depth)?)
                }
                Item::Start(other) | Item::Empty(other) => {
                    return Err(ClixmlError::UnexpectedElement {
                        element: other.local_name().as_ref().to_string(),
                        context: "<DCT>",
                        offset: self.offset(),
                    });
                }
                Item::End => return Ok(entries),
                Item::Eof => return Err(ClixmlError::Truncated { element: "DCT".to_string(), offset: self.offset() }),
            }
        }
    }

    fn read_dictionary_entry(&mut self, depth: usize) -> Result<(PsValue, PsValue), ClixmlError> {
        let offset = self.offset();
        let (mut key, mut value) = (None, None);
        while let Some((name, item)) = self.next_value_in("<En>", depth + 1)? {
            match name.as_deref() {
                Some("Key") => key = Some(item),
                Some("Value") => value = Some(item),
                _ => {
                    return Err(ClixmlError::MissingName {
                        element: value_tag(&item).to_string(),
                        context: "<En> (expected N=\"Key\" or N=\"Value\")",
                        offset,
                    });
                }
            }
        }
        match (key, value) {
            (Some(key), Some(value)) => Ok((key, value)),
            _ => Err(ClixmlError::Unexpected {
                detail: "a dictionary entry <En> without both Key and Value".to_string(),
                offset,
            }),
        }
    }
}

/// An attribute value with XML's normalisation: literal tabs and line ends become spaces, then
/// entity and character references are resolved.
fn attribute_value(raw: &str) -> Result<Cow<'_, str>, String> {
    if !raw.bytes().any(|byte| matches!(byte, b'&' | b'\t' | b'\n' | b'\r')) {
        return Ok(Cow::Borrowed(raw));
    }
    let spaced = raw.replace(['\t', '\n', '\r'], " ");
    quick_xml::escape::unescape(&spaced).map(|value| Cow::Owned(value.into_owned())).map_err(|error| error.to_string())
}

/// Appends a piece of text, borrowing the first piece when it is the only one.
fn append<'x>(text: &mut Cow<'x, str>, part: Cow<'x, str>) {
    if text.is_empty() {
        *text = part;
    } else {
        text.to_mut().push_str(&part);
    }
}

/// The element name a value was read from, for error messages.
fn value_tag(value: &PsValue) -> &'static str {
    match value {
        PsValue::Object(_) => "Obj",
        PsValue::Null => "Nil",
        _ => "a primitive",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_enum_object_with_type_names_and_a_back_reference() {
        let xml = r#"<Obj RefId="0"><MS><Obj N="A" RefId="1"><TN RefId="0"><T>E</T><T>System.Enum</T></TN><ToString>Allowed</ToString><I32>1</I32></Obj><Obj N="B" RefId="2"><TNRef RefId="0" /><ToString>Blocked</ToString><I32>2</I32></Obj><Ref N="C" RefId="1" /></MS></Obj>"#;
        let value = parse_value(xml).unwrap();
        let object = value.as_object().unwrap();
        assert_eq!(object.text("A").as_deref(), Some("Allowed"));
        assert_eq!(*object.get("B").unwrap().as_object().unwrap().type_names, ["E", "System.Enum"]);
        assert_eq!(object.get("C"), object.get("A"));
    }

    #[test]
    fn bad_input_names_what_is_wrong() {
        assert!(matches!(parse_value("<I32>abc</I32>"), Err(ClixmlError::BadPrimitive { .. })));
        assert!(matches!(parse_value("<Obj><MS><S N=\"a\">x</S>"), Err(ClixmlError::Truncated { .. })));
        assert!(matches!(parse_value("<Ref RefId=\"9\"/>"), Err(ClixmlError::UnknownRef { .. })));
        assert!(matches!(parse_value("<Obj><TNRef RefId=\"9\"/></Obj>"), Err(ClixmlError::UnknownRef { .. })));
        assert!(matches!(parse_value("<Foo/>"), Err(ClixmlError::UnexpectedElement { .. })));
        assert!(matches!(parse_value("<BA>!!!</BA>"), Err(ClixmlError::BadPrimitive { .. })));
        assert!(matches!(parse_value("<Obj><MS><S>x</S></MS></Obj>"), Err(ClixmlError::MissingName { .. })));
        assert!(matches!(parse_value("<S>a</T>"), Err(ClixmlError::Xml { .. }) | Err(ClixmlError::Truncated { .. })));
        let deep = "<Obj><LST>".repeat(100);
        assert!(matches!(parse_value(&deep), Err(ClixmlError::TooDeep { .. })));
    }
}
