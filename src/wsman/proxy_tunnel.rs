//! An HTTP CONNECT tunnel through the configured proxy, for the sessions that keep one pinned
//! connection (NTLM, Kerberos): their authentication belongs to the connection, and a tunnel is
//! one TCP stream end to end, so it survives the proxy. reqwest opens its own tunnels for Basic.

use std::time::Duration;

use base64::Engine as _;
use secrecy::ExposeSecret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::wsman::error::WsmanError;
use crate::wsman::proxy::ProxySettings;

/// The proxy's answer to CONNECT, headers included, at most.
const CONNECT_REPLY_BYTES_MAX: usize = 16 * 1024;

/// Opens a tunnel to `host:port` through `proxy`, with `Proxy-Authorization: Basic` when it has
/// a user. A 407 is [`WsmanError::ProxyRefused`]; any other refusal names the proxy's answer.
pub(crate) async fn connect_tunnel(
    proxy: &ProxySettings,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<TcpStream, WsmanError> {
    let failed =
        |detail: String| WsmanError::Connect { detail: format!("the proxy {}: {detail}", proxy.display_url()) };
    let url = url::Url::parse(&proxy.url).map_err(|error| failed(format!("not a URL: {error}")))?;
    let proxy_host = url.host_str().ok_or_else(|| failed("no host".into()))?;
    let proxy_host = proxy_host.trim_start_matches('[').trim_end_matches(']').to_string();
    let proxy_port = url.port_or_known_default().unwrap_or(80);
    let mut stream = tokio::time::timeout(timeout, TcpStream::connect((proxy_host.as_str(), proxy_port)))
        .await
        .map_err(|_| failed("no connection in time".into()))?
        .map_err(|error| failed(error.to_string()))?;
    let _ = stream.set_nodelay(true);
    let target = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    stream.write_all(connect_request(proxy, &target).as_bytes()).await.map_err(|error| failed(error.to_string()))?;
    let head = tokio::time::timeout(timeout, read_reply_head(&mut stream))
        .await
        .map_err(|_| failed("no answer to CONNECT in time".into()))?
        .map_err(failed)?;
    match status_of(&head) {
        Some(200..=299) => Ok(stream),
        Some(407) => Err(proxy.refused()),
        _ => {
            let status_line = head.lines().next().unwrap_or_default().to_string();
            Err(failed(format!("CONNECT {target} was answered `{status_line}`")))
        }
    }
}

fn connect_request(proxy: &ProxySettings, target: &str) -> String {
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(user) = &proxy.user {
        let password = proxy.password.as_ref().map(ExposeSecret::expose_secret).unwrap_or_default();
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request.push_str(&format!("Proxy-Authorization: Basic {credentials}\r\n"));
    }
    request.push_str("\r\n");
    request
}

/// Reads the reply's status line and headers, byte by byte so that nothing after them (the
/// server's first bytes through the tunnel) is taken from the stream.
async fn read_reply_head(stream: &mut TcpStream) -> Result<String, String> {
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= CONNECT_REPLY_BYTES_MAX {
            return Err(format!("its answer to CONNECT is longer than {CONNECT_REPLY_BYTES_MAX} bytes"));
        }
        let byte = stream.read_u8().await.map_err(|error| format!("its answer to CONNECT broke off: {error}"))?;
        head.push(byte);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// `HTTP/1.1 200 Connection established` -> 200.
fn status_of(head: &str) -> Option<u16> {
    let status_line = head.lines().next()?;
    let mut parts = status_line.split_whitespace();
    parts.next().filter(|version| version.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_carries_basic_credentials_and_brackets_ipv6() {
        let proxy = ProxySettings {
            url: "http://proxy.contoso.com:3128/".into(),
            user: Some("svc-proxy".into()),
            password: Some(secrecy::SecretString::from("pa:ss")),
        };
        let request = connect_request(&proxy, "[::1]:5986");
        assert!(request.starts_with("CONNECT [::1]:5986 HTTP/1.1\r\nHost: [::1]:5986\r\n"), "{request}");
        assert!(request.contains("Proxy-Authorization: Basic c3ZjLXByb3h5OnBhOnNz\r\n"), "{request}");
        assert!(request.ends_with("\r\n\r\n"));
    }

    #[test]
    fn statuses_are_read_from_the_status_line_only() {
        assert_eq!(status_of("HTTP/1.1 200 Connection established\r\n\r\n"), Some(200));
        assert_eq!(status_of("HTTP/1.0 407 Proxy Authentication Required\r\n\r\n"), Some(407));
        assert_eq!(status_of("SSH-2.0-OpenSSH\r\n\r\n"), None);
        assert_eq!(status_of(""), None);
    }
}
