//! Every recorded history under replay/histories is imported the way `easgate log import` does
//! and folded into a projection, which must equal its golden file (`<name>.expected`).
//! `UPDATE_EXPECT=1 cargo test --test replay_histories` rewrites the golden files.

use std::fs;
use std::path::{Path, PathBuf};

use easgate::domain::projection::flow::step_name;
use easgate::store::{ImportDefaults, OpenMode, Store};

fn histories() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("replay/histories");
    let mut files: Vec<PathBuf> = fs::read_dir(&directory)
        .expect("replay/histories exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "jsonl"))
        .collect();
    files.sort();
    files
}

/// The projection as the golden file shows it: one line per partnership, then the totals.
fn render(history: &Path) -> String {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let mut store = Store::open(directory.path(), OpenMode::Full).expect("a fresh store");
    let mut counter = 0u128;
    let mut new_event_id = || {
        counter += 1;
        uuid::Uuid::from_u128(counter)
    };
    let input = std::io::BufReader::new(fs::File::open(history).expect("the history"));
    store
        .import_json_lines(input, ImportDefaults { recorded_at_us: 0, new_event_id: &mut new_event_id })
        .unwrap_or_else(|error| panic!("{}: {error}", history.display()));
    let projection = easgate::data::load_projection(&store).expect("the projection");
    let mut text = String::new();
    for device in projection.current_devices() {
        text.push_str(&format!(
            "{} {} access={} reason={} step={} ({}) exchange={} ({}) compliance={} targeted={} episode={}\n",
            device.mailbox,
            device.device_id,
            device.access.map(|access| access.as_str()).unwrap_or("-"),
            device.reason.map(|reason| reason.as_str()).unwrap_or("-"),
            device.flow_step,
            step_name(device.flow_step).unwrap_or("-"),
            device.exchange_state.as_str(),
            device.exchange_reason.as_str(),
            projection.compliance_of(device).as_str(),
            device.inputs.as_ref().is_some_and(|inputs| inputs.targeted),
            device.episode,
        ));
    }
    let counts = projection.counts_by_access();
    text.push_str(&format!("counts {counts:?}\n"));
    text.push_str(&format!(
        "events={} pending_cmdlets={} pending_notifications={} anomalies={}\n",
        projection.event_count,
        projection.pending_commands.len(),
        projection.pending_notifications.len(),
        projection.anomaly_count
    ));
    text
}

#[test]
fn every_recorded_history_replays_to_its_expected_projection() {
    let files = histories();
    assert!(files.len() >= 6, "the recorded histories are there");
    let update = std::env::var("UPDATE_EXPECT").is_ok_and(|value| value == "1");
    let mut failures = Vec::new();
    for history in files {
        let actual = render(&history);
        let expected_path = history.with_extension("expected");
        if update {
            fs::write(&expected_path, &actual).expect("the golden file is writable");
            continue;
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!("{}:\n--- expected\n{expected}--- actual\n{actual}", history.display()));
        }
    }
    assert!(failures.is_empty(), "{}\n(UPDATE_EXPECT=1 regenerates)", failures.join("\n"));
}
