//! Opening the data directory for the commands that read it, and how store errors become exit
//! codes: a damaged log is exit 1 (with the first bad seq), a wrong directory is exit 2.

use std::path::Path;

use crate::cli::CliError;
use crate::domain::projection::Projection;
use crate::store::{Store, StoreError};

/// A store error as the command line reports it.
pub fn store_error(error: StoreError) -> CliError {
    match error {
        StoreError::NewerFormat { .. } | StoreError::BadDataDirectory { .. } | StoreError::InUse { .. } => {
            CliError::Input(error.to_string())
        }
        other => CliError::Failed(other.to_string()),
    }
}

/// The store, every record checked, and the projection folded from it.
pub fn open_with_projection(data_dir: &Path) -> Result<(Store, Projection), CliError> {
    let store = crate::data::open_for_reading(data_dir).map_err(store_error)?;
    let projection = crate::data::load_projection(&store).map_err(store_error)?;
    Ok((store, projection))
}

/// A progress bar on stderr when it is a terminal (long imports and replays), else nothing.
pub fn progress_bar(length: u64, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() || length < 10_000 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(length);
    let style = indicatif::ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} ({per_sec}, {eta})")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}
