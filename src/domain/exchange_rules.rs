//! Exchange's own device access evaluation (reference/exchange.md section 1.1), modelled once:
//! easgate's decision uses it to know what Exchange would do without an entry, and the simulated
//! Exchange uses it to decide what a partnership's state becomes.
//!
//! Order: ActiveSync enabled -> the mailbox's blocked ids (Individual) -> its allowed ids
//! (Individual) -> device access rules, Block then Quarantine then Allow (DeviceRule, exact match)
//! -> the organisation's DefaultAccessLevel (Global).

use crate::domain::event::DeviceAccessRule;
use crate::domain::vocabulary::{AccessLevel, Characteristic, ExchangeReason, ExchangeState};

/// The characteristics a device access rule can match.
#[derive(Debug, Clone, Copy)]
pub struct DeviceClass<'a> {
    pub device_type: &'a str,
    pub device_model: &'a str,
    pub device_os: &'a str,
    pub user_agent: &'a str,
}

/// The organisation-wide part of the evaluation.
#[derive(Debug, Clone, Copy)]
pub struct OrganizationRules<'a> {
    pub default_access: AccessLevel,
    pub rules: &'a [DeviceAccessRule],
}

/// The mailbox part of the evaluation.
#[derive(Debug, Clone, Copy)]
pub struct MailboxLists<'a> {
    pub activesync_enabled: bool,
    pub allowed_device_ids: &'a [String],
    pub blocked_device_ids: &'a [String],
}

/// What the rules and the default give a device that has no list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesOutcome {
    pub access: AccessLevel,
    /// `DeviceRule` or `Global`.
    pub reason: ExchangeReason,
    /// The identity of the matching rule, `"<query> (<characteristic>)"`, when one matched.
    pub rule: Option<String>,
}

impl DeviceClass<'_> {
    fn value(&self, characteristic: Characteristic) -> &str {
        match characteristic {
            Characteristic::DeviceType => self.device_type,
            Characteristic::DeviceModel => self.device_model,
            Characteristic::DeviceOs => self.device_os,
            Characteristic::UserAgent => self.user_agent,
            // easgate never sees the X-MS-WL header; such a rule matches nothing it knows of.
            Characteristic::XmswlHeader => "",
        }
    }
}

/// The identity Exchange gives a device access rule.
pub fn rule_identity(query: &str, characteristic: Characteristic) -> String {
    format!("{query} ({})", characteristic.exchange_name())
}

/// Steps 6 to 9: rules, most restrictive first, exact (case-sensitive) match, else the default.
pub fn rules_give(device_class: DeviceClass<'_>, organization: OrganizationRules<'_>) -> RulesOutcome {
    for level in [AccessLevel::Block, AccessLevel::Quarantine, AccessLevel::Allow] {
        let matching = organization.rules.iter().find(|rule| {
            rule.access == level && !rule.query.is_empty() && device_class.value(rule.characteristic) == rule.query
        });
        if let Some(rule) = matching {
            return RulesOutcome {
                access: level,
                reason: ExchangeReason::DeviceRule,
                rule: Some(rule_identity(&rule.query, rule.characteristic)),
            };
        }
    }
    RulesOutcome { access: organization.default_access, reason: ExchangeReason::Global, rule: None }
}

/// What the rules give a partnership whose current state is `current`: as `rules_give`, except
/// that a device a rule blocked stays blocked (Exchange does not release it when the rule stops
/// matching; only an individual entry or the partnership's removal does).
pub fn rules_give_now(
    device_class: DeviceClass<'_>,
    organization: OrganizationRules<'_>,
    current: (&ExchangeState, &ExchangeReason),
) -> RulesOutcome {
    let outcome = rules_give(device_class, organization);
    let blocked_by_rule = *current.0 == ExchangeState::Blocked && *current.1 == ExchangeReason::DeviceRule;
    if blocked_by_rule && outcome.access != AccessLevel::Block {
        return RulesOutcome { access: AccessLevel::Block, reason: ExchangeReason::DeviceRule, rule: None };
    }
    outcome
}

/// Whether `device_id` is on `list` (Exchange compares DeviceIds case-insensitively).
pub fn list_contains(list: &[String], device_id: &str) -> bool {
    list.iter().any(|entry| entry.eq_ignore_ascii_case(device_id))
}

/// The full evaluation of a partnership, as if the device synced now.
pub fn evaluate(
    device_id: &str,
    device_class: DeviceClass<'_>,
    mailbox: MailboxLists<'_>,
    organization: OrganizationRules<'_>,
) -> (ExchangeState, ExchangeReason) {
    if !mailbox.activesync_enabled {
        return (ExchangeState::Blocked, ExchangeReason::Policy);
    }
    if list_contains(mailbox.blocked_device_ids, device_id) {
        return (ExchangeState::Blocked, ExchangeReason::Individual);
    }
    if list_contains(mailbox.allowed_device_ids, device_id) {
        return (ExchangeState::Allowed, ExchangeReason::Individual);
    }
    let outcome = rules_give(device_class, organization);
    (outcome.access.exchange_state(), outcome.reason)
}

/// Re-evaluation of a partnership that already has a state. A device blocked by a rule stays
/// blocked until an individual entry or the removal of the partnership; a quarantined device is
/// released as soon as it no longer matches (reference/exchange.md section 1.1).
pub fn reevaluate(
    current: (&ExchangeState, &ExchangeReason),
    evaluated: (ExchangeState, ExchangeReason),
) -> (ExchangeState, ExchangeReason) {
    let blocked_by_rule = *current.0 == ExchangeState::Blocked && *current.1 == ExchangeReason::DeviceRule;
    let individual = evaluated.1 == ExchangeReason::Individual;
    if blocked_by_rule && !individual {
        return (ExchangeState::Blocked, ExchangeReason::DeviceRule);
    }
    evaluated
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iphone() -> DeviceClass<'static> {
        DeviceClass {
            device_type: "iPhone",
            device_model: "iPhone15,2",
            device_os: "iOS 17.1",
            user_agent: "Apple-iPhone/2101",
        }
    }

    fn rule(query: &str, characteristic: Characteristic, access: AccessLevel) -> DeviceAccessRule {
        DeviceAccessRule { query: query.to_string(), characteristic, access }
    }

    #[test]
    fn most_restrictive_rule_wins_whatever_the_characteristic() {
        let rules = [
            rule("iPhone", Characteristic::DeviceType, AccessLevel::Allow),
            rule("iOS 17.1", Characteristic::DeviceOs, AccessLevel::Quarantine),
        ];
        let organization = OrganizationRules { default_access: AccessLevel::Allow, rules: &rules };
        let outcome = rules_give(iphone(), organization);
        assert_eq!(outcome.access, AccessLevel::Quarantine);
        assert_eq!(outcome.rule.as_deref(), Some("iOS 17.1 (DeviceOS)"));
    }

    #[test]
    fn rules_match_exactly_not_partially() {
        let rules = [rule("iPhone15", Characteristic::DeviceModel, AccessLevel::Block)];
        let organization = OrganizationRules { default_access: AccessLevel::Quarantine, rules: &rules };
        let outcome = rules_give(iphone(), organization);
        assert_eq!((outcome.access, outcome.reason), (AccessLevel::Quarantine, ExchangeReason::Global));
    }

    #[test]
    fn block_list_beats_allow_list_which_beats_rules() {
        let rules = [rule("iPhone", Characteristic::DeviceType, AccessLevel::Block)];
        let organization = OrganizationRules { default_access: AccessLevel::Allow, rules: &rules };
        let both = vec!["APPL1".to_string()];
        let lists = MailboxLists { activesync_enabled: true, allowed_device_ids: &both, blocked_device_ids: &both };
        assert_eq!(
            evaluate("appl1", iphone(), lists, organization),
            (ExchangeState::Blocked, ExchangeReason::Individual)
        );
        let lists = MailboxLists { activesync_enabled: true, allowed_device_ids: &both, blocked_device_ids: &[] };
        assert_eq!(
            evaluate("APPL1", iphone(), lists, organization),
            (ExchangeState::Allowed, ExchangeReason::Individual)
        );
        let lists = MailboxLists { activesync_enabled: true, allowed_device_ids: &[], blocked_device_ids: &[] };
        assert_eq!(
            evaluate("APPL1", iphone(), lists, organization),
            (ExchangeState::Blocked, ExchangeReason::DeviceRule)
        );
    }

    #[test]
    fn rule_blocks_are_sticky_quarantine_is_not() {
        let released = (ExchangeState::Allowed, ExchangeReason::Global);
        let sticky = reevaluate((&ExchangeState::Blocked, &ExchangeReason::DeviceRule), released.clone());
        assert_eq!(sticky, (ExchangeState::Blocked, ExchangeReason::DeviceRule));
        let exempted = reevaluate(
            (&ExchangeState::Blocked, &ExchangeReason::DeviceRule),
            (ExchangeState::Allowed, ExchangeReason::Individual),
        );
        assert_eq!(exempted, (ExchangeState::Allowed, ExchangeReason::Individual));
        let from_quarantine = reevaluate((&ExchangeState::Quarantined, &ExchangeReason::DeviceRule), released.clone());
        assert_eq!(from_quarantine, released);
    }
}
