//! Exchange's device access semantics in the simulated organisation, observed through cmdlets
//! the way easgate observes them: evaluation order, sticky rule blocks, quarantine released when
//! a rule goes or the default changes, the allow list beating every rule.

mod sim_support;

use easgate::domain::vocabulary::{AccessLevel, Characteristic, ExchangeReason, ExchangeState};
use easgate::exchange::ExchangeSession;
use easgate::exchange::cmdlets::*;
use sim_support::{android, iphone, organization, session};

async fn device_state(
    session: &mut dyn ExchangeSession,
    device_id: &str,
) -> (ExchangeState, ExchangeReason, Option<String>) {
    let devices = GetActiveSyncDevice::filtered(opath::device_id_is(device_id)).run(session).await.expect("readable");
    assert_eq!(devices.len(), 1, "one partnership of {device_id}");
    let device = &devices[0];
    (
        device.device_access_state.clone(),
        device.device_access_state_reason.clone(),
        device.device_access_control_rule.clone(),
    )
}

async fn allow(session: &mut dyn ExchangeSession, mailbox: &str, device_id: &str) {
    let set = SetCasMailbox::identity(mailbox).allowed(MultiValuedChange::add(&[device_id]));
    set.run(session).await.expect("Set-CASMailbox runs");
}

async fn new_rule(session: &mut dyn ExchangeSession, query: &str, characteristic: Characteristic, level: AccessLevel) {
    let rule = NewActiveSyncDeviceAccessRule { query_string: query.into(), characteristic, access_level: level };
    let created = rule.run(session).await.expect("New-ActiveSyncDeviceAccessRule runs");
    assert_eq!(created[0].identity, format!("{query} ({})", characteristic.exchange_name()));
}

#[tokio::test]
async fn given_default_quarantine_when_a_device_connects_then_it_is_quarantined_until_allowed() {
    let given = organization(AccessLevel::Quarantine);
    given.exchange.connect_device("alice@contoso.com", &iphone("ApplA1")).expect("connects");
    let mut session = session(&given.exchange).await;
    assert_eq!(
        device_state(session.as_mut(), "ApplA1").await,
        (ExchangeState::Quarantined, ExchangeReason::Global, None)
    );

    allow(session.as_mut(), "alice@contoso.com", "appla1").await;

    assert_eq!(
        device_state(session.as_mut(), "ApplA1").await,
        (ExchangeState::Allowed, ExchangeReason::Individual, None)
    );
    let truth = given.exchange.device("ApplA1").expect("ground truth");
    assert_eq!((truth.state, truth.reason), (ExchangeState::Allowed, ExchangeReason::Individual));
}

#[tokio::test]
async fn given_a_block_rule_when_the_device_is_on_the_allow_list_then_the_allow_list_wins() {
    let given = organization(AccessLevel::Block);
    let mut session = session(&given.exchange).await;
    new_rule(session.as_mut(), "iPhone", Characteristic::DeviceType, AccessLevel::Block).await;
    given.exchange.connect_device("alice@contoso.com", &iphone("ApplA1")).expect("connects");
    let blocked = device_state(session.as_mut(), "ApplA1").await;
    assert_eq!(blocked, (ExchangeState::Blocked, ExchangeReason::DeviceRule, Some("iPhone (DeviceType)".into())));

    allow(session.as_mut(), "alice@contoso.com", "ApplA1").await;

    assert_eq!(
        device_state(session.as_mut(), "ApplA1").await,
        (ExchangeState::Allowed, ExchangeReason::Individual, None)
    );
}

#[tokio::test]
async fn given_the_id_on_both_lists_then_the_block_list_wins() {
    let given = organization(AccessLevel::Allow);
    given.exchange.connect_device("alice@contoso.com", &iphone("ApplA1")).expect("connects");
    let mut session = session(&given.exchange).await;
    let both = SetCasMailbox::identity("alice@contoso.com")
        .allowed(MultiValuedChange::add(&["ApplA1"]))
        .blocked(MultiValuedChange::add(&["ApplA1"]));
    both.run(session.as_mut()).await.expect("runs");
    assert_eq!(
        device_state(session.as_mut(), "ApplA1").await,
        (ExchangeState::Blocked, ExchangeReason::Individual, None)
    );
}

#[tokio::test]
async fn the_most_restrictive_rule_wins_whatever_the_characteristic() {
    let given = organization(AccessLevel::Allow);
    let mut session = session(&given.exchange).await;
    new_rule(session.as_mut(), "iPhone", Characteristic::DeviceType, AccessLevel::Allow).await;
    new_rule(session.as_mut(), "iOS 17.1", Characteristic::DeviceOs, AccessLevel::Quarantine).await;
    given.exchange.connect_device("alice@contoso.com", &iphone("ApplA1")).expect("connects");
    let state = device_state(session.as_mut(), "ApplA1").await;
    assert_eq!(state, (ExchangeState::Quarantined, ExchangeReason::DeviceRule, Some("iOS 17.1 (DeviceOS)".into())));
}

#[tokio::test]
async fn given_a_device_blocked_by_a_rule_when_the_rule_goes_then_it_stays_blocked_until_an_exemption() {
    let given = organization(AccessLevel::Allow);
    let mut session = session(&given.exchange).await;
    new_rule(session.as_mut(), "Android", Characteristic::DeviceType, AccessLevel::Block).await;
    given.exchange.connect_device("bob@contoso.com", &android("androidc1")).expect("connects");

    RemoveActiveSyncDeviceAccessRule::identity("Android (DeviceType)").run(session.as_mut()).await.expect("removed");

    let sticky = device_state(session.as_mut(), "androidc1").await;
    assert_eq!(sticky, (ExchangeState::Blocked, ExchangeReason::DeviceRule, Some("Android (DeviceType)".into())));
    let default_change = SetActiveSyncOrganizationSettings::default_access_level(AccessLevel::Quarantine);
    default_change.run(session.as_mut()).await.expect("runs");
    assert_eq!(device_state(session.as_mut(), "androidc1").await.0, ExchangeState::Blocked, "still sticky");

    allow(session.as_mut(), "bob@contoso.com", "androidc1").await;
    assert_eq!(device_state(session.as_mut(), "androidc1").await.1, ExchangeReason::Individual);
    let clear = SetCasMailbox::identity("bob@contoso.com").allowed(MultiValuedChange::remove(&["androidc1"]));
    clear.run(session.as_mut()).await.expect("runs");
    let released = device_state(session.as_mut(), "androidc1").await;
    assert_eq!(released, (ExchangeState::Quarantined, ExchangeReason::Global, None), "back to the default");
}

#[tokio::test]
async fn given_a_device_quarantined_by_a_rule_when_the_rule_goes_then_it_is_released() {
    let given = organization(AccessLevel::Allow);
    let mut session = session(&given.exchange).await;
    new_rule(session.as_mut(), "Android", Characteristic::DeviceType, AccessLevel::Quarantine).await;
    given.exchange.connect_device("bob@contoso.com", &android("androidc1")).expect("connects");
    assert_eq!(device_state(session.as_mut(), "androidc1").await.0, ExchangeState::Quarantined);

    RemoveActiveSyncDeviceAccessRule::identity("android (devicetype)").run(session.as_mut()).await.expect("removed");

    assert_eq!(
        device_state(session.as_mut(), "androidc1").await,
        (ExchangeState::Allowed, ExchangeReason::Global, None)
    );
}

#[tokio::test]
async fn given_a_device_quarantined_by_the_default_when_the_default_changes_then_it_follows() {
    let given = organization(AccessLevel::Quarantine);
    given.exchange.connect_device("alice@contoso.com", &iphone("ApplA1")).expect("connects");
    let mut session = session(&given.exchange).await;

    let change = SetActiveSyncOrganizationSettings::default_access_level(AccessLevel::Allow);
    change.run(session.as_mut()).await.expect("runs");

    assert_eq!(device_state(session.as_mut(), "ApplA1").await, (ExchangeState::Allowed, ExchangeReason::Global, None));
    let settings = GetActiveSyncOrganizationSettings::default().run(session.as_mut()).await.expect("readable");
    assert_eq!(settings[0].default_access_level, AccessLevel::Allow);
    given.exchange.admin_set_default_access(AccessLevel::Block);
    assert_eq!(
        device_state(session.as_mut(), "ApplA1").await.0,
        ExchangeState::Blocked,
        "allowed by default is not sticky"
    );
}

#[tokio::test]
async fn rules_match_exactly_and_can_change_level() {
    let given = organization(AccessLevel::Allow);
    let mut session = session(&given.exchange).await;
    new_rule(session.as_mut(), "iPhone15", Characteristic::DeviceModel, AccessLevel::Block).await;
    new_rule(session.as_mut(), "iPhone15,2", Characteristic::DeviceModel, AccessLevel::Allow).await;
    given.exchange.connect_device("alice@contoso.com", &iphone("ApplA1")).expect("connects");
    assert_eq!(device_state(session.as_mut(), "ApplA1").await.0, ExchangeState::Allowed, "no partial match");

    let to_quarantine = SetActiveSyncDeviceAccessRule {
        identity: "iPhone15,2 (DeviceModel)".into(),
        access_level: Some(AccessLevel::Quarantine),
    };
    to_quarantine.run(session.as_mut()).await.expect("runs");

    assert_eq!(device_state(session.as_mut(), "ApplA1").await.0, ExchangeState::Quarantined);
    let rules = GetActiveSyncDeviceAccessRule::default().run(session.as_mut()).await.expect("readable");
    assert_eq!(rules.len(), 2);
    let duplicate = NewActiveSyncDeviceAccessRule {
        query_string: "iPhone15".into(),
        characteristic: Characteristic::DeviceModel,
        access_level: AccessLevel::Allow,
    };
    let error = duplicate.run(session.as_mut()).await.expect_err("exists");
    assert!(error.to_string().contains("already exists"), "{error}");
}

#[tokio::test]
async fn disabling_activesync_blocks_the_mailbox_s_devices() {
    let given = organization(AccessLevel::Allow);
    given.exchange.connect_device("alice@contoso.com", &iphone("ApplA1")).expect("connects");
    let mut session = session(&given.exchange).await;
    let disable = SetCasMailbox { activesync_enabled: Some(false), ..SetCasMailbox::identity("alice") };
    disable.run(session.as_mut()).await.expect("runs");
    assert_eq!(device_state(session.as_mut(), "ApplA1").await.0, ExchangeState::Blocked);
}

#[tokio::test]
async fn scenario_admin_steps_edit_the_lists_and_reevaluate_at_once() {
    let given = organization(AccessLevel::Quarantine);
    let exchange = &given.exchange;
    assert_eq!(exchange.ensure_mailbox("alice@contoso.com", "alice@contoso.com"), Ok(false), "alice exists");
    assert!(exchange.add_mailbox("alice@contoso.com", "alice@contoso.com").is_err(), "a duplicate is an error");
    exchange.connect_device("alice@contoso.com", &iphone("ApplA1")).expect("connects");
    exchange.admin_block("alice@contoso.com", "ApplA1").expect("blocks");
    assert_eq!(
        exchange.device("ApplA1").map(|d| (d.state, d.reason)),
        Some((ExchangeState::Blocked, ExchangeReason::Individual))
    );
    exchange.admin_clear("alice@contoso.com", "ApplA1").expect("clears");
    exchange.admin_allow("alice@contoso.com", "ApplA1").expect("allows");
    assert_eq!(exchange.device("ApplA1").map(|d| d.state), Some(ExchangeState::Allowed));
    let lists = exchange.mailbox("alice@contoso.com").expect("a mailbox");
    assert_eq!((lists.allowed_device_ids, lists.blocked_device_ids), (vec!["ApplA1".to_string()], vec![]));
    exchange.admin_add_rule("iPhone", Characteristic::DeviceType, AccessLevel::Block).expect("adds");
    assert_eq!(exchange.device("ApplA1").map(|d| d.state), Some(ExchangeState::Allowed), "the allow list still wins");
    exchange.admin_clear("alice@contoso.com", "ApplA1").expect("clears");
    assert_eq!(
        exchange.device("ApplA1").map(|d| (d.state, d.reason)),
        Some((ExchangeState::Blocked, ExchangeReason::DeviceRule))
    );
}
