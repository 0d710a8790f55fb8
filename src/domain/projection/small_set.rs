//! `SmallSet`: a set of strings kept as a sorted vector. A mailbox's easgate-owned list entries
//! are one or two ids, and a `BTreeSet` spends a 288-byte node on each non-empty set: over
//! 50,000 mailboxes that was more memory than every mailbox's other fields together. One entry
//! is held inline, as compact text (inline up to 24 bytes): the usual set allocates nothing.
//! Serialised as a sequence, in order, exactly as the `BTreeSet` it replaces (snapshots keep
//! their shape).
//!
//! Invariant: the entries are sorted and distinct.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<CompactString>")]
pub struct SmallSet(smallvec::SmallVec<[CompactString; 1]>);

impl SmallSet {
    pub fn contains(&self, entry: &str) -> bool {
        self.position(entry).is_ok()
    }

    /// Adds `entry`; false when it was there already.
    pub fn insert(&mut self, entry: impl Into<CompactString> + AsRef<str>) -> bool {
        match self.position(entry.as_ref()) {
            Ok(_) => false,
            Err(position) => {
                self.0.reserve_exact(1);
                self.0.insert(position, entry.into());
                true
            }
        }
    }

    /// Removes `entry`; false when it was not there.
    pub fn remove(&mut self, entry: &str) -> bool {
        match self.position(entry) {
            Ok(position) => {
                self.0.remove(position);
                true
            }
            Err(_) => false,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(CompactString::as_str)
    }

    fn position(&self, entry: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|held| held.as_str().cmp(entry))
    }
}

impl<T: Into<CompactString> + AsRef<str>> Extend<T> for SmallSet {
    fn extend<I: IntoIterator<Item = T>>(&mut self, entries: I) {
        for entry in entries {
            self.insert(entry);
        }
    }
}

/// From any sequence (a snapshot written from a `BTreeSet` is sorted already; anything else is
/// put in order, so the invariant holds whatever was read).
impl From<Vec<CompactString>> for SmallSet {
    fn from(mut entries: Vec<CompactString>) -> SmallSet {
        entries.sort_unstable();
        entries.dedup();
        SmallSet(entries.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn it_behaves_as_a_btree_set_and_serialises_as_one() {
        let operations = [("b", true), ("a", true), ("b", true), ("c", true), ("a", false), ("z", false), ("c", true)];
        let mut small = SmallSet::default();
        let mut btree = BTreeSet::new();
        for (entry, add) in operations {
            if add {
                assert_eq!(small.insert(entry.to_string()), btree.insert(entry.to_string()));
            } else {
                assert_eq!(small.remove(entry), btree.remove(entry));
            }
            assert_eq!(small.iter().collect::<Vec<_>>(), btree.iter().map(String::as_str).collect::<Vec<_>>());
            assert_eq!(small.contains("b"), btree.contains("b"));
        }
        let small_bytes = postcard::to_allocvec(&small).unwrap();
        assert_eq!(small_bytes, postcard::to_allocvec(&btree).unwrap());
        assert_eq!(serde_json::to_string(&small).unwrap(), serde_json::to_string(&btree).unwrap());
        let back: SmallSet = postcard::from_bytes(&small_bytes).unwrap();
        assert_eq!(back, small);
    }

    #[test]
    fn an_unsorted_sequence_is_put_in_order() {
        let set: SmallSet = serde_json::from_str(r#"["c","a","c","b"]"#).unwrap();
        assert_eq!(set.iter().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(set.contains("c") && !set.contains("d"));
    }
}
