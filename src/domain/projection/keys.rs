//! The projection's keys: ids lowercased (Exchange and Graph compare ids case-insensitively), a
//! partnership's owned key (`DeviceKey`) and its borrowed form (`DeviceKeyRef`), which looks up
//! the partnership table without building an owned key.
//!
//! Invariant: `DeviceKeyRef` hashes exactly as the `DeviceKey` with the same strings (both hash
//! the mailbox, then the DeviceId, as `str`), so either finds the same entry.

use compact_str::CompactString;
use hashbrown::Equivalent;
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};

/// The partnership table's map: looked up by `DeviceKeyRef` on most events of a replay.
pub type DeviceMap<V> = indexmap::IndexMap<DeviceKey, V, FxBuildHasher>;
/// An index keyed by a lowercased id, looked up by `&str`.
pub type IdMap<V> = hashbrown::HashMap<CompactString, V, FxBuildHasher>;
/// A table keyed by a lowercased id, in insertion order.
pub type TextMap<V> = indexmap::IndexMap<CompactString, V, FxBuildHasher>;

/// The entry of `key` in `map`, created empty when missing: the key is copied only then.
pub fn entry_or_default<'m, V: Default>(map: &'m mut IdMap<V>, key: &CompactString) -> &'m mut V {
    match map.entry_ref(key.as_str()) {
        hashbrown::hash_map::EntryRef::Occupied(occupied) => occupied.into_mut(),
        hashbrown::hash_map::EntryRef::Vacant(vacant) => vacant.insert_with_key(key.clone(), V::default()),
    }
}

/// A partnership's key: lowercased mailbox SMTP and lowercased DeviceId. Held inline (no
/// allocation) up to 24 bytes, which most DeviceIds and many addresses fit. The partnership
/// table holds each key once (its indexes hold positions). Serialised as two strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeviceKey {
    pub mailbox: CompactString,
    pub device_id: CompactString,
}

/// A partnership's key, borrowed: both strings already lowercased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceKeyRef<'a> {
    pub mailbox: &'a str,
    pub device_id: &'a str,
}

impl DeviceKey {
    pub fn new(mailbox: &str, device_id: &str) -> DeviceKey {
        DeviceKey { mailbox: compact_key_of(mailbox), device_id: compact_key_of(device_id) }
    }
}

impl Equivalent<DeviceKey> for DeviceKeyRef<'_> {
    fn equivalent(&self, key: &DeviceKey) -> bool {
        // The DeviceId first: it tells partnerships apart, and is held inline nearly always.
        self.device_id == key.device_id && self.mailbox == key.mailbox
    }
}

impl From<&DeviceKeyRef<'_>> for DeviceKey {
    fn from(key: &DeviceKeyRef<'_>) -> DeviceKey {
        DeviceKey { mailbox: CompactString::from(key.mailbox), device_id: CompactString::from(key.device_id) }
    }
}

/// A partnership's key lowercased from an event's display-case strings, on the stack: looked up
/// with `as_ref`, made owned only when it is stored.
pub struct LoweredDeviceKey {
    mailbox: LoweredId,
    device_id: LoweredId,
}

impl LoweredDeviceKey {
    pub fn new(mailbox: &str, device_id: &str) -> LoweredDeviceKey {
        LoweredDeviceKey { mailbox: LoweredId::new(mailbox), device_id: LoweredId::new(device_id) }
    }

    pub fn as_ref(&self) -> DeviceKeyRef<'_> {
        DeviceKeyRef { mailbox: self.mailbox.as_str(), device_id: self.device_id.as_str() }
    }
}

/// Ids up to this long are lowercased on the stack (addresses and DeviceIds nearly all are).
pub const LOWERED_INLINE_BYTES_MAX: usize = 64;

/// An id lowercased for a lookup: on the stack when it is ASCII and short, else on the heap.
pub struct LoweredId(Lowered);

enum Lowered {
    Inline(arrayvec::ArrayString<LOWERED_INLINE_BYTES_MAX>),
    Spilled(String),
}

impl LoweredId {
    pub fn new(id: &str) -> LoweredId {
        if id.is_ascii()
            && let Ok(mut inline) = arrayvec::ArrayString::from(id)
        {
            inline.make_ascii_lowercase();
            return LoweredId(Lowered::Inline(inline));
        }
        LoweredId(Lowered::Spilled(key_of(id)))
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Lowered::Inline(inline) => inline.as_str(),
            Lowered::Spilled(spilled) => spilled,
        }
    }
}

/// Lowercases an id for use as a key.
pub fn key_of(id: &str) -> String {
    // Ids are ASCII nearly always; the ASCII lowercase is the same string, found faster.
    if id.is_ascii() { id.to_ascii_lowercase() } else { id.to_lowercase() }
}

/// `key_of` as a compact string: inline, without an allocation, up to 24 bytes.
pub fn compact_key_of(id: &str) -> CompactString {
    if id.is_ascii() {
        let mut key = CompactString::from(id);
        key.make_ascii_lowercase();
        key
    } else {
        CompactString::from(id.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn a_borrowed_key_finds_the_owned_one() {
        let owned = DeviceKey::new("User000000-42@Fabrikam.com", "AndroidC581CE1FF0E4AE394");
        let lowered = LoweredDeviceKey::new("USER000000-42@fabrikam.COM", "androidc581ce1ff0e4ae394");
        assert_eq!(FxBuildHasher.hash_one(&owned), FxBuildHasher.hash_one(lowered.as_ref()));
        let borrowed = DeviceKeyRef { mailbox: &owned.mailbox, device_id: &owned.device_id };
        assert_eq!(FxBuildHasher.hash_one(&owned), FxBuildHasher.hash_one(borrowed));
        let mut map = DeviceMap::default();
        map.insert(owned.clone(), 7);
        assert_eq!(map.get(&lowered.as_ref()), Some(&7));
        assert_eq!(DeviceKey::from(&lowered.as_ref()), owned);
        assert_eq!(map.get(&LoweredDeviceKey::new("user000000-42@fabrikam.com", "other").as_ref()), None);
    }

    #[test]
    fn long_and_non_ascii_ids_are_lowercased_on_the_heap_the_same_way() {
        let long = "A".repeat(LOWERED_INLINE_BYTES_MAX + 1);
        let every_ascii: String = (0u8..128).map(char::from).collect();
        for id in [long.as_str(), "ÄNDROID", "Ab", "", "@AZ[`az{", &every_ascii] {
            assert_eq!(LoweredId::new(id).as_str(), key_of(id));
            assert_eq!(compact_key_of(id), key_of(id));
        }
    }
}
