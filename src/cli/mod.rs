//! The command line (DESIGN section 6): one binary, `easgate`, with a subcommand per file in
//! this module. Exit 0 on success, 1 on a failed check or expectation, 2 on bad usage or input,
//! always with a one-line error on stderr.

pub mod audit;
pub mod bench;
pub mod check;
pub mod demo;
pub mod describe;
pub mod devices;
pub mod log;
pub mod open;
pub mod output;
pub mod replay;
pub mod run;
pub mod sim_exchange;
pub mod simulate;
pub mod status;
pub mod sync;
pub mod verify;
pub mod views;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use output::Format;

/// Conditional access for Exchange ActiveSync devices on on-premises Exchange.
#[derive(Debug, Parser)]
#[command(name = "easgate", version, about, long_about = None)]
pub struct Cli {
    /// The data directory (the event log and what is derived from it) [default: ./easgate-data].
    #[arg(long, global = true, env = "EASGATE_DATA")]
    pub data: Option<PathBuf>,
    /// How to print data: tables for people, JSON for programs.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs an embedded simulated organisation whose phones walk the ten steps.
    Demo(DemoArgs),
    /// Runs the daemon against the configured Exchange and tenant.
    Run(ConfigArgs),
    /// Runs scenario files against the simulated Exchange and tenant.
    Simulate(SimulateArgs),
    /// Validates the configuration and what it connects to; prints a checklist.
    Check(ConfigArgs),
    /// Runs one sync.
    Sync(SyncArgs),
    /// Connectors, counts by access, last syncs and log size.
    Status,
    /// The projection: one entry per device partnership.
    Devices(DevicesArgs),
    /// Every event and access decision for a device, with the reasons and inputs behind them.
    Audit(AuditArgs),
    /// Rebuilds the projection from the log up to a point.
    Replay(ReplayArgs),
    /// Checks checksums, the hash chain, contiguity and the snapshot; exit 1 naming the first bad seq.
    Verify,
    /// The raw events as JSON lines, or `log import FILE`.
    Log(LogArgs),
    /// Serves the simulated Exchange organisation over WS-Management/PSRP.
    SimExchange(SimExchangeArgs),
    /// Measures the log, replay and sync paths; prints medians and ratios.
    Bench(BenchArgs),
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// How many phones the generated organisation has.
    #[arg(long, default_value_t = 12)]
    pub devices: u64,
    /// Serves the status page on this address (e.g. 127.0.0.1:8470).
    #[arg(long)]
    pub listen: Option<String>,
    /// Virtual minutes per real second.
    #[arg(long, default_value_t = 60)]
    pub speed: u64,
    /// Runs to the end at once, without pauses.
    #[arg(long)]
    pub fast: bool,
}

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// The configuration file (DESIGN section 8).
    #[arg(long)]
    pub config: PathBuf,
    /// Log lines as JSON.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExchangeKind {
    /// The simulated organisation in process.
    Inproc,
    /// The simulated organisation served over WS-Management/PSRP on loopback, driven by the real client.
    Psrp,
}

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Scenario files (JSON lines) or directories of them.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = ExchangeKind::Inproc)]
    pub exchange: ExchangeKind,
}

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long, conflicts_with = "full", required_unless_present = "full")]
    pub quick: bool,
    #[arg(long)]
    pub full: bool,
    /// Prints the cmdlets the sync would issue and issues none.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, clap::Args)]
pub struct DevicesArgs {
    /// Only devices with this access (allowed, blocked, quarantined, exempt).
    #[arg(long)]
    pub access: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The EAS DeviceId (case-insensitive).
    pub device_id: String,
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Stop after this seq, or at this RFC 3339 time.
    #[arg(long)]
    pub until: Option<String>,
    /// Only this device.
    #[arg(long)]
    pub device: Option<String>,
    /// Print each transition.
    #[arg(long)]
    pub trace: bool,
}

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// Start at this seq.
    #[arg(long)]
    pub from: Option<u64>,
    #[command(subcommand)]
    pub action: Option<LogAction>,
}

#[derive(Debug, Subcommand)]
pub enum LogAction {
    /// Appends a JSON-lines history to a fresh data directory (seq and hashes assigned; all or nothing).
    Import {
        /// The JSON-lines file, as `easgate log` prints it.
        file: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct SimExchangeArgs {
    /// Address to listen on, e.g. 127.0.0.1:5986.
    #[arg(long)]
    pub listen: String,
    /// A scenario whose setup steps build the organisation served.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// What to measure: all, append, replay, restart, memory, sync.
    #[arg(default_value = "all")]
    pub what: String,
    /// Scale factor: 1 is quick; larger is closer to the targets' sizes.
    #[arg(long, default_value_t = 1)]
    pub scale: u64,
}

impl Cli {
    /// The data directory: `--data`, else `EASGATE_DATA`, else `./easgate-data`.
    pub fn data_dir(&self) -> PathBuf {
        self.data.clone().unwrap_or_else(|| PathBuf::from("./easgate-data"))
    }
}

/// Why a command failed, and so its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad usage or bad input (exit 2).
    #[error("{0}")]
    Input(String),
    /// A check or an expectation failed, or the data is damaged (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Input(_) => 2,
            CliError::Failed(_) => 1,
        }
    }
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let message = error.to_string().replace('\n', " ");
            eprintln!("easgate: {message}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Demo(args) => demo::run(&cli, args),
        Command::Simulate(args) => simulate::run(&cli, args),
        Command::SimExchange(args) => sim_exchange::run(&cli, args),
        Command::Status => status::run(&cli),
        Command::Devices(args) => devices::run(&cli, args),
        Command::Audit(args) => audit::run(&cli, args),
        Command::Replay(args) => replay::run(&cli, args),
        Command::Verify => verify::run(&cli),
        Command::Log(args) => log::run(&cli, args),
        Command::Run(args) => run::run(&cli, args),
        Command::Sync(args) => sync::run(&cli, args),
        Command::Check(args) => check::run(&cli, args),
        Command::Bench(args) => bench::run(&cli, args),
    }
}

/// A tokio runtime for commands that talk to the network or run the engine.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| CliError::Failed(format!("cannot start the async runtime: {error}")))
}
