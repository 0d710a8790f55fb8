//! `easgate log [--from SEQ]`: the events as JSON lines (decoded through the upcasters), and
//! `easgate log import FILE`: a JSON-lines history appended to a fresh data directory (seq and
//! hashes assigned; every line validated first: all or nothing).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::cli::open::{progress_bar, store_error};
use crate::cli::output::print;
use crate::cli::{Cli, CliError, LogAction, LogArgs};
use crate::store::{ImportDefaults, ImportError, OpenMode, Store};

pub fn run(cli: &Cli, args: &LogArgs) -> Result<(), CliError> {
    match &args.action {
        Some(LogAction::Import { file }) => import(cli, file),
        None => export(cli, args.from.unwrap_or(1)),
    }
}

fn export(cli: &Cli, from_seq: u64) -> Result<(), CliError> {
    let store = crate::data::open_for_reading(&cli.data_dir()).map_err(store_error)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for event in store.events_from(from_seq.max(1)).map_err(store_error)? {
        let event = event.map_err(store_error)?;
        if crate::store::write_json_line(&event, &mut out).is_err() {
            return Ok(()); // The reader went away (`easgate log | head`).
        }
    }
    let _ = out.flush();
    Ok(())
}

fn import(cli: &Cli, file: &Path) -> Result<(), CliError> {
    let data_dir = cli.data_dir();
    let input = File::open(file).map_err(|error| CliError::Input(format!("{}: {error}", file.display())))?;
    let size = input.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    let existed = data_dir.exists();
    let mut store = Store::open(&data_dir, OpenMode::Full).map_err(store_error)?;
    // Two passes (validate, then append): the bar counts bytes over both.
    let bar = progress_bar(size * 2, "importing");
    let reader = ProgressReader { inner: BufReader::new(input), bar: bar.clone() };
    let clock_now = chrono::Utc::now();
    let mut ids = crate::sync::ids::IdGenerator::from_entropy(clock_now);
    let mut new_event_id = || ids.next_id(chrono::Utc::now());
    let defaults = ImportDefaults { recorded_at_us: clock_now.timestamp_micros(), new_event_id: &mut new_event_id };
    let result = store.import_json_lines(reader, defaults);
    bar.finish_and_clear();
    match result {
        Ok(summary) => {
            store.close().map_err(store_error)?;
            print(&format!(
                "imported {} events from {} into {} (seq 1..{})\n",
                summary.events,
                file.display(),
                data_dir.display(),
                summary.last_seq
            ));
            Ok(())
        }
        Err(error) => {
            drop(store);
            if !existed {
                let _ = std::fs::remove_dir_all(&data_dir);
            }
            Err(match error {
                ImportError::Line(line) => CliError::Input(format!("{}: {line}; nothing imported", file.display())),
                ImportError::Read(error) => CliError::Input(format!("{}: {error}; nothing imported", file.display())),
                ImportError::Store(error) => store_error(error),
            })
        }
    }
}

/// Counts the bytes a reader hands out, for the progress bar.
struct ProgressReader<R> {
    inner: R,
    bar: indicatif::ProgressBar,
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.bar.inc(read as u64);
        Ok(read)
    }
}

impl<R: BufRead> BufRead for ProgressReader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amount: usize) {
        self.bar.inc(amount as u64);
        self.inner.consume(amount);
    }
}

impl<R: Seek> Seek for ProgressReader<R> {
    fn seek(&mut self, position: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(position)
    }
}
