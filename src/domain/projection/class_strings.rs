//! `ClassStrings`: the device-class strings of a projection (DeviceType, DeviceModel, DeviceOS,
//! user agent). An organisation of 100,000 partnerships has a few dozen distinct values, so each
//! is held once and shared by every device that reports it, instead of four allocations a device.
//!
//! Derived data: not in snapshots (each device's strings are), rebuilt by `rebuild_indexes`.

use std::sync::Arc;

use rustc_hash::FxHashSet;

/// How many distinct strings are kept for sharing; beyond it (an organisation with that many
/// user agents) new values are still correct, only not shared.
pub const CLASS_STRINGS_MAX: usize = 65_536;

#[derive(Debug, Clone)]
pub struct ClassStrings {
    strings: FxHashSet<Arc<str>>,
    empty: Arc<str>,
}

impl Default for ClassStrings {
    fn default() -> ClassStrings {
        ClassStrings { strings: FxHashSet::default(), empty: Arc::from("") }
    }
}

/// A cache, not state: two projections with the same devices are equal whatever each has seen.
impl PartialEq for ClassStrings {
    fn eq(&self, _other: &ClassStrings) -> bool {
        true
    }
}

impl ClassStrings {
    /// The shared copy of `text`.
    pub fn share(&mut self, text: &str) -> Arc<str> {
        if text.is_empty() {
            return self.empty.clone();
        }
        if let Some(shared) = self.strings.get(text) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(text);
        if self.strings.len() < CLASS_STRINGS_MAX {
            self.strings.insert(shared.clone());
        }
        shared
    }

    /// Replaces `field` with the shared copy of its text (after a snapshot is decoded).
    pub fn reshare(&mut self, field: &mut Arc<str>) {
        let shared = self.share(field);
        *field = shared;
    }

    /// The distinct strings held.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_share_one_allocation_and_keep_their_text() {
        let mut strings = ClassStrings::default();
        let first = strings.share("iPhone15,2");
        let second = strings.share(&String::from("iPhone15,2"));
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(&*second, "iPhone15,2");
        assert!(!Arc::ptr_eq(&first, &strings.share("iPhone16,1")));
        assert_eq!(strings.len(), 2);
        assert!(Arc::ptr_eq(&strings.share(""), &strings.share("")));
    }

    #[test]
    fn beyond_the_limit_texts_are_still_right_but_not_kept() {
        let mut strings = ClassStrings::default();
        for index in 0..CLASS_STRINGS_MAX + 10 {
            assert_eq!(&*strings.share(&format!("agent/{index}")), format!("agent/{index}"));
        }
        assert_eq!(strings.len(), CLASS_STRINGS_MAX);
    }
}
