//! Given/when/then tests for every row of the decision table (DESIGN section 2).

use crate::domain::Event;
use crate::domain::decide::decide_device;
use crate::domain::event::{DeviceAccessRule, EasIdRegistered, PolicyApplied};
use crate::domain::given::*;
use crate::domain::vocabulary::*;

const ALICE: &str = "alice@contoso.com";
const PHONE: &str = "ApplF17LTTCGFFG8";

/// A targeted, licensed user with one iPhone, the organisation's default as given.
fn base(default_access: AccessLevel, override_default_rule: bool) -> Vec<Event> {
    vec![
        policy(default_access, override_default_rule),
        organization(default_access, Vec::new()),
        user(ALICE, true, &["mobile"]),
        mailbox(ALICE, &[], &[]),
        discovered(ALICE, PHONE, "iPhone"),
    ]
}

fn when_decided(events: Vec<Event>) -> (Access, Reason, bool) {
    let projection = given(events);
    let device = projection.device(ALICE, PHONE).expect("the device was discovered");
    let decision = decide_device(&projection, device);
    (decision.access, decision.reason, decision.inputs.targeted)
}

fn with(mut events: Vec<Event>, more: Vec<Event>) -> Vec<Event> {
    events.extend(more);
    events
}

#[test]
fn disabled_policy_exempts_everyone() {
    let mut events = base(AccessLevel::Quarantine, true);
    events[0] = Event::PolicyApplied(PolicyApplied {
        enabled: false,
        ..match policy(AccessLevel::Quarantine, true) {
            Event::PolicyApplied(policy) => policy,
            _ => unreachable!("policy() builds a PolicyApplied"),
        }
    });
    assert_eq!(when_decided(events), (Access::Exempt, Reason::PolicyDisabled, false));
}

#[test]
fn no_policy_at_all_exempts_everyone() {
    let events = base(AccessLevel::Quarantine, true).into_iter().skip(1).collect();
    assert_eq!(when_decided(events), (Access::Exempt, Reason::PolicyDisabled, false));
}

#[test]
fn unlicensed_user_is_exempt() {
    let events = with(base(AccessLevel::Quarantine, true), vec![user(ALICE, false, &["mobile"])]);
    assert_eq!(when_decided(events), (Access::Exempt, Reason::UserUnlicensed, false));
}

#[test]
fn user_outside_included_groups_is_not_targeted() {
    let events = with(base(AccessLevel::Quarantine, true), vec![user(ALICE, true, &["sales"])]);
    assert_eq!(when_decided(events), (Access::Exempt, Reason::UserNotTargeted, false));
}

#[test]
fn user_in_an_excluded_group_is_excluded() {
    let events = with(base(AccessLevel::Quarantine, true), vec![user(ALICE, true, &["mobile", "exempt"])]);
    assert_eq!(when_decided(events), (Access::Exempt, Reason::UserExcluded, false));
}

#[test]
fn admin_block_entry_blocks_even_a_compliant_device() {
    let events = with(
        base(AccessLevel::Allow, true),
        [managed(ALICE, PHONE, Compliance::Compliant), vec![mailbox(ALICE, &[], &[PHONE])]].concat(),
    );
    assert_eq!(when_decided(events), (Access::Blocked, Reason::IndividualRule, true));
}

#[test]
fn admin_allow_entry_allows_even_an_unmanaged_device() {
    let events = with(base(AccessLevel::Quarantine, true), vec![mailbox(ALICE, &["applf17lttcgffg8"], &[])]);
    assert_eq!(when_decided(events), (Access::Allowed, Reason::IndividualRule, true));
}

#[test]
fn unenrolled_device_is_quarantined_when_exchange_would_quarantine_it() {
    assert_eq!(when_decided(base(AccessLevel::Quarantine, true)), (Access::Quarantined, Reason::NotEnrolled, true));
}

#[test]
fn unenrolled_device_is_blocked_when_exchange_would_allow_it() {
    assert_eq!(when_decided(base(AccessLevel::Allow, true)), (Access::Blocked, Reason::NotEnrolled, true));
}

#[test]
fn unenrolled_device_is_blocked_when_exchange_would_block_it() {
    assert_eq!(when_decided(base(AccessLevel::Block, true)), (Access::Blocked, Reason::NotEnrolled, true));
}

#[test]
fn a_device_rule_that_quarantines_makes_denial_a_quarantine() {
    let rule = DeviceAccessRule {
        query: "iPhone".into(),
        characteristic: Characteristic::DeviceType,
        access: AccessLevel::Quarantine,
    };
    let events = with(base(AccessLevel::Allow, true), vec![organization(AccessLevel::Allow, vec![rule])]);
    assert_eq!(when_decided(events), (Access::Quarantined, Reason::NotEnrolled, true));
}

#[test]
fn enrolled_device_without_activated_email_is_not_enrolled() {
    let mut tenant = managed(ALICE, PHONE, Compliance::Compliant);
    tenant.retain(|event| !matches!(event, Event::EasIdRegistered(EasIdRegistered { .. })));
    let events = with(base(AccessLevel::Quarantine, true), tenant);
    assert_eq!(when_decided(events), (Access::Quarantined, Reason::NotEnrolled, true));
}

#[test]
fn unknown_compliance_is_denied() {
    let events = with(base(AccessLevel::Quarantine, true), managed(ALICE, PHONE, Compliance::Unknown));
    assert_eq!(when_decided(events), (Access::Quarantined, Reason::ComplianceUnknown, true));
}

#[test]
fn noncompliant_conflict_and_error_are_blocked() {
    for compliance in [Compliance::Noncompliant, Compliance::Conflict, Compliance::Error] {
        let events = with(base(AccessLevel::Quarantine, true), managed(ALICE, PHONE, compliance));
        assert_eq!(when_decided(events), (Access::Blocked, Reason::NotCompliant, true), "{compliance:?}");
    }
}

#[test]
fn compliant_device_with_override_is_allowed() {
    let events = with(base(AccessLevel::Block, true), managed(ALICE, PHONE, Compliance::Compliant));
    assert_eq!(when_decided(events), (Access::Allowed, Reason::Compliant, true));
}

#[test]
fn device_in_grace_period_with_override_is_allowed_in_grace() {
    let events = with(base(AccessLevel::Quarantine, true), managed(ALICE, PHONE, Compliance::InGracePeriod));
    assert_eq!(when_decided(events), (Access::Allowed, Reason::InGracePeriod, true));
}

#[test]
fn device_without_compliance_policy_counts_as_compliant() {
    let events = with(base(AccessLevel::Quarantine, true), managed(ALICE, PHONE, Compliance::NotAssigned));
    assert_eq!(when_decided(events), (Access::Allowed, Reason::Compliant, true));
}

#[test]
fn compliant_device_without_override_gets_the_global_rule() {
    let quarantined = with(base(AccessLevel::Quarantine, false), managed(ALICE, PHONE, Compliance::Compliant));
    assert_eq!(when_decided(quarantined), (Access::Quarantined, Reason::GlobalRule, true));
    let allowed = with(base(AccessLevel::Allow, false), managed(ALICE, PHONE, Compliance::Compliant));
    assert_eq!(when_decided(allowed), (Access::Allowed, Reason::GlobalRule, true));
}

#[test]
fn compliant_device_without_override_gets_the_device_rule() {
    let rule = DeviceAccessRule {
        query: "iPhone".into(),
        characteristic: Characteristic::DeviceType,
        access: AccessLevel::Block,
    };
    let events = with(
        base(AccessLevel::Allow, false),
        [managed(ALICE, PHONE, Compliance::Compliant), vec![organization(AccessLevel::Allow, vec![rule])]].concat(),
    );
    assert_eq!(when_decided(events), (Access::Blocked, Reason::DeviceRule, true));
}

#[test]
fn a_device_a_rule_blocked_stays_blocked_after_the_rule_is_gone() {
    use crate::domain::event::ExchangeStateObserved;
    let blocked_by_rule = Event::ExchangeStateObserved(ExchangeStateObserved {
        mailbox: ALICE.into(),
        device_id: PHONE.into(),
        exchange_state: ExchangeState::Blocked,
        exchange_reason: ExchangeReason::DeviceRule,
    });
    // No rule matches any more and the default allows: Exchange still holds the block.
    let events = with(
        base(AccessLevel::Allow, false),
        [managed(ALICE, PHONE, Compliance::Compliant), vec![blocked_by_rule.clone()]].concat(),
    );
    assert_eq!(when_decided(events), (Access::Blocked, Reason::DeviceRule, true));
    // Denied while so held: blocked (the rules alone would not quarantine it).
    let events = with(base(AccessLevel::Quarantine, false), vec![blocked_by_rule]);
    assert_eq!(when_decided(events), (Access::Blocked, Reason::NotEnrolled, true));
}
