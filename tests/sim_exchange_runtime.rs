//! The simulated organisation's runtime: the 18-shell quota, servers going down, injected
//! faults (a timeout applies the change and loses the reply), latency on the injected clock,
//! counters, `-ResultSize`'s default of 1000 and filters.

mod sim_support;

use std::time::Duration;

use easgate::clock::Clock;
use easgate::domain::vocabulary::{AccessLevel, ExchangeState};
use easgate::exchange::cmdlets::*;
use easgate::exchange::{ExchangeConnector, ExchangeError};
use easgate::sim::FaultKind;
use easgate::sim::exchange::{DEFAULT_SERVICE_ACCOUNT, DeviceSpec, MailboxSpec};
use sim_support::{iphone, organization, session, session_on};

#[tokio::test]
async fn given_18_open_shells_when_a_19th_opens_then_exchange_refuses_until_one_closes() {
    let given = organization(AccessLevel::Allow);
    let connector = given.exchange.connector(DEFAULT_SERVICE_ACCOUNT);
    let mut shells = Vec::new();
    for _ in 0..18 {
        shells.push(connector.open("CAS1").await.expect("within the quota"));
    }
    let refused = connector.open("CAS2").await.err().expect("over the quota");
    let ExchangeError::Throttled { detail, .. } = &refused else { panic!("not throttled: {refused:?}") };
    assert!(detail.contains("This user is allowed a maximum number of 18 concurrent shells, which has been exceeded."));
    let other_account = given.exchange.connector("CONTOSO\\someone-else");
    assert!(other_account.open("CAS1").await.is_ok(), "the quota is per user");

    let closed = shells.pop().expect("a shell");
    closed.close().await.expect("closes");

    assert!(connector.open("CAS1").await.is_ok());
    assert_eq!(given.exchange.open_shells(DEFAULT_SERVICE_ACCOUNT), 18);
}

#[tokio::test]
async fn given_a_cas_goes_down_then_it_is_unreachable_and_its_shells_are_gone_when_it_is_back() {
    let given = organization(AccessLevel::Allow);
    let mut on_cas1 = session(&given.exchange).await;
    given.exchange.cas_down("cas1").expect("a known server");

    let failed = GetExchangeServer::default().run(on_cas1.as_mut()).await.expect_err("down");
    assert!(failed.calls_for_failover(), "{failed:?}");
    let connector = given.exchange.connector(DEFAULT_SERVICE_ACCOUNT);
    assert!(matches!(connector.open("CAS1").await.err(), Some(ExchangeError::Unreachable { .. })));
    let mut on_cas2 = session_on(&given.exchange, "CAS2").await;
    let servers = GetExchangeServer::default().run(on_cas2.as_mut()).await.expect("CAS2 answers");
    assert_eq!(servers.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["CAS1", "CAS2"]);
    assert_eq!(given.exchange.open_shells(DEFAULT_SERVICE_ACCOUNT), 1, "the shell on CAS1 went with it");

    given.exchange.cas_up("CAS1").expect("a known server");

    let gone = GetExchangeServer::default().run(on_cas1.as_mut()).await.expect_err("the old shell is gone");
    assert!(matches!(gone, ExchangeError::ShellGone { .. }), "{gone:?}");
    assert!(connector.open("CAS1").await.is_ok(), "a new shell works");
    assert!(given.exchange.cas_down("CAS9").is_err(), "unknown servers are a scenario error");
}

#[tokio::test]
async fn given_throttle_and_error_faults_then_the_next_calls_fail_and_change_nothing() {
    let given = organization(AccessLevel::Quarantine);
    given.exchange.connect_device("alice@contoso.com", &iphone("ApplA1")).expect("connects");
    let mut session = session(&given.exchange).await;
    given.exchange.inject_fault(FaultKind::Throttle, 1).expect("injects");
    given.exchange.inject_fault(FaultKind::Error, 1).expect("injects");
    let allow = SetCasMailbox::identity("alice@contoso.com").allowed(MultiValuedChange::add(&["ApplA1"]));

    let throttled = allow.run(session.as_mut()).await.expect_err("throttled");
    assert!(matches!(throttled, ExchangeError::Throttled { retry_after_ms: Some(_), .. }), "{throttled:?}");
    let server_error = allow.run(session.as_mut()).await.expect_err("server error");
    assert!(matches!(server_error, ExchangeError::Server { .. }), "{server_error:?}");
    assert!(given.exchange.mailbox("alice@contoso.com").expect("exists").allowed_device_ids.is_empty());

    allow.run(session.as_mut()).await.expect("the third call goes through");
    assert_eq!(given.exchange.device("ApplA1").map(|d| d.state), Some(ExchangeState::Allowed));
    assert_eq!(given.exchange.pending_faults(), 0);
    let counters = given.exchange.counters();
    assert_eq!(counters.by_cmdlet["Set-CASMailbox"].calls, 3);
    assert_eq!(counters.by_cmdlet["Set-CASMailbox"].failed, 2);
}

#[tokio::test]
async fn given_a_timeout_on_a_state_changing_cmdlet_then_the_change_is_applied_and_the_reply_lost() {
    let given = organization(AccessLevel::Quarantine);
    given.exchange.connect_device("alice@contoso.com", &iphone("ApplA1")).expect("connects");
    let mut session = session(&given.exchange).await;
    given.exchange.inject_fault(FaultKind::Timeout, 2).expect("injects");
    let allow = SetCasMailbox::identity("alice@contoso.com").allowed(MultiValuedChange::add(&["ApplA1"]));

    let timeout = allow.run(session.as_mut()).await.expect_err("timed out");

    assert!(timeout.is_in_doubt(), "{timeout:?}");
    assert_eq!(given.exchange.mailbox("alice@contoso.com").expect("exists").allowed_device_ids, ["ApplA1"]);
    assert_eq!(given.exchange.device("ApplA1").map(|d| d.state), Some(ExchangeState::Allowed));
    let read = GetCasMailbox::identity("alice@contoso.com").run(session.as_mut()).await;
    assert!(matches!(read, Err(ExchangeError::Timeout { .. })), "a read times out too");
    let reply = allow.run_reply(session.as_mut()).await.expect("the retry answers");
    assert!(reply.warnings[0].contains("no settings of 'alice@contoso.com' have been modified"), "{reply:?}");
}

#[tokio::test]
async fn latency_is_slept_on_the_injected_clock() {
    let given = organization(AccessLevel::Allow);
    let mut session = session(&given.exchange).await;
    given.exchange.set_latency(Duration::from_millis(250));
    let before = given.clock.now();
    GetActiveSyncDevice::all().run(session.as_mut()).await.expect("runs");
    GetActiveSyncDevice::all().run(session.as_mut()).await.expect("runs");
    assert_eq!(given.clock.now() - before, chrono::Duration::milliseconds(500));
}

#[tokio::test]
async fn counters_split_reads_from_state_changing_calls() {
    let given = organization(AccessLevel::Allow);
    let mut session = session(&given.exchange).await;
    given.exchange.reset_counters();
    GetCasMailbox::with_partnerships().run(session.as_mut()).await.expect("runs");
    GetActiveSyncDevice::all().run(session.as_mut()).await.expect("runs");
    let allow = SetCasMailbox::identity("bob").allowed(MultiValuedChange::add(&["x"]));
    allow.run(session.as_mut()).await.expect("runs");
    let counters = given.exchange.counters();
    assert_eq!((counters.reads, counters.state_changing, counters.failed), (2, 1, 0));
    assert_eq!(counters.calls("Get-CASMailbox"), 1);
    assert_eq!(counters.calls("Set-CASMailbox"), 1);
}

fn bulk_devices(count: usize) -> (Vec<MailboxSpec>, Vec<(String, DeviceSpec)>) {
    let mailboxes: Vec<MailboxSpec> = (0..count / 2)
        .map(|index| MailboxSpec { upn: format!("u{index}@contoso.com"), smtp: format!("u{index}@contoso.com") })
        .collect();
    let devices =
        (0..count).map(|index| (format!("u{}@contoso.com", index / 2), iphone(&format!("Appl{index:06}")))).collect();
    (mailboxes, devices)
}

#[tokio::test]
async fn given_1200_partnerships_then_result_size_defaults_to_1000_like_exchange() {
    let given = organization(AccessLevel::Quarantine);
    let (mailboxes, devices) = bulk_devices(1200);
    given.exchange.bulk_load(mailboxes, devices).expect("loads");
    let mut session = session(&given.exchange).await;

    let default = GetActiveSyncDevice::default().run_reply(session.as_mut()).await.expect("runs");
    assert_eq!(default.objects.len(), 1000);
    assert!(default.warnings[0].contains("only the first 1000 items are returned"), "{:?}", default.warnings);

    let unlimited = GetActiveSyncDevice::all().run_reply(session.as_mut()).await.expect("runs");
    assert_eq!(unlimited.objects.len(), 1200);
    assert!(unlimited.warnings.is_empty());

    let ten = GetActiveSyncDevice { result_size: Some(ResultSize::Limit(10)), ..Default::default() };
    let ten = ten.run_reply(session.as_mut()).await.expect("runs");
    assert_eq!(ten.objects.len(), 10);
    assert!(ten.warnings[0].contains("increase the value for the ResultSize parameter"));
    let mailboxes = GetCasMailbox::default().run(session.as_mut()).await.expect("runs");
    assert_eq!(mailboxes.len(), 602, "600 generated + alice and bob, under the default");
}

#[tokio::test]
async fn filters_select_new_partnerships_quarantined_devices_and_mailboxes_with_devices() {
    let given = organization(AccessLevel::Quarantine);
    given.exchange.connect_device("alice@contoso.com", &iphone("ApplOld")).expect("connects");
    given.exchange.admin_allow("alice@contoso.com", "ApplOld").expect("allows");
    given.clock.advance(Duration::from_secs(3600));
    let cutoff = given.clock.now();
    given.clock.advance(Duration::from_secs(60));
    given.exchange.connect_device("alice@contoso.com", &iphone("ApplNew")).expect("connects");
    let mut session = session(&given.exchange).await;

    let new =
        GetActiveSyncDevice::filtered(opath::first_sync_time_after(cutoff)).run(session.as_mut()).await.expect("runs");
    assert_eq!(new.iter().map(|d| d.device_id.as_str()).collect::<Vec<_>>(), ["ApplNew"]);
    let quarantined = opath::device_access_state_is(&ExchangeState::Quarantined);
    let quarantined = GetActiveSyncDevice::filtered(quarantined).run(session.as_mut()).await.expect("runs");
    assert_eq!(quarantined.iter().map(|d| d.device_id.as_str()).collect::<Vec<_>>(), ["ApplNew"]);
    let with_devices = GetCasMailbox::with_partnerships().run(session.as_mut()).await.expect("runs");
    assert_eq!(with_devices.iter().map(|m| m.primary_smtp_address.as_str()).collect::<Vec<_>>(), ["alice@contoso.com"]);
    let of_alice = GetActiveSyncDevice::mailbox("alice").run(session.as_mut()).await.expect("runs");
    assert_eq!(of_alice.len(), 2);
    assert!(of_alice.iter().all(|d| d.mailbox_identity() == Some("contoso.com/Users/alice")));

    let bad = GetActiveSyncDevice::filtered("DeviceAccessState -eq".into()).run(session.as_mut()).await;
    assert!(
        matches!(&bad, Err(ExchangeError::CmdletFailed { error, .. }) if error.message.contains("Invalid filter syntax")),
        "{bad:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runspaces_in_parallel_tasks_share_one_organisation() {
    let given = organization(AccessLevel::Quarantine);
    for index in 0..100 {
        given.exchange.connect_device("alice@contoso.com", &iphone(&format!("Appl{index:03}"))).expect("connects");
    }
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let exchange = given.exchange.clone();
        tasks.push(tokio::spawn(async move {
            let mut session = session(&exchange).await;
            for index in (worker..100).step_by(4) {
                let id = format!("Appl{index:03}");
                let allow =
                    SetCasMailbox::identity("alice@contoso.com").allowed(MultiValuedChange::add(&[id.as_str()]));
                allow.run(session.as_mut()).await.expect("runs");
            }
            session.close().await.expect("closes");
        }));
    }
    for task in tasks {
        task.await.expect("the task completes");
    }
    let devices = {
        let mut session = session(&given.exchange).await;
        GetActiveSyncDevice::all().run(session.as_mut()).await.expect("runs")
    };
    assert_eq!(devices.len(), 100);
    assert!(devices.iter().all(|device| device.device_access_state == ExchangeState::Allowed));
    assert_eq!(given.exchange.mailbox("alice@contoso.com").map(|m| m.allowed_device_ids.len()), Some(100));
    assert_eq!(given.exchange.open_shells(DEFAULT_SERVICE_ACCOUNT), 1, "the four workers closed theirs");
}
