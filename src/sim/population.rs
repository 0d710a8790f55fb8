//! Generated organisations (scenario step `population`): licensed users with mailboxes, their
//! devices partnered with Exchange, a fraction of them enrolled (and then also workplace-joined
//! and email-activated) and, of those, a fraction compliant. Deterministic for a seed; both
//! twins are bulk-loaded, linear in the size.

use crate::domain::vocabulary::Compliance;
use crate::sim::error::SimError;
use crate::sim::exchange::{DeviceSpec, MailboxSpec, SimExchange};
use crate::sim::random::SplitMix64;
use crate::sim::tenant::SimTenant;
use crate::tenant::{EntraRegistration, ManagedDevice, TenantUser};

/// Refuse populations beyond this many devices: a typo, not a benchmark.
const MAX_POPULATION_DEVICES: usize = 10_000_000;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationSpec {
    pub users: usize,
    pub devices_per_user: usize,
    /// Fraction of devices that are enrolled (0..1).
    pub enrolled: f64,
    /// Fraction of the enrolled devices that are compliant (0..1); the others are noncompliant.
    pub compliant: f64,
    /// Groups every generated user is in.
    pub groups: Vec<String>,
    pub seed: u64,
    /// Mail domain of the generated users.
    pub domain: String,
}

impl Default for PopulationSpec {
    /// 100 users with one device each, none enrolled, seed 1, domain contoso.com.
    fn default() -> PopulationSpec {
        PopulationSpec {
            users: 100,
            devices_per_user: 1,
            enrolled: 0.0,
            compliant: 0.0,
            groups: Vec::new(),
            seed: 1,
            domain: "contoso.com".to_string(),
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PopulationSummary {
    pub users: usize,
    pub devices: usize,
    pub enrolled: usize,
    pub compliant: usize,
}

/// Device classes the generator picks from: (DeviceType, DeviceModel, DeviceOS, DeviceId prefix).
const DEVICE_CLASSES: [(&str, &str, &str, &str); 4] = [
    ("iPhone", "iPhone15,2", "iOS 17.1.1 21B91", "Appl"),
    ("iPad", "iPad13,4", "iOS 17.1.1 21B91", "Appl"),
    ("Android", "SM-S918B", "Android 14", "androidc"),
    ("Outlook", "Outlook for iOS and Android", "Android 14", "Outl"),
];

/// Generated records for both twins.
struct Generated {
    mailboxes: Vec<MailboxSpec>,
    partnerships: Vec<(String, DeviceSpec)>,
    users: Vec<TenantUser>,
    managed_devices: Vec<ManagedDevice>,
    registrations: Vec<EntraRegistration>,
    summary: PopulationSummary,
}

/// Generates the population and loads it into both twins.
pub fn load_population(
    spec: &PopulationSpec,
    exchange: &SimExchange,
    tenant: &SimTenant,
) -> Result<PopulationSummary, SimError> {
    let valid_fraction = |fraction: f64| (0.0..=1.0).contains(&fraction);
    if !valid_fraction(spec.enrolled) || !valid_fraction(spec.compliant) {
        return Err(SimError::InvalidInput { detail: "enrolled and compliant are fractions between 0 and 1".into() });
    }
    let devices = spec.users.checked_mul(spec.devices_per_user).filter(|count| *count <= MAX_POPULATION_DEVICES);
    let Some(devices) = devices else {
        return Err(SimError::InvalidInput {
            detail: format!("a population is at most {MAX_POPULATION_DEVICES} devices"),
        });
    };
    let generated = generate(spec, devices);
    exchange.bulk_load(generated.mailboxes, generated.partnerships)?;
    tenant.bulk_load(generated.users, generated.managed_devices, generated.registrations)?;
    Ok(generated.summary)
}

fn generate(spec: &PopulationSpec, devices: usize) -> Generated {
    let mut random = SplitMix64::new(spec.seed);
    let mut generated = Generated {
        mailboxes: Vec::with_capacity(spec.users),
        partnerships: Vec::with_capacity(devices),
        users: Vec::with_capacity(spec.users),
        managed_devices: Vec::new(),
        registrations: Vec::new(),
        summary: PopulationSummary { users: spec.users, devices, ..PopulationSummary::default() },
    };
    for user_index in 0..spec.users {
        let upn = format!("user{user_index:06}-{}@{}", spec.seed, spec.domain);
        generated.mailboxes.push(MailboxSpec { upn: upn.clone(), smtp: upn.clone() });
        generated.users.push(TenantUser {
            id: random.next_guid().to_string(),
            upn: upn.clone(),
            mail: upn.clone(),
            licensed: true,
            groups: spec.groups.clone(),
        });
        for _ in 0..spec.devices_per_user {
            generate_device(spec, &upn, &mut random, &mut generated);
        }
    }
    generated
}

fn generate_device(spec: &PopulationSpec, upn: &str, random: &mut SplitMix64, generated: &mut Generated) {
    let (device_type, device_model, device_os, prefix) =
        DEVICE_CLASSES[(random.next_u64() % DEVICE_CLASSES.len() as u64) as usize];
    let device_id = format!("{prefix}{:016X}", random.next_u64());
    generated.partnerships.push((upn.to_string(), DeviceSpec::new(&device_id, device_type, device_model, device_os)));
    if random.next_fraction() >= spec.enrolled {
        return;
    }
    let compliant = random.next_fraction() < spec.compliant;
    let entra_device_id = random.next_guid().to_string();
    generated.registrations.push(EntraRegistration {
        eas_device_id: device_id.clone(),
        entra_device_id: entra_device_id.clone(),
        trust_type: "Workplace".to_string(),
    });
    generated.managed_devices.push(ManagedDevice {
        id: random.next_guid().to_string(),
        upn: upn.to_string(),
        eas_device_id: Some(device_id),
        eas_activated: true,
        compliance: if compliant { Compliance::Compliant } else { Compliance::Noncompliant },
        entra_device_id: Some(entra_device_id),
    });
    generated.summary.enrolled += 1;
    generated.summary.compliant += usize::from(compliant);
}
