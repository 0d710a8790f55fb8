//! `easgate run` as a child process against loopback Graph, EWS and remote PowerShell: the
//! first (full) sync, `easgate status` through the admin API while the daemon holds the data
//! directory, the Graph-shaped connector resources, a sync triggered through the API, and a
//! clean stop on SIGTERM (a running sync finishes first; the log verifies; no daemon.json left).

mod daemon_support;

use std::time::Duration;

use daemon_support::*;
use easgate::daemon::daemon_file::{DaemonFile, daemon_file_path};
use easgate::sim::exchange::DeviceSpec;
use easgate::testing::fake_graph::FAKE_CLIENT_SECRET;
use serde_json::{Value, json};

/// Polls of 100 ms before a wait gives up (60 s).
const POLLS_MAX: u32 = 600;

struct Daemon {
    child: tokio::process::Child,
    file: DaemonFile,
    log_path: std::path::PathBuf,
    http: reqwest::Client,
}

impl Daemon {
    async fn start(bed: &Bed) -> Daemon {
        let log_path = bed.path("daemon.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_easgate"))
            .arg("--data")
            .arg(bed.data_dir())
            .args(["run", "--config"])
            .arg(bed.config_path())
            .args(["--log-format", "json"])
            .env_remove("EASGATE_DATA")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("easgate run starts");
        let mut file = None;
        for _ in 0..POLLS_MAX {
            if let Ok(Some(found)) = DaemonFile::read(&bed.data_dir()) {
                file = Some(found);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let file =
            file.unwrap_or_else(|| panic!("no daemon.json; log:\n{}", std::fs::read_to_string(&log_path).unwrap()));
        Daemon { child, file, log_path, http: reqwest::Client::builder().no_proxy().build().unwrap() }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.file.admin_listen.as_deref().expect("the admin API listens"))
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the admin API answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post_sync(&self, connector_id: &str, body: &str) -> u16 {
        let url = self.url(&format!("/deviceManagement/exchangeConnectors/{connector_id}/sync"));
        let response = self.http.post(url).bearer_auth(ADMIN_TOKEN).body(body.to_string()).send().await.unwrap();
        response.status().as_u16()
    }

    /// Polls `/status` until `ready` holds.
    async fn wait_for_status(&self, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..POLLS_MAX {
            let (code, status) = self.get("/status", Some(ADMIN_TOKEN)).await;
            if code == 200 && ready(&status) {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {what}; log:\n{}", self.log())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// SIGTERM, then the exit code.
    async fn terminate(&mut self) -> i32 {
        let pid = self.child.id().expect("running").to_string();
        let killed = tokio::process::Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
        assert!(killed.success());
        let status =
            tokio::time::timeout(Duration::from_secs(120), self.child.wait()).await.expect("it stops").unwrap();
        status.code().unwrap_or(-1)
    }
}

fn last_sync_kind(status: &Value) -> Option<&str> {
    status["last_sync"]["kind"].as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_syncs_serves_its_api_and_stops_cleanly() {
    let bed = Bed::start().await;
    let mut daemon = Daemon::start(&bed).await;
    let connector_id = daemon.file.connector_id.clone();
    assert_eq!(daemon.file.token_file.as_deref(), Some(bed.path("admin.token").to_str().unwrap()));
    daemon.wait_for_status("the first sync", |status| last_sync_kind(status) == Some("full")).await;

    // `easgate status` cannot open the directory the daemon holds: it asks the admin API.
    let output = bed.easgate(&["status", "--format", "json"]).await;
    assert_exit(&output, 0);
    let status: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let connector = &status["connectors"][0];
    assert_eq!(
        (connector["id"].as_str(), connector["status"].as_str()),
        (Some(connector_id.as_str()), Some("connected"))
    );
    assert!(connector["lastSyncDateTime"].as_str().is_some_and(|at| at.starts_with("20")), "{status:#}");
    let table = stdout(&bed.easgate(&["status"]).await);
    assert!(table.contains("connected") && table.contains("contoso"), "{table}");
    // One writer: a second process cannot sync the directory the daemon holds.
    let output = bed.with_config("sync", &["--quick"]).await;
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("is in use by another easgate process"), "{}", stderr(&output));

    assert_eq!(daemon.get("/deviceManagement/exchangeConnectors", None).await.0, 401);
    assert_eq!(daemon.get("/deviceManagement/exchangeConnectors", Some("wrong")).await.0, 401);
    let (code, list) = daemon.get("/deviceManagement/exchangeConnectors", Some(ADMIN_TOKEN)).await;
    assert_eq!(code, 200);
    let resource = &list["value"][0];
    assert_eq!(resource["@odata.type"], "#microsoft.graph.deviceManagementExchangeConnector");
    assert_eq!(
        (resource["id"].as_str(), resource["status"].as_str()),
        (Some(connector_id.as_str()), Some("connected"))
    );
    assert_eq!(resource["exchangeConnectorType"], "onPremises");
    let (code, single) =
        daemon.get(&format!("/deviceManagement/exchangeConnectors/{connector_id}"), Some(ADMIN_TOKEN)).await;
    assert_eq!((code, &single), (200, resource));
    let (code, missing) = daemon.get("/deviceManagement/exchangeConnectors/nope", Some(ADMIN_TOKEN)).await;
    assert_eq!((code, missing["error"]["code"].as_str()), (404, Some("ResourceNotFound")));

    // A new unmanaged phone, and a quick sync asked for through the API: it gets blocked.
    bed.exchange
        .connect_device("alice@contoso.test", &DeviceSpec::new("ApplNEW000000001", "iPhone", "iPhone 16", "iOS 18"))
        .unwrap();
    assert_eq!(daemon.post_sync(&connector_id, r#"{"syncType":"fastSync"}"#).await, 400);
    assert_eq!(daemon.post_sync("nope", r#"{"syncType":"deltaSync"}"#).await, 404);
    assert_eq!(daemon.post_sync(&connector_id, r#"{"syncType":"deltaSync"}"#).await, 204);
    daemon.wait_for_status("the requested sync", |status| last_sync_kind(status) == Some("quick")).await;
    assert_eq!(bed.exchange.mailbox("alice@contoso.test").unwrap().blocked_device_ids, vec!["ApplNEW000000001"]);

    assert_eq!(daemon.terminate().await, 0, "log:\n{}", daemon.log());
    assert!(!daemon_file_path(&bed.data_dir()).exists(), "daemon.json is removed at a clean exit");
    assert_exit(&bed.easgate(&["verify"]).await, 0);
    let log = daemon.log();
    let lines: Vec<Value> = log.lines().map(|line| serde_json::from_str(line).expect("JSON log lines")).collect();
    assert!(lines.iter().any(|line| line["message"] == "sync completed" && line["kind"] == "quick"), "{log}");
    assert!(lines.iter().any(|line| line["message"] == "stopped cleanly"), "{log}");
    for secret in [ADMIN_TOKEN, EXCHANGE_PASSWORD, NOTIFY_PASSWORD, FAKE_CLIENT_SECRET] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_sync_finishes_before_the_daemon_stops() {
    let bed = Bed::start().await;
    let mut daemon = Daemon::start(&bed).await;
    daemon.wait_for_status("the first sync", |status| last_sync_kind(status) == Some("full")).await;
    bed.exchange.set_latency(Duration::from_millis(200));
    let body = json!({"syncType": "fullSync"}).to_string();
    assert_eq!(daemon.post_sync(&daemon.file.connector_id.clone(), &body).await, 204);
    daemon.wait_for_status("the sync to run", |status| !status["running_sync"].is_null()).await;
    assert_eq!(daemon.terminate().await, 0, "log:\n{}", daemon.log());
    let output = bed.easgate(&["log"]).await;
    let types: Vec<String> =
        json_lines(&output).iter().map(|event| event["type"].as_str().unwrap().to_string()).collect();
    let started = types.iter().filter(|kind| *kind == "SyncStarted").count();
    let ended = types.iter().filter(|kind| *kind == "SyncCompleted" || *kind == "SyncFailed").count();
    assert_eq!((started, ended), (2, 2), "{types:?}");
    assert_eq!(types.iter().rev().find(|kind| kind.starts_with("Sync")).map(String::as_str), Some("SyncCompleted"));
    assert_exit(&bed.easgate(&["verify"]).await, 0);
    assert!(!daemon_file_path(&bed.data_dir()).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_stops_the_running_sync_and_the_log_still_verifies() {
    let bed = Bed::start().await;
    let mut daemon = Daemon::start(&bed).await;
    daemon.wait_for_status("the first sync", |status| last_sync_kind(status) == Some("full")).await;
    bed.exchange.set_latency(Duration::from_secs(3));
    let body = json!({"syncType": "fullSync"}).to_string();
    assert_eq!(daemon.post_sync(&daemon.file.connector_id.clone(), &body).await, 204);
    daemon.wait_for_status("the sync to run", |status| !status["running_sync"].is_null()).await;
    let pid = daemon.child.id().unwrap().to_string();
    let signal = || tokio::process::Command::new("kill").args(["-TERM", &pid]).status();
    assert!(signal().await.unwrap().success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    assert_eq!(daemon.terminate().await, 0, "log:\n{}", daemon.log());
    assert!(started.elapsed() < Duration::from_secs(3), "the sync was stopped, not waited for");
    assert!(daemon.log().contains("sync abandoned: shutdown forced"), "{}", daemon.log());
    assert_exit(&bed.easgate(&["verify"]).await, 0);
    assert!(!daemon_file_path(&bed.data_dir()).exists());
    bed.exchange.set_latency(Duration::ZERO);
    assert_exit(&bed.with_config("sync", &["--quick"]).await, 0);
}
