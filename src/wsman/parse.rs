//! Reads any WS-Management envelope this project sends or receives (requests on the server side,
//! responses on the client side) by streaming quick-xml events: no document tree, base64
//! payloads decoded as their elements close. Elements are matched by local name, since Windows
//! and clients use different prefixes for the same namespaces.

use std::borrow::Cow;

use base64::Engine as _;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::wsman::error::WsmanError;
use crate::wsman::fault::WsmanFault;

/// How deep an envelope may nest; real ones stay under 10.
const MAX_ELEMENT_DEPTH: usize = 32;

/// The header fields easgate reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    pub action: String,
    pub message_id: Option<String>,
    pub relates_to: Option<String>,
    pub to: Option<String>,
    pub resource_uri: Option<String>,
    /// The `ShellId` selector.
    pub shell_id: Option<String>,
    pub max_envelope_size_bytes: Option<u32>,
    /// `OperationTimeout` in milliseconds (from `PT20S` / `PT20.500S`).
    pub operation_timeout_ms: Option<u64>,
    pub session_id: Option<String>,
    /// `wsman:Option` name -> value.
    pub options: Vec<(String, String)>,
}

/// A `<rsp:Stream>` with its decoded payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    pub name: String,
    pub command_id: Option<String>,
    pub data: Vec<u8>,
}

/// A `<rsp:CommandState>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandState {
    pub command_id: Option<String>,
    pub state: String,
    pub exit_code: Option<i64>,
}

/// The body, by what it holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Body {
    /// `rsp:Shell ShellId` (Create request) or the created shell's id (CreateResponse).
    pub shell_id: Option<String>,
    /// `creationXml` (Create request), decoded.
    pub creation_data: Option<Vec<u8>>,
    /// `CommandId` of a CommandLine, Receive's DesiredStream, Signal, or CommandResponse.
    pub command_id: Option<String>,
    /// `rsp:Arguments` (Command request), decoded.
    pub arguments: Option<Vec<u8>>,
    /// Streams of a Send request or a ReceiveResponse, in order.
    pub streams: Vec<Stream>,
    pub command_state: Option<CommandState>,
    /// `rsp:Code` of a Signal.
    pub signal_code: Option<String>,
    /// The local name of the first element in the body (`Shell`, `ReceiveResponse`, ...).
    pub first_element: Option<String>,
    pub fault: Option<WsmanFault>,
}

/// A parsed envelope.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Envelope {
    pub header: Header,
    pub body: Body,
}

/// Parses an envelope. Malformed XML, truncated base64 and a missing Envelope are typed errors.
pub fn parse_envelope(xml: &[u8]) -> Result<Envelope, WsmanError> {
    let text = std::str::from_utf8(xml)
        .map_err(|error| WsmanError::Malformed { detail: format!("the envelope is not UTF-8: {error}") })?;
    let mut parser = EnvelopeParser {
        reader: Reader::from_str(text),
        path: Vec::new(),
        text: Cow::Borrowed(""),
        envelope: Envelope::default(),
        saw_envelope: false,
    };
    parser.reader.config_mut().check_end_names = true;
    parser.run()?;
    if !parser.saw_envelope {
        return Err(WsmanError::Malformed { detail: "no s:Envelope element".to_string() });
    }
    Ok(parser.envelope)
}

struct EnvelopeParser<'x> {
    reader: Reader<&'x [u8]>,
    /// The open elements.
    path: Vec<Frame>,
    /// Text of the innermost open element; borrowed from the input when it is one piece (base64
    /// payloads of hundreds of KB are then never copied before decoding).
    text: Cow<'x, str>,
    envelope: Envelope,
    saw_envelope: bool,
}

/// An open element: its local name and its `Name` attribute (for Selector and Option).
struct Frame {
    local_name: String,
    name_attribute: Option<String>,
}

/// Attributes of interest on an opening tag.
#[derive(Default)]
struct TagAttributes {
    name: Option<String>,
    command_id: Option<String>,
    shell_id: Option<String>,
    state: Option<String>,
    code: Option<String>,
    machine: Option<String>,
}

impl<'x> EnvelopeParser<'x> {
    fn malformed(&self, detail: impl std::fmt::Display) -> WsmanError {
        WsmanError::Malformed { detail: format!("{detail} at byte {}", self.reader.buffer_position()) }
    }

    fn run(&mut self) -> Result<(), WsmanError> {
        // Bounded by the input: every event consumes bytes.
        loop {
            match self.reader.read_event().map_err(|error| self.malformed(error))? {
                Event::Start(start) => self.open(&start)?,
                Event::Empty(start) => {
                    self.open(&start)?;
                    self.close()?;
                }
                Event::End(_) => self.close()?,
                Event::Text(text) => append(&mut self.text, text.xml10_content()),
                Event::GeneralRef(reference) => {
                    let resolved = match reference.resolve_char_ref().map_err(|error| self.malformed(error))? {
                        Some(character) => character.to_string(),
                        None => quick_xml::escape::resolve_predefined_entity(&reference)
                            .ok_or_else(|| self.malformed(format!("unknown entity &{};", &*reference)))?
                            .to_string(),
                    };
                    self.text.to_mut().push_str(&resolved);
                }
                Event::CData(data) => append(&mut self.text, data.xml10_content()),
                Event::Eof => {
                    return match self.path.last() {
                        Some(open) => Err(self.malformed(format!("the envelope ends inside <{}>", open.local_name))),
                        None => Ok(()),
                    };
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
    }

    fn in_element(&self, local_name: &str) -> bool {
        self.path.iter().any(|frame| frame.local_name == local_name)
    }

    fn parent_is(&self, local_name: &str) -> bool {
        self.path.len() >= 2 && self.path[self.path.len() - 2].local_name == local_name
    }

    fn open(&mut self, start: &BytesStart<'x>) -> Result<(), WsmanError> {
        if self.path.len() >= MAX_ELEMENT_DEPTH {
            return Err(self.malformed(format!("elements nest deeper than {MAX_ELEMENT_DEPTH}")));
        }
        let local_name = start.local_name().as_ref().to_string();
        let attributes = self.attributes(start)?;
        self.text = Cow::Borrowed("");
        if local_name == "Envelope" && self.path.is_empty() {
            self.saw_envelope = true;
        }
        let in_body = self.in_element("Body");
        if self.path.last().is_some_and(|frame| frame.local_name == "Body")
            && self.envelope.body.first_element.is_none()
        {
            self.envelope.body.first_element = Some(local_name.clone());
        }
        let name_attribute = attributes.name.clone();
        if in_body {
            self.apply_body_attributes(&local_name, attributes);
        }
        self.path.push(Frame { local_name, name_attribute });
        Ok(())
    }

    fn attributes(&self, start: &BytesStart<'x>) -> Result<TagAttributes, WsmanError> {
        let mut attributes = TagAttributes::default();
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|error| self.malformed(error))?;
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|error| self.malformed(error))?
                .into_owned();
            match attribute.key.local_name().as_ref() {
                "Name" => attributes.name = Some(value),
                "CommandId" => attributes.command_id = Some(value),
                "ShellId" => attributes.shell_id = Some(value),
                "State" => attributes.state = Some(value),
                "Code" => attributes.code = Some(value),
                "Machine" => attributes.machine = Some(value),
                _ => {}
            }
        }
        Ok(attributes)
    }

    fn apply_body_attributes(&mut self, local_name: &str, attributes: TagAttributes) {
        let body = &mut self.envelope.body;
        match local_name {
            "Shell" if attributes.shell_id.is_some() => body.shell_id = attributes.shell_id,
            "CommandLine" | "DesiredStream" | "Signal" => body.command_id = attributes.command_id,
            "Stream" => body.streams.push(Stream {
                name: attributes.name.unwrap_or_default(),
                command_id: attributes.command_id,
                data: Vec::new(),
            }),
            "CommandState" => {
                body.command_state = Some(CommandState {
                    command_id: attributes.command_id,
                    state: attributes.state.unwrap_or_default(),
                    exit_code: None,
                })
            }
            "Fault" => body.fault = Some(WsmanFault::default()),
            "WSManFault" => {
                let fault = body.fault.get_or_insert_with(WsmanFault::default);
                fault.code = attributes.code.and_then(|code| code.trim().parse().ok());
                fault.machine = attributes.machine;
            }
            _ => {}
        }
    }

    fn close(&mut self) -> Result<(), WsmanError> {
        let Some(frame) = self.path.last() else {
            return Err(self.malformed("a closing tag with no opening tag"));
        };
        let text = std::mem::replace(&mut self.text, Cow::Borrowed(""));
        if self.in_element("Body") {
            self.close_body_element(&frame.local_name.clone(), text)?;
        } else if self.in_element("Header") {
            let name_attribute = frame.name_attribute.clone();
            self.close_header_element(&frame.local_name.clone(), name_attribute, text);
        }
        self.path.pop();
        Ok(())
    }

    fn close_header_element(&mut self, local_name: &str, name_attribute: Option<String>, text: Cow<'x, str>) {
        let direct_child_of_header = self.parent_is("Header");
        let header = &mut self.envelope.header;
        let text_value = || text.trim().to_string();
        match local_name {
            "Action" => header.action = text_value(),
            "MessageID" if direct_child_of_header => header.message_id = Some(text_value()),
            "RelatesTo" => header.relates_to = Some(text_value()),
            "To" if direct_child_of_header => header.to = Some(text_value()),
            "ResourceURI" => header.resource_uri = Some(text_value()),
            "SessionId" => header.session_id = Some(text_value()),
            "MaxEnvelopeSize" => header.max_envelope_size_bytes = text.trim().parse().ok(),
            "OperationTimeout" => {
                header.operation_timeout_ms = parse_duration_s(text.trim()).map(|seconds| (seconds * 1000.0) as u64)
            }
            "Selector" if name_attribute.as_deref() == Some("ShellId") => header.shell_id = Some(text_value()),
            "Option" => header.options.push((name_attribute.unwrap_or_default(), text_value())),
            _ => {}
        }
    }

    fn close_body_element(&mut self, local_name: &str, text: Cow<'x, str>) -> Result<(), WsmanError> {
        let in_fault = self.in_element("Fault");
        let parent_is_signal = self.parent_is("Signal");
        let parent_is_subcode = self.parent_is("Subcode");
        let parent_is_shell = self.parent_is("Shell");
        let selector_is_shell_id =
            self.path.last().is_some_and(|frame| frame.name_attribute.as_deref() == Some("ShellId"));
        match local_name {
            "creationXml" => self.envelope.body.creation_data = Some(self.decode_base64(local_name, &text)?),
            "Arguments" => self.envelope.body.arguments = Some(self.decode_base64(local_name, &text)?),
            "Stream" => {
                let data = self.decode_base64(local_name, &text)?;
                if let Some(stream) = self.envelope.body.streams.last_mut() {
                    stream.data = data;
                }
            }
            "ExitCode" => {
                if let Some(state) = self.envelope.body.command_state.as_mut() {
                    state.exit_code = text.trim().parse().ok();
                }
            }
            "CommandId" => self.envelope.body.command_id = Some(text.trim().to_string()),
            "ShellId" if parent_is_shell => self.envelope.body.shell_id = Some(text.trim().to_string()),
            "Selector" if selector_is_shell_id => self.envelope.body.shell_id = Some(text.trim().to_string()),
            "Code" if parent_is_signal => self.envelope.body.signal_code = Some(text.trim().to_string()),
            "Value" if in_fault && parent_is_subcode => {
                self.fault().subcode = Some(text.trim().to_string());
            }
            "Text" if in_fault => self.fault().reason = text.into_owned(),
            "Message" if in_fault => self.fault().message = Some(text.into_owned()),
            _ => {}
        }
        Ok(())
    }

    fn fault(&mut self) -> &mut WsmanFault {
        self.envelope.body.fault.get_or_insert_with(WsmanFault::default)
    }

    fn decode_base64(&self, element: &str, text: &str) -> Result<Vec<u8>, WsmanError> {
        let trimmed = text.trim_ascii();
        let compact: Cow<'_, [u8]> = if trimmed.bytes().any(|byte| byte.is_ascii_whitespace()) {
            Cow::Owned(trimmed.bytes().filter(|byte| !byte.is_ascii_whitespace()).collect())
        } else {
            Cow::Borrowed(trimmed.as_bytes())
        };
        base64::engine::general_purpose::STANDARD
            .decode(&compact)
            .map_err(|error| self.malformed(format!("invalid or truncated base64 in <{element}>: {error}")))
    }
}

/// Appends a piece of text, borrowing the first piece when it is the only one.
fn append<'x>(text: &mut Cow<'x, str>, part: Cow<'x, str>) {
    if text.is_empty() {
        *text = part;
    } else {
        text.to_mut().push_str(&part);
    }
}

/// Seconds of an xs:duration like `PT20S`, `PT20.500S`, `PT1M30S` or `P0DT0H0M5S`.
pub fn parse_duration_s(text: &str) -> Option<f64> {
    let rest = text.strip_prefix('P')?;
    let (days_part, time_part) = match rest.split_once('T') {
        Some((days, time)) => (days, time),
        None => (rest, ""),
    };
    let mut seconds = 0.0;
    if let Some(days) = days_part.strip_suffix('D') {
        seconds += days.parse::<f64>().ok()? * 86_400.0;
    } else if !days_part.is_empty() {
        return None;
    }
    let mut number = String::new();
    for character in time_part.chars() {
        let unit_s = match character {
            'H' => 3_600.0,
            'M' => 60.0,
            'S' => 1.0,
            _ => {
                number.push(character);
                continue;
            }
        };
        seconds += number.parse::<f64>().ok()? * unit_s;
        number.clear();
    }
    number.is_empty().then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receive_response(stream_text: &str) -> String {
        format!(
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:rsp=\"x\"><s:Header><a:Action xmlns:a=\"y\">\
             http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse</a:Action></s:Header><s:Body>\
             <rsp:ReceiveResponse><rsp:Stream Name=\"stdout\" CommandId=\"C\">{stream_text}</rsp:Stream>\
             <rsp:CommandState CommandId=\"C\" State=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done\">\
             <rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse></s:Body></s:Envelope>"
        )
    }

    #[test]
    fn a_receive_response_yields_its_streams_and_state() {
        let envelope = parse_envelope(receive_response("aGk=").as_bytes()).unwrap();
        assert_eq!(envelope.header.action, "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse");
        assert_eq!(
            envelope.body.streams,
            vec![Stream { name: "stdout".to_string(), command_id: Some("C".to_string()), data: b"hi".to_vec() }]
        );
        let state = envelope.body.command_state.unwrap();
        assert!(state.state.ends_with("/Done"));
        assert_eq!(state.exit_code, Some(0));
    }

    #[test]
    fn bad_envelopes_are_typed_errors_naming_the_problem() {
        let truncated_base64 = parse_envelope(receive_response("aGk").as_bytes()).unwrap_err();
        assert!(truncated_base64.to_string().contains("base64 in <Stream>"), "{truncated_base64}");
        let cut = receive_response("aGk=");
        let truncated = parse_envelope(&cut.as_bytes()[..cut.len() / 2]).unwrap_err();
        assert!(matches!(truncated, WsmanError::Malformed { .. }), "{truncated}");
        assert!(parse_envelope(b"<html><body>404</body></html>").is_err());
        assert!(parse_envelope(b"\xFF\xFE").is_err());
        assert!(parse_envelope(b"<s:Envelope><s:Body></s:Header></s:Envelope>").is_err());
    }

    #[test]
    fn durations_parse_to_seconds() {
        assert_eq!(parse_duration_s("PT20S"), Some(20.0));
        assert_eq!(parse_duration_s("PT7200.000S"), Some(7200.0));
        assert_eq!(parse_duration_s("P0DT0H1M5S"), Some(65.0));
        assert_eq!(parse_duration_s("20"), None);
    }
}
