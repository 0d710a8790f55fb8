//! `easgate check --config FILE` against Graph-, EWS- and WinRM-shaped endpoints on loopback:
//! a checklist that passes, then fails naming the broken item; a file that does not parse is
//! exit 2 with its line and column.

mod daemon_support;

use daemon_support::*;
use easgate::testing::fake_graph::{FAKE_EXPIRED_CLIENT_SECRET, FaultKind, FaultTarget, ScriptedFault};

fn lines_with<'a>(text: &'a str, status: &str) -> Vec<&'a str> {
    text.lines().filter(|line| line.starts_with(status)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checklist_passes_then_names_what_broke() {
    let bed = Bed::start().await;
    let output = bed.with_config("check", &[]).await;
    assert_exit(&output, 0);
    let text = stdout(&output);
    assert!(lines_with(&text, "FAIL").is_empty(), "{text}");
    for expected in [
        "ok    Configuration: ",
        "ok    Tenant / token",
        "ok    Tenant / managedDevices: 7 record(s) in 1 page(s)",
        "ok    Tenant / users: 5 record(s)",
        "ok    Policy: Graph policy: default quarantine, override true, 2 access rule(s)",
        "ok    Policy / included group 5f1c2a9e-2b7d-4c1e-9a53-0d8f6b1e7a01: resolves: 4 user(s)",
        "ok    Exchange contoso / connect: https://127.0.0.1:",
        "(PSRP protocol 2.",
        "warn  Exchange contoso / Client Access Servers: cas1.contoso.com (Version 15.2 (Build 1544.4)): failover is on, but",
        "ok    Exchange contoso / cmdlet Clear-ActiveSyncDevice: available",
        "ok    Exchange contoso / cmdlet Set-ADServerSettings: available",
        "ok    EWS contoso / URL: https://127.0.0.1:",
        "ok    EWS contoso / account: notify@contoso.test is accepted",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    let cmdlet_lines = text.lines().filter(|line| line.contains("Exchange contoso / cmdlet ")).count();
    assert_eq!(cmdlet_lines, 21, "{text}");

    bed.exchange.withhold_cmdlet("Clear-ActiveSyncDevice").unwrap();
    let output = bed.with_config("check", &[]).await;
    assert_exit(&output, 1);
    let failures = lines_with(&stdout(&output), "FAIL").join("\n");
    assert!(
        failures.starts_with(
            "FAIL  Exchange contoso / cmdlet Clear-ActiveSyncDevice: not available to CONTOSO\\svc-easgate -> grant"
        ),
        "{failures}"
    );
    assert_eq!(failures.lines().count(), 1, "{failures}");
    assert!(stderr(&output).contains("1 check(s) failed: Exchange contoso / cmdlet Clear-ActiveSyncDevice"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_are_failures_that_say_what_to_do() {
    let bed = Bed::start().await;
    std::fs::write(bed.path("graph.secret"), FAKE_EXPIRED_CLIENT_SECRET).unwrap();
    std::fs::write(bed.path("exchange.secret"), "not-the-password").unwrap();
    std::fs::write(bed.path("notify.secret"), "not-the-password-either").unwrap();
    let output = bed.with_config("check", &["--format", "json"]).await;
    assert_exit(&output, 1);
    let failed: Vec<serde_json::Value> =
        json_lines(&output).into_iter().filter(|item| item["status"] == "FAIL").collect();
    let subjects: Vec<&str> = failed.iter().map(|item| item["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects.len(), 3, "{failed:#?}");
    assert!(subjects[0].starts_with("Tenant / token"), "{subjects:?}");
    assert!(failed[0]["message"].as_str().unwrap().contains("refused the credentials"), "{failed:#?}");
    assert!(failed[0]["fix"].as_str().unwrap().contains("expired?"));
    assert!(subjects[1].starts_with("Exchange contoso / connect"), "{subjects:?}");
    assert!(failed[1]["fix"].as_str().unwrap().contains("<PasswordFile>"));
    assert_eq!(subjects[2], "EWS contoso / account notify@contoso.test");
    assert!(failed[2]["message"].as_str().unwrap().contains("refused the account"), "{failed:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_graph_read_and_an_unsupported_authentication_are_named() {
    let bed = Bed::start().await;
    bed.graph.add_fault(ScriptedFault::always(FaultTarget::ManagedDevices, FaultKind::NextLinkLoop));
    bed.write_config(
        &bed.config_text()
            .replace("<Authentication>Basic</Authentication>", "<Authentication>Kerberos</Authentication>")
            // Kerberos needs the realm: a bare account name cannot be used.
            .replace(&format!("<User>{EXCHANGE_USER}</User>"), "<User>svc-easgate</User>"),
    );
    let output = bed.with_config("check", &[]).await;
    assert_exit(&output, 1);
    let failures = lines_with(&stdout(&output), "FAIL").join("\n");
    assert!(failures.contains("FAIL  Tenant / read (http://127.0.0.1:"), "{failures}");
    assert!(failures.contains("managedDevices: page 2 links back to an earlier page"), "{failures}");
    assert!(
        failures
            .contains("FAIL  Exchange contoso / connector: Connector contoso / <User>: unusable Kerberos user name"),
        "{failures}"
    );
    // `sync` and `run` refuse the same file at once (exit 2), naming the element.
    let output = bed.with_config("sync", &["--full"]).await;
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("Connector contoso / <User>: unusable Kerberos"), "{}", stderr(&output));
    let output = bed.with_config("run", &[]).await;
    assert_exit(&output, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_does_not_parse_is_exit_2_with_line_and_column() {
    let bed = Bed::start().await;
    let text = bed.config_text().replace(
        "    <QuickSyncIntervalSeconds>60</QuickSyncIntervalSeconds>",
        "    <QuickSyncIntervalSecs>60</QuickSyncIntervalSecs>",
    );
    bed.write_config(&text);
    let output = bed.with_config("check", &[]).await;
    assert_exit(&output, 2);
    let error = stderr(&output);
    let expected_line = text.lines().position(|line| line.contains("QuickSyncIntervalSecs")).unwrap() + 1;
    assert!(error.contains(&format!("easgate.xml: line {expected_line}, column 5")), "{error}");
    assert!(error.contains("QuickSyncIntervalSecs"), "{error}");
    assert!(stdout(&output).is_empty());
}
