//! Benchmarks of the log: durable appends against raw sled, replay against a raw scan, restart
//! with and without a snapshot, and the memory of a projection of 100,000 devices.

use std::path::Path;
use std::time::Instant;

use crate::cli::CliError;
use crate::cli::bench::history::{build_history, history_event};
use crate::cli::bench::{RUNS, failed, median, memory_mb, report, seconds};
use crate::cli::output::print;
use crate::domain::projection::Projection;
use crate::store::measure::{self, build_log};
use crate::store::{OpenMode, Store};

fn temporary() -> Result<tempfile::TempDir, CliError> {
    tempfile::tempdir().map_err(|error| CliError::Failed(format!("bench: a temporary directory: {error}")))
}

/// Durable appends, one flush per batch of 1,000, against raw sled with the same flushes.
pub fn append(scale: u64) -> Result<(), CliError> {
    let batches = 100 * scale;
    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let directory = temporary()?;
        let store_run = measure::durable_append(&directory.path().join("store"), batches, 1_000, None)
            .map_err(|error| failed("append")(error.to_string()))?;
        let raw_run = measure::raw_sled_append(&directory.path().join("raw"), batches, 1_000, 150, 0)
            .map_err(|error| failed("append")(error.to_string()))?;
        ours.push(store_run.items_per_second());
        raw.push(raw_run.items_per_second());
    }
    let (ours, raw) = (median(&ours), median(&raw));
    report("append: easgate store, flush per 1,000", ours, "events/s", &format!("{:.2}x raw sled", ours / raw));
    report("append: raw sled, same flushes", raw, "records/s", "baseline");
    Ok(())
}

/// Rebuilding the projection from the log against a raw scan of the same sled tree, for three
/// shapes of log: a new device every three events (the projection grows all along), a long
/// history of a 100,000-partnership organisation (each event updates a device already known),
/// and (at scale 1) the log of a whole organisation's onboarding as the sync engine writes it.
pub fn replay(scale: u64) -> Result<(), CliError> {
    let events = 300_000 * scale;
    let directory = temporary()?;
    build_log(directory.path(), events, None, 0).map_err(|error| failed("replay")(error.to_string()))?;
    replay_against_raw_scan(directory.path(), &format!("replay: {events} events, a new device every 3"))?;
    let directory = temporary()?;
    let history_events = 1_000_000 * scale;
    build_history(directory.path(), history_events, RESTART_DEVICES)
        .map_err(|error| failed("replay")(error.to_string()))?;
    replay_against_raw_scan(directory.path(), &format!("replay: {history_events} events over 100,000 devices"))?;
    // The log the sync engine writes onboarding a whole organisation: users, mailboxes, managed
    // devices and decisions, about ten events per partnership, nearly all of them creating
    // state. Its size is the scenario's whatever the scale, so it runs at scale 1 only.
    if scale == 1 {
        let directory = temporary()?;
        let events = build_realistic_organization(directory.path(), "replay")?;
        replay_against_raw_scan(directory.path(), &format!("replay: realistic organisation, {events} events"))?;
    }
    Ok(())
}

/// Runs of each replay and of its raw scan: both threads of a fold share the machine with
/// whatever else runs, so single runs moved ±15% on the 2-core VM; 5 interleaved pairs keep the
/// medians steadier than `RUNS` (a pair costs well under a second).
const REPLAY_RUNS: usize = 5;

fn replay_against_raw_scan(directory: &Path, name: &str) -> Result<(), CliError> {
    let store = Store::open(directory, OpenMode::Tail).map_err(|error| failed("replay")(error.to_string()))?;
    let (mut ours, mut unfolded, mut raw) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..REPLAY_RUNS {
        let raw_run = measure::raw_sled_scan(&store).map_err(|error| failed("replay")(error.to_string()))?;
        raw.push(raw_run.items_per_second());
        let started = Instant::now();
        // The path `easgate` itself takes at start (open_journal, load_projection).
        let mut projection = Projection::default();
        crate::data::fold_log(&store, &mut projection).map_err(|error| failed("replay")(error.to_string()))?;
        ours.push(projection.event_count as f64 / seconds(started.elapsed()));
        // The same read with nothing folded: what the log's reading alone allows (its ceiling).
        let started = Instant::now();
        let events = store
            .for_each_view(1, u64::MAX, |event| drop(std::hint::black_box(event)))
            .map_err(|error| failed("replay")(error.to_string()))?;
        unfolded.push(events as f64 / seconds(started.elapsed()));
    }
    let (ours, unfolded, raw) = (median(&ours), median(&unfolded), median(&raw));
    report(name, ours, "events/s", &format!("{:.2}x raw scan", ours / raw));
    report("replay: the same read, nothing folded", unfolded, "events/s", &format!("{:.2}x raw scan", unfolded / raw));
    report("replay: raw sled scan of the same tree", raw, "records/s", "baseline");
    crate::cli::bench::replay_budget::report_budget(&store)
}

/// Partnerships in the restart benchmark's organisation, whatever the length of its history.
const RESTART_DEVICES: u64 = 100_000;

/// Restart to a served projection: open + fold, with a snapshot near the end and without. The log
/// is a long history of a 100,000-partnership organisation (`history`), not a log of ever more
/// devices: restart time is about the log's length, the projection stays the organisation's size.
pub fn restart(scale: u64) -> Result<(), CliError> {
    let directory = temporary()?;
    let events = 500_000 * scale;
    build_history(directory.path(), events - 1_000, RESTART_DEVICES)
        .map_err(|error| failed("restart")(error.to_string()))?;
    {
        let mut store =
            Store::open(directory.path(), OpenMode::Tail).map_err(|error| failed("restart")(error.to_string()))?;
        let projection = crate::data::load_projection(&store).map_err(|error| failed("restart")(error.to_string()))?;
        crate::data::save_snapshot(&mut store, &projection).map_err(|error| failed("restart")(error.to_string()))?;
        let tail = (events - 1_000..events).map(|index| history_event(index, RESTART_DEVICES)).collect();
        store.append(tail).map_err(|error| failed("restart")(error.to_string()))?;
        store.close().map_err(|error| failed("restart")(error.to_string()))?;
    }
    let with_snapshot = time_restarts(directory.path(), None)?;
    // A start that folds a long log snapshots at once (`data::open_journal`): each run deletes it.
    let delete_snapshots = |directory: &Path| -> Result<(), CliError> {
        let mut store = Store::open(directory, OpenMode::Tail).map_err(|error| failed("restart")(error.to_string()))?;
        store.delete_snapshots().map_err(|error| failed("restart")(error.to_string()))?;
        store.close().map_err(|error| failed("restart")(error.to_string()))
    };
    let without_snapshot = time_restarts(directory.path(), Some(&delete_snapshots))?;
    print(&format!("restart: a history of {events} events over {RESTART_DEVICES} partnerships\n"));
    report(
        &format!("restart: {events} events, snapshot 1,000 from the end"),
        with_snapshot * 1e3,
        "ms",
        "open + snapshot + tail",
    );
    report(
        &format!("restart: {events} events, no snapshot"),
        without_snapshot * 1e3,
        "ms",
        &format!("{:.1}x slower", without_snapshot / with_snapshot),
    );
    Ok(())
}

/// What runs before each timed restart (not timed), on the data directory.
type Prepare<'a> = &'a dyn Fn(&Path) -> Result<(), CliError>;

/// The median time to a served projection; `before_each` (not timed) prepares each run.
fn time_restarts(directory: &Path, before_each: Option<Prepare<'_>>) -> Result<f64, CliError> {
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        if let Some(prepare) = before_each {
            prepare(directory)?;
        }
        let started = Instant::now();
        let clock: std::sync::Arc<dyn crate::clock::Clock> = std::sync::Arc::new(crate::clock::SystemClock);
        let journal = crate::data::open_journal(directory, clock, crate::sync::ids::IdGenerator::seeded(1))
            .map_err(|error| failed("restart")(error.to_string()))?;
        runs.push(seconds(started.elapsed()));
        drop(journal);
    }
    Ok(median(&runs))
}

/// Resident memory of a process serving a projection of 100,000 devices (× scale), measured in
/// a fresh process (`bench memory-probe`) so that building the log does not count.
pub fn memory(scale: u64) -> Result<(), CliError> {
    let directory = temporary()?;
    let devices = 100_000 * scale;
    // Three events per device (discovered, decided, a cmdlet intent) in the realistic mix.
    build_log(directory.path(), devices * 3, None, 0).map_err(|error| failed("memory")(error.to_string()))?;
    probe_twice(directory.path(), "")?;
    // A whole organisation as the simulated twins make it (users, mailboxes, managed devices,
    // registrations, notifications). Its size is the scenario's, so at scale 1 only.
    if scale == 1 {
        let directory = temporary()?;
        build_realistic_organization(directory.path(), "memory")?;
        probe_twice(directory.path(), ", realistic organisation")?;
    }
    // The same 100,000 partnerships after a long history: sled holds metadata for every page of
    // the log in memory, whatever its cache, so memory also grows with the log's length.
    let directory = temporary()?;
    let history_events = 500_000 * scale;
    build_history(directory.path(), history_events, RESTART_DEVICES)
        .map_err(|error| failed("memory")(error.to_string()))?;
    probe_twice(directory.path(), &format!(", a history of {history_events} events"))?;
    Ok(())
}

/// Runs `replay/bench/realistic_org_100k.jsonl` against the simulated twins in process into
/// `directory`, without the snapshot the engine left (so a start or a replay folds the whole
/// log); returns the events logged.
fn build_realistic_organization(directory: &Path, bench: &str) -> Result<u64, CliError> {
    let steps = crate::scenario::step::parse_text("realistic_org_100k.jsonl", REALISTIC_ORGANIZATION)
        .map_err(|error| failed(bench)(error.to_string()))?;
    let runtime = crate::cli::runtime()?;
    let mut world = crate::scenario::world::World::new(directory, crate::scenario::world::Transport::InProcess);
    runtime
        .block_on(crate::scenario::run::run_steps(&mut world, &steps))
        .map_err(|(_, error)| failed(bench)(error.detail))?;
    world.stop_engine().map_err(|error| failed(bench)(error.to_string()))?;
    let mut store = Store::open(directory, OpenMode::Tail).map_err(|error| failed(bench)(error.to_string()))?;
    store.delete_snapshots().map_err(|error| failed(bench)(error.to_string()))?;
    let events = store.last_seq();
    store.close().map_err(|error| failed(bench)(error.to_string()))?;
    Ok(events)
}

/// `replay/bench/realistic_org_100k.jsonl`: 50,000 users with two devices each, two full syncs.
const REALISTIC_ORGANIZATION: &str = include_str!("../../../replay/bench/realistic_org_100k.jsonl");

/// `bench memory-probe` in a fresh process, twice: the first start folds the log (and snapshots),
/// the second loads the snapshot.
fn probe_twice(directory: &Path, what: &str) -> Result<(), CliError> {
    let executable = std::env::current_exe().map_err(|error| failed("memory")(error.to_string()))?;
    for round in ["from the log", "from a snapshot"] {
        let output = std::process::Command::new(&executable)
            .arg("--data")
            .arg(directory)
            .args(["bench", "memory-probe"])
            .output()
            .map_err(|error| failed("memory")(error.to_string()))?;
        let text = String::from_utf8_lossy(&output.stdout);
        print(&format!("memory ({round}{what}): {}", text));
    }
    Ok(())
}

/// Loads the journal of `data_dir` (and snapshots it when it had none) and prints this
/// process's memory.
pub fn memory_probe(data_dir: &Path) -> Result<(), CliError> {
    let clock: std::sync::Arc<dyn crate::clock::Clock> = std::sync::Arc::new(crate::clock::SystemClock);
    let (before, _) = memory_mb();
    let started = Instant::now();
    let mut journal = crate::data::open_journal(data_dir, clock, crate::sync::ids::IdGenerator::seeded(1))
        .map_err(|error| failed("memory")(error.to_string()))?;
    let elapsed = started.elapsed();
    let devices = journal.projection().devices.len();
    let (resident, peak) = memory_mb();
    print(&format!(
        "{devices} devices, {} events: loaded in {:.0} ms; RSS {resident:.0} MB (peak {peak:.0} MB, {before:.0} MB before)\n",
        journal.projection().last_seq,
        seconds(elapsed) * 1e3
    ));
    journal.snapshot_if_due(1).map_err(|error| failed("memory")(error.to_string()))?;
    journal.close().map_err(|error| failed("memory")(error.to_string()))?;
    Ok(())
}
