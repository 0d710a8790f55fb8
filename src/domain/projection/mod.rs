//! The projection: what the log says about the organisation now, folded event by event with
//! `fold` (`evolve` for an event the caller keeps, `evolve_owned` for one it gives away). It holds every device's allow/block/quarantine state along the ten-step flow, and
//! everything `decide` and `plan` need (users, managed devices, mailbox lists, the organisation's
//! rules, easgate's own entries, intents without an outcome).
//!
//! Invariant: the projection is a pure function of the log; it is never written any other way.
//! Maps are keyed by lowercased ids (Exchange and Graph compare ids case-insensitively) and are
//! deterministic (the Fx hasher, sorted on output). The partnership table is looked up by a
//! probe of the event's ids as it spells them (`keys.rs`), so that folding an event lowers and
//! copies nothing unless the partnership is new.
//!
//! Invariant: partnerships are never deleted, only marked removed, so a partnership keeps its
//! position in `devices` (the order it was first seen in, which snapshots keep). The derived
//! indexes hold positions only (`PositionIndex`), no copy of an id. Users, mailboxes and managed
//! devices are never deleted either, so the maps that lead to them hold positions too. The
//! tenant tables keep first-seen order: a fold walks an organisation in about that order, so it
//! reaches entries in memory order.

pub mod class_strings;
mod commands;
mod cursor;
pub mod evolve;
pub mod flow;
mod keys;
mod partnerships;
mod position_index;
mod position_set;
mod small_set;

use std::collections::{BTreeMap, BTreeSet};

use std::sync::Arc;

use compact_str::CompactString;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::event::{DecisionInputs, DeviceAccessRule, PolicyApplied, SyncCounts};
use crate::domain::vocabulary::{
    Access, AccessLevel, Characteristic, Compliance, ConnectorKind, ExchangeReason, ExchangeState, Reason, SyncKind,
};

pub use class_strings::ClassStrings;
pub use cursor::{PartnershipCursor, TableCursor};
pub use evolve::{evolve, evolve_owned, fold};
pub use keys::{DeviceKey, DeviceMap, LoweredId, PartnershipProbe, TextMap, compact_key_of, key_of};
pub use position_index::{ByDeviceId, ByMailbox, PositionIndex};
pub use position_set::PositionSet;
pub use small_set::SmallSet;

/// How many anomalies the projection keeps (the count goes on).
pub const ANOMALIES_KEPT_MAX: usize = 1_000;

/// Positions in the partnership table, as a pending intent keeps those it acts for: inline up
/// to two (a cmdlet acts for one or two partnerships nearly always), so it needs no allocation.
pub type Positions = smallvec::SmallVec<[usize; 2]>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    /// The last event folded in.
    pub last_seq: u64,
    pub last_recorded_at_us: i64,
    pub connectors: BTreeMap<String, ConnectorView>,
    pub policy: Option<PolicyApplied>,
    /// Key: lowercased UPN.
    pub users: TextMap<UserView>,
    /// Lowercased SMTP address -> the user's position in `users` (users are never deleted).
    pub user_by_smtp: TextMap<usize>,
    /// Key: lowercased primary SMTP address.
    pub mailboxes: TextMap<MailboxView>,
    pub organization: Option<OrganizationView>,
    /// Key: managed device id.
    pub managed: TextMap<Box<ManagedView>>,
    /// Lowercased EAS DeviceId -> the managed device's position in `managed` (never deleted).
    pub managed_by_eas: TextMap<usize>,
    /// Key: lowercased EAS DeviceId.
    pub registrations: TextMap<Box<RegistrationView>>,
    /// In the order partnerships were first seen. They are never deleted (only marked removed),
    /// so a partnership's position in the table never changes: the indexes below hold positions.
    pub devices: DeviceMap<Box<DeviceView>>,
    /// The positions of the partnerships with a (lowercased) DeviceId: a phone may sync several
    /// mailboxes. Derived from `devices`: not in snapshots, rebuilt by `rebuild_indexes`.
    #[serde(skip)]
    pub devices_by_id: PositionIndex<ByDeviceId>,
    /// The positions of a (lowercased) mailbox's partnerships (derived, like the above).
    #[serde(skip)]
    pub devices_by_mailbox: PositionIndex<ByMailbox>,
    /// Lowercased mailbox Identity (canonical name) -> the mailbox's position in `mailboxes`
    /// (never deleted; derived, like the above).
    #[serde(skip)]
    pub mailbox_by_identity: TextMap<usize>,
    /// The positions of the partnerships whose user is owed the notification mail of this
    /// episode (derived). A bit a partnership: it follows most events of a replay.
    #[serde(skip)]
    pub owed_notifications: PositionSet,
    /// The devices' class strings, each held once (derived, like the above).
    #[serde(skip)]
    pub class_strings: ClassStrings,
    /// The last partnership an event named: where the next event's is looked for first (a hint).
    #[serde(skip)]
    pub cursor: PartnershipCursor,
    /// The same for the managed devices, the registrations and the mailboxes.
    #[serde(skip)]
    pub near: TenantCursors,
    /// Intents (`CmdletRequested`) without a final outcome, by `id_key` of the command id. A
    /// hash map (one probe a fold; `pending_commands_oldest_first` sorts when the engine asks),
    /// boxed, so that growing it moves pointers, not commands.
    pub pending_commands: PendingMap<PendingCommand>,
    /// Notifications requested and not yet sent, by `id_key` of the notification id (like the
    /// above; `pending_notifications_oldest_first`).
    pub pending_notifications: PendingMap<PendingNotification>,
    pub syncs: SyncHistory,
    /// The last event that may change every decision (the policy, the organisation's rules).
    pub rules_seq: u64,
    pub anomalies: Vec<Anomaly>,
    pub anomaly_count: u64,
    pub event_count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectorView {
    pub connector_id: String,
    pub organization: String,
    pub server: String,
    pub kind: ConnectorKind,
    /// Graph's `deviceManagementExchangeConnectorStatus`.
    pub status: String,
    pub status_reason: String,
    pub replaced_by: Option<String>,
    pub registered_at_us: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    /// Compact strings (a projection holds one per user): inline, without an allocation, up to
    /// 24 bytes, which most addresses and group names fit. Serialised as strings.
    pub upn: CompactString,
    pub smtp: CompactString,
    pub licensed: bool,
    pub groups: Vec<CompactString>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MailboxView {
    /// Compact strings, like `UserView`'s.
    pub smtp: CompactString,
    pub identity: CompactString,
    pub activesync_enabled: bool,
    /// The lists as Exchange last reported them.
    pub allowed_device_ids: Vec<String>,
    pub blocked_device_ids: Vec<String>,
    /// Lowercased ids easgate put (or asked to put) on the lists; every other entry is an admin's.
    pub easgate_allowed: SmallSet,
    pub easgate_blocked: SmallSet,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationView {
    pub default_access: AccessLevel,
    pub rules: Vec<DeviceAccessRule>,
    pub cas_servers: Vec<String>,
    /// Rules easgate created from the policy's access rules: (query, characteristic).
    pub easgate_rules: BTreeSet<(String, Characteristic)>,
    /// The server easgate talks to after failing over (empty: the connector's primary).
    pub current_server: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManagedView {
    pub managed_device_id: CompactString,
    pub upn: CompactString,
    /// As reported (display case).
    pub eas_device_id: Option<CompactString>,
    pub enrolled: bool,
    pub eas_activated: bool,
    pub compliance: Compliance,
    pub compliance_observed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegistrationView {
    /// Compact strings, like `UserView`'s.
    pub entra_device_id: CompactString,
    pub trust_type: CompactString,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceView {
    /// Mailbox SMTP and DeviceId as first reported (display case).
    pub mailbox: CompactString,
    pub device_id: CompactString,
    /// The device's class as Exchange reports it: a handful of distinct values over a whole
    /// organisation, so each is held once (`ClassStrings`) and shared. Serialised as strings.
    pub device_type: Arc<str>,
    pub device_model: Arc<str>,
    pub device_os: Arc<str>,
    pub user_agent: Arc<str>,
    pub exchange_state: ExchangeState,
    pub exchange_reason: ExchangeReason,
    pub access: Option<Access>,
    pub reason: Option<Reason>,
    pub inputs: Option<DecisionInputs>,
    pub flow_step: u8,
    /// Episodes start at discovery and again whenever an allowed device is denied.
    pub episode: u32,
    pub notified_in_episode: bool,
    pub managed_device_id: Option<CompactString>,
    /// The partnership was removed from Exchange.
    pub removed: bool,
    pub wipe: Option<WipeView>,
    pub first_seen_us: i64,
    pub last_event_seq: u64,
    /// The last event that may change this device's decision (its class, its mailbox's lists,
    /// its user, its managed-device record).
    pub inputs_seq: u64,
    /// The last `AccessDecided` for it.
    pub decided_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WipeView {
    pub requested_by: String,
    pub confirmed: bool,
}

/// An intent without a final outcome: what its outcome settles in the projection. The call
/// itself stays in the log, at `requested_seq`, where recovery reads it back (`Store::read`): a
/// fold keeps none of its text, so that a replay copies nothing of an intent but the entries
/// easgate claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingCommand {
    pub command_id: Uuid,
    pub attempt: u32,
    /// The seq of the intent (`CmdletRequested`).
    pub requested_seq: u64,
    /// The last attempt failed in a way that may have changed Exchange (a timeout).
    pub in_doubt: bool,
    /// The positions of the partnerships it acts for (those the table held when it was asked
    /// for; positions never change), stamped again by its outcome.
    pub devices: Positions,
    /// A Set-CASMailbox's list edits: the entries easgate claimed when it asked.
    pub lists: Option<ListClaims>,
    /// The device access rule it creates (`true`) or removes (`false`): (query, characteristic).
    pub rule: Option<(bool, (String, Characteristic))>,
}

/// The list edits of a Set-CASMailbox intent, lowercased.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListClaims {
    /// The mailbox's Identity as the call names it, lowercased.
    pub mailbox_key: CompactString,
    pub entries: ListEntryEdits,
}

/// The entries of a Set-CASMailbox: inline up to two (a call nearly always adds or removes one
/// DeviceId on one or both lists), so an intent's claims need no allocation.
pub type ListEntryEdits = smallvec::SmallVec<[ListEntryEdit; 2]>;

/// One id a Set-CASMailbox adds to or removes from one of a mailbox's lists, lowercased. The
/// outcome releases easgate's claim on an added id the call did not apply, and on a removed id
/// it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListEntryEdit {
    pub list: DeviceList,
    pub added: bool,
    pub id_key: CompactString,
}

/// A mailbox's ActiveSync device lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceList {
    Allowed,
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingNotification {
    pub notification_id: Uuid,
    pub mailbox: CompactString,
    pub device_id: CompactString,
    pub to: CompactString,
    pub attempts: u32,
    pub last_error: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncHistory {
    pub running: Option<RunningSync>,
    pub last_completed: Option<SyncOutcome>,
    pub last_full_completed: Option<SyncOutcome>,
    pub last_failed: Option<SyncOutcome>,
    pub completed_count: u64,
    pub failed_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningSync {
    pub run_id: Uuid,
    pub kind: SyncKind,
    pub started_at_us: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncOutcome {
    pub run_id: Uuid,
    pub kind: SyncKind,
    pub at_us: i64,
    pub counts: SyncCounts,
    pub duration_ms: u64,
    pub error: String,
}

/// An event that did not fit the projection: reported, never fatal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anomaly {
    pub seq: u64,
    pub event_type: String,
    pub detail: String,
}

/// Intents or notifications waiting for their outcome, by `id_key`. Removal swaps the last
/// entry in: the order is the log's doing (deterministic), not the ids'.
pub type PendingMap<V> = indexmap::IndexMap<u128, Box<V>, rustc_hash::FxBuildHasher>;

/// The key of an intent or a notification in its pending map: its id as one number, in the id's
/// byte order, so that sorting by it sorts by id (version 7 ids: by when they were made).
pub fn id_key(id: Uuid) -> u128 {
    id.as_u128()
}

/// A pending map's values sorted by id (the oldest first, for version 7 ids).
fn oldest_first<V>(pending: &PendingMap<V>) -> Vec<&V> {
    let mut values: Vec<(&u128, &Box<V>)> = pending.iter().collect();
    values.sort_unstable_by_key(|(key, _)| **key);
    values.into_iter().map(|(_, value)| value.as_ref()).collect()
}

/// The positions in `devices` of the partnerships with a DeviceId (any case), collected so that
/// a fold can write `devices` while it walks them: inline up to four.
fn positions_with_id(projection: &Projection, device_id: &str) -> smallvec::SmallVec<[usize; 4]> {
    let device_key = LoweredId::new(device_id);
    projection.devices_by_id.positions(&projection.devices, device_key.as_str()).collect()
}

impl DeviceView {
    /// A targeted device denied for a reason its user can fix (not enrolled, compliance
    /// unknown, not compliant) whose user has not been mailed in this episode (DESIGN section 2).
    pub fn is_owed_notification(&self) -> bool {
        let denied = matches!(self.access, Some(Access::Blocked | Access::Quarantined))
            && self.reason.is_some_and(|reason| reason.is_denial())
            && self.inputs.as_ref().is_some_and(|inputs| inputs.targeted);
        denied && !self.removed && !self.notified_in_episode
    }
}

impl Projection {
    pub fn device(&self, mailbox: &str, device_id: &str) -> Option<&DeviceView> {
        self.devices.get(&DeviceKey::new(mailbox, device_id)).map(Box::as_ref)
    }

    /// Partnerships that still exist, sorted by mailbox then DeviceId.
    pub fn current_devices(&self) -> Vec<&DeviceView> {
        let mut devices: Vec<(&DeviceKey, &DeviceView)> =
            self.devices.iter().filter(|(_, device)| !device.removed).map(|(key, device)| (key, &**device)).collect();
        devices.sort_unstable_by(|left, right| left.0.cmp(right.0));
        devices.into_iter().map(|(_, device)| device).collect()
    }

    /// Every partnership (current or removed) with this DeviceId, case-insensitively, sorted.
    pub fn devices_with_id(&self, device_id: &str) -> Vec<&DeviceView> {
        self.at_positions(self.sorted_with_id(device_id)).map(|(_, device)| device).collect()
    }

    /// The keys of every partnership with this DeviceId, sorted.
    pub fn keys_with_device_id(&self, device_id: &str) -> Vec<DeviceKey> {
        self.at_positions(self.sorted_with_id(device_id)).map(|(key, _)| key.clone()).collect()
    }

    /// The keys of a mailbox's partnerships (current or removed), sorted by DeviceId.
    pub fn keys_of_mailbox(&self, mailbox_key: &str) -> Vec<DeviceKey> {
        let positions = self.devices_by_mailbox.sorted_positions(&self.devices, mailbox_key);
        self.at_positions(positions).map(|(key, _)| key.clone()).collect()
    }

    /// The positions of the partnerships with a DeviceId (any case), sorted by key.
    fn sorted_with_id(&self, device_id: &str) -> Vec<usize> {
        self.devices_by_id.sorted_positions(&self.devices, LoweredId::new(device_id).as_str())
    }

    fn at_positions(&self, positions: Vec<usize>) -> impl Iterator<Item = (&DeviceKey, &DeviceView)> {
        positions
            .into_iter()
            .filter_map(|position| self.devices.get_index(position))
            .map(|(key, device)| (key, &**device))
    }

    /// Intents without a final outcome, the oldest first.
    pub fn pending_commands_oldest_first(&self) -> Vec<&PendingCommand> {
        oldest_first(&self.pending_commands)
    }

    /// Notifications requested and not yet sent, the oldest first.
    pub fn pending_notifications_oldest_first(&self) -> Vec<&PendingNotification> {
        oldest_first(&self.pending_notifications)
    }

    /// Rebuilds the derived indexes (after a snapshot is decoded).
    pub fn rebuild_indexes(&mut self) {
        self.devices_by_id.clear();
        self.devices_by_mailbox.clear();
        self.devices_by_id.reserve(&self.devices, self.devices.len());
        self.devices_by_mailbox.reserve(&self.devices, self.devices.len());
        // As the fold indexes each new partnership, in the same order.
        for position in 0..self.devices.len() {
            index_device(self, position);
        }
        self.owed_notifications = self
            .devices
            .values()
            .enumerate()
            .filter(|(_, device)| device.is_owed_notification())
            .map(|(position, _)| position)
            .collect();
        let mut class_strings = ClassStrings::default();
        for device in self.devices.values_mut() {
            for field in
                [&mut device.device_type, &mut device.device_model, &mut device.device_os, &mut device.user_agent]
            {
                class_strings.reshare(field);
            }
        }
        self.class_strings = class_strings;
        self.mailbox_by_identity = self
            .mailboxes
            .values()
            .enumerate()
            .filter(|(_, mailbox)| !mailbox.identity.is_empty())
            .map(|(position, mailbox)| (compact_key_of(&mailbox.identity), position))
            .collect();
    }

    /// The partnerships whose user is owed the notification mail of this episode, sorted.
    pub fn owed_devices(&self) -> Vec<(&DeviceKey, &DeviceView)> {
        let mut owed: Vec<(&DeviceKey, &DeviceView)> = self
            .owed_notifications
            .iter()
            .filter_map(|position| self.devices.get_index(position))
            .map(|(key, device)| (key, &**device))
            .collect();
        owed.sort_unstable_by(|left, right| left.0.cmp(right.0));
        owed
    }

    /// The user owning a mailbox: by SMTP address, else by UPN.
    pub fn user_for_mailbox(&self, mailbox: &str) -> Option<&UserView> {
        let key = key_of(mailbox);
        self.user_by_smtp
            .get(key.as_str())
            .and_then(|&position| self.users.get_index(position))
            .map(|(_, user)| user)
            .or_else(|| self.users.get(key.as_str()))
    }

    /// The SMTP address of the mailbox with an Identity (lowercased).
    pub fn smtp_of_identity(&self, identity_key: &str) -> Option<&str> {
        let &position = self.mailbox_by_identity.get(identity_key)?;
        self.mailboxes.get_index(position).map(|(_, mailbox)| mailbox.smtp.as_str())
    }

    /// The managed-device record joined (or joinable) to a partnership.
    pub fn managed_for(&self, device: &DeviceView) -> Option<&ManagedView> {
        self.tenant().managed_for(device, LoweredId::new(&device.device_id).as_str())
    }

    pub fn registration_for(&self, device_id: &str) -> Option<&RegistrationView> {
        self.tenant().registration_for(LoweredId::new(device_id).as_str())
    }

    /// The tenant's records about devices, borrowed apart from the partnership table.
    pub fn tenant(&self) -> TenantRecords<'_> {
        TenantRecords {
            managed: &self.managed,
            managed_by_eas: &self.managed_by_eas,
            registrations: &self.registrations,
            near: self.near,
        }
    }

    /// Devices counted by access, over current partnerships.
    pub fn counts_by_access(&self) -> BTreeMap<Access, u64> {
        let mut counts: BTreeMap<Access, u64> = Access::ALL.into_iter().map(|access| (access, 0)).collect();
        for device in self.devices.values().filter(|device| !device.removed) {
            if let Some(access) = device.access {
                *counts.entry(access).or_insert(0) += 1;
            }
        }
        counts
    }

    /// Whether facts changed since the device was last decided (or it never was). `evaluated_seq`
    /// is when the caller last evaluated it without the decision changing.
    pub fn needs_decision(&self, device: &DeviceView, evaluated_seq: u64) -> bool {
        if device.removed {
            return false;
        }
        let seen = device.decided_seq.max(evaluated_seq);
        device.access.is_none() || device.inputs_seq.max(self.rules_seq) > seen
    }

    /// The compliance of the device's enrolled managed-device record (unknown when it has none).
    pub fn compliance_of(&self, device: &DeviceView) -> Compliance {
        self.managed_for(device)
            .filter(|managed| managed.enrolled)
            .map(|managed| managed.compliance)
            .unwrap_or_default()
    }
}

/// The projection's tenant records (managed devices, Entra registrations), borrowed apart from the
/// partnership table so that a fold can read them while it writes a device.
#[derive(Clone, Copy)]
pub struct TenantRecords<'a> {
    pub managed: &'a TextMap<Box<ManagedView>>,
    pub managed_by_eas: &'a TextMap<usize>,
    pub registrations: &'a TextMap<Box<RegistrationView>>,
    /// Where a lookup looks first (hints; see `cursor.rs`).
    pub near: TenantCursors,
}

/// The tenant tables' cursors (hints, see `cursor.rs`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TenantCursors {
    pub managed: TableCursor,
    pub registrations: TableCursor,
    pub mailboxes: TableCursor,
}

impl<'a> TenantRecords<'a> {
    /// The managed-device record joined (or joinable) to a partnership; `device_id` is its
    /// DeviceId lowercased.
    pub fn managed_for(&self, device: &DeviceView, device_id: &str) -> Option<&'a ManagedView> {
        let managed = |id: &str| {
            let position = self.near.managed.find(self.managed, id).or_else(|| self.managed.get_index_of(id))?;
            self.managed.get_index(position).map(|(_, managed)| managed.as_ref())
        };
        if let Some(managed_device_id) = &device.managed_device_id {
            return managed(managed_device_id);
        }
        self.reporting_eas_id(device_id).map(|(_, managed)| managed)
    }

    /// The managed device (its id and record) that reports an EAS DeviceId (lowercased).
    pub fn reporting_eas_id(&self, device_id: &str) -> Option<(&'a str, &'a ManagedView)> {
        let &position = self.managed_by_eas.get(device_id)?;
        self.managed.get_index(position).map(|(id, managed)| (id.as_str(), managed.as_ref()))
    }

    /// The Entra registration of a DeviceId (lowercased).
    pub fn registration_for(&self, device_id: &str) -> Option<&'a RegistrationView> {
        let position = self
            .near
            .registrations
            .find(self.registrations, device_id)
            .or_else(|| self.registrations.get_index_of(device_id))?;
        self.registrations.get_index(position).map(|(_, registration)| registration.as_ref())
    }
}

/// Adds the partnership at `position` in `devices` to the indexes by DeviceId and by mailbox.
fn index_device(projection: &mut Projection, position: usize) {
    projection.devices_by_id.insert(&projection.devices, position);
    projection.devices_by_mailbox.insert(&projection.devices, position);
}

/// The partnerships an event is about (for traces): named directly, by DeviceId, by managed
/// device, by mailbox or by the command's device list.
pub fn touched_keys(projection: &Projection, event: &crate::domain::Event) -> Vec<DeviceKey> {
    use crate::domain::Event;
    let by_id = |device_id: &str| projection.keys_with_device_id(device_id);
    let by_managed = |managed_device_id: &str| {
        projection
            .managed
            .get(managed_device_id)
            .and_then(|managed| managed.eas_device_id.as_deref())
            .map(by_id)
            .unwrap_or_default()
    };
    match event {
        Event::DeviceDiscovered(event) => vec![DeviceKey::new(&event.mailbox, &event.device_id)],
        Event::ExchangeStateObserved(event) => vec![DeviceKey::new(&event.mailbox, &event.device_id)],
        Event::PartnershipRemoved(event) => vec![DeviceKey::new(&event.mailbox, &event.device_id)],
        Event::DeviceMapped(event) => vec![DeviceKey::new(&event.mailbox, &event.device_id)],
        Event::AccessDecided(event) => vec![DeviceKey::new(&event.mailbox, &event.device_id)],
        Event::NotificationRequested(event) => vec![DeviceKey::new(&event.mailbox, &event.device_id)],
        Event::NotificationSent(event) => vec![DeviceKey::new(&event.mailbox, &event.device_id)],
        Event::NotificationFailed(event) => vec![DeviceKey::new(&event.mailbox, &event.device_id)],
        Event::WipeRequested(event) => vec![DeviceKey::new(&event.mailbox, &event.device_id)],
        Event::WipeConfirmed(event) => vec![DeviceKey::new(&event.mailbox, &event.device_id)],
        Event::DriftDetected(event) if !event.device_id.is_empty() => {
            vec![DeviceKey::new(&event.mailbox, &event.device_id)]
        }
        Event::DeviceRegistered(event) => by_id(&event.device_id),
        Event::EasIdRegistered(event) => by_id(&event.device_id),
        Event::DeviceEnrolled(event) => {
            event.device_id.as_deref().map(by_id).unwrap_or_else(|| by_managed(&event.managed_device_id))
        }
        Event::DeviceUnenrolled(event) => {
            event.device_id.as_deref().map(by_id).unwrap_or_else(|| by_managed(&event.managed_device_id))
        }
        Event::ComplianceObserved(event) => by_managed(&event.managed_device_id),
        Event::CmdletRequested(event) => {
            event.devices.iter().map(|device| DeviceKey::new(&device.mailbox, &device.device_id)).collect()
        }
        Event::MailboxObserved(event) => projection.keys_of_mailbox(&key_of(&event.mailbox)),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod table_tests;
