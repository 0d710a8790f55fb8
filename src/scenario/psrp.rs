//! `simulate --exchange psrp`: the simulated organisation served over WS-Management/PSRP on
//! loopback (HTTPS with a generated certificate, Basic authentication), and the real client
//! pointed at it. Every cmdlet of the scenario then crosses the real wire both ways.

use std::sync::Arc;

use secrecy::SecretString;

use crate::exchange::ExchangeConnector;
use crate::exchange::psrp_connector::{PsrpConnector, PsrpConnectorConfig};
use crate::exchange::psrp_server::{PsrpServer, PsrpServerConfig, RunningPsrpServer};
use crate::sim::SimExchange;
use crate::sim::exchange::DEFAULT_SERVICE_ACCOUNT;

/// The account and password of the loopback endpoint: test credentials, never a real secret.
const LOOPBACK_USER: &str = "CONTOSO\\svc-easgate";

pub(crate) struct PsrpLink {
    server: RunningPsrpServer,
    password: String,
    primary: String,
}

impl PsrpLink {
    /// Serves the organisation on 127.0.0.1 (any free port).
    pub(crate) async fn serve(exchange: &SimExchange) -> Result<PsrpLink, String> {
        let password = format!("loopback-{}", uuid::Uuid::new_v4().simple());
        let listen = "127.0.0.1:0".parse().map_err(|error| format!("loopback address: {error}"))?;
        let config = PsrpServerConfig::new(listen, LOOPBACK_USER, SecretString::from(password.clone()));
        let backend: Arc<dyn ExchangeConnector> = Arc::new(exchange.connector(DEFAULT_SERVICE_ACCOUNT));
        let primary = backend.primary_server();
        let server = PsrpServer::start(config, backend)
            .await
            .map_err(|error| format!("cannot serve the simulated organisation over PSRP: {error}"))?;
        Ok(PsrpLink { server, password, primary })
    }

    /// A real PSRP client for the served organisation, trusting its generated certificate.
    pub(crate) fn connector(&self) -> Arc<dyn ExchangeConnector> {
        let template = self.server.server_url_template();
        let primary_url = template.replace("{server}", &self.primary);
        let mut config =
            PsrpConnectorConfig::basic(&primary_url, LOOPBACK_USER, SecretString::from(self.password.clone()));
        config.server_url_template = template;
        config.primary_server_name = Some(self.primary.clone());
        config.extra_root_certificate_pem = self.server.certificate_pem.clone().map(String::into_bytes);
        Arc::new(PsrpConnector::new(config))
    }

    pub(crate) async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
