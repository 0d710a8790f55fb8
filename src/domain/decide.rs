//! The decision rules of DESIGN section 2, as pure functions of the projection.
//!
//! ```text
//! not targeted                                  -> exempt (policy_disabled | user_unlicensed | user_not_targeted | user_excluded)
//! an admin's entry on the mailbox's block list  -> blocked (individual_rule)
//! an admin's entry on the allow list            -> allowed (individual_rule)
//! not enrolled, EAS id not linked, or compliance unknown -> "deny" (not_enrolled | compliance_unknown)
//! noncompliant | conflict | error               -> blocked (not_compliant)
//! compliant | in_grace_period | not_assigned:
//!     overrideDefaultRule                       -> allowed (compliant | in_grace_period)
//!     otherwise what Exchange's own rules give  -> that level (device_rule | global_rule)
//! "deny": quarantined when Exchange's rules alone would quarantine, otherwise blocked.
//! ```

use crate::domain::event::{DecisionInputs, DeviceAccessRule, PolicyApplied};
use crate::domain::exchange_rules::{self, DeviceClass, OrganizationRules, list_contains};
use crate::domain::projection::{DeviceView, MailboxView, ManagedView, Projection, UserView, key_of};
use crate::domain::vocabulary::{
    Access, AccessLevel, Characteristic, Compliance, ExchangeReason, ExchangeState, ListEntry, Reason, RuleMatch,
};

/// An access decision with the inputs behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub access: Access,
    pub reason: Reason,
    pub inputs: DecisionInputs,
}

/// Everything one decision reads, gathered from the projection.
#[derive(Debug, Clone, Copy)]
pub struct DecisionContext<'a> {
    pub policy: Option<&'a PolicyApplied>,
    pub user: Option<&'a UserView>,
    pub managed: Option<&'a ManagedView>,
    pub admin_entry: ListEntry,
    pub device_class: DeviceClass<'a>,
    pub organization: OrganizationRules<'a>,
    /// The partnership's state as Exchange last reported it: a device a rule blocked stays
    /// blocked after the rule stops matching, so the rules then give it Block.
    pub exchange_now: (&'a ExchangeState, &'a ExchangeReason),
}

/// Whether a policy targets a user, and if not, why.
pub fn targeting(policy: Option<&PolicyApplied>, user: Option<&UserView>) -> Result<(), Reason> {
    let Some(policy) = policy.filter(|policy| policy.enabled) else { return Err(Reason::PolicyDisabled) };
    let Some(user) = user else { return Err(Reason::UserNotTargeted) };
    if !user.licensed {
        return Err(Reason::UserUnlicensed);
    }
    let member_of =
        |groups: &[String]| groups.iter().any(|group| user.groups.iter().any(|own| own.eq_ignore_ascii_case(group)));
    if !member_of(&policy.included_groups) {
        return Err(Reason::UserNotTargeted);
    }
    if member_of(&policy.excluded_groups) {
        return Err(Reason::UserExcluded);
    }
    Ok(())
}

/// The decision table.
pub fn decide(context: &DecisionContext<'_>) -> Decision {
    let outcome = exchange_rules::rules_give_now(context.device_class, context.organization, context.exchange_now);
    let rules_give = outcome.access;
    let managed = context.managed.filter(|managed| managed.enrolled);
    let compliance = managed.map(|managed| managed.compliance).unwrap_or_default();
    let inputs = DecisionInputs {
        targeted: false,
        enrolled: managed.is_some(),
        eas_id_linked: managed.is_some_and(|managed| managed.eas_activated),
        compliance,
        policy_revision: context.policy.map(|policy| policy.revision).unwrap_or(0),
        admin_entry: context.admin_entry,
        exchange_rules_give: Some(rules_give),
        managed_device_id: managed.map(|managed| managed.managed_device_id.to_string()),
    };
    if let Err(reason) = targeting(context.policy, context.user) {
        return Decision { access: Access::Exempt, reason, inputs };
    }
    let inputs = DecisionInputs { targeted: true, ..inputs };
    let decision = |access, reason| Decision { access, reason, inputs: inputs.clone() };
    match context.admin_entry {
        ListEntry::Block => return decision(Access::Blocked, Reason::IndividualRule),
        ListEntry::Allow => return decision(Access::Allowed, Reason::IndividualRule),
        ListEntry::None => {}
    }
    let deny = |reason| {
        let access = if rules_give == AccessLevel::Quarantine { Access::Quarantined } else { Access::Blocked };
        decision(access, reason)
    };
    if !inputs.enrolled || !inputs.eas_id_linked {
        return deny(Reason::NotEnrolled);
    }
    match compliance {
        Compliance::Unknown => deny(Reason::ComplianceUnknown),
        Compliance::Noncompliant | Compliance::Conflict | Compliance::Error => {
            decision(Access::Blocked, Reason::NotCompliant)
        }
        Compliance::Compliant | Compliance::InGracePeriod | Compliance::NotAssigned => {
            let policy_override = context.policy.is_some_and(|policy| policy.override_default_rule);
            if policy_override {
                let reason =
                    if compliance == Compliance::InGracePeriod { Reason::InGracePeriod } else { Reason::Compliant };
                return decision(Access::Allowed, reason);
            }
            let reason =
                if outcome.reason == ExchangeReason::DeviceRule { Reason::DeviceRule } else { Reason::GlobalRule };
            let access = match outcome.access {
                AccessLevel::Allow => Access::Allowed,
                AccessLevel::Block => Access::Blocked,
                AccessLevel::Quarantine => Access::Quarantined,
            };
            decision(access, reason)
        }
    }
}

/// An admin's own entry for `device_id` on a mailbox's lists: one easgate did not add.
pub fn admin_entry(mailbox: Option<&MailboxView>, device_id: &str) -> ListEntry {
    let Some(mailbox) = mailbox else { return ListEntry::None };
    let key = key_of(device_id);
    if list_contains(&mailbox.blocked_device_ids, device_id) && !mailbox.easgate_blocked.contains(&key) {
        return ListEntry::Block;
    }
    if list_contains(&mailbox.allowed_device_ids, device_id) && !mailbox.easgate_allowed.contains(&key) {
        return ListEntry::Allow;
    }
    ListEntry::None
}

/// The policy's access rules as Exchange device access rules (family = DeviceType, model = DeviceModel).
pub fn policy_rules(policy: &PolicyApplied) -> Vec<DeviceAccessRule> {
    policy
        .access_rules
        .iter()
        .map(|rule| DeviceAccessRule {
            query: rule.device_class.clone(),
            characteristic: match rule.rule_match {
                RuleMatch::Family => Characteristic::DeviceType,
                RuleMatch::Model => Characteristic::DeviceModel,
            },
            access: rule.access,
        })
        .collect()
}

/// Decides one device from the projection. Exchange's rules are the organisation's as last
/// observed; before any observation, the ones the policy will push.
pub fn decide_device(projection: &Projection, device: &DeviceView) -> Decision {
    let fallback_rules;
    let organization = match (&projection.organization, &projection.policy) {
        (Some(organization), _) => {
            OrganizationRules { default_access: organization.default_access, rules: &organization.rules }
        }
        (None, Some(policy)) => {
            fallback_rules = policy_rules(policy);
            OrganizationRules { default_access: policy.default_access, rules: &fallback_rules }
        }
        (None, None) => OrganizationRules { default_access: AccessLevel::Allow, rules: &[] },
    };
    let context = DecisionContext {
        policy: projection.policy.as_ref(),
        user: projection.user_for_mailbox(&device.mailbox),
        managed: projection.managed_for(device),
        admin_entry: admin_entry(projection.mailboxes.get(key_of(&device.mailbox).as_str()), &device.device_id),
        device_class: DeviceClass {
            device_type: &device.device_type,
            device_model: &device.device_model,
            device_os: &device.device_os,
            user_agent: &device.user_agent,
        },
        organization,
        exchange_now: (&device.exchange_state, &device.exchange_reason),
    };
    decide(&context)
}

/// The list entry easgate wants for a decision: only for what easgate itself enforces.
pub fn wanted_entry(access: Access, reason: Reason) -> ListEntry {
    match (access, reason) {
        (Access::Allowed, Reason::Compliant | Reason::InGracePeriod) => ListEntry::Allow,
        (Access::Blocked, Reason::NotEnrolled | Reason::ComplianceUnknown | Reason::NotCompliant) => ListEntry::Block,
        _ => ListEntry::None,
    }
}
