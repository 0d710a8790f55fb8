//! The projection's keys: ids lowercased (Exchange and Graph compare ids case-insensitively), a
//! partnership's owned key (`DeviceKey`), and the probe (`PartnershipProbe`) that looks a
//! partnership up as an event spells it, without lowering a copy of its ids.
//!
//! Invariant: a partnership's hash is `partnership_hash` of its key, blind to ASCII case. The
//! probe of any spelling of the key hashes the same as the key (ASCII ids are hashed as they
//! come, in words with the case bit set; others are lowered first), so either finds the entry.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};

use compact_str::CompactString;
use hashbrown::Equivalent;
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};

/// The partnership table's map: looked up by `PartnershipProbe` on most events of a replay.
pub type DeviceMap<V> = indexmap::IndexMap<DeviceKey, V, FxBuildHasher>;
/// A table keyed by a lowercased id, in insertion order.
pub type TextMap<V> = indexmap::IndexMap<CompactString, V, FxBuildHasher>;

/// A partnership's key: lowercased mailbox SMTP and lowercased DeviceId. Held inline (no
/// allocation) up to 24 bytes, which most DeviceIds and many addresses fit. The partnership
/// table holds each key once (its indexes hold positions). Serialised as two strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeviceKey {
    pub mailbox: CompactString,
    pub device_id: CompactString,
}

impl DeviceKey {
    pub fn new(mailbox: &str, device_id: &str) -> DeviceKey {
        DeviceKey { mailbox: compact_key_of(mailbox), device_id: compact_key_of(device_id) }
    }

    /// `partnership_hash` of this key.
    fn folded_hash(&self) -> u64 {
        partnership_hash(&self.mailbox, &self.device_id).0
    }
}

impl Hash for DeviceKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.folded_hash());
    }
}

/// The partnership an event names (`mailbox`, `device_id`, spelt as the event spells them),
/// ready to look up: its hash, computed once, and how it compares with a held key. ASCII ids
/// (nearly all) are compared ignoring ASCII case, without a lowered copy; others are lowered
/// once, here, and compared exactly.
#[derive(Debug)]
pub struct PartnershipProbe<'a> {
    mailbox: Cow<'a, str>,
    device_id: Cow<'a, str>,
    ascii: bool,
    hash: u64,
}

impl<'a> PartnershipProbe<'a> {
    pub fn new(mailbox: &'a str, device_id: &'a str) -> PartnershipProbe<'a> {
        let (hash, ascii) = partnership_hash(mailbox, device_id);
        if ascii {
            return PartnershipProbe {
                mailbox: Cow::Borrowed(mailbox),
                device_id: Cow::Borrowed(device_id),
                ascii,
                hash,
            };
        }
        let (mailbox, device_id) = (key_of(mailbox), key_of(device_id));
        let hash = partnership_hash(&mailbox, &device_id).0;
        PartnershipProbe { mailbox: Cow::Owned(mailbox), device_id: Cow::Owned(device_id), ascii, hash }
    }

    /// Whether `key` is the partnership this probe names. The DeviceId first: it tells
    /// partnerships apart.
    pub fn matches(&self, key: &DeviceKey) -> bool {
        if self.ascii {
            key.device_id.eq_ignore_ascii_case(&self.device_id) && key.mailbox.eq_ignore_ascii_case(&self.mailbox)
        } else {
            key.device_id == *self.device_id && key.mailbox == *self.mailbox
        }
    }

    /// The key to store when the partnership is new.
    pub fn to_key(&self) -> DeviceKey {
        DeviceKey::new(&self.mailbox, &self.device_id)
    }
}

impl Hash for PartnershipProbe<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl Equivalent<DeviceKey> for PartnershipProbe<'_> {
    fn equivalent(&self, key: &DeviceKey) -> bool {
        self.matches(key)
    }
}

/// Set in each byte of a word, this maps every ASCII capital onto its small letter (and a few
/// other bytes onto others: a collision the comparison then settles).
const CASE_BITS: u64 = 0x2020_2020_2020_2020;
/// The high bit of each byte: set in some byte of an id that is not ASCII.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// A hash of a partnership's two ids blind to ASCII case, and whether both are ASCII (when not,
/// the hash is only the key's if the ids were lowered first). One pass over the ids in eight-byte
/// words: nothing is lowered or copied.
fn partnership_hash(mailbox: &str, device_id: &str) -> (u64, bool) {
    let (mut state, mut any_bits) = (0, 0);
    fold_words(&mut state, &mut any_bits, mailbox.as_bytes());
    fold_words(&mut state, &mut any_bits, device_id.as_bytes());
    (state, any_bits & HIGH_BITS == 0)
}

fn fold_words(state: &mut u64, any_bits: &mut u64, bytes: &[u8]) {
    let mut fold = |word: u64| {
        *any_bits |= word;
        mix(state, word | CASE_BITS);
    };
    let (words, rest) = bytes.as_chunks::<8>();
    for word in words {
        fold(u64::from_le_bytes(*word));
    }
    // The bytes after the last whole word, read without a copy: the last eight bytes (reading
    // some twice) or, in an id shorter than a word, its first and last four, or its first,
    // middle and last byte. Which bytes depends only on the length, the same for any spelling.
    let length = bytes.len();
    if !rest.is_empty() {
        fold(match length {
            8.. => word_at(bytes, length - 8),
            4..=7 => u64::from(quarter_at(bytes, 0)) | u64::from(quarter_at(bytes, length - 4)) << 32,
            _ => u64::from(bytes[0]) | u64::from(bytes[length / 2]) << 8 | u64::from(bytes[length - 1]) << 16,
        });
    }
    mix(state, length as u64);
}

fn word_at(bytes: &[u8], at: usize) -> u64 {
    bytes[at..].first_chunk::<8>().map_or(0, |word| u64::from_le_bytes(*word))
}

fn quarter_at(bytes: &[u8], at: usize) -> u32 {
    bytes[at..].first_chunk::<4>().map_or(0, |quarter| u32::from_le_bytes(*quarter))
}

/// One word into the hash (the Fx hasher's step).
fn mix(state: &mut u64, word: u64) {
    *state = (state.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
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
    fn a_probe_finds_the_key_however_the_event_spells_it() {
        let owned = DeviceKey::new("User000000-42@Fabrikam.com", "AndroidC581CE1FF0E4AE394");
        let mut map = DeviceMap::default();
        map.insert(owned.clone(), 7);
        for (mailbox, device_id) in [
            ("USER000000-42@fabrikam.COM", "androidc581ce1ff0e4ae394"),
            ("user000000-42@fabrikam.com", "ANDROIDC581CE1FF0E4AE394"),
        ] {
            let probe = PartnershipProbe::new(mailbox, device_id);
            assert_eq!(probe.hash, owned.folded_hash());
            assert_eq!(FxBuildHasher.hash_one(&owned), FxBuildHasher.hash_one(&probe));
            assert_eq!(map.get(&probe), Some(&7));
            assert_eq!(probe.to_key(), owned);
        }
        // A byte the case bit maps onto another ('@' and '`') collides in the hash only.
        let lookalike = PartnershipProbe::new("user000000-42`fabrikam.com", "androidc581ce1ff0e4ae394");
        assert_eq!(lookalike.hash, owned.folded_hash());
        assert_eq!(map.get(&lookalike), None);
        assert_eq!(map.get(&PartnershipProbe::new("user000000-42@fabrikam.com", "other")), None);
        // The two ids are told apart where one ends and the other begins.
        assert_ne!(partnership_hash("ab", "c"), partnership_hash("a", "bc"));
    }

    proptest::proptest! {
        /// Any spelling of any ids (printable ASCII, as nearly all are, or any script) finds the
        /// key they make.
        #[test]
        fn a_probe_finds_the_key_its_ids_make(
            mailbox in proptest::prop_oneof!["[ -~]{0,40}", "\\PC{0,40}"],
            device_id in proptest::prop_oneof!["[ -~]{0,40}", "\\PC{0,40}"],
            flips in proptest::collection::vec(proptest::bool::ANY, 80),
        ) {
            let key = DeviceKey::new(&mailbox, &device_id);
            let respell = |id: &str, flips: &[bool]| -> String {
                id.chars().zip(flips.iter().cycle()).map(|(c, &flip)| if flip { c.to_ascii_uppercase() } else { c }).collect()
            };
            let (mailbox, device_id) = (respell(&mailbox, &flips[..40]), respell(&device_id, &flips[40..]));
            let probe = PartnershipProbe::new(&mailbox, &device_id);
            proptest::prop_assert_eq!(probe.hash, key.folded_hash());
            proptest::prop_assert!(probe.matches(&key));
            proptest::prop_assert_eq!(probe.to_key(), key);
        }
    }

    #[test]
    fn a_probe_of_ids_beyond_ascii_lowers_them_first() {
        let owned = DeviceKey::new("Jörg@Contoso.com", "ÄNDROID");
        assert_eq!(owned.device_id, "ändroid");
        let probe = PartnershipProbe::new("JÖRG@contoso.com", "Ändroid");
        assert_eq!(probe.hash, owned.folded_hash());
        assert!(probe.matches(&owned));
        assert_eq!(probe.to_key(), owned);
        assert!(!PartnershipProbe::new("jörg@contoso.com", "andro").matches(&owned));
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
