//! `PartnershipCursor`: where a fold is in the partnership table. The sync engine writes each
//! phase of a sync (discoveries, states read, decisions, mails) as one pass over the
//! partnerships in about the order they were first seen, which is the table's order. So the
//! partnership an event names is nearly always the one the previous event named, or one a few
//! places after it. Looking there first (keys compared case-insensitively, in memory order)
//! saves lowering and hashing the key and the random probe into the table's index, for most
//! events of a replay.
//!
//! A hint, not state: a wrong guess costs a few key comparisons, then the ordinary lookup runs;
//! it is not in snapshots and two projections are equal whatever their cursors.

use crate::domain::projection::keys::DeviceMap;

/// Positions looked at from the cursor on: the cursor's own (the same partnership again) and
/// the ones after it (a phase that skips partnerships it has nothing to say about).
pub const CURSOR_WINDOW: usize = 5;

#[derive(Debug, Clone, Copy, Default)]
pub struct PartnershipCursor(usize);

impl PartialEq for PartnershipCursor {
    fn eq(&self, _other: &PartnershipCursor) -> bool {
        true
    }
}

impl PartnershipCursor {
    /// The position of the partnership (`mailbox`, `device_id`, as an event spells them) when it
    /// is within the window from the cursor. Ids that are not ASCII are never guessed: their
    /// keys are lowercased beyond ASCII, which a byte comparison does not follow.
    pub fn find<V>(self, devices: &DeviceMap<V>, mailbox: &str, device_id: &str) -> Option<usize> {
        if !mailbox.is_ascii() || !device_id.is_ascii() {
            return None;
        }
        (self.0..self.0.saturating_add(CURSOR_WINDOW)).find(|&position| {
            devices.get_index(position).is_some_and(|(key, _)| {
                key.device_id.eq_ignore_ascii_case(device_id) && key.mailbox.eq_ignore_ascii_case(mailbox)
            })
        })
    }

    /// The partnership at `position` was the last one named.
    pub fn set(&mut self, position: usize) {
        self.0 = position;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::projection::keys::DeviceKey;

    fn table(ids: &[&str]) -> DeviceMap<()> {
        ids.iter().map(|id| (DeviceKey::new("alice@contoso.com", id), ())).collect()
    }

    #[test]
    fn finds_the_partnership_at_or_after_the_cursor_whatever_the_case() {
        let devices = table(&["appl0", "appl1", "appl2", "appl3", "appl4", "appl5", "appl6"]);
        let mut cursor = PartnershipCursor::default();
        cursor.set(1);
        assert_eq!(cursor.find(&devices, "Alice@Contoso.com", "APPL1"), Some(1));
        assert_eq!(cursor.find(&devices, "alice@contoso.com", "Appl5"), Some(5));
        // Before the cursor, beyond the window, another mailbox, or absent: no guess.
        assert_eq!(cursor.find(&devices, "alice@contoso.com", "appl0"), None);
        assert_eq!(cursor.find(&devices, "alice@contoso.com", "appl6"), None);
        assert_eq!(cursor.find(&devices, "bob@contoso.com", "appl2"), None);
        assert_eq!(cursor.find(&devices, "alice@contoso.com", "appl9"), None);
    }

    #[test]
    fn ids_beyond_ascii_are_left_to_the_ordinary_lookup() {
        let devices = table(&["ändroid"]);
        assert_eq!(PartnershipCursor::default().find(&devices, "alice@contoso.com", "ÄNDROID"), None);
        assert_eq!(PartnershipCursor::default().find(&devices, "alice@contoso.com", "ändroid"), None);
    }
}
