//! The simulated organisation's cmdlets behave like Exchange's: unknown identities give
//! ManagementObjectNotFoundException, destructive cmdlets need `-Confirm:$false`, bad
//! parameters fail in the binder, Get-Command reflects the account's roles, a runspace sees the
//! whole forest only after Set-ADServerSettings, wipes show in the statistics, and a DeviceId
//! full of PowerShell metacharacters is only ever data.

mod sim_support;

use easgate::domain::cmdlet_call::CmdletCall;
use easgate::domain::vocabulary::{AccessLevel, ExchangeState};
use easgate::exchange::cmdlets::*;
use easgate::exchange::{ExchangeConnector, ExchangeError, ExchangeSession};
use easgate::sim::exchange::{DEFAULT_SERVICE_ACCOUNT, DeviceSpec};
use sim_support::{iphone, organization, session};

#[tokio::test]
async fn an_unknown_identity_is_a_not_found_error_non_terminating_for_reads_terminating_for_writes() {
    let given = organization(AccessLevel::Allow);
    let mut session = session(&given.exchange).await;

    let reply =
        GetCasMailbox::identity("nobody@contoso.com").run_reply(session.as_mut()).await.expect("the pipeline runs");
    assert!(reply.objects.is_empty());
    assert!(is_not_found(&reply.errors[0]), "{:?}", reply.errors);
    assert!(reply.errors[0].message.contains("couldn't be found on 'dc1.contoso.com'"), "{}", reply.errors[0].message);
    assert!(reply.errors[0].fully_qualified_error_id.contains("[Server=CAS1,"));
    let strict = GetCasMailbox::identity("nobody@contoso.com").run(session.as_mut()).await;
    assert!(matches!(&strict, Err(ExchangeError::CmdletFailed { error, .. }) if is_not_found(error)), "{strict:?}");

    let write = SetCasMailbox::identity("nobody").allowed(MultiValuedChange::add(&["x"])).run(session.as_mut()).await;
    let Err(ExchangeError::CmdletFailed { error, .. }) = write else { panic!("terminating: {write:?}") };
    assert!(is_not_found(&error));
    let device = RemoveActiveSyncDevice::identity("contoso.com/Users/alice/ExchangeActiveSyncDevices/iPhone§none");
    assert!(device.run(session.as_mut()).await.is_err());
}

#[tokio::test]
async fn a_name_shared_by_two_mailboxes_is_ambiguous() {
    let given = organization(AccessLevel::Allow);
    given.exchange.add_mailbox("alice@fabrikam.com", "alice@fabrikam.com").expect("another alice");
    let mut session = session(&given.exchange).await;
    let reply = GetCasMailbox::identity("alice").run_reply(session.as_mut()).await.expect("runs");
    assert_eq!(reply.errors[0].category, "ManagementObjectAmbiguousException");
    let by_smtp = GetCasMailbox::identity("alice@fabrikam.com").run(session.as_mut()).await.expect("unique");
    assert_eq!(by_smtp[0].identity, "fabrikam.com/Users/alice");
}

#[tokio::test]
async fn destructive_cmdlets_without_confirm_false_fail_because_the_host_cannot_prompt() {
    let given = organization(AccessLevel::Allow);
    let truth = given.exchange.connect_device("alice@contoso.com", &iphone("ApplA1")).expect("connects");
    let mut session = session(&given.exchange).await;
    let prompting = RemoveActiveSyncDevice { identity: truth.identity.clone(), confirm: true };
    let error = prompting.run(session.as_mut()).await.expect_err("prompts");
    assert!(error.to_string().contains("does not support user interaction"), "{error}");
    assert!(given.exchange.device("ApplA1").is_some(), "nothing removed");

    RemoveActiveSyncDevice::identity(&truth.identity).run(session.as_mut()).await.expect("removed");

    assert!(given.exchange.device("ApplA1").is_none());
    let mailbox = GetCasMailbox::identity("alice").run(session.as_mut()).await.expect("runs");
    assert!(!mailbox[0].has_activesync_device_partnership);
}

#[tokio::test]
async fn a_call_with_an_unknown_parameter_fails_in_the_binder_and_changes_nothing() {
    let given = organization(AccessLevel::Quarantine);
    let mut session = session(&given.exchange).await;
    let call = CmdletCall::new("Set-ActiveSyncOrganizationSettings").text("DefaultAccesLevel", "Allow");
    let error = session.invoke(&call).await.expect_err("does not bind");
    let ExchangeError::CmdletFailed { error, .. } = error else { panic!("a cmdlet failure: {error:?}") };
    assert_eq!(error.message, "A parameter cannot be found that matches parameter name 'DefaultAccesLevel'.");
    assert_eq!(given.exchange.organization().default_access, AccessLevel::Quarantine);
}

#[tokio::test]
async fn get_command_lists_what_the_account_may_run() {
    let given = organization(AccessLevel::Allow);
    given.exchange.withhold_cmdlet("clear-activesyncdevice").expect("a known cmdlet");
    let mut session = session(&given.exchange).await;

    let everything = GetCommand::default().run(session.as_mut()).await.expect("runs");
    assert_eq!(everything.len(), registry::CMDLET_NAMES.len() - 1);
    let reply =
        GetCommand::names(&["Get-ActiveSyncDevice", "Clear-ActiveSyncDevice"]).run_reply(session.as_mut()).await;
    let reply = reply.expect("runs");
    assert_eq!(reply.objects.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["Get-ActiveSyncDevice"]);
    assert_eq!(reply.errors[0].category, "CommandNotFoundException");
    let denied = ClearActiveSyncDevice::identity("x").run(session.as_mut()).await.expect_err("not granted");
    assert!(denied.to_string().contains("is not recognized as the name of a cmdlet"), "{denied}");
}

#[tokio::test]
async fn without_view_entire_forest_a_runspace_sees_only_its_own_domain() {
    let given = organization(AccessLevel::Allow);
    given.exchange.add_mailbox("carol@emea.contoso.com", "carol@contoso.com").expect("a child-domain user");
    given.exchange.connect_device("carol@contoso.com", &iphone("ApplC1")).expect("connects");
    given.exchange.set_forest_root_domain(Some("contoso.com"));
    let connector = given.exchange.connector(DEFAULT_SERVICE_ACCOUNT);
    let mut fresh = connector.open("CAS1").await.expect("opens");

    let unseen = GetActiveSyncDevice::all().run(fresh.as_mut()).await.expect("runs");
    assert!(unseen.is_empty());
    SetAdServerSettings::view_entire_forest().run(fresh.as_mut()).await.expect("runs");
    let seen = GetActiveSyncDevice::all().run(fresh.as_mut()).await.expect("runs");
    assert_eq!(seen[0].identity, "emea.contoso.com/Users/carol/ExchangeActiveSyncDevices/iPhone§ApplC1");
}

#[tokio::test]
async fn a_wipe_shows_in_the_statistics_and_a_pending_one_can_be_cancelled() {
    let given = organization(AccessLevel::Allow);
    let first = given.exchange.connect_device("alice@contoso.com", &iphone("ApplA1")).expect("connects");
    let second = given.exchange.connect_device("alice@contoso.com", &iphone("ApplA2")).expect("connects");
    let mut session = session(&given.exchange).await;

    ClearActiveSyncDevice::identity(&first.identity).run(session.as_mut()).await.expect("wipes");

    let statistics =
        GetActiveSyncDeviceStatistics::identity(&first.identity).run(session.as_mut()).await.expect("runs");
    assert_eq!(statistics[0].status, WipeStatus::DeviceWipeSucceeded);
    assert_eq!(statistics[0].last_device_wipe_requestor, DEFAULT_SERVICE_ACCOUNT);
    given.exchange.set_wipe_acknowledged_at_once(false);
    ClearActiveSyncDevice::identity(&second.identity).run(session.as_mut()).await.expect("wipes");
    assert_eq!(given.exchange.device("ApplA2").map(|d| d.wipe_status), Some(WipeStatus::DeviceWipePending));
    let cancel = ClearActiveSyncDevice { cancel: true, ..ClearActiveSyncDevice::identity(&second.identity) };
    cancel.run(session.as_mut()).await.expect("cancels");
    let all = GetActiveSyncDeviceStatistics::mailbox("alice@contoso.com").run(session.as_mut()).await.expect("runs");
    let statuses: Vec<WipeStatus> = all.into_iter().map(|s| s.status).collect();
    assert_eq!(statuses, [WipeStatus::DeviceWipeSucceeded, WipeStatus::DeviceOk]);
}

#[tokio::test]
async fn a_device_id_full_of_powershell_metacharacters_is_only_ever_data() {
    let hostile = "x\"; Remove-Mailbox -Identity *; \"$(Stop-Computer)`'";
    let given = organization(AccessLevel::Quarantine);
    let device = DeviceSpec::new(hostile, "iPhone", "iPhone15,2", "iOS 17.1");
    given.exchange.connect_device("alice@contoso.com", &device).expect("connects");
    let mut session = session(&given.exchange).await;

    let found = GetActiveSyncDevice::filtered(opath::device_id_is(hostile)).run(session.as_mut()).await.expect("runs");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].device_id, hostile);
    let allow = SetCasMailbox::identity("alice@contoso.com").allowed(MultiValuedChange::add(&[hostile]));
    allow.run(session.as_mut()).await.expect("runs");

    assert_eq!(given.exchange.device(hostile).map(|d| d.state), Some(ExchangeState::Allowed));
    let mailbox = GetCasMailbox::identity("alice").run(session.as_mut()).await.expect("runs");
    assert_eq!(mailbox[0].activesync_allowed_device_ids, [hostile]);
    assert_eq!(given.exchange.organization().mailboxes, 2, "no mailbox was removed");
}

#[tokio::test]
async fn organisation_settings_policies_classes_and_recipients() {
    let given = organization(AccessLevel::Allow);
    given.exchange.connect_device("alice@contoso.com", &iphone("ApplA1")).expect("connects");
    let mut session = session(&given.exchange).await;

    let too_long = SetActiveSyncOrganizationSettings { user_mail_insert: Some("x".repeat(257)), ..Default::default() };
    let error = too_long.run(session.as_mut()).await.expect_err("over 256 characters");
    assert!(error.to_string().contains("The maximum length is 256"), "{error}");
    let recipients = SetActiveSyncOrganizationSettings {
        admin_mail_recipients: Some(MultiValuedChange::add(&["admin@contoso.com"])),
        ..Default::default()
    };
    recipients.run(session.as_mut()).await.expect("runs");
    let settings = GetActiveSyncOrganizationSettings::default().run(session.as_mut()).await.expect("runs");
    assert_eq!(settings[0].admin_mail_recipients, ["admin@contoso.com"]);

    let strict = NewActiveSyncMailboxPolicy { name: "Strict".into(), is_default: Some(true), ..Default::default() };
    strict.run(session.as_mut()).await.expect("creates");
    let policies = GetActiveSyncMailboxPolicy::default().run(session.as_mut()).await.expect("runs");
    assert_eq!(policies.iter().filter(|p| p.is_default).map(|p| p.name.as_str()).collect::<Vec<_>>(), ["Strict"]);
    let assign = SetCasMailbox { activesync_mailbox_policy: Some("strict".into()), ..SetCasMailbox::identity("alice") };
    assign.run(session.as_mut()).await.expect("assigns");
    RemoveActiveSyncMailboxPolicy::identity("Strict").run(session.as_mut()).await.expect("removes");
    let alice = GetCasMailbox::identity("alice").run(session.as_mut()).await.expect("runs");
    assert!(alice[0].activesync_mailbox_policy_is_defaulted, "falls back to the default");

    let classes = GetActiveSyncDeviceClass::all().run(session.as_mut()).await.expect("runs");
    assert_eq!(classes[0].identity, "iPhone§iPhone15,2");
    let recipient = GetRecipient::identity("alice@contoso.com").run(session.as_mut()).await.expect("runs");
    assert_eq!(recipient[0].email_addresses, ["SMTP:alice@contoso.com"]);
    let session: Box<dyn ExchangeSession> = session;
    session.close().await.expect("closes");
    assert_eq!(given.exchange.open_shells(DEFAULT_SERVICE_ACCOUNT), 0);
}
