//! `PartnershipCursor`: where a fold is in the partnership table. The sync engine writes each
//! phase of a sync (discoveries, states read, decisions, mails) as one pass over the
//! partnerships in about the order they were first seen, which is the table's order. So the
//! partnership an event names is nearly always the one the previous event named, or one a few
//! places after it. Looking there first (keys compared case-insensitively, in memory order)
//! saves lowering and hashing the key and the random probe into the table's index, for most
//! events of a replay.
//!
//! The tenant tables (managed devices, registrations, mailboxes) keep a `TableCursor` each, for
//! the same reason: a managed device's enrolment, EAS id and compliance come one after another,
//! and a sync's mapping phase and mailbox reads walk those tables in the order they were filled.
//!
//! A hint, not state: a wrong guess costs a few key comparisons, then the ordinary lookup runs;
//! it is not in snapshots and two projections are equal whatever their cursors.

use crate::domain::projection::keys::{DeviceMap, TextMap};

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

/// Where a fold is in one of the tenant tables (keys held as the fold looks them up).
#[derive(Debug, Clone, Copy, Default)]
pub struct TableCursor(usize);

impl PartialEq for TableCursor {
    fn eq(&self, _other: &TableCursor) -> bool {
        true
    }
}

impl TableCursor {
    /// The position of `key` in `table` when it is within the window from the cursor.
    pub fn find<V>(self, table: &TextMap<V>, key: &str) -> Option<usize> {
        (self.0..self.0.saturating_add(CURSOR_WINDOW))
            .find(|&position| table.get_index(position).is_some_and(|(held, _)| held == key))
    }

    /// The position of `key` in `table`: near the cursor first, else by its hash. The cursor
    /// moves to it.
    pub fn position<V>(&mut self, table: &TextMap<V>, key: &str) -> Option<usize> {
        let position = self.find(table, key).or_else(|| table.get_index_of(key))?;
        self.0 = position;
        Some(position)
    }

    /// The entry at `position` was the last one looked up or added.
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
    fn a_table_cursor_finds_keys_near_it_and_any_other_by_hash() {
        let table: TextMap<u32> = (0..20).map(|number| (format!("id-{number}").into(), number)).collect();
        let mut cursor = TableCursor::default();
        assert_eq!(cursor.position(&table, "id-2"), Some(2));
        assert_eq!(cursor.find(&table, "id-5"), Some(5));
        assert_eq!(cursor.find(&table, "id-9"), None);
        // Far from the cursor (or before it) the hash finds it, and the cursor follows.
        assert_eq!(cursor.position(&table, "id-17"), Some(17));
        assert_eq!(cursor.find(&table, "id-18"), Some(18));
        assert_eq!(cursor.position(&table, "id-1"), Some(1));
        assert_eq!(cursor.position(&table, "ID-1"), None);
        assert_eq!(cursor.position(&table, "id-20"), None);
    }

    #[test]
    fn ids_beyond_ascii_are_left_to_the_ordinary_lookup() {
        let devices = table(&["ändroid"]);
        assert_eq!(PartnershipCursor::default().find(&devices, "alice@contoso.com", "ÄNDROID"), None);
        assert_eq!(PartnershipCursor::default().find(&devices, "alice@contoso.com", "ändroid"), None);
    }
}
