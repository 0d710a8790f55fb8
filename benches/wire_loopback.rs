//! Cmdlets per second over loopback: the real client (`PsrpConnector`) against `PsrpServer`
//! with a fake backend that answers at once, with 1, 4 and 8 sessions running concurrently.
//! Each cmdlet is a Command, one Receive and a Signal: this measures the wire, not Exchange.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use easgate::clixml::value::PsValue;
use easgate::domain::cmdlet_call::CmdletCall;
use easgate::exchange::psrp_connector::{PsrpConnector, PsrpConnectorConfig};
use easgate::exchange::psrp_server::{PsrpServer, PsrpServerConfig};
use easgate::exchange::{CmdletOutput, ExchangeConnector, ExchangeError, ExchangeSession};
use secrecy::SecretString;

const CMDLETS_PER_SESSION: usize = 50;

struct InstantBackend;

#[async_trait]
impl ExchangeConnector for InstantBackend {
    async fn open(&self, server: &str) -> Result<Box<dyn ExchangeSession>, ExchangeError> {
        Ok(Box::new(InstantSession { server: server.to_string() }))
    }

    fn primary_server(&self) -> String {
        "cas1.contoso.com".to_string()
    }
}

struct InstantSession {
    server: String,
}

#[async_trait]
impl ExchangeSession for InstantSession {
    async fn invoke(&mut self, call: &CmdletCall) -> Result<CmdletOutput, ExchangeError> {
        let identity = call.text_parameter("Identity").unwrap_or_default();
        Ok(CmdletOutput { objects: vec![PsValue::string(identity)], ..CmdletOutput::default() })
    }

    async fn close(self: Box<Self>) -> Result<(), ExchangeError> {
        Ok(())
    }

    fn server(&self) -> &str {
        &self.server
    }
}

fn benchmarks(criterion: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    for tls in [false, true] {
        let mut server_config =
            PsrpServerConfig::new("127.0.0.1:0".parse().unwrap(), "bench", SecretString::from("bench"));
        server_config.tls = tls;
        let server = runtime.block_on(PsrpServer::start(server_config, Arc::new(InstantBackend))).unwrap();
        let mut client_config = PsrpConnectorConfig::basic(&server.url(), "bench", SecretString::from("bench"));
        client_config.extra_root_certificate_pem = server.certificate_pem.clone().map(String::into_bytes);
        let connector = Arc::new(PsrpConnector::new(client_config));
        let mut group = criterion.benchmark_group(if tls { "loopback_https" } else { "loopback_http" });
        group.sample_size(10).measurement_time(Duration::from_secs(8));
        for sessions in [1usize, 4, 8] {
            group.throughput(Throughput::Elements((sessions * CMDLETS_PER_SESSION) as u64));
            group.bench_with_input(BenchmarkId::new("cmdlets", sessions), &sessions, |bencher, &sessions| {
                bencher.iter_custom(|iterations| {
                    runtime.block_on(run_sessions(connector.clone(), sessions, iterations as usize))
                })
            });
        }
        group.finish();
        runtime.block_on(server.shutdown());
    }
}

/// Opens `sessions` shells (not timed), then times `iterations` rounds of CMDLETS_PER_SESSION
/// cmdlets on each, all sessions at once.
async fn run_sessions(connector: Arc<PsrpConnector>, sessions: usize, iterations: usize) -> Duration {
    let mut opened = Vec::new();
    for _ in 0..sessions {
        opened.push(connector.open("").await.unwrap());
    }
    let started = Instant::now();
    let tasks: Vec<_> = opened
        .into_iter()
        .map(|mut session| {
            tokio::spawn(async move {
                for index in 0..iterations * CMDLETS_PER_SESSION {
                    let call = CmdletCall::new("Get-CASMailbox").text("Identity", &format!("user{index}"));
                    session.invoke(&call).await.unwrap();
                }
                session
            })
        })
        .collect();
    let mut finished = Vec::new();
    for task in tasks {
        finished.push(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    for session in finished {
        session.close().await.unwrap();
    }
    elapsed
}

criterion_group!(wire_loopback, benchmarks);
criterion_main!(wire_loopback);
