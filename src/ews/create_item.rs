//! EWS `CreateItem` with `MessageDisposition="SendAndSaveCopy"` (reference/exchange.md 4.1):
//! the SOAP 1.1 request, and the reply read as success, an EWS error (ResponseClass="Error"), a
//! SOAP fault, or ErrorServerBusy with its BackOffMilliseconds.

use crate::ews::xml::{FlatElement, first_text, flatten, xml_text};
use crate::mail::{Mail, MailError};

pub const SOAP_ACTION: &str = "\"http://schemas.microsoft.com/exchange/services/2006/messages/CreateItem\"";
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";
/// The oldest schema every supported Exchange (2010 SP3 on) understands.
pub const REQUEST_SERVER_VERSION: &str = "Exchange2010_SP2";

/// The SOAP envelope that sends `mail` and keeps a copy in Sent Items.
pub fn create_item_request(mail: &Mail) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="utf-8"?>"#,
            r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/""#,
            r#" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types""#,
            r#" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">"#,
            r#"<soap:Header><t:RequestServerVersion Version="{version}"/></soap:Header>"#,
            r#"<soap:Body><m:CreateItem MessageDisposition="SendAndSaveCopy">"#,
            r#"<m:SavedItemFolderId><t:DistinguishedFolderId Id="sentitems"/></m:SavedItemFolderId>"#,
            r#"<m:Items><t:Message>"#,
            r#"<t:Subject>{subject}</t:Subject>"#,
            r#"<t:Body BodyType="HTML">{body}</t:Body>"#,
            r#"<t:ToRecipients><t:Mailbox><t:EmailAddress>{to}</t:EmailAddress></t:Mailbox></t:ToRecipients>"#,
            r#"</t:Message></m:Items></m:CreateItem></soap:Body></soap:Envelope>"#
        ),
        version = REQUEST_SERVER_VERSION,
        subject = xml_text(&mail.subject),
        body = xml_text(&mail.html_body),
        to = xml_text(&mail.to),
    )
}

/// Reads a CreateItem reply body (HTTP 200, or 500 carrying a SOAP fault).
pub fn parse_create_item_reply(xml: &str) -> Result<(), MailError> {
    let elements = flatten(xml).map_err(|detail| MailError::Unreachable { detail: format!("EWS reply: {detail}") })?;
    if let Some(fault) = elements.iter().find(|element| element.name() == "Fault") {
        return Err(fault_error(&elements, fault));
    }
    let message = elements
        .iter()
        .find(|element| element.name() == "CreateItemResponseMessage")
        .ok_or_else(|| MailError::Unreachable { detail: "EWS reply has no CreateItemResponseMessage".to_string() })?;
    let class = message.attribute("ResponseClass").unwrap_or("");
    let code = first_text(&elements, "ResponseCode").unwrap_or("").to_string();
    if class == "Success" && (code.is_empty() || code == "NoError") {
        return Ok(());
    }
    let text = first_text(&elements, "MessageText").unwrap_or("").to_string();
    Err(ews_error(code, text, back_off_ms(&elements)))
}

fn fault_error(elements: &[FlatElement], _fault: &FlatElement) -> MailError {
    // The fault's own ResponseCode (in <detail>) is the precise one; faultcode carries a prefix.
    let code = first_text(elements, "ResponseCode")
        .map(str::to_string)
        .or_else(|| first_text(elements, "faultcode").map(|code| code.rsplit(':').next().unwrap_or(code).to_string()))
        .unwrap_or_else(|| "SoapFault".to_string());
    let message = first_text(elements, "faultstring").or_else(|| first_text(elements, "Message")).unwrap_or("");
    ews_error(code, message.to_string(), back_off_ms(elements))
}

fn ews_error(code: String, message: String, back_off_ms: Option<u64>) -> MailError {
    match code.as_str() {
        "ErrorServerBusy"
        | "ErrorTimeoutExpired"
        | "ErrorInternalServerTransientError"
        | "ErrorMailboxStoreUnavailable"
        | "ErrorConnectionFailed" => MailError::Busy { detail: format!("{code}: {message}"), back_off_ms },
        "ErrorAccessDenied" | "ErrorInvalidCredentials" | "ErrorNotAllowedExternalSharingByPolicy" => {
            MailError::Unauthorized { detail: format!("{code}: {message}") }
        }
        _ => MailError::Rejected { code: if code.is_empty() { "Unknown".to_string() } else { code }, message },
    }
}

/// `<t:Value Name="BackOffMilliseconds">N</t:Value>` inside `MessageXml`.
fn back_off_ms(elements: &[FlatElement]) -> Option<u64> {
    elements
        .iter()
        .find(|element| element.name() == "Value" && element.attribute("Name") == Some("BackOffMilliseconds"))
        .and_then(|element| element.text.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_escapes_html_and_keeps_the_disposition() {
        let mail = Mail {
            to: "alice@contoso.com".into(),
            subject: "Phone <blocked> & more".into(),
            html_body: "<p class=\"x\">Hi</p>".into(),
        };
        let request = create_item_request(&mail);
        assert!(request.contains(r#"MessageDisposition="SendAndSaveCopy""#));
        assert!(request.contains("<t:Subject>Phone &lt;blocked&gt; &amp; more</t:Subject>"));
        assert!(request.contains("&lt;p class=&quot;x&quot;&gt;Hi&lt;/p&gt;"));
        let elements = flatten(&request).unwrap();
        let body = elements.iter().find(|element| element.name() == "Body" && element.is_inside("Message")).unwrap();
        assert_eq!(body.text, "<p class=\"x\">Hi</p>");
    }
}
