//! `easgate run --config FILE [--log-format json]`: the daemon (see `crate::daemon`), after the
//! configuration parses and validates. Exit 0 after a clean shutdown (SIGTERM/SIGINT), 2 for a
//! configuration it cannot run with, 1 when the log fails while it runs.

use std::path::Path;

use crate::cli::{Cli, CliError, ConfigArgs};
use crate::config::model::Config;
use crate::config::{Severity, load_config, validate};

pub fn run(cli: &Cli, args: &ConfigArgs) -> Result<(), CliError> {
    let config = load_runnable_config(&args.config)?;
    crate::daemon::logging::init_logging(args.log_format);
    for problem in validate(&config) {
        tracing::warn!(subject = %problem.subject, "{}", problem.message);
    }
    tracing::info!(config = %args.config.display(), version = env!("CARGO_PKG_VERSION"), "starting");
    let runtime = crate::cli::runtime()?;
    runtime
        .block_on(crate::daemon::run_daemon(config, cli.data_dir()))
        .map_err(crate::daemon::DaemonError::into_cli_error)
}

/// The configuration at `path`, refused (exit 2) when it does not parse or when `validate`
/// finds an error (a secret that cannot be read, ...): `easgate check` lists them all.
pub fn load_runnable_config(path: &Path) -> Result<Config, CliError> {
    let config = load_config(path).map_err(|error| CliError::Input(error.to_string()))?;
    let errors: Vec<String> = validate(&config)
        .into_iter()
        .filter(|problem| problem.severity == Severity::Error)
        .map(|problem| format!("{}: {}", problem.subject, problem.message))
        .collect();
    match errors.as_slice() {
        [] => Ok(config),
        [only] => Err(CliError::Input(format!("{}: {only}", path.display()))),
        [first, rest @ ..] => Err(CliError::Input(format!(
            "{}: {first} (and {} more problem(s): run `easgate check --config {}`)",
            path.display(),
            rest.len(),
            path.display()
        ))),
    }
}
