//! `easgate simulate FILE... [--exchange inproc|psrp]`: runs scenario files against the
//! simulated twins, printing each step (each sync's duration and cmdlets, each expectation);
//! exit 1 when an expectation fails, 2 when a scenario is malformed.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::cli::output::{Format, print, print_json_line};
use crate::cli::{Cli, CliError, ExchangeKind, SimulateArgs};
use crate::scenario::run::{StepOutcome, run_steps};
use crate::scenario::step::{LocatedStep, parse_file};
use crate::scenario::world::{Transport, World};

/// Scenario files in one invocation at most.
const FILES_MAX: usize = 10_000;

pub fn run(cli: &Cli, args: &SimulateArgs) -> Result<(), CliError> {
    let files = scenario_files(&args.files)?;
    // Every file is parsed before anything runs: a malformed scenario changes nothing.
    let mut parsed = Vec::with_capacity(files.len());
    for file in &files {
        parsed.push(parse_file(file).map_err(|error| CliError::Input(error.to_string()))?);
    }
    let transport = match args.exchange {
        ExchangeKind::Inproc => Transport::InProcess,
        ExchangeKind::Psrp => Transport::Psrp,
    };
    let runtime = crate::cli::runtime()?;
    let mut failed = Vec::new();
    for (file, steps) in files.iter().zip(&parsed) {
        let data_dir = DataDir::for_file(cli, file, files.len())?;
        let outcomes = runtime.block_on(run_file(cli.format, file, steps, data_dir.path(), transport))?;
        failed.extend(
            outcomes.iter().filter(|outcome| !outcome.ok).map(|outcome| format!("{}:{}", file.display(), outcome.line)),
        );
    }
    if cli.format == Format::Table {
        let verdict = if failed.is_empty() { "all expectations met" } else { "expectations failed" };
        print(&format!("{} scenario(s): {verdict}\n", files.len()));
    }
    match failed.first() {
        None => Ok(()),
        Some(first) => Err(CliError::Failed(format!("{} expectation(s) failed, first at {first}", failed.len()))),
    }
}

async fn run_file(
    format: Format,
    file: &Path,
    steps: &[LocatedStep],
    data_dir: &Path,
    transport: Transport,
) -> Result<Vec<StepOutcome>, CliError> {
    let mut world = World::new(data_dir, transport);
    let result = run_steps(&mut world, steps).await;
    let (outcomes, error) = match result {
        Ok(outcomes) => (outcomes, None),
        Err((outcomes, error)) => (outcomes, Some(error)),
    };
    for outcome in &outcomes {
        print_outcome(format, file, outcome);
    }
    let _ = world.stop_engine();
    match error {
        None => Ok(outcomes),
        Some(error) if error.bad_input => {
            Err(CliError::Input(format!("{}:{}: {}", file.display(), error.line, error.detail)))
        }
        Some(error) => Err(CliError::Failed(format!("{}:{}: {}", file.display(), error.line, error.detail))),
    }
}

fn print_outcome(format: Format, file: &Path, outcome: &StepOutcome) {
    match format {
        Format::Table => {
            let status = if outcome.ok { "ok  " } else { "FAIL" };
            print(&format!("{status} {}:{} {}: {}\n", file.display(), outcome.line, outcome.name, outcome.summary));
        }
        Format::Json => {
            let mut object =
                json!({"file": file.display().to_string(), "line": outcome.line, "do": outcome.name, "ok": outcome.ok});
            if let (Value::Object(target), Value::Object(extra)) = (&mut object, &outcome.json) {
                // The step's own fields win over `ok`: a sync step that ran but failed says
                // `"ok": false` (with its `error`), though only expectations decide the exit code.
                for (key, value) in extra {
                    if !matches!(key.as_str(), "file" | "line" | "do") {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
            print_json_line(&object);
        }
    }
}

/// Files named, and the `*.jsonl` files of directories named, sorted.
fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries =
                std::fs::read_dir(path).map_err(|error| CliError::Input(format!("{}: {error}", path.display())))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|entry| entry.extension().is_some_and(|extension| extension == "jsonl"))
                .collect();
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(CliError::Input(format!("{}: no such scenario file or directory", path.display())));
        }
        if files.len() > FILES_MAX {
            return Err(CliError::Input(format!("more than {FILES_MAX} scenario files")));
        }
    }
    if files.is_empty() {
        return Err(CliError::Input("no scenario files (*.jsonl) found".into()));
    }
    Ok(files)
}

/// A fresh data directory for one scenario: `--data DIR` (DIR/<name> for several files), which
/// must not hold anything yet, or a temporary one removed afterwards.
enum DataDir {
    Kept(PathBuf),
    Temporary(tempfile::TempDir),
}

impl DataDir {
    fn for_file(cli: &Cli, file: &Path, file_count: usize) -> Result<DataDir, CliError> {
        let Some(base) = &cli.data else {
            let temporary = tempfile::Builder::new()
                .prefix("easgate-simulate-")
                .tempdir()
                .map_err(|error| CliError::Failed(format!("cannot create a temporary data directory: {error}")))?;
            return Ok(DataDir::Temporary(temporary));
        };
        let path = if file_count == 1 {
            base.clone()
        } else {
            base.join(
                file.file_stem().map(|stem| stem.to_string_lossy().to_string()).unwrap_or_else(|| "scenario".into()),
            )
        };
        let occupied = std::fs::read_dir(&path).map(|mut entries| entries.next().is_some()).unwrap_or(false);
        if occupied {
            return Err(CliError::Input(format!(
                "{}: the data directory is not empty; a simulation starts from an empty one (remove it or pass another --data)",
                path.display()
            )));
        }
        Ok(DataDir::Kept(path))
    }

    fn path(&self) -> &Path {
        match self {
            DataDir::Kept(path) => path,
            DataDir::Temporary(temporary) => temporary.path(),
        }
    }
}
