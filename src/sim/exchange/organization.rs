//! The simulated organisation's state and Exchange's semantics over it: mailboxes with their
//! allow and block lists, partnerships whose state follows `domain::exchange_rules` (evaluated
//! at once whenever a list, a rule or the default changes, as if the device synced), device
//! access rules, settings, policies and servers. Every lookup is a hash map, so loading and
//! reading a 100,000-device organisation is linear.

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;

use crate::domain::event::DeviceAccessRule;
use crate::domain::exchange_rules::{
    DeviceClass, MailboxLists, OrganizationRules, evaluate, reevaluate, rule_identity, rules_give,
};
use crate::domain::vocabulary::{AccessLevel, ExchangeReason, ExchangeState};
use crate::exchange::cmdlets::MultiValuedChange;
use crate::exchange::cmdlets::get_activesync_device::device_identity;
use crate::sim::error::SimError;
use crate::sim::exchange::model::{
    CasServer, DeviceSpec, DeviceTruth, Mailbox, MailboxPolicyRecord, MailboxSpec, MailboxTruth, OrganizationSettings,
    OrganizationSpec, OrganizationTruth, Partnership, WipeRecord,
};
use crate::sim::exchange::tables::{DeviceClasses, PartnershipTable};
use crate::sim::random::SplitMix64;

/// A key that names more than one mailbox.
const AMBIGUOUS: usize = usize::MAX;
/// Suffixes tried to make a user's name unique in its domain before giving up.
const MAX_NAME_SUFFIX: usize = 10_000;

/// What an identity names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    Found(usize),
    NotFound,
    Ambiguous,
}

pub(crate) struct Organization {
    pub(crate) name: String,
    pub(crate) servers: Vec<CasServer>,
    pub(crate) settings: OrganizationSettings,
    pub(crate) rules: Vec<DeviceAccessRule>,
    pub(crate) policies: Vec<MailboxPolicyRecord>,
    pub(crate) mailboxes: Vec<Mailbox>,
    /// Lower-cased SMTP address, UPN, canonical name and alias -> mailbox.
    mailbox_keys: FxHashMap<String, usize>,
    mailbox_guids: FxHashMap<uuid::Uuid, usize>,
    /// In creation order, which is the order Get-ActiveSyncDevice returns them in.
    pub(crate) partnerships: PartnershipTable,
    pub(crate) device_classes: DeviceClasses,
    /// When set, a runspace without `Set-ADServerSettings -ViewEntireForest $true` sees only
    /// the mailboxes of this domain.
    pub(crate) forest_root_domain: Option<String>,
    /// Whether a device acknowledges a wipe at once (it "syncs at once") or only when told.
    pub(crate) wipe_acknowledged_at_once: bool,
    guids: SplitMix64,
}

impl Organization {
    pub(crate) fn new(spec: &OrganizationSpec) -> Organization {
        let dns_domain = if spec.name.contains('.') { spec.name.clone() } else { format!("{}.com", spec.name) };
        let servers = spec
            .cas
            .iter()
            .map(|name| CasServer {
                name: name.clone(),
                fqdn: if name.contains('.') { name.clone() } else { format!("{name}.{dns_domain}") },
                up: true,
                epoch: 0,
            })
            .collect();
        Organization {
            name: spec.name.clone(),
            servers,
            settings: OrganizationSettings {
                default_access: spec.default_access,
                user_mail_insert: String::new(),
                admin_mail_recipients: Vec::new(),
                ota_notification_mail_insert: String::new(),
            },
            rules: Vec::new(),
            policies: vec![MailboxPolicyRecord {
                name: "Default".to_string(),
                is_default: true,
                allow_non_provisionable_devices: true,
                device_password_enabled: false,
            }],
            mailboxes: Vec::new(),
            mailbox_keys: FxHashMap::default(),
            mailbox_guids: FxHashMap::default(),
            partnerships: PartnershipTable::default(),
            device_classes: DeviceClasses::default(),
            forest_root_domain: None,
            wipe_acknowledged_at_once: true,
            guids: SplitMix64::new(0x00E5_6A7E),
        }
    }

    /// A server by name or FQDN.
    pub(crate) fn server_index(&self, server: &str) -> Option<usize> {
        self.servers
            .iter()
            .position(|cas| cas.name.eq_ignore_ascii_case(server) || cas.fqdn.eq_ignore_ascii_case(server))
    }

    /// The domain controller named in Exchange's "couldn't be found on" messages.
    pub(crate) fn domain_controller(&self) -> String {
        match self.servers.first() {
            Some(cas) => match cas.fqdn.split_once('.') {
                Some((_, domain)) => format!("dc1.{domain}"),
                None => "dc1".to_string(),
            },
            None => "dc1".to_string(),
        }
    }

    pub(crate) fn reserve(&mut self, mailboxes: usize, partnerships: usize) {
        self.mailboxes.reserve(mailboxes);
        self.mailbox_keys.reserve(mailboxes * 4);
        self.mailbox_guids.reserve(mailboxes);
        self.partnerships.reserve(partnerships);
    }

    pub(crate) fn add_mailbox(&mut self, spec: &MailboxSpec) -> Result<usize, SimError> {
        let upn_key = spec.upn.to_lowercase();
        let smtp_key = spec.smtp.to_lowercase();
        if upn_key.is_empty() || !upn_key.contains('@') {
            return Err(SimError::InvalidInput { detail: format!("user {:?} is not a UPN (name@domain)", spec.upn) });
        }
        if self.mailbox_keys.contains_key(&upn_key) || self.mailbox_keys.contains_key(&smtp_key) {
            return Err(SimError::DuplicateUser { user: spec.upn.clone() });
        }
        let (local, domain) = spec.upn.split_once('@').unwrap_or((spec.upn.as_str(), ""));
        let name = self.unique_name(domain, local)?;
        let identity = format!("{domain}/Users/{name}");
        let index = self.mailboxes.len();
        let guid = self.guids.next_guid();
        for key in [upn_key, smtp_key, identity.to_lowercase(), local.to_lowercase()] {
            self.insert_mailbox_key(key, index);
        }
        self.mailbox_guids.insert(guid, index);
        self.mailboxes.push(Mailbox {
            upn: spec.upn.clone(),
            smtp: spec.smtp.clone(),
            identity,
            name,
            alias: local.to_string(),
            guid,
            activesync_enabled: true,
            allowed_device_ids: Vec::new(),
            blocked_device_ids: Vec::new(),
            policy: None,
            devices: Vec::new(),
        });
        Ok(index)
    }

    fn unique_name(&self, domain: &str, local: &str) -> Result<String, SimError> {
        for suffix in 1..MAX_NAME_SUFFIX {
            let name = if suffix == 1 { local.to_string() } else { format!("{local}{suffix}") };
            if !self.mailbox_keys.contains_key(&format!("{domain}/Users/{name}").to_lowercase()) {
                return Ok(name);
            }
        }
        Err(SimError::InvalidInput { detail: format!("too many users named {local:?} in {domain}") })
    }

    fn insert_mailbox_key(&mut self, key: String, index: usize) {
        let entry = self.mailbox_keys.entry(key).or_insert(index);
        if *entry != index {
            *entry = AMBIGUOUS;
        }
    }

    /// A mailbox by SMTP address, UPN, canonical name, alias or GUID, case-insensitively.
    pub(crate) fn lookup_mailbox(&self, identity: &str) -> Lookup {
        let identity = identity.trim();
        let by_guid = uuid::Uuid::parse_str(identity).ok().and_then(|guid| self.mailbox_guids.get(&guid));
        if let Some(&index) = by_guid {
            return Lookup::Found(index);
        }
        match self.mailbox_keys.get(&identity.to_lowercase()) {
            None => Lookup::NotFound,
            Some(&AMBIGUOUS) => Lookup::Ambiguous,
            Some(&index) => Lookup::Found(index),
        }
    }

    /// A mailbox the scenario names (UPN or SMTP address).
    pub(crate) fn scenario_mailbox(&self, user: &str) -> Result<usize, SimError> {
        match self.lookup_mailbox(user) {
            Lookup::Found(index) => Ok(index),
            Lookup::NotFound | Lookup::Ambiguous => Err(SimError::UnknownUser { user: user.to_string() }),
        }
    }

    /// Whether a runspace sees the mailbox (see `forest_root_domain`).
    pub(crate) fn visible(&self, mailbox: usize, view_entire_forest: bool) -> bool {
        match &self.forest_root_domain {
            Some(root) if !view_entire_forest => self.mailboxes[mailbox].domain().eq_ignore_ascii_case(root),
            _ => true,
        }
    }

    /// Step 1: the device syncs with the mailbox. A new partnership is evaluated at once; an
    /// existing one is updated and re-evaluated. Returns the partnership's key.
    pub(crate) fn connect_device(&mut self, mailbox: usize, device: DeviceSpec, now: DateTime<Utc>) -> u64 {
        self.device_classes.record(&device.device_type, &device.device_model, now);
        let key = match self.partnership_of(mailbox, &device.device_id) {
            Some(key) => {
                if let Some(partnership) = self.partnerships.get_mut(&key) {
                    partnership.user_agent = device.effective_user_agent();
                    partnership.device_model = device.device_model;
                    partnership.device_os = device.device_os;
                }
                key
            }
            None => self.insert_partnership(mailbox, device, now),
        };
        self.evaluate_one(key, now);
        key
    }

    fn insert_partnership(&mut self, mailbox: usize, device: DeviceSpec, now: DateTime<Utc>) -> u64 {
        let identity = device_identity(&self.mailboxes[mailbox].identity, &device.device_type, &device.device_id);
        let guid = self.guids.next_guid();
        let user_agent = device.effective_user_agent();
        let key = self.partnerships.insert(Partnership {
            mailbox,
            identity,
            guid,
            device_id: device.device_id,
            device_type: device.device_type,
            device_model: device.device_model,
            device_os: device.device_os,
            user_agent,
            first_sync_time: now,
            last_sync_time: now,
            when_changed: now,
            state: ExchangeState::Unknown,
            reason: ExchangeReason::Unknown,
            rule: None,
            wipe: WipeRecord::default(),
        });
        self.mailboxes[mailbox].devices.push(key);
        key
    }

    /// The mailbox's partnership with a DeviceId (compared case-insensitively).
    pub(crate) fn partnership_of(&self, mailbox: usize, device_id: &str) -> Option<u64> {
        self.mailboxes[mailbox].devices.iter().copied().find(|key| {
            self.partnerships.get(key).is_some_and(|partnership| partnership.device_id.eq_ignore_ascii_case(device_id))
        })
    }

    /// Every partnership with a DeviceId, in creation order.
    pub(crate) fn partnerships_with_device_id(&self, device_id: &str) -> Vec<u64> {
        self.partnerships
            .iter()
            .filter(|(_, partnership)| partnership.device_id.eq_ignore_ascii_case(device_id))
            .map(|(key, _)| key)
            .collect()
    }

    /// A partnership by Identity or GUID, case-insensitively.
    pub(crate) fn lookup_device(&self, identity: &str) -> Option<u64> {
        self.partnerships.lookup(identity)
    }

    pub(crate) fn remove_partnership(&mut self, key: u64) -> Option<Partnership> {
        let partnership = self.partnerships.remove(key)?;
        self.mailboxes[partnership.mailbox].devices.retain(|device_key| *device_key != key);
        Some(partnership)
    }

    /// Edits a mailbox's lists and re-evaluates its partnerships. Returns whether a list changed.
    pub(crate) fn change_lists(
        &mut self,
        mailbox: usize,
        allowed: Option<&MultiValuedChange>,
        blocked: Option<&MultiValuedChange>,
        now: DateTime<Utc>,
    ) -> bool {
        let record = &mut self.mailboxes[mailbox];
        let allowed_changed = allowed.is_some_and(|change| change.apply_to(&mut record.allowed_device_ids));
        let blocked_changed = blocked.is_some_and(|change| change.apply_to(&mut record.blocked_device_ids));
        if allowed_changed || blocked_changed {
            self.reevaluate_mailbox(mailbox, now);
        }
        allowed_changed || blocked_changed
    }

    pub(crate) fn set_activesync_enabled(&mut self, mailbox: usize, enabled: bool, now: DateTime<Utc>) -> bool {
        if self.mailboxes[mailbox].activesync_enabled == enabled {
            return false;
        }
        self.mailboxes[mailbox].activesync_enabled = enabled;
        self.reevaluate_mailbox(mailbox, now);
        true
    }

    pub(crate) fn set_default_access(&mut self, level: AccessLevel, now: DateTime<Utc>) -> bool {
        if self.settings.default_access == level {
            return false;
        }
        self.settings.default_access = level;
        self.reevaluate_all(now);
        true
    }

    /// A rule by its identity `"<query> (<characteristic>)"`, case-insensitively.
    pub(crate) fn rule_index(&self, identity: &str) -> Option<usize> {
        let identity = identity.trim();
        self.rules
            .iter()
            .position(|rule| rule_identity(&rule.query, rule.characteristic).eq_ignore_ascii_case(identity))
    }

    /// Adds a rule; `false` when one with the same identity exists.
    pub(crate) fn add_rule(&mut self, rule: DeviceAccessRule, now: DateTime<Utc>) -> bool {
        if self.rule_index(&rule_identity(&rule.query, rule.characteristic)).is_some() {
            return false;
        }
        self.rules.push(rule);
        self.reevaluate_all(now);
        true
    }

    pub(crate) fn set_rule_access(&mut self, index: usize, level: AccessLevel, now: DateTime<Utc>) -> bool {
        if self.rules[index].access == level {
            return false;
        }
        self.rules[index].access = level;
        self.reevaluate_all(now);
        true
    }

    pub(crate) fn remove_rule(&mut self, index: usize, now: DateTime<Utc>) -> DeviceAccessRule {
        let removed = self.rules.remove(index);
        self.reevaluate_all(now);
        removed
    }

    fn evaluate_one(&mut self, key: u64, now: DateTime<Utc>) {
        let Organization { mailboxes, partnerships, rules, settings, .. } = self;
        if let Some(partnership) = partnerships.get_mut(&key) {
            let mailbox = &mailboxes[partnership.mailbox];
            evaluate_partnership(partnership, mailbox, rules, settings.default_access, now);
        }
    }

    /// As if each of the mailbox's devices synced now.
    pub(crate) fn reevaluate_mailbox(&mut self, mailbox: usize, now: DateTime<Utc>) {
        let Organization { mailboxes, partnerships, rules, settings, .. } = self;
        let record = &mailboxes[mailbox];
        for key in &record.devices {
            if let Some(partnership) = partnerships.get_mut(key) {
                evaluate_partnership(partnership, record, rules, settings.default_access, now);
            }
        }
    }

    /// As if every device synced now (after a rule or the default changed).
    pub(crate) fn reevaluate_all(&mut self, now: DateTime<Utc>) {
        let Organization { mailboxes, partnerships, rules, settings, .. } = self;
        for partnership in partnerships.values_mut() {
            let mailbox = &mailboxes[partnership.mailbox];
            evaluate_partnership(partnership, mailbox, rules, settings.default_access, now);
        }
    }

    pub(crate) fn device_truth(&self, key: u64) -> Option<DeviceTruth> {
        let partnership = self.partnerships.get(&key)?;
        let mailbox = &self.mailboxes[partnership.mailbox];
        Some(DeviceTruth {
            mailbox_upn: mailbox.upn.clone(),
            mailbox_smtp: mailbox.smtp.clone(),
            identity: partnership.identity.clone(),
            device_id: partnership.device_id.clone(),
            device_type: partnership.device_type.clone(),
            state: partnership.state.clone(),
            reason: partnership.reason.clone(),
            rule: partnership.rule.clone(),
            wipe_status: partnership.wipe.status(),
            first_sync_time: partnership.first_sync_time,
        })
    }

    pub(crate) fn mailbox_truth(&self, index: usize) -> MailboxTruth {
        let mailbox = &self.mailboxes[index];
        MailboxTruth {
            upn: mailbox.upn.clone(),
            smtp: mailbox.smtp.clone(),
            identity: mailbox.identity.clone(),
            activesync_enabled: mailbox.activesync_enabled,
            allowed_device_ids: mailbox.allowed_device_ids.clone(),
            blocked_device_ids: mailbox.blocked_device_ids.clone(),
            device_ids: mailbox
                .devices
                .iter()
                .filter_map(|key| self.partnerships.get(key))
                .map(|partnership| partnership.device_id.clone())
                .collect(),
        }
    }

    pub(crate) fn organization_truth(&self) -> OrganizationTruth {
        OrganizationTruth {
            name: self.name.clone(),
            default_access: self.settings.default_access,
            rules: self.rules.clone(),
            servers: self.servers.iter().map(|cas| (cas.name.clone(), cas.up)).collect(),
            mailboxes: self.mailboxes.len(),
            partnerships: self.partnerships.len(),
        }
    }
}

/// Evaluates one partnership as if the device synced now: Exchange's order
/// (`exchange_rules::evaluate`), then `reevaluate` keeps a rule's block sticky. Returns whether
/// its state, reason or rule changed.
fn evaluate_partnership(
    partnership: &mut Partnership,
    mailbox: &Mailbox,
    rules: &[DeviceAccessRule],
    default_access: AccessLevel,
    now: DateTime<Utc>,
) -> bool {
    let device_class = DeviceClass {
        device_type: &partnership.device_type,
        device_model: &partnership.device_model,
        device_os: &partnership.device_os,
        user_agent: &partnership.user_agent,
    };
    let organization = OrganizationRules { default_access, rules };
    let lists = MailboxLists {
        activesync_enabled: mailbox.activesync_enabled,
        allowed_device_ids: &mailbox.allowed_device_ids,
        blocked_device_ids: &mailbox.blocked_device_ids,
    };
    let evaluated = evaluate(&partnership.device_id, device_class, lists, organization);
    let (state, reason) = reevaluate((&partnership.state, &partnership.reason), evaluated.clone());
    let kept_sticky = (&state, &reason) != (&evaluated.0, &evaluated.1);
    let rule = if kept_sticky {
        partnership.rule.clone()
    } else if reason == ExchangeReason::DeviceRule {
        rules_give(device_class, organization).rule
    } else {
        None
    };
    partnership.last_sync_time = now;
    let changed = state != partnership.state || reason != partnership.reason || rule != partnership.rule;
    if changed {
        partnership.state = state;
        partnership.reason = reason;
        partnership.rule = rule;
        partnership.when_changed = now;
    }
    changed
}
