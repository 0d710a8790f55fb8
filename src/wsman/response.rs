//! WS-Management reply envelopes as a Windows WinRM service writes them (the shapes of the
//! pypsrp captures): CreateResponse, CommandResponse, ReceiveResponse, the empty responses, and
//! SOAP faults with a `WSManFault` detail.

use base64::Engine as _;
use quick_xml::escape::escape;
use uuid::Uuid;

use crate::wsman::fault::WsmanFault;
use crate::wsman::names::{
    ACTION_FAULT, ADDRESS_ANONYMOUS, NS_ADDRESSING, NS_SHELL, NS_SOAP, NS_TRANSFER, NS_WSMAN, NS_WSMAN_FAULT,
    NS_WSMAN_MICROSOFT,
};
use crate::wsman::request::guid_text;

/// The bytes of a ReceiveResponse around its streams, for sizing replies to MaxEnvelopeSize.
pub const RECEIVE_RESPONSE_OVERHEAD_BYTES: usize = 1_400;

/// The bytes one `<rsp:Stream>` adds around its base64 text.
pub const STREAM_OVERHEAD_BYTES: usize = 100;

fn envelope(action: &str, relates_to: Option<&str>, body: &str) -> String {
    let relates_to =
        relates_to.map(|message_id| format!("<a:RelatesTo>{}</a:RelatesTo>", escape(message_id))).unwrap_or_default();
    format!(
        "<s:Envelope xml:lang=\"en-US\" xmlns:s=\"{NS_SOAP}\" xmlns:a=\"{NS_ADDRESSING}\" xmlns:x=\"{NS_TRANSFER}\" \
         xmlns:w=\"{NS_WSMAN}\" xmlns:rsp=\"{NS_SHELL}\" xmlns:p=\"{NS_WSMAN_MICROSOFT}\"><s:Header>\
         <a:Action>{action}</a:Action><a:MessageID>uuid:{}</a:MessageID>\
         <a:To>{ADDRESS_ANONYMOUS}</a:To>{relates_to}</s:Header><s:Body>{body}</s:Body></s:Envelope>",
        guid_text(Uuid::new_v4()),
    )
}

/// The reply to `request_action` with nothing in the body (Send, Signal, Delete).
pub fn empty_response(request_action: &str, relates_to: Option<&str>) -> String {
    let action = format!("{request_action}Response");
    let body = match request_action.rsplit('/').next() {
        Some("Send") => "<rsp:SendResponse/>",
        Some("Signal") => "<rsp:SignalResponse/>",
        _ => "",
    };
    envelope(&action, relates_to, body)
}

/// CreateResponse: the new shell's address and properties.
pub fn create_response(relates_to: Option<&str>, url: &str, resource_uri: &str, shell_id: Uuid, owner: &str) -> String {
    let shell_id = guid_text(shell_id);
    let body = format!(
        "<x:ResourceCreated><a:Address>{url}</a:Address><a:ReferenceParameters><w:ResourceURI>{resource_uri}</w:ResourceURI>\
         <w:SelectorSet><w:Selector Name=\"ShellId\">{shell_id}</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>\
         <rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId><rsp:ResourceUri>{resource_uri}</rsp:ResourceUri>\
         <rsp:Owner>{owner}</rsp:Owner><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin pr</rsp:InputStreams>\
         <rsp:OutputStreams>stdout</rsp:OutputStreams><rsp:State>Connected</rsp:State></rsp:Shell>",
        url = escape(url),
        resource_uri = escape(resource_uri),
        owner = escape(owner),
    );
    envelope(&format!("{}Response", crate::wsman::names::ACTION_CREATE), relates_to, &body)
}

/// CommandResponse: the pipeline's CommandId.
pub fn command_response(relates_to: Option<&str>, command_id: Uuid) -> String {
    let body =
        format!("<rsp:CommandResponse><rsp:CommandId>{}</rsp:CommandId></rsp:CommandResponse>", guid_text(command_id));
    envelope(&format!("{}Response", crate::wsman::names::ACTION_COMMAND), relates_to, &body)
}

/// ReceiveResponse: one `<rsp:Stream>` per fragment blob and, when the command is finished,
/// `CommandState Done`.
pub fn receive_response(relates_to: Option<&str>, command_id: Option<Uuid>, streams: &[Vec<u8>], done: bool) -> String {
    let command_attribute = command_id.map(|id| format!(" CommandId=\"{}\"", guid_text(id))).unwrap_or_default();
    let mut body = String::with_capacity(
        streams.iter().map(|stream| stream.len() * 4 / 3 + STREAM_OVERHEAD_BYTES).sum::<usize>() + 400,
    );
    body.push_str("<rsp:ReceiveResponse>");
    for stream in streams {
        body.push_str(&format!("<rsp:Stream Name=\"stdout\"{command_attribute}>"));
        base64::engine::general_purpose::STANDARD.encode_string(stream, &mut body);
        body.push_str("</rsp:Stream>");
    }
    if done {
        body.push_str(&format!(
            "<rsp:CommandState{command_attribute} State=\"{}\"><rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState>",
            crate::wsman::names::COMMAND_STATE_DONE
        ));
    }
    body.push_str("</rsp:ReceiveResponse>");
    envelope(&format!("{}Response", crate::wsman::names::ACTION_RECEIVE), relates_to, &body)
}

/// A SOAP fault with WSManFault detail, like Windows sends with HTTP 500.
pub fn fault_envelope(relates_to: Option<&str>, fault: &WsmanFault) -> String {
    let subcode = fault.subcode.as_deref().unwrap_or("w:InternalError");
    let code_attribute = fault.code.map(|code| format!(" Code=\"{code}\"")).unwrap_or_default();
    let message = fault.message.as_deref().unwrap_or(&fault.reason);
    let body = format!(
        "<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code>\
         <s:Reason><s:Text xml:lang=\"en-US\">{reason}</s:Text></s:Reason><s:Detail>\
         <f:WSManFault xmlns:f=\"{NS_WSMAN_FAULT}\"{code_attribute} Machine=\"{machine}\"><f:Message>{message}</f:Message></f:WSManFault>\
         </s:Detail></s:Fault>",
        subcode = escape(subcode),
        reason = escape(fault.reason.as_str()),
        machine = escape(fault.machine.as_deref().unwrap_or("localhost")),
        message = escape(message),
    );
    envelope(ACTION_FAULT, relates_to, &body)
}
