//! The simulated organisation's partnership table and device-class register, built for bulk
//! loading: partnerships live in a slab indexed by key (creation order, no per-node allocation),
//! with hash indexes by Identity and GUID; device classes are looked up by borrowed strings so
//! a class seen again allocates nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use uuid::Uuid;

use crate::sim::exchange::model::Partnership;

/// Partnerships by key; a removed partnership leaves an empty slot so keys stay stable.
#[derive(Default)]
pub(crate) struct PartnershipTable {
    slots: Vec<Option<Partnership>>,
    live: usize,
    /// Lower-cased Identity -> key.
    by_identity: FxHashMap<String, u64>,
    by_guid: FxHashMap<Uuid, u64>,
}

impl PartnershipTable {
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
        self.by_identity.reserve(additional);
        self.by_guid.reserve(additional);
    }

    pub(crate) fn insert(&mut self, partnership: Partnership) -> u64 {
        let key = self.slots.len() as u64;
        self.by_identity.insert(partnership.identity.to_lowercase(), key);
        self.by_guid.insert(partnership.guid, key);
        self.slots.push(Some(partnership));
        self.live += 1;
        key
    }

    pub(crate) fn get(&self, key: &u64) -> Option<&Partnership> {
        self.slots.get(*key as usize).and_then(Option::as_ref)
    }

    pub(crate) fn get_mut(&mut self, key: &u64) -> Option<&mut Partnership> {
        self.slots.get_mut(*key as usize).and_then(Option::as_mut)
    }

    pub(crate) fn remove(&mut self, key: u64) -> Option<Partnership> {
        let partnership = self.slots.get_mut(key as usize)?.take()?;
        self.by_identity.remove(&partnership.identity.to_lowercase());
        self.by_guid.remove(&partnership.guid);
        self.live -= 1;
        Some(partnership)
    }

    /// A partnership by Identity (case-insensitively) or GUID.
    pub(crate) fn lookup(&self, identity: &str) -> Option<u64> {
        let identity = identity.trim();
        if let Ok(guid) = Uuid::parse_str(identity) {
            return self.by_guid.get(&guid).copied();
        }
        self.by_identity.get(&identity.to_lowercase()).copied()
    }

    /// In creation order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &Partnership)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(key, slot)| slot.as_ref().map(|partnership| (key as u64, partnership)))
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Partnership> {
        self.slots.iter().flatten()
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut Partnership> {
        self.slots.iter_mut().flatten()
    }

    pub(crate) fn len(&self) -> usize {
        self.live
    }
}

/// (DeviceType, DeviceModel) pairs seen, with when they were last seen, in name order.
#[derive(Default)]
pub(crate) struct DeviceClasses {
    by_type: BTreeMap<String, BTreeMap<String, DateTime<Utc>>>,
}

impl DeviceClasses {
    pub(crate) fn record(&mut self, device_type: &str, device_model: &str, seen: DateTime<Utc>) {
        let models = match self.by_type.get_mut(device_type) {
            Some(models) => models,
            None => self.by_type.entry(device_type.to_string()).or_default(),
        };
        match models.get_mut(device_model) {
            Some(last_seen) => *last_seen = seen,
            None => {
                models.insert(device_model.to_string(), seen);
            }
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str, DateTime<Utc>)> {
        self.by_type.iter().flat_map(|(device_type, models)| {
            models.iter().map(move |(device_model, seen)| (device_type.as_str(), device_model.as_str(), *seen))
        })
    }
}
