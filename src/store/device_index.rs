//! The per-device index: which seqs concern a device, so that `audit DEVICE_ID` reads only those
//! records. Derived data: the sled tree `device_index` can be rebuilt from the log at any time.
//!
//! Keys are derived from payloads alone, so a rebuild reproduces them exactly:
//! - `Device`: every EAS `device_id` field, `CmdletRequested.devices`, the ids on a mailbox's lists;
//! - `ManagedDevice`: every `managed_device_id` (enrolment, compliance, mapping);
//! - `Command`: `command_id` of the cmdlet intent and of its outcome.
//!
//! `Store::device_history` follows one hop from a device's own events to the managed devices and
//! commands they name, so compliance changes and cmdlet outcomes appear in the device's audit.
//!
//! Cost: the append path only notes (key, seq) pairs in memory. Every `chunk_events` events (and
//! at `Store::close`) the pending pairs are written as one sled batch with one value per key
//! (key = kind, length, lowercased id, first seq; value = the seq deltas) together with the
//! high-water mark. A crash loses at most the unwritten chunk, which the open repairs by
//! re-deriving it from the log after the high-water mark.

use std::path::Path;

use rustc_hash::FxHashMap;
use uuid::Uuid;

use crate::domain::event::Event;
use crate::store::catalog::decode_exact;
use crate::store::error::StoreError;
use crate::store::read::{ChainCheck, RecordIter};
use crate::store::sled_guard::{catch_quietly, sled_call};

/// What the index is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndexKey {
    /// An EAS DeviceId (case-insensitive).
    Device(String),
    /// A managed-device record id (case-insensitive).
    ManagedDevice(String),
    /// A cmdlet's `command_id`.
    Command(Uuid),
}

/// A key without its owned strings, as derived from an event.
#[derive(Debug, Clone, Copy)]
enum KeyRef<'a> {
    Device(&'a str),
    ManagedDevice(&'a str),
    Command(&'a Uuid),
}

const KIND_DEVICE: u8 = b'd';
const KIND_MANAGED_DEVICE: u8 = b'm';
const KIND_COMMAND: u8 = b'c';
/// The high-water mark's key; every index key starts with a kind letter instead.
const HIGH_WATER_KEY: &[u8] = &[0];
/// Ids longer than this are indexed by their first bytes (EAS ids are ~32 characters).
const MAX_ID_BYTES: usize = 1024;

/// The index keys of an event, each once.
pub fn index_keys(event: &Event) -> Vec<IndexKey> {
    let mut keys = Vec::new();
    for_each_key(event, |key| {
        let owned = match key {
            KeyRef::Device(id) => IndexKey::Device(id.to_lowercase()),
            KeyRef::ManagedDevice(id) => IndexKey::ManagedDevice(id.to_lowercase()),
            KeyRef::Command(id) => IndexKey::Command(*id),
        };
        if !keys.contains(&owned) {
            keys.push(owned);
        }
    });
    keys
}

fn for_each_key<'a>(event: &'a Event, mut visit: impl FnMut(KeyRef<'a>)) {
    let mut device = |id: &'a str| {
        if !id.is_empty() {
            visit(KeyRef::Device(id));
        }
    };
    match event {
        Event::DeviceDiscovered(payload) => device(&payload.device_id),
        Event::ExchangeStateObserved(payload) => device(&payload.device_id),
        Event::PartnershipRemoved(payload) => device(&payload.device_id),
        Event::DeviceRegistered(payload) => device(&payload.device_id),
        Event::DriftDetected(payload) => device(&payload.device_id),
        Event::WipeRequested(payload) => device(&payload.device_id),
        Event::WipeConfirmed(payload) => device(&payload.device_id),
        Event::NotificationRequested(payload) => device(&payload.device_id),
        Event::NotificationSent(payload) => device(&payload.device_id),
        Event::NotificationFailed(payload) => device(&payload.device_id),
        Event::MailboxObserved(payload) => {
            payload.allowed_device_ids.iter().chain(&payload.blocked_device_ids).for_each(|id| device(id))
        }
        _ => {}
    }
    for_each_linked_key(event, visit);
}

/// The keys that link an event to other histories (managed devices, commands), plus the device
/// ids of the events that carry both.
fn for_each_linked_key<'a>(event: &'a Event, mut visit: impl FnMut(KeyRef<'a>)) {
    let managed = |id: &'a str, visit: &mut dyn FnMut(KeyRef<'a>)| {
        if !id.is_empty() {
            visit(KeyRef::ManagedDevice(id));
        }
    };
    match event {
        Event::DeviceEnrolled(payload) => {
            managed(&payload.managed_device_id, &mut visit);
            payload.device_id.iter().filter(|id| !id.is_empty()).for_each(|id| visit(KeyRef::Device(id)));
        }
        Event::DeviceUnenrolled(payload) => {
            managed(&payload.managed_device_id, &mut visit);
            payload.device_id.iter().filter(|id| !id.is_empty()).for_each(|id| visit(KeyRef::Device(id)));
        }
        Event::DeviceMapped(payload) => {
            visit(KeyRef::Device(&payload.device_id));
            managed(&payload.managed_device_id, &mut visit);
        }
        Event::EasIdRegistered(payload) => {
            visit(KeyRef::Device(&payload.device_id));
            managed(&payload.managed_device_id, &mut visit);
        }
        Event::ComplianceObserved(payload) => managed(&payload.managed_device_id, &mut visit),
        Event::AccessDecided(payload) => {
            visit(KeyRef::Device(&payload.device_id));
            if let Some(id) = &payload.inputs.managed_device_id {
                managed(id, &mut visit);
            }
        }
        Event::CmdletRequested(payload) => {
            visit(KeyRef::Command(&payload.command_id));
            payload.devices.iter().for_each(|device| visit(KeyRef::Device(&device.device_id)));
        }
        Event::CmdletSucceeded(payload) => visit(KeyRef::Command(&payload.command_id)),
        Event::CmdletFailed(payload) => visit(KeyRef::Command(&payload.command_id)),
        Event::CmdletReconciled(payload) => visit(KeyRef::Command(&payload.command_id)),
        _ => {}
    }
}

/// The managed devices and commands an event names: where `device_history` looks next.
pub(crate) fn linked_keys(event: &Event) -> Vec<IndexKey> {
    let mut keys = Vec::new();
    for_each_linked_key(event, |key| match key {
        KeyRef::ManagedDevice(id) => keys.push(IndexKey::ManagedDevice(id.to_lowercase())),
        KeyRef::Command(id) => keys.push(IndexKey::Command(*id)),
        KeyRef::Device(_) => {}
    });
    keys
}

/// Writes a key's prefix (kind, length, normalised id) into `out`.
fn write_prefix(out: &mut Vec<u8>, key: KeyRef<'_>) {
    out.clear();
    let (kind, id_start) = match key {
        KeyRef::Device(_) => (KIND_DEVICE, 3),
        KeyRef::ManagedDevice(_) => (KIND_MANAGED_DEVICE, 3),
        KeyRef::Command(_) => (KIND_COMMAND, 3),
    };
    out.extend_from_slice(&[kind, 0, 0]);
    match key {
        KeyRef::Device(id) | KeyRef::ManagedDevice(id) => push_lowercase(out, id),
        KeyRef::Command(id) => out.extend_from_slice(id.as_bytes()),
    }
    out.truncate(id_start + MAX_ID_BYTES);
    let id_len = (out.len() - id_start) as u16;
    out[1..3].copy_from_slice(&id_len.to_be_bytes());
}

fn push_lowercase(out: &mut Vec<u8>, id: &str) {
    if id.is_ascii() {
        out.extend(id.bytes().map(|byte| byte.to_ascii_lowercase()));
    } else {
        out.extend_from_slice(id.to_lowercase().as_bytes());
    }
}

fn key_ref(key: &IndexKey) -> KeyRef<'_> {
    match key {
        IndexKey::Device(id) => KeyRef::Device(id),
        IndexKey::ManagedDevice(id) => KeyRef::ManagedDevice(id),
        IndexKey::Command(id) => KeyRef::Command(id),
    }
}

/// The index tree, the high-water mark and the (key, seq) pairs not written yet.
pub(crate) struct DeviceIndex {
    /// Every seq up to this one is in the tree.
    indexed_through: u64,
    /// Key prefix -> seqs (ascending) of events after `indexed_through`.
    pending: FxHashMap<Vec<u8>, Vec<u64>>,
    pending_through: u64,
    chunk_events: u64,
    scratch: Vec<u8>,
}

impl DeviceIndex {
    /// An index that knows nothing yet; `load_high_water` reads where the stored one ends.
    pub(crate) fn new(chunk_events: u64) -> DeviceIndex {
        DeviceIndex {
            indexed_through: 0,
            pending: FxHashMap::default(),
            pending_through: 0,
            chunk_events: chunk_events.max(1),
            scratch: Vec::with_capacity(64),
        }
    }

    pub(crate) fn load_high_water(&mut self, tree: &sled::Tree, log_path: &Path) -> Result<(), StoreError> {
        let stored =
            sled_call(|| tree.get(HIGH_WATER_KEY)).map_err(|failure| failure.into_store_error(log_path, None))?;
        self.indexed_through = stored.and_then(|bytes| crate::store::read::key_seq(&bytes)).unwrap_or(0);
        self.pending.clear();
        self.pending_through = self.indexed_through;
        Ok(())
    }

    pub(crate) fn indexed_through(&self) -> u64 {
        self.indexed_through
    }

    /// Notes an appended event's keys (memory only).
    pub(crate) fn note(&mut self, seq: u64, event: &Event) {
        let (pending, scratch) = (&mut self.pending, &mut self.scratch);
        for_each_key(event, |key| {
            write_prefix(scratch, key);
            match pending.get_mut(scratch.as_slice()) {
                // An event naming the same key twice is indexed once.
                Some(seqs) if seqs.last() == Some(&seq) => {}
                Some(seqs) => seqs.push(seq),
                None => {
                    pending.insert(scratch.clone(), vec![seq]);
                }
            }
        });
        self.pending_through = seq;
    }

    pub(crate) fn chunk_is_due(&self) -> bool {
        self.pending_through - self.indexed_through >= self.chunk_events
    }

    /// Writes the pending pairs and the new high-water mark in one batch.
    pub(crate) fn write_pending(&mut self, tree: &sled::Tree, log_path: &Path) -> Result<(), StoreError> {
        if self.pending_through == self.indexed_through {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for (prefix, seqs) in &self.pending {
            let mut key = Vec::with_capacity(prefix.len() + 8);
            key.extend_from_slice(prefix);
            key.extend_from_slice(&seqs[0].to_be_bytes());
            batch.insert(key, encode_seqs(seqs));
        }
        batch.insert(HIGH_WATER_KEY, &self.pending_through.to_be_bytes());
        sled_call(|| tree.apply_batch(batch)).map_err(|failure| failure.into_store_error(log_path, None))?;
        self.pending.clear();
        self.indexed_through = self.pending_through;
        Ok(())
    }

    /// Derives the index for `indexed_through+1..=last_seq` from the log (repair after a crash,
    /// or a rebuild after `clear`). Reads through `RecordIter`, so the chain is checked too.
    pub(crate) fn catch_up(
        &mut self,
        trees: (&sled::Tree, &sled::Tree),
        log_path: &Path,
        last_seq: u64,
        chain: ChainCheck,
    ) -> Result<u64, StoreError> {
        let (events, tree) = trees;
        if self.pending_through >= last_seq {
            return Ok(0);
        }
        let from_seq = self.pending_through + 1;
        let mut derived_events = 0;
        for record in RecordIter::new(events, log_path, from_seq, last_seq, chain)? {
            let recorded = record?.decode()?;
            self.note(recorded.seq, &recorded.event);
            derived_events += 1;
            if self.chunk_is_due() {
                self.write_pending(tree, log_path)?;
            }
        }
        self.write_pending(tree, log_path)?;
        Ok(derived_events)
    }

    /// Empties the tree (entries past the log's end, or a requested rebuild).
    pub(crate) fn clear(&mut self, tree: &sled::Tree, log_path: &Path) -> Result<(), StoreError> {
        sled_call(|| tree.clear()).map_err(|failure| failure.into_store_error(log_path, None))?;
        self.pending.clear();
        self.indexed_through = 0;
        self.pending_through = 0;
        Ok(())
    }

    /// The seqs of a key, ascending (written chunks, then pending ones).
    pub(crate) fn lookup(&self, tree: &sled::Tree, key: &IndexKey, log_path: &Path) -> Result<Vec<u64>, StoreError> {
        let mut prefix = Vec::with_capacity(64);
        write_prefix(&mut prefix, key_ref(key));
        let mut seqs = Vec::new();
        let chunks =
            catch_quietly(|| tree.scan_prefix(&prefix)).map_err(|message| self.unreadable(log_path, message))?;
        for chunk in chunks {
            let (chunk_key, value) = sled_call(|| chunk).map_err(|failure| failure.into_store_error(log_path, None))?;
            decode_chunk(&chunk_key, &value, &mut seqs).map_err(|detail| self.mismatch(detail))?;
        }
        if let Some(pending) = self.pending.get(prefix.as_slice()) {
            seqs.extend_from_slice(pending);
        }
        Ok(seqs)
    }

    /// Every (key prefix -> seqs) the index holds, written and pending: for `verify`.
    pub(crate) fn load_all(
        &self,
        tree: &sled::Tree,
        log_path: &Path,
    ) -> Result<FxHashMap<Vec<u8>, Vec<u64>>, StoreError> {
        let mut all: FxHashMap<Vec<u8>, Vec<u64>> = FxHashMap::default();
        let entries = catch_quietly(|| tree.iter()).map_err(|message| self.unreadable(log_path, message))?;
        for entry in entries {
            let (key, value) = sled_call(|| entry).map_err(|failure| failure.into_store_error(log_path, None))?;
            if key.as_ref() == HIGH_WATER_KEY {
                continue;
            }
            let prefix = key.get(..key.len().saturating_sub(8)).unwrap_or_default().to_vec();
            let seqs = all.entry(prefix).or_default();
            decode_chunk(&key, &value, seqs).map_err(|detail| self.mismatch(detail))?;
        }
        for (prefix, pending) in &self.pending {
            all.entry(prefix.clone()).or_default().extend_from_slice(pending);
        }
        Ok(all)
    }

    /// The prefix of every key of an event, each once: for `verify`.
    pub(crate) fn event_prefixes(event: &Event) -> Vec<Vec<u8>> {
        let mut prefixes: Vec<Vec<u8>> = Vec::new();
        let mut scratch = Vec::new();
        for_each_key(event, |key| {
            write_prefix(&mut scratch, key);
            if !prefixes.contains(&scratch) {
                prefixes.push(scratch.clone());
            }
        });
        prefixes
    }

    fn unreadable(&self, log_path: &Path, message: String) -> StoreError {
        StoreError::Unreadable { path: log_path.to_path_buf(), detail: format!("device index: {message}") }
    }

    fn mismatch(&self, detail: String) -> StoreError {
        StoreError::IndexMismatch { seq: self.indexed_through, detail }
    }
}

/// A readable name for a key prefix (messages).
pub(crate) fn describe_prefix(prefix: &[u8]) -> String {
    let id = prefix.get(3..).unwrap_or_default();
    match prefix.first() {
        Some(&KIND_DEVICE) => format!("device {:?}", String::from_utf8_lossy(id)),
        Some(&KIND_MANAGED_DEVICE) => format!("managed device {:?}", String::from_utf8_lossy(id)),
        Some(&KIND_COMMAND) => match Uuid::from_slice(id) {
            Ok(uuid) => format!("command {uuid}"),
            Err(_) => "a malformed command key".to_string(),
        },
        _ => "an unknown key".to_string(),
    }
}

/// Seqs after the first (which is in the key) as ascending deltas.
fn encode_seqs(seqs: &[u64]) -> Vec<u8> {
    let deltas: Vec<u64> = seqs.windows(2).map(|pair| pair[1] - pair[0]).collect();
    postcard::to_allocvec(&deltas).unwrap_or_default()
}

fn decode_chunk(key: &[u8], value: &[u8], seqs: &mut Vec<u64>) -> Result<(), String> {
    let first_bytes = key.len().checked_sub(8).and_then(|start| key.get(start..)).ok_or("a key is too short")?;
    let first = crate::store::read::key_seq(first_bytes).ok_or("a key is too short")?;
    let deltas: Vec<u64> = decode_exact(value).map_err(|error| format!("a chunk does not decode: {error}"))?;
    let mut seq = first;
    seqs.push(seq);
    for delta in deltas {
        seq = seq.checked_add(delta).ok_or("a chunk overflows")?;
        seqs.push(seq);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{CmdletRequested, DeviceRef};

    #[test]
    fn a_cmdlet_intent_is_keyed_by_its_command_and_each_device_once() {
        let command_id = Uuid::from_u128(9);
        let event = Event::CmdletRequested(CmdletRequested {
            command_id,
            cmdlet: "Set-CASMailbox".into(),
            parameters: Default::default(),
            devices: vec![
                DeviceRef { mailbox: "a@contoso.com".into(), device_id: "ApplABC".into() },
                DeviceRef { mailbox: "b@contoso.com".into(), device_id: "applabc".into() },
            ],
            attempt: 1,
        });
        assert_eq!(index_keys(&event), vec![IndexKey::Command(command_id), IndexKey::Device("applabc".into())]);
    }

    #[test]
    fn prefixes_of_ids_that_extend_each_other_differ_in_length() {
        let (mut short, mut long) = (Vec::new(), Vec::new());
        write_prefix(&mut short, KeyRef::Device("abc"));
        write_prefix(&mut long, KeyRef::Device("abcd"));
        assert!(!long.starts_with(&short));
    }
}
