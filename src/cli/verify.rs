//! `easgate verify`: every record's checksum, contiguity, the hash chain, the side file, the
//! device index, and the stored snapshot against a full replay. Exit 1 naming the first bad seq.

use serde_json::json;

use crate::cli::open::store_error;
use crate::cli::output::{Format, print};
use crate::cli::{Cli, CliError};
use crate::data::{ProjectionReplay, open_for_reading};
use crate::store::SnapshotVerdict;

pub fn run(cli: &Cli) -> Result<(), CliError> {
    let store = open_for_reading(&cli.data_dir()).map_err(store_error)?;
    let report = store.verify(Some(&mut ProjectionReplay)).map_err(store_error)?;
    let snapshot = match report.snapshot {
        SnapshotVerdict::NotChecked => "not checked".to_string(),
        SnapshotVerdict::NoSnapshot => "none".to_string(),
        SnapshotVerdict::OtherFormat { seq, format_id } => format!("seq {seq} in format {format_id}, to be rebuilt"),
        SnapshotVerdict::Matches { seq } => format!("seq {seq}, equal to a full replay"),
    };
    let hash: String = report.last_hash.iter().map(|byte| format!("{byte:02x}")).collect();
    match cli.format {
        Format::Json => print(&format!(
            "{}\n",
            json!({"ok": true, "records": report.records, "last_seq": report.last_seq, "last_hash": hash,
                   "side_file_seq": report.side_file_seq, "index_keys": report.index_keys, "snapshot": snapshot})
        )),
        Format::Table => print(&format!(
            "ok: {} records, seq 1..{} contiguous, checksums and hash chain intact (head {}), side file at seq {}, device index {} keys, snapshot: {}\n",
            report.records,
            report.last_seq,
            &hash[..16.min(hash.len())],
            report.side_file_seq,
            report.index_keys,
            snapshot
        )),
    }
    Ok(())
}
