//! Observations -> events: only what differs from the projection becomes an event, so that a
//! sync that finds nothing new records nothing new (and a re-poll after a crash duplicates no
//! audit event).

use std::collections::BTreeSet;

use crate::domain::event::*;
use crate::domain::observation::{ObservedDevice, ObservedMailbox, ObservedOrganization, TenantPolicy, TenantSnapshot};
use crate::domain::projection::{DeviceKey, Projection, key_of};
use crate::domain::vocabulary::Compliance;

/// Which partnerships an Exchange read covered completely: those missing from it are gone.
#[derive(Debug, Clone)]
pub enum Coverage {
    /// Every partnership of the organisation (a full sync's bulk read).
    Everything,
    /// Every partnership of these mailboxes (lowercased SMTP).
    Mailboxes(BTreeSet<String>),
    /// Only what was returned (a filtered read, e.g. new partnerships).
    Returned,
}

/// Partnerships: discovered, changed state, or removed.
pub fn observe_devices(projection: &Projection, devices: &[ObservedDevice], coverage: &Coverage) -> Vec<Event> {
    let mut events = Vec::new();
    let mut seen: BTreeSet<DeviceKey> = BTreeSet::new();
    for observed in devices {
        let key = DeviceKey::new(&observed.mailbox, &observed.device_id);
        let known = projection.devices.get(&key).filter(|device| !device.removed);
        let class_changed = known.is_some_and(|device| {
            *device.device_type != *observed.device_type
                || *device.device_model != *observed.device_model
                || *device.device_os != *observed.device_os
                || *device.user_agent != *observed.user_agent
        });
        match known {
            None => events.push(Event::DeviceDiscovered(discovered(observed))),
            Some(_) if class_changed => events.push(Event::DeviceDiscovered(discovered(observed))),
            Some(device)
                if device.exchange_state != observed.exchange_state
                    || device.exchange_reason != observed.exchange_reason =>
            {
                events.push(Event::ExchangeStateObserved(ExchangeStateObserved {
                    mailbox: device.mailbox.to_string(),
                    device_id: device.device_id.to_string(),
                    exchange_state: observed.exchange_state.clone(),
                    exchange_reason: observed.exchange_reason.clone(),
                }));
            }
            Some(_) => {}
        }
        seen.insert(key);
    }
    // Partnerships the read covered but did not return are gone. Only the covered ones are
    // looked at, so reading one mailbox back costs that mailbox, not the organisation.
    let covered_keys: Vec<DeviceKey> = match coverage {
        Coverage::Everything => projection.devices.keys().cloned().collect(),
        Coverage::Mailboxes(mailboxes) => {
            mailboxes.iter().flat_map(|mailbox| projection.keys_of_mailbox(mailbox)).collect()
        }
        Coverage::Returned => Vec::new(),
    };
    let mut removed: Vec<(DeviceKey, PartnershipRemoved)> = covered_keys
        .into_iter()
        .filter(|key| !seen.contains(key))
        .filter_map(|key| {
            let device = projection.devices.get(&key).filter(|device| !device.removed)?;
            let event =
                PartnershipRemoved { mailbox: device.mailbox.to_string(), device_id: device.device_id.to_string() };
            Some((key, event))
        })
        .collect();
    removed.sort_unstable_by(|left, right| left.0.cmp(&right.0));
    events.extend(removed.into_iter().map(|(_, event)| Event::PartnershipRemoved(event)));
    events
}

fn discovered(observed: &ObservedDevice) -> DeviceDiscovered {
    DeviceDiscovered {
        mailbox: observed.mailbox.clone(),
        device_id: observed.device_id.clone(),
        device_type: observed.device_type.clone(),
        device_model: observed.device_model.clone(),
        device_os: observed.device_os.clone(),
        exchange_state: observed.exchange_state.clone(),
        exchange_reason: observed.exchange_reason.clone(),
        user_agent: observed.user_agent.clone(),
    }
}

fn normalized(list: &[String]) -> Vec<String> {
    let mut list: Vec<String> = list.iter().map(|id| key_of(id)).collect();
    list.sort_unstable();
    list.dedup();
    list
}

/// CAS mailboxes whose lists or settings changed.
pub fn observe_mailboxes(projection: &Projection, mailboxes: &[ObservedMailbox]) -> Vec<Event> {
    mailboxes
        .iter()
        .filter(|observed| match projection.mailboxes.get(key_of(&observed.smtp).as_str()) {
            None => true,
            Some(known) => {
                known.identity != observed.identity
                    || known.activesync_enabled != observed.activesync_enabled
                    || normalized(&known.allowed_device_ids) != normalized(&observed.allowed_device_ids)
                    || normalized(&known.blocked_device_ids) != normalized(&observed.blocked_device_ids)
            }
        })
        .map(|observed| {
            Event::MailboxObserved(MailboxObserved {
                mailbox: observed.smtp.clone(),
                identity: observed.identity.clone(),
                activesync_enabled: observed.activesync_enabled,
                allowed_device_ids: observed.allowed_device_ids.clone(),
                blocked_device_ids: observed.blocked_device_ids.clone(),
            })
        })
        .collect()
}

/// The organisation's settings and rules, when they changed.
pub fn observe_organization(projection: &Projection, observed: &ObservedOrganization) -> Vec<Event> {
    let mut rules = observed.rules.clone();
    rules.sort();
    let unchanged = projection.organization.as_ref().is_some_and(|known| {
        let mut known_rules = known.rules.clone();
        known_rules.sort();
        known.default_access == observed.default_access
            && known_rules == rules
            && (observed.cas_servers.is_empty() || known.cas_servers == observed.cas_servers)
    });
    if unchanged {
        return Vec::new();
    }
    vec![Event::OrganizationObserved(OrganizationObserved {
        default_access: observed.default_access,
        rules,
        cas_servers: observed.cas_servers.clone(),
    })]
}

/// Users, registrations, managed devices and the policy that changed, then the joins (steps 4
/// to 8) they make possible.
pub fn observe_tenant(projection: &Projection, snapshot: &TenantSnapshot) -> Vec<Event> {
    let mut events = Vec::new();
    if let Some(policy) = &snapshot.policy {
        events.extend(observe_policy(projection, policy));
    }
    events.extend(observe_users(projection, snapshot));
    for registration in &snapshot.registrations {
        let known = projection.registrations.get(key_of(&registration.eas_device_id).as_str());
        let changed = known.is_none_or(|known| {
            known.entra_device_id != registration.entra_device_id || known.trust_type != registration.trust_type
        });
        if changed {
            events.push(Event::DeviceRegistered(DeviceRegistered {
                device_id: registration.eas_device_id.clone(),
                entra_device_id: registration.entra_device_id.clone(),
                trust_type: registration.trust_type.clone(),
            }));
        }
    }
    events.extend(observe_managed_devices(projection, snapshot));
    events
}

fn observe_policy(projection: &Projection, policy: &TenantPolicy) -> Vec<Event> {
    let candidate = PolicyApplied {
        revision: projection.policy.as_ref().map(|known| known.revision + 1).unwrap_or(1),
        enabled: policy.enabled,
        included_groups: policy.included_groups.clone(),
        excluded_groups: policy.excluded_groups.clone(),
        default_access: policy.default_access,
        override_default_rule: policy.override_default_rule,
        access_rules: policy.access_rules.clone(),
        notification: policy.notification.clone(),
    };
    let unchanged = projection
        .policy
        .as_ref()
        .is_some_and(|known| PolicyApplied { revision: known.revision, ..candidate.clone() } == *known);
    if unchanged { Vec::new() } else { vec![Event::PolicyApplied(candidate)] }
}

fn observe_users(projection: &Projection, snapshot: &TenantSnapshot) -> Vec<Event> {
    let mut events = Vec::new();
    let mut seen = BTreeSet::new();
    for user in &snapshot.users {
        let smtp = if user.mail.is_empty() { user.upn.clone() } else { user.mail.clone() };
        let mut groups = user.groups.clone();
        groups.sort();
        let changed = projection.users.get(key_of(&user.upn).as_str()).is_none_or(|known| {
            let mut known_groups = known.groups.clone();
            known_groups.sort();
            known.licensed != user.licensed || known_groups != groups || !known.smtp.eq_ignore_ascii_case(&smtp)
        });
        if changed {
            events.push(Event::UserObserved(UserObserved {
                upn: user.upn.clone(),
                smtp,
                licensed: user.licensed,
                groups,
            }));
        }
        seen.insert(key_of(&user.upn));
    }
    if snapshot.complete {
        // A user gone from the tenant is no longer licensed or in any group.
        let mut gone: Vec<_> = projection
            .users
            .iter()
            .filter(|(key, user)| !seen.contains(key.as_str()) && (user.licensed || !user.groups.is_empty()))
            .map(|(_, user)| UserObserved {
                upn: user.upn.to_string(),
                smtp: user.smtp.to_string(),
                licensed: false,
                groups: Vec::new(),
            })
            .collect();
        gone.sort_unstable_by(|left, right| left.upn.cmp(&right.upn));
        events.extend(gone.into_iter().map(Event::UserObserved));
    }
    events
}

fn observe_managed_devices(projection: &Projection, snapshot: &TenantSnapshot) -> Vec<Event> {
    let mut events = Vec::new();
    let mut seen = BTreeSet::new();
    for device in &snapshot.managed_devices {
        seen.insert(device.id.clone());
        let known = projection.managed.get(device.id.as_str()).filter(|known| known.enrolled);
        let id_changed = known.is_some_and(|known| {
            known.eas_device_id.as_deref().map(key_of) != device.eas_device_id.as_deref().map(key_of)
                && device.eas_device_id.is_some()
        });
        if known.is_none() || id_changed {
            events.push(Event::DeviceEnrolled(DeviceEnrolled {
                managed_device_id: device.id.clone(),
                upn: device.upn.clone(),
                device_id: device.eas_device_id.clone(),
            }));
        }
        let was_activated = known.is_some_and(|known| known.eas_activated) && !id_changed;
        if device.eas_activated
            && !was_activated
            && let Some(device_id) = &device.eas_device_id
        {
            events.push(Event::EasIdRegistered(EasIdRegistered {
                managed_device_id: device.id.clone(),
                device_id: device_id.clone(),
            }));
        }
        let known_compliance = known.filter(|known| known.compliance_observed).map(|known| known.compliance);
        let compliance_news = match known_compliance {
            Some(compliance) => compliance != device.compliance,
            None => device.compliance != Compliance::Unknown,
        };
        if compliance_news {
            events.push(Event::ComplianceObserved(ComplianceObserved {
                managed_device_id: device.id.clone(),
                compliance: device.compliance,
            }));
        }
    }
    let mut gone: Vec<&str> = if snapshot.complete {
        projection
            .managed
            .values()
            .filter(|known| known.enrolled && !seen.contains(known.managed_device_id.as_str()))
            .map(|known| known.managed_device_id.as_str())
            .collect()
    } else {
        snapshot.removed_managed_devices.iter().map(String::as_str).collect()
    };
    gone.sort_unstable();
    for managed_device_id in gone {
        let Some(known) = projection.managed.get(managed_device_id).filter(|known| known.enrolled) else { continue };
        events.push(Event::DeviceUnenrolled(DeviceUnenrolled {
            managed_device_id: managed_device_id.to_string(),
            upn: known.upn.to_string(),
            device_id: known.eas_device_id.as_deref().map(str::to_string),
        }));
    }
    events
}

/// Partnerships that can be joined to an enrolled managed device with the same EAS DeviceId and
/// the same user, and are not joined to it yet (step 6).
pub fn observe_mappings(projection: &Projection) -> Vec<Event> {
    let mut mappings: Vec<(&DeviceKey, DeviceMapped)> = Vec::new();
    let tenant = projection.tenant();
    for (key, device) in projection.devices.iter().filter(|(_, device)| !device.removed) {
        let Some((managed_device_id, managed)) = tenant.reporting_eas_id(&key.device_id) else { continue };
        if !managed.enrolled || device.managed_device_id.as_deref() == Some(managed_device_id) {
            continue;
        }
        let same_user = match projection.user_for_mailbox(&device.mailbox) {
            Some(user) => user.upn.eq_ignore_ascii_case(&managed.upn) || managed.upn.is_empty(),
            None => true,
        };
        if same_user {
            let event = DeviceMapped {
                mailbox: device.mailbox.to_string(),
                device_id: device.device_id.to_string(),
                managed_device_id: managed_device_id.to_string(),
            };
            mappings.push((key, event));
        }
    }
    mappings.sort_unstable_by(|left, right| left.0.cmp(right.0));
    mappings.into_iter().map(|(_, event)| Event::DeviceMapped(event)).collect()
}
