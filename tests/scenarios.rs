//! Every scenario under replay/scenarios runs through `easgate simulate`'s runner, in process,
//! and every expectation in it holds.

#[path = "common/scenarios.rs"]
mod common;

use common::{check, scenario_files};
use easgate::scenario::world::Transport;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_passes_in_process() {
    let files = scenario_files();
    assert!(files.len() >= 20, "one scenario per decision row and the walks");
    let mut failures = Vec::new();
    for file in &files {
        failures.extend(check(file, Transport::InProcess).await);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A crash between an intent and its outcome leaves a pending command holding only what the
/// outcome settles; recovery reads the call back from the log at the intent's seq and settles it
/// by reading Exchange, naming the cmdlet and what it saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_reads_a_crashed_intent_back_from_the_log_and_settles_it() {
    use easgate::domain::Event;
    use easgate::scenario::run::run_steps;
    use easgate::scenario::step::parse_file;
    use easgate::scenario::world::World;
    use easgate::store::{OpenMode, Store};

    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("replay/scenarios/crash_mid_sync.jsonl");
    let steps = parse_file(&file).expect("the scenario parses");
    // Up to the crash and the restart that recovers (the rest syncs again).
    let crash = steps.iter().position(|located| located.line == 15).expect("the crash step");
    let directory = tempfile::tempdir().expect("a temporary directory");
    let mut world = World::new(directory.path(), Transport::InProcess);
    let outcomes = run_steps(&mut world, &steps[..=crash]).await.map_err(|(_, error)| error.detail).unwrap();
    assert!(outcomes.iter().all(|outcome| outcome.ok));
    world.stop_engine().expect("a clean shutdown");

    let store = Store::open(directory.path(), OpenMode::Tail).expect("the log opens");
    let events: Vec<_> = store.events_from(1).unwrap().map(|event| event.unwrap()).collect();
    let intents: Vec<_> = events
        .iter()
        .filter_map(|recorded| match &recorded.event {
            Event::CmdletRequested(intent) => Some(intent.command_id),
            _ => None,
        })
        .collect();
    let reconciled: Vec<_> = events
        .iter()
        .filter_map(|recorded| match &recorded.event {
            Event::CmdletReconciled(reconciled) => Some(reconciled),
            _ => None,
        })
        .collect();
    assert!(!reconciled.is_empty(), "the crash left an intent without an outcome");
    for settled in reconciled {
        assert!(intents.contains(&settled.command_id));
        assert_eq!(settled.cmdlet, "Set-CASMailbox", "the call was read back: {settled:?}");
        assert!(settled.observed.starts_with("allowed ["), "Exchange was read: {settled:?}");
    }
    let projection = easgate::data::load_projection(&store).unwrap();
    assert!(projection.pending_commands.is_empty(), "every intent is settled");
}
