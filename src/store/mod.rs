//! The event store (DESIGN section 5): the only code that touches sled. An append-only log of
//! events in the sled tree `events` under `DATA/log`, with gap-free seqs from 1, a frozen record
//! envelope, postcard payloads under explicit (event_type, event_version) codes, a crc32c checksum
//! and a blake3 hash chain per record, and a side file (`DATA/log.head`) with the last committed
//! (seq, hash). Derived trees (the device index, projection snapshots) can be rebuilt from it.
//!
//! Use:
//! - start: `Store::open(dir, OpenMode::Tail)`, `latest_snapshot(PROJECTION_FORMAT)`, then fold
//!   `for_each_view(snapshot.seq + 1, u64::MAX, ..)` (each event's view, its text borrowed;
//!   `for_each_event` for owned events, `events_from` for an iterator);
//! - write-ahead intent: `append(vec![decision, intent])` then `flush()` (or `append_durable`)
//!   before the cmdlet runs; many events, one flush per group;
//! - every so often `save_snapshot(seq, PROJECTION_FORMAT, bytes)` (a file in `DATA/snapshots`, durable at once);
//! - `easgate verify`: `Store::open(dir, OpenMode::Full)`, then `verify(Some(&mut replay))`;
//! - `easgate log`: `events_from(seq)` + `write_json_line`; `log import`: `import_json_lines`;
//! - `easgate audit DEVICE_ID`: `device_history(device_id)`; `status`: `len`, `size_on_disk_bytes`.
//!
//! Map:
//! - `catalog`: type codes, payload encoding, upcasters;
//! - `record`: the envelope's byte layout;
//! - `data_dir`: FORMAT and the side file;
//! - `log`: `Store` (open, append, flush, read); `open_check`: the checks at open;
//! - `read`: checked iterators; `pipeline`: the same, read ahead on a second thread; `device_index`; `snapshot`; `verify`; `json_lines`;
//! - `sled_guard`: every sled call behind `catch_unwind`;
//! - `measure`: throughput measurements for `easgate bench` and the criterion benches.

pub mod catalog;
pub mod data_dir;
pub mod device_index;
pub mod error;
pub mod json_lines;
pub mod log;
pub mod measure;
pub mod open_check;
pub mod pipeline;
pub mod read;
pub mod record;
mod sled_guard;
pub mod snapshot;
pub mod verify;

pub use device_index::{IndexKey, index_keys};
pub use error::StoreError;
pub use json_lines::{
    ImportDefaults, ImportError, ImportSummary, JsonLineError, parse_json_line, to_json_line, write_json_line,
};
pub use log::{NewEvent, Store, StoreOptions};
pub use open_check::{OpenMode, OpenReport};
pub use read::{EventIter, RecordIter, StoredRecord};
pub use snapshot::Snapshot;
pub use verify::{ReplayComparison, SnapshotReplay, SnapshotVerdict, VerifyReport};
