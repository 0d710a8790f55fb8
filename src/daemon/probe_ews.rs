//! `easgate check`'s EWS probe: proves the notification account is accepted without sending a
//! mail, with a harmless `GetFolder` of the account's own Sent Items (the folder notifications
//! are saved to) at the EWS URL (configured, or found by Autodiscover).

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use url::Url;

use crate::ews::EwsSettings;
use crate::ews::xml::{first_text, flatten};

const GET_FOLDER_ACTION: &str = "\"http://schemas.microsoft.com/exchange/services/2006/messages/GetFolder\"";

/// The SOAP request: Sent Items, its id only.
pub fn get_folder_request() -> String {
    concat!(
        r#"<?xml version="1.0" encoding="utf-8"?>"#,
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/""#,
        r#" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types""#,
        r#" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">"#,
        r#"<soap:Header><t:RequestServerVersion Version="Exchange2010_SP2"/></soap:Header>"#,
        r#"<soap:Body><m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"#,
        r#"<m:FolderIds><t:DistinguishedFolderId Id="sentitems"/></m:FolderIds></m:GetFolder></soap:Body>"#,
        r#"</soap:Envelope>"#
    )
    .to_string()
}

/// Whether a reply says the request was served: its response message is `Success`.
pub fn reply_accepted(xml: &str) -> Result<(), String> {
    let elements = flatten(xml).map_err(|detail| format!("the reply is not XML: {detail}"))?;
    if elements.iter().any(|element| element.name() == "Fault") {
        let message = first_text(&elements, "faultstring").unwrap_or("a SOAP fault");
        return Err(format!("EWS answered with a fault: {message}"));
    }
    let message = elements
        .iter()
        .find(|element| element.name().ends_with("ResponseMessage") && element.attribute("ResponseClass").is_some())
        .ok_or_else(|| "the reply has no EWS response message".to_string())?;
    let code = first_text(&elements, "ResponseCode").unwrap_or("");
    if message.attribute("ResponseClass") == Some("Success") && (code.is_empty() || code == "NoError") {
        return Ok(());
    }
    let text = first_text(&elements, "MessageText").unwrap_or("");
    Err(format!("EWS refused: {code}: {text}"))
}

/// Sends the probe as the notification account. `Err` says why the account cannot send.
pub async fn probe_account(settings: &EwsSettings, ews_url: &Url) -> Result<(), String> {
    let client = settings.http_client().map_err(|error| error.to_string())?;
    let password = settings.password.read().map_err(|error| error.to_string())?;
    let response = client
        .post(ews_url.clone())
        .header(CONTENT_TYPE, crate::ews::create_item::CONTENT_TYPE)
        .header("SOAPAction", GET_FOLDER_ACTION)
        .basic_auth(&settings.account, Some(password.expose()))
        .body(get_folder_request())
        .send()
        .await
        .map_err(|error| format!("{ews_url} is unreachable: {}", crate::ews::describe_reqwest_error(&error)))?;
    let status = response.status();
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        return Err(format!("{ews_url} refused the account {} ({status})", settings.account));
    }
    let body = crate::ews::read_text_limited(response, crate::ews::xml::MAX_REPLY_BYTES).await?;
    if !status.is_success() && status != StatusCode::INTERNAL_SERVER_ERROR {
        return Err(format!("{ews_url} answered {status}"));
    }
    reply_accepted(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_and_errors_are_told_apart() {
        let success = r#"<Envelope><Body><GetFolderResponse><ResponseMessages>
            <GetFolderResponseMessage ResponseClass="Success"><ResponseCode>NoError</ResponseCode>
            </GetFolderResponseMessage></ResponseMessages></GetFolderResponse></Body></Envelope>"#;
        assert_eq!(reply_accepted(success), Ok(()));
        let error = r#"<Envelope><Body><GetFolderResponse><ResponseMessages>
            <GetFolderResponseMessage ResponseClass="Error"><MessageText>No mailbox</MessageText>
            <ResponseCode>ErrorNonExistentMailbox</ResponseCode></GetFolderResponseMessage>
            </ResponseMessages></GetFolderResponse></Body></Envelope>"#;
        assert_eq!(reply_accepted(error), Err("EWS refused: ErrorNonExistentMailbox: No mailbox".into()));
        assert!(reply_accepted("<html/>").is_err());
        assert!(flatten(&get_folder_request()).is_ok());
    }
}
