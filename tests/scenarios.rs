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
