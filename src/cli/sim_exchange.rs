//! `easgate sim-exchange --listen ADDR [--scenario FILE]`: the simulated Exchange organisation
//! served over WS-Management/PSRP (HTTPS with a generated certificate, Basic authentication), so
//! that anyone can point easgate — or another PowerShell remoting client — at an Exchange-like
//! endpoint. A scenario's setup steps (org, users, partnerships, admin entries, rules) build the
//! organisation; its other steps are skipped.

use std::net::SocketAddr;
use std::sync::Arc;

use secrecy::SecretString;

use crate::cli::output::print;
use crate::cli::{Cli, CliError, SimExchangeArgs};
use crate::exchange::ExchangeConnector;
use crate::exchange::psrp_server::{PsrpServer, PsrpServerConfig};
use crate::scenario::run::run_setup_step;
use crate::scenario::step::{Step, parse_file};
use crate::scenario::world::{Transport, World};
use crate::sim::exchange::DEFAULT_SERVICE_ACCOUNT;

pub fn run(cli: &Cli, args: &SimExchangeArgs) -> Result<(), CliError> {
    let listen: SocketAddr =
        args.listen.parse().map_err(|error| CliError::Input(format!("--listen {}: {error}", args.listen)))?;
    let steps = match &args.scenario {
        Some(file) => parse_file(file).map_err(|error| CliError::Input(error.to_string()))?,
        None => Vec::new(),
    };
    let runtime = crate::cli::runtime()?;
    runtime.block_on(async {
        let scratch = tempfile::tempdir().map_err(|error| CliError::Failed(format!("a scratch directory: {error}")))?;
        let mut world = World::new(scratch.path(), Transport::InProcess);
        let mut skipped = 0;
        for located in &steps {
            let applied = run_setup_step(&mut world, &located.step).await.map_err(|error| {
                CliError::Input(format!("{}:{}: {error}", args.scenario.as_ref().map(|file| file.display().to_string()).unwrap_or_default(), located.line))
            })?;
            if !applied {
                skipped += 1;
            }
        }
        let exchange = world.exchange().map_err(|error| CliError::Failed(error.to_string()))?.clone();
        let password = std::env::var("EASGATE_SIM_PASSWORD").unwrap_or_else(|_| format!("sim-{}", uuid::Uuid::new_v4().simple()));
        let config = PsrpServerConfig::new(listen, DEFAULT_SERVICE_ACCOUNT, SecretString::from(password.clone()));
        let backend: Arc<dyn ExchangeConnector> = Arc::new(exchange.connector(DEFAULT_SERVICE_ACCOUNT));
        let server = PsrpServer::start(config, backend)
            .await
            .map_err(|error| CliError::Failed(format!("cannot listen on {listen}: {error}")))?;
        let directory = cli.data_dir().join("sim-exchange");
        std::fs::create_dir_all(&directory).map_err(|error| CliError::Failed(format!("{}: {error}", directory.display())))?;
        let certificate = directory.join("certificate.pem");
        let password_file = directory.join("password");
        std::fs::write(&certificate, server.certificate_pem.clone().unwrap_or_default())
            .map_err(|error| CliError::Failed(format!("{}: {error}", certificate.display())))?;
        write_private(&password_file, &password)?;
        let organization = exchange.organization();
        print(&format!(
            "serving the simulated organisation {} ({} mailboxes, {} partnerships; {skipped} non-setup step(s) skipped)\n\
             ServerUrl:       {}\n\
             User:            {DEFAULT_SERVICE_ACCOUNT} (Basic)\n\
             PasswordFile:    {}\n\
             TrustedCaFile:   {}\n\
             other CAS:       {}\n\
             Ctrl-C stops it.\n",
            organization.name,
            organization.mailboxes,
            organization.partnerships,
            server.url(),
            password_file.display(),
            certificate.display(),
            server.server_url_template(),
        ));
        let _ = tokio::signal::ctrl_c().await;
        server.shutdown().await;
        Ok(())
    })
}

/// Writes a secret readable by its owner only.
fn write_private(path: &std::path::Path, text: &str) -> Result<(), CliError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).map_err(|error| CliError::Failed(format!("{}: {error}", path.display())))?;
    file.write_all(text.as_bytes()).map_err(|error| CliError::Failed(format!("{}: {error}", path.display())))
}

/// Whether a step builds the organisation (the others need easgate and are skipped).
pub fn is_setup(step: &Step) -> bool {
    matches!(
        step,
        Step::Org(_)
            | Step::User(_)
            | Step::Connect(_)
            | Step::AdminAllow(_)
            | Step::AdminBlock(_)
            | Step::AdminClear(_)
            | Step::ExchangeRule(_)
            | Step::RemovePartnership(_)
            | Step::Population(_)
            | Step::CasDown(_)
            | Step::CasUp(_)
    )
}
