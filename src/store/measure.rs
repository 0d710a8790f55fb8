//! Throughput measurements of the store against raw sled in the same run, for `easgate bench`
//! and the criterion benches: durable append (one flush per batch), a checked scan, and open time.
//! Also the realistic event mix they use (DeviceDiscovered / AccessDecided / CmdletRequested).

use std::path::Path;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::domain::cmdlet_call::{ListEdit, ParamValue, Parameters};
use crate::domain::event::{AccessDecided, CmdletRequested, DecisionInputs, DeviceDiscovered, DeviceRef, Event};
use crate::domain::vocabulary::{Access, Compliance, ExchangeReason, ExchangeState, Reason};
use crate::store::error::StoreError;
use crate::store::log::{NewEvent, Store, StoreOptions};
use crate::store::open_check::{OpenMode, OpenReport};
use crate::store::read::seq_key;
use crate::store::sled_guard::sled_call;

/// 2026-01-01T00:00:00Z in microseconds.
pub const START_US: i64 = 1_767_225_600_000_000;

/// One measured run.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub name: String,
    pub items: u64,
    pub elapsed: Duration,
}

impl Measurement {
    pub fn items_per_second(&self) -> f64 {
        self.items as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn nanoseconds_per_item(&self) -> f64 {
        self.elapsed.as_nanos() as f64 / self.items.max(1) as f64
    }
}

/// The median (by elapsed time) of several runs of the same measurement.
pub fn median(mut runs: Vec<Measurement>) -> Option<Measurement> {
    runs.sort_by_key(|run| run.elapsed);
    let middle = runs.len() / 2;
    runs.into_iter().nth(middle)
}

/// Event `index` of a deterministic, realistic mix: each device is discovered, decided
/// (quarantined, not enrolled) and blocked with an incremental Set-CASMailbox.
pub fn realistic_event(index: u64) -> NewEvent {
    let device = index / 3;
    let mailbox = format!("user{:06}@contoso.com", device / 2);
    let device_id = format!("Appl{:012X}", device.wrapping_mul(7919));
    let event = match index % 3 {
        0 => iphone_discovered(mailbox, device_id),
        1 => Event::AccessDecided(AccessDecided {
            mailbox,
            device_id,
            access: Access::Quarantined,
            reason: Reason::NotEnrolled,
            inputs: DecisionInputs {
                targeted: true,
                compliance: Compliance::Unknown,
                policy_revision: 3,
                ..Default::default()
            },
        }),
        _ => Event::CmdletRequested(CmdletRequested {
            command_id: deterministic_v7(index, 1),
            cmdlet: "Set-CASMailbox".into(),
            parameters: Parameters(vec![
                ("Identity".into(), ParamValue::Text(mailbox.clone())),
                (
                    "ActiveSyncBlockedDeviceIDs".into(),
                    ParamValue::Edit(ListEdit { add: vec![device_id.clone()], remove: vec![] }),
                ),
            ]),
            devices: vec![DeviceRef { mailbox, device_id }],
            attempt: 1,
        }),
    };
    NewEvent {
        recorded_at_us: START_US + index as i64 * 1_000,
        event_id: deterministic_v7(index, 0),
        correlation_id: Some(deterministic_v7(index / 1_000, 2)),
        causation_id: (!index.is_multiple_of(3)).then(|| deterministic_v7(index - 1, 0)),
        event,
    }
}

/// The discovery of an iPhone in quarantine's first state, as the benchmarks' logs record it.
pub fn iphone_discovered(mailbox: String, device_id: String) -> Event {
    Event::DeviceDiscovered(DeviceDiscovered {
        mailbox,
        device_id,
        device_type: "iPhone".into(),
        device_model: "iPhone15,2".into(),
        device_os: "iOS 17.4.1 21E236".into(),
        exchange_state: ExchangeState::DeviceDiscovery,
        exchange_reason: ExchangeReason::Global,
        user_agent: "Apple-iPhone15C2/2104.236".into(),
    })
}

/// `count` realistic events starting at `first_index`.
pub fn realistic_events(first_index: u64, count: usize) -> Vec<NewEvent> {
    (first_index..first_index + count as u64).map(realistic_event).collect()
}

/// A version-7 id made of `index` and `stream`: the same for the same inputs, so runs compare.
pub fn deterministic_v7(index: u64, stream: u8) -> Uuid {
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&index.to_be_bytes());
    random[8] = stream;
    let millis = (START_US / 1_000) as u64 + index;
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

/// Appends `batches` x `batch_events` realistic events to a new store in `data_dir`, one flush per
/// batch. With `index_every_batches`, also writes the device index (`catch_up_device_index`)
/// after every that many batches and at the end, timed; without, the index stays pending (the
/// append path alone). Events are built before the clock starts.
pub fn durable_append(
    data_dir: &Path,
    batches: u64,
    batch_events: usize,
    index_every_batches: Option<u64>,
) -> Result<Measurement, StoreError> {
    let mut store =
        Store::open_with(data_dir, StoreOptions { index_pending_max_events: u64::MAX, ..StoreOptions::default() })?;
    let first = store.last_seq();
    let prepared: Vec<Vec<NewEvent>> =
        (0..batches).map(|batch| realistic_events(first + batch * batch_events as u64, batch_events)).collect();
    let started = Instant::now();
    for (batch_number, batch) in (1..).zip(prepared) {
        store.append(batch)?;
        store.flush()?;
        if index_every_batches.is_some_and(|every| batch_number % every.max(1) == 0) {
            store.catch_up_device_index()?;
        }
    }
    if index_every_batches.is_some() {
        store.catch_up_device_index()?;
        store.flush()?;
    }
    let elapsed = started.elapsed();
    store.close()?;
    let name = match index_every_batches {
        None => "store durable append (device index pending)".to_string(),
        Some(1) => "store durable append + device index written every flush".to_string(),
        Some(every) => format!("store durable append + device index written every {every} flushes"),
    };
    Ok(Measurement { name, items: batches * batch_events as u64, elapsed })
}

/// The baseline: raw sled, the same batches of `value_bytes`-byte values, one flush per batch.
/// With `index_entries_per_value`, also that many 40-byte keys per value in a second tree, one
/// batch each (the cost of a naive per-event index).
pub fn raw_sled_append(
    log_path: &Path,
    batches: u64,
    batch_events: usize,
    value_bytes: usize,
    index_entries_per_value: usize,
) -> Result<Measurement, StoreError> {
    let to_error = |failure: crate::store::sled_guard::SledFailure| failure.into_store_error(log_path, None);
    let db = sled_call(|| sled::open(log_path)).map_err(to_error)?;
    let events = sled_call(|| db.open_tree("events")).map_err(to_error)?;
    let index = sled_call(|| db.open_tree("index")).map_err(to_error)?;
    let value: Vec<u8> = (0..value_bytes).map(|byte| (byte * 31 % 251) as u8).collect();
    let started = Instant::now();
    for batch_number in 0..batches {
        let mut batch = sled::Batch::default();
        let mut index_batch = sled::Batch::default();
        for offset in 0..batch_events as u64 {
            let seq = batch_number * batch_events as u64 + offset + 1;
            // Every value differs (as records do) and is a fresh allocation (as records are).
            let mut distinct_value = value.clone();
            distinct_value[..8.min(value_bytes)].copy_from_slice(&seq.to_le_bytes()[..8.min(value_bytes)]);
            batch.insert(&seq_key(seq), distinct_value);
            for entry in 0..index_entries_per_value {
                let key = format!("d\0\x14appl{:016x}{entry}{seq:016x}", seq / 3);
                index_batch.insert(key.as_bytes(), &[]);
            }
        }
        sled_call(|| events.apply_batch(batch)).map_err(to_error)?;
        if index_entries_per_value > 0 {
            sled_call(|| index.apply_batch(index_batch)).map_err(to_error)?;
        }
        sled_call(|| db.flush()).map_err(to_error)?;
    }
    let elapsed = started.elapsed();
    let name = match index_entries_per_value {
        0 => format!("raw sled append ({value_bytes} B values)"),
        entries => format!("raw sled append ({value_bytes} B values) + {entries} naive index entry per value"),
    };
    Ok(Measurement { name, items: batches * batch_events as u64, elapsed })
}

/// Reads every record checking checksum, contiguity and chain, without decoding payloads.
pub fn checked_scan(store: &Store) -> Result<Measurement, StoreError> {
    let started = Instant::now();
    let mut items = 0;
    let mut payload_bytes = 0usize;
    for record in store.records_from(1)? {
        payload_bytes += record?.payload().len();
        items += 1;
    }
    std::hint::black_box(payload_bytes);
    Ok(Measurement { name: "store checked scan (checksum + chain)".into(), items, elapsed: started.elapsed() })
}

/// Reads every event checked and decoded into `RecordedEvent`s.
pub fn decoded_scan(store: &Store) -> Result<Measurement, StoreError> {
    let started = Instant::now();
    let mut items = 0;
    for event in store.events_from(1)? {
        std::hint::black_box(event?);
        items += 1;
    }
    Ok(Measurement { name: "store checked scan + payload decode".into(), items, elapsed: started.elapsed() })
}

/// The baseline: sled iterating the same `events` tree, touching each value.
pub fn raw_sled_scan(store: &Store) -> Result<Measurement, StoreError> {
    let started = Instant::now();
    let mut items = 0;
    let mut bytes = 0usize;
    for entry in store.trees().events.iter() {
        let (_, value) = sled_call(|| entry).map_err(|failure| failure.into_store_error(&store.log_path, None))?;
        bytes += value.len();
        items += 1;
    }
    std::hint::black_box(bytes);
    Ok(Measurement { name: "raw sled scan".into(), items, elapsed: started.elapsed() })
}

/// Builds a log of `events` realistic events (batches of 10,000, one flush each) with a snapshot
/// (of `snapshot_bytes` bytes, format 1) at `snapshot_at_seq`.
pub fn build_log(
    data_dir: &Path,
    events: u64,
    snapshot_at_seq: Option<u64>,
    snapshot_bytes: usize,
) -> Result<(), StoreError> {
    const BATCH_EVENTS: u64 = 10_000;
    let mut store = Store::open(data_dir, OpenMode::Tail)?;
    while store.last_seq() < events {
        let count = BATCH_EVENTS.min(events - store.last_seq());
        store.append(realistic_events(store.last_seq(), count as usize))?;
        store.flush()?;
        if let Some(seq) = snapshot_at_seq.filter(|seq| (store.last_seq() - count + 1..=store.last_seq()).contains(seq))
        {
            store.save_snapshot(seq, 1, vec![0x5a; snapshot_bytes])?;
        }
    }
    store.close()
}

/// Opens `data_dir` in `mode` and reports how long it took and what the checks covered.
pub fn open_time(data_dir: &Path, mode: OpenMode) -> Result<(Measurement, OpenReport), StoreError> {
    let started = Instant::now();
    let store = Store::open(data_dir, mode)?;
    let elapsed = started.elapsed();
    let report = store.open_report().clone();
    let name = format!("open ({mode:?}, {} records checked)", report.records_checked);
    Ok((Measurement { name, items: report.last_seq, elapsed }, report))
}

/// Median record size of the realistic mix, in bytes (record, not payload).
pub fn realistic_record_bytes(store: &Store) -> Result<usize, StoreError> {
    let mut sizes = Vec::new();
    for record in store.records_range(1, 300)? {
        sizes.push(record?.bytes().len());
    }
    sizes.sort_unstable();
    Ok(sizes.get(sizes.len() / 2).copied().unwrap_or(0))
}

/// Reads every record hashing each one to check every link (what `verify` and a full open do).
pub fn rehashing_scan(store: &Store) -> Result<Measurement, StoreError> {
    let started = Instant::now();
    let mut items = 0;
    for record in store.records_range_rehashing(1, store.last_seq())? {
        std::hint::black_box(record?);
        items += 1;
    }
    Ok(Measurement { name: "store scan re-hashing every record (verify)".into(), items, elapsed: started.elapsed() })
}

/// What a projection does per event, roughly: find the device's entry, update a few fields.
fn synthetic_fold(state: &mut rustc_hash::FxHashMap<String, (u64, u32)>, event: &crate::domain::RecordedEvent) {
    let device_id = match &event.event {
        Event::DeviceDiscovered(payload) => Some(&payload.device_id),
        Event::AccessDecided(payload) => Some(&payload.device_id),
        Event::CmdletRequested(payload) => payload.devices.first().map(|device| &device.device_id),
        _ => None,
    };
    let Some(device_id) = device_id else { return };
    match state.get_mut(device_id.as_str()) {
        Some(entry) => *entry = (event.seq, entry.1 + 1),
        None => {
            state.insert(device_id.clone(), (event.seq, 1));
        }
    }
}

/// A replay: every event checked, decoded and folded by `synthetic_fold`.
pub fn replay_with_fold(store: &Store) -> Result<Measurement, StoreError> {
    let started = Instant::now();
    let mut state = rustc_hash::FxHashMap::default();
    let mut items = 0;
    for event in store.events_from(1)? {
        synthetic_fold(&mut state, &event?);
        items += 1;
    }
    std::hint::black_box(state);
    Ok(Measurement { name: "replay + synthetic fold".into(), items, elapsed: started.elapsed() })
}

/// A store measurement and its raw-sled baseline, each the median of runs interleaved in one process.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub store: Measurement,
    pub baseline: Measurement,
}

impl Comparison {
    /// Store rate / baseline rate.
    pub fn ratio(&self) -> f64 {
        self.store.items_per_second() / self.baseline.items_per_second().max(1e-9)
    }
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{}: {:.0}/s vs {}: {:.0}/s = {:.2}x",
            self.store.name,
            self.store.items_per_second(),
            self.baseline.name,
            self.baseline.items_per_second(),
            self.ratio()
        )
    }
}

/// How big `compare_all` makes its runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportSize {
    /// Batches of 1,000 events per append run.
    pub append_batches: u64,
    /// Events in the scanned log.
    pub scan_events: u64,
    /// Runs of each measurement (the median is reported).
    pub rounds: usize,
}

impl Default for ReportSize {
    fn default() -> ReportSize {
        ReportSize { append_batches: 100, scan_events: 200_000, rounds: 5 }
    }
}

/// The store against raw sled, runs interleaved so that a busy machine slows both alike:
/// durable append (the store with its device index pending, written every 10 flushes, written
/// every flush; raw sled with values of the realistic record size and with one naive index entry
/// per value; raw sled with 150-byte values), and
/// scans (checked, checked + decoded, re-hashing, a replay with a synthetic fold, vs sled's own
/// iteration).
pub fn compare_all(work_dir: &Path, size: ReportSize) -> Result<Vec<Comparison>, StoreError> {
    const BATCH: usize = 1_000;
    let scan_dir = work_dir.join("scan");
    build_log(&scan_dir, size.scan_events, None, 0)?;
    let store = Store::open(&scan_dir, OpenMode::Tail)?;
    let record_bytes = realistic_record_bytes(&store)?;
    let mut runs: Vec<Vec<Measurement>> = vec![Vec::new(); 11];
    for round in 0..size.rounds {
        let fresh = |name: &str| work_dir.join(format!("{name}-{round}"));
        runs[0].push(durable_append(&fresh("append"), size.append_batches, BATCH, None)?);
        runs[1].push(raw_sled_append(&fresh("raw"), size.append_batches, BATCH, record_bytes, 0)?);
        runs[2].push(durable_append(&fresh("append-index-10"), size.append_batches, BATCH, Some(10))?);
        runs[3].push(durable_append(&fresh("append-index-1"), size.append_batches, BATCH, Some(1))?);
        runs[4].push(raw_sled_append(&fresh("raw-index"), size.append_batches, BATCH, record_bytes, 1)?);
        runs[10].push(raw_sled_append(&fresh("raw-150"), size.append_batches, BATCH, 150, 0)?);
        runs[5].push(raw_sled_scan(&store)?);
        runs[6].push(checked_scan(&store)?);
        runs[7].push(decoded_scan(&store)?);
        runs[8].push(rehashing_scan(&store)?);
        runs[9].push(replay_with_fold(&store)?);
        for name in ["append", "raw", "append-index-10", "append-index-1", "raw-index", "raw-150"] {
            let _ = std::fs::remove_dir_all(fresh(name));
        }
    }
    let mut medians = runs.into_iter().map(|runs| median(runs).ok_or_else(|| StoreError::Refused("no rounds".into())));
    let mut next = || medians.next().unwrap_or_else(|| Err(StoreError::Refused("no rounds".into())));
    let (append, raw, append_index_10, append_index_1, raw_index) = (next()?, next()?, next()?, next()?, next()?);
    let (raw_scan, checked, decoded, rehashing, replay, raw_150) =
        (next()?, next()?, next()?, next()?, next()?, next()?);
    Ok(vec![
        Comparison { store: append.clone(), baseline: raw.clone() },
        Comparison { store: append, baseline: raw_150 },
        Comparison { store: append_index_10, baseline: raw.clone() },
        Comparison { store: append_index_1, baseline: raw.clone() },
        Comparison { store: raw_index, baseline: raw },
        Comparison { store: checked, baseline: raw_scan.clone() },
        Comparison { store: decoded, baseline: raw_scan.clone() },
        Comparison { store: rehashing, baseline: raw_scan.clone() },
        Comparison { store: replay, baseline: raw_scan },
    ])
}
