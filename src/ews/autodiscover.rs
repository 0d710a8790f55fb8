//! Finds the EWS URL of the notification account with Autodiscover, in the candidate order of
//! reference/exchange.md 4.2 that needs neither AD (SCP) nor DNS SRV:
//! `https://<domain>/autodiscover/autodiscover.xml`, `https://autodiscover.<domain>/...`, then an
//! unauthenticated `GET http://autodiscover.<domain>/autodiscover/autodiscover.xml` whose redirect
//! to https is followed. Each https host is asked in POX, then SOAP (`.svc`). redirectAddr and
//! redirectUrl are followed up to a hop limit. Credentials are only ever sent over https.

use std::collections::VecDeque;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use url::Url;

use crate::config::secret::Secret;
use crate::ews::autodiscover_xml::*;
use crate::mail::MailError;

/// Redirects (address or URL) followed before giving up.
pub const DEFAULT_MAX_HOPS: u32 = 10;
/// Endpoints asked in one discovery, redirects included.
const MAX_ENDPOINTS: usize = 64;
const MAX_REPLY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Pox,
    Soap,
}

/// One place to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Candidate {
    /// POST with credentials (https only).
    Endpoint { url: String, dialect: Dialect },
    /// Unauthenticated GET whose https redirect becomes an endpoint.
    HttpRedirect { url: String },
}

/// The candidates for an address's domain, in order.
pub fn candidates(domain: &str) -> Vec<Candidate> {
    let domain = domain.trim().to_ascii_lowercase();
    let mut list = Vec::new();
    for host in [domain.clone(), format!("autodiscover.{domain}")] {
        list.push(Candidate::Endpoint {
            url: format!("https://{host}/autodiscover/autodiscover.xml"),
            dialect: Dialect::Pox,
        });
        list.push(Candidate::Endpoint {
            url: format!("https://{host}/autodiscover/autodiscover.svc"),
            dialect: Dialect::Soap,
        });
    }
    list.push(Candidate::HttpRedirect { url: format!("http://autodiscover.{domain}/autodiscover/autodiscover.xml") });
    list
}

/// Runs Autodiscover for `account` and returns its EWS URL.
pub async fn discover_ews_url(
    client: &reqwest::Client,
    account: &str,
    password: &Secret,
    max_hops: u32,
) -> Result<Url, MailError> {
    let mut address = account.to_string();
    let mut hops = 0u32;
    let mut asked = 0usize;
    let mut failures: Vec<String> = Vec::new();
    let mut refused = false;
    let mut queue: VecDeque<Candidate> = candidates(domain_of(&address)?).into();
    while let Some(candidate) = queue.pop_front() {
        asked += 1;
        if asked > MAX_ENDPOINTS {
            break;
        }
        let (url, dialect) = match candidate {
            Candidate::Endpoint { url, dialect } => (url, dialect),
            Candidate::HttpRedirect { url } => match follow_http_redirect(client, &url).await {
                Ok(endpoint) => (endpoint.clone(), dialect_of(&endpoint)),
                Err(reason) => {
                    failures.push(format!("{url}: {reason}"));
                    continue;
                }
            },
        };
        let answer = match ask(client, &url, dialect, &address, account, password).await {
            Ok(answer) => answer,
            Err(EndpointFailure::Refused(reason)) => {
                refused = true;
                failures.push(format!("{url}: {reason}"));
                continue;
            }
            Err(EndpointFailure::Other(reason)) => {
                failures.push(format!("{url}: {reason}"));
                continue;
            }
        };
        match answer {
            AutodiscoverAnswer::EwsUrl(ews_url) if ews_url.scheme() == "https" => return Ok(ews_url),
            AutodiscoverAnswer::EwsUrl(ews_url) => failures.push(format!("{url}: EWS URL {ews_url} is not https")),
            AutodiscoverAnswer::NotHere(reason) => failures.push(format!("{url}: {reason}")),
            AutodiscoverAnswer::RedirectAddress(next) => {
                hops += 1;
                check_hops(hops, max_hops, &failures)?;
                address = next;
                queue = candidates(domain_of(&address)?).into();
            }
            AutodiscoverAnswer::RedirectUrl(next) if next.scheme() == "https" => {
                hops += 1;
                check_hops(hops, max_hops, &failures)?;
                let dialect = dialect_of(next.as_str());
                queue.push_front(Candidate::Endpoint { url: next.to_string(), dialect });
            }
            AutodiscoverAnswer::RedirectUrl(next) => failures.push(format!("{url}: redirect to {next} is not https")),
        }
    }
    let detail = format!("Autodiscover found no EWS URL for {account}: {}", failures.join("; "));
    if refused { Err(MailError::Unauthorized { detail }) } else { Err(MailError::Unreachable { detail }) }
}

fn check_hops(hops: u32, max_hops: u32, failures: &[String]) -> Result<(), MailError> {
    if hops > max_hops {
        return Err(MailError::Unreachable {
            detail: format!("Autodiscover redirected more than {max_hops} times; {}", failures.join("; ")),
        });
    }
    Ok(())
}

fn domain_of(address: &str) -> Result<&str, MailError> {
    match address.rsplit_once('@') {
        Some((_, domain)) if !domain.is_empty() => Ok(domain),
        _ => Err(MailError::Unreachable { detail: format!("{address:?} is not an SMTP address") }),
    }
}

fn dialect_of(url: &str) -> Dialect {
    if url.to_ascii_lowercase().split('?').next().unwrap_or("").ends_with(".svc") {
        Dialect::Soap
    } else {
        Dialect::Pox
    }
}

enum EndpointFailure {
    /// 401/403: the account's credentials were refused here.
    Refused(String),
    Other(String),
}

async fn ask(
    client: &reqwest::Client,
    url: &str,
    dialect: Dialect,
    address: &str,
    account: &str,
    password: &Secret,
) -> Result<AutodiscoverAnswer, EndpointFailure> {
    if !url.starts_with("https://") {
        return Err(EndpointFailure::Other("not https: credentials are not sent".to_string()));
    }
    let (body, request) = match dialect {
        Dialect::Pox => (pox_request(address), client.post(url)),
        Dialect::Soap => {
            (soap_request(address, url), client.post(url).header("SOAPAction", SOAP_ACTION_GET_USER_SETTINGS))
        }
    };
    let response = request
        .header(CONTENT_TYPE, POX_CONTENT_TYPE)
        .basic_auth(account, Some(password.expose()))
        .body(body)
        .send()
        .await
        .map_err(|error| EndpointFailure::Other(crate::ews::describe_reqwest_error(&error)))?;
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Err(EndpointFailure::Refused(format!("answered {status}")));
    }
    // SOAP Autodiscover reports some errors as a 500 with a fault body, which the parser reads.
    let soap_fault = dialect == Dialect::Soap && status == StatusCode::INTERNAL_SERVER_ERROR;
    if !status.is_success() && !soap_fault {
        return Err(EndpointFailure::Other(format!("answered {status}")));
    }
    let body = crate::ews::read_text_limited(response, MAX_REPLY_BYTES).await.map_err(EndpointFailure::Other)?;
    let parsed = match dialect {
        Dialect::Pox => parse_pox_reply(&body),
        Dialect::Soap => parse_soap_reply(&body),
    };
    parsed.map_err(EndpointFailure::Other)
}

/// The unauthenticated http GET: only a redirect to an https URL is used.
async fn follow_http_redirect(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let response = client.get(url).send().await.map_err(|error| crate::ews::describe_reqwest_error(&error))?;
    let status = response.status();
    if !status.is_redirection() {
        return Err(format!("answered {status}, not a redirect"));
    }
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| "a redirect without Location".to_string())?;
    let target = Url::parse(location).map_err(|error| format!("redirect Location {location:?}: {error}"))?;
    if target.scheme() != "https" {
        return Err(format!("redirect to {target} is not https"));
    }
    Ok(target.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_follow_the_documented_order() {
        let list = candidates("Contoso.com");
        let urls: Vec<String> = list
            .iter()
            .map(|candidate| match candidate {
                Candidate::Endpoint { url, .. } | Candidate::HttpRedirect { url } => url.clone(),
            })
            .collect();
        assert_eq!(
            urls,
            vec![
                "https://contoso.com/autodiscover/autodiscover.xml",
                "https://contoso.com/autodiscover/autodiscover.svc",
                "https://autodiscover.contoso.com/autodiscover/autodiscover.xml",
                "https://autodiscover.contoso.com/autodiscover/autodiscover.svc",
                "http://autodiscover.contoso.com/autodiscover/autodiscover.xml",
            ]
        );
    }
}
