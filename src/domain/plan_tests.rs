//! Given/when/then tests for the planner: the smallest set of cmdlets for the decisions made.

use uuid::Uuid;

use crate::domain::Event;
use crate::domain::cmdlet_call::{ListEdit, ParamValue, Parameters};
use crate::domain::event::*;
use crate::domain::given::*;
use crate::domain::plan::{plan_mailbox, plan_organization};
use crate::domain::vocabulary::*;

const ALICE: &str = "alice@contoso.com";
const PHONE: &str = "ApplF17LTTCGFFG8";
const TABLET: &str = "ApplTAB0000000001";

fn decided(device_id: &str, access: Access, reason: Reason) -> Event {
    Event::AccessDecided(AccessDecided {
        mailbox: ALICE.into(),
        device_id: device_id.into(),
        access,
        reason,
        inputs: DecisionInputs::default(),
    })
}

fn set_lists(command_id: u128, allowed: ListEdit, blocked: ListEdit) -> Vec<Event> {
    let mut parameters = vec![("Identity".to_string(), ParamValue::Text(ALICE.into()))];
    if !allowed.add.is_empty() || !allowed.remove.is_empty() {
        parameters.push(("ActiveSyncAllowedDeviceIDs".into(), ParamValue::Edit(allowed)));
    }
    if !blocked.add.is_empty() || !blocked.remove.is_empty() {
        parameters.push(("ActiveSyncBlockedDeviceIDs".into(), ParamValue::Edit(blocked)));
    }
    let command_id = Uuid::from_u128(command_id);
    vec![
        Event::CmdletRequested(CmdletRequested {
            command_id,
            cmdlet: "Set-CASMailbox".into(),
            parameters: Parameters(parameters),
            devices: Vec::new(),
            attempt: 1,
        }),
        Event::CmdletSucceeded(CmdletSucceeded { command_id, cmdlet: "Set-CASMailbox".into() }),
    ]
}

fn base() -> Vec<Event> {
    vec![
        policy(AccessLevel::Quarantine, true),
        organization(AccessLevel::Quarantine, Vec::new()),
        user(ALICE, true, &["mobile"]),
        mailbox(ALICE, &[], &[]),
        discovered(ALICE, PHONE, "iPhone"),
        discovered(ALICE, TABLET, "iPad"),
    ]
}

fn edit(add: &[&str], remove: &[&str]) -> ListEdit {
    ListEdit {
        add: add.iter().map(|id| id.to_string()).collect(),
        remove: remove.iter().map(|id| id.to_string()).collect(),
    }
}

#[test]
fn one_set_casmailbox_carries_every_change_of_a_mailbox() {
    let projection = given(
        [
            base(),
            vec![
                decided(PHONE, Access::Allowed, Reason::Compliant),
                decided(TABLET, Access::Blocked, Reason::NotCompliant),
            ],
        ]
        .concat(),
    );
    let planned = plan_mailbox(&projection, ALICE).expect("the lists must change");
    assert_eq!(planned.call.cmdlet, "Set-CASMailbox");
    assert_eq!(planned.call.parameter("Identity"), Some(&ParamValue::Text(ALICE.into())));
    assert_eq!(planned.call.parameter("ActiveSyncAllowedDeviceIDs"), Some(&ParamValue::Edit(edit(&[PHONE], &[]))));
    assert_eq!(planned.call.parameter("ActiveSyncBlockedDeviceIDs"), Some(&ParamValue::Edit(edit(&[TABLET], &[]))));
    assert_eq!(planned.devices.len(), 2);
}

#[test]
fn a_mailbox_already_right_needs_no_cmdlet() {
    let projection = given(
        [
            base(),
            vec![
                decided(PHONE, Access::Allowed, Reason::Compliant),
                decided(TABLET, Access::Quarantined, Reason::NotEnrolled),
            ],
            set_lists(1, edit(&[PHONE], &[]), ListEdit::default()),
            vec![mailbox(ALICE, &[PHONE], &[])],
        ]
        .concat(),
    );
    assert_eq!(plan_mailbox(&projection, ALICE), None);
}

#[test]
fn a_device_falling_off_moves_from_the_allow_list_to_the_block_list() {
    let projection = given(
        [
            base(),
            vec![decided(PHONE, Access::Allowed, Reason::Compliant)],
            set_lists(1, edit(&[PHONE], &[]), ListEdit::default()),
            vec![mailbox(ALICE, &[PHONE], &[]), decided(PHONE, Access::Blocked, Reason::NotCompliant)],
        ]
        .concat(),
    );
    let planned = plan_mailbox(&projection, ALICE).expect("the lists must change");
    assert_eq!(planned.call.parameter("ActiveSyncAllowedDeviceIDs"), Some(&ParamValue::Edit(edit(&[], &[PHONE]))));
    assert_eq!(planned.call.parameter("ActiveSyncBlockedDeviceIDs"), Some(&ParamValue::Edit(edit(&[PHONE], &[]))));
}

#[test]
fn quarantine_leaves_the_lists_to_exchange_and_removes_only_easgates_entries() {
    // The admin allowed an old id by hand; easgate had allowed the phone, which is now quarantined.
    let projection = given(
        [
            base(),
            vec![decided(PHONE, Access::Allowed, Reason::Compliant)],
            set_lists(1, edit(&[PHONE], &[]), ListEdit::default()),
            vec![mailbox(ALICE, &[PHONE, "OLDPHONE"], &[]), decided(PHONE, Access::Quarantined, Reason::NotEnrolled)],
        ]
        .concat(),
    );
    let planned = plan_mailbox(&projection, ALICE).expect("easgate's entry must go");
    assert_eq!(planned.call.parameter("ActiveSyncAllowedDeviceIDs"), Some(&ParamValue::Edit(edit(&[], &[PHONE]))));
    assert_eq!(planned.call.parameter("ActiveSyncBlockedDeviceIDs"), None);
}

#[test]
fn an_admins_entry_is_never_removed() {
    let projection = given(
        [base(), vec![mailbox(ALICE, &[], &[PHONE]), decided(PHONE, Access::Blocked, Reason::IndividualRule)]].concat(),
    );
    assert_eq!(plan_mailbox(&projection, ALICE), None);
}

#[test]
fn organisation_default_and_rules_follow_the_policy_and_only_when_they_differ() {
    let rule =
        PolicyAccessRule { device_class: "Android".into(), rule_match: RuleMatch::Family, access: AccessLevel::Block };
    let policy_with_rule = Event::PolicyApplied(PolicyApplied {
        revision: 2,
        enabled: true,
        included_groups: vec!["mobile".into()],
        excluded_groups: Vec::new(),
        default_access: AccessLevel::Quarantine,
        override_default_rule: true,
        access_rules: vec![rule],
        notification: String::new(),
    });
    let projection = given(vec![organization(AccessLevel::Allow, Vec::new()), policy_with_rule.clone()]);
    let cmdlets: Vec<String> = plan_organization(&projection).into_iter().map(|planned| planned.call.cmdlet).collect();
    assert_eq!(cmdlets, ["Set-ActiveSyncOrganizationSettings", "New-ActiveSyncDeviceAccessRule"]);
    let pushed = DeviceAccessRule {
        query: "Android".into(),
        characteristic: Characteristic::DeviceType,
        access: AccessLevel::Block,
    };
    let projection = given(vec![organization(AccessLevel::Quarantine, vec![pushed]), policy_with_rule]);
    assert_eq!(plan_organization(&projection), Vec::new());
}

/// An intent and a failed outcome (not applied), for the same Set-CASMailbox as `set_lists`.
fn set_lists_failed(command_id: u128, allowed: ListEdit) -> Vec<Event> {
    let mut events = set_lists(command_id, allowed, ListEdit::default());
    events[1] = Event::CmdletFailed(CmdletFailed {
        command_id: Uuid::from_u128(command_id),
        cmdlet: "Set-CASMailbox".into(),
        error: "the mailbox is being moved".into(),
        retryable: true,
        in_doubt: false,
    });
    events
}

#[test]
fn an_entry_easgate_no_longer_claims_is_an_admins_when_it_appears() {
    // After easgate's claim on the phone's entry ended, an admin allowed the phone by hand.
    let claim_ended = [
        // easgate asked to allow the phone and the cmdlet failed;
        set_lists_failed(1, edit(&[PHONE], &[])),
        // easgate allowed the phone, then removed it.
        [
            set_lists(1, edit(&[PHONE], &[]), ListEdit::default()),
            set_lists(2, edit(&[], &[PHONE]), ListEdit::default()),
        ]
        .concat(),
    ];
    for history in claim_ended {
        let projection = given(
            [
                base(),
                vec![decided(PHONE, Access::Allowed, Reason::Compliant)],
                history,
                vec![mailbox(ALICE, &[PHONE], &[]), decided(PHONE, Access::Quarantined, Reason::NotEnrolled)],
            ]
            .concat(),
        );
        assert_eq!(plan_mailbox(&projection, ALICE), None, "the admin's entry stays");
    }
}

#[test]
fn a_pending_intent_settles_the_same_after_a_snapshot() {
    // The intent is folded, the projection goes through a snapshot, and its outcome comes after.
    let requested = [base(), vec![decided(PHONE, Access::Allowed, Reason::Compliant)]].concat();
    let mut intent_and_outcome = set_lists_failed(1, edit(&[PHONE], &[]));
    let outcome = intent_and_outcome.pop().expect("the outcome");
    let mut before = given([requested.clone(), intent_and_outcome.clone()].concat());
    assert_eq!(before.pending_commands.len(), 1);
    let mut restored: crate::domain::projection::Projection =
        postcard::from_bytes(&postcard::to_allocvec(&before).expect("encodes")).expect("decodes");
    restored.rebuild_indexes();
    for projection in [&mut before, &mut restored] {
        let recorded = crate::domain::RecordedEvent {
            seq: projection.last_seq + 1,
            recorded_at_us: projection.last_recorded_at_us,
            event_id: Uuid::from_u128(99),
            correlation_id: None,
            causation_id: None,
            event: outcome.clone(),
        };
        crate::domain::projection::evolve(projection, &recorded);
    }
    assert!(restored.pending_commands.is_empty());
    assert_eq!(restored.mailboxes, before.mailboxes, "the failed add's claim is released in both");
    assert_eq!(restored.devices, before.devices, "the outcome stamps the same partnerships");
}
