//! WS-Management request envelopes as PowerShell and pypsrp send them (SOAP 1.2): Create,
//! Command, Send, Receive, Signal and Delete on a PowerShell shell (= runspace pool).

use base64::Engine as _;
use quick_xml::escape::escape;
use uuid::Uuid;

use crate::wsman::names::{
    ACTION_COMMAND, ACTION_CREATE, ACTION_DELETE, ACTION_RECEIVE, ACTION_SEND, ACTION_SIGNAL, ADDRESS_ANONYMOUS,
    NS_ADDRESSING, NS_POWERSHELL, NS_SHELL, NS_SOAP, NS_WSMAN, NS_WSMAN_MICROSOFT,
};

/// What every request of one client carries in its header.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The endpoint URL (`wsa:To`).
    pub to: String,
    pub resource_uri: String,
    pub max_envelope_size_bytes: u32,
    pub operation_timeout_s: u32,
    /// Constant for the client (`wsmv:SessionId`).
    pub session_id: Uuid,
    /// `xml:lang` of Locale and DataLocale, e.g. `en-US`.
    pub locale: String,
}

/// An `<wsman:Option>`.
struct RequestOption<'a> {
    name: &'a str,
    value: &'a str,
    must_comply: bool,
}

/// Uppercase GUID text, as Windows writes ShellId and CommandId.
pub fn guid_text(guid: Uuid) -> String {
    guid.hyphenated().encode_upper(&mut Uuid::encode_buffer()).to_string()
}

fn base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

impl RequestContext {
    fn envelope(&self, action: &str, shell_id: Option<Uuid>, options: &[RequestOption<'_>], body: &str) -> String {
        let mut xml = String::with_capacity(1600 + body.len());
        xml.push_str(&format!(
            "<s:Envelope xmlns:rsp=\"{NS_SHELL}\" xmlns:s=\"{NS_SOAP}\" xmlns:wsa=\"{NS_ADDRESSING}\" \
             xmlns:wsman=\"{NS_WSMAN}\" xmlns:wsmv=\"{NS_WSMAN_MICROSOFT}\"><s:Header>"
        ));
        let locale = escape(self.locale.as_str());
        xml.push_str(&format!(
            "<wsa:Action s:mustUnderstand=\"true\">{action}</wsa:Action>\
             <wsmv:DataLocale s:mustUnderstand=\"false\" xml:lang=\"{locale}\" />\
             <wsman:Locale s:mustUnderstand=\"false\" xml:lang=\"{locale}\" />\
             <wsman:MaxEnvelopeSize s:mustUnderstand=\"true\">{}</wsman:MaxEnvelopeSize>\
             <wsa:MessageID>uuid:{}</wsa:MessageID>\
             <wsman:OperationTimeout>PT{}S</wsman:OperationTimeout>\
             <wsa:ReplyTo><wsa:Address s:mustUnderstand=\"true\">{ADDRESS_ANONYMOUS}</wsa:Address></wsa:ReplyTo>\
             <wsman:ResourceURI s:mustUnderstand=\"true\">{}</wsman:ResourceURI>\
             <wsmv:SessionId s:mustUnderstand=\"false\">uuid:{}</wsmv:SessionId>\
             <wsa:To>{}</wsa:To>",
            self.max_envelope_size_bytes,
            guid_text(Uuid::new_v4()),
            self.operation_timeout_s,
            escape(self.resource_uri.as_str()),
            guid_text(self.session_id),
            escape(self.to.as_str()),
        ));
        if !options.is_empty() {
            xml.push_str("<wsman:OptionSet s:mustUnderstand=\"true\">");
            for option in options {
                let must_comply = if option.must_comply { " MustComply=\"true\"" } else { "" };
                xml.push_str(&format!(
                    "<wsman:Option{must_comply} Name=\"{}\">{}</wsman:Option>",
                    escape(option.name),
                    escape(option.value)
                ));
            }
            xml.push_str("</wsman:OptionSet>");
        }
        if let Some(shell_id) = shell_id {
            xml.push_str(&format!(
                "<wsman:SelectorSet><wsman:Selector Name=\"ShellId\">{}</wsman:Selector></wsman:SelectorSet>",
                guid_text(shell_id)
            ));
        }
        xml.push_str("</s:Header>");
        if body.is_empty() {
            xml.push_str("<s:Body />");
        } else {
            xml.push_str("<s:Body>");
            xml.push_str(body);
            xml.push_str("</s:Body>");
        }
        xml.push_str("</s:Envelope>");
        xml
    }

    /// Create: opens the shell (runspace pool); `creation_data` = SESSION_CAPABILITY +
    /// INIT_RUNSPACEPOOL fragments. The ShellId is the runspace pool id.
    pub fn create(&self, shell_id: Uuid, protocol_version: &str, creation_data: &[u8]) -> String {
        let options = [RequestOption { name: "protocolversion", value: protocol_version, must_comply: true }];
        let body = format!(
            "<rsp:Shell ShellId=\"{}\"><rsp:InputStreams>stdin pr</rsp:InputStreams>\
             <rsp:OutputStreams>stdout</rsp:OutputStreams>\
             <creationXml xmlns=\"{NS_POWERSHELL}\">{}</creationXml></rsp:Shell>",
            guid_text(shell_id),
            base64(creation_data)
        );
        self.envelope(ACTION_CREATE, None, &options, &body)
    }

    /// Receive: output of the pool (no command) or of one pipeline.
    pub fn receive(&self, shell_id: Uuid, command_id: Option<Uuid>) -> String {
        let options = [RequestOption { name: "WSMAN_CMDSHELL_OPTION_KEEPALIVE", value: "True", must_comply: false }];
        let desired = match command_id {
            Some(command_id) => {
                format!("<rsp:DesiredStream CommandId=\"{}\">stdout</rsp:DesiredStream>", guid_text(command_id))
            }
            None => "<rsp:DesiredStream>stdout</rsp:DesiredStream>".to_string(),
        };
        self.envelope(ACTION_RECEIVE, Some(shell_id), &options, &format!("<rsp:Receive>{desired}</rsp:Receive>"))
    }

    /// Command: creates a pipeline; `arguments` = the first fragments of CREATE_PIPELINE.
    pub fn command(&self, shell_id: Uuid, command_id: Uuid, arguments: &[u8]) -> String {
        let options = [RequestOption { name: "WINRS_SKIP_CMD_SHELL", value: "False", must_comply: false }];
        let body = format!(
            "<rsp:CommandLine CommandId=\"{}\"><rsp:Command /><rsp:Arguments>{}</rsp:Arguments></rsp:CommandLine>",
            guid_text(command_id),
            base64(arguments)
        );
        self.envelope(ACTION_COMMAND, Some(shell_id), &options, &body)
    }

    /// Send: the remaining fragments of a pipeline's messages, on stdin.
    pub fn send(&self, shell_id: Uuid, command_id: Uuid, data: &[u8]) -> String {
        let body = format!(
            "<rsp:Send><rsp:Stream CommandId=\"{}\" Name=\"stdin\">{}</rsp:Stream></rsp:Send>",
            guid_text(command_id),
            base64(data)
        );
        self.envelope(ACTION_SEND, Some(shell_id), &[], &body)
    }

    /// Signal: `code` is [`SIGNAL_STOP_PIPELINE`](crate::wsman::names::SIGNAL_STOP_PIPELINE) or
    /// [`SIGNAL_TERMINATE`](crate::wsman::names::SIGNAL_TERMINATE).
    pub fn signal(&self, shell_id: Uuid, command_id: Uuid, code: &str) -> String {
        let body = format!(
            "<rsp:Signal CommandId=\"{}\"><rsp:Code>{}</rsp:Code></rsp:Signal>",
            guid_text(command_id),
            escape(code)
        );
        self.envelope(ACTION_SIGNAL, Some(shell_id), &[], &body)
    }

    /// Delete: closes the shell and frees its slot in the user's shell quota.
    pub fn delete(&self, shell_id: Uuid) -> String {
        self.envelope(ACTION_DELETE, Some(shell_id), &[], "")
    }

    /// The envelope bytes around the base64 payload of a Command or Send, so fragments can be
    /// sized to fit MaxEnvelopeSize.
    pub fn overhead_bytes(&self) -> usize {
        let command = self.command(Uuid::nil(), Uuid::nil(), &[]).len();
        command.max(self.send(Uuid::nil(), Uuid::nil(), &[]).len())
    }

    /// The largest fragment data (raw bytes, before base64) one Command or Send may carry.
    pub fn max_payload_bytes(&self) -> usize {
        // A margin for header values longer than the probe's (URLs, locales) and for Windows'
        // own accounting of the envelope.
        const MARGIN_BYTES: usize = 256;
        let room = (self.max_envelope_size_bytes as usize).saturating_sub(self.overhead_bytes() + MARGIN_BYTES);
        (room / 4 * 3).max(64)
    }
}
