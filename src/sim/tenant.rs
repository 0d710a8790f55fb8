//! The simulated tenant: users, managed devices, Entra registrations and the policy, read
//! through `crate::tenant::Tenant` in full or as deltas since a cursor (only records changed
//! since; removed managed devices listed), with injectable faults. Scenario steps 4 to 7 of
//! DESIGN section 1 (workplace join, enrolment, "activate email", compliance) and the ways off
//! the happy path (unenrol, wipe) are methods keyed by the EAS DeviceId. Every read carries the
//! policy (it is small), deltas included; a cursor this tenant did not issue gets a full read.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use rustc_hash::FxHashMap;

use crate::domain::vocabulary::Compliance;
use crate::sim::error::SimError;
use crate::sim::fault::{FaultKind, FaultQueue};
use crate::sim::random::SplitMix64;
use crate::tenant::{EntraRegistration, ManagedDevice, Tenant, TenantError, TenantPolicy, TenantSnapshot, TenantUser};

const CURSOR_PREFIX: &str = "sim-delta:";
/// How long a throttled reader is asked to wait.
const THROTTLE_BACK_OFF_MS: u64 = 1_000;

/// A simulated device-management tenant. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct SimTenant {
    shared: Arc<Mutex<TenantState>>,
}

#[derive(Debug, Clone)]
struct Versioned<T> {
    value: T,
    /// The tenant's version when this record last changed.
    changed_at: u64,
}

#[derive(Debug, Default)]
struct TenantState {
    /// Bumped by every change; a cursor is a version.
    version: u64,
    users: Vec<Versioned<TenantUser>>,
    user_by_upn: FxHashMap<String, usize>,
    /// `None` once removed (unenrolled, wiped).
    devices: Vec<Option<Versioned<ManagedDevice>>>,
    device_by_eas_id: FxHashMap<String, usize>,
    /// (managed device id, version it was removed at).
    removed_devices: Vec<(String, u64)>,
    registrations: Vec<Versioned<EntraRegistration>>,
    registration_by_eas_id: FxHashMap<String, usize>,
    policy: Option<TenantPolicy>,
    wiped_device_ids: Vec<String>,
    faults: FaultQueue,
    ids: Option<SplitMix64>,
}

impl TenantState {
    fn bump(&mut self) -> u64 {
        self.version += 1;
        self.version
    }

    fn next_id(&mut self) -> String {
        self.ids.get_or_insert_with(|| SplitMix64::new(0x007E_4A17)).next_guid().to_string()
    }

    fn device_index(&self, eas_device_id: &str) -> Result<usize, SimError> {
        self.device_by_eas_id
            .get(&eas_device_id.to_lowercase())
            .copied()
            .ok_or_else(|| SimError::UnknownDevice { device_id: eas_device_id.to_string() })
    }

    /// Changes one managed device and marks it changed.
    fn change_device(&mut self, eas_device_id: &str, change: impl FnOnce(&mut ManagedDevice)) -> Result<(), SimError> {
        let index = self.device_index(eas_device_id)?;
        let version = self.bump();
        if let Some(record) = self.devices[index].as_mut() {
            change(&mut record.value);
            record.changed_at = version;
        }
        Ok(())
    }

    fn remove_device(&mut self, eas_device_id: &str) -> Result<ManagedDevice, SimError> {
        let index = self.device_index(eas_device_id)?;
        let version = self.bump();
        self.device_by_eas_id.remove(&eas_device_id.to_lowercase());
        let removed = self.devices[index].take().map(|record| record.value);
        let removed = removed.ok_or_else(|| SimError::UnknownDevice { device_id: eas_device_id.to_string() })?;
        self.removed_devices.push((removed.id.clone(), version));
        Ok(removed)
    }

    fn insert_device(&mut self, device: ManagedDevice) -> Result<(), SimError> {
        let key = device.eas_device_id.as_deref().map(str::to_lowercase);
        if let Some(key) = &key
            && self.device_by_eas_id.contains_key(key)
        {
            return Err(SimError::InvalidInput { detail: format!("device {key:?} is already enrolled") });
        }
        let version = self.bump();
        if let Some(key) = key {
            self.device_by_eas_id.insert(key, self.devices.len());
        }
        self.devices.push(Some(Versioned { value: device, changed_at: version }));
        Ok(())
    }

    fn upsert_user(&mut self, user: TenantUser) {
        let version = self.bump();
        let key = user.upn.to_lowercase();
        match self.user_by_upn.get(&key) {
            Some(&index) => {
                let id = self.users[index].value.id.clone();
                self.users[index] = Versioned { value: TenantUser { id, ..user }, changed_at: version };
            }
            None => {
                self.user_by_upn.insert(key, self.users.len());
                self.users.push(Versioned { value: user, changed_at: version });
            }
        }
    }

    fn insert_registration(&mut self, registration: EntraRegistration) {
        let version = self.bump();
        let key = registration.eas_device_id.to_lowercase();
        match self.registration_by_eas_id.get(&key) {
            Some(&index) => self.registrations[index] = Versioned { value: registration, changed_at: version },
            None => {
                self.registration_by_eas_id.insert(key, self.registrations.len());
                self.registrations.push(Versioned { value: registration, changed_at: version });
            }
        }
    }

    fn snapshot(&self, since: Option<u64>) -> TenantSnapshot {
        let after = since.unwrap_or(0);
        let changed = |changed_at: u64| since.is_none() || changed_at > after;
        TenantSnapshot {
            users: self.users.iter().filter(|r| changed(r.changed_at)).map(|r| r.value.clone()).collect(),
            managed_devices: self
                .devices
                .iter()
                .flatten()
                .filter(|r| changed(r.changed_at))
                .map(|r| r.value.clone())
                .collect(),
            registrations: self
                .registrations
                .iter()
                .filter(|r| changed(r.changed_at))
                .map(|r| r.value.clone())
                .collect(),
            policy: self.policy.clone(),
            complete: since.is_none(),
            removed_managed_devices: match since {
                Some(after) => {
                    self.removed_devices.iter().filter(|(_, at)| *at > after).map(|(id, _)| id.clone()).collect()
                }
                None => Vec::new(),
            },
            cursor: Some(format!("{CURSOR_PREFIX}{}", self.version)),
        }
    }
}

impl SimTenant {
    pub fn new() -> SimTenant {
        SimTenant::default()
    }

    fn lock(&self) -> MutexGuard<'_, TenantState> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Scenario step `user` (and its changes): creates or replaces a user, keeping its id.
    pub fn upsert_user(&self, upn: &str, smtp: &str, licensed: bool, groups: &[String]) {
        let mut state = self.lock();
        let id = state.next_id();
        state.upsert_user(TenantUser {
            id,
            upn: upn.to_string(),
            mail: smtp.to_string(),
            licensed,
            groups: groups.to_vec(),
        });
    }

    /// Scenario step `policy`; `None` when the policy comes from the configuration file.
    pub fn set_policy(&self, policy: Option<TenantPolicy>) {
        let mut state = self.lock();
        state.bump();
        state.policy = policy;
    }

    /// Scenario step `workplace_join` (flow step 4): the device registers with Entra ID.
    /// Returns its Entra device id; joining again keeps it.
    pub fn workplace_join(&self, eas_device_id: &str) -> String {
        let mut state = self.lock();
        let key = eas_device_id.to_lowercase();
        if let Some(&index) = state.registration_by_eas_id.get(&key) {
            return state.registrations[index].value.entra_device_id.clone();
        }
        let entra_device_id = state.next_id();
        state.insert_registration(EntraRegistration {
            eas_device_id: eas_device_id.to_string(),
            entra_device_id: entra_device_id.clone(),
            trust_type: "Workplace".to_string(),
        });
        let linked = entra_device_id.clone();
        // A device enrolled before it joined gets the registration on its record.
        let _not_enrolled_yet = state.change_device(eas_device_id, |device| device.entra_device_id = Some(linked));
        entra_device_id
    }

    /// Scenario step `enroll` (flow step 5): a managed-device record for `upn` with the EAS id
    /// known at enrolment, not yet email-activated; compliance `unknown` unless given.
    /// Returns the managed device id.
    pub fn enroll(&self, eas_device_id: &str, upn: &str, compliance: Option<Compliance>) -> Result<String, SimError> {
        let mut state = self.lock();
        if !state.user_by_upn.contains_key(&upn.to_lowercase()) {
            return Err(SimError::UnknownUser { user: upn.to_string() });
        }
        let entra_device_id = state
            .registration_by_eas_id
            .get(&eas_device_id.to_lowercase())
            .map(|&index| state.registrations[index].value.entra_device_id.clone());
        let id = state.next_id();
        state.insert_device(ManagedDevice {
            id: id.clone(),
            upn: upn.to_string(),
            eas_device_id: Some(eas_device_id.to_string()),
            eas_activated: false,
            compliance: compliance.unwrap_or_default(),
            entra_device_id,
        })?;
        Ok(id)
    }

    /// Scenario step `activate_email` (flow step 7): the EAS id is registered on the record.
    pub fn activate_email(&self, eas_device_id: &str) -> Result<(), SimError> {
        self.lock().change_device(eas_device_id, |device| device.eas_activated = true)
    }

    /// Scenario step `compliance`.
    pub fn set_compliance(&self, eas_device_id: &str, compliance: Compliance) -> Result<(), SimError> {
        self.lock().change_device(eas_device_id, |device| device.compliance = compliance)
    }

    /// Scenario step `unenroll`: the managed-device record goes (deltas list it as removed).
    pub fn unenroll(&self, eas_device_id: &str) -> Result<(), SimError> {
        self.lock().remove_device(eas_device_id).map(|_| ())
    }

    /// The device was wiped through device management: like Intune after a wipe, the
    /// managed-device record goes (deltas list it as removed) and the wipe is remembered.
    pub fn wipe(&self, eas_device_id: &str) -> Result<(), SimError> {
        let mut state = self.lock();
        state.remove_device(eas_device_id)?;
        state.wiped_device_ids.push(eas_device_id.to_string());
        Ok(())
    }

    /// EAS ids of the devices wiped through `wipe`, in order.
    pub fn wiped_devices(&self) -> Vec<String> {
        self.lock().wiped_device_ids.clone()
    }

    /// Bulk loading (scenario step `population`): linear in the input. Users are upserted;
    /// devices must not be enrolled yet.
    pub fn bulk_load(
        &self,
        users: Vec<TenantUser>,
        devices: Vec<ManagedDevice>,
        registrations: Vec<EntraRegistration>,
    ) -> Result<(), SimError> {
        let mut state = self.lock();
        state.users.reserve(users.len());
        state.devices.reserve(devices.len());
        for user in users {
            state.upsert_user(user);
        }
        for registration in registrations {
            state.insert_registration(registration);
        }
        for device in devices {
            state.insert_device(device)?;
        }
        Ok(())
    }

    /// Scenario step `fault` with target tenant: the next `count` reads fail as `kind`.
    pub fn inject_fault(&self, kind: FaultKind, count: u32) -> Result<(), SimError> {
        if self.lock().faults.inject(kind, count) {
            return Ok(());
        }
        Err(SimError::InvalidInput { detail: "too many fault injections pending".to_string() })
    }

    /// Ground truth: the managed-device record of an EAS id.
    pub fn managed_device(&self, eas_device_id: &str) -> Option<ManagedDevice> {
        let state = self.lock();
        let index = state.device_by_eas_id.get(&eas_device_id.to_lowercase())?;
        state.devices[*index].as_ref().map(|record| record.value.clone())
    }

    /// Ground truth: a user.
    pub fn user(&self, upn: &str) -> Option<TenantUser> {
        let state = self.lock();
        state.user_by_upn.get(&upn.to_lowercase()).map(|&index| state.users[index].value.clone())
    }

    /// A generated id, for callers that build records for `bulk_load`.
    pub fn new_id(&self) -> String {
        self.lock().next_id()
    }
}

#[async_trait]
impl Tenant for SimTenant {
    async fn read(&self, since: Option<&str>) -> Result<TenantSnapshot, TenantError> {
        let mut state = self.lock();
        match state.faults.take() {
            Some(FaultKind::Throttle) => {
                return Err(TenantError::Throttled {
                    detail: "429 Too Many Requests".to_string(),
                    retry_after_ms: Some(THROTTLE_BACK_OFF_MS),
                });
            }
            Some(FaultKind::Timeout) => {
                return Err(TenantError::Timeout { detail: "no answer within the request timeout".to_string() });
            }
            Some(FaultKind::Error) => {
                return Err(TenantError::Unavailable { detail: "503 Service Unavailable".to_string() });
            }
            None => {}
        }
        // A cursor this tenant did not issue (or from its future) gets a full read, as an
        // expired Graph delta token does.
        let after = since
            .and_then(|cursor| cursor.strip_prefix(CURSOR_PREFIX))
            .and_then(|version| version.parse::<u64>().ok())
            .filter(|version| *version <= state.version);
        Ok(state.snapshot(after))
    }
}
