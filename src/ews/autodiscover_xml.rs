//! Autodiscover's two dialects (reference/exchange.md 4.2): the POX request/reply
//! (`autodiscover.xml`) and the SOAP `GetUserSettings` request/reply (`autodiscover.svc`), read
//! into one `AutodiscoverAnswer`.

use url::Url;

use crate::ews::xml::{FlatElement, flatten, xml_text};

pub const POX_CONTENT_TYPE: &str = "text/xml; charset=utf-8";
pub const SOAP_ACTION_GET_USER_SETTINGS: &str =
    "\"http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings\"";

/// What one Autodiscover endpoint said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutodiscoverAnswer {
    EwsUrl(Url),
    /// Ask again for this address (its domain's endpoints).
    RedirectAddress(String),
    /// Ask this endpoint instead.
    RedirectUrl(Url),
    /// This endpoint does not know (an error reply): try the next one.
    NotHere(String),
}

pub fn pox_request(email: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="utf-8"?>"#,
            r#"<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">"#,
            r#"<Request><EMailAddress>{}</EMailAddress>"#,
            r#"<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>"#,
            r#"</Request></Autodiscover>"#
        ),
        xml_text(email)
    )
}

pub fn soap_request(email: &str, endpoint: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="utf-8"?>"#,
            r#"<soap:Envelope xmlns:a="http://schemas.microsoft.com/exchange/2010/Autodiscover""#,
            r#" xmlns:wsa="http://www.w3.org/2005/08/addressing""#,
            r#" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#,
            r#" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">"#,
            r#"<soap:Header><a:RequestedServerVersion>Exchange2010</a:RequestedServerVersion>"#,
            r#"<wsa:Action>http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings</wsa:Action>"#,
            r#"<wsa:To>{endpoint}</wsa:To></soap:Header>"#,
            r#"<soap:Body><a:GetUserSettingsRequestMessage><a:Request>"#,
            r#"<a:Users><a:User><a:Mailbox>{email}</a:Mailbox></a:User></a:Users>"#,
            r#"<a:RequestedSettings><a:Setting>InternalEwsUrl</a:Setting><a:Setting>ExternalEwsUrl</a:Setting></a:RequestedSettings>"#,
            r#"</a:Request></a:GetUserSettingsRequestMessage></soap:Body></soap:Envelope>"#
        ),
        endpoint = xml_text(endpoint),
        email = xml_text(email),
    )
}

fn text_inside<'a>(elements: &'a [FlatElement], name: &str, ancestor: &str) -> Option<&'a str> {
    elements
        .iter()
        .find(|element| element.name() == name && element.is_inside(ancestor))
        .map(|element| element.text.as_str())
        .filter(|text| !text.is_empty())
}

fn parse_url(text: &str, what: &str) -> Result<Url, String> {
    Url::parse(text.trim()).map_err(|error| format!("{what} {text:?} is not a URL: {error}"))
}

/// Reads a POX reply. The internal EWS URL (`EXCH`) is preferred: easgate runs inside.
pub fn parse_pox_reply(xml: &str) -> Result<AutodiscoverAnswer, String> {
    let elements = flatten(xml)?;
    if let Some(code) = text_inside(&elements, "ErrorCode", "Error") {
        let message = text_inside(&elements, "Message", "Error").unwrap_or("");
        return Ok(AutodiscoverAnswer::NotHere(format!("error {code}: {message}")));
    }
    match text_inside(&elements, "Action", "Account") {
        Some("redirectAddr") => {
            let address =
                text_inside(&elements, "RedirectAddr", "Account").ok_or("redirectAddr without RedirectAddr")?;
            Ok(AutodiscoverAnswer::RedirectAddress(address.to_string()))
        }
        Some("redirectUrl") => {
            let url = text_inside(&elements, "RedirectUrl", "Account").ok_or("redirectUrl without RedirectUrl")?;
            Ok(AutodiscoverAnswer::RedirectUrl(parse_url(url, "RedirectUrl")?))
        }
        Some("settings") | None => pox_ews_url(&elements),
        Some(other) => Ok(AutodiscoverAnswer::NotHere(format!("unknown Action {other:?}"))),
    }
}

fn pox_ews_url(elements: &[FlatElement]) -> Result<AutodiscoverAnswer, String> {
    let mut by_type: Vec<(String, String)> = Vec::new();
    let mut current_type = String::new();
    for element in elements.iter().filter(|element| element.is_inside("Protocol")) {
        match element.name() {
            "Type" => current_type = element.text.clone(),
            "EwsUrl" if !element.text.is_empty() => by_type.push((current_type.clone(), element.text.clone())),
            _ => {}
        }
    }
    let preferred = ["EXCH", "EXPR", "WEB"]
        .iter()
        .find_map(|wanted| by_type.iter().find(|(kind, _)| kind == wanted))
        .or(by_type.first());
    match preferred {
        Some((_, url)) => Ok(AutodiscoverAnswer::EwsUrl(parse_url(url, "EwsUrl")?)),
        None => Ok(AutodiscoverAnswer::NotHere("the reply names no EwsUrl".to_string())),
    }
}

/// Reads a SOAP `GetUserSettings` reply. `InternalEwsUrl` is preferred over `ExternalEwsUrl`.
pub fn parse_soap_reply(xml: &str) -> Result<AutodiscoverAnswer, String> {
    let elements = flatten(xml)?;
    if elements.iter().any(|element| element.name() == "Fault") {
        let message =
            elements.iter().find(|element| element.name() == "faultstring").map(|element| element.text.as_str());
        return Ok(AutodiscoverAnswer::NotHere(format!("SOAP fault: {}", message.unwrap_or(""))));
    }
    let user_code = text_inside(&elements, "ErrorCode", "UserResponse")
        .or_else(|| text_inside(&elements, "ErrorCode", "Response"))
        .unwrap_or("NoError");
    let target = text_inside(&elements, "RedirectTarget", "UserResponse");
    match (user_code, target) {
        ("RedirectAddress", Some(address)) => return Ok(AutodiscoverAnswer::RedirectAddress(address.to_string())),
        ("RedirectUrl", Some(url)) => return Ok(AutodiscoverAnswer::RedirectUrl(parse_url(url, "RedirectTarget")?)),
        ("NoError", _) => {}
        (code, _) => {
            let message = text_inside(&elements, "ErrorMessage", "UserResponse").unwrap_or("");
            return Ok(AutodiscoverAnswer::NotHere(format!("{code}: {message}")));
        }
    }
    let mut settings: Vec<(String, String)> = Vec::new();
    let mut name = String::new();
    for element in elements.iter().filter(|element| element.is_inside("UserSetting")) {
        match element.name() {
            "Name" => name = element.text.clone(),
            "Value" => settings.push((name.clone(), element.text.clone())),
            _ => {}
        }
    }
    let preferred = ["InternalEwsUrl", "ExternalEwsUrl"]
        .iter()
        .find_map(|wanted| settings.iter().find(|(setting, value)| setting == wanted && !value.is_empty()));
    match preferred {
        Some((_, url)) => Ok(AutodiscoverAnswer::EwsUrl(parse_url(url, "EwsUrl")?)),
        None => Ok(AutodiscoverAnswer::NotHere("the reply names no EWS URL".to_string())),
    }
}
