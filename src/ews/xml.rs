//! Small XML helpers for EWS and Autodiscover: escaping text for an XML 1.0 document (characters
//! XML forbids are replaced, since one would make Exchange refuse the whole request), and a flat
//! reader that yields (path of local names, attributes, text) for picking values out of replies.

use quick_xml::Reader;
use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::Event;

/// The largest reply easgate parses.
pub const MAX_REPLY_BYTES: usize = 4 * 1024 * 1024;
const MAX_DEPTH: usize = 64;
const MAX_EVENTS: usize = 200_000;

/// `text` escaped for XML content or an attribute value.
pub fn xml_text(text: &str) -> String {
    let cleaned: String =
        text.chars().map(|character| if is_xml_char(character) { character } else { '\u{FFFD}' }).collect();
    escape(cleaned.as_str()).into_owned()
}

fn is_xml_char(character: char) -> bool {
    matches!(character, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// One element seen in a reply: its path of local names (outermost first), its attributes
/// (local names) and its direct text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlatElement {
    pub path: Vec<String>,
    pub attributes: Vec<(String, String)>,
    pub text: String,
}

impl FlatElement {
    pub fn name(&self) -> &str {
        self.path.last().map(String::as_str).unwrap_or("")
    }
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
    /// Whether the element sits inside an element of that local name.
    pub fn is_inside(&self, ancestor: &str) -> bool {
        self.path[..self.path.len().saturating_sub(1)].iter().any(|name| name == ancestor)
    }
}

fn local_name(qualified: &str) -> String {
    qualified.rsplit(':').next().unwrap_or(qualified).to_string()
}

/// Every element of `xml` in document order (namespace prefixes dropped), or why it is not XML.
pub fn flatten(xml: &str) -> Result<Vec<FlatElement>, String> {
    if xml.len() > MAX_REPLY_BYTES {
        return Err(format!("the reply is larger than {MAX_REPLY_BYTES} bytes"));
    }
    let mut reader = Reader::from_str(xml);
    let mut open: Vec<usize> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut elements: Vec<FlatElement> = Vec::new();
    for _ in 0..MAX_EVENTS {
        let event = reader.read_event().map_err(|error| format!("not well-formed XML: {error}"))?;
        match event {
            Event::Start(start) | Event::Empty(start) if open.len() >= MAX_DEPTH => {
                return Err(format!("elements nest deeper than {MAX_DEPTH} at <{}>", start.name().as_ref()));
            }
            Event::Start(start) => {
                path.push(local_name(start.name().as_ref()));
                elements.push(FlatElement { path: path.clone(), attributes: attributes(&start)?, text: String::new() });
                open.push(elements.len() - 1);
            }
            Event::Empty(start) => {
                let mut element_path = path.clone();
                element_path.push(local_name(start.name().as_ref()));
                elements.push(FlatElement { path: element_path, attributes: attributes(&start)?, text: String::new() });
            }
            Event::End(_) => {
                path.pop();
                if let Some(index) = open.pop() {
                    let text = elements[index].text.trim().to_string();
                    elements[index].text = text;
                }
            }
            Event::Text(text) => append(&mut elements, &open, &text.xml10_content()),
            Event::CData(data) => append(&mut elements, &open, &data.into_inner()),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(character)) => character.to_string(),
                    _ => resolve_predefined_entity(&reference.xml10_content())
                        .map(str::to_string)
                        .ok_or_else(|| format!("unknown entity &{};", reference.xml10_content()))?,
                };
                append(&mut elements, &open, &resolved);
            }
            Event::DocType(_) => return Err("a DOCTYPE is not accepted".to_string()),
            Event::Eof => return Ok(elements),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    Err(format!("more than {MAX_EVENTS} XML events"))
}

fn append(elements: &mut [FlatElement], open: &[usize], text: &str) {
    if let Some(index) = open.last() {
        elements[*index].text.push_str(text);
    }
}

fn attributes(start: &quick_xml::events::BytesStart) -> Result<Vec<(String, String)>, String> {
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|error| format!("a malformed attribute: {error}"))?;
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|error| format!("a malformed attribute value: {error}"))?;
        attributes.push((local_name(attribute.key.as_ref()), value.into_owned()));
    }
    Ok(attributes)
}

/// The text of the first element with that local name, if any.
pub fn first_text<'a>(elements: &'a [FlatElement], name: &str) -> Option<&'a str> {
    elements.iter().find(|element| element.name() == name).map(|element| element.text.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_forbidden_characters_replaced() {
        assert_eq!(xml_text("<b>&\"x\"</b>\u{1}"), "&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;\u{FFFD}");
    }

    #[test]
    fn flatten_drops_prefixes_and_resolves_entities() {
        let elements = flatten("<s:A xmlns:s='u'><s:B N='v'>x &amp; y</s:B><C/></s:A>").unwrap();
        assert_eq!(elements[1].path, vec!["A", "B"]);
        assert_eq!(elements[1].attribute("N"), Some("v"));
        assert_eq!(elements[1].text, "x & y");
        assert_eq!(elements[2].name(), "C");
    }
}
