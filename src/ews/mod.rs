//! The EWS mailer: `EwsMailer` implements `crate::mail::Mailer` by sending the notification with
//! EWS `CreateItem` (`SendAndSaveCopy`) as the notification account (Basic auth over https; the
//! password is read from its source for each mail and never logged), at the configured
//! `ExchangeWebServiceURL` or the one Autodiscover finds.
//!
//! Code map: `create_item` (request and reply), `autodiscover` (candidates, redirects),
//! `autodiscover_xml` (POX and SOAP dialects), `template` (the notification HTML), `xml`
//! (escaping, a flat reply reader).

pub mod autodiscover;
pub mod autodiscover_xml;
pub mod create_item;
pub mod xml;

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use tokio::sync::Mutex;
use url::Url;

use crate::config::model::{ConnectorConfig, ProxyConfig};
use crate::config::secret::SecretSource;
use crate::mail::{Mail, MailError, Mailer};

pub use crate::mail::template::{NotificationDetails, notification_html, notification_mail};

/// What the mailer needs.
#[derive(Debug, Clone, PartialEq)]
pub struct EwsSettings {
    /// The notification account's SMTP address, also its user name.
    pub account: String,
    pub password: SecretSource,
    /// `None`: Autodiscover from the account's domain.
    pub ews_url: Option<Url>,
    pub tls_verify: bool,
    /// Extra CA certificates (PEM) to trust.
    pub trusted_ca_pem: Option<Vec<u8>>,
    pub proxy: Option<ProxyConfig>,
    pub request_timeout: Duration,
    pub max_autodiscover_hops: u32,
}

/// Why the mailer cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EwsBuildError {
    /// A trusted CA file or proxy that cannot be used. **Handling:** exit 2 / report in `check`.
    #[error("EWS mailer: {detail}")]
    Invalid { detail: String },
}

impl EwsSettings {
    /// The mailer settings of a connector; `None` when it has no `<Notification>`.
    pub fn from_connector(connector: &ConnectorConfig) -> Result<Option<EwsSettings>, EwsBuildError> {
        let Some(notification) = &connector.notification else {
            return Ok(None);
        };
        let trusted_ca_pem = match &connector.trusted_ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|error| EwsBuildError::Invalid {
                detail: format!("TrustedCaFile {}: {error}", path.display()),
            })?),
            None => None,
        };
        Ok(Some(EwsSettings {
            account: notification.account.clone(),
            password: notification.password.clone(),
            ews_url: notification.exchange_web_service_url.clone(),
            tls_verify: connector.tls_verify,
            trusted_ca_pem,
            proxy: connector.proxy.clone(),
            request_timeout: Duration::from_secs(60),
            max_autodiscover_hops: autodiscover::DEFAULT_MAX_HOPS,
        }))
    }

    /// The HTTP client these settings ask for: rustls, no automatic redirects (credentials
    /// must not follow one), the extra CA, the proxy.
    pub fn http_client(&self) -> Result<reqwest::Client, EwsBuildError> {
        let invalid = |detail: String| EwsBuildError::Invalid { detail };
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("easgate/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            .timeout(self.request_timeout)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = &self.trusted_ca_pem {
            let certificates = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|error| invalid(format!("TrustedCaFile is not PEM certificates: {error}")))?;
            builder = builder.tls_certs_merge(certificates);
        }
        if !self.tls_verify {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        if let Some(proxy) = &self.proxy {
            builder =
                builder.proxy(crate::graph::error::build_proxy(proxy).map_err(|error| invalid(error.to_string()))?);
        }
        builder.build().map_err(|error| invalid(error.to_string()))
    }
}

/// Sends notifications through EWS.
pub struct EwsMailer {
    settings: EwsSettings,
    client: reqwest::Client,
    /// The URL Autodiscover found, kept until a send fails to reach it.
    discovered_url: Mutex<Option<Url>>,
}

impl EwsMailer {
    pub fn new(settings: EwsSettings) -> Result<EwsMailer, EwsBuildError> {
        let client = settings.http_client()?;
        Ok(EwsMailer::with_http_client(settings, client))
    }

    /// A mailer over a given client (tests pass one that resolves their fake hosts).
    pub fn with_http_client(settings: EwsSettings, client: reqwest::Client) -> EwsMailer {
        EwsMailer { settings, client, discovered_url: Mutex::new(None) }
    }

    /// The mailer of a connector, or `None` when it has no notification account.
    pub fn from_connector(connector: &ConnectorConfig) -> Result<Option<EwsMailer>, EwsBuildError> {
        EwsSettings::from_connector(connector)?.map(EwsMailer::new).transpose()
    }

    /// The EWS URL: the configured one, else Autodiscover's (cached).
    pub async fn ews_url(&self) -> Result<Url, MailError> {
        if let Some(url) = &self.settings.ews_url {
            return Ok(url.clone());
        }
        let mut cached = self.discovered_url.lock().await;
        if let Some(url) = cached.as_ref() {
            return Ok(url.clone());
        }
        let password = self.password()?;
        let url = autodiscover::discover_ews_url(
            &self.client,
            &self.settings.account,
            &password,
            self.settings.max_autodiscover_hops,
        )
        .await?;
        tracing::info!(account = %self.settings.account, ews_url = %url, "autodiscover found the EWS URL");
        *cached = Some(url.clone());
        Ok(url)
    }

    fn password(&self) -> Result<crate::config::Secret, MailError> {
        self.settings.password.read().map_err(|error| MailError::Unauthorized { detail: error.to_string() })
    }

    async fn send_to(&self, url: &Url, mail: &Mail) -> Result<(), MailError> {
        let password = self.password()?;
        let response = self
            .client
            .post(url.clone())
            .header(CONTENT_TYPE, create_item::CONTENT_TYPE)
            .header("SOAPAction", create_item::SOAP_ACTION)
            .basic_auth(&self.settings.account, Some(password.expose()))
            .body(create_item::create_item_request(mail))
            .send()
            .await
            .map_err(|error| transport_error(&error))?;
        let status = response.status();
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(MailError::Unauthorized {
                    detail: format!("EWS answered {status} for {}", self.settings.account),
                });
            }
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                return Err(MailError::Busy { detail: format!("EWS answered {status}"), back_off_ms: None });
            }
            _ => {}
        }
        let body = read_text_limited(response, xml::MAX_REPLY_BYTES)
            .await
            .map_err(|detail| MailError::Unreachable { detail })?;
        // EWS answers 200 with a response message, or 500 with a SOAP fault.
        if status.is_success() || (status == StatusCode::INTERNAL_SERVER_ERROR && body.contains("Fault")) {
            return create_item::parse_create_item_reply(&body);
        }
        Err(MailError::Unreachable { detail: format!("EWS answered {status}") })
    }
}

#[async_trait]
impl Mailer for EwsMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let url = self.ews_url().await?;
        let result = self.send_to(&url, mail).await;
        if matches!(result, Err(MailError::Unreachable { .. })) && self.settings.ews_url.is_none() {
            // The discovered server may have moved: ask Autodiscover again next time.
            *self.discovered_url.lock().await = None;
        }
        result
    }
}

fn transport_error(error: &reqwest::Error) -> MailError {
    let detail = describe_reqwest_error(error);
    if error.is_timeout() { MailError::Busy { detail, back_off_ms: None } } else { MailError::Unreachable { detail } }
}

/// A reqwest error with its causes (URL included, never headers or body).
pub fn describe_reqwest_error(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    let mut depth = 0;
    while let Some(inner) = source
        && depth < 4
    {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
        depth += 1;
    }
    text
}

/// Reads a text body up to `limit` bytes.
pub async fn read_text_limited(mut response: reqwest::Response, limit: usize) -> Result<String, String> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(format!("the reply is larger than {limit} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(error) => return Err(describe_reqwest_error(&error)),
        }
    }
    String::from_utf8(body).map_err(|_| "the reply is not UTF-8".to_string())
}
