//! The simulated Exchange organisation (reference/exchange.md section 1): CAS mailboxes with
//! their allow and block lists, partnerships whose state follows Exchange's evaluation order
//! (re-evaluated as soon as a list, a rule or the default changes, as if the device synced at
//! once), device access rules, organisation settings, mailbox policies, and several Client
//! Access Servers that can go down, with the 18-shell quota, injectable faults and latency.
//!
//! `SimExchange` is the handle: `connector(user)` gives the `ExchangeConnector` easgate uses;
//! the other methods are what a scenario does outside any cmdlet, and ground-truth reads.

mod connector;
mod counters;
mod error_records;
mod execute;
mod execute_configuration;
mod execute_devices;
mod execute_mailboxes;
mod model;
mod opath;
mod organization;
mod state;
mod tables;
mod views;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::domain::event::DeviceAccessRule;
use crate::domain::exchange_rules::rule_identity;
use crate::domain::vocabulary::{AccessLevel, Characteristic};
use crate::exchange::cmdlets::MultiValuedChange;
use crate::exchange::cmdlets::registry::canonical_name;
use crate::sim::error::SimError;
use crate::sim::fault::FaultKind;

pub use connector::{SimConnector, SimSession};
pub use counters::{CmdletCount, CmdletCounters};
pub use model::{DeviceSpec, DeviceTruth, MailboxSpec, MailboxTruth, OrganizationSpec, OrganizationTruth};
pub use state::DEFAULT_SHELL_QUOTA;

use organization::Organization;
use state::SimState;

/// The account easgate's connector runs as when a scenario does not name one.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "CONTOSO\\svc-easgate";

/// A simulated Exchange organisation. Cloning shares it.
#[derive(Clone)]
pub struct SimExchange {
    shared: Arc<Mutex<SimState>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SimExchange {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        formatter
            .debug_struct("SimExchange")
            .field("organization", &state.organization.name)
            .field("mailboxes", &state.organization.mailboxes.len())
            .field("partnerships", &state.organization.partnerships.len())
            .finish()
    }
}

impl SimExchange {
    /// Scenario step `org`: an organisation with its Client Access Servers (the first is the
    /// primary) and its default access level; one policy, `Default`; no rules.
    pub fn new(spec: OrganizationSpec, clock: Arc<dyn Clock>) -> Result<SimExchange, SimError> {
        if spec.cas.is_empty() {
            return Err(SimError::InvalidInput { detail: "an organisation needs at least one CAS".to_string() });
        }
        for (index, name) in spec.cas.iter().enumerate() {
            if name.trim().is_empty() || spec.cas[..index].iter().any(|earlier| earlier.eq_ignore_ascii_case(name)) {
                return Err(SimError::InvalidInput { detail: format!("CAS name {name:?} is empty or repeated") });
            }
        }
        let organization = Organization::new(&spec);
        Ok(SimExchange { shared: Arc::new(Mutex::new(SimState::new(organization))), clock })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SimState> {
        // The state stays consistent between statements, so a panic elsewhere does not spoil it.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub(crate) async fn sleep_latency(&self) {
        let latency = self.lock().latency;
        if !latency.is_zero() {
            self.clock.sleep(latency).await;
        }
    }

    pub(crate) fn open_shell(
        &self,
        user: &str,
        server: &str,
    ) -> Result<(u64, usize, String), crate::exchange::ExchangeError> {
        self.lock().open_shell(user, server)
    }

    /// The connector easgate uses, as `user`; its primary server is the first CAS.
    pub fn connector(&self, user: &str) -> SimConnector {
        let primary = self.lock().organization.servers[0].name.clone();
        SimConnector::new(self.clone(), user, primary)
    }

    /// Scenario step `user`: a mailbox for the user.
    pub fn add_mailbox(&self, upn: &str, smtp: &str) -> Result<(), SimError> {
        let spec = MailboxSpec { upn: upn.to_string(), smtp: smtp.to_string() };
        self.lock().organization.add_mailbox(&spec).map(|_| ())
    }

    /// Scenario step `user` for a user who may already have a mailbox: creates it when missing.
    /// Returns whether it was created.
    pub fn ensure_mailbox(&self, upn: &str, smtp: &str) -> Result<bool, SimError> {
        let mut state = self.lock();
        if state.organization.scenario_mailbox(upn).is_ok() {
            return Ok(false);
        }
        let spec = MailboxSpec { upn: upn.to_string(), smtp: smtp.to_string() };
        state.organization.add_mailbox(&spec).map(|_| true)
    }

    /// Scenario step `connect` (flow step 1): the device syncs with the user's mailbox; a new
    /// partnership gets its state at once.
    pub fn connect_device(&self, user: &str, device: &DeviceSpec) -> Result<DeviceTruth, SimError> {
        if device.device_id.is_empty() || device.device_type.is_empty() {
            return Err(SimError::InvalidInput { detail: "a device needs a device_id and a device_type".to_string() });
        }
        let now = self.now();
        let mut state = self.lock();
        let mailbox = state.organization.scenario_mailbox(user)?;
        let key = state.organization.connect_device(mailbox, device.clone(), now);
        state
            .organization
            .device_truth(key)
            .ok_or_else(|| SimError::UnknownDevice { device_id: device.device_id.clone() })
    }

    /// Scenario step `remove_partnership`: every partnership of the device goes. Returns how many.
    pub fn remove_partnership(&self, device_id: &str) -> Result<usize, SimError> {
        let mut state = self.lock();
        let keys = state.organization.partnerships_with_device_id(device_id);
        if keys.is_empty() {
            return Err(SimError::UnknownDevice { device_id: device_id.to_string() });
        }
        for key in &keys {
            state.organization.remove_partnership(*key);
        }
        Ok(keys.len())
    }

    fn edit_lists(
        &self,
        user: &str,
        allowed: Option<MultiValuedChange>,
        blocked: Option<MultiValuedChange>,
    ) -> Result<(), SimError> {
        let now = self.now();
        let mut state = self.lock();
        let mailbox = state.organization.scenario_mailbox(user)?;
        state.organization.change_lists(mailbox, allowed.as_ref(), blocked.as_ref(), now);
        Ok(())
    }

    /// Scenario step `admin_allow`: an admin adds the id to the mailbox's allow list.
    pub fn admin_allow(&self, user: &str, device_id: &str) -> Result<(), SimError> {
        self.edit_lists(user, Some(MultiValuedChange::add(&[device_id])), None)
    }

    /// Scenario step `admin_block`: an admin adds the id to the mailbox's block list.
    pub fn admin_block(&self, user: &str, device_id: &str) -> Result<(), SimError> {
        self.edit_lists(user, None, Some(MultiValuedChange::add(&[device_id])))
    }

    /// Scenario step `admin_clear`: an admin removes the id from both lists.
    pub fn admin_clear(&self, user: &str, device_id: &str) -> Result<(), SimError> {
        let remove = MultiValuedChange::remove(&[device_id]);
        self.edit_lists(user, Some(remove.clone()), Some(remove))
    }

    /// Scenario step `exchange_rule`: an admin adds a device access rule.
    pub fn admin_add_rule(
        &self,
        query: &str,
        characteristic: Characteristic,
        access: AccessLevel,
    ) -> Result<(), SimError> {
        let now = self.now();
        let rule = DeviceAccessRule { query: query.to_string(), characteristic, access };
        if self.lock().organization.add_rule(rule, now) {
            return Ok(());
        }
        Err(SimError::InvalidInput {
            detail: format!("rule {:?} already exists", rule_identity(query, characteristic)),
        })
    }

    /// An admin removes a device access rule by its identity `"<query> (<characteristic>)"`.
    pub fn admin_remove_rule(&self, identity: &str) -> Result<(), SimError> {
        let now = self.now();
        let mut state = self.lock();
        let index = state
            .organization
            .rule_index(identity)
            .ok_or_else(|| SimError::InvalidInput { detail: format!("no rule {identity:?}") })?;
        state.organization.remove_rule(index, now);
        Ok(())
    }

    /// An admin changes the organisation's DefaultAccessLevel.
    pub fn admin_set_default_access(&self, level: AccessLevel) {
        let now = self.now();
        self.lock().organization.set_default_access(level, now);
    }

    /// An admin turns ActiveSync on or off for a mailbox.
    pub fn admin_set_activesync_enabled(&self, user: &str, enabled: bool) -> Result<(), SimError> {
        let now = self.now();
        let mut state = self.lock();
        let mailbox = state.organization.scenario_mailbox(user)?;
        state.organization.set_activesync_enabled(mailbox, enabled, now);
        Ok(())
    }

    fn server_index(&self, state: &SimState, server: &str) -> Result<usize, SimError> {
        state.organization.server_index(server).ok_or_else(|| SimError::UnknownServer { server: server.to_string() })
    }

    /// Scenario step `cas_down`: the server stops answering; its shells are lost.
    pub fn cas_down(&self, server: &str) -> Result<(), SimError> {
        let mut state = self.lock();
        let index = self.server_index(&state, server)?;
        let cas = &mut state.organization.servers[index];
        if cas.up {
            cas.up = false;
            cas.epoch += 1;
        }
        state.shells.retain(|_, shell| shell.server != index);
        Ok(())
    }

    /// Scenario step `cas_up`: the server answers again (with no shells).
    pub fn cas_up(&self, server: &str) -> Result<(), SimError> {
        let mut state = self.lock();
        let index = self.server_index(&state, server)?;
        state.organization.servers[index].up = true;
        Ok(())
    }

    /// Scenario step `fault` with target exchange: the next `count` cmdlet calls fail as `kind`.
    pub fn inject_fault(&self, kind: FaultKind, count: u32) -> Result<(), SimError> {
        if self.lock().faults.inject(kind, count) {
            return Ok(());
        }
        Err(SimError::InvalidInput { detail: "too many fault injections pending".to_string() })
    }

    /// Faults still waiting for calls.
    pub fn pending_faults(&self) -> u64 {
        self.lock().faults.pending()
    }

    /// Time every open and every cmdlet call takes, slept on the injected clock.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// The concurrent-shell quota per user (Exchange's default is 18).
    pub fn set_shell_quota(&self, quota: u32) {
        self.lock().shell_quota = quota;
    }

    /// Shells `user` has open.
    pub fn open_shells(&self, user: &str) -> usize {
        self.lock().shells.values().filter(|shell| shell.user.eq_ignore_ascii_case(user)).count()
    }

    /// The account's roles stop granting a cmdlet: Get-Command omits it and running it fails
    /// with CommandNotFoundException.
    pub fn withhold_cmdlet(&self, name: &str) -> Result<(), SimError> {
        let canonical = canonical_name(name)
            .ok_or_else(|| SimError::InvalidInput { detail: format!("{name:?} is not a cmdlet easgate uses") })?;
        self.lock().withheld.insert(canonical.to_string());
        Ok(())
    }

    /// A multi-domain forest: runspaces that have not run `Set-ADServerSettings
    /// -ViewEntireForest $true` see only the mailboxes of `domain` (`None`: they see all).
    pub fn set_forest_root_domain(&self, domain: Option<&str>) {
        self.lock().organization.forest_root_domain = domain.map(str::to_string);
    }

    /// Whether a device acknowledges a wipe at once (default), or only on `acknowledge_wipe`.
    pub fn set_wipe_acknowledged_at_once(&self, at_once: bool) {
        self.lock().organization.wipe_acknowledged_at_once = at_once;
    }

    /// The device receives and acknowledges a pending wipe.
    pub fn acknowledge_wipe(&self, device_id: &str) -> Result<(), SimError> {
        let now = self.now();
        let mut state = self.lock();
        let keys = state.organization.partnerships_with_device_id(device_id);
        let mut acknowledged = false;
        for key in keys {
            if let Some(partnership) = state.organization.partnerships.get_mut(&key)
                && partnership.wipe.requested_at.is_some()
                && partnership.wipe.acknowledged_at.is_none()
            {
                partnership.wipe.sent_at = Some(now);
                partnership.wipe.acknowledged_at = Some(now);
                acknowledged = true;
            }
        }
        if acknowledged {
            return Ok(());
        }
        Err(SimError::InvalidInput { detail: format!("device {device_id:?} has no pending wipe") })
    }

    /// Bulk loading (scenario step `population`, benchmarks): linear in the input, whose strings
    /// move into the organisation. Devices name their user by UPN or SMTP address; each
    /// partnership is evaluated once.
    pub fn bulk_load(&self, mailboxes: Vec<MailboxSpec>, devices: Vec<(String, DeviceSpec)>) -> Result<(), SimError> {
        let now = self.now();
        let mut state = self.lock();
        let organization = &mut state.organization;
        organization.reserve(mailboxes.len(), devices.len());
        for mailbox in &mailboxes {
            organization.add_mailbox(mailbox)?;
        }
        for (user, device) in devices {
            let mailbox = organization.scenario_mailbox(&user)?;
            organization.connect_device(mailbox, device, now);
        }
        Ok(())
    }

    /// Ground truth: the first partnership of a DeviceId (DESIGN's `expect_exchange`).
    pub fn device(&self, device_id: &str) -> Option<DeviceTruth> {
        let state = self.lock();
        let key = state.organization.partnerships_with_device_id(device_id).into_iter().next()?;
        state.organization.device_truth(key)
    }

    /// Ground truth: every partnership of a DeviceId.
    pub fn partnerships_of_device(&self, device_id: &str) -> Vec<DeviceTruth> {
        let state = self.lock();
        let keys = state.organization.partnerships_with_device_id(device_id);
        keys.into_iter().filter_map(|key| state.organization.device_truth(key)).collect()
    }

    /// Ground truth: the partnership of a device with a user's mailbox.
    pub fn partnership(&self, user: &str, device_id: &str) -> Option<DeviceTruth> {
        let state = self.lock();
        let mailbox = state.organization.scenario_mailbox(user).ok()?;
        let key = state.organization.partnership_of(mailbox, device_id)?;
        state.organization.device_truth(key)
    }

    /// Ground truth: a mailbox's lists and devices.
    pub fn mailbox(&self, user: &str) -> Option<MailboxTruth> {
        let state = self.lock();
        let index = state.organization.scenario_mailbox(user).ok()?;
        Some(state.organization.mailbox_truth(index))
    }

    /// Ground truth: the default, the rules, the servers and the sizes.
    pub fn organization(&self) -> OrganizationTruth {
        self.lock().organization.organization_truth()
    }

    /// What reached the servers so far.
    pub fn counters(&self) -> CmdletCounters {
        self.lock().counters.clone()
    }

    pub fn reset_counters(&self) {
        self.lock().counters = CmdletCounters::default();
    }
}
