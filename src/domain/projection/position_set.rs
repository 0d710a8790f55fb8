//! `PositionSet`: a set of partnership positions, one bit each. Positions are dense (every
//! partnership ever seen has one, from 0), so a bit vector holds 100,000 partnerships in 12.5 KB,
//! changes a member without hashing or probing, and reads back in position order.

/// A set of positions in the partnership table.
#[derive(Debug, Clone, Default)]
pub struct PositionSet {
    words: Vec<u64>,
    len: usize,
}

const WORD_BITS: usize = u64::BITS as usize;

impl PositionSet {
    /// Adds `position`; false when it was there already.
    pub fn insert(&mut self, position: usize) -> bool {
        let (word, bit) = (position / WORD_BITS, 1u64 << (position % WORD_BITS));
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let added = self.words[word] & bit == 0;
        self.words[word] |= bit;
        self.len += usize::from(added);
        added
    }

    /// Takes `position` out; false when it was not there.
    pub fn remove(&mut self, position: usize) -> bool {
        let (word, bit) = (position / WORD_BITS, 1u64 << (position % WORD_BITS));
        let Some(bits) = self.words.get_mut(word) else { return false };
        let removed = *bits & bit != 0;
        *bits &= !bit;
        self.len -= usize::from(removed);
        removed
    }

    pub fn contains(&self, position: usize) -> bool {
        self.words.get(position / WORD_BITS).is_some_and(|bits| bits & (1u64 << (position % WORD_BITS)) != 0)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The members in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(word, &bits)| {
            let mut rest = bits;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                Some(word * WORD_BITS + bit)
            })
        })
    }
}

/// The same members, however many trailing words each has grown.
impl PartialEq for PositionSet {
    fn eq(&self, other: &PositionSet) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl FromIterator<usize> for PositionSet {
    fn from_iter<I: IntoIterator<Item = usize>>(positions: I) -> PositionSet {
        let mut set = PositionSet::default();
        for position in positions {
            set.insert(position);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn behaves_as_an_ordered_set(operations in proptest::collection::vec((any::<bool>(), 0usize..300), 0..200)) {
            let (mut set, mut model) = (PositionSet::default(), BTreeSet::new());
            for (add, position) in operations {
                if add {
                    prop_assert_eq!(set.insert(position), model.insert(position));
                } else {
                    prop_assert_eq!(set.remove(position), model.remove(&position));
                }
                prop_assert_eq!(set.len(), model.len());
                prop_assert_eq!(set.contains(position), model.contains(&position));
            }
            prop_assert!(set.iter().eq(model.iter().copied()));
            prop_assert_eq!(set.clone(), model.iter().copied().collect::<PositionSet>());
        }
    }

    #[test]
    fn sets_with_the_same_members_are_equal_whatever_they_held_before() {
        let mut grown = PositionSet::default();
        grown.insert(1_000);
        grown.remove(1_000);
        grown.insert(3);
        assert_eq!(grown, [3].into_iter().collect::<PositionSet>());
        assert_ne!(grown, PositionSet::default());
    }
}
