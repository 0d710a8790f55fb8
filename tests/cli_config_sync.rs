//! `easgate sync --config FILE` against the real adapters on loopback: a full sync decides and
//! enforces through remote PowerShell and mails through EWS; a dry run prints the cmdlets and
//! changes nothing; refused credentials and failed reads leave the connector `disconnected`
//! with the reason and decide nothing; a new server replaces the connector; several
//! organisations get a data directory each.

mod daemon_support;

use daemon_support::*;
use easgate::domain::vocabulary::{AccessLevel, ExchangeState};
use easgate::sim::exchange::DeviceSpec;
use easgate::testing::fake_graph::{FAKE_EXPIRED_CLIENT_SECRET, FaultKind, FaultTarget, ScriptedFault};
use serde_json::Value;

async fn events(bed: &Bed) -> Vec<Value> {
    let output = bed.easgate(&["log"]).await;
    assert_exit(&output, 0);
    json_lines(&output)
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|event| event["type"] == kind).collect()
}

async fn status(bed: &Bed) -> Value {
    let output = bed.easgate(&["status", "--format", "json"]).await;
    assert_exit(&output, 0);
    serde_json::from_str(&stdout(&output)).expect("status JSON")
}

fn mails_to(bed: &Bed, to: &str) -> usize {
    bed.ews.sent().iter().filter(|mail| mail.to == to).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sync_enforces_and_mails_and_a_dry_run_changes_nothing() {
    let bed = Bed::start().await;
    let output = bed.with_config("sync", &["--full"]).await;
    assert_exit(&output, 0);
    assert!(stdout(&output).starts_with("contoso: full sync completed in "), "{}", stdout(&output));

    let organization = bed.exchange.organization();
    assert_eq!(organization.default_access, AccessLevel::Quarantine, "the policy's default is pushed");
    let alice = bed.exchange.mailbox("alice@contoso.test").unwrap();
    assert_eq!(alice.allowed_device_ids, vec!["ApplF17LTTCGFFG8".to_string()]);
    let ipad = bed.exchange.partnership("alice@contoso.test", "ApplDMPH2XYZ0001").unwrap();
    assert_eq!(ipad.state, ExchangeState::Quarantined);
    let erin = bed.exchange.mailbox("erin@contoso.test").unwrap();
    assert_eq!(erin.allowed_device_ids, vec![HOSTILE_DEVICE_ID.to_string()], "the hostile id stays one string");
    assert_eq!(bed.exchange.organization().mailboxes, 4, "no mailbox was removed");
    assert_eq!(mails_to(&bed, "alice@contoso.test"), 1);
    let mail = bed.ews.sent().into_iter().find(|mail| mail.to == "alice@contoso.test").unwrap();
    assert_eq!(mail.disposition, "SendAndSaveCopy");

    let status = status(&bed).await;
    let connector = &status["connectors"][0];
    assert_eq!(connector["status"], "connected", "{status:#}");
    assert!(connector["lastSyncDateTime"].as_str().is_some_and(|at| at.starts_with("20")), "{status:#}");
    assert_eq!(connector["exchangeOrganization"], "contoso");

    // A new unmanaged phone: the dry run shows what a quick sync would do, and does none of it.
    bed.exchange
        .connect_device("alice@contoso.test", &DeviceSpec::new("ApplNEW000000001", "iPhone", "iPhone 16", "iOS 18"))
        .unwrap();
    let log_before = bed.easgate(&["log"]).await.stdout;
    let output = bed.with_config("sync", &["--quick", "--dry-run"]).await;
    assert_exit(&output, 0);
    let text = stdout(&output);
    let block = r#"Set-CASMailbox {"Identity":"alice@contoso.test","ActiveSyncBlockedDeviceIDs":{"Add":["ApplNEW000000001"],"Remove":[]}}"#;
    assert!(text.lines().any(|line| line == block), "{text}");
    assert!(text.contains("mail to alice@contoso.test: "), "{text}");
    assert!(text.contains("contoso: dry run: 1 cmdlet(s) and 1 mail(s) kept back"), "{text}");
    assert_eq!(bed.easgate(&["log"]).await.stdout, log_before, "the dry run recorded nothing");
    assert!(bed.exchange.mailbox("alice@contoso.test").unwrap().blocked_device_ids.is_empty());
    assert_eq!(mails_to(&bed, "alice@contoso.test"), 1);

    let output = bed.with_config("sync", &["--quick", "--format", "json"]).await;
    assert_exit(&output, 0);
    let report = &json_lines(&output)[0];
    assert_eq!((report["kind"].as_str(), report["ok"].as_bool()), (Some("quick"), Some(true)), "{report}");
    assert_eq!(report["counts"]["cmdlets"], 1, "{report}");
    assert_eq!(bed.exchange.mailbox("alice@contoso.test").unwrap().blocked_device_ids, vec!["ApplNEW000000001"]);
    assert_eq!(mails_to(&bed, "alice@contoso.test"), 2);
    assert_exit(&bed.easgate(&["verify"]).await, 0);
}

/// Breaks one thing, runs a quick sync that must fail, checks the connector is disconnected
/// with `reason_part` and that nothing was decided; then a sync that works reconnects it.
async fn fails_without_deciding(bed: &Bed, break_it: impl FnOnce(), reason_part: &str, repair: impl FnOnce()) {
    let decided_before = of_type(&events(bed).await, "AccessDecided").len();
    break_it();
    let output = bed.with_config("sync", &["--quick"]).await;
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("the sync failed for contoso"), "{}", stderr(&output));
    let status = status(bed).await;
    let connector = &status["connectors"][0];
    assert_eq!(connector["status"], "disconnected", "{status:#}");
    let reason = connector["statusReason"].as_str().unwrap_or("");
    assert!(reason.contains(reason_part), "{reason_part:?} not in {reason:?}");
    let after = events(bed).await;
    assert_eq!(of_type(&after, "AccessDecided").len(), decided_before, "nothing is decided from a partial view");
    let devices = bed.easgate(&["devices", "--format", "json"]).await;
    let iphone = json_lines(&devices).into_iter().find(|device| device["device_id"] == "ApplF17LTTCGFFG8").unwrap();
    assert_eq!(iphone["access"], "allowed", "a failed read does not unenrol anyone");
    repair();
    assert_exit(&bed.with_config("sync", &["--quick"]).await, 0);
    assert_eq!(status_of(bed).await, "connected");
}

async fn status_of(bed: &Bed) -> String {
    status(bed).await["connectors"][0]["status"].as_str().unwrap_or("").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_and_failed_reads_disconnect_and_decide_nothing() {
    let bed = Bed::start().await;
    assert_exit(&bed.with_config("sync", &["--full"]).await, 0);
    let graph = &bed.graph;
    // Each fault lasts for one sync's requests: a 401 is retried once with a new token.
    let times =
        |kind, times| ScriptedFault { times: Some(times), ..ScriptedFault::once(FaultTarget::ManagedDevices, kind) };
    let once = |kind| times(kind, 1);
    fails_without_deciding(&bed, || graph.add_fault(once(FaultKind::Forbidden)), "refused the credentials", || {})
        .await;
    fails_without_deciding(
        &bed,
        || graph.add_fault(times(FaultKind::Unauthorized, 2)),
        "refused the credentials",
        || {},
    )
    .await;
    fails_without_deciding(&bed, || graph.add_fault(once(FaultKind::MalformedJson)), "malformed reply", || {}).await;
    let secret = bed.path("graph.secret");
    fails_without_deciding(
        &bed,
        || std::fs::write(&secret, FAKE_EXPIRED_CLIENT_SECRET).unwrap(),
        "refused the credentials",
        || std::fs::write(&secret, easgate::testing::fake_graph::FAKE_CLIENT_SECRET).unwrap(),
    )
    .await;
    let password = bed.path("exchange.secret");
    fails_without_deciding(
        &bed,
        || std::fs::write(&password, "wrong").unwrap(),
        "Exchange refused the credentials",
        || std::fs::write(&password, EXCHANGE_PASSWORD).unwrap(),
    )
    .await;
    assert_exit(&bed.easgate(&["verify"]).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_on_a_new_server_replaces_the_organisations_previous_one() {
    let bed = Bed::start().await;
    assert_exit(&bed.with_config("sync", &["--full"]).await, 0);
    bed.write_config(&bed.config_text().replace("https://127.0.0.1:", "https://localhost:"));
    assert_exit(&bed.with_config("sync", &["--quick"]).await, 0);
    let log = events(&bed).await;
    let registered = of_type(&log, "ConnectorRegistered");
    assert_eq!(registered.len(), 2, "{registered:#?}");
    let (first, second) = (&registered[0]["data"], &registered[1]["data"]);
    assert_eq!(second["replaces"], first["connector_id"]);
    assert_eq!(second["organization"], "contoso");
    let status = status(&bed).await;
    let connectors = status["connectors"].as_array().unwrap();
    let old = connectors.iter().find(|connector| connector["id"] == first["connector_id"]).unwrap();
    assert_eq!(old["replacedBy"], second["connector_id"]);
    let new = connectors.iter().find(|connector| connector["id"] == second["connector_id"]).unwrap();
    assert_eq!(new["status"], "connected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_organisation_gets_its_own_data_directory() {
    let bed = Bed::start().await;
    let fabrikam = contoso_organization();
    fabrikam.ensure_mailbox("dave@contoso.test", "dave@contoso.test").unwrap();
    let fabrikam_psrp = serve_over_psrp(&fabrikam).await;
    let ca = format!(
        "{}\n{}",
        std::fs::read_to_string(bed.path("exchange-ca.pem")).unwrap(),
        fabrikam_psrp.certificate_pem.clone().unwrap()
    );
    std::fs::write(bed.path("exchange-ca.pem"), ca).unwrap();
    let text = bed.config_text();
    let start = text.find("  <Connector>").unwrap();
    let end = text.find("</Connector>").unwrap() + "</Connector>\n".len();
    let second = text[start..end]
        .replace("<ExchangeOrganization>contoso<", "<ExchangeOrganization>fabrikam<")
        .replace(&bed.psrp.url(), &fabrikam_psrp.url());
    bed.write_config(&format!("{}{second}{}", &text[..end], &text[end..]));
    let output = bed.with_config("sync", &["--full"]).await;
    assert_exit(&output, 0);
    let text = stdout(&output);
    assert!(text.contains("contoso: full sync completed") && text.contains("fabrikam: full sync completed"), "{text}");
    for organization in ["contoso", "fabrikam"] {
        let data = bed.data_dir().join(organization);
        let output = easgate_in(&data, &["status", "--format", "json"]).await;
        assert_exit(&output, 0);
        let status: Value = serde_json::from_str(&stdout(&output)).unwrap();
        assert_eq!(status["connectors"][0]["exchangeOrganization"], organization);
        assert_eq!(status["connectors"][0]["status"], "connected");
        assert_exit(&easgate_in(&data, &["verify"]).await, 0);
    }
    assert_eq!(fabrikam.mailbox("alice@contoso.test").unwrap().allowed_device_ids, vec!["ApplF17LTTCGFFG8"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_policy_rules_and_without_a_notification_account_the_log_says_why_no_mail_went() {
    let bed = Bed::start().await;
    let local_policy = format!(
        r#"<Policy Source="Local">
    <Enabled>true</Enabled>
    <IncludedGroups><Group>{}</Group></IncludedGroups>
    <DefaultAccessLevel>Block</DefaultAccessLevel>
    <OverrideDefaultRule>true</OverrideDefaultRule>
  </Policy>"#,
        easgate::testing::fake_graph_data::CONTOSO_INCLUDED_GROUP
    );
    let text = bed.config_text().replace(r#"<Policy Source="Graph"/>"#, &local_policy);
    let start = text.find("    <Notification ").unwrap();
    let end = text.find("</Notification>\n").unwrap() + "</Notification>\n".len();
    bed.write_config(&format!("{}{}", &text[..start], &text[end..]));
    let output = bed.with_config("sync", &["--full"]).await;
    assert_exit(&output, 0);
    assert_eq!(bed.exchange.organization().default_access, AccessLevel::Block, "the local policy's default is pushed");
    assert!(bed.exchange.organization().rules.is_empty(), "the local policy has no access rules");
    let log = events(&bed).await;
    let applied = of_type(&log, "PolicyApplied");
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0]["data"]["default_access"], "block");
    let failed = of_type(&log, "NotificationFailed");
    let mut devices: Vec<&str> = failed.iter().map(|event| event["data"]["device_id"].as_str().unwrap()).collect();
    devices.sort_unstable();
    // Without an excluded group bob is targeted too: his noncompliant Galaxy is denied.
    assert_eq!(devices, vec!["ApplDMPH2XYZ0001", "androidc1234567890"], "{failed:#?}");
    for event in failed {
        assert!(event["data"]["error"].as_str().unwrap().contains("no notification account configured"), "{event}");
        assert_eq!(event["data"]["retryable"], false);
    }
    assert!(bed.ews.sent().is_empty());
}
