//! `easgate simulate` as a user runs it: per-step output, JSON objects per step, exit 1 for a
//! failed expectation, exit 2 naming file:line and field for a malformed scenario or an unknown
//! device, and `--data` left behind for the other commands.

use std::path::Path;
use std::process::{Command, Output};

fn easgate(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_easgate"))
        .args(arguments)
        .env_remove("EASGATE_DATA")
        .output()
        .expect("easgate runs")
}

fn scenario(directory: &Path, name: &str, lines: &[&str]) -> String {
    let path = directory.join(name);
    std::fs::write(&path, lines.join("\n")).expect("written");
    path.to_str().expect("utf-8").to_string()
}

const SETUP: [&str; 4] = [
    r#"{"do":"org","name":"contoso","cas":["cas1"],"default_access":"allow"}"#,
    r#"{"do":"policy","enabled":true,"included_groups":["mobile"],"default_access":"quarantine"}"#,
    r#"{"do":"user","upn":"alice@contoso.com","groups":["mobile"]}"#,
    r#"{"do":"connect","upn":"alice@contoso.com","device_id":"PHONE1","device_type":"iPhone","device_model":"iPhone15,2","device_os":"iOS 17.1"}"#,
];

#[test]
fn json_output_has_one_object_a_step_with_what_a_sync_did() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let mut lines = SETUP.to_vec();
    lines.push(r#"{"do":"sync","kind":"full"}"#);
    lines.push(r#"{"do":"expect","device_id":"PHONE1","access":"quarantined","reason":"not_enrolled"}"#);
    let file = scenario(directory.path(), "ok.jsonl", &lines);
    let output = easgate(&["simulate", &file, "--format", "json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let objects: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object a line"))
        .collect();
    assert_eq!(objects.len(), 6);
    let sync = &objects[4];
    assert_eq!(
        (sync["do"].as_str(), sync["kind"].as_str(), sync["ok"].as_bool()),
        (Some("sync"), Some("full"), Some(true))
    );
    for field in ["duration_ms", "cmdlets", "reads", "devices"] {
        assert!(sync[field].is_u64(), "a sync step carries {field}: {sync}");
    }
    assert_eq!(sync["devices"], 1);
    assert_eq!(objects[5]["ok"], true);
}

#[test]
fn a_failed_expectation_is_exit_1_with_expected_and_actual() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let mut lines = SETUP.to_vec();
    lines.push(r#"{"do":"sync","kind":"full"}"#);
    lines.push(r#"{"do":"expect","device_id":"PHONE1","access":"allowed"}"#);
    let file = scenario(directory.path(), "fails.jsonl", &lines);
    let output = easgate(&["simulate", &file, "--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    let last: serde_json::Value = serde_json::from_str(text.lines().last().expect("a line")).expect("JSON");
    assert_eq!(last["ok"], false);
    assert_eq!(last["expected"]["access"], "allowed");
    assert_eq!(last["actual"]["access"], "quarantined");
}

#[test]
fn a_bad_line_is_exit_2_naming_file_line_and_field_before_anything_runs() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let data = directory.path().join("data");
    let mut lines = SETUP.to_vec();
    lines.push(r#"{"do":"sync","kind":"sideways"}"#);
    let file = scenario(directory.path(), "bad.jsonl", &lines);
    let output = easgate(&["--data", data.to_str().expect("utf-8"), "simulate", &file]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("bad.jsonl:5") && message.contains("`kind`"), "{message}");
    assert!(!data.exists(), "nothing ran");
}

#[test]
fn a_step_naming_an_unknown_device_is_exit_2() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let mut lines = SETUP.to_vec();
    lines.push(r#"{"do":"enroll","device_id":"NOSUCHPHONE"}"#);
    let file = scenario(directory.path(), "unknown.jsonl", &lines);
    let output = easgate(&["simulate", &file]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("unknown.jsonl:5") && message.contains("NOSUCHPHONE"), "{message}");
}

#[test]
fn the_data_directory_is_left_for_the_other_commands() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let data = directory.path().join("data");
    let mut lines = SETUP.to_vec();
    lines.push(r#"{"do":"sync","kind":"full"}"#);
    let file = scenario(directory.path(), "keep.jsonl", &lines);
    assert!(easgate(&["--data", data.to_str().expect("utf-8"), "simulate", &file]).status.success());
    let devices = easgate(&["--data", data.to_str().expect("utf-8"), "devices"]);
    assert!(String::from_utf8_lossy(&devices.stdout).contains("PHONE1"));
    let again = easgate(&["--data", data.to_str().expect("utf-8"), "simulate", &file]);
    assert_eq!(again.status.code(), Some(2), "a simulation never writes over a data directory");
}
