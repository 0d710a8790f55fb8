//! An HTTP proxy between easgate and Exchange's WinRM endpoint (`<Connector><Proxy .../>`): an
//! https endpoint is reached through an HTTP CONNECT tunnel, a plain http one by sending the
//! request to the proxy; both carry `Proxy-Authorization: Basic` when a user is configured.
//! A proxy that refuses the credentials (HTTP 407) becomes [`WsmanError::ProxyRefused`].

use secrecy::{ExposeSecret, SecretString};

use crate::wsman::error::WsmanError;

/// Where the proxy is and how to log on to it. Debug output and messages show
/// [`ProxySettings::display_url`] and never the password.
#[derive(Clone)]
pub struct ProxySettings {
    /// `http://proxy.contoso.com:3128/`; credentials in the URL are not used, see `user`.
    pub url: String,
    pub user: Option<String>,
    pub password: Option<SecretString>,
}

impl std::fmt::Debug for ProxySettings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ProxySettings")
            .field("url", &self.display_url())
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl ProxySettings {
    /// The proxy's URL without any user or password in it, for messages.
    pub fn display_url(&self) -> String {
        match reqwest::Url::parse(&self.url) {
            Ok(mut url) => {
                // Both setters only fail for URLs that cannot carry credentials at all.
                let _ = url.set_username("");
                let _ = url.set_password(None);
                url.to_string()
            }
            Err(_) => "(an unparsable proxy URL)".to_string(),
        }
    }

    /// The reqwest proxy for every request of a transport.
    pub(crate) fn to_reqwest(&self) -> Result<reqwest::Proxy, WsmanError> {
        let proxy = reqwest::Proxy::all(self.url.as_str()).map_err(|error| WsmanError::Connect {
            detail: format!("the proxy URL {} is not usable: {error}", self.display_url()),
        })?;
        Ok(match &self.user {
            Some(user) => {
                let password = self.password.as_ref().map(ExposeSecret::expose_secret).unwrap_or_default();
                proxy.basic_auth(user, password)
            }
            None => proxy,
        })
    }

    /// The error for a proxy that answered 407.
    pub(crate) fn refused(&self) -> WsmanError {
        WsmanError::ProxyRefused { proxy: self.display_url() }
    }
}

/// Whether a request failed because the proxy refused to open a tunnel for want of (good)
/// credentials. hyper-util's tunnel error is not public, so its text is what identifies it.
pub(crate) fn is_proxy_refusal(error: &reqwest::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    // Error chains are short; the cap guards against a cyclic chain.
    for _ in 0..8 {
        let Some(cause) = source else { return false };
        if cause.to_string().contains("proxy authorization required") {
            return true;
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_show_the_proxy_without_credentials() {
        let settings = ProxySettings {
            url: "http://someone:hunter2@proxy.contoso.com:3128/".to_string(),
            user: Some("svc-proxy".to_string()),
            password: Some(SecretString::from("proxy-password")),
        };
        assert_eq!(settings.display_url(), "http://proxy.contoso.com:3128/");
        let message = settings.refused().to_string();
        assert!(message.contains("http://proxy.contoso.com:3128/") && message.contains("407"), "{message}");
        let debug = format!("{settings:?}");
        assert!(!debug.contains("proxy-password") && !debug.contains("hunter2"), "{debug}");
    }
}
