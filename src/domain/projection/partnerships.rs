//! The partnership table: where the partnership an event names is (at the cursor first, else by
//! one hash of its lowered key), and the new device made when it is not there yet (indexed at
//! once; partnerships are never deleted, only marked removed).

use std::hash::BuildHasher;
use std::sync::Arc;

use indexmap::map::raw_entry_v1::{RawEntryApiV1, RawEntryMut};

use crate::domain::event::DeviceDiscovered;
use crate::domain::projection::class_strings::ClassField;
use crate::domain::projection::evolve::{At, anomaly};
use crate::domain::projection::*;
use crate::domain::vocabulary::ExchangeState;

/// The device an event names, stamped with the event's seq. An event for a partnership never
/// discovered is an anomaly; the device is created so that nothing the event says is lost.
pub(super) fn device_mut<'a>(
    projection: &'a mut Projection,
    at: At,
    mailbox: &str,
    device_id: &str,
) -> &'a mut DeviceView {
    let position = device_position(projection, at, mailbox, device_id);
    &mut projection.devices[position]
}

/// `device_mut` as the device's position in the table.
pub(super) fn device_position(projection: &mut Projection, at: At, mailbox: &str, device_id: &str) -> usize {
    let (position, inserted) = position_or_insert(projection, mailbox, device_id, |class_strings| {
        new_device(mailbox, device_id, at.recorded_at_us, ClassOf::unknown(class_strings))
    });
    if inserted {
        anomaly(projection, at, format!("device {device_id} on {mailbox} was never discovered"));
    }
    projection.devices[position].last_event_seq = at.seq;
    position
}

/// The position of the partnership (`mailbox`, `device_id`, as the event spells them) in the
/// table, looked for at the cursor first, and whether it was inserted: when it is missing, `new`
/// makes it, and it is added and indexed. Partnerships are never deleted, only marked removed.
/// The cursor moves to it.
pub(super) fn position_or_insert(
    projection: &mut Projection,
    mailbox: &str,
    device_id: &str,
    new: impl FnOnce(&mut ClassStrings) -> DeviceView,
) -> (usize, bool) {
    if let Some(position) = projection.cursor.find(&projection.devices, mailbox, device_id) {
        projection.cursor.set(position);
        return (position, false);
    }
    let probe = PartnershipProbe::new(mailbox, device_id);
    // The hash computed once, one probe, whether the partnership is known or new (most replays
    // insert every partnership once, so the probe that finds it missing is the one that inserts).
    let hash = projection.devices.hasher().hash_one(&probe);
    let (position, inserted) = match projection.devices.raw_entry_mut_v1().from_hash(hash, |held| probe.matches(held)) {
        RawEntryMut::Occupied(entry) => (entry.index(), false),
        RawEntryMut::Vacant(entry) => {
            let device = Box::new(new(&mut projection.class_strings));
            let position = entry.index();
            entry.insert_hashed_nocheck(hash, probe.to_key(), device);
            (position, true)
        }
    };
    if inserted {
        index_device(projection, position);
    }
    projection.cursor.set(position);
    (position, inserted)
}

/// The position of the partnership (`mailbox`, `device_id`, as an event spells them), if it was
/// ever seen: at the cursor or just after it (a replay's usual case), else by its hash.
pub(super) fn partnership_position(projection: &Projection, mailbox: &str, device_id: &str) -> Option<usize> {
    projection
        .cursor
        .find(&projection.devices, mailbox, device_id)
        .or_else(|| projection.devices.get_index_of(&PartnershipProbe::new(mailbox, device_id)))
}

/// A device's class as Exchange reports it, each string shared (`ClassStrings`).
pub(super) struct ClassOf {
    pub device_type: Arc<str>,
    pub device_model: Arc<str>,
    pub device_os: Arc<str>,
    pub user_agent: Arc<str>,
}

impl ClassOf {
    /// The class of a device only an anomaly named: nothing known.
    pub fn unknown(class_strings: &mut ClassStrings) -> ClassOf {
        let empty = class_strings.share("");
        ClassOf { device_type: empty.clone(), device_model: empty.clone(), device_os: empty.clone(), user_agent: empty }
    }

    pub fn of(class_strings: &mut ClassStrings, event: &DeviceDiscovered<&str>) -> ClassOf {
        ClassOf {
            device_type: class_strings.share_as(ClassField::Type, event.device_type),
            device_model: class_strings.share_as(ClassField::Model, event.device_model),
            device_os: class_strings.share_as(ClassField::Os, event.device_os),
            user_agent: class_strings.share_as(ClassField::UserAgent, event.user_agent),
        }
    }
}

pub(super) fn new_device(mailbox: &str, device_id: &str, at_us: i64, class: ClassOf) -> DeviceView {
    DeviceView {
        mailbox: mailbox.into(),
        device_id: device_id.into(),
        device_type: class.device_type,
        device_model: class.device_model,
        device_os: class.device_os,
        user_agent: class.user_agent,
        exchange_state: ExchangeState::Unknown,
        exchange_reason: Default::default(),
        access: None,
        reason: None,
        inputs: None,
        flow_step: 0,
        episode: 1,
        notified_in_episode: false,
        managed_device_id: None,
        removed: false,
        wipe: None,
        first_seen_us: at_us,
        last_event_seq: 0,
        inputs_seq: 0,
        decided_seq: 0,
    }
}
