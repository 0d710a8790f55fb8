//! A small XML element tree read with quick-xml that keeps the line and column of every element
//! and attribute, so that every configuration error can say where it is.
//!
//! The configuration file is small and read once: a tree is simpler to check strictly (unknown
//! elements, duplicates, missing values) than a streaming reader, and the limits below keep a
//! hostile file from making it large.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};

use crate::config::error::ConfigError;

/// The largest configuration file easgate reads.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// The deepest nesting of elements accepted.
pub const MAX_DEPTH: usize = 16;
/// The most elements accepted in one file.
pub const MAX_ELEMENTS: usize = 20_000;

/// Where something is in the file, 1-based; the column counts characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlAttribute {
    pub name: String,
    pub value: String,
    pub position: Position,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlElement {
    pub name: String,
    pub position: Position,
    pub attributes: Vec<XmlAttribute>,
    pub children: Vec<XmlElement>,
    /// The element's text (entities resolved, CDATA included), trimmed.
    pub text: String,
    /// Where the text starts (the element's position when it has none).
    pub text_position: Position,
}

/// Turns byte offsets into line and column.
struct LineIndex<'a> {
    source: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(source: &'a str) -> LineIndex<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(source.match_indices('\n').map(|(offset, _)| offset + 1));
        LineIndex { source, line_starts }
    }

    fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.source.len());
        let line_index = self.line_starts.partition_point(|start| *start <= offset).saturating_sub(1);
        let line_start = self.line_starts[line_index];
        let column = self.source.get(line_start..offset).map(|text| text.chars().count()).unwrap_or(0);
        Position { line: to_u32(line_index + 1), column: to_u32(column + 1) }
    }

    /// The offset of the first non-whitespace byte at or after `offset`: quick-xml reports the
    /// end of the previous event, which may be followed by the whitespace it trimmed.
    fn skip_whitespace(&self, offset: usize) -> usize {
        let bytes = self.source.as_bytes();
        let mut cursor = offset.min(bytes.len());
        while cursor < bytes.len() && bytes[cursor].is_ascii_whitespace() {
            cursor += 1;
        }
        cursor
    }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// An element being read, before its end tag.
struct OpenElement {
    element: XmlElement,
    text_offset: Option<usize>,
}

/// Reads `source` into a tree. Errors name the line and column.
pub fn parse_tree(source: &str) -> Result<XmlElement, ConfigError> {
    if source.len() > MAX_FILE_BYTES {
        return Err(ConfigError::at(
            Position { line: 1, column: 1 },
            "",
            format!("the file is larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    let index = LineIndex::new(source);
    let mut reader = Reader::from_str(source);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<OpenElement> = Vec::new();
    let mut root: Option<XmlElement> = None;
    let mut element_count = 0usize;
    loop {
        let event_start = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|error| {
            let offset = usize::try_from(reader.error_position()).unwrap_or(0);
            ConfigError::at(index.position(offset), "", format!("not well-formed XML: {error}"))
        })?;
        let here = index.position(index.skip_whitespace(event_start));
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                return Err(ConfigError::at(here, start.name().as_ref(), "a second root element"));
            }
            Event::Start(start) => {
                element_count += 1;
                check_limits(stack.len() + 1, element_count, here, start.name().as_ref())?;
                let element = open_element(&start, source, &index, index.skip_whitespace(event_start))?;
                stack.push(OpenElement { element, text_offset: None });
            }
            Event::Empty(start) => {
                element_count += 1;
                check_limits(stack.len() + 1, element_count, here, start.name().as_ref())?;
                let element = open_element(&start, source, &index, index.skip_whitespace(event_start))?;
                close_element(&mut stack, &mut root, element);
            }
            Event::End(_) => {
                let Some(open) = stack.pop() else {
                    return Err(ConfigError::at(here, "", "an end tag without a start tag"));
                };
                let mut element = open.element;
                element.text_position =
                    open.text_offset.map(|offset| index.position(offset)).unwrap_or(element.position);
                element.text = element.text.trim().to_string();
                close_element(&mut stack, &mut root, element);
            }
            Event::Text(text) => append_text(&mut stack, &text.xml10_content(), event_start, &index, here)?,
            Event::CData(data) => {
                let content = data.into_inner().into_owned();
                append_text(&mut stack, &content, event_start, &index, here)?;
            }
            Event::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference).ok_or_else(|| {
                    ConfigError::at(here, "", format!("unknown entity &{};", reference.xml10_content()))
                })?;
                append_text(&mut stack, &resolved, event_start, &index, here)?;
            }
            Event::DocType(_) => return Err(ConfigError::at(here, "", "a DOCTYPE is not allowed")),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(ConfigError::at(open.element.position, &open.element.name, "the element is never closed"));
    }
    root.ok_or_else(|| ConfigError::at(Position { line: 1, column: 1 }, "", "the file has no root element"))
}

fn check_limits(depth: usize, element_count: usize, here: Position, name: &str) -> Result<(), ConfigError> {
    if depth > MAX_DEPTH {
        return Err(ConfigError::at(here, name, format!("elements nest deeper than {MAX_DEPTH}")));
    }
    if element_count > MAX_ELEMENTS {
        return Err(ConfigError::at(here, name, format!("more than {MAX_ELEMENTS} elements")));
    }
    Ok(())
}

fn open_element(
    start: &BytesStart,
    source: &str,
    index: &LineIndex,
    tag_offset: usize,
) -> Result<XmlElement, ConfigError> {
    let name = start.name().as_ref().to_string();
    let position = index.position(tag_offset);
    let tag_end = source[tag_offset..].find('>').map(|end| tag_offset + end).unwrap_or(source.len());
    let tag_text = &source[tag_offset..tag_end];
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute =
            attribute.map_err(|error| ConfigError::at(position, &name, format!("a malformed attribute: {error}")))?;
        let attribute_name = attribute.key.as_ref().to_string();
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|error| ConfigError::at(position, &name, format!("attribute {attribute_name}: {error}")))?
            .into_owned();
        let attribute_offset =
            find_attribute(tag_text, &attribute_name).map(|offset| tag_offset + offset).unwrap_or(tag_offset);
        attributes.push(XmlAttribute { name: attribute_name, value, position: index.position(attribute_offset) });
    }
    Ok(XmlElement { name, position, attributes, children: Vec::new(), text: String::new(), text_position: position })
}

/// The offset of `name=` inside a start tag, so an attribute error points at the attribute.
fn find_attribute(tag_text: &str, name: &str) -> Option<usize> {
    let bytes = tag_text.as_bytes();
    let mut search_from = 0;
    while let Some(found) = tag_text[search_from..].find(name) {
        let offset = search_from + found;
        let before_ok = offset > 0 && bytes[offset - 1].is_ascii_whitespace();
        let after = tag_text[offset + name.len()..].trim_start();
        if before_ok && after.starts_with('=') {
            return Some(offset);
        }
        search_from = offset + name.len();
    }
    None
}

fn close_element(stack: &mut [OpenElement], root: &mut Option<XmlElement>, element: XmlElement) {
    match stack.last_mut() {
        Some(parent) => parent.element.children.push(element),
        None => *root = Some(element),
    }
}

fn append_text(
    stack: &mut [OpenElement],
    content: &str,
    event_start: usize,
    index: &LineIndex,
    here: Position,
) -> Result<(), ConfigError> {
    match stack.last_mut() {
        Some(open) => {
            if open.text_offset.is_none() && !content.trim().is_empty() {
                open.text_offset = Some(index.skip_whitespace(event_start));
            }
            open.element.text.push_str(content);
            Ok(())
        }
        None if content.trim().is_empty() => Ok(()),
        None => Err(ConfigError::at(here, "", "text outside the root element")),
    }
}

fn resolve_reference(reference: &BytesRef) -> Option<String> {
    if let Ok(Some(character)) = reference.resolve_char_ref() {
        return Some(character.to_string());
    }
    resolve_predefined_entity(&reference.xml10_content()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_point_at_elements_and_attributes() {
        let source = "<A>\n  <B X=\"1\"  Y=\"two\">t &amp; u</B>\n  <C/>\n</A>";
        let root = parse_tree(source).unwrap();
        assert_eq!(root.position, Position { line: 1, column: 1 });
        let b = &root.children[0];
        assert_eq!(b.position, Position { line: 2, column: 3 });
        assert_eq!(b.text, "t & u");
        assert_eq!(b.attributes[1].name, "Y");
        assert_eq!(b.attributes[1].position, Position { line: 2, column: 13 });
        assert_eq!(root.children[1].position, Position { line: 3, column: 3 });
    }

    #[test]
    fn syntax_errors_name_a_position() {
        let error = parse_tree("<A>\n<B></C>\n</A>").unwrap_err().to_string();
        assert!(error.contains("line 2"), "{error}");
    }

    #[test]
    fn doctype_is_refused() {
        let error = parse_tree("<!DOCTYPE A [<!ENTITY x \"y\">]><A/>").unwrap_err().to_string();
        assert!(error.contains("DOCTYPE"), "{error}");
    }
}
