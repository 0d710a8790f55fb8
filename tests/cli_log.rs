//! The README's walk through the log, with the binary: import a recorded history, list the
//! devices, ask `audit` why a phone is where it is, replay to an earlier seq, verify, and watch
//! `verify` (and every other command) refuse a damaged log. Bad imports change nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn easgate(data: &Path, arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_easgate"))
        .arg("--data")
        .arg(data)
        .args(arguments)
        .env_remove("EASGATE_DATA")
        .output()
        .expect("easgate runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn history(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("replay/histories").join(name)
}

fn imported(name: &str) -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let output =
        easgate(&directory.path().join("data"), &["log", "import", history(name).to_str().expect("utf-8 path")]);
    assert!(output.status.success(), "import failed: {}", stderr(&output));
    directory
}

#[test]
fn an_imported_history_is_listed_audited_replayed_and_verified() {
    let directory = imported("ten_step_walk.jsonl");
    let data = directory.path().join("data");

    let devices = easgate(&data, &["devices", "--format", "json"]);
    assert!(devices.status.success(), "{}", stderr(&devices));
    let device: serde_json::Value = serde_json::from_str(stdout(&devices).trim()).expect("one JSON object per device");
    assert_eq!(device["device_id"], "ApplF17LTTCGFFG8");
    assert_eq!(device["access"], "allowed");
    assert_eq!(device["flow_step"], 10);
    assert_eq!(device["flow_step_name"], "access_granted");
    for field in [
        "mailbox",
        "device_type",
        "device_model",
        "device_os",
        "reason",
        "exchange_state",
        "managed_device_id",
        "compliance",
        "targeted",
        "last_event_seq",
    ] {
        assert!(device.get(field).is_some(), "the device object has {field}");
    }

    let audit = easgate(&data, &["audit", "applf17lttcgffg8"]);
    let text = stdout(&audit);
    assert!(audit.status.success(), "{}", stderr(&audit));
    assert!(text.contains("quarantined (not_enrolled) because targeted yes, enrolled no"), "{text}");
    assert!(
        text.contains(
            "allowed (compliant) because targeted yes, enrolled yes, EAS id linked yes, compliance compliant"
        ),
        "{text}"
    );
    assert!(text.contains("Set-CASMailbox"), "the cmdlet is part of the device's audit: {text}");

    // Back to just after the first sync: the phone was quarantined and its user mailed.
    let replay = easgate(&data, &["replay", "--until", "16", "--device", "ApplF17LTTCGFFG8", "--format", "json"]);
    let earlier: serde_json::Value = serde_json::from_str(stdout(&replay).trim()).expect("the device then");
    assert_eq!((earlier["access"].as_str(), earlier["flow_step"].as_u64()), (Some("quarantined"), Some(3)));
    let trace = easgate(&data, &["replay", "--device", "ApplF17LTTCGFFG8", "--trace"]);
    assert!(stdout(&trace).lines().filter(|line| line.starts_with("seq ")).count() >= 8, "{}", stdout(&trace));

    let verify = easgate(&data, &["verify"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
    assert!(stdout(&verify).starts_with("ok: 35 records"), "{}", stdout(&verify));
}

#[test]
fn a_flipped_byte_is_caught_by_verify_and_refused_by_every_command() {
    let directory = imported("fall_off_and_back.jsonl");
    let data = directory.path().join("data");
    let database = data.join("log/db");
    let mut bytes = std::fs::read(&database).expect("sled's file");
    // Every copy of a record's text: whichever sled reads, it is damaged.
    let needle = b"nina@contoso.com";
    let positions: Vec<usize> =
        bytes.windows(needle.len()).enumerate().filter(|(_, window)| *window == needle).map(|(at, _)| at).collect();
    assert!(!positions.is_empty(), "the records are in the file");
    for position in positions {
        bytes[position + 2] ^= 0x20;
    }
    std::fs::write(&database, &bytes).expect("damaged");

    let verify = easgate(&data, &["verify"]);
    assert_eq!(verify.status.code(), Some(1), "verify fails: {}", stdout(&verify));
    let message = stderr(&verify);
    assert_eq!(message.lines().count(), 1, "one line: {message}");
    assert!(message.contains("seq") || message.contains("unreadable"), "{message}");
    for command in [&["devices"][..], &["status"], &["audit", "NINAPHONE"], &["log"], &["replay"]] {
        let output = easgate(&data, command);
        assert_eq!(output.status.code(), Some(1), "{command:?} refuses");
        assert_eq!(stderr(&output), message, "{command:?} says the same");
        assert!(stdout(&output).is_empty(), "{command:?} shows nothing of a damaged log");
    }
}

#[test]
fn a_malformed_line_or_an_unknown_type_imports_nothing_and_names_the_line_and_field() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let good = std::fs::read_to_string(history("handwritten_minimal.jsonl")).expect("the history");
    let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
    lines[4] = lines[4].replace("\"device_id\":\"ZOEIPHONE\"", "\"device_id\":42");
    let bad_field = directory.path().join("bad_field.jsonl");
    std::fs::write(&bad_field, lines.join("\n")).expect("written");
    let data = directory.path().join("data");
    let output = easgate(&data, &["log", "import", bad_field.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("line 5") && message.contains("data.device_id"), "{message}");
    assert!(!data.exists(), "nothing imported");

    let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
    lines[9] = lines[9].replace("EasIdRegistered", "EasIdTeleported");
    let unknown = directory.path().join("unknown.jsonl");
    std::fs::write(&unknown, lines.join("\n")).expect("written");
    let output = easgate(&data, &["log", "import", unknown.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("line 10") && stderr(&output).contains("EasIdTeleported"), "{}", stderr(&output));
    assert!(!data.exists(), "nothing imported");

    let not_json = directory.path().join("not_json.jsonl");
    std::fs::write(&not_json, format!("{}\n{{\"seq\":2,\"type\":", lines[0])).expect("written");
    let output = easgate(&data, &["log", "import", not_json.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("line 2"), "{}", stderr(&output));
}

#[test]
fn a_data_directory_from_a_newer_easgate_is_refused() {
    let directory = imported("handwritten_minimal.jsonl");
    let data = directory.path().join("data");
    let format = data.join("FORMAT");
    let text = std::fs::read_to_string(&format).expect("FORMAT");
    let newer: String =
        text.chars().map(|character| if character.is_ascii_digit() { '9' } else { character }).collect();
    std::fs::write(&format, newer).expect("written");
    for command in [&["devices"][..], &["verify"]] {
        let output = easgate(&data, command);
        assert_eq!(output.status.code(), Some(2), "{command:?}");
        assert!(stderr(&output).contains("newer"), "{}", stderr(&output));
    }
}

#[test]
fn commands_on_a_missing_data_directory_say_so() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let output = easgate(&directory.path().join("nothing"), &["devices"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no easgate data"), "{}", stderr(&output));
}
