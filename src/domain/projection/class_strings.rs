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

/// The four class fields of a device: each remembers the last string shared for it.
#[derive(Debug, Clone, Copy)]
pub enum ClassField {
    Type,
    Model,
    Os,
    UserAgent,
}

#[derive(Debug, Clone)]
pub struct ClassStrings {
    strings: FxHashSet<Arc<str>>,
    empty: Arc<str>,
    /// The last string shared for each field: the devices of a phone fleet come in runs of one
    /// model, so the next device's string is nearly always it (compared, not hashed).
    recent: [Arc<str>; 4],
}

impl Default for ClassStrings {
    fn default() -> ClassStrings {
        let empty: Arc<str> = Arc::from("");
        let recent = [empty.clone(), empty.clone(), empty.clone(), empty.clone()];
        ClassStrings { strings: FxHashSet::default(), empty, recent }
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

    /// `share` for one of a device's class fields: the field's last string when it is the same.
    pub fn share_as(&mut self, field: ClassField, text: &str) -> Arc<str> {
        let recent = &mut self.recent[field as usize];
        if **recent == *text {
            return recent.clone();
        }
        let shared = self.share(text);
        self.recent[field as usize] = shared.clone();
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
        let model = strings.share_as(ClassField::Model, "iPhone15,2");
        assert!(Arc::ptr_eq(&model, &first), "the field's string is the shared one");
        assert!(Arc::ptr_eq(&strings.share_as(ClassField::Model, "iPhone15,2"), &first));
        assert_eq!(&*strings.share_as(ClassField::Model, "iPhone16,1"), "iPhone16,1");
        assert!(Arc::ptr_eq(&strings.share_as(ClassField::Type, "iPhone15,2"), &first));
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
