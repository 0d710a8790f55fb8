//! Shared by the scenario tests: the scenario files, and running one of them.

use std::path::{Path, PathBuf};

use easgate::scenario::run::run_steps;
use easgate::scenario::step::parse_file;
use easgate::scenario::world::{Transport, World};

pub fn scenario_files() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("replay/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .expect("replay/scenarios exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "jsonl"))
        .collect();
    files.sort();
    files
}

/// Runs one scenario; returns the failed expectations as `file:line summary`.
pub async fn check(file: &Path, transport: Transport) -> Vec<String> {
    let steps = parse_file(file).unwrap_or_else(|error| panic!("{error}"));
    let directory = tempfile::tempdir().expect("a temporary directory");
    let mut world = World::new(directory.path(), transport);
    let outcomes = match run_steps(&mut world, &steps).await {
        Ok(outcomes) => outcomes,
        Err((_, error)) => return vec![format!("{}:{}: {}", file.display(), error.line, error.detail)],
    };
    world.stop_engine().expect("a clean shutdown");
    outcomes
        .iter()
        .filter(|outcome| !outcome.ok)
        .map(|outcome| format!("{}:{} {}", file.display(), outcome.line, outcome.summary))
        .collect()
}
