//! The data directory as the rest of the program sees it: the store, and the projection folded
//! from it (from the newest snapshot plus the tail after it, or from seq 1).
//!
//! Invariant: a projection handed out here is exactly the fold of the log's first `last_seq`
//! events; a snapshot is used only when its record hash matches the log.

use std::path::Path;

use crate::domain::projection::{Projection, evolve, fold};
use crate::store::{OpenMode, ReplayComparison, Snapshot, SnapshotReplay, Store, StoreError};
use crate::sync::journal::{EventLog, LogError};

/// The projection's snapshot format. Bump it whenever `Projection` (or anything it holds)
/// changes shape: snapshots are never upcast, a snapshot of another format is rebuilt.
/// 2: the partnership table keeps the order partnerships were first seen in (its indexes hold
/// positions), where format 1 wrote it in hash order.
/// 3: pending intents and mails are hash maps keyed by their id as a number (`projection::id_key`).
/// 4: a pending intent keeps what its outcome settles (partnership positions, list claims, the
/// rule), not its call, which recovery reads back from the log.
/// 5: the maps from an address to a user and from an EAS DeviceId to a managed device hold the
/// record's position, not its id.
pub const PROJECTION_FORMAT: u32 = 5;

/// The id stored with snapshots: the format and easgate's version, because a new version may
/// fold the same events differently (a snapshot of another version is rebuilt, never trusted).
pub fn projection_format_id() -> u32 {
    crc32c::crc32c(format!("{}/{}", PROJECTION_FORMAT, env!("CARGO_PKG_VERSION")).as_bytes())
}

/// sled's page cache for easgate's access pattern (appends, and sequential scans at open): its
/// 1 GiB default only costs memory here.
pub const SLED_CACHE_BYTES: u64 = 8 * 1024 * 1024;

fn options(mode: OpenMode, cache_capacity_bytes: u64) -> crate::store::StoreOptions {
    crate::store::StoreOptions { mode, cache_capacity_bytes: Some(cache_capacity_bytes), ..Default::default() }
}

/// A snapshot is taken when this many events were appended since the last one.
pub const SNAPSHOT_EVERY_EVENTS: u64 = 100_000;

impl EventLog for Store {
    fn append(&mut self, events: Vec<crate::domain::NewEvent>) -> Result<Vec<crate::domain::RecordedEvent>, LogError> {
        Store::append(self, events).map_err(|error| LogError(error.to_string()))
    }
    fn flush(&mut self) -> Result<(), LogError> {
        Store::flush(self).map_err(|error| LogError(error.to_string()))
    }
    fn close(self: Box<Self>) -> Result<(), LogError> {
        Store::close(*self).map_err(|error| LogError(error.to_string()))
    }
    fn save_snapshot(&mut self, projection: &Projection) -> Result<(), LogError> {
        save_snapshot(self, projection).map_err(|error| LogError(error.to_string()))
    }
    fn read(&self, seq: u64) -> Result<Option<crate::domain::RecordedEvent>, LogError> {
        Store::read(self, seq).map_err(|error| LogError(error.to_string()))
    }
}

/// Folds the log into a projection, from the newest usable snapshot when there is one.
pub fn load_projection(store: &Store) -> Result<Projection, StoreError> {
    load_projection_and_snapshot(store).map(|(projection, _)| projection)
}

/// The projection, and the seq of the snapshot it started from (0: folded from seq 1).
pub fn load_projection_and_snapshot(store: &Store) -> Result<(Projection, u64), StoreError> {
    let mut projection = match store.latest_snapshot(projection_format_id())? {
        Some(snapshot) => match postcard::from_bytes::<Projection>(&snapshot.bytes) {
            Ok(mut projection) if projection.last_seq == snapshot.seq => {
                projection.rebuild_indexes();
                projection
            }
            _ => Projection::default(),
        },
        None => Projection::default(),
    };
    let snapshot_seq = projection.last_seq;
    fold_log(store, &mut projection)?;
    Ok((projection, snapshot_seq))
}

/// Folds the events after `projection.last_seq` to the end of the log into it: read and checked
/// on a second thread while this one decodes each event's view (its text borrowed from the
/// record) and folds it. Returns the events folded; on an error the projection holds every event
/// before the bad one.
pub fn fold_log(store: &Store, projection: &mut Projection) -> Result<u64, StoreError> {
    let folded = store.for_each_view(projection.last_seq + 1, u64::MAX, |event| fold(projection, event));
    release_free_memory();
    folded
}

/// How to hand freed memory back to the system: only the binary knows its allocator (and the
/// library forbids `unsafe`), so `main` installs it; without one, nothing is done.
static MEMORY_RELEASE: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Installs the allocator's "return free pages" call (once; later calls are ignored).
pub fn install_memory_release(release: fn()) {
    let _ = MEMORY_RELEASE.set(release);
}

/// Hands the memory a fold freed back to the system. A replay allocates and frees several times
/// what the projection keeps (every event's payload, the decoded snapshot), and the allocator
/// would otherwise keep those pages for a process that mostly idles between syncs.
pub fn release_free_memory() {
    if let Some(release) = MEMORY_RELEASE.get() {
        release();
    }
}

/// Folds the log up to and including `until_seq` from seq 1 (no snapshot: replays are for
/// looking back).
pub fn replay_until(
    store: &Store,
    until_seq: u64,
    mut each: impl FnMut(&Projection, &crate::domain::RecordedEvent),
) -> Result<Projection, StoreError> {
    let mut projection = Projection::default();
    if until_seq == 0 {
        return Ok(projection);
    }
    store.for_each_event(1, until_seq, |event| {
        evolve(&mut projection, &event);
        each(&projection, &event);
    })?;
    Ok(projection)
}

/// Saves a snapshot of `projection` (which must be the fold of the whole log).
pub fn save_snapshot(store: &mut Store, projection: &Projection) -> Result<(), StoreError> {
    assert_eq!(projection.last_seq, store.last_seq(), "a snapshot is of the whole log");
    let bytes = postcard::to_allocvec(projection)
        .map_err(|error| StoreError::Refused(format!("cannot encode the projection: {error}")))?;
    store.save_snapshot(projection.last_seq, projection_format_id(), bytes)
}

/// Opens a data directory for reading: every record checked (checksums, chain, contiguity), so
/// that no command shows less than the log holds without saying so.
pub fn open_for_reading(data_dir: &Path) -> Result<Store, StoreError> {
    if !data_dir.join("log").exists() {
        return Err(StoreError::BadDataDirectory {
            path: data_dir.to_path_buf(),
            detail:
                "no easgate data here (run `easgate demo`, `easgate simulate --data DIR ...` or `easgate log import`)"
                    .into(),
        });
    }
    Store::open_with(data_dir, options(OpenMode::Full, SLED_CACHE_BYTES))
}

/// `verify`'s snapshot check: a full replay compared with the stored snapshot.
pub struct ProjectionReplay;

impl SnapshotReplay for ProjectionReplay {
    fn format_id(&self) -> u32 {
        projection_format_id()
    }

    fn compare(
        &mut self,
        snapshot: &Snapshot,
        events: crate::store::EventIter<'_>,
    ) -> Result<ReplayComparison, StoreError> {
        let mut replayed = Projection::default();
        for event in events {
            evolve(&mut replayed, &event?);
        }
        let stored: Projection = match postcard::from_bytes::<Projection>(&snapshot.bytes) {
            Ok(mut stored) => {
                stored.rebuild_indexes();
                stored
            }
            Err(error) => return Ok(ReplayComparison::Differs(format!("the snapshot does not decode: {error}"))),
        };
        if stored == replayed {
            return Ok(ReplayComparison::Equal);
        }
        Ok(ReplayComparison::Differs(first_difference(&stored, &replayed)))
    }
}

fn first_difference(stored: &Projection, replayed: &Projection) -> String {
    macro_rules! compare {
        ($($field:ident),*) => {
            $(if stored.$field != replayed.$field {
                return format!("its {} differ(s) from the replay's", stringify!($field));
            })*
        };
    }
    let mut keys: Vec<_> = stored.devices.keys().chain(replayed.devices.keys()).collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        if stored.devices.get(key) != replayed.devices.get(key) {
            return format!("device {} on {} differs", key.device_id, key.mailbox);
        }
    }
    compare!(
        last_seq,
        last_recorded_at_us,
        connectors,
        policy,
        users,
        user_by_smtp,
        mailboxes,
        organization,
        managed,
        managed_by_eas,
        registrations,
        devices_by_id,
        devices_by_mailbox,
        pending_commands,
        pending_notifications,
        syncs,
        rules_seq,
        anomalies,
        anomaly_count,
        event_count
    );
    "the projection differs".to_string()
}

/// Opens a data directory for the engine (created when missing): the store checked at its tail,
/// and the projection folded from the newest snapshot.
pub fn open_journal(
    data_dir: &Path,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    ids: crate::sync::ids::IdGenerator,
) -> Result<crate::sync::journal::Journal, StoreError> {
    open_journal_with(data_dir, SLED_CACHE_BYTES, clock, ids)
}

/// `open_journal` with sled's cache size chosen by the caller (the daemon keeps a larger one).
pub fn open_journal_with(
    data_dir: &Path,
    cache_capacity_bytes: u64,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    ids: crate::sync::ids::IdGenerator,
) -> Result<crate::sync::journal::Journal, StoreError> {
    let mut store = Store::open_with(data_dir, options(OpenMode::Tail, cache_capacity_bytes))?;
    let (projection, mut snapshot_seq) = load_projection_and_snapshot(&store)?;
    if projection.last_seq - snapshot_seq >= SNAPSHOT_EVERY_EVENTS {
        // sled keeps in memory much of what a long fold read, whatever its cache size: take the
        // snapshot now and open the log again, so that the process holds the projection and
        // sled's working set only (RSS measured by `easgate bench memory`, "from the log").
        save_snapshot(&mut store, &projection)?;
        store.close()?;
        store = Store::open_with(data_dir, options(OpenMode::Tail, cache_capacity_bytes))?;
        snapshot_seq = projection.last_seq;
        release_free_memory();
    }
    let mut journal = crate::sync::journal::Journal::new(Box::new(store), projection, clock, ids);
    // A long tail since the snapshot (or none at all) gets a snapshot soon: restarts stay fast.
    journal.set_snapshot_seq(snapshot_seq);
    Ok(journal)
}
