//! `PositionIndex`: the partnerships with one id (a DeviceId, or a mailbox's address), found
//! without a copy of the id. The table holds positions in the partnership table only, hashed by
//! the id their key holds; a lookup compares the keys it finds there. A position costs 5 bytes
//! (a `u32` and hashbrown's control byte), where a map from id to positions cost about 57, and
//! the table of 100,000 partnerships stays small enough to stay in cache during a replay.
//!
//! Invariant: every position in the table is a partnership in the table it was built from, and
//! is hashed by `F::id` of that partnership's key (lowercased). Derived data: never in snapshots.

use std::hash::BuildHasher;
use std::marker::PhantomData;

use rustc_hash::FxBuildHasher;

use crate::domain::projection::keys::{DeviceKey, DeviceMap};

/// Which id of a partnership's key an index groups by.
pub trait KeyId {
    fn id(key: &DeviceKey) -> &str;
}

/// Groups partnerships by DeviceId (a phone may sync several mailboxes).
#[derive(Debug, Clone, Copy, Default)]
pub struct ByDeviceId;

/// Groups partnerships by mailbox.
#[derive(Debug, Clone, Copy, Default)]
pub struct ByMailbox;

impl KeyId for ByDeviceId {
    fn id(key: &DeviceKey) -> &str {
        &key.device_id
    }
}

impl KeyId for ByMailbox {
    fn id(key: &DeviceKey) -> &str {
        &key.mailbox
    }
}

pub struct PositionIndex<F> {
    table: hashbrown::HashTable<u32>,
    by: PhantomData<F>,
}

impl<F: KeyId> PositionIndex<F> {
    /// Adds the partnership at `position` of `devices` (not in the index yet).
    pub fn insert<V>(&mut self, devices: &DeviceMap<V>, position: usize) {
        let Some((key, _)) = devices.get_index(position) else { return };
        // Positions are stored as `u32`: 4 billion partnerships would take a terabyte of memory
        // before they reached it.
        let Ok(stored) = u32::try_from(position) else { return };
        let rehash = |&other: &u32| id_hash(devices.get_index(other as usize).map_or("", |(key, _)| F::id(key)));
        self.table.insert_unique(id_hash(F::id(key)), stored, rehash);
    }

    /// The positions of the partnerships whose id is `id` (lowercased), in no particular order.
    pub fn positions<'a, V>(&'a self, devices: &'a DeviceMap<V>, id: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.table
            .iter_hash(id_hash(id))
            .map(|&position| position as usize)
            .filter(move |&position| devices.get_index(position).is_some_and(|(key, _)| F::id(key) == id))
    }

    /// `positions`, sorted by the partnerships' keys (for output).
    pub fn sorted_positions<V>(&self, devices: &DeviceMap<V>, id: &str) -> Vec<usize> {
        let mut positions: Vec<usize> = self.positions(devices, id).collect();
        positions.sort_unstable_by(|&left, &right| {
            devices.get_index(left).map(|(key, _)| key).cmp(&devices.get_index(right).map(|(key, _)| key))
        });
        positions
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn clear(&mut self) {
        self.table.clear();
    }

    /// Makes room for `additional` more partnerships (a snapshot's whole table at once).
    pub fn reserve<V>(&mut self, devices: &DeviceMap<V>, additional: usize) {
        let rehash = |&other: &u32| id_hash(devices.get_index(other as usize).map_or("", |(key, _)| F::id(key)));
        self.table.reserve(additional, rehash);
    }
}

fn id_hash(id: &str) -> u64 {
    FxBuildHasher.hash_one(id)
}

impl<F> Default for PositionIndex<F> {
    fn default() -> PositionIndex<F> {
        PositionIndex { table: hashbrown::HashTable::new(), by: PhantomData }
    }
}

impl<F> Clone for PositionIndex<F> {
    fn clone(&self) -> PositionIndex<F> {
        PositionIndex { table: self.table.clone(), by: PhantomData }
    }
}

impl<F> std::fmt::Debug for PositionIndex<F> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("PositionIndex").field("len", &self.table.len()).finish()
    }
}

/// Two indexes are equal when they hold the same positions: each position's hash is its key's,
/// so over one partnership table equal positions are equal indexes.
impl<F> PartialEq for PositionIndex<F> {
    fn eq(&self, other: &PositionIndex<F>) -> bool {
        let sorted = |index: &PositionIndex<F>| {
            let mut positions: Vec<u32> = index.table.iter().copied().collect();
            positions.sort_unstable();
            positions
        };
        self.table.len() == other.table.len() && sorted(self) == sorted(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(keys: &[(&str, &str)]) -> DeviceMap<()> {
        keys.iter().map(|&(mailbox, device_id)| (DeviceKey::new(mailbox, device_id), ())).collect()
    }

    #[test]
    fn finds_every_partnership_with_an_id_and_no_other() {
        let devices = table(&[("b@x", "phone"), ("a@x", "phone"), ("a@x", "tablet"), ("c@x", "other")]);
        let (mut by_id, mut by_mailbox) =
            (PositionIndex::<ByDeviceId>::default(), PositionIndex::<ByMailbox>::default());
        for position in 0..devices.len() {
            by_id.insert(&devices, position);
            by_mailbox.insert(&devices, position);
        }
        assert_eq!(by_id.sorted_positions(&devices, "phone"), vec![1, 0], "sorted by key: a@x before b@x");
        assert_eq!(by_id.sorted_positions(&devices, "tablet"), vec![2]);
        assert!(by_id.sorted_positions(&devices, "PHONE").is_empty(), "ids are looked up lowercased");
        assert!(by_id.sorted_positions(&devices, "a@x").is_empty(), "a mailbox is not a DeviceId");
        assert_eq!(by_mailbox.sorted_positions(&devices, "a@x"), vec![1, 2]);
        assert_eq!((by_id.len(), by_mailbox.len()), (4, 4));
    }

    #[test]
    fn holds_its_positions_through_growth_and_compares_by_them() {
        let keys: Vec<(String, String)> =
            (0..10_000).map(|index| (format!("user{}@x", index / 3), format!("phone{index}"))).collect();
        let devices: DeviceMap<()> =
            keys.iter().map(|(mailbox, device_id)| (DeviceKey::new(mailbox, device_id), ())).collect();
        let mut grown = PositionIndex::<ByMailbox>::default();
        let mut reserved = PositionIndex::<ByMailbox>::default();
        reserved.reserve(&devices, devices.len());
        for position in (0..devices.len()).rev() {
            grown.insert(&devices, position);
        }
        for position in 0..devices.len() {
            reserved.insert(&devices, position);
        }
        assert_eq!(grown, reserved, "the order positions went in does not matter");
        assert_eq!(grown.sorted_positions(&devices, "user1000@x"), vec![3000, 3001, 3002]);
        reserved.clear();
        assert_ne!(grown, reserved);
    }
}
