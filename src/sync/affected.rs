//! Which partnerships a batch of events concerns, so that a quick sync decides and acts on
//! those only: its cost follows the change, not the size of the organisation.

use std::collections::BTreeSet;

use crate::domain::Event;
use crate::domain::RecordedEvent;
use crate::domain::projection::{DeviceKey, Projection, key_of};

/// Partnerships to decide again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Affected {
    /// Everything must be decided again (the policy or the organisation's rules changed).
    pub everything: bool,
    mailboxes: BTreeSet<String>,
    device_ids: BTreeSet<String>,
    keys: BTreeSet<DeviceKey>,
}

impl Affected {
    pub fn everything() -> Affected {
        Affected { everything: true, ..Affected::default() }
    }

    pub fn add_key(&mut self, key: DeviceKey) {
        self.keys.insert(key);
    }

    /// Notes what `events` concern.
    pub fn note(&mut self, projection: &Projection, events: &[RecordedEvent]) {
        for recorded in events {
            match &recorded.event {
                Event::PolicyApplied(_) | Event::OrganizationObserved(_) => self.everything = true,
                Event::UserObserved(user) => {
                    let smtp = if user.smtp.is_empty() { &user.upn } else { &user.smtp };
                    self.mailboxes.insert(key_of(smtp));
                }
                Event::MailboxObserved(mailbox) => {
                    self.mailboxes.insert(key_of(&mailbox.mailbox));
                }
                Event::DeviceDiscovered(device) => self.add_key(DeviceKey::new(&device.mailbox, &device.device_id)),
                Event::ExchangeStateObserved(device) => {
                    self.add_key(DeviceKey::new(&device.mailbox, &device.device_id))
                }
                Event::PartnershipRemoved(device) => {
                    self.mailboxes.insert(key_of(&device.mailbox));
                }
                Event::DeviceMapped(device) => self.add_key(DeviceKey::new(&device.mailbox, &device.device_id)),
                Event::DeviceRegistered(event) => {
                    self.device_ids.insert(key_of(&event.device_id));
                }
                Event::DeviceEnrolled(event) => {
                    self.note_managed(projection, &event.managed_device_id, event.device_id.as_deref())
                }
                Event::DeviceUnenrolled(event) => {
                    self.note_managed(projection, &event.managed_device_id, event.device_id.as_deref())
                }
                Event::EasIdRegistered(event) => {
                    self.device_ids.insert(key_of(&event.device_id));
                }
                Event::ComplianceObserved(event) => self.note_managed(projection, &event.managed_device_id, None),
                _ => {}
            }
        }
    }

    fn note_managed(&mut self, projection: &Projection, managed_device_id: &str, device_id: Option<&str>) {
        if let Some(device_id) = device_id {
            self.device_ids.insert(key_of(device_id));
        }
        if let Some(device_id) =
            projection.managed.get(managed_device_id).and_then(|managed| managed.eas_device_id.as_ref())
        {
            self.device_ids.insert(key_of(device_id));
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.everything && self.mailboxes.is_empty() && self.device_ids.is_empty() && self.keys.is_empty()
    }

    /// The current partnerships concerned, sorted.
    pub fn keys(&self, projection: &Projection) -> Vec<DeviceKey> {
        let mut keys: Vec<DeviceKey> = projection
            .devices
            .iter()
            .filter(|(key, device)| {
                !device.removed
                    && (self.everything
                        || self.keys.contains(*key)
                        || self.mailboxes.contains(key.mailbox.as_str())
                        || self.device_ids.contains(key.device_id.as_str()))
            })
            .map(|(key, _)| key.clone())
            .collect();
        keys.sort_unstable();
        keys
    }

    /// Mailboxes concerned (including those whose partnerships were removed), sorted.
    pub fn mailboxes(&self, projection: &Projection) -> Vec<String> {
        let mut mailboxes: BTreeSet<String> = self.mailboxes.clone();
        mailboxes.extend(self.keys(projection).into_iter().map(|key| key.mailbox.into_string()));
        mailboxes.retain(|mailbox| projection.mailboxes.contains_key(mailbox.as_str()));
        mailboxes.into_iter().collect()
    }
}
